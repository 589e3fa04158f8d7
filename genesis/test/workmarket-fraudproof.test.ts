/**
 * The fraud-proof rule (genesis/contracts/WorkMarket.md, "Fraud proofs"), played against the real
 * WorkMarket in the genesis test harness, each side with its best strategy:
 *
 * - a forger of 1 of 20 segments, drawn with one honest verifier whose sample found the forged
 *   segment and two accepting verifiers (a colluder and a lazy one): the honest reject names the
 *   segment, a fresh panel re-executes it, the session is rejected, the forger slashed, the finder
 *   paid — before, the two accepts outvoted the finder in a k = 3 majority or, with the split rule,
 *   the panel's own samples found the forgery only with their sampling luck;
 * - a griefer, the only verifier of an honest session, names a correct segment: the panel
 *   re-executes it, accepts, the worker is paid and the griefer loses slashBps of its bond —
 *   before, its lone reject was the majority and cut the honest worker's bond;
 * - an honest verifier whose sample missed the proven segment is excused; a lazy one whose sample
 *   held it loses slashBps of its bond — the contract recomputes both samples (sampleOf);
 * - a property (fast-check, seeded): over random forged sets and random honest/lazy round-0
 *   panels, a session is accepted exactly when no honest round-0 verifier's sample hit a forged
 *   segment, no honest verifier loses bond, and coins are conserved.
 *
 * Honest verifiers here compute their sample exactly as the node does (compute's sampleSegments
 * seeded by verifierSeed, the floor sample of DEFAULT_SAMPLING_POLICY), re-execute the segments
 * round 0 named first (as ReexecutionVerifier does with `claims`) and name the first forged one.
 */
import fc from 'fast-check'
import t from 'tap'
import { encodeFunctionData, keccak256, toHex, type Address, type Hex } from 'viem'
import { DEFAULT_SAMPLING_POLICY, requiredSamples } from '../../compute/verify/SamplingPolicy.js'
import { sampleOrder, sampleSegments } from '../../compute/verify/SegmentSampler.js'
import { addr, ETHER, fakeCommitment, MARKET, MarketHarness, S } from './workmarketHarness.js'

t.setTimeout(600_000) // each scenario deploys its own market and plays two rounds; the property plays 6
const WORKER = addr(1)
const CLIENT = addr(100)
const SPEC = keccak256(toHex('fraud-proof-spec'))
const M = 20 // segments (21 checkpoints), as Iris
const NO_SEGMENT = 0xffff_ffff
/** Below the bond, so that a proven wrong vote (slashBps = half the 2-coin bond) costs more than a minority vote (the price). */
const PRICE = ETHER / 5n
const BOND = 2n * ETHER

interface SessionView {
  status: number
  round: number
  verifiers: readonly Address[]
  previous: readonly Address[]
}
const session = (h: MarketHarness, id: Hex) => h.read<SessionView>('getSession', [id])
const bondOf = async (h: MarketHarness, a: Address) => (await h.read<{ bond: bigint }>('getWorker', [a])).bond

/** What a verifier reveals: accept or reject, the segment a reject names (none: NO_SEGMENT), the sample size declared (undefined: a plain reject, or an accept declaring the round's samplesDue — revealVote cannot accept). */
interface Finding {
  accept: boolean
  segment?: number
  samples?: number
}

interface Market {
  h: MarketHarness
  sessionId: Hex
  commitment: Hex
  /** Segments of the session. */
  m: number
  /** The sample size honest verifiers declare (the contract's sessionSamplesDue for round 0 unless stated; a panel's due is never larger). */
  floor: number
}

