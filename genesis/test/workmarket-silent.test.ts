/**
 * The silent-verifier rule (genesis/contracts/WorkMarket.md, "The silent-verifier rule"), against
 * the real WorkMarket in the genesis test harness.
 *
 * The per-session bound (samplesDue) gives each of a round's k verifiers a sample such that the
 * union of all k misses 10 % forged with probability ≤ 10⁻⁶. A drawn verifier that stays silent
 * costs itself only faultPenalty and takes its sample out of the union. The attacker's best play
 * with one colluding identity in the draw is therefore: forge the fewest segments the bound covers
 * (⌈m/10⌉), let the colluder stay silent (never exposed by a sample it declared), and hope the
 * honest verifiers miss — with k = 2 on 200 segments that is miss(samplesDue(200, 2)) ≈ 10⁻³ per
 * session instead of 10⁻⁶. The rule: a round accepts only when its revealed accepts' declared
 * samples together reach the bound (boundCovered); else a fresh panel decides, as after a reject.
 *
 * - boundCovered: the contract equals compute's arithmetic, k samples of samplesDue(m, k) are
 *   always enough and k − 1 of them are not (m ≥ 50);
 * - the attacker's play, in the event it hopes for (the honest verifier's sample holds none of
 *   the 20 forged segments; the test fixes the forged set after seeing that sample): before the
 *   rule the session was accepted on one accept and the forger paid; now it goes to a panel,
 *   which rejects, the forger loses half its bond, the silent colluder faultPenalty, and the
 *   honest verifier whose sample missed every segment the panel named is excused;
 * - an honest session whose second verifier is merely offline is still accepted (by the panel).
 */
import fc from 'fast-check'
import t from 'tap'
import type { Address } from 'viem'
import { acceptanceProbability, boundCovered, faultedSegments, samplesDue } from '../../compute/verify/SamplingPolicy.js'
import { ETHER, MarketHarness, S } from './workmarketHarness.js'
import { BOND, bondOf, sampledSessions, session, WORKER } from '../../test/helpers/sampledSessions.js'

t.setTimeout(900_000)
const FAULT = ETHER / 10n
const M = 200
const K = 2
const { market, sampleOf, honest, vote, honestRound } = sampledSessions('silent')

t.test('boundCovered: the contract equals compute; k samples of samplesDue(m, k) reach the bound, k − 1 of them do not', async (t) => {
  const h = await MarketHarness.deploy()
  const covered = async (m: number, sizes: number[]) => h.read<boolean>('boundCovered', [BigInt(m), sizes.map(BigInt)])
  for (const m of [1, 10, 20, 50, 100, 200, 1000, 2640, 4096])
    for (let k = 1; k <= 7; k++) {
      const due = samplesDue(m, k)
      const all = Array<number>(k).fill(due)
      t.ok(boundCovered(m, all) && (await covered(m, all)), `m ${m}, k ${k}: ${k} × ${due} covers`)
      if (m >= 50 && k >= 2) {
        const short = all.slice(1)
        t.notOk(boundCovered(m, short) || (await covered(m, short)), `m ${m}, k ${k}: one silent (${k - 1} × ${due}) does not`)
      }
    }
  t.notOk(await covered(M, []), 'no accept covers nothing')
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 4096 }), fc.array(fc.integer({ min: 0, max: 4200 }), { maxLength: 15 }), async (m, sizes) => (await covered(m, sizes)) === boundCovered(m, sizes)),
    { numRuns: 80, seed: 12 },
  )
})

