import type { TypedTransaction } from '@ethereumjs/tx'
import { Block } from '../chain/Block.js'
import type { BlockStore, CanonicalChange } from '../chain/BlockStore.js'
import { nextBaseFee } from '../chain/FeeMarket.js'
import { BlockHeader } from '../chain/Header.js'
import type { TxReceipt } from '../chain/Receipt.js'
import { sealHeader } from '../chain/Seal.js'
import type { Attestation } from '../chain/Attestation.js'
import { bytesToHex, equalBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import type { BlockExecutor, ExecutionEnv, TxSource } from '../vm/BlockExecutor.js'
import type { WorldState } from '../vm/WorldState.js'
import type { ConsensusEngine, EpochSet, Producer, SystemCall } from './ConsensusEngine.js'
import { ConsensusError } from './errors.js'
import { FinalityGadget, type VoteVerdict } from './FinalityGadget.js'
import type { HeaderValidator } from './HeaderValidator.js'
import { checkHeaderVotes, votersOf, votingSets } from './HeaderVotes.js'

/** What the chain needs of the transaction pool (chain/txpool implements it). */
export interface PendingTxSource {
  best(baseFee: bigint): TxSource
  setHead(head: { baseFeePerGas: bigint; gasLimit: bigint }, removedTxs: TypedTransaction[]): Promise<void>
}

export type { Producer } from './ConsensusEngine.js'

/** Slashable evidence this node saw: two sealed headers for one slot, two votes at one height, a vote surrounding another, a header naming a receipt that is not its producer's. */
export type Equivocation =
  | { kind: 'doubleProduction'; offender: Uint8Array; a: BlockHeader; b: BlockHeader }
  | { kind: 'doubleVote'; offender: Uint8Array; a: Attestation; b: Attestation }
  | { kind: 'surroundVote'; offender: Uint8Array; a: Attestation; b: Attestation }
  | { kind: 'fakeReceipt'; offender: Uint8Array; a: BlockHeader }

export interface ChainTiming {
  genesisTimestamp: bigint
  slotSeconds: number
}

/**
 * Blocks a header's work receipt must lie below it. Producers name only receipts that are final
 * in their view; importers check this depth, which every node computes alike from the block's
 * own ancestry (the receipt is read from the parent's state, so it lives on the same branch).
 */
export const RECEIPT_DEPTH = 2n

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
  private finalityListeners: ((finalized: BlockHeader) => void)[] = []
  private equivocationListeners: ((e: Equivocation) => void)[] = []
  /** The header seen for each (slot, producer) of recent slots: a second one is double production. */
  private readonly sealedBySlot = new Map<string, BlockHeader>()
  private readonly log: Logger
  private readonly m
  /** Finality and the votes of every validator; set by `init()`. */
  finality!: FinalityGadget
  /** Blocks sealed by their slot's leader, with their heights (fork choice prefers them on ties; pruned below finality). */
  private readonly inTurn = new Map<string, bigint>()

  constructor(
    private readonly timing: ChainTiming,
    private readonly deps: {
      store: BlockStore
      state: WorldState
      executor: BlockExecutor
      validator: HeaderValidator
      engine: ConsensusEngine
      pool: PendingTxSource
      genesisHash: Uint8Array
      chainId: bigint
      logger: Logger
      metrics: Metrics
    },
  ) {
    this.log = deps.logger.child({ component: 'chain' })
    this.m = {
      head: deps.metrics.gauge('povchain_chain_head_number', 'Number of the canonical head block'),
      finalized: deps.metrics.gauge('povchain_chain_finalized_number', 'Number of the finalized block'),
      blocks: deps.metrics.counter('povchain_chain_blocks_total', 'Blocks added to the chain', ['origin']),
      txs: deps.metrics.counter('povchain_chain_transactions_total', 'Transactions in canonical blocks'),
      reorgs: deps.metrics.counter('povchain_chain_reorgs_total', 'Canonical chain reorganisations'),
      rejected: deps.metrics.counter('povchain_chain_invalid_blocks_total', 'Blocks rejected by validation', ['reason']),
      votes: deps.metrics.counter('povchain_consensus_attestations_total', 'Attestations received', ['result']),
    }
    this.m.head.set(Number(deps.store.head().number))
  }

  get engine(): ConsensusEngine {
    return this.deps.engine
  }

  /** The chain id blocks are sealed and votes signed for. */
  get chainId(): bigint {
    return this.deps.chainId
  }

  /**
   * Rebuilds finality from the database: the stored finalized block is the root, and the
   * canonical blocks above it are replayed with the votes their headers carry.
   */
  async init(): Promise<void> {
    const { store } = this.deps
    const rootHash = store.finalized() ?? this.deps.genesisHash
    const root = (await store.getHeader(rootHash)) ?? (await store.canonicalHeader(0n))!
    this.finality = new FinalityGadget(this.deps.chainId, { hash: root.hash(), height: root.number })
    this.finality.onDoubleVote((a, b) => this.emitEquivocation({ kind: 'doubleVote', offender: a.validator, a, b }))
    this.finality.onSurroundVote((a, b) => this.emitEquivocation({ kind: 'surroundVote', offender: a.validator, a, b }))
    const head = store.head()
    let parent = root
    for (let n = root.number + 1n; n <= head.number; n++) {
      const h = await store.canonicalHeader(n)
      if (!h) break
      this.finality.addBlock(h, (await this.setsOf(parent, h.slot)).map((s) => s.key))
      parent = h
    }
    this.m.finalized.set(Number(this.finality.finalized.height))
    if (head.number > root.number) this.log.info({ finalized: Number(this.finality.finalized.height), replayed: Number(head.number - root.number) }, 'restored finality')
  }

  head(): BlockHeader {
    return this.deps.store.head()
  }

  /** What the bookkeeping holds (tests check that it stays flat over long runs). */
  memory(): Record<string, number> {
    return { ...this.finality.size(), inTurn: this.inTurn.size, sealedBySlot: this.sealedBySlot.size }
  }

  onNewHead(l: HeadListener): () => void {
    this.headListeners.push(l)
    return () => (this.headListeners = this.headListeners.filter((x) => x !== l))
  }

  onRemovedBlock(l: HeadListener): () => void {
    this.removedListeners.push(l)
    return () => (this.removedListeners = this.removedListeners.filter((x) => x !== l))
  }

  onFinalized(l: (finalized: BlockHeader) => void): void {
    this.finalityListeners.push(l)
  }

  onEquivocation(l: (e: Equivocation) => void): void {
    this.equivocationListeners.push(l)
  }

  private emitEquivocation(e: Equivocation): void {
    this.log.warn({ kind: e.kind, offender: bytesToHex(e.offender) }, 'equivocation seen')
    for (const l of this.equivocationListeners) {
      try {
        l(e)
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'equivocation listener failed')
      }
    }
  }

  /** Remembers a valid sealed header; reports a second, different one for the same slot and producer. */
  private noteSealed(h: BlockHeader): void {
    const key = `${h.slot}:${bytesToHex(h.producer)}`
    const prev = this.sealedBySlot.get(key)
    if (!prev) {
      this.sealedBySlot.set(key, h)
      if (this.sealedBySlot.size > 8192) this.sealedBySlot.delete(this.sealedBySlot.keys().next().value!)
    } else if (!equalBytes(prev.unsealedHash(), h.unsealedHash())) this.emitEquivocation({ kind: 'doubleProduction', offender: h.producer, a: prev, b: h })
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

  get slotSeconds(): number {
    return this.timing.slotSeconds
  }

  slotStart(slot: bigint): bigint {
    return this.timing.genesisTimestamp + slot * BigInt(this.timing.slotSeconds)
  }

  /** The slot a timestamp falls in. */
  slotAt(timestamp: bigint): bigint {
    const g = this.timing.genesisTimestamp
    return timestamp <= g ? 0n : (timestamp - g) / BigInt(this.timing.slotSeconds)
  }

  /** The sets a block at `slot` on `parent` answers to for finality (HeaderVotes.votingSets), registered with the finality gadget. */
  private async setsOf(parent: BlockHeader, slot: bigint): Promise<EpochSet[]> {
    const sets = await votingSets(this.deps.engine, parent, slot)
    for (const s of sets) this.finality.setWeights(s.key, s.validators)
    return sets
  }

  /**
   * Builds, seals and commits a block on the current head from the pool's best transactions.
   * With `allowEmpty` false nothing is produced when no transaction could be included.
   */
  produceBlock(
    producer: Producer,
    opts: {
      allowEmpty: boolean
      now?: () => number
      slot?: bigint
      timestamp?: bigint
      /**
       * Build on this stored block instead of the head, with no transactions, and let fork
       * choice decide whether it becomes the head. Only a byzantine validator does this
       * (node/HostileValidator.ts: forks at epoch boundaries, for testing networks).
       */
      parent?: BlockHeader
    },
  ): Promise<Block | undefined> {
    return this.serialize(async () => {
      const parent = opts.parent ?? this.head()
      let timestamp: bigint
      let slot: bigint
      if (opts.slot !== undefined && opts.timestamp !== undefined) {
        // A scheduled producer (node/SlotProducer) names its slot and timestamp; a head that
        // already reached the slot means another producer filled it meanwhile.
        if (opts.slot <= parent.slot || opts.timestamp <= parent.timestamp) return undefined
        slot = opts.slot
        timestamp = opts.timestamp
      } else {
        // On demand (dev): the slot of the clock, or the next one if the parent already took it;
        // the timestamp lies inside the slot.
        const nowSec = BigInt(Math.floor((opts.now ?? Date.now)() / 1000))
        const byTime = this.slotAt(nowSec)
        slot = byTime > parent.slot ? byTime : parent.slot + 1n
        const start = this.timing.genesisTimestamp + slot * BigInt(this.timing.slotSeconds)
        timestamp = nowSec > start && byTime === slot ? nowSec : start
        if (timestamp <= parent.timestamp) timestamp = parent.timestamp + 1n
      }
      const { engine } = this.deps
      const finalizedBound = this.receiptBound(parent.number + 1n, this.finality.finalized.height)
      const plan = await engine.plan(producer, parent, slot, finalizedBound)
      const parentVoters = await votersOf(engine, parent).catch(() => [])
      const sets = (await this.setsOf(parent, slot)).map((s) => s.key)
      const attestations = this.finality.headerVotes(parent, parentVoters)
      const baseFeePerGas = nextBaseFee(parent)
      const env: ExecutionEnv = {
        number: parent.number + 1n,
        timestamp,
        gasLimit: parent.gasLimit,
        baseFeePerGas,
        coinbase: producer.address,
        mixHash: plan.fields.mixHash,
        systemCalls: plan.systemCalls,
      }
      const txs: TxSource = opts.parent ? { next: () => undefined, skipSender: () => {} } : this.deps.pool.best(baseFeePerGas)
      const { executed } = await this.deps.executor.build(parent.stateRoot, env, txs)
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
        vanity: new Uint8Array(0),
        ...plan.fields,
        baseFeePerGas,
        slot,
        producer: producer.address,
        attestations,
        seal: new Uint8Array(0),
      })
      const block = new Block(sealHeader(unsealed, this.deps.chainId, producer.key), executed.transactions)
      if ((await engine.rank(block.header, parent)) === 0) this.inTurn.set(bytesToHex(block.hash()), block.number)
      this.noteSealed(block.header)
      await this.commit(block, sets, executed.receipts, executed.stateOps, executed.stateKeys, 'local', !opts.parent)
      return block
    })
  }

  /** The newest block a receipt named by block `number` may come from (see RECEIPT_DEPTH). */
  private receiptBound(number: bigint, finalized: bigint): bigint {
    const byDepth = number - RECEIPT_DEPTH
    return finalized < byDepth ? finalized : byDepth
  }

  /**
   * Everything a block must pass before its body is executed: the header alone (seal, clock),
   * against its parent, the engine's rules (slot, producer and backup delay, VRF, mix, work
   * receipt — all read from the parent's branch), finality and the header's votes. Gossip
   * runs it before relaying a block; import runs it before executing one. Returns the system
   * calls the block's execution runs and the sets it answers to. Pure in the block and its
   * ancestors (and the clock, which only defers a block until its slot has started).
   */
  async verifyHeader(h: BlockHeader, parent: BlockHeader, nowSeconds: number): Promise<{ systemCalls: SystemCall[]; rank: number | undefined; sets: string[] }> {
    const { validator, engine } = this.deps
    validator.validateAlone(h, nowSeconds)
    validator.validateAgainstParent(h, parent)
    if (!this.finality.allowed(parent.hash()))
      throw new ConsensusError('CONFLICTS_FINALIZED', `block ${h.number} does not descend from the finalized block ${this.finality.finalized.height}`)
    const systemCalls: SystemCall[] = await engine.verify(h, parent, h.number - RECEIPT_DEPTH)
    const rank = await engine.rank(h, parent)
    await checkHeaderVotes(h, parent, { engine, chainId: this.deps.chainId, getHeader: (x) => this.deps.store.getHeader(x) })
    const sets = (await this.setsOf(parent, h.slot)).map((s) => s.key)
    return { systemCalls, rank, sets }
  }

  /** Validates, executes and stores a block from a peer or a test; returns where it went. */
  importBlock(block: Block, nowSeconds = Date.now() / 1000): Promise<'head' | 'side' | 'known'> {
    return this.serialize(async () => {
      const { store, executor, validator } = this.deps
      const h = block.header
      if (await store.getHeader(h.hash())) return 'known'
      const parent = await store.getHeader(h.parentHash)
      try {
        if (!parent) throw new ConsensusError('UNKNOWN_PARENT', `block ${h.number}: parent ${bytesToHex(h.parentHash)} is unknown`)
        const { systemCalls, rank, sets } = await this.verifyHeader(h, parent, nowSeconds)
        const env: ExecutionEnv = {
          number: h.number,
          timestamp: h.timestamp,
          gasLimit: h.gasLimit,
          baseFeePerGas: h.baseFeePerGas,
          coinbase: h.coinbase,
          mixHash: h.mixHash,
          systemCalls,
        }
        const executed = await executor.execute(parent.stateRoot, env, block.transactions)
        try {
          validator.validateExecution(h, executed)
        } catch (e) {
          this.deps.state.invalidateHead()
          throw e
        }
        if (rank === 0) this.inTurn.set(bytesToHex(h.hash()), h.number)
        this.noteSealed(h)
        const madeHead = await this.commit(block, sets, executed.receipts, executed.stateOps, executed.stateKeys, 'import')
        return madeHead ? 'head' : 'side'
      } catch (e) {
        const code = (e as { code?: string }).code
        this.m.rejected.inc({ reason: code ?? 'ERROR' })
        // The seal was checked (validateAlone) before the work: its producer signed the lie.
        if (code === 'CONSENSUS_FAKE_RECEIPT') this.emitEquivocation({ kind: 'fakeReceipt', offender: h.producer, a: h })
        throw e
      }
    })
  }

  /**
   * A vote from the network or from this node's attester. Counts it toward finality, keeps it
   * for the next header, and moves the head if justification changed fork choice. The verdict
   * is the gossip one (FinalityGadget.addAttestation): 'reject' for a bad signature or a
   * voter outside the target's sets, 'ignore' for a vote that can never count here.
   */
  addAttestation(a: Attestation): Promise<VoteVerdict> {
    return this.serialize(async () => {
      const before = this.finality.finalized.height
      const justifiedBefore = this.finality.justified.height
      const verdict = this.finality.addAttestation(a)
      this.m.votes.inc({ result: verdict === 'accept' ? 'valid' : verdict === 'reject' ? 'invalid' : 'ignored' })
      if (verdict !== 'accept') return verdict
      if (this.finality.finalized.height !== before || this.finality.justified.height !== justifiedBefore) {
        await this.persistFinality()
        const best = this.chooseHead()
        if (!equalBytes(best, this.head().hash())) await this.moveHead(best)
      }
      return verdict
    })
  }

  /**
   * Fork choice: from the highest justified block (never leaving the finalized one), the
   * deepest branch; on equal depth an in-turn block (sealed by its slot's leader), then the
   * branch already canonical — so a tie never flips the head to a block seen later.
   */
  private chooseHead(): Uint8Array {
    const head = bytesToHex(this.head().hash())
    return this.finality.chooseHead((hash) => (this.inTurn.has(hash) ? 2 : 0) + (this.finality.isAncestor(hash, head) ? 1 : 0))
  }

  private finalityOps(): import('../chain/Database.js').DbOp[] {
    return this.deps.store.safeAndFinalizedOps(this.finality.justified.hash, this.finality.finalized.hash)
  }

  private async persistFinality(): Promise<void> {
    const { store } = this.deps
    const prev = store.finalized()
    await store.setSafeAndFinalized(this.finality.justified.hash, this.finality.finalized.hash)
    this.afterFinality(prev)
  }

  private afterFinality(prev: Uint8Array | undefined): void {
    const f = this.finality.finalized
    this.m.finalized.set(Number(f.height))
    if (prev && equalBytes(prev, f.hash)) return
    // Below the finalized block no tie is ever broken again.
    for (const [hash, height] of this.inTurn) if (height < f.height) this.inTurn.delete(hash)
    void this.deps.store.getHeader(f.hash).then((h) => {
      if (!h) return
      for (const l of this.finalityListeners) {
        try {
          l(h)
        } catch (e) {
          this.log.error({ err: (e as Error).message }, 'finality listener failed')
        }
      }
    })
  }

  /** Switches the canonical chain to an already stored block (justification moved fork choice). */
  private async moveHead(hash: Uint8Array): Promise<void> {
    const { store } = this.deps
    const change = await store.setHead(hash)
    await this.announce(change, undefined, [], 'import')
  }

  private async commit(
    block: Block,
    sets: readonly string[],
    receipts: TxReceipt[],
    stateOps: import('../chain/Database.js').DbOp[],
    stateKeys: string[],
    origin: 'local' | 'import',
    forceHead = false,
  ): Promise<boolean> {
    const { store, state } = this.deps
    const prevFinalized = store.finalized()
    this.finality.addBlock(block.header, sets)
    const best = forceHead ? block.hash() : this.chooseHead()
    const makeHead = equalBytes(best, block.hash())
    let change: CanonicalChange
    try {
      change = await store.commitBlock(block, receipts, stateOps, { makeHead, extraOps: this.finalityOps() })
    } catch (e) {
      state.invalidateHead()
      throw e
    }
    state.trieDb.written(stateKeys)
    store.applySafeAndFinalized(this.finality.justified.hash, this.finality.finalized.hash)
    this.afterFinality(prevFinalized)
    this.m.blocks.inc({ origin })
    if (!makeHead) {
      // Fork choice may still prefer another stored branch than the current head.
      if (!equalBytes(best, this.head().hash()) && !equalBytes(best, block.hash())) await this.moveHead(best)
      return false
    }
    await this.announce(change, block, receipts, origin)
    return true
  }

  private async announce(change: CanonicalChange, block: Block | undefined, receipts: TxReceipt[], origin: 'local' | 'import'): Promise<void> {
    const { store } = this.deps
    if (change.removed.length) this.m.reorgs.inc()
    const head = this.head()
    this.m.head.set(Number(head.number))
    const removedTxs: TypedTransaction[] = []
    for (const b of change.removed) {
      removedTxs.push(...b.transactions)
      const r = (await store.getReceipts(b.hash())) ?? []
      for (const l of this.removedListeners) this.safeCall(l, b, r, 'import')
    }
    await this.deps.pool.setHead({ baseFeePerGas: nextBaseFee(head), gasLimit: head.gasLimit }, removedTxs)
    for (const b of change.added) {
      this.m.txs.inc(undefined, b.transactions.length)
      const mine = block !== undefined && equalBytes(b.hash(), block.hash())
      const r = mine ? receipts : ((await store.getReceipts(b.hash())) ?? [])
      for (const l of this.headListeners) this.safeCall(l, b, r, mine ? origin : 'import')
    }
    this.log.debug({ number: head.number.toString(), origin }, 'new head')
  }

  private safeCall(l: HeadListener, b: Block, r: TxReceipt[], origin: 'local' | 'import'): void {
    try {
      l(b, r, origin)
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'head listener failed')
    }
  }
}
