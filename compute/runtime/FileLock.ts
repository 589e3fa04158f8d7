import { open, readFile, rm } from 'node:fs/promises'
import { ComputeError } from '../ComputeError.js'

/**
 * An exclusive lock between processes on one host: a file created with O_EXCL holding the
 * holder's pid. Used around a shared cache entry (the torch root layer) that two builds — two
 * test files tap runs in parallel, two `compute image build --torch` — would otherwise both
 * write, the second replacing the layer the first one's image was just computed from.
 * A lock whose holder is gone (crashed, killed) is taken over (two waiters taking over the same
 * dead holder's lock at the same instant could both proceed: rare, and only after a crash).
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, opts: { timeoutMs?: number; pollMs?: number; onWait?: (holder: number) => void } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 3_600_000)
  let told = false
  for (;;) {
    try {
      const fh = await open(path, 'wx')
      await fh.writeFile(String(process.pid))
      await fh.close()
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim())
    // An empty file is a holder between open and write: wait for it like for a live one.
    if (holder > 0 && !alive(holder)) {
      await rm(path, { force: true })
      continue
    }
    if (Date.now() > deadline) throw new ComputeError('COMPUTE_IMAGE_BUILD', `${path} is held by process ${holder || '?'} for too long; remove the file if that process is gone`)
    if (!told && holder > 0) {
      told = true
      opts.onWait?.(holder)
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500))
  }
  try {
    return await fn()
  } finally {
    await rm(path, { force: true })
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists, only not ours to signal.
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
