import type { Hex } from 'viem'

/** What the inventory needs of a Docker engine (dockerode's Docker has it). */
export interface ImageLister {
  listImages(): Promise<{ Id: string; RepoDigests?: string[] | null; Created?: number }[]>
}

const DIGEST = /sha256:([0-9a-f]{64})$/

/**
 * The sha256 digests of the images an engine holds, as a spec pins them (`sha256:<id>` or
 * `name@sha256:<manifest digest>`), 0x-hex: `first` (the node's built-in image) first, then the
 * newest; what a worker announces with WorkMarket.setImages (at most `max`).
 */
export async function imageDigests(engine: ImageLister, opts: { first?: string; max?: number } = {}): Promise<Hex[]> {
  const images = [...(await engine.listImages())].sort((a, b) => (b.Created ?? 0) - (a.Created ?? 0))
  const out: Hex[] = []
  const add = (ref: string | undefined) => {
    const m = ref ? DIGEST.exec(ref) : null
    const h = m ? (`0x${m[1]}` as Hex) : undefined
    if (h && !out.includes(h)) out.push(h)
  }
  add(opts.first)
  for (const i of images) {
    add(i.Id)
    for (const d of i.RepoDigests ?? []) add(d)
  }
  return out.slice(0, opts.max ?? 32)
}
