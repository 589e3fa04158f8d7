import type { Common } from '@ethereumjs/common'
import { createTx } from '@ethereumjs/tx'
import { encodeFunctionData, parseAbi } from 'viem'
import { encodeAttestation } from '../chain/Attestation.js'
import { EVIDENCE_KIND, checkDoubleProduction, checkDoubleVote, checkSurroundVote } from '../chain/Equivocation.js'
import { nextBaseFee } from '../chain/FeeMarket.js'
import type { TxPool } from '../chain/txpool/index.js'
import { bytesToHex, equalBytes, hexToBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import type { ChainService, Equivocation, Producer } from '../consensus/ChainService.js'
import { VALIDATOR_SET } from './PovContractReader.js'

const evidenceAbi = parseAbi(['function submitEvidence(uint8 kind, bytes a, bytes b) returns (address offender)'])
const GWEI = 1_000_000_000n

/**
 * Turns equivocation this node saw (ChainService.onEquivocation: two sealed headers for one
 * slot, two signed votes at one height, a sealed header naming a receipt that is not its
 * producer's accepted one) into a transaction to ValidatorSet.submitEvidence,
 * signed by this node's validator key. The EVIDENCE precompile re-checks it natively on every
 * node and the contract slashes the offender once per offence; the reporter gets its share.
 */
export class EvidenceReporter {
  private readonly reported = new Set<string>()
  private readonly m

  constructor(
    private readonly chain: ChainService,
    private readonly pool: TxPool,
    private readonly reporter: Producer,
    private readonly common: Common,
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.m = metrics.counter('povchain_consensus_evidence_total', 'Slashing evidence submitted by this node', ['kind', 'result'])
  }

  start(): void {
    this.chain.onEquivocation((e) => void this.report(e))
  }

  private async report(e: Equivocation): Promise<void> {
    if (equalBytes(e.offender, this.reporter.address)) return
    const chainId = this.common.chainId()
    let id: string
    let kind: number
    let a: Uint8Array
    let b: Uint8Array = new Uint8Array(0)
    if (e.kind === 'fakeReceipt') {
      // ValidatorSet checks the receipt against WorkMarket itself; the id is the header's.
      id = bytesToHex(e.a.hash())
      ;[kind, a] = [EVIDENCE_KIND.sealedHeader, e.a.encode()]
    } else {
      const check =
        e.kind === 'doubleProduction' ? checkDoubleProduction(e.a, e.b, chainId) : e.kind === 'doubleVote' ? checkDoubleVote(e.a, e.b, chainId) : checkSurroundVote(e.a, e.b, chainId)
      if (!check.ok) return this.log.debug({ kind: e.kind, reason: check.reason }, 'not evidence after all')
      id = bytesToHex(check.evidenceId)
      ;[kind, a, b] =
        e.kind === 'doubleProduction'
          ? [EVIDENCE_KIND.doubleProduction, e.a.encode(), e.b.encode()]
          : [e.kind === 'doubleVote' ? EVIDENCE_KIND.doubleVote : EVIDENCE_KIND.surroundVote, encodeAttestation(e.a), encodeAttestation(e.b)]
    }
    // Once per offence: every report costs this node gas. Votes and headers reach here only
    // from members of a validator set (FinalityGadget refuses the others before detection), so
    // nobody without a bond can make this node report.
    if (this.reported.has(id)) return
    this.reported.add(id)
    if (this.reported.size > 4096) this.reported.delete(this.reported.values().next().value!)
    try {
      const head = this.chain.head()
      const tip = GWEI
      const tx = createTx(
        {
          type: 2,
          chainId,
          nonce: await this.pool.pendingNonce(this.reporter.address),
          maxPriorityFeePerGas: tip,
          maxFeePerGas: nextBaseFee(head) * 2n + tip,
          gasLimit: 1_000_000n,
          to: hexToBytes(VALIDATOR_SET),
          data: hexToBytes(encodeFunctionData({ abi: evidenceAbi, functionName: 'submitEvidence', args: [kind, bytesToHex(a), bytesToHex(b)] })),
        },
        { common: this.common },
      ).sign(this.reporter.key)
      await this.pool.add(tx)
      this.m.inc({ kind: e.kind, result: 'submitted' })
      this.log.warn({ kind: e.kind, offender: bytesToHex(e.offender), evidenceId: id, tx: bytesToHex(tx.hash()) }, 'submitted slashing evidence')
    } catch (err) {
      this.m.inc({ kind: e.kind, result: 'failed' })
      this.log.error({ kind: e.kind, offender: bytesToHex(e.offender), err: (err as Error).message }, 'could not submit slashing evidence')
    }
  }
}
