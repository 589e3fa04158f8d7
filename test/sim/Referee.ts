import type { Block } from '../../chain/Block.js'
import type { BlockHeader } from '../../chain/Header.js'
import { bytesToHex } from '../../common/bytes.js'
import { checkHeaderVotes } from '../../consensus/HeaderVotes.js'
import { HeaderValidator } from '../../consensus/HeaderValidator.js'
import { ProofOfValueEngine } from '../../consensus/ProofOfValueEngine.js'
import { RECEIPT_DEPTH } from '../../consensus/ChainService.js'
import type { Outcome } from './Peer.js'
import type { SimGenesis } from './SimChain.js'
import { SimContractReader, StateStore } from './SimContracts.js'
import { simExecutor } from './SimExecutor.js'

const hex = bytesToHex
export const INVALID_PARENT = 'REFEREE_INVALID_PARENT'

/**
 * The verdict of a node that has seen nothing but the block and its ancestors: every block made
 * in a run is checked as ChainService.importBlock checks it (HeaderValidator, then
 * ProofOfValueEngine.verify, the header's attestations through FinalityGadget, execution and
 * the roots), with a ProofOfValueEngine whose caches are empty for each block — validity as a
 * pure function of the block and its branch. What it leaves out is what depends on the node on
 * purpose: the clock (a block from the future waits) and the node's finalized block.
 * An honest node whose verdict differs from the referee's disagrees with every node that will
 * ever sync that branch from genesis.
 */
export class Referee {
  private readonly headers = new Map<string, BlockHeader>()
  private readonly verdicts = new Map<string, Outcome>()
  private readonly states = new StateStore()
  private readonly contracts: SimContractReader
  private readonly validator: HeaderValidator
  private readonly executor
  private pending: Block[] = []

  constructor(private readonly g: SimGenesis) {
    const h = g.block.header
    this.headers.set(hex(h.hash()), h)
    this.verdicts.set(hex(h.hash()), { ok: true, status: 'known' })
    this.states.put(h.stateRoot, g.state)
    this.contracts = new SimContractReader(this.states, g.vs)
    this.validator = new HeaderValidator({ genesisHash: g.block.hash(), chainId: g.chainId, producers: [], maxFutureSeconds: 0 })
    this.executor = simExecutor(this.states, g.vs)
  }

  /** Queues a block (blocks arrive parents first: each was made on a block that existed). */
  add(b: Block): void {
    this.pending.push(b)
  }

  verdict(hash: string): Outcome | undefined {
    return this.verdicts.get(hash)
  }

  async drain(): Promise<void> {
    const todo = this.pending
    this.pending = []
    for (const b of todo) await this.judge(b)
  }

  private async judge(b: Block): Promise<void> {
    const h = b.header
    const key = hex(h.hash())
    if (this.verdicts.has(key)) return
    const parent = this.headers.get(hex(h.parentHash))
    const pv = this.verdicts.get(hex(h.parentHash))
    if (pv && !pv.ok) return void this.verdicts.set(key, { ok: false, code: INVALID_PARENT, message: `its parent ${hex(h.parentHash).slice(0, 12)} is invalid (${pv.code})` })
    if (!parent || !pv) return void this.verdicts.set(key, { ok: false, code: 'REFEREE_UNKNOWN_PARENT', message: 'parent never seen' })
    try {
      // The seal and the parent linkage; no clock (2^52 s is never "ahead").
      this.validator.validateAlone(h, 2 ** 52)
      this.validator.validateAgainstParent(h, parent)
      const engine = new ProofOfValueEngine(this.g.engine, { contracts: this.contracts, getHeader: async (x) => this.headers.get(hex(x)) })
      const systemCalls = await engine.verify(h, parent, h.number - RECEIPT_DEPTH)
      await checkHeaderVotes(h, parent, { engine, chainId: this.g.chainId, getHeader: async (x) => this.headers.get(hex(x)) })
      await engine.validatorsFor(parent, h.slot)
      const executed = await this.executor.execute(
        parent.stateRoot,
        { number: h.number, timestamp: h.timestamp, gasLimit: h.gasLimit, baseFeePerGas: h.baseFeePerGas, coinbase: h.coinbase, mixHash: h.mixHash, systemCalls },
        b.transactions,
      )
      this.validator.validateExecution(h, executed)
      this.headers.set(key, h)
      this.verdicts.set(key, { ok: true, status: 'side' })
    } catch (e) {
      this.verdicts.set(key, { ok: false, code: (e as { code?: string }).code ?? 'ERROR', message: (e as Error).message })
    }
  }

  /** Forgets headers and states of blocks below `number` (long runs); their verdicts stay. */
  prune(number: bigint): void {
    for (const [k, h] of this.headers) if (h.number > 0n && h.number < number) this.headers.delete(k)
    this.states.prune(number)
  }
}
