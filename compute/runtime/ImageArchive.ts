import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { once } from 'node:events'
import { ComputeError } from '../ComputeError.js'
import { tarChunks, type TarEntry } from './TarArchive.js'

/**
 * Images as content: one uncompressed layer tar we write deterministically, an image config we
 * write deterministically (created at the epoch), and the OCI manifest naming both. The image's
 * **digest** — what a spec pins as `repo@sha256:…` — is the sha256 of that manifest; the local
 * Docker image id is the sha256 of the config. Both depend only on the files, so every host that
 * builds the same input gets the same digest, and a registry that stores the manifest as we push
 * it (uncompressed layers: nothing left to a compressor's version) serves it under that digest.
 */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar'
export const EPOCH = '1970-01-01T00:00:00Z'

export interface ImageRuntimeConfig {
  entrypoint: string[]
  workdir?: string
  env?: string[]
  labels?: Record<string, string>
}

export interface Descriptor {
  digest: string
  size: number
}

export const sha256Hex = (b: Uint8Array) => 'sha256:' + createHash('sha256').update(b).digest('hex')

/** The image config (Docker's and OCI's shared format) for single-layer images we build. */
export function imageConfig(layers: Descriptor[], c: ImageRuntimeConfig): Uint8Array {
  const labels = Object.fromEntries(Object.entries(c.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))
  const config = {
    architecture: 'amd64',
    config: {
      Entrypoint: c.entrypoint,
      Env: c.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Labels: labels,
      WorkingDir: c.workdir ?? '/',
    },
    created: EPOCH,
    history: layers.map(() => ({ created: EPOCH, created_by: 'povchain compute image build' })),
    os: 'linux',
    rootfs: { diff_ids: layers.map((l) => l.digest), type: 'layers' },
  }
  return new TextEncoder().encode(JSON.stringify(config))
}

/** The OCI manifest of a config and its uncompressed layers: its sha256 is the image digest. */
export function ociManifest(config: Descriptor, layers: Descriptor[]): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER_TAR, digest: l.digest, size: l.size })),
    }),
  )
}

/** Streams a layer tar of `entries` to `file`, returning its digest (the diff id) and size. */
export async function writeLayer(entries: TarEntry[], file: string): Promise<Descriptor> {
  const hash = createHash('sha256')
  const out = createWriteStream(file)
  let size = 0
  for await (const chunk of tarChunks(entries)) {
    hash.update(chunk)
    size += chunk.length
    if (!out.write(chunk)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return { digest: 'sha256:' + hash.digest('hex'), size }
}

/** What an image is made of, as `docker load` takes it and our digest is computed from. */
export interface ImageParts {
  config: Uint8Array
  layers: (Descriptor & { file: string })[]
}

export function imageDigest(parts: { config: Uint8Array; layers: Descriptor[] }): { digest: string; id: string; manifest: Uint8Array } {
  const id = sha256Hex(parts.config)
  const manifest = ociManifest({ digest: id, size: parts.config.length }, parts.layers.map(({ digest, size }) => ({ digest, size })))
  return { digest: sha256Hex(manifest), id, manifest }
}

/**
 * Writes a `docker save`-format archive (manifest.json, the config, each layer tar) that
 * `docker load` accepts; the archive's bytes, too, are a function of the image alone.
 */
export async function writeImageArchive(file: string, parts: ImageParts, repoTag?: string): Promise<number> {
  const configName = parts.layers.length ? `${sha256Hex(parts.config).slice(7)}.json` : 'config.json'
  const manifest = [{ Config: configName, RepoTags: repoTag ? [repoTag] : null, Layers: parts.layers.map((l) => `${l.digest.slice(7)}/layer.tar`) }]
  const entries: TarEntry[] = [
    { path: 'manifest.json', data: new TextEncoder().encode(JSON.stringify(manifest)) },
    { path: configName, data: parts.config },
    ...parts.layers.flatMap((l) => [
      { path: l.digest.slice(7), mode: 0o755 },
      { path: `${l.digest.slice(7)}/layer.tar`, source: { file: l.file, size: l.size } },
    ]),
  ]
  const out = createWriteStream(file)
  let size = 0
  for await (const chunk of tarChunks(entries)) {
    size += chunk.length
    if (!out.write(chunk)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return size
}

/**
 * Reads a `docker save` archive's index without extracting it: the config bytes and, for each
 * layer, its offset and size in the archive and its diff id from the config. The layer bytes
 * themselves are checked against the diff ids by `docker load` (and by a registry on push).
 */
export async function readImageArchive(file: string): Promise<{ config: Uint8Array; layers: (Descriptor & { offset: number })[]; repoTags: string[] }> {
  const bad = (m: string) => new ComputeError('COMPUTE_IMAGE_UNAVAILABLE', `not an image archive (${m}): ${file}`)
  const fh = await open(file, 'r')
  try {
    const index = new Map<string, { offset: number; size: number }>()
    const { size: total } = await fh.stat()
    let off = 0
    const h = new Uint8Array(512)
    while (off + 512 <= total) {
      await fh.read(h, 0, 512, off)
      if (h.every((b) => b === 0)) break
      const str = (a: number, n: number) => new TextDecoder().decode(h.subarray(a, a + n)).replace(/\0.*$/s, '')
      const name = [str(345, 155), str(0, 100)].filter(Boolean).join('/')
      const size = parseInt(str(124, 12).trim() || '0', 8)
      if (!Number.isSafeInteger(size) || size < 0) throw bad('corrupt header')
      index.set(name.replace(/^\.\//, ''), { offset: off + 512, size })
      off += 512 + Math.ceil(size / 512) * 512
    }
    const readEntry = async (name: string, max: number) => {
      const e = index.get(name)
      if (!e) throw bad(`no ${name}`)
      if (e.size > max) throw bad(`${name} too large`)
      const b = new Uint8Array(e.size)
      await fh.read(b, 0, e.size, e.offset)
      return b
    }
    let manifest: { Config: string; Layers: string[]; RepoTags?: string[] | null }[]
    try {
      manifest = JSON.parse(new TextDecoder().decode(await readEntry('manifest.json', 1 << 20)))
    } catch (e) {
      if (e instanceof ComputeError) throw e
      throw bad('manifest.json is not JSON')
    }
    if (!Array.isArray(manifest) || manifest.length !== 1) throw bad('exactly one image per archive')
    const m = manifest[0]!
    const config = await readEntry(m.Config, 4 << 20)
    let diffIds: string[]
    try {
      diffIds = (JSON.parse(new TextDecoder().decode(config)) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids
    } catch {
      throw bad('config has no rootfs.diff_ids')
    }
    if (!Array.isArray(diffIds) || diffIds.length !== m.Layers.length) throw bad('layers and diff ids differ in number')
    const layers = m.Layers.map((name, i) => {
      const e = index.get(name)
      if (!e) throw bad(`no ${name}`)
      return { digest: diffIds[i]!, size: e.size, offset: e.offset }
    })
    return { config, layers, repoTags: m.RepoTags ?? [] }
  } finally {
    await fh.close()
  }
}
