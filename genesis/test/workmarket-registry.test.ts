/**
 * Who the work market draws (issue 12, findings 4 and 5): the registry's entry rule, stake-
 * weighted draws, capacity measured from delivered work, and verifier bonds that grow with the
 * price verified — each played by the attacker's best strategy against the real contract (the
 * genesis harness: an in-process EVM, consensus's per-block system call making the draws):
 *
 * - a squatter that filled all MAX_WORKERS places with minimum bonds is displaced by an honest
 *   worker bonding more; a worker with pending work is never displaced; the displaced one gets
 *   its whole bond back; coming back costs it more than it had;
 * - a sybil that splits its bond over ten identities is drawn (as worker and as verifier) no
 *   more than one honest identity holding the same bond;
 * - a worker that declares 1,000 × the capacity and 16 slots and delivers nothing gets no more
 *   draws than its bond and holds one session at a time; slots grow only with timely accepted work;
 * - a verifier is drawn only while its free bond covers verifierBondRatio × the job's price,
 *   and every vote holds what it can cost until it is judged.
 *
 * Each fails on the contract before these rules (weight = rating × (100 + declared capacity),
 * RegistryFull for everyone once 256 registered, verifiers weighed by rating alone).
 * The rules and their numbers: genesis/contracts/WorkMarket.md, "Who is drawn".
 */
import t from 'tap'
import { encodeFunctionData, keccak256, toHex, type Address, type Hex } from 'viem'
import { addr, ETHER, fakeCommitment, MARKET, MarketHarness, type TxOutcome } from './workmarketHarness.js'

const CLIENT = addr(100)
const SPEC = keccak256(toHex('registry-spec'))
const WORKLOAD = keccak256(toHex('mlp-train@1'))
const ev = MarketHarness.event
/** The dev genesis' ratio (devWorkMarketConfig): the harness default lowers it for 1-coin test jobs. */
const DEV_RATIO = 16
const DOCKER = 1
const NEVER = 10n ** 30n // a unit price no job pays: the worker only verifies

interface WorkerView {
  registered: boolean
  bond: bigint
  pending: number
  running: number
  rating: number
  locked: bigint
  timely: number
  measuredCapacity: bigint
}
const worker = (h: MarketHarness, a: Address) => h.read<WorkerView>('getWorker', [a])
const weight = async (h: MarketHarness, a: Address) => (await h.read<readonly [bigint, bigint]>('drawWeight', [a]))[0]

async function register(h: MarketHarness, a: Address, bond: bigint, opts: { capacity?: bigint; slots?: number; onlyVerifies?: boolean } = {}) {
  await h.give(a, bond + 5n * ETHER)
  await h.must(a, 'register', [opts.capacity ?? 100n, opts.slots ?? 1, ''], bond)
  if (opts.onlyVerifies) await h.must(a, 'setUnitPrice', [NEVER])
}

function assignments(o: TxOutcome): { jobId: Hex; sessionId: Hex; worker: Address }[] {
  return o.events.filter((e) => e.eventName === 'JobAssigned').map((e) => ({ jobId: e.args.jobId as Hex, sessionId: e.args.sessionId as Hex, worker: e.args.worker as Address }))
}

const salt = (v: Address) => keccak256(toHex(`salt-${v}`))
/** Every verifier of the session votes accept (commit, reveal), then finalize (after OPEN_GRACE). */
async function acceptAll(h: MarketHarness, sessionId: Hex) {
  const s = await h.read<{ verifiers: readonly Address[] }>('getSession', [sessionId])
  for (const v of s.verifiers) await h.must(v, 'commitVote', [sessionId, await h.verdictHash(sessionId, 0, v, true, salt(v))])
  for (const v of s.verifiers) await h.mustRevealVerdict(v, sessionId, true, salt(v))
  h.advance(4n)
  return h.must(addr(99), 'finalize', [sessionId])
}

