import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises'
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import type { Logger } from '../../common/logger.js'
import { silentLogger } from '../../common/logger.js'
import { ComputeError } from '../ComputeError.js'
import { contentHash, type Hash32 } from '../ContentHash.js'
import type { BlobStore } from '../worker/BlobStore.js'
import { imageDigest, readImageArchive, writeImageArchive } from './ImageArchive.js'
import { loadArchive } from './ImageBuilder.js'
import { parseImageReference } from './ImageReference.js'
import { RegistryClient } from './RegistryClient.js'

/** What this engine holds, by digest. */
export interface ImageRecord {
  /** OCI manifest digest `sha256:…` (what specs pin). */
  digest: string
  /** Local Docker image id (sha256 of the config). */
  id: string
  /** Content hash of its `docker save` archive in the blob store, when shared with peers. */
  archive?: Hash32
  /** Its size in bytes. */
  archiveSize?: number
}

export interface ImageStoreDeps {
  docker: Docker
  blobs: BlobStore
  /** Fetches a blob by content hash from peers (the market's BlobFetcher.get); enables the p2p path. */
  fetchBlob?: (hash: Hash32) => Promise<Uint8Array>
  /**
   * Which peers share an image (by manifest digest `sha256:…`) and under which archive hash
   * (network's image_archives); lets `ensure` get an image from peers when the spec names neither
   * a registry nor an archive. Their word only: every archive is checked before it is loaded.
   */
  findArchives?: (digest: string) => Promise<PeerImageArchive[]>
  workDir?: string
  logger?: Logger
}

/** A peer's claim that it shares an image as this archive (network's image_archives answer). */
export interface PeerImageArchive {
  peer: string
  archive: Hash32
  size: number
}

const INDEX_REF = 'images-index'

/**
 * The images whose archives this blob store holds (put there by `share`, or kept after a load
 * from peers), for the node to tell peers (network's image_archives). Needs no Docker engine:
 * a node serves archives from its blob store alone.
 */
export async function sharedImageArchives(blobs: BlobStore): Promise<(ImageRecord & { archive: Hash32; size: number })[]> {
  const t = await blobs.getRef(INDEX_REF)
  let idx: Record<string, ImageRecord> = {}
  try {
    idx = t ? (JSON.parse(t) as Record<string, ImageRecord>) : {}
  } catch {
    return []
  }
  const out: (ImageRecord & { archive: Hash32; size: number })[] = []
  for (const r of Object.values(idx)) {
    if (!r.archive || !(await blobs.has(r.archive))) continue
    out.push({ ...r, archive: r.archive, size: r.archiveSize ?? 0 })
  }
  return out.sort((a, b) => (a.digest < b.digest ? -1 : 1))
}

/**
 * The worker's images by digest. `ensure(ref)` returns the local image id for a pinned reference:
 * already here → at once; a registry named in the reference → pulled from it (every blob and the
 * manifest checked against their digests); otherwise → the `docker save` archive fetched from
 * peers through the blob exchange, its digest recomputed before `docker load`. `inventory()` lists
 * what is here, for the worker to announce.
 */
export class ImageStore {
  private readonly log: Logger
  private readonly inflight = new Map<string, Promise<string>>()

  constructor(private readonly d: ImageStoreDeps) {
    this.log = (d.logger ?? silentLogger).child({ component: 'image-store' })
  }

  private async index(): Promise<Record<string, ImageRecord>> {
    const t = await this.d.blobs.getRef(INDEX_REF)
    if (!t) return {}
    try {
      return JSON.parse(t) as Record<string, ImageRecord>
    } catch {
      return {}
    }
  }

  async record(r: ImageRecord): Promise<void> {
    const idx = await this.index()
    idx[r.digest] = { ...idx[r.digest], ...r }
    await this.d.blobs.setRef(INDEX_REF, JSON.stringify(idx))
  }

  private async present(id: string): Promise<boolean> {
    return this.d.docker.getImage(id).inspect().then(() => true, () => false)
  }

  /** Images this engine has (their digests), for the worker's announced capacity. */
  async inventory(): Promise<ImageRecord[]> {
    const out: ImageRecord[] = []
    for (const r of Object.values(await this.index())) if (await this.present(r.id)) out.push(r)
    return out.sort((a, b) => (a.digest < b.digest ? -1 : 1))
  }

