/**
 * Redundancy and tolerance modes of the work market (genesis/contracts/WorkMarket.md,
 * "Verification modes"), played against the real contract in the genesis harness: k workers
 * drawn by the protocol run the job, seal their results (commit–reveal) and the contract
 * compares them. The attackers:
 *  - a forger among k = 2: the disagreement draws k + 1 more replicas, the honest majority is
 *    paid, the forger loses slashBps of its bond and the client gets the honest result;
 *  - two colluding forgers (the same forged result): they lose to the honest majority of all
 *    replicas and are both slashed;
 *  - a copier: seals another replica's seal, or waits to see a revealed result — it cannot
 *    open the copied seal, cannot seal after the reveals open, and is slashed for hiding;
 *  - tolerance: a metric within epsilon of the median is accepted, one outside is refuted;
 *  - capability: a job that pins an image (or pays less than a worker's minimum price) is never
 *    given to a worker that did not announce the image (or asks more).
 * Every scenario checks that the market's books balance and that coins are conserved.
 */
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { keccak256, toHex, type Address, type Hex } from 'viem'
import { addr, ETHER, fakeCommitment, MarketHarness, S } from './workmarketHarness.js'
import { metricKey } from '../../market/client/JobVerification.js'
import { toleranceReveal } from '../../market/worker/ToleranceMetric.js'

const METRIC = 'testLoss'

const CLIENT = addr(100)
const SPEC = keccak256(toHex('replica-spec'))
const IMAGE = keccak256(toHex('image-digest'))
const PRICE = 2n * ETHER
const ev = MarketHarness.event

const REDUNDANT = 1
const TOLERANCE = 2

interface ReplicasView {
  round: number
  sessions: readonly Hex[]
  roundStart: number
  drawBlock: bigint
}
const replicas = async (h: MarketHarness, jobId: Hex): Promise<ReplicasView> => {
  const [round, roundStart, , , , drawBlock, sessions] = await h.read<readonly [number, number, bigint, bigint, bigint, bigint, readonly Hex[]]>('getReplicas', [jobId])
  return { round, roundStart, drawBlock, sessions }
}
const session = (h: MarketHarness, id: Hex) => h.read<{ worker: Address; status: number; result: { commitment: Hex; resultHash: Hex } }>('getSession', [id])
const job = (h: MarketHarness, id: Hex) => h.read<{ status: number; session: Hex; mode: number; replicas: number }>('getJob', [id])
const bondOf = async (h: MarketHarness, a: Address) => (await h.read<{ bond: bigint }>('getWorker', [a])).bond

async function register(h: MarketHarness, a: Address, opts: { images?: Hex[]; unitPrice?: bigint } = {}) {
  await h.give(a, 10n * ETHER)
  await h.must(a, 'register', [100n, 1, ''], 2n * ETHER)
  if (opts.images) await h.must(a, 'setImages', [opts.images])
  if (opts.unitPrice) await h.must(a, 'setUnitPrice', [opts.unitPrice])
}

async function post(h: MarketHarness, opts: { mode?: number; k?: number; epsilon?: bigint; image?: Hex; price?: bigint; needs?: number } = {}): Promise<Hex> {
  await h.give(CLIENT, 20n * ETHER)
  const k = opts.k ?? 2
  const r = await h.must(
    CLIENT,
    'postReplicatedJob',
    [SPEC, SPEC, h.timestamp + 100_000n, 600n, 10n, opts.needs ?? 0, opts.mode ?? REDUNDANT, k, opts.epsilon ?? 0n, opts.image ?? `0x${'00'.repeat(32)}`, opts.mode === TOLERANCE ? metricKey(METRIC) : `0x${'00'.repeat(32)}`],
    opts.price ?? PRICE,
  )
  return ev(r, 'JobPosted').jobId as Hex
}

/**
 * What each worker commits: honest workers the same result; a forger id its own forged one
 * (colluders share an id). `loss` (tolerance): the testLoss its metrics report — the metrics are
 * compute's canonical JSON, committed by their hash and revealed with the worker's own encoding
 * (market/worker/ToleranceMetric.ts).
 */
