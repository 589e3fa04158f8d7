/**
 * The ValidatorSet contract's slashing record, as the simulator models it: evidence becomes a
 * slashing when a block that carries it is accepted by an honest node. As in the contract
 * (genesis/contracts/ValidatorSet.sol: credits deleted, jailed), the offender is out of the
 * next snapshot: slashed during epoch L, it has no weight from epoch L+2 on (the snapshot for
 * L+1 was taken when L began). The sim keeps it out for the rest of the run. Inclusions are
 * recorded at the slot they happen, so an epoch's weights never change after a node has read
 * them (blocks of epoch e exist only once its first slot has started; future slots are refused).
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

  /** The first epoch in which a validator slashed at `slot` has no weight. */
  firstZeroEpoch(slot: number): bigint {
    return BigInt(Math.floor(slot / this.slotsPerEpoch)) + 2n
  }

  /** True when `validator` has no weight in `epoch` because of a slashing before the epoch's snapshot. */
  zeroIn(validator: string, epoch: bigint): boolean {
    const at = this.includedAt.get(validator)
    return at !== undefined && epoch >= this.firstZeroEpoch(at)
  }
}