  /** Local image id for a pinned reference, fetching the image if it is missing. */
  ensure(ref: string, opts: { archive?: Hash32 } = {}): Promise<string> {
    const key = `${ref}|${opts.archive ?? ''}`
    let p = this.inflight.get(key)
    if (!p) {
      p = this.ensureOnce(ref, opts).finally(() => this.inflight.delete(key))
      this.inflight.set(key, p)
    }
    return p
  }

  private async ensureOnce(ref: string, opts: { archive?: Hash32 }): Promise<string> {
    const r = parseImageReference(ref)
    const known = (await this.index())[r.digest]
    if (known && (await this.present(known.id))) return known.id
    // A bare sha256 may be an engine image id (how images were pinned before digests travelled).
    if (!r.repository && (await this.present(r.digest))) return r.digest
    // Built or loaded here under another data dir: our builds tag `repository:<digest prefix>`; the
    // tag is only a hint, so the image is saved and its digest recomputed before it is trusted.
    if (r.repository) {
      const hinted = await this.verifiedLocal(`${r.repository}:${r.digest.slice(7, 19)}`, r.digest)
      if (hinted) return hinted
    }
    // Held under another name (built here, or pulled by another reference): the registry's
    // manifest names the config, whose digest is the engine's image id — no layer is downloaded.
    if (r.registry) {
      const held = await this.heldByManifest(ref)
      if (held) return held
    }
    const t0 = performance.now()
    let rec: ImageRecord
    if (r.registry) rec = await this.pull(ref)
    else if (opts.archive && this.d.fetchBlob) rec = await this.fromPeers(r.digest, opts.archive)
    else if (this.d.findArchives && this.d.fetchBlob && r.digest.startsWith('sha256:')) rec = await this.fromAnyPeer(ref, r.digest)
    else {
      throw new ComputeError(
        'COMPUTE_IMAGE_UNAVAILABLE',
        `image ${ref} is not on this Docker engine and ${opts.archive ? 'no peer exchange is configured' : 'the spec names neither a registry (host/repo@sha256:…) nor an archive to fetch from peers'}; load it with \`povchain compute image pull\` or build it here`,
      )
    }
    this.log.info({ digest: r.digest, id: rec.id, ms: Math.round(performance.now() - t0), from: r.registry ?? 'peers' }, 'image fetched')
    return rec.id
  }

  /**
   * The image from whichever peer shares it: each distinct archive the peers name, in turn, until
   * one holds the image (keccak of the archive, then its manifest digest, both checked before
   * `docker load`). A peer naming an archive of another image costs a download, nothing more.
   */
  private async fromAnyPeer(ref: string, digest: string): Promise<ImageRecord> {
    const claims = await this.d.findArchives!(digest)
    const archives = [...new Map(claims.map((c) => [c.archive, c])).values()]
    if (archives.length === 0) {
      throw new ComputeError('COMPUTE_IMAGE_UNAVAILABLE', `image ${ref} is not on this Docker engine, the spec names no registry and no connected peer shares it (\`povchain compute image share\` on a node that has it)`)
    }
    const refused: string[] = []
    for (const c of archives) {
      this.log.info({ digest, archive: c.archive, bytes: c.size, peer: c.peer }, 'fetching image archive from peers')
      try {
        return await this.fromPeers(digest, c.archive)
      } catch (e) {
        refused.push(`${c.archive} (named by ${c.peer}): ${(e as Error).message}`)
        this.log.warn({ digest, archive: c.archive, peer: c.peer, err: (e as Error).message }, 'peer image archive refused')
      }
    }
    throw new ComputeError('COMPUTE_IMAGE_UNAVAILABLE', `image ${ref}: no archive the peers named holds it — ${refused.join('; ')}`)
  }