type Behaviour = { kind: 'honest'; loss?: number } | { kind: 'forge'; id: number; loss?: number } | { kind: 'silent' } | { kind: 'hide' } | { kind: 'released' }
const lossOf = (b: Behaviour) => ('loss' in b ? b.loss : undefined)
const revealOf = (b: Behaviour) => {
  const loss = lossOf(b)
  return loss === undefined ? undefined : toleranceReveal({ accuracy: 0.9, history: [{ testLoss: 7 }], testLoss: loss }, METRIC)
}
const commitmentOf = (b: Behaviour) => {
  const r = revealOf(b)
  return fakeCommitment(SPEC, b.kind === 'forge' ? 1000 + b.id : 1, r ? { metricsHash: keccak256(r.metrics) } : {})
}
const saltOf = (sid: Hex) => keccak256(toHex(`replica-salt-${sid}`))
const metricOf = (b: Behaviour) => revealOf(b)?.nano ?? 0n
const metricsOf = (b: Behaviour): Hex => {
  const r = revealOf(b)
  return r ? toHex(r.metrics) : '0x'
}

/** Plays the current round: every drawn replica seals, then reveals (per its behaviour); then settles. */
async function playRound(h: MarketHarness, jobId: Hex, behave: (w: Address) => Behaviour) {
  const r = await replicas(h, jobId)
  const current = r.sessions.slice(r.roundStart)
  let waits = false
  for (const sid of current) {
    const s = await session(h, sid)
    const b = behave(s.worker)
    if (b.kind === 'silent' || b.kind === 'hide') waits = true
    if (b.kind === 'silent' || b.kind === 'released') continue
    const c = commitmentOf(b)
    const seal = await h.read<Hex>('replicaSealHash', [sid, c.commitment, metricOf(b), saltOf(sid)])
    await h.must(s.worker, 'commitReplica', [sid, seal])
  }
  for (const sid of current) {
    const s = await session(h, sid)
    const b = behave(s.worker)
    if (b.kind === 'silent' || b.kind === 'hide' || b.kind === 'released') continue
    await h.must(s.worker, 'revealReplica', [sid, commitmentOf(b), metricOf(b), metricsOf(b), saltOf(sid)])
  }
  // A missing seal or reveal: the round ends when its time is up.
  if (waits) h.advance(1000)
  return h.tx(CLIENT, 'settleReplicas', [jobId])
}

async function drawnWorkers(h: MarketHarness, jobId: Hex): Promise<Address[]> {
  const r = await replicas(h, jobId)
  return Promise.all(r.sessions.map(async (sid) => (await session(h, sid)).worker))
}

async function conserved(t: Test, h: MarketHarness, minted: bigint) {
  await h.checkBooks()
  t.equal(await h.totalCoins(), minted, 'coins conserved')
}

t.test('redundant: k = 2 honest replicas agree bit for bit: accepted, both paid, receipts say redundant', async (t) => {
  const h = await MarketHarness.deploy()
  const ws = [addr(1), addr(2)]
  for (const w of ws) await register(h, w)
  const jobId = await post(h)
  t.equal((await h.tx(CLIENT, 'postReplicatedJob', [SPEC, SPEC, h.timestamp + 100_000n, 600n, 10n, 0, REDUNDANT, 2, 0n, `0x${'00'.repeat(32)}`, `0x${'00'.repeat(32)}`], ETHER / 100_000n)).error, 'PriceTooLow', 'k replicas cost at least k × minJobPrice')
  await h.mine()
  const r = await replicas(h, jobId)
  t.equal(r.sessions.length, 2, 'the protocol drew k = 2 workers')
  t.same((await drawnWorkers(h, jobId)).sort(), [...ws].sort())
  const before = await Promise.all(ws.map((w) => h.balance(w)))
  const settled = await playRound(h, jobId, () => ({ kind: 'honest' }))
  t.ok(settled.ok, 'settled')
  t.same(ev(settled, 'ReplicasSettled'), { jobId, accepted: true, agreeing: 2, revealed: 2 })
  t.equal((await job(h, jobId)).status, 3, 'job accepted')
  const fee = (PRICE * 500n) / 10_000n
  for (let i = 0; i < 2; i++) t.equal((await h.balance(ws[i]!)) - before[i]!, (PRICE - fee) / 2n, 'each replica paid (price − protocol fee) / k')
  for (const sid of r.sessions) {
    const rc = await h.read<{ status: number; mode: number; protocolFee: bigint }>('getReceipt', [sid])
    t.equal(rc.status, S.Accepted)
    t.equal(rc.mode, REDUNDANT, 'the receipt records the mode that verified it')
    t.equal(rc.protocolFee, fee / 2n, 'weight basis split between the replicas')
  }
  await conserved(t, h, h.minted)
})

