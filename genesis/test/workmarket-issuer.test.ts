/**
 * The control issuer is neither labelled nor trusted (issue 12, findings 2 and 3), played
 * against the real WorkMarket in the in-process EVM:
 *
 * - A verifier that reads every public signal — JobPosted, getJob, getSession, every event
 *   naming the job or its session, the client's history, and every transaction the issuer sent —
 *   sees the same for a control task and a client's job until the votes are committed.
 * - An issuer that opens a false trap on an honest session (to slash the verifiers who accepted)
 *   or seals a wrong control answer (to slash an honest worker), even helped by its own verifier
 *   identity, is refuted by a fresh panel: its bond pays, nobody else loses.
 * - A lazy verifier that always accepts still loses on a real trap: its accept sends the trap to
 *   a panel, which confirms it.
 *
 * Before this change every one of these failed: control tasks came from `postControlTask`
 * (issuer-sent, `Job.control` and `JobPosted.control` true from the start, only while no client
 * job waited), and an opened answer or trap decided by itself.
 */
import t from 'tap'
import { encodeFunctionData, keccak256, toHex, type Address, type Hex } from 'viem'
import { addr, bondIssuer, ETHER, fakeCommitment, ISSUER, MARKET, MarketHarness, nextJobId, type TxOutcome, S } from './workmarketHarness.js'

const ev = MarketHarness.event
const PRICE = ETHER
const WORKLOAD = keccak256(toHex('mlp-train@1'))


interface SessionView {
  jobId: Hex
  worker: Address
  status: number
  round: number
  trap: boolean
  verifiers: readonly Address[]
  previous: readonly Address[]
  votesBy: bigint
  revealBy: bigint
}
const session = (h: MarketHarness, id: Hex) => h.read<SessionView>('getSession', [id])
const bondOf = async (h: MarketHarness, a: Address) => (await h.read<{ bond: bigint }>('getWorker', [a])).bond
const worth = async (h: MarketHarness, a: Address) => (await h.balance(a)) + (await bondOf(h, a))

async function register(h: MarketHarness, a: Address) {
  await h.give(a, 10n * ETHER)
  await h.must(a, 'register', [100n, 1, ''], 2n * ETHER)
}

const salt = (v: Address, round: number) => keccak256(toHex(`salt-${v}-${round}`))
async function commitVotes(h: MarketHarness, sessionId: Hex, verdict: (v: Address) => boolean) {
  const s = await session(h, sessionId)
  for (const v of s.verifiers) await h.must(v, 'commitVote', [sessionId, await h.verdictHash(sessionId, s.round, v, verdict(v), salt(v, s.round))])
}
async function revealAndFinalize(h: MarketHarness, sessionId: Hex, verdict: (v: Address) => boolean): Promise<TxOutcome> {
  const s = await session(h, sessionId)
  for (const v of s.verifiers) await h.mustRevealVerdict(v, sessionId, verdict(v), salt(v, s.round))
  h.advance(5n) // OPEN_GRACE
  return h.must(addr(99), 'finalize', [sessionId])
}
async function decide(h: MarketHarness, sessionId: Hex, verdict: (v: Address) => boolean) {
  await commitVotes(h, sessionId, verdict)
  return revealAndFinalize(h, sessionId, verdict)
}
function assigned(r: TxOutcome, jobId: Hex) {
  const a = r.events.find((e) => e.eventName === 'JobAssigned' && e.args.jobId === jobId)?.args
  return a ? { sessionId: a.sessionId as Hex, worker: a.worker as Address } : undefined
}