  /** Pulls `registry/repo@sha256:…` over the distribution API and loads it. */
  async pull(ref: string): Promise<ImageRecord> {
    const r = parseImageReference(ref)
    if (!r.registry || !r.path) throw new ComputeError('COMPUTE_IMAGE_UNAVAILABLE', `${ref} names no registry (host[:port]/repository@sha256:…)`)
    const reg = new RegistryClient(r.registry)
    const m = await reg.manifest(r.path, r.digest)
    const dir = await mkdtemp(join(this.d.workDir ?? tmpdir(), 'povchain-pull-'))
    const total = m.layers.reduce((n, l) => n + l.size, 0)
    this.log.info({ ref, layers: m.layers.length, bytes: total }, 'pulling image')
    try {
      const config = await reg.blob(r.path, m.config)
      const layers = []
      let done = 0
      let said = performance.now()
      for (const [i, l] of m.layers.entries()) {
        const file = join(dir, `layer${i}`)
        // Progress at most every 2 s: a large layer over a slow link must not look like a hang.
        await reg.blobToFile(r.path, l, file, (bytes) => {
          if (performance.now() - said < 2000) return
          said = performance.now()
          this.log.info({ ref, layer: i + 1, layers: m.layers.length, bytes: done + bytes, of: total }, 'pulling image: progress')
        })
        done += l.size
        layers.push({ ...l, file })
      }
      const archive = join(dir, 'image.tar')
      await writeImageArchive(archive, { config, layers })
      const id = imageDigest({ config, layers }).id
      await loadArchive(this.d.docker, archive, id)
      const rec = { digest: r.digest, id }
      await this.record(rec)
      return rec
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  /**
   * The local image id when the engine already holds the image `registry/repo@sha256:…` pins,
   * whatever it is named here: the manifest (checked against the pinned digest) names the config
   * by its sha256, which is the engine's image id, and the config commits to every layer's
   * uncompressed digest (rootfs.diff_ids), which the engine checked when it loaded them. The
   * manifest's layers must be those same uncompressed digests (how our images are pushed), so
   * the manifest describes exactly the image the engine holds. Only the manifest and the config
   * (kilobytes) are fetched; undefined when the engine lacks it or the registry cannot say.
   */
  async heldByManifest(ref: string): Promise<string | undefined> {
    const r = parseImageReference(ref)
    if (!r.registry || !r.path) return undefined
    try {
      const reg = new RegistryClient(r.registry)
      const m = await reg.manifest(r.path, r.digest)
      if (!(await this.present(m.config.digest))) return undefined
      const config = JSON.parse(new TextDecoder().decode(await reg.blob(r.path, m.config))) as { rootfs?: { diff_ids?: string[] } }
      const diffIds = config.rootfs?.diff_ids ?? []
      if (diffIds.length !== m.layers.length || diffIds.some((d, i) => d !== m.layers[i]!.digest)) return undefined
      await this.record({ digest: r.digest, id: m.config.digest })
      this.log.info({ ref, id: m.config.digest }, 'image already on the engine under another name: not pulled')
      return m.config.digest
    } catch (e) {
      this.log.debug({ ref, err: (e as Error).message }, 'cannot tell from the registry whether the engine holds the image')
      return undefined
    }
  }

  /** Pushes a local image to `registry/repo` with uncompressed layers; returns `registry/repo@digest`. */
  async push(localRef: string, target: string, opts: { tag?: string } = {}): Promise<{ reference: string; digest: string }> {
    if (!/^[a-z0-9.-]+(?::\d+)?\/[a-z0-9._/-]+$/.test(target)) throw new ComputeError('COMPUTE_INVALID_SPEC', `push target ${target} must be registry-host[:port]/repository`)
    const id = localRef.includes('@') || /^sha256:[0-9a-f]{64}$/.test(localRef) ? await this.ensure(localRef) : localRef
    const dir = await mkdtemp(join(this.d.workDir ?? tmpdir(), 'povchain-push-'))
    try {
      const file = join(dir, 'image.tar')
      await this.save(id, file)
      const a = await readImageArchive(file)
      const { digest, manifest } = imageDigest(a)
      const slash = target.indexOf('/')
      const reg = new RegistryClient(target.slice(0, slash))
      const repo = target.slice(slash + 1)
      for (const l of a.layers) await reg.pushBlob(repo, l, { file, offset: l.offset })
      await reg.pushBlob(repo, { digest: imageDigest(a).id, size: a.config.length }, { data: a.config })
      // Also tagged (by default the digest's first 12 hex, as local builds are): a registry lists
      // tags, not digests, and workers announce what --worker.pull-from lists.
      const stored = await reg.pushManifest(repo, manifest, opts.tag ?? digest.slice(7, 19))
      if (stored !== digest) throw new ComputeError('COMPUTE_IMAGE_UNAVAILABLE', `registry digest ${stored} differs from ${digest}`)
      await this.record({ digest, id: imageDigest(a).id })
      return { reference: `${target}@${digest}`, digest }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  /** Puts the image's archive in the blob store so peers can fetch it; returns its content hash. */
  async share(localRef: string): Promise<ImageRecord> {
    const id = await this.ensure(localRef)
    const dir = await mkdtemp(join(this.d.workDir ?? tmpdir(), 'povchain-share-'))
    try {
      const file = join(dir, 'image.tar')
      await this.save(id, file)
      const a = await readImageArchive(file)
      const { digest } = imageDigest(a)
      // Rewritten with our writer: the archive's bytes, hence its content hash, depend on the image alone.
      const canonical = join(dir, 'canonical.tar')
      await writeImageArchive(canonical, { config: a.config, layers: await this.extractLayers(file, a.layers, dir) })
      const bytes = new Uint8Array(await readFile(canonical))
      const archive = await this.d.blobs.put(bytes)
      const rec = { digest, id: imageDigest(a).id, archive, archiveSize: bytes.length }
      await this.record(rec)
      return rec
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  private async fromPeers(digest: string, archive: Hash32): Promise<ImageRecord> {
    const t0 = performance.now()
    const bytes = await this.d.fetchBlob!(archive)
    if (contentHash(bytes) !== archive) throw new ComputeError('COMPUTE_IMAGE_UNAVAILABLE', `peer archive ${archive} does not match its hash`)
    this.log.info({ archive, bytes: bytes.length, ms: Math.round(performance.now() - t0) }, 'image archive downloaded: checking its digest, then loading it')
    const dir = await mkdtemp(join(this.d.workDir ?? tmpdir(), 'povchain-peer-'))
    try {
      const file = join(dir, 'image.tar')
      await writeFile(file, bytes)
      let got: ReturnType<typeof imageDigest>
      try {
        got = imageDigest(await readImageArchive(file))
        if (got.digest !== digest) throw new ComputeError('COMPUTE_IMAGE_UNAVAILABLE', `archive ${archive} holds image ${got.digest}, not ${digest}`)
      } catch (e) {
        // Not kept: the fetcher stored it, and we would serve it on to peers that ask for it by hash.
        if (!Object.values(await this.index()).some((x) => x.archive === archive)) await this.d.blobs.delete(archive).catch(() => undefined)
        if (e instanceof ComputeError) throw e
        throw new ComputeError('COMPUTE_IMAGE_UNAVAILABLE', `archive ${archive} is no image archive: ${(e as Error).message}`)
      }
      await loadArchive(this.d.docker, file, got.id)
      // Kept in the blob store (the fetcher stored it): this node now shares the image with its peers too.
      const rec = { digest, id: got.id, archive, archiveSize: bytes.length }
      await this.record(rec)
      return rec
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  private async verifiedLocal(tag: string, digest: string): Promise<string | undefined> {
    const info = await this.d.docker.getImage(tag).inspect().catch(() => undefined)
    if (!info) return undefined
    const dir = await mkdtemp(join(this.d.workDir ?? tmpdir(), 'povchain-verify-'))
    try {
      const file = join(dir, 'image.tar')
      await this.save(info.Id, file)
      const got = imageDigest(await readImageArchive(file))
      if (got.digest !== digest) return undefined
      await this.record({ digest, id: got.id })
      return got.id
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  private async save(id: string, file: string): Promise<void> {
    const stream = (await this.d.docker.getImage(id).get()) as NodeJS.ReadableStream
    const out = createWriteStream(file)
    for await (const chunk of stream as AsyncIterable<Buffer>) if (!out.write(chunk)) await once(out, 'drain')
    out.end()
    await once(out, 'finish')
  }

  private async extractLayers(file: string, layers: { digest: string; size: number; offset: number }[], dir: string) {
    const fh = await open(file, 'r')
    try {
      const out = []
      for (const [i, l] of layers.entries()) {
        const f = join(dir, `l${i}`)
        const w = createWriteStream(f)
        let off = 0
        while (off < l.size) {
          const buf = Buffer.alloc(Math.min(1 << 20, l.size - off))
          const { bytesRead } = await fh.read(buf, 0, buf.length, l.offset + off)
          if (!bytesRead) break
          off += bytesRead
          if (!w.write(buf.subarray(0, bytesRead))) await once(w, 'drain')
        }
        w.end()
        await once(w, 'finish')
        out.push({ digest: l.digest, size: l.size, file: f })
      }
      return out
    } finally {
      await fh.close()
    }
  }
}
