import { keccak256 } from '../../chain/keccak.js'
import { EventQueue } from './EventQueue.js'
import { Rng } from './Rng.js'
import { GENESIS, SimNode, type SimBlock, type SimContext, type SimMessage } from './SimNode.js'

/**
 * Deterministic consensus simulator on virtual time: N validators, a seeded network that
 * delays, drops and partitions messages, and byzantine validators that equivocate as producers
 * (two blocks for one slot) and as attesters (votes for every block at one height). The run
 * is a pure function of its config; the result is what the safety and liveness properties
 * need (test/sim/sim.test.ts).
 */
export interface SimConfig {
  seed: number
  validators: number
  slots: number
  slotMs?: number
  slotsPerEpoch?: number
  /** Per-message network delay, uniform in [min, max] ms. */
  delayMs?: [number, number]
  dropRate?: number
  /** Global stabilisation: from this slot on nothing is dropped (delays stay). Default: never. */
  gstSlot?: number
  /** Messages between the two groups are lost while the partition lasts (slots [from, to)). */
  partition?: { fromSlot: number; toSlot: number; groupA: number[] }
  /** How many validators are byzantine; the simulator keeps their weight below 1/3. */
  byzantine?: number
  /** Receives one line per production and vote, for debugging a failing seed. */
  trace?: (line: string) => void
}

export interface SimResult {
  blocks: ReadonlyMap<string, SimBlock>
  honest: SimNode[]
  nodes: SimNode[]
  byzantine: string[]
  /** Per honest node, its finalized height at the end of each slot. */
  finalizedHeights: Map<string, bigint[]>
  /** Per honest node, its head height at the end of each slot. */
  headHeights: Map<string, bigint[]>
  equivocators: Set<string>
  weights: ReadonlyMap<string, bigint>
  totalWeight: bigint
  byzantineWeight: bigint
}

export function runSimulation(cfg: SimConfig): SimResult {
  const rng = new Rng(cfg.seed)
  const slotMs = cfg.slotMs ?? 1000
  const [dMin, dMax] = cfg.delayMs ?? [20, 300]
  const drop = cfg.dropRate ?? 0
  const ids = Array.from({ length: cfg.validators }, (_, i) => `v${i}`)
  const weights = new Map(ids.map((id) => [id, BigInt(rng.int(1, 10))]))
  const total = [...weights.values()].reduce((a, b) => a + b, 0n)
  // Byzantine: the first validators in a seeded order whose weight stays strictly below 1/3.
  const order = [...ids].sort(() => rng.next() - 0.5)
  const byzantine: string[] = []
  let bw = 0n
  for (const id of order) {
    if (byzantine.length >= (cfg.byzantine ?? 0)) break
    if (3n * (bw + weights.get(id)!) < total) {
      byzantine.push(id)
      bw += weights.get(id)!
    }
  }
  const q = new EventQueue()
  const registry = new Map<string, SimBlock>([[GENESIS.hash, GENESIS]])
  const groupA = new Set((cfg.partition?.groupA ?? []).map((i) => ids[i]!))
  const partitioned = (a: string, b: string) => {
    const p = cfg.partition
    if (!p || q.now < p.fromSlot * slotMs || q.now >= p.toSlot * slotMs) return false
    // The adversary controls the network: its validators talk to both sides.
    if (byzantine.includes(a) || byzantine.includes(b)) return false
    return groupA.has(a) !== groupA.has(b)
  }
  const nodes = new Map<string, SimNode>()
  const ctx: SimContext = {
    params: { slotsPerEpoch: BigInt(cfg.slotsPerEpoch ?? 8), genesisSeed: keccak256(Uint8Array.of(cfg.seed & 0xff)), maxBackups: 1, weights },
    peers: ids,
    registry,
    send(from, to, m: SimMessage) {
      if (partitioned(from, to) || (q.now < (cfg.gstSlot ?? Infinity) * slotMs && rng.chance(drop))) return
      q.at(q.now + rng.int(dMin, dMax), () => {
        // A partition that started while the message was in flight loses it too.
        if (!partitioned(from, to)) nodes.get(to)!.receive(from, m)
      })
    },
  }
  for (const id of ids) nodes.set(id, new SimNode(id, byzantine.includes(id) ? 'byzantine' : 'honest', ctx))
  const honest = [...nodes.values()].filter((n) => n.behaviour === 'honest')
  const finalizedHeights = new Map(honest.map((n) => [n.id, [] as bigint[]]))
  const headHeights = new Map(honest.map((n) => [n.id, [] as bigint[]]))
  const equivocators = new Set<string>()

  for (let s = 1; s <= cfg.slots; s++) {
    const slot = BigInt(s)
    const start = s * slotMs
    q.at(start, () => {
      for (const n of nodes.values()) {
        const made = n.maybeProduce(slot, 0)
        if (made.length > 1) equivocators.add(n.id)
        for (const b of made) registry.set(b.hash, b)
        for (const b of made) cfg.trace?.(`slot ${slot} ${n.id} leads ${b.hash} h${b.height} on ${b.parent}`)
      }
    })
    // The backup waits a third of the slot for a silent leader.
    q.at(start + Math.floor(slotMs / 3), () => {
      for (const n of nodes.values())
        for (const b of n.maybeProduce(slot, 1)) {
          registry.set(b.hash, b)
          cfg.trace?.(`slot ${slot} ${n.id} backs up ${b.hash} h${b.height} on ${b.parent}`)
        }
    })
    q.at(start + Math.floor((2 * slotMs) / 3), () => {
      for (const n of nodes.values()) {
        const votes = n.attest()
        for (const v of votes) cfg.trace?.(`slot ${slot} ${n.id} votes ${v.source}@${v.sourceHeight} -> ${v.target}@${v.targetHeight} (J ${n.tracker.justified.height}, F ${n.tracker.finalized.height})`)
        const heights = new Set(votes.map((v) => v.targetHeight))
        if (heights.size < votes.length) equivocators.add(n.id)
      }
    })
    q.runUntil(start + slotMs - 1)
    for (const n of honest) {
      finalizedHeights.get(n.id)!.push(n.tracker.finalized.height)
      headHeights.get(n.id)!.push(n.head().height)
    }
  }
  q.runUntil((cfg.slots + 2) * slotMs)
  return { blocks: registry, honest, nodes: [...nodes.values()], byzantine, finalizedHeights, headHeights, equivocators, weights, totalWeight: total, byzantineWeight: bw }
}