/** The worker takes the client's job alone, then `verifiers` more identities register; it commits a 20-segment session and round 0 is drawn. */
async function market(k: number, verifiers = 12, draw?: Hex, m = M, samples?: number): Promise<Market> {
  const h = await MarketHarness.deploy()
  await h.give(WORKER, 10n * ETHER)
  await h.must(WORKER, 'register', [100n, 1, ''], BOND)
  await h.give(CLIENT, 10n * ETHER)
  const posted = await h.must(CLIENT, 'postJob', [SPEC, SPEC, h.timestamp + 100_000n, 600n, 10n, k], PRICE)
  const jobId = MarketHarness.event(posted, 'JobPosted').jobId as Hex
  await h.mine()
  const sessionId = (await h.read<{ session: Hex }>('getJob', [jobId])).session
  for (let i = 2; i < 2 + verifiers; i++) {
    await h.give(addr(i), 10n * ETHER)
    await h.must(addr(i), 'register', [100n, 1, ''], BOND)
  }
  const c = fakeCommitment(SPEC, 1, { checkpointCount: BigInt(m + 1) })
  // `draw`: the PREVRANDAO of the blocks that draw the verifiers (a property run varies the draw).
  if (draw) for (let b = 0n; b < 16n; b++) h.randaoAt.set(h.number + b, keccak256(toHex(`${draw}-${b}`)))
  await h.must(WORKER, 'commitResult', [sessionId, c])
  await h.mine()
  // Honest verifiers re-execute what the market requires of a round this size (samplesDue: the 10⁻⁶ bound).
  const floor = samples ?? Number(await h.read<bigint>('sessionSamplesDue', [sessionId]))
  return { h, sessionId, commitment: c.commitment, m, floor }
}

const salt = (v: Address, round: number) => keccak256(toHex(`fraud-salt-${v}-${round}`))

/** The current round's verifiers commit and reveal `play(v)`; then finalize. */
async function vote(mk: Market, play: (v: Address) => Finding) {
  const { h, sessionId } = mk
  const s = await session(h, sessionId)
  for (const v of s.verifiers) {
    const f = play(v)
    const hash =
      f.samples === undefined
        ? await h.verdictHash(sessionId, s.round, v, f.accept, salt(v, s.round))
        : await h.read<Hex>('findingHash', [sessionId, s.round, v, f.accept, f.segment ?? NO_SEGMENT, f.samples, salt(v, s.round)])
    await h.must(v, 'commitVote', [sessionId, hash])
  }
  for (const v of s.verifiers) {
    const f = play(v)
    if (f.samples === undefined) await h.mustRevealVerdict(v, sessionId, f.accept, salt(v, s.round))
    else await h.must(v, 'revealFinding', [sessionId, f.accept, f.segment ?? NO_SEGMENT, f.samples, salt(v, s.round)])
  }
  return h.must(addr(99), 'finalize', [sessionId])
}

/** A verifier's floor sample, as its node computes it (verifierSeed of the current round). */
async function sampleOf(mk: Market, v: Address): Promise<number[]> {
  const seed = await mk.h.read<Hex>('verifierSeed', [mk.sessionId, v])
  return sampleSegments(seed, mk.commitment as never, mk.m, mk.floor)
}

/** An honest verifier: re-executes the claimed segments, then its sample; rejects naming the first forged one. */
async function honest(mk: Market, v: Address, forged: ReadonlySet<number>): Promise<Finding> {
  const claims = [...(await mk.h.read<readonly bigint[]>('claimedSegments', [mk.sessionId]))].map(Number).sort((a, b) => a - b)
  const sample = await sampleOf(mk, v)
  const hit = [...claims, ...sample].find((x) => forged.has(x))
  return hit === undefined ? { accept: true, samples: mk.floor } : { accept: false, segment: hit, samples: mk.floor }
}

async function honestPanel(mk: Market, forged: ReadonlySet<number>) {
  const s = await session(mk.h, mk.sessionId)
  const plays = new Map<Address, Finding>()
  for (const v of s.verifiers) plays.set(v, await honest(mk, v, forged))
  return vote(mk, (v) => plays.get(v)!)
}

