import type { PoolTx } from './PoolTx.js'

export type DropReason = 'included' | 'invalid'

/**
 * One sender's transactions by nonce. The executable ("pending") ones are exactly the run
 * of consecutive nonces that starts at the state nonce; everything above the first gap is
 * "queued". Keeping that split derived from the nonces (rather than stored per tx and
 * patched) is what makes "queued never holds an executable nonce" hold by construction.
 */
export class SenderQueue {
  readonly txs = new Map<bigint, PoolTx>()
  /** Nonces of queued txs, ascending. Short: at most accountQueue outside of a reset. */
  private readonly queued: bigint[] = []
  /** First nonce after the executable run; the next nonce this sender can use. */
  pendingEnd: bigint
  /** Sum of `cost` over pending txs, for Geth's cumulative balance check. */
  pendingCost = 0n

  constructor(
    readonly address: Uint8Array,
    readonly key: string,
    public stateNonce: bigint,
    public balance: bigint,
  ) {
    this.pendingEnd = stateNonce
  }

  get pendingCount(): number {
    return Number(this.pendingEnd - this.stateNonce)
  }

  get queuedCount(): number {
    return this.queued.length
  }

  get size(): number {
    return this.txs.size
  }

  get(nonce: bigint): PoolTx | undefined {
    return this.txs.get(nonce)
  }

  /** Highest-nonce executable tx: the one eviction takes, as removing it opens no gap. */
  get pendingTail(): PoolTx | undefined {
    return this.pendingEnd > this.stateNonce ? this.txs.get(this.pendingEnd - 1n) : undefined
  }

  get queuedTail(): PoolTx | undefined {
    const n = this.queued[this.queued.length - 1]
    return n === undefined ? undefined : this.txs.get(n)
  }

  /** The lowest queued tx if adding the previous one made it executable. */
  get promotable(): PoolTx | undefined {
    return this.queued[0] === this.pendingEnd ? this.txs.get(this.pendingEnd) : undefined
  }

  /** Appends `ptx` (nonce == pendingEnd) to the executable run. */
  addPending(ptx: PoolTx): void {
    if (ptx.nonce !== this.pendingEnd || this.txs.has(ptx.nonce)) throw new Error('SenderQueue: not the next nonce')
    this.txs.set(ptx.nonce, ptx)
    ptx.pending = true
    this.pendingEnd++
    this.pendingCost += ptx.cost
  }

  addQueued(ptx: PoolTx, now: number): void {
    if (ptx.nonce <= this.pendingEnd || this.txs.has(ptx.nonce)) throw new Error('SenderQueue: not a gapped nonce')
    this.txs.set(ptx.nonce, ptx)
    ptx.pending = false
    ptx.queuedSince = now
    this.insertQueuedNonce(ptx.nonce)
  }

  /** Moves the lowest queued tx, which must continue the run, to pending. */
  promoteNext(): PoolTx {
    const ptx = this.promotable
    if (!ptx) throw new Error('SenderQueue: nothing to promote')
    this.queued.shift()
    ptx.pending = true
    this.pendingEnd++
    this.pendingCost += ptx.cost
    return ptx
  }

  /** Puts `next` in the place of `old` (same nonce), keeping its pending/queued status. */
  replace(old: PoolTx, next: PoolTx): void {
    if (this.txs.get(old.nonce) !== old || next.nonce !== old.nonce) throw new Error('SenderQueue: bad replacement')
    this.txs.set(next.nonce, next)
    next.pending = old.pending
    next.queuedSince = old.queuedSince
    if (old.pending) this.pendingCost += next.cost - old.cost
  }

  removePendingTail(): PoolTx {
    const ptx = this.pendingTail
    if (!ptx) throw new Error('SenderQueue: no pending tx')
    this.txs.delete(ptx.nonce)
    this.pendingEnd--
    this.pendingCost -= ptx.cost
    return ptx
  }

  removeQueuedTail(): PoolTx {
    const n = this.queued.pop()
    if (n === undefined) throw new Error('SenderQueue: no queued tx')
    const ptx = this.txs.get(n)!
    this.txs.delete(n)
    return ptx
  }

  /** Removes the queued txs that `expired` selects (queued txs have no successors to fix). */
  removeQueuedWhere(expired: (ptx: PoolTx) => boolean): PoolTx[] {
    const out: PoolTx[] = []
    for (let i = this.queued.length - 1; i >= 0; i--) {
      const ptx = this.txs.get(this.queued[i]!)!
      if (!expired(ptx)) continue
      this.queued.splice(i, 1)
      this.txs.delete(ptx.nonce)
      out.push(ptx)
    }
    return out
  }

  pendingTxs(): PoolTx[] {
    const out: PoolTx[] = []
    for (let n = this.stateNonce; n < this.pendingEnd; n++) out.push(this.txs.get(n)!)
    return out
  }

  queuedTxs(): PoolTx[] {
    return this.queued.map((n) => this.txs.get(n)!)
  }

  /**
   * Re-bases the queue on a new head's account state: drops what that state made invalid
   * (nonces below the state nonce were included or replaced by others; txs that cost more
   * than the balance or more gas than a block holds, as Geth's list.Filter) and recomputes
   * the executable run. Returns the dropped txs and those that became executable.
   */
  reset(
    stateNonce: bigint,
    balance: bigint,
    blockGasLimit: bigint | undefined,
    now: number,
  ): { dropped: { ptx: PoolTx; reason: DropReason }[]; promoted: PoolTx[] } {
    const dropped: { ptx: PoolTx; reason: DropReason }[] = []
    for (const [n, ptx] of this.txs) {
      if (n < stateNonce) dropped.push({ ptx, reason: 'included' })
      else if (ptx.cost > balance || (blockGasLimit !== undefined && ptx.gasLimit > blockGasLimit))
        dropped.push({ ptx, reason: 'invalid' })
      else continue
      this.txs.delete(n)
    }
    this.stateNonce = stateNonce
    this.balance = balance
    let end = stateNonce
    let cost = 0n
    const promoted: PoolTx[] = []
    for (let ptx = this.txs.get(end); ptx; ptx = this.txs.get(++end)) {
      if (!ptx.pending) promoted.push(ptx)
      ptx.pending = true
      cost += ptx.cost
    }
    this.pendingEnd = end
    this.pendingCost = cost
    this.queued.length = 0
    for (const [n, ptx] of this.txs) {
      if (n < end) continue
      if (ptx.pending) ptx.queuedSince = now // demoted: its queue lifetime starts now
      ptx.pending = false
      this.queued.push(n)
    }
    this.queued.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return { dropped, promoted }
  }

  private insertQueuedNonce(n: bigint): void {
    const q = this.queued
    let lo = 0
    let hi = q.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (q[mid]! < n) lo = mid + 1
      else hi = mid
    }
    q.splice(lo, 0, n)
  }
}
