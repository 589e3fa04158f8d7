import { bytesToHex, equalBytes } from '../common/bytes.js'
import { gasLimitBounds, nextBaseFee } from '../chain/FeeMarket.js'
import type { BlockHeader } from '../chain/Header.js'
import { recoverSealer } from '../chain/Seal.js'
import type { ExecutedBlock } from '../vm/BlockExecutor.js'
import { ConsensusError } from './errors.js'

export interface ValidationRules {
  genesisHash: Uint8Array
  /** The chain id headers are sealed for. */
  chainId: bigint
  /**
   * A cheap pre-filter for gossip: when non-empty, only these addresses may seal (a fixed
   * producer list, AuthorityEngine). Proof of Value leaves it empty: eligibility depends on the
   * epoch's validator set, which the engine checks against the parent.
   */
  producers: Uint8Array[]
  /** Seconds a header's timestamp may run ahead of the local clock (MAX_CLOCK_DISPARITY_SECONDS on a real node). */
  maxFutureSeconds: number
}

/**
 * How far a peer's clock may run ahead of ours: a block whose timestamp (its slot's start, or
 * later for a backup) lies further in our future is not imported or relayed until then.
 * Well under a slot, as Ethereum's 500 ms gossip disparity: with 15 s, the leader of slot
 * s + 7 could publish at slot s and silence the producers of s + 1 … s + 6 (issue 11, finding 3).
 */
export const MAX_CLOCK_DISPARITY_SECONDS = 0.5

const hex = bytesToHex

/**
 * Header checks in the order a receiving node can afford them: alone (cheap, before asking
 * for anything else), against the parent, then the engine's (ConsensusEngine.verify: slot,
 * producer, work receipt, VRF) and the attestations (FinalityGadget), and after execution.
 */
export class HeaderValidator {
  constructor(private readonly rules: ValidationRules) {}

  /** Checks that need only the header: the seal, the producer's eligibility, the clock (`nowSeconds` may be fractional). */
  validateAlone(h: BlockHeader, nowSeconds: number): void {
    if (h.number === 0n) throw new ConsensusError('GENESIS', 'a second genesis block cannot be imported')
    const sealer = recoverSealer(h, this.rules.chainId)
    if (!equalBytes(sealer, h.producer))
      throw new ConsensusError('BAD_SEAL', `block ${h.number} is sealed by ${hex(sealer)}, not by its producer ${hex(h.producer)}`)
    if (this.rules.producers.length > 0 && !this.rules.producers.some((p) => equalBytes(p, h.producer)))
      throw new ConsensusError('NOT_PRODUCER', `block ${h.number}: ${hex(h.producer)} is not an eligible producer`)
    if (Number(h.timestamp) > nowSeconds + this.rules.maxFutureSeconds)
      throw new ConsensusError('FUTURE_BLOCK', `block ${h.number} has timestamp ${h.timestamp}, ahead of local time ${nowSeconds.toFixed(3)} (its slot has not started here; is this node's clock right?)`)
  }

  validateAgainstParent(h: BlockHeader, parent: BlockHeader): void {
    if (!equalBytes(h.parentHash, parent.hash())) throw new ConsensusError('BAD_PARENT', `block ${h.number}: parent hash mismatch`)
    if (h.number !== parent.number + 1n) throw new ConsensusError('BAD_NUMBER', `block number ${h.number} does not follow ${parent.number}`)
    if (h.timestamp <= parent.timestamp)
      throw new ConsensusError('BAD_TIMESTAMP', `block ${h.number}: timestamp ${h.timestamp} is not after the parent's ${parent.timestamp}`)
    if (h.slot <= parent.slot) throw new ConsensusError('BAD_SLOT', `block ${h.number}: slot ${h.slot} is not after the parent's ${parent.slot}`)
    const { min, max } = gasLimitBounds(parent.gasLimit)
    if (h.gasLimit < min || h.gasLimit > max)
      throw new ConsensusError('BAD_GAS_LIMIT', `block ${h.number}: gas limit ${h.gasLimit} outside [${min}, ${max}]`)
    const base = nextBaseFee(parent)
    if (h.baseFeePerGas !== base) throw new ConsensusError('BAD_BASE_FEE', `block ${h.number}: base fee ${h.baseFeePerGas}, expected ${base}`)
  }

  /** After execution: what the header claims must be what executing the body produced. */
  validateExecution(h: BlockHeader, ex: ExecutedBlock): void {
    const pairs: [string, Uint8Array, Uint8Array][] = [
      ['stateRoot', h.stateRoot, ex.stateRoot],
      ['receiptsRoot', h.receiptsRoot, ex.receiptsRoot],
      ['transactionsRoot', h.transactionsRoot, ex.transactionsRoot],
      ['logsBloom', h.logsBloom, ex.logsBloom],
    ]
    for (const [name, claimed, actual] of pairs)
      if (!equalBytes(claimed, actual))
        throw new ConsensusError('BAD_EXECUTION', `block ${h.number}: ${name} ${hex(claimed).slice(0, 18)}… does not match execution ${hex(actual).slice(0, 18)}…`)
    if (h.gasUsed !== ex.gasUsed) throw new ConsensusError('BAD_EXECUTION', `block ${h.number}: gasUsed ${h.gasUsed}, execution used ${ex.gasUsed}`)
  }
}
