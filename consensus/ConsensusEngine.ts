import type { BlockHeader } from '../chain/Header.js'
import type { WeightedValidator } from './WeightedLeaderSchedule.js'

export interface Producer {
  key: Uint8Array
  address: Uint8Array
}

/** A call the protocol itself makes at the start of a block (from SYSTEM_ADDRESS, no gas paid, no receipt). */
export interface SystemCall {
  to: Uint8Array
  data: Uint8Array
  /** What it is for, in logs. */
  label: string
}

/** The Proof-of-Value header fields a producer fills for one slot. */
export interface WorkFields {
  mixHash: Uint8Array
  jobId: Uint8Array
  sessionId: Uint8Array
  workloadId: Uint8Array
  vrfOutput: Uint8Array
  vrfProof: Uint8Array
}

/**
 * The validators of one epoch on one branch. `key` names the set: two blocks with the same key
 * have the same set on every node (Proof of Value keys it by epoch and anchor block), so
 * finality can count votes per set rather than per epoch number.
 */
export interface EpochSet {
  key: string
  epoch: bigint
  validators: WeightedValidator[]
}

export interface BlockPlan {
  fields: WorkFields
  systemCalls: SystemCall[]
}

/**
 * What ChainService asks of the rules that decide who may produce and what a header must
 * prove. Two implementations: ProofOfValueEngine (validators elected by verified work, read
 * from the ValidatorSet and WorkMarket system contracts) and AuthorityEngine (a fixed
 * producer list, for genesis files without a ValidatorSet — private test networks).
 *
 * `finalized` is the number of the newest finalized block on the branch being built or checked:
 * a work receipt must be final before a header may name it.
 */
export interface ConsensusEngine {
  readonly kind: 'proof-of-value' | 'authority'
  readonly slotsPerEpoch: bigint
  epochOf(slot: bigint): bigint
  /** The header fields and system calls for `producer` sealing `slot` on `parent`; throws ConsensusError if it may not. */
  plan(producer: Producer, parent: BlockHeader, slot: bigint, finalized: bigint): Promise<BlockPlan>
  /** Checks slot eligibility, the work reference and the VRF of an imported header; returns the system calls its execution runs. */
  verify(h: BlockHeader, parent: BlockHeader, finalized: bigint): Promise<SystemCall[]>
  /** The earliest timestamp at which `producer` may seal `slot` on `parent`, or undefined if it may not produce it. */
  earliestTimestamp(producer: Uint8Array, parent: BlockHeader, slot: bigint): Promise<bigint | undefined>
  /** 0 if `h` was sealed by its slot's leader, r for the r-th backup (fork choice prefers in-turn blocks). */
  rank(h: BlockHeader, parent: BlockHeader): Promise<number | undefined>
  /** Who may produce `slot` on `parent`'s branch, leader first, then the backups in rank order. */
  ranking(parent: BlockHeader, slot: bigint): Promise<Uint8Array[]>
  /** The validators (with weights) of the epoch that `slot` falls in, on the branch of `parent`. */
  validatorsFor(parent: BlockHeader, slot: bigint): Promise<WeightedValidator[]>
  /** The same set with the key that names it (see EpochSet). */
  validatorSet(parent: BlockHeader, slot: bigint): Promise<EpochSet>
}