/** Runs `trial` on a copy of the state and throws the copy away (every trial at a later block: fresh randomness). */
async function trialOn<T>(h: MarketHarness, trial: () => Promise<T>): Promise<T> {
  await h.vm.stateManager.checkpoint()
  try {
    return await trial()
  } finally {
    await h.vm.stateManager.revert()
  }
}

t.test('a squatter that filled the registry is displaced by an honest bonder; busy workers stay; the displaced one keeps its bond', async (t) => {
  const h = await MarketHarness.deploy({ fund: 10n * ETHER })
  const max = Number(await h.read<bigint>('MAX_WORKERS'))
  const squatter = (i: number) => addr(2000 + i)
  // The squatter fills every place at (about) the minimum bond; its first identity bonds least.
  for (let i = 0; i < max; i++) await register(h, squatter(i), i === 0 ? ETHER : (ETHER * 101n) / 100n)
  // That identity has a session (it alone offers Docker): pending work, its bond still answers for it.
  await h.must(squatter(0), 'setOffers', [DOCKER])
  await h.give(CLIENT, 10n * ETHER)
  await h.must(CLIENT, 'postJobWith', [SPEC, WORKLOAD, h.timestamp + 3600n, 600n, 10n, 1, DOCKER], ETHER / 100n)
  const busy = assignments(await h.mine())[0]!
  t.equal(busy.worker, squatter(0))

  const honest = addr(9000)
  await h.give(honest, 10n * ETHER)
  const need = await h.read<bigint>('bondToEnter', [honest])
  t.ok(need > (ETHER * 101n * 11n) / 1000n, `entry needs more than 1.01 × 1.1 coins: ${need}`)
  const short = await h.tx(honest, 'register', [100n, 1, ''], need - 1n)
  t.equal(short.error, 'RegistryFull', 'a newcomer within the 10 % margin of the weakest idle worker stays out')
  t.equal(short.errorArgs?.[0], need, 'and the revert says what bond would do')

  const entered = await h.txTo(honest, MARKET, encodeFunctionData({ abi: h.abi, functionName: 'register', args: [100n, 1, ''] } as never), 2n * ETHER)
  t.ok(entered.ok, 'a newcomer bonding 2 coins enters the full registry')
  t.comment(`register over a full registry of ${max} (scan for the weakest idle worker, eviction): ${entered.gasUsed} gas`)
  const evicted = ev(entered, 'WorkerEvicted')
  const victim = evicted.worker as Address
  t.not(victim, squatter(0), 'the least-bonded identity has pending work: it is not displaced')
  t.match(evicted, { by: honest, bond: (ETHER * 101n) / 100n, standing: ((ETHER * 101n) / 100n) * 500n, newcomerStanding: 2n * ETHER * 500n })
  const list = await h.read<readonly Address[]>('workers')
  t.equal(list.length, max)
  t.ok(list.includes(honest) && list.includes(squatter(0)) && !list.includes(victim))
  t.equal((await worker(h, victim)).registered, false)
  t.match(await h.read('evictionOf', [victim]), { by: honest, bond: (ETHER * 101n) / 100n }, 'the displaced worker can read why')

  // No bond is lost by eviction: the whole of it is credited and withdrawn at once.
  t.equal(await h.read<bigint>('credits', [victim]), (ETHER * 101n) / 100n)
  const before = await h.balance(victim)
  await h.must(victim, 'withdraw')
  t.equal(await h.balance(victim), before + (ETHER * 101n) / 100n, 'the displaced worker has its 1.01 coins back')

  // An eviction war costs: coming back with the bond it had is not enough.
  t.equal((await h.tx(victim, 'register', [100n, 1, ''], (ETHER * 101n) / 100n)).error, 'RegistryFull')
  const back = await h.read<bigint>('bondToEnter', [victim])
  t.ok(back > (ETHER * 111n) / 100n, 'to displace the next squatter identity it must bond 10 % more than that one')
  const again = await h.must(victim, 'register', [100n, 1, ''], back)
  t.not(ev(again, 'WorkerEvicted').worker, honest, 'and it displaces the weakest, never the better-bonded newcomer')
  await h.checkBooks()
  t.equal(await h.totalCoins(), h.minted, 'coins are conserved to the wei')
})

