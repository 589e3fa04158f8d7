/**
 * Per-peer, per-protocol token buckets. Each protocol has a rate (tokens per second) and a
 * burst (bucket size); a request costs one token, or more for requests that ask for more
 * (e.g. one per 32 headers). A request that finds too few tokens is refused (RATE_LIMITED)
 * and the peer's score lowered — so one peer cannot keep a node busy serving it.
 *
 * Invariant (a property test checks it): over any interval of length T a bucket grants at
 * most `burst + rate·T` tokens.
 */
export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number
  /** Bucket size: the most a peer can spend at once after being quiet. */
  burst: number
}

export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst
    this.last = now
  }

  /** Takes `cost` tokens if there are enough at time `now` (ms); returns whether it did. */
  take(now: number, cost = 1): boolean {
    this.refill(now)
    if (cost > this.tokens) return false
    this.tokens -= cost
    return true
  }

  available(now: number): number {
    this.refill(now)
    return this.tokens
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.last) / 1000) * this.limit.perSecond)
      this.last = now
    }
  }
}

export class RateLimiter {
  private readonly buckets = new Map<string, Map<string, TokenBucket>>()
  private readonly now: () => number

  constructor(
    private readonly limits: Record<string, RateLimit>,
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? Date.now
  }

  /** Whether `peer` may spend `cost` on `protocol` now; protocols without a limit always may. */
  tryTake(peer: string, protocol: string, cost = 1): boolean {
    const limit = this.limits[protocol]
    if (!limit) return true
    let perPeer = this.buckets.get(peer)
    if (!perPeer) this.buckets.set(peer, (perPeer = new Map()))
    let b = perPeer.get(protocol)
    if (!b) perPeer.set(protocol, (b = new TokenBucket(limit, this.now())))
    return b.take(this.now(), cost)
  }

  /** Drops a disconnected peer's buckets. */
  forget(peer: string): void {
    this.buckets.delete(peer)
  }

  /**
   * Drops every peer whose buckets have all refilled: a full bucket grants exactly what a new one
   * would, so this never lets a peer spend more. Requests already queued when a peer disconnected
   * are served after `forget` and charged to a new bucket; without this, each identity an attacker
   * rotated through left its buckets behind for good. Returns how many peers were dropped.
   */
  prune(): number {
    const now = this.now()
    let dropped = 0
    for (const [peer, perPeer] of this.buckets) {
      if ([...perPeer.values()].every((b) => b.available(now) >= b.limit.burst)) {
        this.buckets.delete(peer)
        dropped++
      }
    }
    return dropped
  }

  get trackedPeers(): number {
    return this.buckets.size
  }
}
