import type { Common } from '@ethereumjs/common'
import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '../../common/bytes.js'
import type { Logger } from '../../common/logger.js'
import type { Counter, Gauge, Histogram, Metrics } from '../../common/metrics.js'
import { BestIterator, type BestTransactions } from './BestIterator.js'
import { TxPoolError } from './errors.js'
import { IndexedHeap } from './IndexedHeap.js'
import { resolveTxPoolOptions, type TxPoolOptions } from './options.js'
import type { PoolTx } from './PoolTx.js'
import { comparePrice, isReplacementBumpEnough } from './pricing.js'
import { SenderQueue } from './SenderQueue.js'
import { TxValidator, type TxSource } from './TxValidator.js'

/** Reads the account state at the pool's current head. */
export interface PoolStateReader {
  getNonce(address: Uint8Array): Promise<bigint>
  getBalance(address: Uint8Array): Promise<bigint>
}

export interface PoolHead {
  baseFeePerGas: bigint
  gasLimit: bigint
}

/**
 * Why a tx left the pool without being refused:
 * - included: its nonce is below the sender's state nonce at the new head (mined, or
 *   superseded by another tx with that nonce);
 * - replaced: a same-nonce tx with a sufficient fee bump took its place;
 * - invalid: at a new head it costs more than the sender's balance or more gas than a block holds;
 * - evicted: the pool was full and a better-paying tx took its room;
 * - truncated: a limit was exceeded without a new tx to compare with (promotions at a head,
 *   a sender's own queue cap), so the cheapest or highest-nonce tx went;
 * - expired: it stayed non-executable longer than lifetimeMs.
 */
export type TxDropReason = 'included' | 'replaced' | 'invalid' | 'evicted' | 'truncated' | 'expired'

export interface TxPoolDeps {
  common: Common
  state: PoolStateReader
  logger: Logger
  metrics: Metrics
  /** Milliseconds clock, for queue expiry (tests inject their own). */
  now?: () => number
  /** The head the pool starts on; until it (or setHead) is given, no gas-limit check applies. */
  head?: PoolHead
}

export interface AddOptions {
  /** 'local' (default; RPC): subject to the tx fee cap. 'remote' (gossip): not. */
  source?: 'local' | 'remote'
}

type AddResult = { hash: Uint8Array; status: 'pending' | 'queued' }

/**
 * The transaction pool, after Geth's legacypool: per sender an executable run ("pending")
 * and nonce-gapped txs ("queued"), same-nonce replacement with a fee bump, global and
 * per-account limits with price-based eviction, and a best-first iterator for block building.
 *
 * Concurrency: `add` only awaits when it meets a sender it has no state for; everything that
 * reads or changes the pool's maps runs synchronously afterwards, so concurrent adds cannot
 * interleave inside a mutation. A state read is only trusted if no new head arrived while it
 * was in flight (an epoch counter); otherwise the add starts over. `setHead` calls run one
 * at a time and adds wait while one runs.
 */
export class TxPool {
  readonly options: TxPoolOptions
  private readonly common: Common
  private readonly logger: Logger
  private readonly now: () => number
  private readonly validator: TxValidator

  private state: PoolStateReader
  private head: PoolHead | undefined
  private readonly senders = new Map<string, SenderQueue>()
  private readonly all = new Map<string, PoolTx>()
  private pendingTotal = 0
  private queuedTotal = 0
  private seq = 0

  // Eviction candidates: each sender's last pending and last queued tx, cheapest on top.
  // Senders over accountSlots sit in their own heap so they are evicted from first.
  private readonly overHeap: IndexedHeap<SenderQueue>
  private readonly normalHeap: IndexedHeap<SenderQueue>
  private readonly queuedHeap: IndexedHeap<SenderQueue>

  private epoch = 0
  private resetting: Promise<void> | undefined
  private resetChain: Promise<unknown> = Promise.resolve()
  private lastExpiry = 0

  private readonly pendingListeners = new Set<(tx: TypedTransaction) => void>()
  private readonly dropListeners = new Set<(tx: TypedTransaction, reason: TxDropReason) => void>()

  private readonly m: {
    pending: Gauge
    queued: Gauge
    added: Counter
    rejected: Counter
    dropped: Counter
    addSeconds: Histogram
    resetSeconds: Histogram
  }