t.test('redundant: a forger among k = 2 is refuted by the escalation, slashed, and the client gets the honest result', async (t) => {
  const h = await MarketHarness.deploy()
  const ws = [1, 2, 3, 4, 5].map(addr)
  for (const w of ws) await register(h, w)
  const jobId = await post(h)
  await h.mine()
  const [first, second] = await drawnWorkers(h, jobId)
  const forger = first!
  const behave = (w: Address): Behaviour => (w === forger ? { kind: 'forge', id: 1 } : { kind: 'honest' })
  const esc = await playRound(h, jobId, behave)
  t.ok(esc.ok, 'round 0 settles')
  t.equal(ev(esc, 'ReplicasEscalated').extra, 3, 'disagreement: k + 1 = 3 more replicas drawn')
  t.equal((await h.tx(CLIENT, 'settleReplicas', [jobId])).error, 'DrawPending', 'nothing to settle while the escalation waits for its draw')
  await h.mine()
  const all = await drawnWorkers(h, jobId)
  t.equal(all.length, 5, 'five replicas in all')
  t.notOk(all.slice(2).includes(forger) || all.slice(2).includes(second!), 'never a worker that already had the job')
  const bond = await bondOf(h, forger)
  const settled = await playRound(h, jobId, behave)
  t.same(ev(settled, 'ReplicasSettled'), { jobId, accepted: true, agreeing: 4, revealed: 5 })
  t.equal(await bondOf(h, forger), bond / 2n, 'the forger lost slashBps (50 %) of its bond')
  const j = await job(h, jobId)
  t.equal(j.status, 3, 'accepted')
  t.equal((await session(h, j.session)).result.commitment, commitmentOf({ kind: 'honest' }).commitment, "the job's result is the honest one")
  const forged = (await replicas(h, jobId)).sessions[0]!
  t.equal((await h.read<{ status: number }>('getReceipt', [forged])).status, S.Rejected, 'the forger has a rejected receipt')
  await conserved(t, h, h.minted)
})

t.test('redundant: no majority after the escalation → the client is refunded, nobody revealed is slashed', async (t) => {
  const h = await MarketHarness.deploy()
  const ws = [1, 2].map(addr)
  for (const w of ws) await register(h, w)
  const jobId = await post(h)
  await h.mine()
  const [a] = await drawnWorkers(h, jobId)
  const behave = (w: Address): Behaviour => (w === a ? { kind: 'forge', id: 1 } : { kind: 'honest' })
  t.ok((await playRound(h, jobId, behave)).ok)
  await h.mine() // the escalation finds nobody else: round 1 is empty and over at once
  const before = await h.balance(CLIENT)
  const settled = await h.tx(CLIENT, 'settleReplicas', [jobId])
  t.same(ev(settled, 'ReplicasSettled'), { jobId, accepted: false, agreeing: 1, revealed: 2 })
  t.equal((await h.balance(CLIENT)) - before, PRICE, 'refunded in full')
  for (const w of ws) t.equal(await bondOf(h, w), 2n * ETHER, '1 against 1: nobody is known wrong')
  await conserved(t, h, h.minted)
})

