import { bytesToHex, concatBytes, equalBytes } from '../common/bytes.js'
import type { BlockHeader } from '../chain/Header.js'
import { keccak256 } from '../chain/keccak.js'
import type { BlockPlan, ConsensusEngine, EpochSet, Producer, SystemCall } from './ConsensusEngine.js'
import { DEV_JOB_ID, DEV_WORKLOAD_ID, devSessionId, devVrf, devVrfSigner } from './DevWork.js'
import { ConsensusError } from './errors.js'
import type { LeaderSchedule } from './LeaderSchedule.js'
import type { WeightedValidator } from './WeightedLeaderSchedule.js'

const hex = bytesToHex

/**
 * A fixed producer list (genesis `config.producers`) in round-robin slots (LeaderSchedule),
 * with the dev work reference and dev VRF (DevWork.ts). Used only for genesis files that place
 * no ValidatorSet system contract — private test networks and fixtures; every preset the
 * node ships runs Proof of Value. Each producer has weight 1 for finality.
 */
export class AuthorityEngine implements ConsensusEngine {
  readonly kind = 'authority' as const
  readonly slotsPerEpoch: bigint

  constructor(
    private readonly schedule: LeaderSchedule,
    private readonly genesisHash: Uint8Array,
    slotsPerEpoch: number,
    /** System calls at the start of every block (WorkMarket.onBlock when genesis places the market). */
    private readonly blockCalls: readonly SystemCall[] = [],
  ) {
    this.slotsPerEpoch = BigInt(slotsPerEpoch)
  }

  epochOf(slot: bigint): bigint {
    return slot / this.slotsPerEpoch
  }

  async plan(producer: Producer, parent: BlockHeader, slot: bigint): Promise<BlockPlan> {
    if (!this.schedule.isProducer(producer.address))
      throw new ConsensusError('NOT_PRODUCER', `${hex(producer.address)} is not in the genesis producer list`)
    const vrf = devVrf(producer.key, parent.mixHash, slot)
    return {
      fields: {
        mixHash: vrf.mix,
        jobId: DEV_JOB_ID,
        sessionId: devSessionId(producer.address, this.genesisHash),
        workloadId: DEV_WORKLOAD_ID,
        vrfOutput: vrf.output,
        vrfProof: vrf.proof,
      },
      systemCalls: [...this.blockCalls],
    }
  }

  async verify(h: BlockHeader, parent: BlockHeader): Promise<SystemCall[]> {
    if (!this.schedule.isProducer(h.producer)) throw new ConsensusError('NOT_PRODUCER', `block ${h.number}: ${hex(h.producer)} is not an eligible producer`)
    if (this.schedule.size > 1) {
      const off = this.schedule.violation(h)
      if (off) throw new ConsensusError('BAD_SLOT', `block ${h.number}: ${off}`)
    }
    if (!equalBytes(h.jobId, DEV_JOB_ID) || !equalBytes(h.workloadId, DEV_WORKLOAD_ID))
      throw new ConsensusError('BAD_WORK', `block ${h.number}: jobId/workloadId do not name an accepted work receipt`)
    if (!equalBytes(h.sessionId, devSessionId(h.producer, this.genesisHash)))
      throw new ConsensusError('BAD_WORK', `block ${h.number}: sessionId is not the producer's session for job ${hex(h.jobId)}`)
    let vrfSigner: Uint8Array
    try {
      vrfSigner = devVrfSigner(h.vrfProof, parent.mixHash, h.slot)
    } catch {
      throw new ConsensusError('BAD_VRF', `block ${h.number}: malformed VRF proof`)
    }
    if (!equalBytes(vrfSigner, h.producer)) throw new ConsensusError('BAD_VRF', `block ${h.number}: VRF proof not by the producer`)
    if (!equalBytes(h.vrfOutput, keccak256(h.vrfProof))) throw new ConsensusError('BAD_VRF', `block ${h.number}: VRF output does not match the proof`)
    if (!equalBytes(h.mixHash, keccak256(concatBytes(parent.mixHash, h.vrfOutput))))
      throw new ConsensusError('BAD_MIX', `block ${h.number}: mixHash is not the parent's mix with this VRF output`)
    return [...this.blockCalls]
  }

  async earliestTimestamp(producer: Uint8Array, _parent: BlockHeader, slot: bigint): Promise<bigint | undefined> {
    return this.schedule.earliestTimestamp(producer, slot)
  }

  async rank(h: BlockHeader): Promise<number | undefined> {
    return this.schedule.rank(h.producer, h.slot)
  }

  async ranking(_parent: BlockHeader, slot: bigint): Promise<Uint8Array[]> {
    const n = this.schedule.size
    const out: Uint8Array[] = []
    for (let r = 0; r < n; r++) {
      const s = this.schedule.producers.find((p) => this.schedule.rank(p, slot) === r)!
      if (this.schedule.earliestTimestamp(s, slot) === undefined) break
      out.push(s)
    }
    return out
  }

  async validatorsFor(): Promise<WeightedValidator[]> {
    return this.schedule.producers.map((address) => ({ address, weight: 1n }))
  }

  /** One fixed set for every epoch and branch. */
  async validatorSet(_parent: BlockHeader, slot: bigint): Promise<EpochSet> {
    return { key: 'authority', epoch: this.epochOf(slot), validators: await this.validatorsFor() }
  }
}
