import { RegistryClient } from './RegistryClient.js'

/** An image a registry offers: its manifest digest and the reference that pulls it. */
export interface RegistryImage {
  /** `sha256:…` */
  digest: string
  /** `registry/repository@sha256:…` */
  reference: string
}

/**
 * What a registry holds by digest, as a worker started with `--worker.pull-from` announces it:
 * every tag of every repository in its catalog, resolved to a manifest digest (newest repositories
 * are not told apart: the registry's order). A manifest pushed only by digest has no tag and is not
 * listed (the distribution API lists tags, not digests); `compute image push` tags what it pushes.
 * The digests are the registry's word: a pull checks every byte, and a worker whose pull fails
 * releases the job (WorkMarket.releaseReplica).
 */
export async function registryImages(registry: string, opts: { max?: number } = {}): Promise<RegistryImage[]> {
  const max = opts.max ?? 32
  const reg = new RegistryClient(registry, 10_000)
  const out: RegistryImage[] = []
  const seen = new Set<string>()
  for (const repo of await reg.catalog()) {
    for (const tag of await reg.tags(repo)) {
      const digest = await reg.digestOf(repo, tag)
      if (!digest || seen.has(digest)) continue
      seen.add(digest)
      out.push({ digest, reference: `${registry}/${repo}@${digest}` })
      if (out.length >= max) return out
    }
  }
  return out
}