t.test('redundant: two colluding forgers (the same forged result) lose to the honest majority when more replicas are drawn', async (t) => {
  // Five workers, two of them colluding: k = 2 draws two, the escalation the other three. The
  // randomness of the first draw is chosen so that it mixes a forger and an honest worker (both
  // forgers drawn first agree and are accepted: the limit of redundancy, probability c^k).
  let h!: MarketHarness
  let jobId!: Hex
  const forgers = [addr(1), addr(2)]
  for (let seed = 0; ; seed++) {
    h = await MarketHarness.deploy()
    for (const w of [1, 2, 3, 4, 5].map(addr)) await register(h, w)
    jobId = await post(h)
    h.randaoAt.set(h.number + 3n, keccak256(toHex(`mix-${seed}`)))
    await h.mine()
    const drawn = await drawnWorkers(h, jobId)
    if (drawn.filter((w) => forgers.includes(w)).length === 1) break
    t.ok(seed < 20, 'a mixed first draw within 20 seeds')
  }
  const behave = (w: Address): Behaviour => (forgers.includes(w) ? { kind: 'forge', id: 7 } : { kind: 'honest' })
  t.ok(ev(await playRound(h, jobId, behave), 'ReplicasEscalated'))
  await h.mine()
  const settled = await playRound(h, jobId, behave)
  t.same(ev(settled, 'ReplicasSettled'), { jobId, accepted: true, agreeing: 3, revealed: 5 })
  for (const f of forgers) t.equal(await bondOf(h, f), ETHER, `colluder ${f} slashed`)
  const j = await job(h, jobId)
  t.equal((await session(h, j.session)).result.commitment, commitmentOf({ kind: 'honest' }).commitment, 'the honest result wins')
  await conserved(t, h, h.minted)
})

t.test('commit–reveal: a copier can neither open a copied seal nor seal after seeing a result', async (t) => {
  const h = await MarketHarness.deploy()
  const ws = [1, 2, 3, 4, 5].map(addr)
  for (const w of ws) await register(h, w)
  const jobId = await post(h)
  await h.mine()
  const [sa, sb] = (await replicas(h, jobId)).sessions
  const a = (await session(h, sa!)).worker
  const b = (await session(h, sb!)).worker
  const c = commitmentOf({ kind: 'honest' })
  const seal = await h.read<Hex>('replicaSealHash', [sa, c.commitment, 0n, saltOf(sa!)])
  await h.must(a, 'commitReplica', [sa, seal])
  t.equal((await h.tx(a, 'revealReplica', [sa, c, 0n, '0x', saltOf(sa!)])).error, 'RevealNotOpenYet', 'no result is shown while a replica has not sealed')
  // The copier seals A's seal as its own…
  await h.must(b, 'commitReplica', [sb, seal])
  await h.must(a, 'revealReplica', [sa, c, 0n, '0x', saltOf(sa!)])
  // …and, having seen A's result, salt and metric, still cannot open it: the seal binds A's session.
  t.equal((await h.tx(b, 'revealReplica', [sb, c, 0n, '0x', saltOf(sa!)])).error, 'SealMismatch', "a copied seal does not open with the copier's session")
  t.equal((await h.tx(b, 'commitReplica', [sb, seal])).error, 'WrongSessionStatus', 'nor can it seal again')
  h.advance(1000)
  const bond = await bondOf(h, b)
  t.ok(ev(await h.tx(CLIENT, 'settleReplicas', [jobId]), 'ReplicasEscalated'), 'a hidden result is no agreement')
  await h.mine()
  const behave = (w: Address): Behaviour => (w === b ? { kind: 'hide' } : { kind: 'honest' })
  const settled = await playRound(h, jobId, behave)
  t.same(ev(settled, 'ReplicasSettled'), { jobId, accepted: true, agreeing: 4, revealed: 4 })
  t.equal(await bondOf(h, b), bond / 2n, 'the copier, whose seal stayed closed, lost slashBps of its bond')
  await conserved(t, h, h.minted)
})