t.test('a sybil that splits its bond over ten identities is drawn no more than one identity with the same bond', async (t) => {
  const h = await MarketHarness.deploy({ config: { verifierBondRatio: DEV_RATIO } })
  const honest = addr(1)
  const sybils = Array.from({ length: 10 }, (_, i) => addr(10 + i))
  // Same declared capacity everywhere: before this change, weight = rating × (100 + capacity) per identity.
  await register(h, honest, 10n * ETHER)
  for (const s of sybils) await register(h, s, ETHER)
  const [honestWeight, total] = await h.read<readonly [bigint, bigint]>('drawWeight', [honest])
  let sybilWeight = 0n
  for (const s of sybils) sybilWeight += await weight(h, s)
  t.equal(honestWeight, 10n * ETHER * 100n, 'weight = bond (wei) × rating (a fresh identity\'s: RATING_ENTRY = 100)')
  t.equal(sybilWeight, honestWeight, 'ten identities of 1 coin weigh exactly one of 10 coins')
  t.equal(total, 2n * honestWeight)

  // No rounding to gain: an uneven split (10 coins over three identities) sums to the whole, to the wei.
  const h2 = await MarketHarness.deploy()
  const parts = [10n * ETHER / 3n, 10n * ETHER / 3n, 10n * ETHER - 2n * (10n * ETHER / 3n)]
  for (const [i, b] of parts.entries()) await register(h2, addr(30 + i), b)
  await register(h2, addr(40), 10n * ETHER)
  let parted = 0n
  for (let i = 0; i < 3; i++) parted += await weight(h2, addr(30 + i))
  t.equal(parted, await weight(h2, addr(40)), 'a split at any wei weighs the whole bond')
  await h2.give(addr(41), 2n * ETHER)
  t.equal((await h2.tx(addr(41), 'register', [100n, 1, ''], ETHER - 1n)).error, 'BondTooSmall', 'and no identity below the minimum bond')

  // Played: 60 jobs, each drawn in its own block from the same registry (each on a throw-away copy of the state).
  await h.give(CLIENT, 10n * ETHER)
  let sybilJobs = 0
  for (let i = 0; i < 60; i++) {
    const w = await trialOn(h, async () => {
      await h.must(CLIENT, 'postJob', [SPEC, WORKLOAD, h.timestamp + 3600n, 600n, 10n, 1], ETHER / 100n)
      return assignments(await h.mine())[0]!.worker
    })
    if (sybils.includes(w)) sybilJobs++
  }
  t.comment(`sybil identities got ${sybilJobs} of 60 jobs (expected 30; 54.5 when every identity weighed the same)`)
  t.ok(sybilJobs >= 18 && sybilJobs <= 42, 'the sybil gets about half: what its bond buys, not its number of identities')

  // As verifiers the split loses: a 0.1-coin job needs 1.6 coins of free bond (16 × the price).
  t.equal(await h.read<bigint>('verifierStake', [ETHER / 10n]), (16n * ETHER) / 10n)
  for (let i = 0; i < 8; i++) {
    const drawn = await trialOn(h, async () => {
      await h.must(CLIENT, 'postJob', [SPEC, WORKLOAD, h.timestamp + 3600n, 600n, 10n, 1], ETHER / 10n)
      const a = assignments(await h.mine())[0]!
      await h.must(a.worker, 'commitResult', [a.sessionId, fakeCommitment(SPEC, i)])
      const o = await h.mine()
      return { worker: a.worker, verifiers: o.events.find((e) => e.eventName === 'VerifiersSelected')?.args.verifiers as Address[] | undefined }
    })
    if (drawn.worker === honest) t.equal(drawn.verifiers, undefined, 'the honest identity works: no sybil identity may verify a 0.1-coin job')
    else t.same(drawn.verifiers, [honest], 'only the identity whose free bond covers 16 × the price verifies')
  }
  await h.checkBooks()
})