  constructor(options: Partial<TxPoolOptions>, deps: TxPoolDeps) {
    this.options = resolveTxPoolOptions(options)
    this.common = deps.common
    this.state = deps.state
    this.logger = deps.logger
    this.now = deps.now ?? Date.now
    this.head = deps.head
    this.lastExpiry = this.now()
    this.validator = new TxValidator(this.options, this.common)
    const lessPending = (a: SenderQueue, b: SenderQueue) => this.cheaper(a.pendingTail!, b.pendingTail!)
    this.overHeap = new IndexedHeap(lessPending)
    this.normalHeap = new IndexedHeap(lessPending)
    this.queuedHeap = new IndexedHeap((a, b) => this.cheaper(a.queuedTail!, b.queuedTail!))
    const mt = deps.metrics
    this.m = {
      pending: mt.gauge('povchain_txpool_pending', 'Executable transactions in the pool'),
      queued: mt.gauge('povchain_txpool_queued', 'Nonce-gapped transactions in the pool'),
      added: mt.counter('povchain_txpool_added_total', 'Transactions accepted into the pool', ['status']),
      rejected: mt.counter('povchain_txpool_rejected_total', 'Transactions the pool refused', ['code']),
      dropped: mt.counter('povchain_txpool_dropped_total', 'Transactions that left the pool', ['reason']),
      addSeconds: mt.histogram('povchain_txpool_add_seconds', 'Time to validate and insert one transaction'),
      resetSeconds: mt.histogram('povchain_txpool_reset_seconds', 'Time to move the pool to a new head'),
    }
  }

  /** Number of transactions in the pool (pending + queued). */
  get size(): number {
    return this.all.size
  }

  /**
   * Validates `tx` and adds it as pending (executable now) or queued (nonce gap). Throws a
   * TxPoolError with Geth's message when refused. The pool keeps and later hands back this
   * very object.
   */
  async add(tx: TypedTransaction, opts: AddOptions = {}): Promise<AddResult> {
    const stop = this.m.addSeconds.startTimer()
    try {
      const status = await this.addInternal(tx, opts.source ?? 'local')
      this.m.added.inc({ status })
      return { hash: tx.hash(), status }
    } catch (e) {
      if (e instanceof TxPoolError) this.m.rejected.inc({ code: e.code })
      throw e
    } finally {
      stop()
    }
  }

  private async addInternal(tx: TypedTransaction, source: TxSource): Promise<'pending' | 'queued'> {
    // Geth answers "already known" before spending anything on validation.
    if (tx.isSigned() && this.all.has(bytesToHex(tx.hash()))) throw new TxPoolError('ALREADY_KNOWN')
    const ptx = this.validator.validate(tx, this.head?.gasLimit, source)
    for (;;) {
      while (this.resetting) await this.resetting
      // Before the sender lookup: expiry may forget senders.
      this.maybeExpire()
      let sq = this.senders.get(ptx.senderKey)
      if (!sq) {
        const epoch = this.epoch
        const [nonce, balance] = await Promise.all([this.state.getNonce(ptx.sender), this.state.getBalance(ptx.sender)])
        // A head moved while we read: the values may be stale, read again.
        if (epoch !== this.epoch || this.resetting) continue
        sq = this.senders.get(ptx.senderKey) ?? this.newSender(ptx.sender, ptx.senderKey, nonce, balance)
      }
      return this.insert(ptx, sq)
    }
  }

  private newSender(address: Uint8Array, key: string, nonce: bigint, balance: bigint): SenderQueue {
    const sq = new SenderQueue(address, key, nonce, balance)
    this.senders.set(key, sq)
    return sq
  }

  /** Adds a validated tx against `sq`'s state. Synchronous: the pool is consistent before and after. */
  private insert(ptx: PoolTx, sq: SenderQueue): 'pending' | 'queued' {
    try {
      return this.insertOrThrow(ptx, sq)
    } finally {
      if (sq.size === 0) this.forgetSender(sq)
      this.updateGauges()
    }
  }