t.test('sampler: the contract recomputes the node\'s sample (sampleOf = sampleOrder) and floor (sampleFloor = requiredSamples at the default policy)', async (t) => {
  const mk = await market(3)
  const { h, sessionId } = mk
  const s = await session(h, sessionId)
  for (const v of s.verifiers) {
    const seed = await h.read<Hex>('verifierSeed', [sessionId, v])
    for (const n of [0, 1, mk.floor, M]) {
      const onChain = (await h.read<readonly bigint[]>('sampleOf', [sessionId, 0, v, n])).map(Number)
      t.same(onChain, sampleOrder(seed, mk.commitment as never, M, n), `verifier ${v.slice(-4)}, ${n} samples`)
    }
    // Nested: a larger sample contains every smaller one, so declaring more only exposes more.
    const small = sampleSegments(seed, mk.commitment as never, M, 5)
    t.ok(small.every((x) => sampleSegments(seed, mk.commitment as never, M, 12).includes(x)), 'samples are nested')
  }
  for (let m = 1; m <= 300; m++) {
    const want = requiredSamples(m, DEFAULT_SAMPLING_POLICY)
    const got = Number(await h.read<bigint>('sampleFloor', [BigInt(m)]))
    if (got !== want) t.fail(`sampleFloor(${m}) = ${got}, requiredSamples = ${want}`)
  }
  t.equal(Number(await h.read<bigint>('sampleFloor', [20n])), 9, 'Iris: the 95 %/25 % floor is 9 of 20')
  t.equal(mk.floor, 18, 'Iris with 3 verifiers: the per-session bound asks 18 of 20 of each')
  // Uniform: over many seeds every segment is sampled about s/m of the time.
  const counts = new Array<number>(M).fill(0)
  const N = 4000
  for (let i = 0; i < N; i++) for (const x of sampleSegments(`seed-${i}`, mk.commitment as never, M, 9)) counts[x]!++
  for (const c of counts) t.ok(Math.abs(c / N - 9 / 20) < 0.04, `each segment sampled ≈ 45 % (${((c / N) * 100).toFixed(1)} %)`)
})

t.test('a forger of 1 of 20 segments, one honest finder and two accepters (a colluder, a lazy one): rejected by the panel on the named segment, forger slashed, finder paid', async (t) => {
  const mk = await market(3)
  const { h, sessionId } = mk
  const s0 = await session(h, sessionId)
  t.equal(s0.verifiers.length, 3)
  // The forger forged one segment; the scenario is the one where the first verifier's sample hit it.
  const [finder, colluder, lazy] = s0.verifiers as [Address, Address, Address]
  const forgedAt = (await sampleOf(mk, finder))[0]!
  const forged = new Set([forgedAt])
  const before = { worker: await bondOf(h, WORKER), finder: await h.balance(finder), finderBond: await bondOf(h, finder) }
  // The colluder knows which segment is forged and declares its floor sample (its best hope of an
  // excuse); the lazy one votes accept without re-executing — it must declare a sample to accept at
  // all (a plain revealVote cannot accept), so it declares samplesDue (the harness's verdictHash).
  const colluderHit = (await sampleOf(mk, colluder)).includes(forgedAt)
  const lazyHit = (await sampleOf(mk, lazy)).includes(forgedAt)
  const r0 = await vote(mk, (v) => (v === finder ? { accept: false, segment: forgedAt, samples: mk.floor } : v === colluder ? { accept: true, samples: mk.floor } : { accept: true }))
  t.ok(r0.events.some((e) => e.eventName === 'VerificationRestarted'), 'two accepts do not outvote one named reject: round 1')
  await h.mine()
  const s1 = await session(h, sessionId)
  t.equal(s1.round, 1)
  t.equal(s1.verifiers.length, 7, 'a fresh panel of 2k + 1')
  t.same((await h.read<readonly bigint[]>('claimedSegments', [sessionId])).map(Number), [forgedAt], 'the panel is told the claimed segment')
  const panelPlays = new Map<Address, Finding>()
  for (const v of s1.verifiers) panelPlays.set(v, await honest(mk, v, forged))
  t.ok([...panelPlays.values()].every((f) => !f.accept && f.segment === forgedAt), 'every honest panel member finds the claimed segment forged (certainty, not sampling luck)')
  const fin = await vote(mk, (v) => panelPlays.get(v)!)
  const sFinal = await session(h, sessionId)
  t.equal(sFinal.status, S.Rejected, 'rejected')
  t.equal((await h.read<{ status: number }>('getReceipt', [sessionId])).status, S.Rejected, 'a rejected receipt: no weight')
  t.equal(before.worker - (await bondOf(h, WORKER)), BOND / 2n, 'the forger loses half its bond')
  t.equal(await bondOf(h, finder), before.finderBond, 'the finder keeps its bond')
  // Half the forger's 1-coin cut is shared by the 8 who voted the outcome (the finder and the panel).
  t.equal((await h.balance(finder)) - before.finder, BOND / 2n / 2n / 8n, 'the finder is paid its share of the cut')
  const judged = (v: Address) => fin.events.find((e) => e.eventName === 'VerifierJudged' && e.args.verifier === v)!.args
  // Before AcceptNeedsSample a plain accept declared nothing and paid the minority penalty (the price, 0.2) either way.
  if (lazyHit) t.equal(BOND - (await bondOf(h, lazy)), BOND / 2n, 'the lazy accepter\'s declared sample held the forged segment: slashBps of its bond')
  else t.equal(await bondOf(h, lazy), BOND, 'the lazy accepter\'s declared sample missed the forged segment: excused')
  t.equal(judged(lazy).faulted, lazyHit, 'cut exactly when its declared sample held the proven segment')
  if (colluderHit) t.equal(BOND - (await bondOf(h, colluder)), BOND / 2n, 'the colluder re-"executed" the forged segment and accepted: slashBps of its bond')
  else t.equal(await bondOf(h, colluder), BOND, 'the colluder\'s sample missed the forged segment: excused (the price of sampling, see WorkMarket.md)')
  await h.checkBooks()
  t.equal(await h.totalCoins(), h.minted, 'coins conserved')
})