t.test('a verifier that reads every public signal cannot tell a control task from a client job before the votes', async (t) => {
  const h = await MarketHarness.deploy({ fund: 50n * ETHER })
  for (let i = 1; i <= 6; i++) await register(h, addr(i))
  // Two ordinary clients and two of the issuer's client identities, all funded from outside the market.
  const clients = [addr(200), addr(201)]
  const controls = [addr(300), addr(301)]
  for (const c of [...clients, ...controls]) await h.give(c, 20n * ETHER)
  // Everything the issuer sends, as sent (calldata) and as logged.
  const issuerTxs: string[] = []
  const asIssuer = async (fn: string, args: readonly unknown[] = [], value = 0n) => {
    const r = await h.must(ISSUER, fn, args, value)
    issuerTxs.push(encodeFunctionData({ abi: h.abi, functionName: fn, args } as never).toLowerCase() + JSON.stringify(r.events, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)).toLowerCase())
    return r
  }
  await h.give(ISSUER, await h.read<bigint>('issuerMinBond'))
  await asIssuer('bondIssuer', [], await h.read<bigint>('issuerMinBond'))

  // The issuer seals the answers of the jobs its identities will post, with dummies in the batch.
  const specs = [0, 1, 2, 3].map((i) => keccak256(toHex(`iris-variant-${i}`)))
  const plan = [
    { from: clients[0]!, spec: specs[0]!, control: false },
    { from: controls[0]!, spec: specs[1]!, control: true },
    { from: clients[1]!, spec: specs[2]!, control: false },
    { from: controls[1]!, spec: specs[3]!, control: true },
  ]
  const answers = new Map<Hex, { answer: Hex; salt: Hex }>()
  const seals: Hex[] = []
  for (const p of plan.filter((x) => x.control)) {
    const jobId = await nextJobId(h, p.from, p.spec)
    const a = { answer: keccak256(toHex(`answer-${p.spec}`)), salt: keccak256(toHex(`salt-${p.spec}`)) }
    answers.set(jobId, a)
    seals.push(await h.read<Hex>('controlSeal', [jobId, a.answer, a.salt]))
  }
  for (let i = 0; i < 6; i++) seals.push(keccak256(toHex(`dummy-${i}`)))
  seals.sort()
  await asIssuer('registerSeals', [seals])
  const gas: Record<string, bigint> = {}

  const seen = new Map<Hex, { control: boolean; signals: string }>()
  for (const p of plan) {
    const priorJobs = (await h.read<Hex[]>('jobsOf', [p.from])).length
    const posted = await h.must(p.from, 'postJob', [p.spec, WORKLOAD, h.timestamp + 3600n, 600n, 6n, 1], PRICE)
    const jobId = ev(posted, 'JobPosted').jobId as Hex
    const drawn = await h.mine()
    const a = assigned(drawn, jobId)!
    // The worker runs it honestly (the control task's answer is what the spec gives).
    const resultHash = answers.get(jobId)?.answer ?? keccak256(toHex(`answer-${p.spec}`))
    const c = await h.must(a.worker, 'commitResult', [a.sessionId, fakeCommitment(p.spec, 1, { resultHash, seal: keccak256(toHex(`random-${a.sessionId}`)) })])
    const vdraw = await h.mine()
    const j = await h.read<Record<string, unknown>>('getJob', [jobId])
    const s = await session(h, a.sessionId)
    const logged = [...posted.events, ...drawn.events, ...c.events, ...vdraw.events].filter((e) => [e.args.jobId, e.args.sessionId, e.args.id].some((x) => x === jobId || x === a.sessionId))
    const postedArgs = ev(posted, 'JobPosted')
    const signals = JSON.stringify(
      {
        jobPosted: { fields: Object.keys(postedArgs).sort(), price: postedArgs.price, ttl: (postedArgs.deadline as bigint) - h.timestamp, maxDuration: postedArgs.maxDuration, units: postedArgs.units, verifiers: postedArgs.verifiers },
        job: { control: j.control, sealedAnswer: j.sealedAnswer, controlSalt: j.controlSalt, needs: j.needs, mode: j.mode, attempts: j.attempts, status: j.status, rated: j.rated, image: j.image },
        session: { trap: s.trap, status: s.status, round: s.round, verifiers: s.verifiers.length },
        events: logged.map((e) => e.eventName),
        client: {
          priorJobs,
          isWorker: (await h.read<{ registered: boolean }>('getWorker', [p.from])).registered,
          inIssuerTxs: issuerTxs.some((x) => x.includes(p.from.slice(2).toLowerCase())),
        },
        jobInIssuerTxs: issuerTxs.some((x) => x.includes(jobId.slice(2).toLowerCase()) || x.includes(a.sessionId.slice(2).toLowerCase())),
      },
      (_k, v) => (typeof v === 'bigint' ? v.toString() : v),
    )
    seen.set(jobId, { control: p.control, signals })
    // The votes are committed; only now does the control task's client open it.
    await commitVotes(h, a.sessionId, () => true)
    const open = answers.get(jobId)
    if (open) {
      const r = await h.txTo(p.from, MARKET, encodeFunctionData({ abi: h.abi, functionName: 'openControl', args: [jobId, open.answer, open.salt] } as never))
      t.ok(r.ok && r.events.some((e) => e.eventName === 'ControlOpened'), 'opened after the votes')
      gas.openControl = r.gasUsed
    }
    const fin = await revealAndFinalize(h, a.sessionId, () => true)
    t.equal(ev(fin, 'SessionFinalized').status, S.Accepted)
  }
  const byKind = (control: boolean) => [...seen.values()].filter((x) => x.control === control).map((x) => x.signals)
  const distinct = new Set([...seen.values()].map((x) => x.signals))
  t.equal(distinct.size, 1, 'all four jobs, two of them control tasks, showed exactly the same signals before the votes')
  t.same(byKind(true), byKind(false))
  t.comment(`signals: ${[...distinct][0]}`)
  gas.registerSeals8 = (await h.txTo(ISSUER, MARKET, encodeFunctionData({ abi: h.abi, functionName: 'registerSeals', args: [Array.from({ length: 8 }, (_, i) => keccak256(toHex(`more-${i}`)))] } as never))).gasUsed
  t.comment(`gas (execution): openControl ${gas.openControl}, registerSeals of 8 new seals ${gas.registerSeals8}`)
  for (const [jobId, x] of seen) t.equal((await h.read<{ control: boolean }>('getJob', [jobId])).control, x.control, 'known as control only once opened')
  await h.checkBooks()
})