t.test('capacity is measured: a worker declaring 1,000 × the capacity and 16 slots that delivers nothing gains nothing', async (t) => {
  const h = await MarketHarness.deploy({ config: { verifierBondRatio: DEV_RATIO } })
  const liar = addr(1)
  const honest = addr(2)
  await register(h, liar, 2n * ETHER, { capacity: 100_000n, slots: 16 })
  await register(h, honest, 2n * ETHER, { capacity: 100n, slots: 4 })
  for (const v of [addr(3), addr(4)]) await register(h, v, 2n * ETHER, { onlyVerifies: true })
  t.equal(await weight(h, liar), await weight(h, honest), 'declared capacity weighs nothing')
  t.equal(await h.read<bigint>('slotsOf', [liar]), 1n, 'a new worker runs one session at a time, whatever it declared')

  await h.give(CLIENT, 20n * ETHER)
  // Six jobs, one a block: each is drawn DRAW_DELAY blocks after its post (in the blocks of the later posts).
  const outcomes: TxOutcome[] = []
  for (let i = 0; i < 6; i++) outcomes.push(await h.must(CLIENT, 'postJob', [SPEC, WORKLOAD, h.timestamp + 7200n, 600n, 60n, 1], ETHER / 100n))
  outcomes.push(await h.mine())
  const first = outcomes.flatMap(assignments)
  const liarSessions = first.filter((a) => a.worker === liar)
  t.equal(liarSessions.length, 1, 'the liar holds one session, not 16 of the 6 jobs')
  t.equal(first.filter((a) => a.worker === honest).length, 1, 'and the honest worker the other; the rest wait for a free slot')
  t.equal((await h.read<readonly Hex[]>('openJobs')).length, 4)

  // The honest worker commits each session a few seconds after its assignment: 4 timely accepted
  // sessions earn a second slot. The liar, busy with its one session, is drawn for none of them.
  let mine = first.find((a) => a.worker === honest)!
  for (let n = 1; n <= 4; n++) {
    h.advance(8n)
    await h.must(honest, 'commitResult', [mine.sessionId, fakeCommitment(SPEC, n)])
    await h.mine()
    const fin = await acceptAll(h, mine.sessionId)
    t.equal(ev(fin, 'SessionFinalized').status, 3, `session ${n} accepted`)
    if (n === 4) break
    const open = await h.read<readonly Hex[]>('openJobs')
    let next: ReturnType<typeof assignments>[number] | undefined
    for (const j of open) {
      const r = await h.tx(addr(99), 'assign', [j])
      if (!r.ok) continue
      next = assignments(await h.mine()).find((a) => a.worker === honest)
      if (next) break
    }
    mine = next!
    t.ok(mine, 'the next open job is drawn for the honest worker')
  }
  // Meanwhile the liar sat on its one session and delivers nothing: it pays the missed commit, earns no slot.
  h.advance(601n)
  await h.must(addr(99), 'expire', [liarSessions[0]!.sessionId])
  t.match(await worker(h, liar), { bond: 2n * ETHER - ETHER / 10n, timely: 0 })
  t.equal(await h.read<bigint>('slotsOf', [liar]), 1n)
  await h.must(liar, 'requestExit')

  const w = await worker(h, honest)
  t.equal(w.timely, 4)
  t.equal(await h.read<bigint>('slotsOf', [honest]), 2n, 'four timely accepted sessions: two slots (of the four declared)')
  t.ok(w.measuredCapacity > 0n, `measured capacity ${Number(w.measuredCapacity) / 1000} units/s (declared 100)`)
  t.ok(w.measuredCapacity < 100n * 1000n, 'measured from assignment to commitment, not taken from the declaration')

  // A session it does not deliver halves what it earned.
  const open = await h.read<readonly Hex[]>('openJobs')
  await h.must(addr(99), 'assign', [open[0]!])
  const missed = assignments(await h.mine()).find((a) => a.worker === honest)!
  h.advance(601n)
  await h.must(addr(99), 'expire', [missed.sessionId])
  t.equal((await worker(h, honest)).timely, 2)
  t.equal(await h.read<bigint>('slotsOf', [honest]), 1n, 'back to one slot')
  await h.checkBooks()
})