t.test('a griefer, the only verifier of an honest session, names a correct segment: the panel re-executes it and accepts; the worker is paid, the griefer loses slashBps of its bond', async (t) => {
  const mk = await market(1)
  const { h, sessionId } = mk
  const [griefer] = (await session(h, sessionId)).verifiers as [Address]
  const before = { worker: await h.balance(WORKER), workerBond: await bondOf(h, WORKER) }
  const r0 = await vote(mk, () => ({ accept: false, segment: 7, samples: mk.floor }))
  t.ok(r0.events.some((e) => e.eventName === 'VerificationRestarted'), 'a lone reject does not decide: round 1')
  t.equal(await bondOf(h, WORKER), before.workerBond, 'nobody is cut on one verifier\'s word')
  await h.mine()
  const s1 = await session(h, sessionId)
  t.equal(s1.verifiers.length, 3)
  t.same((await h.read<readonly bigint[]>('claimedSegments', [sessionId])).map(Number), [7])
  await honestPanel(mk, new Set())
  t.equal((await session(h, sessionId)).status, S.Accepted, 'accepted')
  t.equal((await h.read<{ status: number }>('getReceipt', [sessionId])).status, S.Accepted, 'an accepted receipt')
  t.equal((await h.balance(WORKER)) - before.worker, (PRICE * 85n) / 100n, 'the worker is paid 85 % of the price')
  t.equal(await bondOf(h, WORKER), before.workerBond, 'and keeps its bond')
  t.equal(BOND - (await bondOf(h, griefer)), BOND / 2n, 'the griefer loses slashBps of its bond (5 × the price here)')
  await h.checkBooks()
  t.equal(await h.totalCoins(), h.minted)

  // The same griefer without naming a segment (a plain reject) still cannot decide alone; it pays the minority penalty.
  const mk2 = await market(1)
  const [g2] = (await session(mk2.h, mk2.sessionId)).verifiers as [Address]
  await vote(mk2, () => ({ accept: false }))
  await mk2.h.mine()
  await honestPanel(mk2, new Set())
  t.equal((await session(mk2.h, mk2.sessionId)).status, S.Accepted, 'an unnamed lone reject: accepted by the panel')
  t.equal(BOND - (await bondOf(mk2.h, g2)), PRICE, 'the unnamed reject pays the minority penalty')
})