t.test('commit–reveal: a replica that waits past the commit time to copy a revealed result is too late', async (t) => {
  const h = await MarketHarness.deploy()
  for (const w of [1, 2].map(addr)) await register(h, w)
  const jobId = await post(h)
  await h.mine()
  const [sa, sb] = (await replicas(h, jobId)).sessions
  const a = (await session(h, sa!)).worker
  const b = (await session(h, sb!)).worker
  const c = commitmentOf({ kind: 'honest' })
  await h.must(a, 'commitReplica', [sa, await h.read<Hex>('replicaSealHash', [sa, c.commitment, 0n, saltOf(sa!)])])
  h.advance(601) // past commitBy: now reveals open without B
  await h.must(a, 'revealReplica', [sa, c, 0n, '0x', saltOf(sa!)])
  t.equal((await h.tx(b, 'commitReplica', [sb, await h.read<Hex>('replicaSealHash', [sb, c.commitment, 0n, saltOf(sb!)])])).error, 'CommitTooLate')
})

t.test('tolerance: metrics within epsilon of the median agree; one outside is refuted and slashed', async (t) => {
  const NANO = 1_000_000_000n
  const eps = NANO / 100n // 0.01
  {
    const h = await MarketHarness.deploy()
    for (const w of [1, 2].map(addr)) await register(h, w)
    const jobId = await post(h, { mode: TOLERANCE, epsilon: eps })
    await h.mine()
    const [a] = await drawnWorkers(h, jobId)
    // Different results (not bit-exact) whose testLoss differs by 0.005 < epsilon.
    const behave = (w: Address): Behaviour => (w === a ? { kind: 'forge', id: 3, loss: 1.005 } : { kind: 'honest', loss: 1 })
    const settled = await playRound(h, jobId, behave)
    t.same(ev(settled, 'ReplicasSettled'), { jobId, accepted: true, agreeing: 2, revealed: 2 }, 'inside the bound: accepted in round 0')
    const sid = (await replicas(h, jobId)).sessions[0]!
    t.equal((await h.read<{ mode: number }>('getReceipt', [sid])).mode, TOLERANCE, 'receipt records tolerance')
    await conserved(t, h, h.minted)
  }
  {
    const h = await MarketHarness.deploy()
    for (const w of [1, 2, 3, 4, 5].map(addr)) await register(h, w)
    const jobId = await post(h, { mode: TOLERANCE, epsilon: eps })
    await h.mine()
    const [a] = await drawnWorkers(h, jobId)
    const outlier = a!
    let i = 0
    // Honest replicas scatter by 0.002 (not bit-exact); the outlier claims 0.5 better.
    const metric = new Map<Address, number>()
    const behave = (w: Address): Behaviour => {
      if (!metric.has(w)) metric.set(w, 1 + i++ * 0.002)
      return w === outlier ? { kind: 'forge', id: 9, loss: 0.5 } : { kind: 'forge', id: 100 + Number(w.slice(-2)), loss: metric.get(w)! }
    }
    t.ok(ev(await playRound(h, jobId, behave), 'ReplicasEscalated'), 'outside the bound: escalation')
    await h.mine()
    const bond = await bondOf(h, outlier)
    const settled = await playRound(h, jobId, behave)
    t.same(ev(settled, 'ReplicasSettled'), { jobId, accepted: true, agreeing: 4, revealed: 5 })
    t.equal(await bondOf(h, outlier), bond / 2n, 'the outlier is refuted and slashed')
    await conserved(t, h, h.minted)
  }
})

