import { constants } from 'node:fs'
import { lstat, open, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ComputeError } from '../ComputeError.js'

/** How much a container may leave in /job/out. */
export interface OutputQuota {
  maxBytes: number
  maxFiles: number
}

export const DEFAULT_OUTPUT_QUOTA: OutputQuota = { maxBytes: 1024 * 1024 * 1024, maxFiles: 10_000 }

export interface OutputUsage {
  bytes: number
  files: number
}

/**
 * Sums what the container wrote under `dir` without following a single symlink (a symlink counts
 * as an entry, never as its target). Sparse files count at their apparent size: that is what
 * reading them would cost. Throws COMPUTE_OUTPUT_QUOTA as soon as the quota is exceeded.
 */
export async function measureOutput(dir: string, quota: OutputQuota): Promise<OutputUsage> {
  const usage: OutputUsage = { bytes: 0, files: 0 }
  const stack = [dir]
  while (stack.length) {
    const d = stack.pop()!
    let names: string[]
    try {
      names = await readdir(d)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue // removed while the container runs
      throw e
    }
    for (const name of names) {
      const p = join(d, name)
      let st
      try {
        st = await lstat(p)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw e
      }
      usage.files++
      usage.bytes += Math.max(st.size, st.blocks * 512)
      if (st.isDirectory()) stack.push(p)
      if (usage.bytes > quota.maxBytes || usage.files > quota.maxFiles) throw quotaError(usage, quota)
    }
  }
  return usage
}

export function quotaError(usage: OutputUsage, quota: OutputQuota): ComputeError {
  const what = usage.files > quota.maxFiles ? `more than ${quota.maxFiles} files` : `more than ${mib(quota.maxBytes)} MiB`
  return new ComputeError(
    'COMPUTE_OUTPUT_QUOTA',
    `the container wrote ${what} to /job/out (quota ${mib(quota.maxBytes)} MiB, ${quota.maxFiles} files): output refused; write smaller checkpoints or ask the worker for a larger --worker.output-quota`,
  )
}

const mib = (n: number) => (n / (1024 * 1024)).toFixed(n < 1024 * 1024 ? 2 : 0)

/**
 * Reads `rel` under `dir` the way a hostile image cannot redirect: every directory on the way is
 * lstat'ed and must be a real directory (no symlink), the file itself is opened with O_NOFOLLOW
 * and must be a regular file no larger than `maxBytes`. The container has exited when this runs,
 * so nothing swaps a component between the check and the open.
 */
export async function readOutputFile(dir: string, rel: string, maxBytes: number): Promise<Uint8Array> {
  const parts = rel.split('/')
  if (!parts.length || parts.some((p) => p === '' || p === '.' || p === '..')) throw contract(`output path ${JSON.stringify(rel)} is not a plain relative path`)
  let at = dir
  for (const p of parts.slice(0, -1)) {
    at = join(at, p)
    const st = await lstat(at).catch(() => undefined)
    if (!st) throw contract(`${rel}: directory ${p} missing`)
    if (!st.isDirectory()) throw contract(`${rel}: ${p} is a ${st.isSymbolicLink() ? 'symlink' : 'non-directory'}, not a directory`)
  }
  const path = join(dir, rel)
  let fh
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ELOOP') throw contract(`${rel} is a symlink; output files must be regular files`)
    if (code === 'ENOENT') throw contract(`${rel} missing`)
    throw contract(`${rel} cannot be read (${code ?? (e as Error).message})`)
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw contract(`${rel} is not a regular file`)
    if (st.size > maxBytes) throw contract(`${rel} is ${st.size} bytes, more than the ${maxBytes} allowed`)
    const buf = new Uint8Array(st.size)
    let off = 0
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, off)
      if (bytesRead === 0) break
      off += bytesRead
    }
    return off === buf.length ? buf : buf.subarray(0, off)
  } finally {
    await fh.close()
  }
}

function contract(m: string): ComputeError {
  return new ComputeError('COMPUTE_CONTAINER_CONTRACT', `container broke the result contract: ${m}`)
}
