import { mkdir, open, readFile, rename, stat, writeFile, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Logger } from '../../common/logger.js'
import { silentLogger } from '../../common/logger.js'
import type { Metrics } from '../../common/metrics.js'
import { noopMetrics } from '../../common/metrics.js'
import { ComputeError } from '../ComputeError.js'
import { contentHash, isHash32, type Hash32 } from '../ContentHash.js'

export interface BlobStoreOptions {
  /** Directory of the store, e.g. `<datadir>/compute`. */
  dir: string
  /** Largest single blob accepted (bytes). */
  maxBlobBytes?: number
  /** Total bytes the store may hold. */
  maxTotalBytes?: number
}

const REF_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/

/**
 * Content-addressed blobs (datasets, specs, checkpoints, models, results) under `dir/blobs/`.
 * Every read re-hashes the bytes: a flipped bit on disk or a tampered file is reported as
 * corrupt rather than served to a peer or fed to a workload. Writes go to a temp file and are
 * renamed into place, so a crash never leaves a half-written blob under its hash.
 */
export class BlobStore {
  readonly dir: string
  private readonly maxBlobBytes: number
  private readonly maxTotalBytes: number
  private usedBytes: number | undefined
  private readonly logger: Logger
  private readonly bytesGauge

  constructor(opts: BlobStoreOptions, deps: { logger?: Logger; metrics?: Metrics } = {}) {
    this.dir = opts.dir
    this.maxBlobBytes = opts.maxBlobBytes ?? 256 * 1024 * 1024
    this.maxTotalBytes = opts.maxTotalBytes ?? 16 * 1024 * 1024 * 1024
    this.logger = (deps.logger ?? silentLogger).child({ component: 'blobstore' })
    this.bytesGauge = (deps.metrics ?? noopMetrics).gauge('povchain_compute_blobstore_bytes', 'Bytes held in the compute blob store')
  }

  private blobPath(h: Hash32): string {
    return join(this.dir, 'blobs', h.slice(2, 4), h.slice(2))
  }

  private async usage(): Promise<number> {
    if (this.usedBytes !== undefined) return this.usedBytes
    let total = 0
    const root = join(this.dir, 'blobs')
    for (const sub of await readdir(root).catch(() => [] as string[])) {
      for (const f of await readdir(join(root, sub)).catch(() => [] as string[])) {
        total += (await stat(join(root, sub, f)).catch(() => ({ size: 0 }))).size
      }
    }
    this.usedBytes = total
    return total
  }

  async put(bytes: Uint8Array): Promise<Hash32> {
    if (bytes.length > this.maxBlobBytes) {
      throw new ComputeError('COMPUTE_BLOB_TOO_LARGE', `blob of ${bytes.length} bytes exceeds the limit of ${this.maxBlobBytes}`)
    }
    const h = contentHash(bytes)
    const path = this.blobPath(h)
    if (await this.has(h)) return h
    const used = await this.usage()
    if (used + bytes.length > this.maxTotalBytes) {
      throw new ComputeError('COMPUTE_BLOB_TOO_LARGE', `blob store full: ${used} + ${bytes.length} bytes exceeds ${this.maxTotalBytes}`)
    }
    await mkdir(join(this.dir, 'blobs', h.slice(2, 4)), { recursive: true })
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
    await writeFile(tmp, bytes)
    await rename(tmp, path)
    this.usedBytes = used + bytes.length
    this.bytesGauge.set(this.usedBytes)
    this.logger.debug({ hash: h, bytes: bytes.length }, 'blob stored')
    return h
  }

  async has(h: Hash32): Promise<boolean> {
    if (!isHash32(h)) return false
    return stat(this.blobPath(h)).then(
      () => true,
      () => false,
    )
  }

  async get(h: Hash32): Promise<Uint8Array> {
    if (!isHash32(h)) throw new ComputeError('COMPUTE_BLOB_NOT_FOUND', `not a blob hash: ${String(h).slice(0, 80)}`)
    let bytes: Uint8Array
    try {
      bytes = new Uint8Array(await readFile(this.blobPath(h)))
    } catch (e) {
      throw new ComputeError('COMPUTE_BLOB_NOT_FOUND', `blob ${h} is not in the store at ${this.dir}`, { cause: e })
    }
    if (bytes.length > this.maxBlobBytes) {
      throw new ComputeError('COMPUTE_BLOB_TOO_LARGE', `blob ${h} of ${bytes.length} bytes exceeds the limit of ${this.maxBlobBytes}`)
    }
    const actual = contentHash(bytes)
    if (actual !== h) {
      this.logger.warn({ hash: h, actual }, 'corrupt blob')
      throw new ComputeError('COMPUTE_BLOB_CORRUPT', `blob ${h} is corrupt: its content hashes to ${actual}`)
    }
    return bytes
  }

  /** The blob's size in bytes, undefined when not held. */
  async size(h: Hash32): Promise<number | undefined> {
    if (!isHash32(h)) return undefined
    return stat(this.blobPath(h)).then((st) => st.size, () => undefined)
  }

  /**
   * Bytes [offset, offset + length) of a held blob and its total size, read from the file
   * *without* re-hashing the whole: serving a 130 MB image archive chunk by chunk must not
   * keccak 130 MB per chunk (a peer's request timed out). Whoever fetches it checks the content
   * hash of the whole (network's fetchBlob), so a corrupt file is refused there, not trusted.
   */
  async readRange(h: Hash32, offset: number, length: number): Promise<{ total: number; data: Uint8Array } | undefined> {
    if (!isHash32(h)) return undefined
    const fh = await open(this.blobPath(h), 'r').catch(() => undefined)
    if (!fh) return undefined
    try {
      const total = (await fh.stat()).size
      const n = Math.max(0, Math.min(length, total - offset))
      const data = new Uint8Array(n)
      let at = 0
      while (at < n) {
        const { bytesRead } = await fh.read(data, at, n - at, offset + at)
        if (!bytesRead) break
        at += bytesRead
      }
      return { total, data: data.subarray(0, at) }
    } finally {
      await fh.close()
    }
  }

  async delete(h: Hash32): Promise<void> {
    if (!isHash32(h)) return
    await rm(this.blobPath(h), { force: true })
    this.usedBytes = undefined
  }

  /** Named pointers (e.g. `session-<commitment>`, `image-default`) to blobs or small values. */
  async setRef(name: string, value: string): Promise<void> {
    if (!REF_NAME.test(name)) throw new ComputeError('COMPUTE_VERIFY_INPUT', `invalid ref name ${JSON.stringify(name)}`)
    await mkdir(join(this.dir, 'refs'), { recursive: true })
    const path = join(this.dir, 'refs', name)
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
    await writeFile(tmp, value)
    await rename(tmp, path)
  }

  async getRef(name: string): Promise<string | undefined> {
    if (!REF_NAME.test(name)) return undefined
    return readFile(join(this.dir, 'refs', name), 'utf8').catch(() => undefined)
  }
}