  private insertOrThrow(ptx: PoolTx, sq: SenderQueue): 'pending' | 'queued' {
    if (this.all.has(ptx.hashHex)) throw new TxPoolError('ALREADY_KNOWN')
    if (ptx.nonce < sq.stateNonce)
      throw new TxPoolError('NONCE_TOO_LOW', `next nonce ${sq.stateNonce}, tx nonce ${ptx.nonce}`)
    if (this.head && ptx.gasLimit > this.head.gasLimit) throw new TxPoolError('GAS_LIMIT')
    const balance = sq.balance
    if (balance < ptx.cost)
      throw new TxPoolError(
        'INSUFFICIENT_FUNDS',
        `balance ${balance}, tx cost ${ptx.cost}, overshot ${ptx.cost - balance}`,
      )
    ptx.seq = ++this.seq
    const old = sq.get(ptx.nonce)
    const spent = sq.pendingCost
    if (old) {
      if (!isReplacementBumpEnough(old, ptx, this.options.priceBumpPercent))
        throw new TxPoolError('REPLACEMENT_UNDERPRICED')
      // Geth: a replacement must also fit next to the sender's other executable txs.
      if (old.pending) {
        const bump = ptx.cost - old.cost
        if (balance < spent + bump)
          throw new TxPoolError(
            'INSUFFICIENT_FUNDS',
            `balance ${balance}, queued cost ${spent}, tx bumped ${bump}, overshot ${spent + bump - balance}`,
          )
      } else this.checkCumulative(balance, spent, ptx.cost)
      this.detach(sq)
      sq.replace(old, ptx)
      this.all.delete(old.hashHex)
      this.all.set(ptx.hashHex, ptx)
      this.attach(sq)
      this.emitDropped(old, 'replaced')
      if (ptx.pending) this.emitPending([ptx])
      return ptx.pending ? 'pending' : 'queued'
    }
    this.checkCumulative(balance, spent, ptx.cost)

    if (ptx.nonce === sq.pendingEnd) {
      if (this.pendingTotal >= this.options.globalSlots) this.makePendingRoom(ptx, sq, true)
      this.detach(sq)
      sq.addPending(ptx)
      this.all.set(ptx.hashHex, ptx)
      this.pendingTotal++
      const promoted = [ptx]
      // The new tx may close a gap: pull the queued txs behind it into the run.
      for (let next = sq.promotable; next; next = sq.promotable) {
        if (this.pendingTotal >= this.options.globalSlots && !this.makePendingRoom(next, sq, false)) {
          // No cheaper tx elsewhere to make way: this sender's own later txs give way.
          sq.removeQueuedWhere((q) => q === next)
          this.all.delete(next.hashHex)
          this.queuedTotal--
          this.emitDropped(next, 'truncated')
          break
        }
        sq.promoteNext()
        this.pendingTotal++
        this.queuedTotal--
        promoted.push(next)
      }
      this.attach(sq)
      this.emitPending(promoted)
      return 'pending'
    }

    if (sq.queuedCount >= this.options.accountQueue) {
      // Geth keeps an account's lowest queued nonces: a lower one displaces the highest.
      const tail = sq.queuedTail!
      if (ptx.nonce > tail.nonce) throw new TxPoolError('ACCOUNT_LIMIT', `pooled ${sq.queuedCount} txs`)
      this.detach(sq)
      sq.removeQueuedTail()
      this.all.delete(tail.hashHex)
      this.queuedTotal--
      this.attach(sq)
      this.emitDropped(tail, 'truncated')
    } else if (this.queuedTotal >= this.options.globalQueue) {
      this.makeQueuedRoom(ptx)
      // The victim may have been this sender's only tx, which forgot the sender.
      if (!this.senders.has(sq.key)) this.senders.set(sq.key, sq)
    }
    this.detach(sq)
    sq.addQueued(ptx, this.now())
    this.all.set(ptx.hashHex, ptx)
    this.queuedTotal++
    this.attach(sq)
    return 'queued'
  }

  private checkCumulative(balance: bigint, spent: bigint, cost: bigint): void {
    if (balance < spent + cost)
      throw new TxPoolError(
        'INSUFFICIENT_FUNDS',
        `balance ${balance}, queued cost ${spent}, tx cost ${cost}, overshot ${spent + cost - balance}`,
      )
  }

