import t from 'tap'
import fc from 'fast-check'
import { FinalityTracker, type Vote } from '../Finality.js'
import { VOTE_DEPTH } from '../HeaderVotes.js'
import { epochSeed, nextMix, vrfInput, WeightedLeaderSchedule } from '../WeightedLeaderSchedule.js'
import { bytesToHex } from '../../common/bytes.js'

const W = new Map([['a', 1n], ['b', 1n], ['c', 1n], ['d', 1n]])
const weights = () => W

function chain(ft: FinalityTracker, parent: string, names: string[], height: bigint): void {
  for (const n of names) {
    ft.addBlock({ hash: n, parent, height: ++height, sets: ['e0'] })
    parent = n
  }
}
const vote = (validator: string, source: string, sourceHeight: bigint, target: string, targetHeight: bigint): Vote => ({ validator, source, sourceHeight, target, targetHeight })

t.test('more than 2/3 justifies; a justified block with a justified child through its link is final', async (t) => {
  const ft = new FinalityTracker({ hash: 'g' }, weights)
  chain(ft, 'g', ['b1', 'b2', 'b3'], 0n)
  for (const v of ['a', 'b']) ft.addVote(vote(v, 'g', 0n, 'b1', 1n))
  t.notOk(ft.isJustified('b1'), '2/4 is not enough')
  ft.addVote(vote('b', 'g', 0n, 'b1', 1n))
  t.notOk(ft.isJustified('b1'), 'a repeated vote counts once')
  ft.addVote(vote('c', 'g', 0n, 'b1', 1n))
  t.ok(ft.isJustified('b1'), '3/4 justifies')
  t.equal(ft.finalized.hash, 'g', 'genesis → b1 link finalizes genesis only')
  for (const v of ['a', 'b', 'c']) ft.addVote(vote(v, 'b1', 1n, 'b3', 3n))
  t.ok(ft.isJustified('b3'))
  t.equal(ft.finalized.hash, 'g', 'a justified grandchild does not finalize b1')
  for (const v of ['a', 'b', 'c']) ft.addVote(vote(v, 'b3', 3n, 'b4', 4n))
  chain(ft, 'b3', ['b4'], 3n)
  t.ok(ft.isJustified('b4'), 'votes that arrived before their block count once it arrives')
  t.equal(ft.finalized.hash, 'b3')
  t.ok(ft.isFinalized('b3') && !ft.isFinalized('b4'))
  t.ok(ft.has('b1'), 'blocks up to VOTE_DEPTH below the finalized one stay (producers carry the votes behind them)')
  // Finalize far enough up that b1 falls more than VOTE_DEPTH below.
  const names = Array.from({ length: Number(VOTE_DEPTH) + 4 }, (_, i) => `c${i + 5}`)
  chain(ft, 'b4', names, 4n)
  let [prev, ph] = ['b4', 4n]
  for (const [i, n] of names.entries()) {
    for (const v of ['a', 'b', 'c']) ft.addVote(vote(v, prev, ph, n, BigInt(i + 5)))
    ;[prev, ph] = [n, BigInt(i + 5)]
  }
  t.equal(ft.finalized.height, BigInt(names.length + 3), 'each child link finalizes its source')
  t.notOk(ft.has('b1'), 'blocks more than VOTE_DEPTH below the finalized one are forgotten (memory stays flat)')
  t.equal(ft.size().blocks, Number(VOTE_DEPTH) + 2, 'what stays: VOTE_DEPTH blocks under the finalized one, it, and its child')
})

t.test('links from an unjustified source count once the source is justified', async (t) => {
  const ft = new FinalityTracker({ hash: 'g' }, weights)
  chain(ft, 'g', ['b1', 'b2'], 0n)
  for (const v of ['a', 'b', 'c']) ft.addVote(vote(v, 'b1', 1n, 'b2', 2n))
  t.notOk(ft.isJustified('b2'))
  for (const v of ['a', 'b', 'd']) ft.addVote(vote(v, 'g', 0n, 'b1', 1n))
  t.ok(ft.isJustified('b2'))
  t.equal(ft.finalized.hash, 'b1')
})

