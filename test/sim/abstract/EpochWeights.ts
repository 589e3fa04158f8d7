import type { ReceiptBook } from './ReceiptBook.js'
import type { SlashingLedger } from './SlashingLedger.js'

/**
 * The weights of each epoch's validator set: live receipt weight at a lagged snapshot (the
 * start of the previous epoch, so a last-minute receipt cannot game the boundary), zero for
 * validators slashed before the epoch began. One instance is shared by all nodes, as every
 * node reads the same contract state.
 */
export class EpochWeights {
  private readonly cache = new Map<bigint, ReadonlyMap<string, bigint>>()

  constructor(
    private readonly receipts: ReceiptBook,
    private readonly ledger: SlashingLedger,
    private readonly ids: readonly string[],
    readonly slotsPerEpoch: bigint,
  ) {}

  snapshotSlot(epoch: bigint): number {
    return epoch <= 1n ? 0 : Number((epoch - 1n) * this.slotsPerEpoch)
  }

  /** Receipt weight only (no slashing): what the byzantine bound is chosen against. */
  receiptWeights(epoch: bigint): Map<string, bigint> {
    const at = this.snapshotSlot(epoch)
    return new Map(this.ids.map((id) => [id, this.receipts.liveWeight(id, at)]))
  }

  of(epoch: bigint): ReadonlyMap<string, bigint> {
    const hit = this.cache.get(epoch)
    if (hit) return hit
    const w = this.receiptWeights(epoch)
    for (const id of this.ids) if (this.ledger.zeroIn(id, epoch)) w.set(id, 0n)
    this.cache.set(epoch, w)
    return w
  }

  /** Guards the ledger's promise: a slashing at `slot` may only change epochs nobody has read yet. */
  assertUnread(slot: number): void {
    for (const e of this.cache.keys())
      if (e >= this.ledger.firstZeroEpoch(slot)) throw new SimModelError(`a slashing at slot ${slot} would change epoch ${e}, already read`)
  }

  total(epoch: bigint): bigint {
    let s = 0n
    for (const v of this.of(epoch).values()) s += v
    return s
  }
}

/** Thrown when the model would change weights that a node has already read (a bug in the simulator, not in consensus). */
export class SimModelError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SimModelError'
  }
}
