/** Why a drip was refused, and when the caller may ask again. */
export interface DripRefusal {
  reason: 'address' | 'ip'
  retryAfterSeconds: number
}

/**
 * The faucet's rate limits: one drip per address per window, at most `perIp` drips per IP
 * address per window. Counts live in memory (a restart forgets them: the faucet's balance is
 * the real bound) and are pruned as they expire, so a flood of fresh addresses cannot grow
 * them past `maxEntries` — beyond that the oldest entries go first.
 */
export class DripLimiter {
  private readonly byAddress = new Map<string, number>()
  private readonly byIp = new Map<string, number[]>()

  constructor(
    private readonly opts: { windowMs: number; perIp: number; maxEntries?: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Refuses, or records the drip and returns undefined. */
  take(address: string, ip: string): DripRefusal | undefined {
    const t = this.now()
    this.prune(t)
    const key = address.toLowerCase()
    const last = this.byAddress.get(key)
    if (last !== undefined && last + this.opts.windowMs > t) return { reason: 'address', retryAfterSeconds: Math.ceil((last + this.opts.windowMs - t) / 1000) }
    const hits = (this.byIp.get(ip) ?? []).filter((h) => h + this.opts.windowMs > t)
    if (hits.length >= this.opts.perIp) return { reason: 'ip', retryAfterSeconds: Math.ceil((hits[0]! + this.opts.windowMs - t) / 1000) }
    this.byAddress.delete(key) // re-inserted last: the map stays in time order
    this.byAddress.set(key, t)
    hits.push(t)
    this.byIp.set(ip, hits)
    this.cap()
    return undefined
  }

  /** Gives a drip back (the transaction was not sent): the caller may retry at once. */
  release(address: string, ip: string): void {
    this.byAddress.delete(address.toLowerCase())
    const hits = this.byIp.get(ip)
    if (hits) hits.pop()
  }

  private lastPrune = -Infinity

  private prune(t: number): void {
    // At most once a second: a flood must not make every request walk every entry.
    if (t - this.lastPrune < 1000 && this.byAddress.size <= (this.opts.maxEntries ?? 100_000)) return
    this.lastPrune = t
    const cutoff = t - this.opts.windowMs
    for (const [k, at] of this.byAddress) {
      if (at > cutoff) break // insertion order is time order
      this.byAddress.delete(k)
    }
    for (const [ip, hits] of this.byIp) {
      while (hits.length > 0 && hits[0]! <= cutoff) hits.shift()
      if (hits.length === 0) this.byIp.delete(ip)
    }
    this.cap()
  }

  /** Past maxEntries the oldest entries go: a flooder would run the faucet dry long before. */
  private cap(): void {
    const max = this.opts.maxEntries ?? 100_000
    while (this.byAddress.size > max) this.byAddress.delete(this.byAddress.keys().next().value!)
    while (this.byIp.size > max) this.byIp.delete(this.byIp.keys().next().value!)
  }
}