t.test('a false trap on an honest session costs the issuer slashBps of its bond; the verifiers who accepted lose nothing and share half of it', async (t) => {
  const h = await MarketHarness.deploy({ fund: 10n * ETHER })
  const CLIENT = addr(100)
  await h.give(CLIENT, 10n * ETHER)
  const issuerBond = await bondIssuer(h)
  const I = addr(1) // one of the issuer's worker identities: the only worker when the job is drawn
  await register(h, I)
  const spec = keccak256(toHex('honest-spec'))
  const p = await h.must(CLIENT, 'postJob', [spec, WORKLOAD, h.timestamp + 3600n, 600n, 10n, 2], PRICE)
  const jobId = ev(p, 'JobPosted').jobId as Hex
  const a = assigned(await h.mine(), jobId)!
  t.equal(a.worker, I)
  for (let i = 2; i <= 6; i++) await register(h, addr(i))
  // I does the work honestly and seals it as a trap: the issuer can open it and claim "wrong".
  const tSalt = keccak256(toHex('false-trap'))
  await h.must(I, 'commitResult', [a.sessionId, fakeCommitment(spec, 1, { seal: await h.read<Hex>('trapSeal', [a.sessionId, tSalt]) })])
  await h.mine()
  const round0 = [...(await session(h, a.sessionId)).verifiers]
  t.equal(round0.length, 2)
  const start = new Map<Address, bigint>()
  for (let i = 2; i <= 6; i++) start.set(addr(i), await worth(h, addr(i)))
  await commitVotes(h, a.sessionId, () => true) // the verifiers re-executed: it is right
  await h.must(ISSUER, 'openTrap', [a.sessionId, tSalt])
  const f0 = await revealAndFinalize(h, a.sessionId, () => true)
  t.ok(f0.events.some((e) => e.eventName === 'VerificationRestarted'), 'the accepts dispute the trap: a fresh panel re-executes')
  await h.mine()
  const panel = (await session(h, a.sessionId)).verifiers
  t.equal(panel.length, 3)
  t.notOk(panel.some((v) => round0.includes(v) || v === I), 'drawn without the worker and round 0')
  const fin = await decide(h, a.sessionId, () => true)
  const refuted = ev(fin, 'IssuerRefuted')
  t.equal(refuted.cut, (issuerBond * BigInt(h.config.slashBps)) / 10_000n, 'the issuer loses slashBps of its bond')
  t.equal(await h.read('issuerBond'), issuerBond - (refuted.cut as bigint))
  t.equal(ev(fin, 'SessionFinalized').status, S.Accepted, 'the honest work is accepted and paid')
  for (const v of [...round0, ...panel]) {
    t.equal(await bondOf(h, v), 2n * ETHER, `${v} keeps its bond`)
    t.ok((await worth(h, v)) > start.get(v)!, `${v} gains (fee share + its share of the cut)`)
  }
  const gains = await Promise.all(round0.map(async (v) => (await worth(h, v)) - start.get(v)!))
  t.comment(`issuer cut ${Number(refuted.cut) / 1e18} coins; each round-0 verifier gains ${Number(gains[0]) / 1e18} (before this change: −1 coin each, slashBps of its bond)`)
  t.equal(await h.read('issuerClaims'), 0)
  t.match(await h.read('getReceipt', [a.sessionId]), { status: S.Accepted, worker: I })
  await h.checkBooks()
})

