import { ComputeError } from '../ComputeError.js'

/** A pinned image reference: `[registry/]repository@sha256:…` or a bare `sha256:…`. */
export interface ImageReference {
  /** `sha256:<64 hex>` */
  digest: string
  repository?: string
  /** Host (and port) of the registry, when the first path component names one (Docker's rule). */
  registry?: string
  /** The repository path inside the registry. */
  path?: string
}

export function parseImageReference(ref: string): ImageReference {
  const m = /^(?:([a-z0-9][a-z0-9._/:-]*)@)?(sha256:[0-9a-f]{64})$/.exec(ref)
  if (!m) throw new ComputeError('COMPUTE_INVALID_SPEC', `image ${JSON.stringify(ref)} is not pinned by digest (repository@sha256:… or sha256:…)`, { field: 'runtime.image' })
  const out: ImageReference = { digest: m[2]! }
  if (m[1]) {
    out.repository = m[1]
    const slash = m[1].indexOf('/')
    const first = slash < 0 ? '' : m[1].slice(0, slash)
    if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) {
      out.registry = first
      out.path = m[1].slice(slash + 1)
    }
  }
  return out
}

/** Registries on the loopback interface speak plain HTTP (as Docker allows); the rest HTTPS. */
export function registryBaseUrl(registry: string): string {
  const host = registry.replace(/:\d+$/, '')
  const plain = host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
  return `${plain ? 'http' : 'https'}://${registry}`
}