  /** True when `a` pays strictly less than `b` at the current base fee. */
  private cheaper(a: PoolTx, b: PoolTx): boolean {
    return comparePrice(a, b, this.head?.baseFeePerGas ?? 0n) < 0
  }

  /**
   * Frees one pending slot for `ptx` by evicting another sender's last executable tx that
   * pays strictly less, preferring senders above accountSlots. Never evicts a tx at least as
   * good as `ptx`. When nothing qualifies: throws if `raise`, otherwise returns false.
   */
  private makePendingRoom(ptx: PoolTx, own: SenderQueue, raise: boolean): boolean {
    while (this.pendingTotal >= this.options.globalSlots) {
      const over = this.overHeap.peekExcluding(own)
      let victim: SenderQueue | undefined
      if (over && this.cheaper(over.pendingTail!, ptx)) victim = over
      else {
        const normal = this.normalHeap.peekExcluding(own)
        if (normal && this.cheaper(normal.pendingTail!, ptx)) victim = normal
        else if (!raise) return false
        else if (!over && !normal) throw new TxPoolError('FULL')
        else throw new TxPoolError('UNDERPRICED')
      }
      this.dropPendingTail(victim, 'evicted')
    }
    return true
  }

  /** Frees one queued slot for `ptx` by evicting a cheaper sender's last queued tx. */
  private makeQueuedRoom(ptx: PoolTx): void {
    while (this.queuedTotal >= this.options.globalQueue) {
      const victim = this.queuedHeap.peek()
      if (!victim) throw new TxPoolError('FULL')
      if (!this.cheaper(victim.queuedTail!, ptx)) throw new TxPoolError('UNDERPRICED')
      this.dropQueuedTail(victim, 'evicted')
    }
  }

  private dropPendingTail(sq: SenderQueue, reason: TxDropReason): void {
    this.detach(sq)
    const ptx = sq.removePendingTail()
    this.all.delete(ptx.hashHex)
    this.pendingTotal--
    this.attach(sq)
    if (sq.size === 0) this.forgetSender(sq)
    this.emitDropped(ptx, reason)
  }

  private dropQueuedTail(sq: SenderQueue, reason: TxDropReason): void {
    this.detach(sq)
    const ptx = sq.removeQueuedTail()
    this.all.delete(ptx.hashHex)
    this.queuedTotal--
    this.attach(sq)
    if (sq.size === 0) this.forgetSender(sq)
    this.emitDropped(ptx, reason)
  }

  /** Takes `sq` out of the eviction heaps before its tails change… */
  private detach(sq: SenderQueue): void {
    this.overHeap.remove(sq)
    this.normalHeap.remove(sq)
    this.queuedHeap.remove(sq)
  }

  /** …and puts it back where its new tails and pending count belong. */
  private attach(sq: SenderQueue): void {
    const p = sq.pendingCount
    if (p > this.options.accountSlots) this.overHeap.push(sq)
    else if (p > 0) this.normalHeap.push(sq)
    if (sq.queuedCount > 0) this.queuedHeap.push(sq)
  }

  private forgetSender(sq: SenderQueue): void {
    if (sq.size !== 0 || this.senders.get(sq.key) !== sq) return
    this.detach(sq)
    this.senders.delete(sq.key)
  }

  /**
   * Moves the pool onto a new head: re-reads every pooled sender's nonce and balance from
   * `state`, drops what was included or became invalid, promotes what became executable,
   * re-prices for the new base fee, enforces the limits, expires old queued txs, and finally
   * re-injects `removedTxs` (the txs of blocks a reorg took off the canonical chain).
   */
  setHead(head: PoolHead, state: PoolStateReader, removedTxs: TypedTransaction[] = []): Promise<void> {
    const run = this.resetChain.then(() => this.reset(head, state, removedTxs))
    this.resetChain = run.catch(() => {})
    return run
  }

