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
import { keccak256, toHex, type Address, type Hex } from 'viem'
import { acceptanceProbability, boundCovered, faultedSegments, samplesDue } from '../../compute/verify/SamplingPolicy.js'
import { addr, ETHER, MarketHarness, S } from './workmarketHarness.js'
import { BOND, bondOf, NO_SEGMENT, PRICE, sampledSessions, session, WORKER } from '../../test/helpers/sampledSessions.js'

t.setTimeout(900_000)
const FAULT = ETHER / 10n
const M = 200
const K = 2
const { market, sampleOf, honest, vote, honestRound, salt } = sampledSessions('silent')

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

// A colluder's accept without a declared sample. Before, a plain revealVote accept counted as
// the round's samplesDue in boundCovered while declaring nothing it could be held to: in the
// honest verifier's miss the forgery was accepted on it, and when the honest verifier caught the
// forgery the colluder paid only wrongVotePenalty (its empty sample could hold no proven
// segment). Now revealVote cannot accept (AcceptNeedsSample): an accept counts only the sample
// it declares and answers for that sample.
t.test('a colluder\'s plain accept: refused; a committed plain accept is silence and the forgery meets a panel', async (t) => {
  const mk = await market(K, M, 'plain-accept')
  const { h, sessionId } = mk
  const due = Number(await h.read<bigint>('sessionSamplesDue', [sessionId]))
  const [honestV, colluder] = (await session(h, sessionId)).verifiers as [Address, Address]
  // The event the attacker plays for (as above): the honest verifier's sample holds no forged segment.
  const seen = new Set(await sampleOf(mk, honestV, due))
  const forged = new Set([...Array(M).keys()].filter((x) => !seen.has(x)).slice(0, faultedSegments(M, 0.1)))
  const workerBond = await bondOf(h, WORKER)
  const play = await honest(mk, honestV, forged)
  t.ok(play.accept, 'the honest verifier\'s sample missed every forged segment')
  const s = await session(h, sessionId)
  const plainSalt = keccak256(toHex('plain-accept-colluder'))
  await h.must(honestV, 'commitVote', [sessionId, await h.read<Hex>('findingHash', [sessionId, 0, honestV, true, NO_SEGMENT, play.samples, salt(honestV, 0)])])
  await h.must(colluder, 'commitVote', [sessionId, await h.read<Hex>('voteHash', [sessionId, 0, colluder, true, plainSalt])])
  await h.must(honestV, 'revealFinding', [sessionId, true, NO_SEGMENT, play.samples, salt(honestV, 0)])
  const plain = await h.tx(colluder, 'revealVote', [sessionId, true, plainSalt])
  t.equal(plain.error, 'AcceptNeedsSample', 'the colluder\'s plain accept is refused (before: revealed, counted as samplesDue, the session Accepted and the forger paid)')
  h.advance(s.revealBy - h.timestamp + 1n)
  const r0 = await h.must(addr(99), 'finalize', [sessionId])
  t.ok(r0.events.some((e) => e.eventName === 'SampleShort'), 'SampleShort: the honest accept alone does not reach the bound')
  t.equal((await session(h, sessionId)).round, 1, 'a fresh panel decides')
  await h.mine()
  await honestRound(mk, forged)
  t.equal((await session(h, sessionId)).status, S.Rejected, 'the panel rejects the forgery')
  t.equal(workerBond - (await bondOf(h, WORKER)), BOND / 2n, 'the forger loses half its bond')
  t.equal(BOND - (await bondOf(h, colluder)), FAULT, 'the colluder, whose plain accept never opened, is silent: faultPenalty')
  await h.checkBooks()
})

