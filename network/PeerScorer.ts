/**
 * The node's opinion of each peer, in [-100, 100], starting at 0 and decaying towards 0
 * (half-life `halfLifeMs`). Misbehaviour lowers it; useful answers raise it a little. A peer
 * whose score falls to `banThreshold` is banned for `banMs`: disconnected, and refused on
 * dial and on accept until the ban ends. Gossipsub keeps its own mesh score on top of this;
 * this one covers everything (gossip validation, request/response, sync).
 *
 * Honest nodes validate blocks fully before forwarding them and serve only blocks they have
 * imported, so an invalid block from a peer is always that peer's fault: it costs the whole
 * score at once. Transactions can turn invalid innocently (a block raced them), so only
 * malformed ones cost anything.
 */
export type PeerAction =
  /** A block that fails validation or execution. */
  | 'invalid-block'
  /** A protobuf, RLP or message that does not decode, or breaks a size limit. */
  | 'malformed'
  /** A transaction with a bad signature or for another chain. */
  | 'invalid-tx'
  /** A vote with a bad signature, or by a key outside its target's validator sets. */
  | 'invalid-vote'
  /** A response that contradicts the request (wrong headers, unlinked chain, wrong body). */
  | 'bad-response'
  /** A request whose signature does not verify (a signed blob request not signed by the account it names). */
  | 'invalid-signature'
  /** A request over the peer's rate limit. */
  | 'rate-limited'
  /** A request to or from the peer that timed out (never bans on its own: TIMEOUT_FLOOR). */
  | 'timeout'
  /** A response that helped (headers, bodies, a new valid block). */
  | 'useful'

export const ACTION_DELTAS: Record<PeerAction, number> = {
  'invalid-block': -100,
  malformed: -30,
  'invalid-tx': -10,
  'invalid-vote': -10,
  'invalid-signature': -10,
  'bad-response': -30,
  'rate-limited': -5,
  timeout: -3,
  useful: 0.5,
}

export const MIN_SCORE = -100
/** Timeouts lower a score down to here and no further: above the default ban threshold (-50). */
export const TIMEOUT_FLOOR = -40
export const MAX_SCORE = 100

export interface PeerScorerOptions {
  banThreshold: number
  banMs: number
  halfLifeMs: number
}

export const DEFAULT_SCORER_OPTIONS: PeerScorerOptions = { banThreshold: -50, banMs: 10 * 60_000, halfLifeMs: 10 * 60_000 }

interface Entry {
  score: number
  at: number
}

export class PeerScorer {
  readonly options: PeerScorerOptions
  private readonly scores = new Map<string, Entry>()
  private readonly bans = new Map<string, { until: number; reason: string }>()
  private readonly banListeners: ((peer: string, reason: string) => void)[] = []
  private readonly now: () => number

  constructor(options: Partial<PeerScorerOptions> = {}, deps: { now?: () => number } = {}) {
    this.options = { ...DEFAULT_SCORER_OPTIONS, ...options }
    this.now = deps.now ?? Date.now
  }

  score(peer: string): number {
    const e = this.scores.get(peer)
    if (!e) return 0
    return this.decayed(e, this.now())
  }

  private decayed(e: Entry, now: number): number {
    const dt = Math.max(0, now - e.at)
    return e.score * Math.pow(0.5, dt / this.options.halfLifeMs)
  }

  /** Records what the peer did; returns true when this action got it banned. */
  apply(peer: string, action: PeerAction, reason: string = action): boolean {
    const now = this.now()
    const banned = this.isBanned(peer) // first, so an expiring ban settles the score before this action counts
    const before = this.score(peer)
    let score = Math.max(MIN_SCORE, Math.min(MAX_SCORE, before + ACTION_DELTAS[action]))
    // Slowness alone never bans: a paused or overloaded honest node times out a burst of
    // requests (a sync run has up to 20 in flight), and a ban would cut it off for 10 min.
    if (action === 'timeout') score = Math.max(score, Math.min(before, TIMEOUT_FLOOR))
    this.scores.set(peer, { score, at: now })
    if (score <= this.options.banThreshold && !banned) {
      this.ban(peer, reason)
      return true
    }
    return false
  }

  /** Bans `peer` for `ms` (default `banMs`) — also used for peers on another chain. */
  ban(peer: string, reason: string, ms = this.options.banMs): void {
    this.bans.set(peer, { until: this.now() + ms, reason })
    for (const l of this.banListeners) l(peer, reason)
  }

  isBanned(peer: string): boolean {
    const b = this.bans.get(peer)
    if (!b) return false
    if (b.until <= this.now()) {
      this.bans.delete(peer)
      // A ban served wipes the slate only back to the threshold's half, not to trust.
      const e = this.scores.get(peer)
      if (e) this.scores.set(peer, { score: Math.max(this.decayed(e, this.now()), this.options.banThreshold / 2), at: this.now() })
      return false
    }
    return true
  }

  banReason(peer: string): string | undefined {
    return this.isBanned(peer) ? this.bans.get(peer)!.reason : undefined
  }

  bannedPeers(): string[] {
    return [...this.bans.keys()].filter((p) => this.isBanned(p))
  }

  onBan(l: (peer: string, reason: string) => void): void {
    this.banListeners.push(l)
  }

  /** Forgets scores that decayed to nothing (call now and then). */
  prune(): void {
    const now = this.now()
    for (const [p, e] of this.scores) if (Math.abs(this.decayed(e, now)) < 0.01 && !this.bans.has(p)) this.scores.delete(p)
  }
}