  private async reset(head: PoolHead, state: PoolStateReader, removedTxs: TypedTransaction[]): Promise<void> {
    const stop = this.m.resetSeconds.startTimer()
    let release!: () => void
    this.resetting = new Promise<void>((r) => (release = r))
    this.epoch++
    try {
      this.head = head
      this.state = state
      const reinject: PoolTx[] = []
      for (const tx of removedTxs) {
        try {
          reinject.push(this.validator.validate(tx, head.gasLimit, 'reinject'))
        } catch {
          // Cannot be valid on any chain (type, size, signature…): nothing to re-inject.
        }
      }
      const addresses = new Map<string, Uint8Array>()
      for (const sq of this.senders.values()) addresses.set(sq.key, sq.address)
      for (const p of reinject) addresses.set(p.senderKey, p.sender)
      const keys = [...addresses.keys()]
      const reads = await Promise.all(
        keys.map((k) => {
          const a = addresses.get(k)!
          return Promise.all([state.getNonce(a), state.getBalance(a)])
        }),
      )
      const fresh = new Map<string, [bigint, bigint]>()
      keys.forEach((k, i) => fresh.set(k, reads[i]!))
      this.applyHead(head, fresh)
      // Re-inject in nonce order so each one lands executable where it was.
      reinject.sort((a, b) =>
        a.senderKey !== b.senderKey ? (a.senderKey < b.senderKey ? -1 : 1) : a.nonce < b.nonce ? -1 : a.nonce > b.nonce ? 1 : 0,
      )
      for (const p of reinject) {
        const [nonce, balance] = fresh.get(p.senderKey)!
        const sq = this.senders.get(p.senderKey) ?? this.newSender(p.sender, p.senderKey, nonce, balance)
        try {
          this.insert(p, sq)
        } catch {
          // Included again on the new branch, replaced meanwhile, or no room: Geth drops it too.
        }
      }
      this.expire()
    } finally {
      this.updateGauges()
      this.resetting = undefined
      release()
      stop()
    }
  }

  private applyHead(head: PoolHead, fresh: Map<string, [bigint, bigint]>): void {
    const now = this.now()
    const promoted: PoolTx[] = []
    const dropped: { ptx: PoolTx; reason: TxDropReason }[] = []
    this.overHeap.clear()
    this.normalHeap.clear()
    this.queuedHeap.clear()
    let pending = 0
    let queued = 0
    for (const sq of [...this.senders.values()]) {
      const f = fresh.get(sq.key)
      // Every sender was read (adds wait while a head is applied); keep the guard cheap anyway.
      const r = f ? sq.reset(f[0], f[1], head.gasLimit, now) : sq.reset(sq.stateNonce, sq.balance, head.gasLimit, now)
      for (const d of r.dropped) {
        this.all.delete(d.ptx.hashHex)
        dropped.push(d)
      }
      promoted.push(...r.promoted)
      if (sq.size === 0) {
        this.senders.delete(sq.key)
        continue
      }
      pending += sq.pendingCount
      queued += sq.queuedCount
      this.attach(sq)
    }
    this.pendingTotal = pending
    this.queuedTotal = queued
    for (const d of dropped) this.emitDropped(d.ptx, d.reason)
    this.enforceLimits()
    // Only announce promotions that survived the limits.
    this.emitPending(promoted.filter((p) => p.pending && this.all.get(p.hashHex) === p))
  }

  /** After a head change the limits may be exceeded with no new tx to weigh against: cut the cheapest. */
  private enforceLimits(): void {
    for (const sq of [...this.queuedHeap.values()])
      while (sq.queuedCount > this.options.accountQueue) this.dropQueuedTail(sq, 'truncated')
    while (this.queuedTotal > this.options.globalQueue) this.dropQueuedTail(this.queuedHeap.peek()!, 'truncated')
    while (this.pendingTotal > this.options.globalSlots)
      this.dropPendingTail(this.overHeap.peek() ?? this.normalHeap.peek()!, 'truncated')
  }

  /** Drops queued txs that have waited longer than lifetimeMs. Returns how many. */
  evictExpired(): number {
    const n = this.expire()
    this.updateGauges()
    return n
  }

  private expire(): number {
    const now = this.now()
    this.lastExpiry = now
    const deadline = now - this.options.lifetimeMs
    let n = 0
    for (const sq of [...this.queuedHeap.values()]) {
      this.detach(sq)
      const gone = sq.removeQueuedWhere((p) => p.queuedSince <= deadline)
      this.attach(sq)
      for (const p of gone) {
        this.all.delete(p.hashHex)
        this.queuedTotal--
        this.emitDropped(p, 'expired')
        n++
      }
      if (sq.size === 0) this.forgetSender(sq)
    }
    return n
  }