t.test('an honest verifier whose sample missed the proven segment is excused; the lazy one whose sample held it loses slashBps of its bond', async (t) => {
  const mk = await market(3)
  const { h, sessionId } = mk
  const vs = (await session(h, sessionId)).verifiers as Address[]
  const samples = new Map<Address, number[]>()
  for (const v of vs) samples.set(v, await sampleOf(mk, v))
  // Roles: a finder and a lazy one whose samples hold the forged segment, an honest one whose sample does not.
  let roles: { finder: Address; lazy: Address; missed: Address; x: number } | undefined
  for (const finder of vs)
    for (const lazy of vs)
      for (const missed of vs) {
        if (roles || new Set([finder, lazy, missed]).size < 3) continue
        const x = samples.get(finder)!.find((i) => samples.get(lazy)!.includes(i) && !samples.get(missed)!.includes(i))
        if (x !== undefined) roles = { finder, lazy, missed, x }
      }
  if (!roles) throw new Error('no segment sampled by two verifiers and missed by the third in this draw')
  const { finder, lazy, missed, x } = roles
  const forged = new Set([x])
  t.notOk(samples.get(missed)!.includes(x), `the honest verifier re-executed ${mk.floor} correct segments: it accepts`)
  await vote(mk, (v) => (v === finder ? { accept: false, segment: x, samples: mk.floor } : { accept: true, samples: mk.floor }))
  await h.mine()
  const fin = await honestPanel(mk, forged)
  t.equal((await session(h, sessionId)).status, S.Rejected)
  t.equal(await bondOf(h, missed), BOND, 'the honest miss keeps its bond')
  t.ok(fin.events.some((e) => e.eventName === 'VerifierExcused' && e.args.verifier === missed && Number(e.args.proven) === x), 'VerifierExcused names the proven segment')
  t.equal(BOND - (await bondOf(h, lazy)), BOND / 2n, 'the lazy verifier, whose declared sample held the forged segment, loses slashBps of its bond')
  // Declaring a sample below the floor excuses nothing.
  const mk2 = await market(3)
  const vs2 = (await session(mk2.h, mk2.sessionId)).verifiers as Address[]
  const s2 = new Map<Address, number[]>()
  for (const v of vs2) s2.set(v, await sampleOf(mk2, v))
  const [f2, small] = vs2 as [Address, Address, Address]
  const smallSeed = await mk2.h.read<Hex>('verifierSeed', [mk2.sessionId, small])
  const y = s2.get(f2)!.find((i) => !sampleSegments(smallSeed, mk2.commitment as never, M, 1).includes(i))!
  await vote(mk2, (v) => (v === f2 ? { accept: false, segment: y, samples: mk2.floor } : v === small ? { accept: true, samples: 1 } : honestSync(s2.get(v)!, new Set([y]), mk2.floor)))
  await mk2.h.mine()
  await honestPanel(mk2, new Set([y]))
  t.equal(BOND - (await bondOf(mk2.h, small)), PRICE, 'a 1-segment declared sample is below the floor: not excused (the minority penalty)')
  await h.checkBooks()
  await mk2.h.checkBooks()
})

function honestSync(sample: readonly number[], forged: ReadonlySet<number>, floor: number): Finding {
  const hit = sample.find((x) => forged.has(x))
  return hit === undefined ? { accept: true, samples: floor } : { accept: false, segment: hit, samples: floor }
}

t.test('what the rule costs on chain: finalize with 2,640 segments, 44-segment samples (the 10⁻⁶ plan at k = 3), an excused and a lazy accepter', async (t) => {
  const mk = await market(3, 12, undefined, 2640)
  t.equal(mk.floor, 44, 'samplesDue(2640, 3) = 44')
  const { h, sessionId } = mk
  const vs = (await session(h, sessionId)).verifiers as Address[]
  const samples = new Map<Address, number[]>()
  for (const v of vs) samples.set(v, await sampleOf(mk, v))
  const [finder, a, b] = vs as [Address, Address, Address]
  const x = samples.get(finder)!.find((i) => !samples.get(a)!.includes(i))!
  const forged = new Set([x])
  await vote(mk, (v) => (v === finder ? { accept: false, segment: x, samples: 44 } : { accept: true, samples: 44 }))
  await h.mine()
  const s1 = await session(h, sessionId)
  for (const v of s1.verifiers) {
    const f = await honest(mk, v, forged)
    const hash = await h.read<Hex>('findingHash', [sessionId, 1, v, f.accept, f.segment ?? NO_SEGMENT, f.samples, salt(v, 1)])
    await h.must(v, 'commitVote', [sessionId, hash])
  }
  for (const v of s1.verifiers) {
    const f = await honest(mk, v, forged)
    await h.must(v, 'revealFinding', [sessionId, f.accept, f.segment ?? NO_SEGMENT, f.samples, salt(v, 1)])
  }
  const data = encodeFunctionData({ abi: h.abi, functionName: 'finalize', args: [sessionId] } as never)
  const fin = await h.txTo(addr(99), MARKET, data)
  t.ok(fin.ok, 'finalized')
  t.equal((await session(h, sessionId)).status, S.Rejected)
  t.equal(await bondOf(h, a), BOND, 'the accepter whose 44 segments missed it is excused')
  t.equal(BOND - (await bondOf(h, b)), samples.get(b)!.includes(x) ? BOND / 2n : 0n, 'the other is cut iff its sample held it')
  t.ok(fin.gasUsed < 5_000_000n, `finalize used ${fin.gasUsed} gas (the node's market transactions carry 5 M)`)
  t.comment(`finalize with 2,640 segments, 44-segment samples, 10 verifiers judged: ${fin.gasUsed} gas`)
})