t.test('capability and price: a job pinning an image goes only to workers that announced it and whose price it meets', async (t) => {
  const h = await MarketHarness.deploy()
  const [plain, imaged, dear, imaged2] = [1, 2, 3, 4].map(addr)
  await register(h, plain!)
  await register(h, imaged!, { images: [IMAGE] })
  await register(h, dear!, { images: [IMAGE], unitPrice: ETHER }) // 1 coin per unit: the job pays 0.1
  const jobId = await post(h, { image: IMAGE })
  await h.mine()
  t.equal((await replicas(h, jobId)).sessions.length, 0, 'one capable worker is too few for k = 2: nobody drawn')
  t.equal((await h.tx(CLIENT, 'assign', [jobId])).error, 'NoWorkerAvailable', 'assign says nobody can run it')
  await register(h, imaged2!, { images: [keccak256(toHex('other')), IMAGE] })
  t.same(await h.read<Hex[]>('imagesOf', [imaged2]), [keccak256(toHex('other')), IMAGE])
  await h.must(CLIENT, 'assign', [jobId])
  await h.mine()
  t.same((await drawnWorkers(h, jobId)).sort(), [imaged!, imaged2!].sort(), 'only the workers holding the image and asking no more than the job pays')
  await h.must(dear!, 'setUnitPrice', [0n])
  t.equal((await h.read<{ minUnitPrice: bigint }>('getWorker', [dear])).minUnitPrice, 0n, 'a worker may change its price')
})

t.test('modes are separate: replica sessions refuse the re-execution path and vice versa', async (t) => {
  const h = await MarketHarness.deploy()
  for (const w of [1, 2].map(addr)) await register(h, w)
  const jobId = await post(h)
  await h.mine()
  const [sa] = (await replicas(h, jobId)).sessions
  const a = (await session(h, sa!)).worker
  t.equal((await h.tx(a, 'commitResult', [sa, fakeCommitment(SPEC, 1)])).error, 'WrongMode', 'no re-execution commitment for a replica')
  t.equal((await h.tx(a, 'abandon', [sa])).error, 'WrongMode')
  t.equal((await h.tx(CLIENT, 'postReplicatedJob', [SPEC, SPEC, h.timestamp + 100_000n, 600n, 10n, 0, 0, 2, 0n, `0x${'00'.repeat(32)}`, `0x${'00'.repeat(32)}`], PRICE)).error, 'WrongMode')
  t.equal((await h.tx(CLIENT, 'postReplicatedJob', [SPEC, SPEC, h.timestamp + 100_000n, 600n, 10n, 0, REDUNDANT, 5, 0n, `0x${'00'.repeat(32)}`, `0x${'00'.repeat(32)}`], PRICE * 3n)).error, 'BadReplicaCount')
  t.equal((await job(h, jobId)).mode, REDUNDANT)
})