  /** Expiry also runs between heads (a quiet dev chain), at most once a minute, on adds. */
  private maybeExpire(): void {
    if (this.queuedTotal > 0 && this.now() - this.lastExpiry >= Math.min(60_000, this.options.lifetimeMs)) this.expire()
  }

  /** Executable txs by descending effective tip at `baseFee`, each sender's in nonce order. */
  best(baseFee: bigint): BestTransactions {
    const lists: PoolTx[][] = []
    for (const sq of this.senders.values()) if (sq.pendingCount > 0) lists.push(sq.pendingTxs())
    return new BestIterator(lists, baseFee)
  }

  get(hash: Uint8Array): TypedTransaction | undefined {
    return this.all.get(bytesToHex(hash))?.tx
  }

  has(hash: Uint8Array): boolean {
    return this.all.has(bytesToHex(hash))
  }

  /** The nonce the sender's next tx should use: after its executable txs in the pool (eth_getTransactionCount 'pending'). */
  async pendingNonce(address: Uint8Array): Promise<bigint> {
    for (;;) {
      while (this.resetting) await this.resetting
      const sq = this.senders.get(bytesToHex(address))
      if (sq) return sq.pendingEnd
      const epoch = this.epoch
      const nonce = await this.state.getNonce(address)
      if (epoch === this.epoch && !this.resetting) return this.senders.get(bytesToHex(address))?.pendingEnd ?? nonce
    }
  }

  /** For txpool_content: per lowercase 0x-address, the txs by ascending nonce. */
  content(): { pending: Map<string, TypedTransaction[]>; queued: Map<string, TypedTransaction[]> } {
    const pending = new Map<string, TypedTransaction[]>()
    const queued = new Map<string, TypedTransaction[]>()
    for (const sq of this.senders.values()) {
      if (sq.pendingCount > 0) pending.set(sq.key, sq.pendingTxs().map((p) => p.tx))
      if (sq.queuedCount > 0) queued.set(sq.key, sq.queuedTxs().map((p) => p.tx))
    }
    return { pending, queued }
  }

  /** For txpool_content with a sender filter (txpool_contentFrom). */
  contentFrom(address: Uint8Array): { pending: TypedTransaction[]; queued: TypedTransaction[] } {
    const sq = this.senders.get(bytesToHex(address))
    return {
      pending: sq ? sq.pendingTxs().map((p) => p.tx) : [],
      queued: sq ? sq.queuedTxs().map((p) => p.tx) : [],
    }
  }

  status(): { pending: number; queued: number } {
    return { pending: this.pendingTotal, queued: this.queuedTotal }
  }

  /** Calls `listener` whenever a tx becomes executable (added, promoted, re-injected). Returns an unsubscribe. */
  onPending(listener: (tx: TypedTransaction) => void): () => void {
    this.pendingListeners.add(listener)
    return () => this.pendingListeners.delete(listener)
  }

  /** Calls `listener` whenever a tx leaves the pool other than by being refused. Returns an unsubscribe. */
  onDropped(listener: (tx: TypedTransaction, reason: TxDropReason) => void): () => void {
    this.dropListeners.add(listener)
    return () => this.dropListeners.delete(listener)
  }

  private emitPending(ptxs: PoolTx[]): void {
    if (this.pendingListeners.size === 0) return
    for (const p of ptxs)
      for (const l of this.pendingListeners) {
        try {
          l(p.tx)
        } catch (e) {
          this.logger.warn({ err: (e as Error).message }, 'txpool pending listener failed')
        }
      }
  }

  private emitDropped(ptx: PoolTx, reason: TxDropReason): void {
    this.m.dropped.inc({ reason })
    if (reason !== 'included') this.logger.debug({ hash: ptx.hashHex, reason }, 'txpool dropped tx')
    for (const l of this.dropListeners) {
      try {
        l(ptx.tx, reason)
      } catch (e) {
        this.logger.warn({ err: (e as Error).message }, 'txpool drop listener failed')
      }
    }
  }

  private updateGauges(): void {
    this.m.pending.set(this.pendingTotal)
    this.m.queued.set(this.queuedTotal)
  }
}