t.test('fork choice starts at the highest justified block and never leaves the finalized one', async (t) => {
  const ft = new FinalityTracker({ hash: 'g' }, weights)
  chain(ft, 'g', ['x1', 'x2'], 0n)
  chain(ft, 'g', ['y1', 'y2', 'y3', 'y4'], 0n)
  t.equal(ft.chooseHead(), 'y4', 'longest branch without justification')
  for (const v of ['a', 'b', 'c']) ft.addVote(vote(v, 'g', 0n, 'x1', 1n))
  for (const v of ['a', 'b', 'c']) ft.addVote(vote(v, 'x1', 1n, 'x2', 2n))
  t.equal(ft.finalized.hash, 'x1')
  t.equal(ft.chooseHead(), 'x2', 'the shorter branch holds the finalized block')
  t.notOk(ft.allowedHead('y4'))
  t.ok(ft.allowedHead('x2'))
  const v = ft.voteFor('d', 'x2')
  t.same([v.source, v.target], ['x1', 'x2'], 'an honest vote links the highest justified ancestor')
  chain(ft, 'x2', ['x3a'], 2n)
  chain(ft, 'x2', ['x3b'], 2n)
  t.equal(ft.chooseHead((h) => (h === 'x3b' ? 1 : 0)), 'x3b', 'preference (in-turn) breaks ties')
})

t.test('weighted leader schedule', async (t) => {
  const addr = (n: number) => new Uint8Array(20).fill(n)
  const validators = [1, 2, 3, 4].map((n) => ({ address: addr(n), weight: BigInt(n * n) }))
  const seed = epochSeed(0n, new Uint8Array(32), () => new Uint8Array(32))
  const s = new WeightedLeaderSchedule({ validators, seed })
  const s2 = new WeightedLeaderSchedule({ validators: [...validators].reverse(), seed })
  const counts = new Map<string, number>()
  for (let slot = 0n; slot < 3000n; slot++) {
    const r = s.ranking(slot)
    if (new Set(r.map(bytesToHex)).size !== 4) t.fail('a ranking is not a permutation')
    if (bytesToHex(s2.leader(slot)) !== bytesToHex(r[0]!)) t.fail('depends on input order')
    counts.set(bytesToHex(r[0]!), (counts.get(bytesToHex(r[0]!)) ?? 0) + 1)
    if (s.rank(r[0]!, slot) !== 0 || s.rank(r[3]!, slot) !== undefined) t.fail('ranks')
  }
  // Expected shares 1:4:9:16 of 30.
  for (const v of validators) {
    const share = (counts.get(bytesToHex(v.address)) ?? 0) / 3000
    t.ok(Math.abs(share - Number(v.weight) / 30) < 0.03, `leader share of weight ${v.weight} is ${share.toFixed(3)}`)
  }
  const other = new WeightedLeaderSchedule({ validators, seed: epochSeed(1n, new Uint8Array(32), () => new Uint8Array(32)) })
  let differ = 0
  for (let slot = 0n; slot < 100n; slot++) if (bytesToHex(other.leader(slot)) !== bytesToHex(s.leader(slot))) differ++
  t.ok(differ > 20, 'another seed gives another schedule')
  t.throws(() => new WeightedLeaderSchedule({ validators: [{ address: addr(1), weight: 0n }], seed }), { code: 'CONSENSUS_NO_VALIDATORS' })
  t.throws(() => new WeightedLeaderSchedule({ validators: [validators[0]!, validators[0]!], seed }), { code: 'CONSENSUS_DUPLICATE_VALIDATOR' })
})

