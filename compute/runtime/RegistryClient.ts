import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { Readable } from 'node:stream'
import { ComputeError } from '../ComputeError.js'
import { OCI_MANIFEST, sha256Hex, type Descriptor } from './ImageArchive.js'
import { registryBaseUrl } from './ImageReference.js'

const ACCEPT = [OCI_MANIFEST, 'application/vnd.docker.distribution.manifest.v2+json'].join(', ')

/**
 * The OCI distribution API, anonymous, for what images need here: push a manifest with its
 * blobs (monolithic uploads) and pull a manifest and blobs, checking every digest.
 */
export class RegistryClient {
  private readonly base: string

  constructor(
    registry: string,
    private readonly timeoutMs = 600_000,
  ) {
    this.base = registryBaseUrl(registry)
  }

  private async req(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(this.base + path, { method, signal: AbortSignal.timeout(this.timeoutMs), ...init })
    } catch (e) {
      throw unavailable(`registry ${this.base} unreachable: ${(e as Error).message}`, e)
    }
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const r = await this.req('HEAD', `/v2/${repo}/blobs/${digest}`)
    return r.status === 200
  }

  /** Uploads `size` bytes of `file` from `offset` (or `data`) as the blob `digest`, unless there. */
  async pushBlob(repo: string, d: Descriptor, src: { data: Uint8Array } | { file: string; offset: number }): Promise<void> {
    if (await this.hasBlob(repo, d.digest)) return
    const start = await this.req('POST', `/v2/${repo}/blobs/uploads/`)
    if (start.status !== 202) throw unavailable(`registry refused an upload to ${repo}: HTTP ${start.status} ${await start.text().catch(() => '')}`)
    const loc = start.headers.get('location')
    if (!loc) throw unavailable('registry gave no upload location')
    const url = new URL(loc, this.base)
    url.searchParams.set('digest', d.digest)
    const body =
      'data' in src
        ? src.data
        : (Readable.toWeb(createReadStream(src.file, { start: src.offset, end: src.offset + d.size - 1 })) as ReadableStream<Uint8Array>)
    const put = await fetch(url, {
      method: 'PUT',
      body,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(d.size) },
      signal: AbortSignal.timeout(this.timeoutMs),
      ...('data' in src ? {} : { duplex: 'half' }),
    } as RequestInit).catch((e: Error) => {
      throw unavailable(`upload of ${d.digest} failed: ${e.message}`, e)
    })
    if (put.status !== 201) throw unavailable(`registry refused blob ${d.digest}: HTTP ${put.status} ${await put.text().catch(() => '')}`)
  }

  /** Stores the manifest under its digest (and under `tag` too, so that tag listings show it). */
  async pushManifest(repo: string, manifest: Uint8Array, tag?: string): Promise<string> {
    const digest = sha256Hex(manifest)
    for (const ref of tag ? [digest, tag] : [digest]) {
      const r = await this.req('PUT', `/v2/${repo}/manifests/${ref}`, { body: manifest, headers: { 'content-type': OCI_MANIFEST } })
      if (r.status !== 201) throw unavailable(`registry refused the manifest: HTTP ${r.status} ${await r.text().catch(() => '')}`)
      const said = r.headers.get('docker-content-digest')
      if (said && said !== digest) throw unavailable(`registry stored the manifest as ${said}, not ${digest}`)
    }
    return digest
  }

  /** Repositories the registry lists (GET /v2/_catalog; at most `max`). */
  async catalog(max = 100): Promise<string[]> {
    const r = await this.req('GET', `/v2/_catalog?n=${max}`)
    if (r.status !== 200) throw unavailable(`registry ${this.base} does not list its repositories: HTTP ${r.status}`)
    return ((await r.json()) as { repositories?: string[] | null }).repositories ?? []
  }

  /** Tags of a repository (a manifest pushed only by digest has none and is not listed). */
  async tags(repo: string): Promise<string[]> {
    const r = await this.req('GET', `/v2/${repo}/tags/list`)
    if (r.status === 404) return []
    if (r.status !== 200) throw unavailable(`registry ${this.base} does not list the tags of ${repo}: HTTP ${r.status}`)
    return ((await r.json()) as { tags?: string[] | null }).tags ?? []
  }

  /** The manifest digest a tag names (HEAD; the registry's word — a pull checks it). */
  async digestOf(repo: string, tag: string): Promise<string | undefined> {
    const r = await this.req('HEAD', `/v2/${repo}/manifests/${tag}`, { headers: { accept: ACCEPT } })
    const d = r.headers.get('docker-content-digest')
    return r.status === 200 && d && /^sha256:[0-9a-f]{64}$/.test(d) ? d : undefined
  }

  /** The manifest under `digest`, checked against it. */
  async manifest(repo: string, digest: string): Promise<{ bytes: Uint8Array; config: Descriptor; layers: (Descriptor & { mediaType: string })[] }> {
    const r = await this.req('GET', `/v2/${repo}/manifests/${digest}`, { headers: { accept: ACCEPT } })
    if (r.status === 404) throw unavailable(`registry ${this.base} has no ${repo}@${digest}`)
    if (r.status !== 200) throw unavailable(`registry answered HTTP ${r.status} for ${repo}@${digest}`)
    const bytes = new Uint8Array(await r.arrayBuffer())
    if (sha256Hex(bytes) !== digest) throw unavailable(`registry served a manifest that does not hash to ${digest}`)
    const m = JSON.parse(new TextDecoder().decode(bytes)) as { config?: Descriptor; layers?: (Descriptor & { mediaType: string })[] }
    if (!m.config || !Array.isArray(m.layers)) throw unavailable(`${repo}@${digest} is not an image manifest (an index? pin the platform's manifest digest)`)
    return { bytes, config: m.config, layers: m.layers }
  }

  /** Streams the blob into `file`, checking size and digest; `progress` gets the bytes so far. */
  async blobToFile(repo: string, d: Descriptor, file: string, progress?: (bytes: number) => void): Promise<void> {
    const r = await this.req('GET', `/v2/${repo}/blobs/${d.digest}`)
    if (r.status !== 200 || !r.body) throw unavailable(`registry answered HTTP ${r.status} for blob ${d.digest}`)
    const hash = createHash('sha256')
    const out = createWriteStream(file)
    let size = 0
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length
      progress?.(size)
      if (size > d.size) break
      hash.update(chunk)
      if (!out.write(chunk)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
    if (size !== d.size || 'sha256:' + hash.digest('hex') !== d.digest) throw unavailable(`blob ${d.digest} from the registry does not match its digest`)
  }

  async blob(repo: string, d: Descriptor): Promise<Uint8Array> {
    if (d.size > 16 << 20) throw unavailable(`blob ${d.digest} too large to hold in memory`)
    const r = await this.req('GET', `/v2/${repo}/blobs/${d.digest}`)
    if (r.status !== 200) throw unavailable(`registry answered HTTP ${r.status} for blob ${d.digest}`)
    const b = new Uint8Array(await r.arrayBuffer())
    if (sha256Hex(b) !== d.digest) throw unavailable(`blob ${d.digest} from the registry does not match its digest`)
    return b
  }
}

function unavailable(m: string, cause?: unknown): ComputeError {
  return new ComputeError('COMPUTE_IMAGE_UNAVAILABLE', m, cause ? { cause } : undefined)
}