t.test('forger + silent colluder: the attacker\'s best play now meets a panel; before the rule one honest miss accepted it', async (t) => {
  const mk = await market(K, M, 'silent-attack')
  const { h, sessionId } = mk
  const due = Number(await h.read<bigint>('sessionSamplesDue', [sessionId]))
  t.equal(due, samplesDue(M, K), `each of the 2 verifiers re-executes samplesDue(200, 2) = ${due}`)
  const [honestV, colluder] = (await session(h, sessionId)).verifiers as [Address, Address]
  // The event the attacker plays for: the honest verifier's sample holds none of the forged
  // segments. It forges the fewest the bound covers, ⌈m/10⌉ = 20, all outside that sample.
  const seen = new Set(await sampleOf(mk, honestV, due))
  const forged = new Set([...Array(M).keys()].filter((x) => !seen.has(x)).slice(0, faultedSegments(M, 0.1)))
  t.equal(forged.size, 20, '20 of 200 forged (10 %)')
  const oneMiss = acceptanceProbability(M, 20, due, 1)
  const bothMiss = acceptanceProbability(M, 20, due, 2)
  t.ok(oneMiss > 1e-4 && bothMiss <= 1e-6, `P(accept) with the colluder silent and no rule: ${oneMiss.toPrecision(2)}; with both verifiers' samples: ${bothMiss.toPrecision(2)}`)
  t.comment(`the attacker's best play before the rule: accepted with probability ${oneMiss.toPrecision(2)} per session (one honest sample), ${(oneMiss / bothMiss).toExponential(1)} × the bound`)

  const workerBond = await bondOf(h, WORKER)
  const play = await honest(mk, honestV, forged)
  t.ok(play.accept, 'the honest verifier re-executed its sample and found nothing forged')
  const r0 = await vote(mk, new Map([[honestV, play]]))
  t.ok(r0.events.some((e) => e.eventName === 'SampleShort'), 'SampleShort: one accept of 2 × samplesDue does not reach the bound')
  const s0 = await session(h, sessionId)
  t.equal(s0.status, S.Committed, 'not accepted on the honest verifier\'s miss alone (before the rule: Accepted, the forger paid)')
  t.equal(s0.round, 1, 'round 1: a fresh panel is drawn, as a reject would send it')
  await h.mine()
  const panel = (await session(h, sessionId)).verifiers
  t.equal(panel.length, 5, 'a panel of 2k + 1 = 5, without the worker and round 0')
  t.notOk(panel.includes(colluder) || panel.includes(honestV) || panel.includes(WORKER), 'fresh identities only')
  const fin = await honestRound(mk, forged)
  t.equal((await session(h, sessionId)).status, S.Rejected, 'the panel (5 × samplesDue(200, 5)) rejects the forgery')
  t.ok(await h.read<boolean>('sampleShort', [sessionId]), 'sampleShort(session) records why the panel was drawn')
  t.equal((await h.read<{ status: number }>('getReceipt', [sessionId])).status, S.Rejected, 'no accepted receipt, no producer weight')
  t.equal(workerBond - (await bondOf(h, WORKER)), BOND / 2n, 'the forger loses half its bond')
  t.equal(BOND - (await bondOf(h, colluder)), FAULT, 'the silent colluder loses faultPenalty')
  // The panel had no claim to re-execute first, so its members named different forged segments
  // (none by a majority): after a short round 0 the named set stands in for a proven one.
  t.equal(await bondOf(h, honestV), BOND, 'the honest verifier whose sample (samplesDue) missed every segment the panel named is excused')
  t.ok(fin.events.some((e) => e.eventName === 'VerifierExcused' && e.args.verifier === honestV), 'VerifierExcused')
  await h.checkBooks()
  t.equal(await h.totalCoins(), h.minted, 'coins conserved')
})

t.test('an honest session whose second verifier is offline is still accepted, by the panel', async (t) => {
  const mk = await market(K, M, 'silent-offline')
  const { h, sessionId } = mk
  const [online, offline] = (await session(h, sessionId)).verifiers as [Address, Address]
  const r0 = await vote(mk, new Map([[online, await honest(mk, online, new Set())]]))
  t.ok(r0.events.some((e) => e.eventName === 'SampleShort'), 'short in round 0')
  await h.mine()
  const r1 = await honestRound(mk, new Set())
  t.notOk(r1.events.some((e) => e.eventName === 'SampleShort'), 'round 1 is decided by its majority')
  t.equal((await session(h, sessionId)).status, S.Accepted, 'accepted')
  t.equal(BOND - (await bondOf(h, offline)), FAULT, 'the offline verifier loses faultPenalty')
  t.equal(await bondOf(h, online), BOND, 'the online one keeps its bond')
  await h.checkBooks()
  t.equal(await h.totalCoins(), h.minted, 'coins conserved')
})
