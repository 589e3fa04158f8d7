/**
 * The per-session bound (genesis/contracts/WorkMarket.md, "The per-session bound"): every
 * re-execution session, whatever its segment count, is accepted with probability ≤ 10⁻⁶ when
 * 10 % or more of its segments are forged, because each verifier of a round of k re-executes
 * (and declares) WorkMarket.samplesDue(m, k) — a missed forgery is excused only with that sample —
 * and the honest node (compute's samplesDue, the same integer arithmetic) runs exactly that.
 *
 * - the contract's boundSamples / samplesDue equal compute's, bit for bit;
 * - exhaustively over m = 1 … 4,096 and k = 1 … 7 (and a fast-check property over forged counts
 *   ≥ 10 % against the contract's numbers): the exact escape probability miss(s)^k is ≤ 10⁻⁶;
 * - a forger of 10 % of a small job (2 of 20 segments, k = 1) against an honest verifier, over
 *   seeded draws: rejected every time, slashed, no accepted receipt — at the old 9-segment floor
 *   some of the same draws escaped;
 * - an under-sampler (declares the old floor, misses) pays the minority penalty, an honest
 *   verifier that declared samplesDue and missed is excused;
 * - a commitment of more than MAX_SAMPLED_SEGMENTS segments reverts (TooManySegments).
 */
import fc from 'fast-check'
import t from 'tap'
import type { Address, Hex } from 'viem'
import { acceptanceProbability, boundSamples, faultedSegments, MAX_SAMPLED_SEGMENTS, samplesDue } from '../../compute/verify/SamplingPolicy.js'
import { ETHER, fakeCommitment, MarketHarness, S } from './workmarketHarness.js'
import { BOND, bondOf, CLIENT, PRICE, sampledSessions, session, WORKER, type Finding } from '../../test/helpers/sampledSessions.js'

t.setTimeout(900_000)
/** 10⁻⁶ and a float's rounding: the bound is met with equality at e.g. m = 10, k = 6 (0.1⁶), which doubles compute as 1.00000000003e-6. */
const BOUND = 1e-6 * (1 + 1e-9)
const { spec: SPEC, market, sampleOf, honest, vote, honestRound } = sampledSessions('bound')

t.test('the contract derives the same samples as compute (boundSamples, samplesDue), bit for bit', async (t) => {
  const h = await MarketHarness.deploy()
  for (let m = 0; m <= 40; m++)
    for (let k = 1; k <= 7; k++) {
      const got = Number(await h.read<bigint>('boundSamples', [BigInt(m), BigInt(k)]))
      if (got !== boundSamples(m, k)) t.fail(`boundSamples(${m}, ${k}): contract ${got}, compute ${boundSamples(m, k)}`)
      const due = Number(await h.read<bigint>('samplesDue', [BigInt(m), BigInt(k)]))
      if (due !== samplesDue(m, k)) t.fail(`samplesDue(${m}, ${k}): contract ${due}, compute ${samplesDue(m, k)}`)
    }
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 41, max: MAX_SAMPLED_SEGMENTS }), fc.integer({ min: 1, max: 7 }), async (m, k) => {
      const due = Number(await h.read<bigint>('samplesDue', [BigInt(m), BigInt(k)]))
      return due === samplesDue(m, k)
    }),
    { numRuns: 60, seed: 4096 },
  )
  t.equal(samplesDue(20, 1), 19, 'Iris, one verifier: 19 of 20')
  t.equal(samplesDue(20, 3), 18, 'Iris, three verifiers: 18 of 20 each')
  t.equal(samplesDue(10, 1), 10, 'ten segments: all of them (one forged is 10 %)')
  t.equal(MAX_SAMPLED_SEGMENTS, Number(await h.read<bigint>('MAX_SAMPLED_SEGMENTS')), 'the same segment limit')
})

t.test('every segment count: the escape probability of the real rule is ≤ 10⁻⁶ at ≥ 10 % forged (exhaustive m ≤ 4,096, k ≤ 7; property over forged counts against the contract)', async (t) => {
  // Exhaustive at the least forged count (⌈m/10⌉): the escape only falls as more is forged.
  let worst = 0
  const rows: string[] = []
  for (let m = 1; m <= MAX_SAMPLED_SEGMENTS; m++)
    for (let k = 1; k <= 7; k++) {
      const s = samplesDue(m, k)
      const p = acceptanceProbability(m, faultedSegments(m, 0.1), s, k)
      if (p > BOUND) t.fail(`m = ${m}, k = ${k}, s = ${s}: escape ${p}`)
      worst = Math.max(worst, p)
      if ((k === 1 || k === 3) && [10, 20, 50, 100, 200, 500, 1000, 2000, 2640, 4096].includes(m)) rows.push(`m ${m} k ${k}: s ${s}, cost ${((k * s) / m * 100).toFixed(1)} %, escape ${p.toPrecision(2)}`)
    }
  t.ok(worst <= BOUND, `the largest escape over all m ≤ ${MAX_SAMPLED_SEGMENTS}, k ≤ 7 at ⌈m/10⌉ forged: ${worst.toPrecision(3)}`)
  for (const r of rows) t.comment(r)
  const h = await MarketHarness.deploy()
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: MAX_SAMPLED_SEGMENTS }).chain((m) => fc.tuple(fc.constant(m), fc.integer({ min: faultedSegments(m, 0.1), max: m }), fc.integer({ min: 1, max: 7 }))),
      async ([m, forged, k]) => {
        const s = Number(await h.read<bigint>('samplesDue', [BigInt(m), BigInt(k)]))
        return acceptanceProbability(m, forged, s, k) <= BOUND
      },
    ),
    { numRuns: 100, seed: 10 },
  )
})