t.test('a wrong control answer, backed by the issuer\'s own verifier, costs the issuer; the honest worker is paid and not slashed', async (t) => {
  const h = await MarketHarness.deploy({ fund: 10n * ETHER })
  const CTL = addr(300) // the issuer's client identity
  await h.give(CTL, 10n * ETHER)
  const issuerBond = await bondIssuer(h)
  const W = addr(1) // an honest worker, alone when the job is drawn
  await register(h, W)
  const spec = keccak256(toHex('control-spec'))
  const jobId = await nextJobId(h, CTL, spec)
  const right = keccak256(toHex('the-right-result'))
  const wrong = keccak256(toHex('a-wrong-answer'))
  const cSalt = keccak256(toHex('c-salt'))
  await h.must(ISSUER, 'registerSeals', [[await h.read<Hex>('controlSeal', [jobId, wrong, cSalt]), keccak256(toHex('dummy'))]])
  await h.must(CTL, 'postJob', [spec, WORKLOAD, h.timestamp + 3600n, 600n, 10n, 1], PRICE)
  const a = assigned(await h.mine(), jobId)!
  t.equal(a.worker, W)
  const C = addr(2) // the issuer's verifier identity: the only one when the verifiers are drawn
  await register(h, C)
  await h.must(W, 'commitResult', [a.sessionId, fakeCommitment(spec, 1, { resultHash: right })])
  await h.mine()
  t.same((await session(h, a.sessionId)).verifiers, [C])
  for (let i = 3; i <= 5; i++) await register(h, addr(i))
  const w0 = await worth(h, W)
  await commitVotes(h, a.sessionId, () => false) // the colluder backs the wrong answer
  await h.must(CTL, 'openControl', [jobId, wrong, cSalt])
  const f0 = await revealAndFinalize(h, a.sessionId, () => false)
  t.ok(f0.events.some((e) => e.eventName === 'VerificationRestarted'), 'the worker\'s result disputes the answer even with every vote behind it: a panel decides')
  await h.mine()
  const panel = (await session(h, a.sessionId)).verifiers
  t.equal(panel.length, 3)
  const fin = await decide(h, a.sessionId, () => true)
  t.equal(ev(fin, 'SessionFinalized').status, S.Accepted, 'the panel re-executed: the worker was right')
  t.equal(ev(fin, 'IssuerRefuted').cut, (issuerBond * BigInt(h.config.slashBps)) / 10_000n)
  const w = await h.read<{ bond: bigint; controlsFailed: number; controlsPassed: number }>('getWorker', [W])
  t.match(w, { bond: 2n * ETHER, controlsFailed: 0, controlsPassed: 1 }, 'the worker keeps its bond and passes')
  t.ok((await worth(h, W)) - w0 > (PRICE * 85n) / 100n, 'paid its 85 % and a share of the issuer\'s cut')
  t.equal(await bondOf(h, C), 2n * ETHER - (await h.read<bigint>('wrongVotePenalty', [PRICE])), 'the issuer\'s colluding verifier loses wrongVotePenalty')
  t.equal(await h.read('issuerClaims'), 0)
  await h.checkBooks()
})

t.test('a lazy verifier that always accepts loses on a real trap: its accept sends the trap to a panel that confirms it', async (t) => {
  const h = await MarketHarness.deploy({ fund: 10n * ETHER })
  const CLIENT = addr(100)
  await h.give(CLIENT, 10n * ETHER)
  const issuerBond = await bondIssuer(h)
  const price = h.config.minJobPrice // the Iris price
  const I = addr(1)
  await register(h, I)
  const spec = keccak256(toHex('trap-spec'))
  const p = await h.must(CLIENT, 'postJob', [spec, WORKLOAD, h.timestamp + 3600n, 600n, 6n, 1], price)
  const jobId = ev(p, 'JobPosted').jobId as Hex
  const a = assigned(await h.mine(), jobId)!
  const L = addr(2)
  await register(h, L)
  const tSalt = keccak256(toHex('real-trap'))
  await h.must(I, 'commitResult', [a.sessionId, fakeCommitment(spec, 666, { seal: await h.read<Hex>('trapSeal', [a.sessionId, tSalt]) })])
  await h.mine()
  t.same((await session(h, a.sessionId)).verifiers, [L])
  for (let i = 3; i <= 5; i++) await register(h, addr(i))
  const l0 = await worth(h, L)
  await commitVotes(h, a.sessionId, () => true)
  await h.must(ISSUER, 'openTrap', [a.sessionId, tSalt])
  // Revealing the accept disputes the trap; hiding it counts as wrong. It reveals: its best chance.
  await revealAndFinalize(h, a.sessionId, () => true)
  await h.mine()
  const fin = await decide(h, a.sessionId, () => false)
  t.equal(ev(fin, 'SessionFinalized').status, S.Rejected)
  t.notOk(fin.events.some((e) => e.eventName === 'IssuerRefuted'))
  const lost = l0 - (await worth(h, L))
  t.equal(lost, ETHER, 'slashBps of its 2-coin bond: the answer was confirmed')
  t.equal(await h.read('issuerBond'), issuerBond, 'the issuer, right, keeps its bond')
  t.equal(await bondOf(h, I), 2n * ETHER, 'the trap\'s worker is not slashed')
  const fee = (price * BigInt(h.config.verifierFeeBps)) / 10_000n
  t.comment(`the lazy verifier lost ${Number(lost) / 1e18} coins on one trap: the verifier fee of ${Number(lost / fee)} Iris sessions`)
  await h.checkBooks()
})