t.test('seed lookahead: epoch e+2 depends on the mix at the end of epoch e only', async (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 2n, max: 1000n }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (e, mix) => {
      const asked: bigint[] = []
      const seed = epochSeed(e, new Uint8Array(32), (x) => (asked.push(x), mix))
      return asked.length === 1 && asked[0] === e - 2n && bytesToHex(seed) === bytesToHex(epochSeed(e, new Uint8Array(32), () => mix))
    }),
  )
  t.equal(bytesToHex(nextMix(new Uint8Array(32), new Uint8Array(32))).length, 66)
  t.not(bytesToHex(vrfInput(new Uint8Array(32), 1n)), bytesToHex(vrfInput(new Uint8Array(32), 2n)))
})

t.test('the 1/3 bound is tight: with half the weight double-voting, two conflicting blocks reach finality', async (t) => {
  // a and b (2/4 of the weight) vote on both branches; c sees only x, d only y.
  const trackers = [new FinalityTracker({ hash: 'g' }, weights), new FinalityTracker({ hash: 'g' }, weights)]
  for (const ft of trackers) {
    chain(ft, 'g', ['x1', 'x2'], 0n)
    chain(ft, 'g', ['y1', 'y2'], 0n)
  }
  const [seesX, seesY] = trackers as [FinalityTracker, FinalityTracker]
  for (const v of ['a', 'b', 'c']) seesX.addVote(vote(v, 'g', 0n, 'x1', 1n)), seesX.addVote(vote(v, 'x1', 1n, 'x2', 2n))
  for (const v of ['a', 'b', 'd']) seesY.addVote(vote(v, 'g', 0n, 'y1', 1n)), seesY.addVote(vote(v, 'y1', 1n, 'y2', 2n))
  t.equal(seesX.finalized.hash, 'x1')
  t.equal(seesY.finalized.hash, 'y1', 'conflicting finality: why honest weight must exceed 2/3 and double votes are slashed')
  // One tracker that later hears the other side keeps its finalized block: the conflicting
  // branch forks within VOTE_DEPTH of it, so it is still known, but its votes cannot move finality.
  t.ok(seesX.has('y1'), 'the conflicting branch is kept while it forks within VOTE_DEPTH under the finalized block')
  for (const v of ['a', 'b', 'd']) seesX.addVote(vote(v, 'g', 0n, 'y1', 1n)), seesX.addVote(vote(v, 'y1', 1n, 'y2', 2n))
  t.equal(seesX.finalized.hash, 'x1', 'finalized never moves to a conflicting block')
  t.ok(seesX.conflicts.length > 0, 'and the refused finalization is recorded')
  t.equal(seesX.chooseHead(), 'x2', 'fork choice stays on the finalized branch')
})

t.test('votes for unknown blocks wait for them, but not forever: made-up targets at or below the finalized height are dropped', async (t) => {
  const ft = new FinalityTracker({ hash: 'g' }, weights)
  // A vote that arrives before its target counts once the target arrives.
  for (const v of ['a', 'b', 'c']) ft.addVote(vote(v, 'g', 0n, 'b1', 1n))
  chain(ft, 'g', ['b1'], 0n)
  t.ok(ft.isJustified('b1'), 'pending votes replayed when their target arrives')
  // A validator signs links to targets that never exist.
  for (let h = 2n; h <= 4n; h++) ft.addVote(vote('d', 'b1', 1n, `ghost${h}`, h))
  t.equal(ft.addVote(vote('d', 'nowhere', 0n, 'b1', 1n)), false, 'a known target with an unknown source can never count')
  chain(ft, 'b1', ['b2', 'b3', 'b4'], 1n)
  for (const [s, sh, tg, th] of [['b1', 1n, 'b2', 2n], ['b2', 2n, 'b3', 3n]] as const) for (const v of ['a', 'b', 'c']) ft.addVote(vote(v, s, sh, tg, th))
  t.equal(ft.finalized.hash, 'b2')
  chain(ft, 'b4', ['b5'], 4n)
  const pending = (ft as unknown as { pending: Vote[] }).pending
  t.same(
    pending.map((v) => v.target),
    ['ghost3', 'ghost4'],
    'the ghost at height 2 (≤ finalized) is gone; those above it still wait',
  )
})
