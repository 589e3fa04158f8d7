/**
 * The ValidatorSet contract's slashing record, as the simulator models it: evidence becomes a
 * slashing when a block that carries it is accepted by an honest node, and the offender's
 * weight is zero from the next epoch on. Inclusions are recorded at the slot they happen, so
 * an epoch's weights never change after any node has read them (a block of epoch e can only
 * exist once slot e·slotsPerEpoch has started; blocks from the future are rejected).
 */
export class SlashingLedger {
  /** Offender → slot at which the evidence was first included. */
  readonly includedAt = new Map<string, number>()

  constructor(private readonly slotsPerEpoch: number) {}

  include(offender: string, slot: number): boolean {
    if (this.includedAt.has(offender)) return false
    this.includedAt.set(offender, slot)
    return true
  }

  isSlashed(offender: string): boolean {
    return this.includedAt.has(offender)
  }

  /** True when `validator` has no weight in `epoch` because of a slashing before the epoch began. */
  zeroIn(validator: string, epoch: bigint): boolean {
    const at = this.includedAt.get(validator)
    return at !== undefined && BigInt(at) < epoch * BigInt(this.slotsPerEpoch)
  }
}
