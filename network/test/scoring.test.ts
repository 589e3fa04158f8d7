/**
 * Rate limits and peer scores, as properties over random operation sequences (fast-check):
 * a token bucket never grants more than burst + rate·elapsed; scores stay in [-100, 100],
 * decay towards zero, and a peer is banned exactly when its score reaches the threshold,
 * until the ban expires.
 */
import fc from 'fast-check'
import t from 'tap'
import { ACTION_DELTAS, MAX_SCORE, MIN_SCORE, PeerScorer, TIMEOUT_FLOOR, type PeerAction } from '../PeerScorer.js'
import { RateLimiter, TokenBucket } from '../RateLimiter.js'

t.test('a token bucket grants at most burst + rate × elapsed over any run', async (t) => {
  fc.assert(
    fc.property(
      fc.record({ perSecond: fc.integer({ min: 1, max: 1000 }), burst: fc.integer({ min: 1, max: 500 }) }),
      fc.array(fc.record({ dt: fc.integer({ min: 0, max: 2000 }), cost: fc.integer({ min: 1, max: 20 }) }), { maxLength: 300 }),
      (limit, ops) => {
        let now = 1_000_000
        const b = new TokenBucket(limit, now)
        let granted = 0
        const start = now
        for (const op of ops) {
          now += op.dt
          const before = b.available(now)
          const ok = b.take(now, op.cost)
          if (ok) granted += op.cost
          // Refused only for want of tokens; granted only when there were enough.
          if (ok !== before >= op.cost) return false
          if (b.available(now) < 0 || b.available(now) > limit.burst) return false
        }
        return granted <= limit.burst + (limit.perSecond * (now - start)) / 1000 + 1e-6
      },
    ),
    { numRuns: 500 },
  )
  t.pass('bucket invariant holds')
})

t.test('the limiter keeps peers and protocols apart', async (t) => {
  let now = 0
  const rl = new RateLimiter({ a: { perSecond: 1, burst: 2 } }, { now: () => now })
  t.ok(rl.tryTake('p1', 'a') && rl.tryTake('p1', 'a'), 'burst of two')
  t.notOk(rl.tryTake('p1', 'a'), 'third refused')
  t.ok(rl.tryTake('p2', 'a'), 'another peer has its own bucket')
  t.ok(rl.tryTake('p1', 'unlimited'), 'a protocol without a limit is never refused')
  now += 1000
  t.ok(rl.tryTake('p1', 'a'), 'refilled after a second')
  rl.forget('p1')
  t.equal(rl.trackedPeers, 1, 'forgotten peers free their buckets')
})

t.test('pruning idle buckets never changes what a peer is granted, and leaves no rotated identity behind', async (t) => {
  // An attacker that rotates identities, with requests served after each identity left (forget
  // then a late tryTake): with prune the limiter answers exactly as one that keeps every bucket.
  fc.assert(
    fc.property(
      fc.array(fc.record({ dt: fc.integer({ min: 0, max: 3_000 }), peer: fc.integer({ min: 0, max: 30 }), protocol: fc.constantFrom('a', 'b'), cost: fc.integer({ min: 1, max: 3 }), prune: fc.boolean() }), { maxLength: 300 }),
      (ops) => {
        let now = 0
        const limits = { a: { perSecond: 2, burst: 4 }, b: { perSecond: 0.5, burst: 3 } }
        const pruned = new RateLimiter(limits, { now: () => now })
        const kept = new RateLimiter(limits, { now: () => now })
        for (const op of ops) {
          now += op.dt
          if (op.prune) pruned.prune()
          if (pruned.tryTake(`p${op.peer}`, op.protocol, op.cost) !== kept.tryTake(`p${op.peer}`, op.protocol, op.cost)) return false
        }
        now += 10_000 // every bucket refilled
        pruned.prune()
        return pruned.trackedPeers === 0
      },
    ),
    { numRuns: 300 },
  )
  t.pass('same grants with and without pruning; nothing tracked once every bucket refilled')
})

const actions = Object.keys(ACTION_DELTAS) as PeerAction[]

t.test('scores stay bounded, decay to zero, and bans follow the threshold', async (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ dt: fc.integer({ min: 0, max: 120_000 }), peer: fc.constantFrom('a', 'b', 'c'), action: fc.constantFrom(...actions) }), { maxLength: 200 }),
      (ops) => {
        let now = 0
        const s = new PeerScorer({ banThreshold: -50, banMs: 60_000, halfLifeMs: 30_000 }, { now: () => now })
        const bannedUntil = new Map<string, number>()
        for (const op of ops) {
          now += op.dt
          for (const [p, until] of bannedUntil) if (until <= now) bannedUntil.delete(p)
          const wasBanned = bannedUntil.has(op.peer)
          const got = s.apply(op.peer, op.action)
          const score = s.score(op.peer)
          if (score < MIN_SCORE || score > MAX_SCORE) return false
          if (got && wasBanned) return false // a banned peer is not banned twice
          if (got) {
            if (score > -50) return false
            bannedUntil.set(op.peer, now + 60_000)
          }
          if (!wasBanned && !got && score <= -50) return false // crossing the threshold bans
          for (const p of ['a', 'b', 'c']) if (s.isBanned(p) !== bannedUntil.has(p)) return false
        }
        // Left alone, every score decays towards zero.
        const before = ['a', 'b', 'c'].map((p) => Math.abs(s.score(p)))
        now += 300_000
        return ['a', 'b', 'c'].every((p, i) => Math.abs(s.score(p)) <= before[i]! / 1000 + 1e-9)
      },
    ),
    { numRuns: 300 },
  )
  t.pass('scorer invariants hold')
})

t.test('one invalid block bans; a few timeouts do not', async (t) => {
  const s = new PeerScorer()
  const banned: string[] = []
  s.onBan((p, why) => banned.push(`${p}: ${why}`))
  for (let i = 0; i < 5; i++) s.apply('slow', 'timeout')
  t.notOk(s.isBanned('slow'), 'five timeouts are forgiven')
  s.apply('liar', 'invalid-block', 'bad seal')
  t.ok(s.isBanned('liar'))
  t.same(banned, ['liar: bad seal'])
  s.apply('spammer', 'malformed')
  t.notOk(s.isBanned('spammer'), 'one malformed message is not enough')
  s.apply('spammer', 'malformed')
  t.ok(s.isBanned('spammer'), 'two are')
})

t.test('timeouts alone never ban, whatever their burst; with other faults they still count', async (t) => {
  // A paused or starved honest node (finding F1) times out every request sent to it meanwhile.
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 300 }), (gaps) => {
      let now = 0
      const s = new PeerScorer({}, { now: () => now })
      for (const dt of gaps) {
        now += dt
        s.apply('slow', 'timeout')
        if (s.isBanned('slow') || s.score('slow') < TIMEOUT_FLOOR - 1e-9) return false
      }
      return true
    }),
    { numRuns: 200 },
  )
  const s = new PeerScorer()
  for (let i = 0; i < 30; i++) s.apply('slow-liar', 'timeout')
  s.apply('slow-liar', 'rate-limited')
  s.apply('slow-liar', 'rate-limited')
  t.ok(s.isBanned('slow-liar'), 'timeouts bring a peer to the floor; two more faults ban it')
})