t.test('an accept answers for the sample it declares: a colluder declaring samplesDue whose sample held a proven segment loses half its bond', async (t) => {
  const mk = await market(K, M, 'declared-accept')
  const { h, sessionId } = mk
  const due = Number(await h.read<bigint>('sessionSamplesDue', [sessionId]))
  const [honestV, colluder] = (await session(h, sessionId)).verifiers as [Address, Address]
  // 10 % forged. The liability bites when a forged segment lies in both samples: the honest
  // verifier names it, every panel member re-executes it (a claim) and names it, so it is proven,
  // and the colluder's declared sample held it. With 20 forged of 200 and two samples of
  // samplesDue that is the usual case (P below); the test fixes one such segment.
  const hSample = await sampleOf(mk, honestV, due)
  const cSample = new Set(await sampleOf(mk, colluder, due))
  const both = hSample.filter((x) => cSample.has(x))
  // The other 19 lie outside the honest sample, so the shared one is the honest verifier's claim
  // (a claim is the lowest segment a round-0 reject names: every panel member re-executes it).
  const hSet = new Set(hSample)
  const forged = new Set([both[0]!, ...[...Array(M).keys()].filter((x) => !hSet.has(x)).slice(0, 19)])
  t.equal(forged.size, 20, '20 of 200 forged (10 %)')
  // P(some forged segment in both samples) for a forged set fixed before the draw: two independent uniform samples of `due`.
  let hits = 0
  const rng = fc.sample(fc.tuple(fc.shuffledSubarray([...Array(M).keys()], { minLength: due, maxLength: due }), fc.shuffledSubarray([...Array(M).keys()], { minLength: due, maxLength: due })), { numRuns: 2000, seed: 7 })
  for (const [a, b] of rng) {
    const bs = new Set(b)
    if (a.some((x) => x % 10 === 3 && bs.has(x))) hits++
  }
  t.comment(`P(a forged segment lies in both samples of ${due}) ≈ ${(hits / 2000).toFixed(3)} (2,000 draws)`)
  const found = hSample.filter((x) => forged.has(x)).sort((a, b) => a - b)
  const colluderHeld = [...cSample].filter((x) => forged.has(x))
  t.ok(found.length > 0 && colluderHeld.length > 0, `the honest sample holds ${found.length} forged segments, the colluder's declared one ${colluderHeld.length}`)
  const s = await session(h, sessionId)
  const named = found.slice(0, 32)
  await h.must(honestV, 'commitVote', [sessionId, await h.read<Hex>('findingsHash', [sessionId, 0, honestV, false, named, due, salt(honestV, 0)])])
  await h.must(colluder, 'commitVote', [sessionId, await h.read<Hex>('findingsHash', [sessionId, 0, colluder, true, [], due, salt(colluder, 0)])])
  await h.must(honestV, 'revealFindings', [sessionId, false, named, due, salt(honestV, 0)])
  await h.must(colluder, 'revealFindings', [sessionId, true, [], due, salt(colluder, 0)])
  h.advance(10)
  await h.must(addr(99), 'finalize', [sessionId])
  t.equal((await session(h, sessionId)).round, 1, 'split: a panel')
  await h.mine()
  // The panel as the node plays it: claimed segments first, then its sample; it names every forged one it found.
  const s1 = await session(h, sessionId)
  for (const v of s1.verifiers) {
    const claims = [...(await h.read<readonly bigint[]>('claimedSegments', [sessionId]))].map(Number)
    const hits = [...new Set([...claims, ...(await sampleOf(mk, v, Number(await h.read<bigint>('sessionSamplesDue', [sessionId]))))].filter((x) => forged.has(x)))].sort((a, b) => a - b).slice(0, 32)
    const n = Number(await h.read<bigint>('sessionSamplesDue', [sessionId]))
    await h.must(v, 'commitVote', [sessionId, await h.read<Hex>('findingsHash', [sessionId, 1, v, false, hits, n, salt(v, 1)])])
  }
  for (const v of s1.verifiers) {
    const claims = [...(await h.read<readonly bigint[]>('claimedSegments', [sessionId]))].map(Number)
    const n = Number(await h.read<bigint>('sessionSamplesDue', [sessionId]))
    const hits = [...new Set([...claims, ...(await sampleOf(mk, v, n))].filter((x) => forged.has(x)))].sort((a, b) => a - b).slice(0, 32)
    await h.must(v, 'revealFindings', [sessionId, false, hits, n, salt(v, 1)])
  }
  h.advance(10)
  const fin = await h.must(addr(99), 'finalize', [sessionId])
  t.comment(`finalize of the panel (5 revealFindings rejects, the fraud-proof rule over round 0): ${fin.gasUsed} gas`)
  t.equal((await session(h, sessionId)).status, S.Rejected, 'rejected')
  const lost = BOND - (await bondOf(h, colluder))
  t.equal(lost, BOND / 2n, `the colluder loses half its bond (${Number(lost) / 1e18} coin; a plain accept cost it wrongVotePenalty = ${Number(await h.read<bigint>('wrongVotePenalty', [PRICE])) / 1e18} before)`)
  t.equal(await bondOf(h, honestV), BOND, 'the honest verifier keeps its bond')
  await h.checkBooks()
})

t.test('gas: reveal and finalize of an honest round (k = 2, m = 200; WorkMarket.md records the figures)', async (t) => {
  const mk = await market(K, M, 'gas')
  const { h, sessionId } = mk
  const s = await session(h, sessionId)
  const plays = new Map<Address, { accept: boolean; samples: number }>()
  for (const v of s.verifiers) plays.set(v, await honest(mk, v, new Set()))
  for (const [v, f] of plays) await h.must(v, 'commitVote', [sessionId, await h.read<Hex>('findingHash', [sessionId, 0, v, f.accept, NO_SEGMENT, f.samples, salt(v, 0)])])
  const reveals: bigint[] = []
  for (const [v, f] of plays) reveals.push((await h.must(v, 'revealFinding', [sessionId, f.accept, NO_SEGMENT, f.samples, salt(v, 0)])).gasUsed!)
  h.advance(10)
  const fin = await h.must(addr(99), 'finalize', [sessionId])
  t.equal((await session(h, sessionId)).status, S.Accepted, 'accepted')
  t.ok(fin.gasUsed! < 1_500_000n, `finalize ${fin.gasUsed} gas; revealFinding ${reveals.join(', ')} gas (execution, without the 21 k intrinsic)`)
})