t.test('tolerance commit–reveal binds the metric to the committed metrics: a replica cannot reveal a metric its result does not hold', async (t) => {
  const eps = 10_000_000n // 0.01
  const h = await MarketHarness.deploy()
  for (const w of [1, 2, 3, 4, 5].map(addr)) await register(h, w)
  const jobId = await post(h, { mode: TOLERANCE, epsilon: eps })
  t.equal(await h.read<Hex>('replicaMetricKey', [jobId]), metricKey(METRIC), 'the job carries its metric name')
  await h.mine()
  const [sa, sb] = (await replicas(h, jobId)).sessions as Hex[]
  const a = (await session(h, sa!)).worker
  const liar = (await session(h, sb!)).worker
  const honest: Behaviour = { kind: 'honest', loss: 1 }
  // The attacker's best strategy: its run reached testLoss 1.3 (outside the bound); it commits
  // that result (the checkpoints and metrics it holds) but seals the metric it expects the others
  // to reveal, inside the bound, hoping to be paid for a result that does not reach it.
  const real: Behaviour = { kind: 'forge', id: 5, loss: 1.3 }
  const c = commitmentOf(real)
  const claimed = metricOf(honest)
  const salt = saltOf(sb!)
  await h.must(a, 'commitReplica', [sa, await h.read<Hex>('replicaSealHash', [sa, commitmentOf(honest).commitment, metricOf(honest), saltOf(sa!)])])
  await h.must(liar, 'commitReplica', [sb, await h.read<Hex>('replicaSealHash', [sb, c.commitment, claimed, salt])])
  await h.must(a, 'revealReplica', [sa, commitmentOf(honest), metricOf(honest), metricsOf(honest), saltOf(sa!)])
  const inMetrics = metricOf(real)
  t.same(await h.tx(liar, 'revealReplica', [sb, c, claimed, metricsOf(real), salt]).then((r) => [r.error, (r.errorArgs as unknown[] | undefined)?.[0]]), ['MetricMismatch', inMetrics], 'its committed metrics say 1.3: the claimed 1.0 is refused')
  t.equal((await h.tx(liar, 'revealReplica', [sb, c, claimed, metricsOf(honest), salt])).error, 'MetricsMismatch', 'metrics other than the committed ones are refused')
  t.equal((await h.tx(liar, 'revealReplica', [sb, c, claimed, '0x', salt])).error, 'MetricsMismatch', 'a tolerance reveal must show its metrics')
  t.equal((await h.tx(liar, 'revealReplica', [sb, c, inMetrics, metricsOf(real), salt])).error, 'SealMismatch', 'and the true metric does not open the seal it made')
  h.advance(1000)
  const bond = await bondOf(h, liar)
  t.ok(ev(await h.must(CLIENT, 'settleReplicas', [jobId]), 'ReplicasEscalated'), 'an unrevealed replica escalates round 0')
  await h.mine()
  const settled = await playRound(h, jobId, () => ({ kind: 'honest', loss: 1 }))
  t.same(ev(settled, 'ReplicasSettled'), { jobId, accepted: true, agreeing: 4, revealed: 4 }, 'the honest replicas are paid')
  t.equal(await bondOf(h, liar), bond / 2n, 'the liar is slashed as a replica that sealed and never revealed')
  t.equal((await session(h, sb!)).status, S.Rejected)
  await conserved(t, h, h.minted)
})

t.test('the worker reads the tolerance metric exactly as the contract does (fast-check, the node\'s encoding)', async (t) => {
  const h = await MarketHarness.deploy()
  const key = metricKey(METRIC)
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }), fc.integer({ min: -1e9, max: 1e9 }).map((x) => x / 1e6), fc.constantFrom(0, -0, 1e-7, 1e-10, 5e-324, 123456789.987654321, 1e20, -1e-9)),
      fc.dictionary(fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{0,8}$/), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.constant({ testLoss: 42 }))),
      async (loss, others) => {
        delete (others as Record<string, unknown>)[METRIC]
        const r = toleranceReveal({ ...others, nested: { testLoss: 99, s: '"testLoss":1,' }, testLoss: loss } as never, METRIC)
        const onChain = await h.read<bigint>('toleranceMetric', [toHex(r.metrics), key])
        if (onChain !== r.nano) throw new Error(`${loss}: contract ${onChain}, worker ${r.nano}`)
        // Within a nano-unit of the float product: truncation, not a different value.
        const approx = BigInt(Math.trunc(loss * 1e9))
        const d = onChain - approx
        if (Math.abs(loss) < 1e6 && (d > 1n || d < -1n)) throw new Error(`${loss}: ${onChain} is not value × 10⁹`)
      },
    ),
    { numRuns: 300 },
  )
  const missing = new TextEncoder().encode('{"nested":{"testLoss":1},"z":"\\"testLoss\\":2"}')
  t.equal((await h.tx(CLIENT, 'toleranceMetric', [toHex(missing), key])).error, 'MetricNotFound', 'a key only nested or inside a string is not the metric')
  t.equal((await h.tx(CLIENT, 'toleranceMetric', [toHex('{"testLoss":"1"}'), key])).error, 'MetricNotNumeric')
  t.equal((await h.tx(CLIENT, 'toleranceMetric', [toHex('{"testLoss":[1]}'), key])).error, 'MetricNotNumeric')
  t.equal(await h.read<bigint>('toleranceMetric', [toHex('{"testLoss":-1.5e-3}'), key]), -1_500_000n)
  t.throws(() => toleranceReveal({ testLoss: 'low' }, METRIC), { code: 'JOB_METRIC' }, 'the worker does not seal a metric it could not reveal')
})