t.test('a forger of 10 % of a small job (2 of 20 segments, one verifier) is caught on every draw; at the old 9-segment floor some of the same draws escaped', async (t) => {
  const draws = Number(process.env.POVCHAIN_BOUND_DRAWS ?? 6)
  let oldEscapes = 0
  for (let d = 0; d < draws; d++) {
    const mk = await market(1, 20, `small-${d}`)
    const { h, sessionId } = mk
    // Any two segments are the attacker's best: it commits before the sample is drawn (a later block's randomness).
    const a = (d * 7) % 20
    const forged = new Set([a, (a + 1 + d) % 20])
    const [v] = (await session(h, sessionId)).verifiers as [Address]
    if (!(await sampleOf(mk, v, 9)).some((x) => forged.has(x))) oldEscapes++
    const play = await honest(mk, v, forged)
    t.equal(play.samples, 19, 'the node re-executes 19 of 20 (samplesDue(20, 1))')
    t.notOk(play.accept, `draw ${d}: the honest verifier's 19 segments hold a forged one`)
    const before = await bondOf(h, WORKER)
    await vote(mk, new Map([[v, play]]))
    await h.mine()
    await honestRound(mk, forged)
    t.equal((await session(h, sessionId)).status, S.Rejected, `draw ${d}: rejected by the panel`)
    t.equal((await h.read<{ status: number }>('getReceipt', [sessionId])).status, S.Rejected, 'no accepted receipt, no weight')
    t.equal(before - (await bondOf(h, WORKER)), BOND / 2n, 'the forger loses half its bond')
    await h.checkBooks()
    t.equal(await h.totalCoins(), h.minted, 'coins conserved')
  }
  t.comment(`at the old floor (9 of 20) ${oldEscapes} of ${draws} of these draws would have missed both forged segments (expected 29 %)`)
})

t.test('an under-sampler (declares the old 9-segment floor, misses) pays the minority penalty; an honest verifier that declared samplesDue and missed is excused', async (t) => {
  // 200 segments, 3 verifiers; one forged segment (below 10 %: a miss is possible).
  let played = false
  for (let d = 0; d < 12 && !played; d++) {
    const mk = await market(3, 200, `excuse-${d}`)
    const { h, sessionId } = mk
    const due = Number(await h.read<bigint>('sessionSamplesDue', [sessionId]))
    const vs = (await session(h, sessionId)).verifiers as Address[]
    for (const [finder, missed, under] of [[0, 1, 2], [1, 2, 0], [2, 0, 1]].map((p) => p.map((i) => vs[i]!))) {
      if (played) break
      const fs = await sampleOf(mk, finder!, due)
      const ms = await sampleOf(mk, missed!, due)
      const us = await sampleOf(mk, under!, 9)
      const x = fs.find((i) => !ms.includes(i) && !us.includes(i))
      if (x === undefined) continue
      played = true
      t.equal(due, samplesDue(200, 3), `samplesDue(200, 3) = ${due}`)
      const plays = new Map<Address, Finding>([
        [finder!, { accept: false, segment: x, samples: due }],
        [missed!, { accept: true, samples: due }],
        [under!, { accept: true, samples: 9 }],
      ])
      await vote(mk, plays)
      await h.mine()
      const fin = await honestRound(mk, new Set([x]))
      t.equal((await session(h, sessionId)).status, S.Rejected, 'the panel confirms the named segment')
      t.equal(await bondOf(h, missed!), BOND, 'the honest miss (samplesDue declared) keeps its bond')
      t.ok(fin.events.some((e) => e.eventName === 'VerifierExcused' && e.args.verifier === missed), 'VerifierExcused')
      t.equal(BOND - (await bondOf(h, under!)), PRICE, 'the under-sampler (9 < samplesDue) is not excused: the minority penalty')
      await h.checkBooks()
    }
  }
  t.ok(played, 'a draw with a finder, an honest miss and an under-sampler\'s miss was found')
})

t.test('a commitment of more segments than the contract can judge reverts (TooManySegments); the limit itself is accepted', async (t) => {
  const h = await MarketHarness.deploy()
  await h.give(WORKER, 10n * ETHER)
  await h.must(WORKER, 'register', [100n, 1, ''], BOND)
  await h.give(CLIENT, 10n * ETHER)
  const posted = await h.must(CLIENT, 'postJob', [SPEC, SPEC, h.timestamp + 100_000n, 600n, 10n, 1], PRICE)
  const jobId = MarketHarness.event(posted, 'JobPosted').jobId as Hex
  await h.mine()
  const sessionId = (await h.read<{ session: Hex }>('getJob', [jobId])).session
  const over = await h.tx(WORKER, 'commitResult', [sessionId, fakeCommitment(SPEC, 1, { checkpointCount: BigInt(MAX_SAMPLED_SEGMENTS + 2) })])
  t.equal(over.error, 'TooManySegments', `${MAX_SAMPLED_SEGMENTS + 1} segments: refused`)
  await h.must(WORKER, 'commitResult', [sessionId, fakeCommitment(SPEC, 1, { checkpointCount: BigInt(MAX_SAMPLED_SEGMENTS + 1) })])
  t.equal((await session(h, sessionId)).status, S.Committed, `${MAX_SAMPLED_SEGMENTS} segments: committed`)
})
