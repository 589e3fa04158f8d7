import type { EventQueue } from './EventQueue.js'
import type { Rng } from './Rng.js'

/**
 * The simulated network: every message gets a seeded delay (so messages overtake each other),
 * some are held back up to a slot more (explicit reordering), some are lost until global
 * stabilisation (GST), and during a partition nothing crosses between the two groups. The
 * adversary controls the network, so `bridges` (byzantine validators) talk to both sides.
 */
export interface NetworkConfig {
  /** Per-message delay, uniform in [min, max] ms. */
  delayMs?: [number, number]
  /** Chance that a message is lost, before GST. */
  dropRate?: number
  /** Chance that a message is held back by up to one more slot (reordering beyond the delay spread). */
  reorderRate?: number
  /** From this slot on nothing is lost (delays stay). Default: never. */
  gstSlot?: number
  /** Messages between the two groups are lost while the partition lasts (slots [from, to)). */
  partition?: { fromSlot: number; toSlot: number; groupA: number[] }
}

export class Network {
  private readonly groupA: Set<string>
  private readonly dMin: number
  private readonly dMax: number
  sent = 0
  lost = 0

  constructor(
    private readonly q: EventQueue,
    private readonly rng: Rng,
    private readonly slotMs: number,
    private readonly cfg: NetworkConfig,
    ids: readonly string[],
    private readonly bridges: ReadonlySet<string>,
  ) {
    this.groupA = new Set((cfg.partition?.groupA ?? []).map((i) => ids[i]!).filter((x) => x !== undefined))
    ;[this.dMin, this.dMax] = cfg.delayMs ?? [20, 300]
  }

  /** Which side of the partition a node is on (meaningful only while one is configured). */
  sideOf(id: string): 'A' | 'B' {
    return this.groupA.has(id) ? 'A' : 'B'
  }

  partitionActive(): boolean {
    const p = this.cfg.partition
    return p !== undefined && this.q.now >= p.fromSlot * this.slotMs && this.q.now < p.toSlot * this.slotMs
  }

  partitioned(a: string, b: string): boolean {
    if (!this.partitionActive() || this.bridges.has(a) || this.bridges.has(b)) return false
    return this.groupA.has(a) !== this.groupA.has(b)
  }

  send(from: string, to: string, deliver: () => void | Promise<void>): void {
    this.sent++
    const beforeGst = this.q.now < (this.cfg.gstSlot ?? Infinity) * this.slotMs
    if (this.partitioned(from, to) || (beforeGst && this.rng.chance(this.cfg.dropRate ?? 0))) {
      this.lost++
      return
    }
    let delay = this.rng.int(this.dMin, this.dMax)
    if (this.rng.chance(this.cfg.reorderRate ?? 0)) delay += this.rng.int(0, this.slotMs)
    this.q.at(this.q.now + delay, () => {
      // A partition that started while the message was in flight loses it too.
      if (this.partitioned(from, to)) this.lost++
      else return deliver()
    })
  }
}