t.test('release: a replica that cannot run the job gives it back before its commit time — at once it costs ~nothing, held to the commit time what missing it does; the round escalates without it', async (t) => {
  const h = await MarketHarness.deploy()
  for (const w of [1, 2, 3, 4, 5].map(addr)) await register(h, w)
  // Fresh identities start at the rating floor (RATING_ENTRY), where an abandon cannot lower
  // them: let them drift toward neutral first, so the release's rating cost shows.
  h.advance(2n * h.config.ratingHalfLife)
  const jobId = await post(h)
  await h.mine()
  const [sa, sb] = (await replicas(h, jobId)).sessions as Hex[]
  const a = (await session(h, sa!)).worker
  const b = (await session(h, sb!)).worker
  t.equal((await h.tx(b, 'releaseReplica', [sa])).error, 'NotSessionWorker')
  const bond = await bondOf(h, a)
  // ratingOf: the rating decayed to now (getWorker's is as of its last change).
  const before = Number(await h.read<bigint>('ratingOf', [a]))
  const r = await h.must(a, 'releaseReplica', [sa])
  const after = Number(await h.read<bigint>('ratingOf', [a]))
  t.same(ev(r, 'SessionExpired'), { sessionId: sa, jobId, worker: a, abandoned: true })
  t.equal((await session(h, sa!)).status, S.Expired, 'released')
  t.equal((await h.tx(a, 'releaseReplica', [sa])).error, 'WrongSessionStatus', 'once')
  const settled = await playRound(h, jobId, (w) => (w === a ? { kind: 'released' } : { kind: 'honest' }))
  t.ok(ev(settled, 'ReplicasEscalated'), 'one result of k = 2: the round escalates at once (nothing left to wait for)')
  await h.mine()
  t.notOk((await drawnWorkers(h, jobId)).slice(2).includes(a), 'the releaser is not drawn again for the job')
  const done = await playRound(h, jobId, () => ({ kind: 'honest' }))
  t.same(ev(done, 'ReplicasSettled'), { jobId, accepted: true, agreeing: 4, revealed: 4 })
  t.ok(bond - (await bondOf(h, a)) <= (await h.read<bigint>('faultPenalty')) / 20n, `a release at once costs ≤ 5 % of faultPenalty (${Number(bond - (await bondOf(h, a))) / 1e18} coin)`)
  t.ok(after < before, `it costs rating, as an abandon (${before} → ${after})`)
  t.equal((await h.read<{ status: number }>('getSession', [sa])).status, S.Expired, 'and is no loser at settlement')
  void b
  // Too late: after its commit time only silence's penalty remains.
  const j2 = await post(h)
  await h.mine()
  const [s2] = (await replicas(h, j2)).sessions as Hex[]
  // A replica slot held to the last second and then released (a hoarder's best) costs what
  // missing the commit does: holding it is not a free option.
  const holder = (await session(h, s2!)).worker
  const commitBy = (await h.read<{ commitBy: bigint }>('getSession', [s2])).commitBy
  h.advance(commitBy - h.timestamp - 1n)
  const owed = await h.read<bigint>('abandonPenalty', [s2])
  const fault = await h.read<bigint>('faultPenalty')
  t.ok(owed * 100n >= fault * 99n, 'released 1 s before the commit time it owes ~faultPenalty')
  const held = await bondOf(h, holder)
  await h.must(holder, 'releaseReplica', [s2])
  t.ok(held - (await bondOf(h, holder)) >= owed, `and pays it (${Number(held - (await bondOf(h, holder))) / 1e18} coin)`)
  // Too late: after its commit time only silence's penalty remains.
  const [, s3] = (await replicas(h, j2)).sessions as Hex[]
  h.advance(1000)
  t.equal((await h.tx((await session(h, s3!)).worker, 'releaseReplica', [s3])).error, 'CommitTooLate')
  await conserved(t, h, h.minted)
})
