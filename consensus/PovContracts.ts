import type { BlockHeader } from '../chain/Header.js'
import type { SystemCall } from './ConsensusEngine.js'
import type { WeightedValidator } from './WeightedLeaderSchedule.js'

/** A WorkMarket work receipt as consensus reads it. */
export interface WorkReceiptView {
  jobId: Uint8Array
  sessionId: Uint8Array
  worker: Uint8Array
  client: Uint8Array
  workloadId: Uint8Array
  /** Block in which the session was finalised (0 for genesis receipts). */
  blockNumber: bigint
  accepted: boolean
  value: bigint
  protocolFee: bigint
  /**
   * The mode that verified it (0 re-execution, 1 redundant, 2 tolerance): the weight it bought
   * was already scaled by it in ValidatorSet.onReceipt (modeWeightBps). Absent: 0.
   */
  mode?: number
}

/**
 * What Proof of Value reads from the system contracts (ValidatorSet, WorkMarket) at a given
 * state root, and the system call that turns an epoch. node/ implements it with their ABIs
 * (consensus does not import genesis/); every node reads the same state, so every node
 * computes the same answers.
 */
export interface PovContracts {
  /** ValidatorSet.validatorsAt(epoch): the snapshot stored for `epoch` (or the latest before it) in this state. */
  validatorsAt(stateRoot: Uint8Array, epoch: bigint): Promise<WeightedValidator[]>
  /**
   * ValidatorSet.validatorsElectedFor(epoch) in the state of `anchor` (the last block before
   * epoch − 1 starts) at block number anchor + 1: the set every branch through that anchor
   * holds for `epoch`, whether or not it has a block in epoch − 1.
   */
  electedFor(anchor: BlockHeader, epoch: bigint): Promise<WeightedValidator[]>
  /** WorkMarket.getReceipt(sessionId); undefined when there is none. */
  receipt(stateRoot: Uint8Array, sessionId: Uint8Array): Promise<WorkReceiptView | undefined>
  /** The worker's newest receipts, newest first. */
  recentReceipts(stateRoot: Uint8Array, worker: Uint8Array, limit: number): Promise<WorkReceiptView[]>
  /** The call ValidatorSet.epochTransition(epoch) made at the start of an epoch's first block. */
  epochTransition(epoch: bigint): SystemCall
}