t.test('property: a session is accepted only if no honest round-0 verifier\'s sample hit a forged segment; honest verifiers never lose bond', async (t) => {
  const runs = Number(process.env.POVCHAIN_FRAUD_RUNS ?? 6)
  const seed = Number(process.env.POVCHAIN_FRAUD_SEED ?? 12)
  let accepted = 0
  let rejected = 0
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.integer({ min: 0, max: M - 1 }), { minLength: 0, maxLength: 4 }),
      fc.array(fc.constantFrom('honest', 'lazy', 'lazy-declared'), { minLength: 3, maxLength: 3 }),
      fc.integer({ min: 0, max: 2 ** 31 }),
      async (forgedList, roleList, draw) => {
        const forged = new Set(forgedList)
        const mk = await market(3, 12, toHex(draw))
        const { h, sessionId } = mk
        const vs = (await session(h, sessionId)).verifiers as Address[]
        const role = new Map(vs.map((v, i) => [v, roleList[i]!]))
        const plays = new Map<Address, Finding>()
        let hit = false
        for (const v of vs) {
          if (role.get(v) === 'honest') {
            const f = await honest(mk, v, forged)
            if (!f.accept) hit = true
            plays.set(v, f)
          } else plays.set(v, role.get(v) === 'lazy' ? { accept: true } : { accept: true, samples: mk.floor })
        }
        const bonds = new Map<Address, bigint>()
        for (const v of vs) bonds.set(v, await bondOf(h, v))
        await vote(mk, (v) => plays.get(v)!)
        let s = await session(h, sessionId)
        if (s.status === S.Committed) {
          await h.mine()
          await honestPanel(mk, forged)
          s = await session(h, sessionId)
        }
        if (s.status === S.Accepted) accepted++
        else rejected++
        if ((s.status === S.Accepted) !== !hit) throw new Error(`forged ${[...forged]} roles ${roleList}: status ${s.status}, an honest sample hit: ${hit}`)
        if (forged.size === 0 && s.status !== S.Accepted) throw new Error('an honest session was rejected')
        for (const v of vs) {
          if (role.get(v) === 'honest' && (await bondOf(h, v)) < bonds.get(v)!) throw new Error(`honest verifier ${v} lost bond`)
        }
        await h.checkBooks()
        if ((await h.totalCoins()) !== h.minted) throw new Error('coins not conserved')
      },
    ),
    { numRuns: runs, seed },
  )
  t.ok(accepted + rejected === runs, `${runs} runs: ${accepted} accepted (no honest sample hit), ${rejected} rejected`)
})

