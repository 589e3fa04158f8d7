import type { TypedTransaction } from '@ethereumjs/tx'
import { Block } from '../chain/Block.js'
import type { BlockStore, CanonicalChange } from '../chain/BlockStore.js'
import { nextBaseFee } from '../chain/FeeMarket.js'
import { BlockHeader } from '../chain/Header.js'
import type { TxReceipt } from '../chain/Receipt.js'
import { sealHeader } from '../chain/Seal.js'
import { bytesToHex, equalBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import type { BlockExecutor, ExecutionEnv, TxSource } from '../vm/BlockExecutor.js'
import type { WorldState } from '../vm/WorldState.js'
import { DEV_JOB_ID, DEV_WORKLOAD_ID, devSessionId, devVrf } from './DevWork.js'
import { ConsensusError } from './errors.js'
import type { HeaderValidator } from './HeaderValidator.js'
import type { LeaderSchedule } from './LeaderSchedule.js'

/** What the chain needs of the transaction pool (chain/txpool implements it). */
export interface PendingTxSource {
  best(baseFee: bigint): TxSource
  setHead(head: { baseFeePerGas: bigint; gasLimit: bigint }, removedTxs: TypedTransaction[]): Promise<void>
}

export interface Producer {
  key: Uint8Array
  address: Uint8Array
}

export interface ChainTiming {
  genesisTimestamp: bigint
  slotSeconds: number
  /** The interim leader schedule (LeaderSchedule.ts): fork choice prefers in-turn tips on ties. */
  schedule?: LeaderSchedule
}

/** `origin` says where the block came from: 'local' (produced here) or 'import' (a peer, a test). */
export type HeadListener = (block: Block, receipts: TxReceipt[], origin: 'local' | 'import') => void

/**
 * Owns the canonical chain: produces blocks on the head, imports blocks from elsewhere
 * (validate → execute → store atomically → fork choice) and tells listeners and the pool.
 * Every mutation runs through one queue, so execution never interleaves.
 */
export class ChainService {
  private queue: Promise<unknown> = Promise.resolve()
  private headListeners: HeadListener[] = []
  private removedListeners: HeadListener[] = []
  private readonly log: Logger
  private readonly m

  constructor(
    private readonly timing: ChainTiming,
    private readonly deps: {
      store: BlockStore
      state: WorldState
      executor: BlockExecutor
      validator: HeaderValidator
      pool: PendingTxSource
      genesisHash: Uint8Array
      logger: Logger
      metrics: Metrics
    },
  ) {
    this.log = deps.logger.child({ component: 'chain' })
    this.m = {
      head: deps.metrics.gauge('povchain_chain_head_number', 'Number of the canonical head block'),
      blocks: deps.metrics.counter('povchain_chain_blocks_total', 'Blocks added to the chain', ['origin']),
      txs: deps.metrics.counter('povchain_chain_transactions_total', 'Transactions in canonical blocks'),
      reorgs: deps.metrics.counter('povchain_chain_reorgs_total', 'Canonical chain reorganisations'),
      rejected: deps.metrics.counter('povchain_chain_invalid_blocks_total', 'Blocks rejected by validation', ['reason']),
    }
    this.m.head.set(Number(deps.store.head().number))
  }

  head(): BlockHeader {
    return this.deps.store.head()
  }

  onNewHead(l: HeadListener): () => void {
    this.headListeners.push(l)
    return () => (this.headListeners = this.headListeners.filter((x) => x !== l))
  }

  onRemovedBlock(l: HeadListener): () => void {
    this.removedListeners.push(l)
    return () => (this.removedListeners = this.removedListeners.filter((x) => x !== l))
  }

  /** Resolves when every queued production or import has finished. */
  idle(): Promise<void> {
    return this.queue.then(() => {})
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return run
  }

  /**
   * Builds, seals and commits a block on the current head from the pool's best transactions.
   * With `allowEmpty` false nothing is produced when no transaction could be included.
   */
  produceBlock(
    producer: Producer,
    opts: { allowEmpty: boolean; now?: () => number; slot?: bigint; timestamp?: bigint },
  ): Promise<Block | undefined> {
    return this.serialize(async () => {
      const parent = this.head()
      let timestamp: bigint
      let slot: bigint
      if (opts.slot !== undefined && opts.timestamp !== undefined) {
        // A scheduled producer (node/SlotProducer) names its slot and timestamp; a head that
        // already reached the slot means another producer filled it meanwhile.
        if (opts.slot <= parent.slot || opts.timestamp <= parent.timestamp) return undefined
        slot = opts.slot
        timestamp = opts.timestamp
      } else {
        const nowSec = BigInt(Math.floor((opts.now ?? Date.now)() / 1000))
        timestamp = nowSec > parent.timestamp ? nowSec : parent.timestamp + 1n
        const slotByTime = (timestamp - this.timing.genesisTimestamp) / BigInt(this.timing.slotSeconds)
        slot = slotByTime > parent.slot ? slotByTime : parent.slot + 1n
      }
      const baseFeePerGas = nextBaseFee(parent)
      const vrf = devVrf(producer.key, parent.mixHash, slot)
      const env: ExecutionEnv = {
        number: parent.number + 1n,
        timestamp,
        gasLimit: parent.gasLimit,
        baseFeePerGas,
        coinbase: producer.address,
        mixHash: vrf.mix,
      }
      const { executed } = await this.deps.executor.build(parent.stateRoot, env, this.deps.pool.best(baseFeePerGas))
      if (executed.transactions.length === 0 && !opts.allowEmpty) {
        // Nothing to commit: put the head state back where it was.
        this.deps.state.invalidateHead()
        return undefined
      }
      const unsealed = new BlockHeader({
        parentHash: parent.hash(),
        coinbase: producer.address,
        stateRoot: executed.stateRoot,
        transactionsRoot: executed.transactionsRoot,
        receiptsRoot: executed.receiptsRoot,
        logsBloom: executed.logsBloom,
        number: env.number,
        gasLimit: env.gasLimit,
        gasUsed: executed.gasUsed,
        timestamp,
        extraData: new Uint8Array(0),
        mixHash: vrf.mix,
        baseFeePerGas,
        slot,
        producer: producer.address,
        jobId: DEV_JOB_ID,
        sessionId: devSessionId(producer.address, this.deps.genesisHash),
        workloadId: DEV_WORKLOAD_ID,
        vrfOutput: vrf.output,
        vrfProof: vrf.proof,
        attestations: [],
        seal: new Uint8Array(0),
      })
      const block = new Block(sealHeader(unsealed, producer.key), executed.transactions)
      await this.commit(block, executed.receipts, executed.stateOps, executed.stateKeys, 'local')
      return block
    })
  }

  /** Validates, executes and stores a block from a peer or a test; returns where it went. */
  importBlock(block: Block, nowSeconds = Math.floor(Date.now() / 1000)): Promise<'head' | 'side' | 'known'> {
    return this.serialize(async () => {
      const { store, validator, executor } = this.deps
      const h = block.header
      if (await store.getHeader(h.hash())) return 'known'
      const parent = await store.getHeader(h.parentHash)
      try {
        if (!parent) throw new ConsensusError('UNKNOWN_PARENT', `block ${h.number}: parent ${bytesToHex(h.parentHash)} is unknown`)
        validator.validateAlone(h, nowSeconds)
        validator.validateAgainstParent(h, parent)
        validator.validateWork(h, parent)
        const env: ExecutionEnv = {
          number: h.number,
          timestamp: h.timestamp,
          gasLimit: h.gasLimit,
          baseFeePerGas: h.baseFeePerGas,
          coinbase: h.coinbase,
          mixHash: h.mixHash,
        }
        const executed = await executor.execute(parent.stateRoot, env, block.transactions)
        try {
          validator.validateExecution(h, executed)
        } catch (e) {
          this.deps.state.invalidateHead()
          throw e
        }
        const makeHead = this.isBetter(h)
        await this.commit(block, executed.receipts, executed.stateOps, executed.stateKeys, 'import', makeHead)
        return makeHead ? 'head' : 'side'
      } catch (e) {
        this.m.rejected.inc({ reason: (e as { code?: string }).code ?? 'ERROR' })
        throw e
      }
    })
  }

  /**
   * Fork choice: the longest chain; on a tie an in-turn tip (its slot's leader, see
   * LeaderSchedule) beats a backup's, otherwise the block seen first stays.
   */
  private isBetter(h: BlockHeader): boolean {
    const head = this.head()
    if (h.number !== head.number) return h.number > head.number
    const s = this.timing.schedule
    return s !== undefined && s.size > 1 && s.inTurn(h) && !s.inTurn(head)
  }

  private async commit(block: Block, receipts: TxReceipt[], stateOps: import('../chain/Database.js').DbOp[], stateKeys: string[], origin: string, makeHead = true): Promise<void> {
    const { store, state } = this.deps
    let change: CanonicalChange
    try {
      change = await store.commitBlock(block, receipts, stateOps, { makeHead })
    } catch (e) {
      state.invalidateHead()
      throw e
    }
    state.trieDb.written(stateKeys)
    this.m.blocks.inc({ origin })
    if (!makeHead) return
    if (change.removed.length) this.m.reorgs.inc()
    this.m.head.set(Number(block.number))
    this.m.txs.inc(undefined, block.transactions.length)
    const removedTxs: TypedTransaction[] = []
    for (const b of change.removed) {
      removedTxs.push(...b.transactions)
      const r = (await store.getReceipts(b.hash())) ?? []
      for (const l of this.removedListeners) this.safeCall(l, b, r, 'import')
    }
    const head = this.head()
    await this.deps.pool.setHead({ baseFeePerGas: nextBaseFee(head), gasLimit: head.gasLimit }, removedTxs)
    for (const b of change.added) {
      const r = equalBytes(b.hash(), block.hash()) ? receipts : ((await store.getReceipts(b.hash())) ?? [])
      for (const l of this.headListeners) this.safeCall(l, b, r, equalBytes(b.hash(), block.hash()) ? (origin === 'local' ? 'local' : 'import') : 'import')
    }
    this.log.debug({ number: block.number.toString(), txs: block.transactions.length, gasUsed: block.header.gasUsed.toString(), origin }, 'new head')
  }

  private safeCall(l: HeadListener, b: Block, r: TxReceipt[], origin: 'local' | 'import'): void {
    try {
      l(b, r, origin)
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'head listener failed')
    }
  }
}