t.test('verifier bonds grow with the price verified: free bond ≥ 16 × the price, each vote holds what it can cost', async (t) => {
  const h = await MarketHarness.deploy({ config: { verifierBondRatio: DEV_RATIO } })
  const [w1, w2, small, big] = [addr(1), addr(2), addr(3), addr(4)]
  await register(h, w1, 2n * ETHER)
  await register(h, w2, 2n * ETHER)
  await register(h, small, 2n * ETHER, { onlyVerifies: true })
  await register(h, big, 17n * ETHER, { onlyVerifies: true })
  t.equal(await h.read<bigint>('verifierStake', [ETHER]), 16n * ETHER, '1-coin job: 16 coins free')
  t.equal(await h.read<bigint>('verifierStake', [ETHER / 1000n]), ETHER / 10n, 'an Iris-priced job: the faultPenalty floor of a wrong vote')

  await h.give(CLIENT, 20n * ETHER)
  const post = async (price: bigint) => {
    await h.must(CLIENT, 'postJob', [SPEC, WORKLOAD, h.timestamp + 3600n, 600n, 10n, 1], price)
    return assignments(await h.mine())[0]!
  }
  const a = await post(ETHER)
  const b = await post(ETHER)
  t.same(new Set([a.worker, b.worker]), new Set([w1, w2]))
  await h.must(a.worker, 'commitResult', [a.sessionId, fakeCommitment(SPEC, 1)])
  t.same(ev(await h.mine(), 'VerifiersSelected').verifiers, [big], 'only the verifier with 16 coins free is drawn for a 1-coin job')
  t.equal((await worker(h, big)).locked, ETHER, 'its vote holds wrongVotePenalty(1 coin) = 1 coin')
  t.equal(await h.read<bigint>('freeBondOf', [big]), 16n * ETHER)
  await h.must(b.worker, 'commitResult', [b.sessionId, fakeCommitment(SPEC, 2)])
  t.same(ev(await h.mine(), 'VerifiersSelected').verifiers, [big], 'with 16 free it still covers a second one')

  // A third 1-coin session finds nobody: 15 coins free are not 16 — not the 2-coin verifiers either.
  const c = await post(ETHER)
  await h.must(c.worker, 'commitResult', [c.sessionId, fakeCommitment(SPEC, 3)])
  t.ok((await h.mine()).events.some((e) => e.eventName === 'NoVerifierDrawn'), 'no verifier drawn')
  t.equal((await h.tx(addr(99), 'openVerification', [c.sessionId])).error, 'NoVerifierAvailable')

  // Once a vote is judged its hold is released and the verifier covers the waiting session.
  await acceptAll(h, a.sessionId)
  t.equal((await worker(h, big)).locked, ETHER)
  await h.must(addr(99), 'openVerification', [c.sessionId])
  t.same(ev(await h.mine(), 'VerifiersSelected').verifiers, [big])

  // A cheap job is open to the small bonds: 0.05 coin needs 0.8 free (big leaves, so one of them must be drawn).
  await h.must(big, 'requestExit')
  const d = await post(ETHER / 20n)
  await h.must(d.worker, 'commitResult', [d.sessionId, fakeCommitment(SPEC, 4)])
  const v = ev(await h.mine(), 'VerifiersSelected').verifiers as Address[]
  t.equal(v.length, 1)
  t.equal((await worker(h, v[0]!)).bond, 2n * ETHER, 'a 2-coin verifier is drawn for a 0.05-coin job')
  // What section 3 of WorkMarket.md relies on: a wrong vote on a known answer (slashBps of the bond)
  // costs whoever was drawn for a 1-coin job at least 0.5 × 16 = 8 coins, against 0.38 coins of re-execution.
  const slashBps = BigInt(await h.read<number>('slashBps'))
  t.ok(((await worker(h, big)).bond * slashBps) / 10_000n >= 8n * ETHER)
  await h.checkBooks()
})