t.test('a colluding pair (a forger of 2 of 20 and its round-0 verifier): panel members name every forged segment they found, so the colluder whose sample held the unclaimed one is not excused (with one named segment it was)', async (t) => {
  // Round 0 of 2 verifiers (19 of 20 each): the honest finder's sample leaves out y, the colluder's leaves out x;
  // the forger forged exactly {x, y}, so the finder names x and the colluder's sample holds only y — its best chance of an excuse.
  let played = 0
  for (let d = 0; d < 8 && played < 1; d++) {
    const outcomes: { excused: boolean; cut: bigint; namedY: number; panel: number }[] = []
    for (const all of [false, true]) {
      const mk = await market(2, 12, toHex(`pair-${d}`))
      const { h, sessionId } = mk
      const [a, b] = (await session(h, sessionId)).verifiers as [Address, Address]
      const left = async (v: Address) => {
        const sample = sampleSegments(await h.read<Hex>('verifierSeed', [sessionId, v]), mk.commitment as never, M, mk.floor)
        return [...Array(M).keys()].find((i) => !sample.includes(i))!
      }
      const [finder, colluder] = [a, b]
      const y = await left(finder)
      const x = await left(colluder)
      if (x === y) break
      const forged = new Set([x, y])
      await vote(mk, (v) => (v === finder ? { accept: false, segment: x, samples: mk.floor } : { accept: true, samples: mk.floor }))
      await h.mine()
      const s1 = await session(h, sessionId)
      const due = Number(await h.read<bigint>('sessionSamplesDue', [sessionId]))
      // Honest panel members: the claimed segment, then their own sample; every forged one found (or only the first, the old rule).
      const found = new Map<Address, number[]>()
      for (const v of s1.verifiers) {
        const own = sampleSegments(await h.read<Hex>('verifierSeed', [sessionId, v]), mk.commitment as never, M, due)
        found.set(v, [...new Set([x, ...own])].filter((i) => forged.has(i)).sort((p, q) => p - q))
      }
      for (const v of s1.verifiers) {
        const segs = all ? found.get(v)! : [Math.min(...found.get(v)!)]
        await h.must(v, 'commitVote', [sessionId, await h.read<Hex>('findingsHash', [sessionId, 1, v, false, segs, due, salt(v, 1)])])
      }
      for (const v of s1.verifiers) {
        const segs = all ? found.get(v)! : [Math.min(...found.get(v)!)]
        await h.must(v, 'revealFindings', [sessionId, false, segs, due, salt(v, 1)])
        t.same((await h.read<readonly bigint[]>('namedSegments', [sessionId, 1, v])).map(Number), segs, 'namedSegments reads back what was revealed')
      }
      const fin = await h.must(addr(99), 'finalize', [sessionId])
      t.equal((await session(h, sessionId)).status, S.Rejected, 'rejected')
      const namedY = [...found.values()].filter((f) => f.includes(y)).length
      outcomes.push({ excused: fin.events.some((e) => e.eventName === 'VerifierExcused' && e.args.verifier === colluder), cut: BOND - (await bondOf(h, colluder)), namedY, panel: s1.verifiers.length })
      await h.checkBooks()
      t.equal(await h.totalCoins(), h.minted, 'coins conserved')
    }
    if (outcomes.length < 2) continue
    played++
    const [one, every] = outcomes as [(typeof outcomes)[0], (typeof outcomes)[0]]
    t.ok(one.excused && one.cut === 0n, 'one named segment per panel member (the old rule): the colluder is excused')
    t.ok(every.namedY > 0, `${every.namedY} of ${every.panel} panel members' samples held the unclaimed forged segment`)
    t.notOk(every.excused, 'every forged segment named: the colluder is not excused')
    t.equal(every.cut, every.namedY * 2 > every.panel ? BOND / 2n : PRICE, every.namedY * 2 > every.panel ? 'a strict majority named it: proven, the colluder loses slashBps of its bond' : 'named by a minority: the minority penalty')
  }
  t.equal(played, 1, 'a draw where the two round-0 samples leave out different segments was played')
})

t.test('revealFindings refuses an unsorted list, a repeated or missing segment, more than MAX_NAMED, and segments on an accept', async (t) => {
  const mk = await market(1)
  const { h, sessionId } = mk
  const [v] = (await session(h, sessionId)).verifiers as [Address]
  for (const [accept, segs] of [[false, [5, 3]], [false, [3, 3]], [false, [M]], [true, [2]], [false, [...Array(33).keys()].map((i) => i % M)]] as [boolean, number[]][]) {
    const mk2 = await market(1)
    const [w] = (await session(mk2.h, mk2.sessionId)).verifiers as [Address]
    await mk2.h.must(w, 'commitVote', [mk2.sessionId, await mk2.h.read<Hex>('findingsHash', [mk2.sessionId, 0, w, accept, segs, 19, salt(w, 0)])])
    t.equal((await mk2.h.tx(w, 'revealFindings', [mk2.sessionId, accept, segs, 19, salt(w, 0)])).error, 'BadFinding', `${accept ? 'accept' : 'reject'} naming [${segs.slice(0, 4)}${segs.length > 4 ? '…' : ''}]`)
  }
  await h.must(v, 'commitVote', [sessionId, await h.read<Hex>('findingsHash', [sessionId, 0, v, false, [2, 7, 11], 19, salt(v, 0)])])
  await h.must(v, 'revealFindings', [sessionId, false, [2, 7, 11], 19, salt(v, 0)])
  t.same((await h.read<readonly bigint[]>('claimedSegments', [sessionId])).map(Number), [2], 'the claim the panel re-executes first is the lowest named')
})
