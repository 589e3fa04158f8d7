/**
 * WorkMarket in an in-process EVM: the whole life of a job (post → worker drawn DRAW_DELAY
 * blocks later by the system call → commit → verifiers drawn DRAW_DELAY blocks later →
 * commit/reveal votes → finalise → receipt), rejection and reassignment, refunds, expiry,
 * control tasks, traps, ratings, and every revert path (the last test checks that each custom
 * error of the ABI was produced by some test). After every test the books balance and the coins
 * of all addresses add up to the wei. The attacks on the draws and the votes are in
 * workmarket-attacks.test.ts.
 */
import t, { type Test } from 'tap'
import { createAddressFromString } from '@ethereumjs/util'
import { keccak256, toFunctionSelector, toHex, type Address, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { addr, bondIssuer, DRAW_DELAY, ETHER, fakeCommitment, ISSUER, MARKET, MarketHarness, nextJobId, SEEN_ERRORS, SYSTEM, type TxOutcome, S } from './workmarketHarness.js'

const CLIENT = addr(100)
const SPEC = keccak256(toHex('spec-1'))
const WORKLOAD = keccak256(toHex('mlp-train@1'))
const PRICE = ETHER
const ev = MarketHarness.event

enum J {
  None,
  Open,
  Running,
  Accepted,
  Refunded,
}

interface SessionView {
  jobId: Hex
  worker: Address
  status: number
  round: number
  randomness: Hex
  verifiers: readonly Address[]
  votesBy: bigint
  revealBy: bigint
  commitBy: bigint
  drawBlock: bigint
  previous: readonly Address[]
}
interface JobView {
  client: Address
  status: number
  needs: number
  attempts: number
  session: Hex
  price: bigint
  drawBlock: bigint
}
interface WorkerView {
  registered: boolean
  bond: bigint
  pending: number
  running: number
  successes: number
  failures: number
  controlsPassed: number
  controlsFailed: number
  verifierFaults: number
  verifications: number
  clientRatings: number
}

async function market(workers: number, opts: Parameters<typeof MarketHarness.deploy>[0] = {}) {
  const h = await MarketHarness.deploy(opts)
  await h.give(CLIENT, 100n * ETHER)
  await h.give(ISSUER, 10n * ETHER)
  for (let i = 1; i <= workers; i++) {
    await h.give(addr(i), 10n * ETHER)
    await h.must(addr(i), 'register', [100n + BigInt(i), 1, `http://127.0.0.1:${8000 + i}`], 2n * ETHER)
  }
  const books = async (tt: Test) => {
    await h.checkBooks()
    tt.equal(await h.totalCoins(), h.minted, 'coins are conserved to the wei')
  }
  return { h, books }
}

const deadline = (h: MarketHarness, s = 3600n) => h.timestamp + s
const job = (h: MarketHarness, id: Hex) => h.read<JobView>('getJob', [id])
const session = (h: MarketHarness, id: Hex) => h.read<SessionView>('getSession', [id])
const worker = (h: MarketHarness, a: Address) => h.read<WorkerView>('getWorker', [a])
const rating = (h: MarketHarness, a: Address) => h.read<number>('ratingOf', [a])

/** The JobAssigned event of `jobId` among an outcome's events (a draw made by the system call). */
function assignedIn(r: TxOutcome, jobId?: Hex) {
  const a = r.events.find((e) => e.eventName === 'JobAssigned' && (!jobId || e.args.jobId === jobId))?.args
  return { sessionId: a?.sessionId as Hex | undefined, worker: a?.worker as Address | undefined }
}

/** Posts a job and seals the DRAW_DELAY blocks until its worker draw. */
async function post(h: MarketHarness, opts: { verifiers?: number; price?: bigint; maxDuration?: bigint; dl?: bigint; from?: Address } = {}) {
  const r = await h.must(opts.from ?? CLIENT, 'postJob', [SPEC, WORKLOAD, opts.dl ?? deadline(h), opts.maxDuration ?? 600n, 10n, opts.verifiers ?? 1], opts.price ?? PRICE)
  const jobId = ev(r, 'JobPosted').jobId as Hex
  const drawn = await h.mine()
  return { jobId, ...assignedIn(drawn, jobId), r, drawn }
}

async function commit(h: MarketHarness, sessionId: Hex, w: Address, seed = 1, fields: Parameters<typeof fakeCommitment>[2] = {}) {
  return h.must(w, 'commitResult', [sessionId, fakeCommitment(SPEC, seed, fields)])
}

/** Seals the blocks until a scheduled verifier draw; the VerifiersSelected event. */
async function drawVerifiers(h: MarketHarness) {
  return ev(await h.mine(), 'VerifiersSelected')
}

const salt = (v: Address) => keccak256(toHex(`salt-${v}`))
async function vote(h: MarketHarness, sessionId: Hex, v: Address, accept: boolean, round = 0) {
  return h.tx(v, 'commitVote', [sessionId, await h.verdictHash(sessionId, round, v, accept, salt(v))])
}
async function reveal(h: MarketHarness, sessionId: Hex, v: Address, accept: boolean) {
  return h.revealVerdict(v, sessionId, accept, salt(v))
}
/** Every verifier votes `verdicts(v)`; all commit, then all reveal; then finalize. */
async function decide(h: MarketHarness, sessionId: Hex, verdicts: (v: Address) => boolean | undefined): Promise<TxOutcome> {
  const s = await session(h, sessionId)
  for (const v of s.verifiers) if (verdicts(v) !== undefined) (await vote(h, sessionId, v, verdicts(v)!, s.round)).ok || t.fail('commitVote')
  if (s.verifiers.some((v) => verdicts(v) === undefined)) h.advance(s.votesBy - h.timestamp + 1n)
  for (const v of s.verifiers) if (verdicts(v) !== undefined) (await reveal(h, sessionId, v, verdicts(v)!)).ok || t.fail('revealVote')
  if (s.verifiers.some((v) => verdicts(v) === undefined)) h.advance(s.revealBy - h.timestamp + 1n)
  return h.must(addr(99), 'finalize', [sessionId])
}

t.test('happy path: post, assign by the contract, commit, verifiers from a later block, commit-reveal, payment and receipt', async (t) => {
  const { h, books } = await market(4)
  const before = new Map<Address, bigint>()
  for (let i = 1; i <= 4; i++) before.set(addr(i), await h.balance(addr(i)))
  const p = await h.must(CLIENT, 'postJob', [SPEC, WORKLOAD, deadline(h), 600n, 10n, 2], PRICE)
  const jobId = ev(p, 'JobPosted').jobId as Hex
  t.equal(ev(p, 'DrawScheduled').drawBlock, h.number - 1n + BigInt(DRAW_DELAY), 'the worker is drawn DRAW_DELAY blocks after the posting block')
  t.notOk(p.events.some((e) => e.eventName === 'JobAssigned'), 'not in the posting transaction: its block\'s PREVRANDAO is known to its producer')
  t.equal((await job(h, jobId)).status, J.Open)
  t.equal((await h.tx(addr(9), 'assign', [jobId])).error, 'DrawPending', 'nobody can ask for another draw while one is scheduled')
  const drawn = await h.mine(DRAW_DELAY - 1)
  const { sessionId, worker: w } = assignedIn(drawn, jobId)
  t.ok(sessionId && w, 'assigned by the system call of the scheduled block')
  t.not(w, CLIENT)
  t.equal(sessionId, keccak256(`0x${[jobId, w!, keccak256(toHex(h.number - 2n))].map((x) => x.slice(2).toLowerCase().padStart(64, '0')).join('')}` as Hex), 'sessionId = keccak(jobId, worker, parent hash of the assigning block)')
  t.same((await h.read<[Hex[], Hex[]]>('dutiesOf', [w!]))[0], [sessionId], 'the worker sees its duty')
  t.equal((await job(h, jobId)).status, J.Running)
  t.equal((await session(h, sessionId!)).status, S.Assigned)
  t.equal((await worker(h, w!)).running, 1)

  const c = await commit(h, sessionId!, w!)
  t.equal(ev(c, 'DrawScheduled').drawBlock, h.number - 1n + BigInt(DRAW_DELAY), 'the commitment schedules its verifier draw')
  t.equal((await h.tx(addr(99), 'openVerification', [sessionId])).error, 'DrawPending', 'nobody can draw the verifiers early or again')
  const sel = await drawVerifiers(h)
  const verifiers = sel.verifiers as Address[]
  t.equal(verifiers.length, 2)
  t.notOk(verifiers.includes(w!), 'the worker does not verify itself')
  t.notOk(verifiers.includes(CLIENT))
  t.not(verifiers[0], verifiers[1], 'distinct verifiers')
  t.equal(await h.read('verifierSeed', [sessionId, verifiers[0]]), keccak256(`0x${(sel.randomness as Hex).slice(2)}${verifiers[0]!.slice(2).toLowerCase().padStart(64, '0')}`))
  for (const v of verifiers) t.same((await h.read<[Hex[], Hex[]]>('dutiesOf', [v]))[1], [sessionId])

  t.equal((await reveal(h, sessionId!, verifiers[0]!, true)).error, 'RevealNotOpen', 'no reveals before every vote is in')
  await vote(h, sessionId!, verifiers[0]!, true)
  t.equal((await vote(h, sessionId!, verifiers[0]!, true)).error, 'AlreadyVoted')
  t.equal((await h.tx(addr(99), 'finalize', [sessionId])).error, 'VotingNotOver')
  await vote(h, sessionId!, verifiers[1]!, true)
  t.equal((await h.tx(verifiers[0]!, 'revealVote', [sessionId, false, salt(verifiers[0]!)])).error, 'VoteMismatch', 'cannot change the committed vote')
  t.equal((await h.tx(verifiers[0]!, 'revealVote', [sessionId, true, salt(verifiers[0]!)])).error, 'AcceptNeedsSample', 'an accept must declare its sample (revealFinding)')
  t.ok((await reveal(h, sessionId!, verifiers[0]!, true)).ok)
  t.equal((await reveal(h, sessionId!, verifiers[0]!, true)).error, 'AlreadyRevealed')
  t.ok((await reveal(h, sessionId!, verifiers[1]!, true)).ok)
  const fin = await h.must(addr(99), 'finalize', [sessionId])
  t.equal(ev(fin, 'SessionFinalized').status, S.Accepted)
  t.equal((await h.tx(addr(99), 'finalize', [sessionId])).error, 'VerificationNotOpen', 'final: never paid twice')

  // 85 % to the worker, 10 % split by the verifiers, 5 % to the fund; the bond stays (2 ETH).
  t.equal((await h.balance(w!)) - before.get(w!)!, (PRICE * 85n) / 100n)
  for (const v of verifiers) t.equal((await h.balance(v)) - before.get(v)!, (PRICE * 5n) / 100n)
  const r = await h.read<{ status: number; value: bigint; protocolFee: bigint; worker: Address; client: Address; jobId: Hex; workloadId: Hex; blockNumber: bigint }>('getReceipt', [sessionId])
  t.match(r, { status: S.Accepted, value: PRICE, protocolFee: PRICE / 20n, worker: w, client: CLIENT, jobId, workloadId: WORKLOAD })
  t.same(await h.read('isAcceptedReceipt', [sessionId, w]), [true, PRICE, PRICE / 20n, r.blockNumber])
  t.equal((await h.read<[boolean]>('isAcceptedReceipt', [sessionId, verifiers[0]]))[0], false, 'not the receipt of another address')
  t.equal(await h.read('receiptCount', [w]), 1n)
  t.equal((await h.read<unknown[]>('receiptsOf', [w, 0n, 10n])).length, 1)
  t.equal((await h.read<unknown[]>('receiptsOf', [w, 5n, 10n])).length, 0, 'a page past the end is empty')
  t.same(await h.read('dutiesOf', [w]), [[], []], 'no duties left')
  const ws = await worker(h, w!)
  t.match(ws, { successes: 1, pending: 0, running: 0 })
  t.ok((await rating(h, w!)) > 100, 'rating went up (from a fresh identity\'s RATING_ENTRY = 100)')
  t.equal((await job(h, jobId)).status, J.Accepted)
  t.equal(await h.read('unitPrice'), PRICE / 10n, 'price per unit learned from the accepted job')
  t.equal(await h.read('estimatePrice', [20n]), (PRICE / 10n) * 20n)

  // The client rates the worker once.
  t.equal((await h.tx(addr(5), 'rateWorker', [jobId, 5])).error, 'NotClient')
  t.equal((await h.tx(CLIENT, 'rateWorker', [jobId, 0])).error, 'BadStars')
  t.equal((await h.tx(CLIENT, 'rateWorker', [jobId, 6])).error, 'BadStars')
  const rBefore = await rating(h, w!)
  t.ok((await h.tx(CLIENT, 'rateWorker', [jobId, 1])).ok)
  t.ok((await rating(h, w!)) < rBefore, 'one star lowers the rating')
  t.equal((await h.tx(CLIENT, 'rateWorker', [jobId, 5])).error, 'AlreadyRated')
  t.equal((await worker(h, w!)).clientRatings, 1)
  await books(t)
})

t.test('reject: the worker loses half its bond and rating, the job goes to another worker, which is paid', async (t) => {
  const { h, books } = await market(3)
  const { jobId, sessionId, worker: w } = await post(h)
  await commit(h, sessionId!, w!, 1)
  await h.mine()
  // A reject in round 0 decides nothing alone (the fraud-proof rule): a fresh panel re-checks it.
  const r0 = await decide(h, sessionId!, () => false)
  t.ok(r0.events.some((e) => e.eventName === 'VerificationRestarted'), 'a lone reject goes to a panel')
  t.equal((await worker(h, w!)).bond, 2n * ETHER, 'nobody is cut on one verifier\'s word')
  await h.mine()
  const fin = await decide(h, sessionId!, () => false)
  t.equal(ev(fin, 'SessionFinalized').status, S.Rejected)
  t.equal(ev(fin, 'JobReopened').jobId, jobId)
  const reassigned = ev(await h.mine(), 'JobAssigned')
  t.not(reassigned.worker, w, 'never the same worker again')
  t.equal((await worker(h, w!)).bond, ETHER, 'half of the 2 ETH bond is cut')
  t.ok((await rating(h, w!)) <= 250, 'rating halved')
  t.equal((await h.read<{ status: number; value: bigint }>('getReceipt', [sessionId])).status, S.Rejected)
  t.equal((await h.read<[boolean]>('isAcceptedReceipt', [sessionId, w]))[0], false)
  t.equal((await job(h, jobId)).attempts, 2)

  const s2 = reassigned.sessionId as Hex
  const w2 = reassigned.worker as Address
  await commit(h, s2, w2, 2)
  await h.mine()
  const v = (await session(h, s2)).verifiers
  t.equal(v.length, 1, 'with 3 workers: the third verifies (the first can verify too)')
  const fin2 = await decide(h, s2, () => true)
  t.equal(ev(fin2, 'SessionFinalized').status, S.Accepted)
  t.equal((await job(h, jobId)).status, J.Accepted)
  t.same(await h.read<Hex[]>('sessionsOfJob', [jobId]), [sessionId, s2])
  await books(t)
})

t.test('a job nobody takes is refunded at its deadline; cancel; assign later', async (t) => {
  const { h, books } = await market(0)
  const before = await h.balance(CLIENT)
  const { jobId, sessionId } = await post(h, { dl: h.timestamp + 1000n, maxDuration: 500n })
  t.equal(sessionId, undefined, 'no worker registered: the job stays open')
  t.same(await h.read('openJobs'), [jobId])
  t.equal(await h.read('openClientJobs'), 1n)
  t.equal((await h.tx(addr(9), 'assign', [jobId])).error, 'NoWorkerAvailable')
  t.equal((await h.tx(addr(9), 'refund', [jobId])).error, 'NotExpired')
  h.advance(600n)
  t.equal((await h.tx(addr(9), 'assign', [jobId])).error, 'BadDeadline', 'no time left to do it')
  const r = await h.must(addr(9), 'refund', [jobId])
  t.equal(ev(r, 'JobRefunded').amount, PRICE)
  t.equal(await h.balance(CLIENT), before, 'the client has all of it back')
  t.equal((await h.tx(addr(9), 'refund', [jobId])).error, 'WrongJobStatus', 'never refunded twice')
  t.equal((await h.tx(CLIENT, 'cancel', [jobId])).error, 'WrongJobStatus')

  const second = await post(h)
  t.equal((await h.tx(addr(7), 'cancel', [second.jobId])).error, 'NotClient')
  await h.must(CLIENT, 'cancel', [second.jobId])
  t.equal(await h.balance(CLIENT), before)

  const third = await post(h)
  t.equal(third.sessionId, undefined, 'its draw found nobody')
  t.equal((await job(h, third.jobId)).drawBlock, 0n, 'and no draw is pending')
  await h.give(addr(1), 10n * ETHER)
  await h.must(addr(1), 'register', [100n, 1, ''], 2n * ETHER)
  const a = await h.must(addr(50), 'assign', [third.jobId])
  t.ok(a.events.some((e) => e.eventName === 'DrawScheduled'), 'anyone may ask for a new draw …')
  t.notOk(a.events.some((e) => e.eventName === 'JobAssigned'))
  t.equal(ev(await h.mine(), 'JobAssigned').worker, addr(1), '… which the protocol makes DRAW_DELAY blocks later')
  t.equal((await h.tx(CLIENT, 'cancel', [third.jobId])).error, 'WrongJobStatus', 'no cancel once running')
  t.equal(await h.read('openClientJobs'), 0n)
  await books(t)
})

t.test('expiry: a worker that misses its commit time loses faultPenalty and rating; abandon costs rating and the held share of faultPenalty', async (t) => {
  const { h, books } = await market(3)
  const { jobId, sessionId, worker: w } = await post(h, { maxDuration: 300n })
  t.equal((await h.tx(addr(9), 'expire', [sessionId])).error, 'NotExpired')
  h.advance(400n)
  t.equal((await h.tx(w!, 'commitResult', [sessionId, fakeCommitment(SPEC, 1)])).error, 'CommitTooLate')
  t.equal((await h.tx(w!, 'abandon', [sessionId])).error, 'CommitTooLate', 'too late to abandon without the penalty')
  const r = await h.must(addr(9), 'expire', [sessionId])
  t.equal(ev(r, 'SessionExpired').abandoned, false)
  t.equal((await worker(h, w!)).bond, 2n * ETHER - ETHER / 10n)
  t.match(await worker(h, w!), { failures: 1, pending: 0, running: 0 })
  const next = ev(await h.mine(), 'JobAssigned')
  t.not(next.worker, w)
  t.equal((await h.tx(w!, 'abandon', [next.sessionId])).error, 'NotSessionWorker')
  const r2 = await h.must(next.worker as Address, 'abandon', [next.sessionId])
  t.equal(ev(r2, 'SessionExpired').abandoned, true)
  const cut = 2n * ETHER - (await worker(h, next.worker as Address)).bond
  t.ok(cut > 0n && cut <= ETHER / 10n / 4n, `abandoning soon after the assignment cuts little: ${Number(cut) / 1e18} coin (faultPenalty × the share of the commit window held)`)
  t.equal((await session(h, next.sessionId as Hex)).status, S.Expired)
  t.equal((await h.tx(next.worker as Address, 'abandon', [next.sessionId])).error, 'WrongSessionStatus')
  // Third attempt (maxAttempts = 3) then refund.
  t.ok(r2.events.some((e) => e.eventName === 'JobReopened'))
  const third = ev(await h.mine(), 'JobAssigned')
  h.advance(400n)
  const r3 = await h.must(addr(9), 'expire', [third.sessionId])
  t.equal(ev(r3, 'JobRefunded').amount, PRICE, 'attempts exhausted: refunded')
  t.equal((await job(h, jobId)).status, J.Refunded)
  await books(t)
})

t.test('a committed session nobody can verify expires after the deadline without penalty', async (t) => {
  const { h, books } = await market(1)
  const { sessionId, worker: w } = await post(h, { dl: h.timestamp + 1000n, maxDuration: 500n })
  await commit(h, sessionId!, w!)
  t.equal(ev(await h.mine(), 'NoVerifierDrawn').sessionId, sessionId, 'the draw found nobody: the only worker cannot verify itself')
  t.equal((await h.tx(addr(9), 'openVerification', [sessionId])).error, 'NoVerifierAvailable', 'and nobody can be asked for again')
  t.equal((await h.tx(addr(9), 'expire', [sessionId])).error, 'NotExpired')
  h.advance(1300n)
  const r = await h.must(addr(9), 'expire', [sessionId])
  t.ok(r.events.some((e) => e.eventName === 'JobRefunded'))
  t.equal((await worker(h, w!)).bond, 2n * ETHER)
  await books(t)
})

t.test('votes: silence costs faultPenalty; a tie goes to a larger odd panel that judges both; a tie in the last round rejects; no votes at all expire', async (t) => {
  const { h, books } = await market(6)
  const { sessionId, worker: w } = await post(h, { verifiers: 2 })
  await commit(h, sessionId!, w!)
  await h.mine()
  let s = await session(h, sessionId!)
  const [a, b] = s.verifiers as Address[]
  // Only a votes; b is silent.
  await vote(h, sessionId!, a!, true)
  t.equal((await reveal(h, sessionId!, b!, true)).error, 'RevealNotOpen')
  h.advance(s.votesBy - h.timestamp + 1n)
  t.equal((await vote(h, sessionId!, b!, true)).error, 'VoteClosed')
  t.equal((await reveal(h, sessionId!, b!, true)).error, 'NoVoteCommitted')
  await reveal(h, sessionId!, a!, true)
  h.advance(s.revealBy - h.timestamp + 1n)
  t.equal((await reveal(h, sessionId!, a!, true)).error, 'VoteClosed')
  const fin = await h.must(addr(99), 'finalize', [sessionId])
  t.equal(ev(fin, 'SessionFinalized').status, S.Accepted, 'one accept against silence: accepted')
  t.equal((await worker(h, b!)).verifierFaults, 1)
  t.equal((await worker(h, b!)).bond, 2n * ETHER - ETHER / 10n, 'silence costs faultPenalty')

  // A tie (1 accept, 1 reject) → round 1: a fresh odd panel of everyone else; round 0 waits.
  const j2 = await post(h, { verifiers: 2 })
  await commit(h, j2.sessionId!, j2.worker!, 7)
  await h.mine()
  s = await session(h, j2.sessionId!)
  const [acc0, rej0] = s.verifiers as Address[]
  const bonds = new Map<Address, bigint>()
  const balances = new Map<Address, bigint>()
  for (let i = 1; i <= 6; i++) bonds.set(addr(i), (await worker(h, addr(i))).bond)
  for (let i = 1; i <= 6; i++) balances.set(addr(i), await h.balance(addr(i)))
  const r1 = await decide(h, j2.sessionId!, (v) => v === acc0)
  t.ok(r1.events.some((e) => e.eventName === 'VerificationRestarted'))
  t.notOk(r1.events.some((e) => e.eventName === 'VerifierJudged'), 'nobody judged yet')
  s = await session(h, j2.sessionId!)
  t.equal(s.round, 1)
  t.same([...s.previous].sort(), [acc0, rej0].sort(), 'round 0 is kept for the final judgement')
  t.equal((await worker(h, acc0!)).pending, 1, 'its bonds stay locked')
  t.equal((await h.tx(addr(9), 'openVerification', [j2.sessionId])).error, 'DrawPending', 'round 1 is drawn by the protocol')
  await h.mine()
  t.equal((await h.tx(addr(9), 'openVerification', [j2.sessionId])).error, 'VerificationAlreadyOpen')
  s = await session(h, j2.sessionId!)
  t.equal(s.verifiers.length, 3, '2k + 1 = 5 wanted; 3 are left besides the worker and round 0')
  t.notOk(s.verifiers.some((v) => v === acc0 || v === rej0 || v === j2.worker), 'nobody of round 0, not the worker')
  // Round 1 ties too (one accept, one reject, one silent): in the last round a tie rejects.
  const [acc1, rej1, silent1] = s.verifiers as Address[]
  const r2 = await decide(h, j2.sessionId!, (v) => (v === acc1 ? true : v === rej1 ? false : undefined))
  t.equal(ev(r2, 'SessionFinalized').status, S.Rejected, 'no strict majority in the last round: rejected')
  const wrongCut = await h.read<bigint>('wrongVotePenalty', [PRICE])
  t.equal(wrongCut, PRICE, 'a wrong vote costs the price of the job (at least faultPenalty)')
  t.equal((await worker(h, acc0!)).bond, bonds.get(acc0!)! - wrongCut, 'round 0\'s accept vote, judged by the final outcome, costs its bond')
  t.equal((await worker(h, acc1!)).bond, bonds.get(acc1!)! - wrongCut, 'so does round 1\'s')
  t.equal((await worker(h, silent1!)).bond, bonds.get(silent1!)! - ETHER / 10n, 'silence: faultPenalty')
  const share = bonds.get(j2.worker!)! / 2n / 2n / 2n
  for (const v of [rej0, rej1]) {
    t.equal((await worker(h, v!)).bond, bonds.get(v!)!, 'the rejecting verifiers keep their bonds …')
    t.equal((await h.balance(v!)) - balances.get(v!)!, share, '… and share half of the worker\'s cut')
  }
  t.equal((await worker(h, j2.worker!)).bond, bonds.get(j2.worker!)! / 2n, 'the worker loses half of its bond')
  for (const v of [acc0, rej0, acc1, rej1, silent1]) t.equal((await worker(h, v!)).pending, 0, 'every panel released')

  // Nobody votes in either round: every verifier faulted, the session expires (the worker is not to blame).
  const j3 = await post(h, { verifiers: 1 })
  await commit(h, j3.sessionId!, j3.worker!, 8)
  await h.mine()
  const before3 = (await worker(h, j3.worker!)).bond
  await decide(h, j3.sessionId!, () => undefined)
  t.equal((await session(h, j3.sessionId!)).round, 1)
  await h.mine()
  const r3 = await decide(h, j3.sessionId!, () => undefined)
  t.equal(ev(r3, 'SessionExpired').abandoned, false)
  t.ok(r3.events.some((e) => e.eventName === 'JobReopened'))
  t.equal((await worker(h, j3.worker!)).bond, before3)
  await books(t)
})

t.test('control task: an ordinary client job whose seal the issuer registered before it was posted; opened by its client after the votes, reimbursed by the fund; a disputed wrong answer goes to a panel; a right one earns a receipt', async (t) => {
  const { h, books } = await market(4, { fund: 50n * ETHER })
  const CTL = addr(101) // one of the issuer's client identities: an address like any client's
  await h.give(CTL, 10n * ETHER)
  t.equal((await h.tx(CLIENT, 'bondIssuer', [], ETHER)).error, 'NotIssuer')
  t.equal((await h.tx(ISSUER, 'bondIssuer', [], 0n)).error, 'ZeroValue')
  await bondIssuer(h)
  const answer = keccak256(toHex('the-answer'))
  const cSalt = keccak256(toHex('control-salt'))
  const jobId = await nextJobId(h, CTL, SPEC)
  const seal = await h.read<Hex>('controlSeal', [jobId, answer, cSalt])
  t.equal((await h.tx(CLIENT, 'registerSeals', [[seal]])).error, 'NotIssuer')
  t.equal((await h.tx(ISSUER, 'registerSeals', [[]])).error, 'BadSpec')
  const reg = await h.must(ISSUER, 'registerSeals', [[keccak256(toHex('dummy-1')), seal, keccak256(toHex('dummy-2'))]])
  t.equal(ev(reg, 'SealsRegistered').count, 3n, 'real seals among dummies; none names a job')
  const p = await h.must(CTL, 'postJob', [SPEC, WORKLOAD, deadline(h), 600n, 10n, 1], PRICE)
  t.equal(ev(p, 'JobPosted').jobId, jobId)
  t.notOk('control' in ev(p, 'JobPosted'), 'JobPosted carries no control flag')
  t.match(await h.read('getJob', [jobId]), { control: false, sealedAnswer: `0x${'00'.repeat(32)}` }, 'nothing marks it before it is opened')
  const a = ev(await h.mine(), 'JobAssigned')
  const w = a.worker as Address
  t.equal((await h.tx(CTL, 'openControl', [jobId, answer, cSalt])).error, 'VerificationNotOpen', 'opened only after the commitment …')
  await commit(h, a.sessionId as Hex, w, 1) // a wrong result
  await h.mine()
  const lazy = (await session(h, a.sessionId as Hex)).verifiers[0]!
  t.equal((await h.tx(CTL, 'openControl', [jobId, answer, cSalt])).error, 'VotingNotOver', '… and the verifiers\' votes')
  await vote(h, a.sessionId as Hex, lazy, true) // the verifier accepts without checking
  t.equal((await h.tx(CLIENT, 'openControl', [jobId, answer, cSalt])).error, 'NotClient', 'only the job\'s client opens it')
  t.equal((await h.tx(CTL, 'openControl', [jobId, answer, keccak256(toHex('other'))])).error, 'SealNotRegistered')
  const fundBefore = (await h.checkBooks()).fund
  const ctlBefore = await h.balance(CTL)
  const opened = await h.must(CTL, 'openControl', [jobId, answer, cSalt])
  t.equal(ev(opened, 'ControlOpened').reimbursed, PRICE)
  t.equal((await h.balance(CTL)) - ctlBefore, PRICE, 'the client identity is reimbursed the price …')
  t.equal((await h.checkBooks()).fund, fundBefore - PRICE, '… by the fund')
  t.equal(await h.read('issuerClaims'), 1)
  t.equal((await h.tx(CTL, 'openControl', [jobId, answer, cSalt])).error, 'SaltAlreadyOpened')
  await reveal(h, a.sessionId as Hex, lazy, true)
  const fin = await h.must(addr(99), 'finalize', [a.sessionId])
  t.ok(fin.events.some((e) => e.eventName === 'VerificationRestarted'), 'the worker\'s result and the accept dispute the answer: a fresh panel decides')
  await h.mine()
  const panel = (await session(h, a.sessionId as Hex)).verifiers
  t.equal(panel.length, 2, 'everyone but the worker, the client and round 0\'s verifier')
  const fin1 = await decide(h, a.sessionId as Hex, () => false)
  t.equal(ev(fin1, 'SessionFinalized').status, S.Rejected, 'the panel confirms the answer')
  t.match(await worker(h, w), { controlsFailed: 1, failures: 1 })
  t.equal(await rating(h, w), 100, 'a wrong control answer takes the rating to the floor (RATING_ENTRY: a fresh identity\'s)')
  t.match(await worker(h, lazy), { verifierFaults: 1, bond: ETHER }, 'the verifier that accepted it loses slashBps of its bond: the answer is confirmed')
  t.equal(await h.read('issuerBond'), await h.read('issuerMinBond'), 'the issuer keeps its bond')

  // Reassigned: this worker answers right; the answer is public now and decides with the votes.
  const next = ev(await h.mine(), 'JobAssigned')
  await commit(h, next.sessionId as Hex, next.worker as Address, 1, { resultHash: answer })
  await h.mine()
  const fin2 = await decide(h, next.sessionId as Hex, () => true)
  t.equal(ev(fin2, 'SessionFinalized').status, S.Accepted)
  const rc = await h.read<{ control: boolean; value: bigint; client: Address }>('getReceipt', [next.sessionId])
  t.match(rc, { control: true, value: PRICE, client: CTL })
  t.equal((await worker(h, next.worker as Address)).controlsPassed, 1)
  t.equal(await h.read('issuerClaims'), 0, 'the claim is decided with the job')
  await books(t)
})

t.test('control task: a seal registered after the job was posted opens nothing; the fund bounds reimbursements', async (t) => {
  const { h, books } = await market(3, { fund: ETHER / 2n })
  const CTL = addr(101)
  await h.give(CTL, 10n * ETHER)
  await bondIssuer(h)
  const answer = keccak256(toHex('a'))
  const cSalt = keccak256(toHex('s'))
  // Posted first, sealed after: the issuer could choose its claim after seeing the result.
  const late = await post(h, { from: CTL })
  await h.must(ISSUER, 'registerSeals', [[await h.read<Hex>('controlSeal', [late.jobId, answer, cSalt])]])
  await commit(h, late.sessionId!, late.worker!, 1, { resultHash: answer })
  await h.mine()
  const v = (await session(h, late.sessionId!)).verifiers[0]!
  await vote(h, late.sessionId!, v, true)
  t.equal((await h.tx(CTL, 'openControl', [late.jobId, answer, cSalt])).error, 'SealNotRegistered', 'a seal must predate the job')
  // The fund (0.5) cannot reimburse a 1-coin job: the opening fails, the job stays a client's.
  const j2 = await nextJobId(h, CTL, SPEC)
  await h.must(ISSUER, 'registerSeals', [[await h.read<Hex>('controlSeal', [j2, answer, cSalt])]])
  const p2 = await post(h, { from: CTL, maxDuration: 600n, dl: h.timestamp + 1300n })
  t.equal(p2.jobId, j2)
  await commit(h, p2.sessionId!, p2.worker!, 1, { resultHash: answer })
  await h.mine()
  const v2 = (await session(h, p2.sessionId!)).verifiers[0]!
  await vote(h, p2.sessionId!, v2, true)
  t.equal((await h.tx(CTL, 'openControl', [j2, answer, cSalt])).error, 'FundTooSmall')
  await h.must(CLIENT, 'fundProtocol', [], 20n * ETHER)
  await h.must(CTL, 'openControl', [j2, answer, cSalt])
  // Its verifier does not reveal.
  h.advance((await session(h, p2.sessionId!)).revealBy - h.timestamp + 1n)
  await h.must(addr(99), 'finalize', [p2.sessionId])
  const s2 = await session(h, p2.sessionId!)
  t.equal(s2.status, S.Accepted, 'the right answer, undisputed, decides')
  t.equal((await worker(h, v2)).verifierFaults, 1, 'a committed vote left unrevealed after the opening counts as wrong')
  await books(t)
})

t.test('control budget: reimbursements per period are bounded', async (t) => {
  const { h, books } = await market(3, { fund: 50n * ETHER, config: { controlBudget: ETHER + ETHER / 2n } })
  const CTL = addr(101)
  await h.give(CTL, 10n * ETHER)
  await bondIssuer(h)
  const answer = keccak256(toHex('a'))
  const opened: Hex[] = []
  for (let i = 0; i < 2; i++) {
    const cSalt = keccak256(toHex(`s-${i}`))
    const id = await nextJobId(h, CTL, SPEC)
    await h.must(ISSUER, 'registerSeals', [[await h.read<Hex>('controlSeal', [id, answer, cSalt])]])
    const p = await post(h, { from: CTL })
    await commit(h, p.sessionId!, p.worker!, 1, { resultHash: answer })
    await h.mine()
    const v = (await session(h, p.sessionId!)).verifiers[0]!
    await vote(h, p.sessionId!, v, true)
    const r = await h.tx(CTL, 'openControl', [id, answer, cSalt])
    if (i === 0) t.ok(r.ok, 'the first fits the budget')
    else t.equal(r.error, 'ControlBudgetExceeded', 'the second does not: it stays the client\'s job, paid by its client')
    if (r.ok) opened.push(id)
    await reveal(h, p.sessionId!, v, true)
    h.advance(5n)
    await h.must(addr(99), 'finalize', [p.sessionId])
  }
  t.equal(opened.length, 1)
  await books(t)
})

t.test('hidden trap disputed by a lazy verifier: a fresh panel confirms it; the lazy one loses slashBps of its bond, every rejecter earns trapReward, the trap\'s worker is not slashed', async (t) => {
  const { h, books } = await market(6, { fund: 10n * ETHER })
  await bondIssuer(h)
  const { sessionId, worker: w } = await post(h, { verifiers: 2 })
  const tSalt = keccak256(toHex('trap-salt'))
  await commit(h, sessionId!, w!, 9, { seal: await h.read<Hex>('trapSeal', [sessionId, tSalt]) })
  await h.mine()
  const [lazy, careful] = (await session(h, sessionId!)).verifiers as Address[]
  await vote(h, sessionId!, lazy!, true)
  await vote(h, sessionId!, careful!, false)
  await h.must(ISSUER, 'openTrap', [sessionId, tSalt])
  await reveal(h, sessionId!, lazy!, true)
  await reveal(h, sessionId!, careful!, false)
  h.advance(5n)
  const fin = await h.must(addr(99), 'finalize', [sessionId])
  t.ok(fin.events.some((e) => e.eventName === 'VerificationRestarted'), 'a revealed accept disputes the trap: round 1')
  await h.mine()
  const panel = (await session(h, sessionId!)).verifiers as Address[]
  t.equal(panel.length, 3, 'the other three workers')
  const before = new Map<Address, bigint>()
  for (const a of [careful!, ...panel]) before.set(a, await h.balance(a))
  const fin1 = await decide(h, sessionId!, () => false)
  t.equal(ev(fin1, 'SessionFinalized').status, S.Rejected)
  t.match(await worker(h, lazy!), { verifierFaults: 1, bond: ETHER }, 'the lazy verifier loses slashBps of its bond')
  for (const a of [careful!, ...panel]) t.equal((await h.balance(a)) - before.get(a)!, h.config.trapReward, 'each rejecter earns trapReward')
  t.equal((await worker(h, w!)).bond, 2n * ETHER, 'the issuer\'s identity is not slashed')
  t.equal(await h.read('issuerBond'), await h.read('issuerMinBond'), 'nor the issuer')
  t.equal(await h.read('issuerClaims'), 0)
  t.equal((await h.read<{ status: number }>('getReceipt', [sessionId])).status, S.None, 'a trap leaves no receipt')
  await books(t)
})

t.test('issuer bond: claims need issuerMinBond; an exit waits unbondDelay and every open claim', async (t) => {
  const { h, books } = await market(4, { fund: 10n * ETHER })
  const min = await h.read<bigint>('issuerMinBond')
  t.equal(min, 10n * h.config.minBond, 'ISSUER_BOND_FACTOR × minBond')
  t.equal((await h.tx(ISSUER, 'withdrawIssuerBond')).error, 'NotExiting')
  await bondIssuer(h, min / 2n)
  const { sessionId, worker: w } = await post(h, { verifiers: 1 })
  const tSalt = keccak256(toHex('trap-salt'))
  await commit(h, sessionId!, w!, 9, { seal: await h.read<Hex>('trapSeal', [sessionId, tSalt]) })
  await h.mine()
  const [v] = (await session(h, sessionId!)).verifiers as Address[]
  await vote(h, sessionId!, v!, false)
  t.equal((await h.tx(ISSUER, 'openTrap', [sessionId, tSalt])).error, 'IssuerBondTooSmall')
  await bondIssuer(h, min / 2n)
  await h.must(ISSUER, 'openTrap', [sessionId, tSalt])
  await h.must(ISSUER, 'requestIssuerExit')
  t.equal((await h.tx(ISSUER, 'requestIssuerExit')).error, 'IssuerExiting')
  t.equal((await h.tx(ISSUER, 'withdrawIssuerBond')).error, 'UnbondingNotOver')
  h.advance(h.config.unbondDelay + 1n)
  t.equal((await h.tx(ISSUER, 'withdrawIssuerBond')).error, 'IssuerHasClaims', 'not while a claim it opened is undecided')
  await reveal(h, sessionId!, v!, false)
  await h.must(addr(99), 'finalize', [sessionId])
  const before = await h.balance(ISSUER)
  await h.must(ISSUER, 'withdrawIssuerBond')
  t.equal((await h.balance(ISSUER)) - before, min)
  t.equal((await h.tx(ISSUER, 'withdrawIssuerBond')).error, 'NotExiting')
  await books(t)
})

t.test('hidden trap: a result sealed as a trap by its worker, opened by the issuer after the votes, judges them; the job goes on', async (t) => {
  const { h, books } = await market(4, { fund: 10n * ETHER })
  await bondIssuer(h)
  const { jobId, sessionId, worker: w } = await post(h, { verifiers: 2 })
  // In this test the drawn worker is one of the issuer's ordinary identities: it commits a wrong result with a trap seal.
  const tSalt = keccak256(toHex('trap-salt'))
  const seal = await h.read<Hex>('trapSeal', [sessionId, tSalt])
  await commit(h, sessionId!, w!, 9, { seal })
  t.equal((await h.tx(ISSUER, 'openTrap', [sessionId, tSalt])).error, 'VerificationNotOpen', 'not before the draw …')
  await h.mine()
  const [lazy, careful] = (await session(h, sessionId!)).verifiers as Address[]
  t.equal((await h.tx(ISSUER, 'openTrap', [sessionId, tSalt])).error, 'VotingNotOver', '… nor before the votes are committed')
  await vote(h, sessionId!, lazy!, true)
  await vote(h, sessionId!, careful!, false)
  t.equal((await h.tx(CLIENT, 'openTrap', [sessionId, tSalt])).error, 'NotIssuer')
  t.equal((await h.tx(ISSUER, 'openTrap', [sessionId, keccak256(toHex('other'))])).error, 'BadSeal')
  const bonds = { w: (await worker(h, w!)).bond, lazy: (await worker(h, lazy!)).bond, careful: await h.balance(careful!) }
  t.ok((await h.must(ISSUER, 'openTrap', [sessionId, tSalt])).events.some((e) => e.eventName === 'TrapOpened'))
  t.equal((await h.tx(ISSUER, 'openTrap', [sessionId, tSalt])).error, 'SaltAlreadyOpened')
  // The lazy verifier, now knowing, does not reveal its accept: presumed wrong all the same.
  await reveal(h, sessionId!, careful!, false)
  h.advance((await session(h, sessionId!)).revealBy - h.timestamp + 1n)
  const fin = await h.must(addr(99), 'finalize', [sessionId])
  t.equal(ev(fin, 'SessionFinalized').status, S.Rejected)
  t.equal((await worker(h, lazy!)).bond, bonds.lazy - (await h.read<bigint>('wrongVotePenalty', [PRICE])), 'the committed, unrevealed accept costs wrongVotePenalty')
  t.equal((await h.balance(careful!)) - bonds.careful, h.config.trapReward, 'the careful verifier earns trapReward')
  t.equal((await worker(h, w!)).bond, bonds.w, 'the issuer\'s identity is not slashed')
  t.equal((await h.read<{ status: number }>('getReceipt', [sessionId])).status, S.None, 'no receipt')
  t.ok(fin.events.some((e) => e.eventName === 'JobReopened'), 'the client\'s job goes on')
  const next = ev(await h.mine(), 'JobAssigned')
  t.not(next.worker, w, 'to another worker')
  t.equal((await job(h, jobId)).status, J.Running)
  await books(t)
})

t.test('registry: bonds, exit with unbonding, pending work locks the bond, re-registering keeps the rating', async (t) => {
  const { h, books } = await market(2)
  const w = addr(1)
  t.equal((await h.tx(w, 'register', [1n, 1, ''], 2n * ETHER)).error, 'AlreadyRegistered')
  await h.give(addr(30), 10n * ETHER)
  t.equal((await h.tx(addr(30), 'register', [1n, 1, ''], ETHER / 2n)).error, 'BondTooSmall')
  t.equal((await h.tx(addr(30), 'register', [0n, 1, ''], 2n * ETHER)).error, 'BadCapacity')
  t.equal((await h.tx(addr(30), 'register', [1n, 0, ''], 2n * ETHER)).error, 'BadSlots')
  t.equal((await h.tx(addr(30), 'register', [1n, 17, ''], 2n * ETHER)).error, 'BadSlots')
  t.equal((await h.tx(addr(30), 'register', [1n, 1, 'x'.repeat(257)], 2n * ETHER)).error, 'EndpointTooLong')
  t.equal((await h.tx(addr(30), 'updateWorker', [1n, 1, ''])).error, 'NotRegistered')
  t.equal((await h.tx(addr(30), 'addBond', [], ETHER)).error, 'NotRegistered')
  t.equal((await h.tx(addr(30), 'requestExit')).error, 'NotRegistered')
  t.equal((await h.tx(addr(30), 'withdrawBond')).error, 'NotRegistered')
  t.equal((await h.tx(addr(30), 'withdraw')).error, 'NothingToWithdraw')
  t.equal((await h.tx(w, 'addBond', [], 0n)).error, 'ZeroValue')
  await h.must(w, 'addBond', [], ETHER)
  t.equal((await worker(h, w)).bond, 3n * ETHER)
  await h.must(w, 'updateWorker', [500n, 2, 'http://x'])
  t.equal((await h.read<{ endpoint: string; slots: number }>('getWorker', [w])).slots, 2)
  t.equal((await h.tx(w, 'withdrawBond')).error, 'NotExiting')

  // Worker 1 gets a job (worker 2 is the only other choice), then exits: locked until final.
  const { sessionId, worker: assigned } = await post(h)
  const other = assigned === w ? addr(2) : w
  await h.must(assigned!, 'requestExit')
  t.equal((await h.tx(assigned!, 'requestExit')).error, 'Exiting')
  t.equal((await h.tx(assigned!, 'withdrawBond')).error, 'UnbondingNotOver')
  await commit(h, sessionId!, assigned!)
  h.advance(2000n)
  t.equal((await h.tx(assigned!, 'withdrawBond')).error, 'HasPendingWork')
  await h.mine()
  t.same((await session(h, sessionId!)).verifiers, [other], 'an exiting worker is never drawn')
  await decide(h, sessionId!, () => false)
  const bond = (await worker(h, assigned!)).bond
  const bal = await h.balance(assigned!)
  const low = await rating(h, assigned!)
  await h.must(assigned!, 'withdrawBond')
  t.equal((await h.balance(assigned!)) - bal, bond, 'the rest of the bond is paid out')
  t.same(await h.read('workers'), [other])
  await h.must(assigned!, 'register', [100n, 1, ''], 2n * ETHER)
  t.equal(await rating(h, assigned!), low, 'leaving does not whitewash a rating')
  await books(t)
})

t.test('a recipient that refuses coins is credited and withdraws later; a re-entering recipient is refused', async (t) => {
  const { h, books } = await market(0)
  const put = (a: Address, code: string) => h.vm.stateManager.putCode(createAddressFromString(a), hexToBytes(code))
  // Re-enters: its receive() calls market.withdraw(), keeps the revert selector in slot 0, and accepts the coins.
  const reentrant = addr(77)
  await put(
    reentrant,
    '0x' +
      ['63' + toFunctionSelector('withdraw()').slice(2), '60e0', '1b', '6000', '52'].join('') + // mstore(0, selector << 224)
      ['6000', '6000', '6004', '6000', '6000', '73' + MARKET.slice(2).toLowerCase(), '5a', 'f1', '50'].join('') + // call(gas, market, 0, 0, 4, 0, 0)
      ['6004', '6000', '6000', '3e', '6000', '51', '6000', '55', '00'].join(''), // returndatacopy; sstore(0, mload(0)); stop
  )
  await h.give(reentrant, 5n * ETHER)
  const j1 = await post(h, { from: reentrant })
  const r1 = await h.must(reentrant, 'cancel', [j1.jobId])
  t.equal(ev(r1, 'Payment').credited, false, 'the refund reached it')
  const stored = await h.vm.stateManager.getStorage(createAddressFromString(reentrant), new Uint8Array(32))
  t.equal(bytesToHex(stored.subarray(0, 4)), toFunctionSelector('Reentrancy()'), 'its withdraw() from inside the payment reverted with Reentrancy')
  SEEN_ERRORS.add('Reentrancy')

  // Refuses: its receive() reverts; the refund is credited and stays until it can take it.
  const refuser = addr(78)
  await put(refuser, '0x60006000fd')
  await h.give(refuser, 5n * ETHER)
  const j2 = await post(h, { from: refuser })
  const r2 = await h.must(refuser, 'cancel', [j2.jobId])
  t.equal(ev(r2, 'Payment').credited, true, 'the failed transfer is credited')
  t.equal(await h.read('credits', [refuser]), PRICE)
  t.equal((await h.tx(refuser, 'withdraw')).ok, false, 'withdraw reverts while it still refuses')
  await put(refuser, '0x00')
  const before = await h.balance(refuser)
  await h.must(refuser, 'withdraw')
  t.equal((await h.balance(refuser)) - before, PRICE)
  t.equal(await h.read('credits', [refuser]), 0n)
  await books(t)
})

t.test('input checks of postJob, sessions and votes', async (t) => {
  const { h, books } = await market(3)
  const dl = deadline(h)
  t.equal((await h.tx(CLIENT, 'postJob', [SPEC, WORKLOAD, dl, 600n, 10n, 1], 1n)).error, 'PriceTooLow')
  t.equal((await h.tx(CLIENT, 'postJob', ['0x' + '00'.repeat(32), WORKLOAD, dl, 600n, 10n, 1], PRICE)).error, 'BadSpec')
  t.equal((await h.tx(CLIENT, 'postJob', [SPEC, WORKLOAD, h.timestamp - 1n, 600n, 10n, 1], PRICE)).error, 'BadDeadline')
  t.equal((await h.tx(CLIENT, 'postJob', [SPEC, WORKLOAD, dl, 0n, 10n, 1], PRICE)).error, 'BadDuration')
  t.equal((await h.tx(CLIENT, 'postJob', [SPEC, WORKLOAD, dl, 7200n, 10n, 1], PRICE)).error, 'BadDuration')
  t.equal((await h.tx(CLIENT, 'postJob', [SPEC, WORKLOAD, dl, 600n, 10n, 0], PRICE)).error, 'BadVerifierCount')
  t.equal((await h.tx(CLIENT, 'postJob', [SPEC, WORKLOAD, dl, 600n, 10n, 9], PRICE)).error, 'BadVerifierCount')
  const unknown = keccak256('0xdead')
  for (const [fn, args] of [
    ['assign', [unknown]],
    ['refund', [unknown]],
    ['cancel', [unknown]],
    ['rateWorker', [unknown, 3]],
  ] as const)
    t.equal((await h.tx(CLIENT, fn, args)).error, 'UnknownJob', fn)
  for (const [fn, args] of [
    ['commitResult', [unknown, fakeCommitment(SPEC, 1)]],
    ['abandon', [unknown]],
    ['expire', [unknown]],
    ['openVerification', [unknown]],
    ['commitVote', [unknown, unknown]],
    ['revealVote', [unknown, false, unknown]],
    ['finalize', [unknown]],
  ] as const)
    t.equal((await h.tx(CLIENT, fn, args)).error, 'UnknownSession', fn)

  const { jobId, sessionId, worker: w } = await post(h)
  t.equal((await h.tx(addr(9), 'assign', [jobId])).error, 'WrongJobStatus')
  t.equal((await h.tx(CLIENT, 'rateWorker', [jobId, 3])).error, 'WrongJobStatus', 'only finished jobs are rated')
  t.equal((await h.tx(CLIENT, 'commitResult', [sessionId, fakeCommitment(SPEC, 1)])).error, 'NotSessionWorker')
  const badCommit = { ...fakeCommitment(SPEC, 1), commitment: keccak256('0x02') }
  t.equal((await h.tx(w!, 'commitResult', [sessionId, badCommit])).error, 'BadCommitment')
  t.equal((await h.tx(w!, 'commitResult', [sessionId, fakeCommitment(keccak256('0x03'), 1)])).error, 'BadCommitment', 'a commitment to another spec')
  t.equal((await h.tx(w!, 'commitResult', [sessionId, fakeCommitment(SPEC, 1, { checkpointCount: 0n })])).error, 'BadCommitment', 'no checkpoints')
  t.equal((await h.tx(w!, 'commitResult', [sessionId, fakeCommitment(SPEC, 1, { checkpointCount: 4098n })])).error, 'TooManySegments', 'more segments than the market judges (workmarket-bound.test.ts)')
  t.equal((await h.tx(addr(9), 'openVerification', [sessionId])).error, 'WrongSessionStatus')
  t.equal((await h.tx(addr(9), 'commitVote', [sessionId, unknown])).error, 'VerificationNotOpen')
  t.equal((await h.tx(addr(9), 'revealVote', [sessionId, false, unknown])).error, 'VerificationNotOpen')
  await commit(h, sessionId!, w!)
  t.equal((await h.tx(w!, 'commitResult', [sessionId, fakeCommitment(SPEC, 1)])).error, 'WrongSessionStatus')
  t.equal((await h.tx(w!, 'abandon', [sessionId])).error, 'WrongSessionStatus', 'too late to abandon once committed')
  t.equal((await h.tx(addr(9), 'finalize', [sessionId])).error, 'VerificationNotOpen')
  await h.mine()
  const [v] = (await session(h, sessionId!)).verifiers
  const outsider = [addr(1), addr(2), addr(3)].find((a) => a !== v && a !== w)!
  t.equal((await h.tx(outsider, 'commitVote', [sessionId, unknown])).error, 'NotVerifier')
  t.equal((await h.tx(outsider, 'revealVote', [sessionId, false, unknown])).error, 'NotVerifier')
  t.equal((await h.tx(v!, 'commitVote', [sessionId, '0x' + '00'.repeat(32)])).error, 'AlreadyVoted', 'an empty vote hash is refused')
  // A reject naming a segment the session does not have (10 checkpoints → segments 0 … 9) cannot be revealed: it stays silent.
  const s0 = await session(h, sessionId!)
  await h.must(v!, 'commitVote', [sessionId, await h.read<Hex>('findingHash', [sessionId, 0, v, false, 10, 3, salt(v!)])])
  const bad = await h.tx(v!, 'revealFinding', [sessionId, false, 10, 3, salt(v!)])
  t.equal(bad.error, 'BadFinding', 'a segment past the last one is refused')
  t.same(bad.errorArgs, [10, 10n])
  h.advance(s0.revealBy - h.timestamp + 1n)
  t.ok((await h.must(addr(99), 'finalize', [sessionId])).events.some((e) => e.eventName === 'VerificationRestarted'), 'nobody revealed: drawn again')
  await h.mine()
  await decide(h, sessionId!, () => true)
  await books(t)
})

t.test('constructor: fee shares above 100 % or zero windows are refused; genesis receipts are readable', async (t) => {
  await t.rejects(MarketHarness.deploy({ config: { verifierFeeBps: 6000, protocolFeeBps: 5000 } }), /BadConfig|basis points|exceed/)
  const worker = addr(5)
  const sid = keccak256(toHex('genesis-session'))
  const h = await MarketHarness.deploy({ receipts: [{ worker, jobId: keccak256(toHex('genesis-job')), sessionId: sid, value: ETHER }] })
  t.match(await h.read('isAcceptedReceipt', [sid, worker]), [true, ETHER, ETHER, 0n])
  t.equal(await h.read('receiptCount', [worker]), 1n)
  await h.checkBooks()
  // The contract's own check (the TS encoder refuses these first).
  await t.rejects(MarketHarness.deploy({ config: { verifierFeeBps: 6000, protocolFeeBps: 5000 }, unchecked: true }), /BadConfig/)
  await t.rejects(MarketHarness.deploy({ config: { voteWindow: 0n }, unchecked: true }), /BadConfig/)
})

t.test('a registry of MAX_WORKERS is full', async (t) => {
  const h = await MarketHarness.deploy()
  const max = Number(await h.read<bigint>('MAX_WORKERS'))
  for (let i = 0; i < max; i++) {
    await h.give(addr(1000 + i), 2n * ETHER)
    await h.must(addr(1000 + i), 'register', [1n, 1, ''], ETHER)
  }
  await h.give(addr(5000), 2n * ETHER)
  t.equal((await h.tx(addr(5000), 'register', [1n, 1, ''], ETHER)).error, 'RegistryFull')
  // The draw still works over a full registry (gas bounded).
  await h.give(CLIENT, 5n * ETHER)
  await h.must(CLIENT, 'postJob', [SPEC, WORKLOAD, h.timestamp + 3600n, 600n, 10n, 8], PRICE)
  const a = ev(await h.mine(), 'JobAssigned')
  t.comment(`system call that drew the worker over ${max} workers: ${h.lastSystemGas} gas`)
  await h.must(a.worker as Address, 'commitResult', [a.sessionId, fakeCommitment(SPEC, 3)])
  const o = await h.mine()
  t.equal((ev(o, 'VerifiersSelected').verifiers as Address[]).length, 8)
  t.comment(`system call that drew 8 verifiers over ${max} workers: ${h.lastSystemGas} gas`)
  t.ok(h.lastSystemGas < 10_000_000n, 'a draw over a full registry fits a system call with room for more')
  await h.checkBooks()
})

t.test('needs and offers: a job that needs Docker is drawn only for a worker that offers it', async (t) => {
  const { h, books } = await market(2)
  const DOCKER = Number(await h.read<number>('OFFERS_DOCKER'))
  t.equal((await h.tx(addr(40), 'setOffers', [DOCKER])).error, 'NotRegistered')
  const p = await h.must(CLIENT, 'postJobWith', [SPEC, WORKLOAD, deadline(h), 600n, 10n, 1, DOCKER], PRICE)
  const jobId = ev(p, 'JobPosted').jobId as Hex
  t.notOk((await h.mine()).events.some((e) => e.eventName === 'JobAssigned'), 'no worker offers Docker: nobody is drawn')
  t.match(await job(h, jobId), { status: J.Open, drawBlock: 0n, needs: DOCKER })
  t.equal((await h.tx(addr(9), 'assign', [jobId])).error, 'NoWorkerAvailable', 'and nobody can ask for a draw that could not succeed')
  await h.must(addr(2), 'setOffers', [DOCKER])
  t.equal((await h.read<{ offers: number }>('getWorker', [addr(2)])).offers, DOCKER)
  await h.must(addr(9), 'assign', [jobId])
  t.equal(ev(await h.mine(), 'JobAssigned').worker, addr(2), 'the worker that offers it is drawn')
  const plain = await post(h)
  t.ok(plain.worker, 'a job without needs is drawn for anyone')
  await books(t)
})

t.test('onBlock is consensus\'s: a transaction cannot make the draws', async (t) => {
  const { h } = await market(2)
  await post(h)
  t.equal((await h.tx(addr(9), 'onBlock')).error, 'NotSystem')
  t.equal(await h.read('nextDrawBlock'), 0n, 'nothing waits')
  await h.must(CLIENT, 'postJob', [SPEC, WORKLOAD, deadline(h), 600n, 10n, 1], PRICE)
  t.equal(await h.read('nextDrawBlock'), h.number - 1n + BigInt(DRAW_DELAY), 'a dev node reads when to seal the block that draws')
  void SYSTEM
})

t.test('replica jobs (redundant, tolerance): every revert path', async (t) => {
  const { h, books } = await market(3)
  const zero = `0x${'00'.repeat(32)}` as Hex
  const postArgs = (mode: number, k: number) => [SPEC, WORKLOAD, deadline(h), 600n, 10n, 0, mode, k, 0n, zero, zero]
  t.equal((await h.tx(CLIENT, 'postReplicatedJob', postArgs(0, 2), 2n * PRICE)).error, 'WrongMode', 'no re-execution job through postReplicatedJob')
  t.equal((await h.tx(CLIENT, 'postReplicatedJob', postArgs(1, 1), 2n * PRICE)).error, 'BadReplicaCount', 'k ≥ 2')
  t.equal((await h.tx(CLIENT, 'postReplicatedJob', postArgs(1, 5), 5n * PRICE)).error, 'BadReplicaCount', 'k ≤ MAX_REPLICAS')
  t.equal((await h.tx(addr(1), 'setImages', [Array.from({ length: 33 }, (_, i) => keccak256(toHex(i)))])).error, 'TooManyImages')
  t.equal((await h.tx(addr(99), 'setImages', [[]])).error, 'NotRegistered')
  t.equal((await h.tx(addr(99), 'setUnitPrice', [1n])).error, 'NotRegistered')
  const jobId = ev(await h.must(CLIENT, 'postReplicatedJob', postArgs(1, 2), 2n * PRICE), 'JobPosted').jobId as Hex
  t.equal((await h.tx(CLIENT, 'settleReplicas', [jobId])).error, 'WrongJobStatus', 'nothing to settle before the draw')
  await h.mine()
  const [, , , , , , sessions] = await h.read<readonly [number, number, bigint, bigint, bigint, bigint, readonly Hex[]]>('getReplicas', [jobId])
  const [sa, sb] = sessions as Hex[]
  const wa = (await h.read<{ worker: Address }>('getSession', [sa])).worker
  const wb = (await h.read<{ worker: Address }>('getSession', [sb])).worker
  const c = fakeCommitment(SPEC, 1)
  const salt = keccak256(toHex('s'))
  const sealA = await h.read<Hex>('replicaSealHash', [sa, c.commitment, 0n, salt])
  t.equal((await h.tx(wb, 'commitReplica', [sa, sealA])).error, 'NotSessionWorker')
  t.equal((await h.tx(wa, 'commitReplica', [sa, zero])).error, 'BadCommitment', 'an empty seal')
  await h.must(wa, 'commitReplica', [sa, sealA])
  t.equal((await h.tx(wa, 'revealReplica', [sa, c, 0n, '0x', salt])).error, 'RevealNotOpenYet', 'not while B has not sealed')
  t.equal((await h.tx(CLIENT, 'settleReplicas', [jobId])).error, 'RoundNotOver', 'the round is not over')
  await h.must(wb, 'commitReplica', [sb, await h.read<Hex>('replicaSealHash', [sb, c.commitment, 0n, salt])])
  t.equal((await h.tx(wa, 'revealReplica', [sa, c, 1n, '0x', salt])).error, 'SealMismatch', 'another metric does not open the seal')
  t.equal((await h.tx(wa, 'revealReplica', [sa, fakeCommitment(SPEC, 2), 0n, '0x', salt])).error, 'SealMismatch', 'another result does not open it')
  t.equal((await h.tx(wa, 'expire', [sa])).error, 'WrongMode', 'replica sessions end in settleReplicas')
  t.equal((await h.tx(CLIENT, 'settleReplicas', [SPEC])).error, 'UnknownJob')
  h.advance(1000)
  t.equal((await h.tx(wa, 'revealReplica', [sa, c, 0n, '0x', salt])).error, 'RevealClosed', 'too late to reveal')
  const esc = await h.must(CLIENT, 'settleReplicas', [jobId])
  t.ok(ev(esc, 'ReplicasEscalated'), 'two hidden results escalate')
  t.equal((await h.tx(CLIENT, 'settleReplicas', [jobId])).error, 'DrawPending')
  await books(t)
})

t.test('tolerance reveals: the metric must be the one the committed metrics hold (every revert path)', async (t) => {
  const { h } = await market(3)
  const zero = `0x${'00'.repeat(32)}` as Hex
  const key = `0x${Buffer.from('testLoss').toString('hex').padEnd(64, '0')}` as Hex
  const args = (metric: Hex) => [SPEC, WORKLOAD, deadline(h), 600n, 10n, 0, 2, 2, 10_000_000n, zero, metric]
  t.equal((await h.tx(CLIENT, 'postReplicatedJob', args(zero), 2n * PRICE)).error, 'MetricNotFound', 'a tolerance job names its metric')
  const jobId = ev(await h.must(CLIENT, 'postReplicatedJob', args(key), 2n * PRICE), 'JobPosted').jobId as Hex
  await h.mine()
  const [, , , , , , sessions] = await h.read<readonly [number, number, bigint, bigint, bigint, bigint, readonly Hex[]]>('getReplicas', [jobId])
  const [sa, sb] = sessions as Hex[]
  const wa = (await h.read<{ worker: Address }>('getSession', [sa])).worker
  const wb = (await h.read<{ worker: Address }>('getSession', [sb])).worker
  const metrics = toHex('{"history":[{"testLoss":9}],"testLoss":0.25}')
  const c = fakeCommitment(SPEC, 1, { metricsHash: keccak256(metrics) })
  const salt = keccak256(toHex('s'))
  for (const [w, sid] of [[wa, sa], [wb, sb]] as const) await h.must(w, 'commitReplica', [sid, await h.read<Hex>('replicaSealHash', [sid, c.commitment, 500_000_000n, salt])])
  t.equal((await h.tx(wa, 'revealReplica', [sa, c, 500_000_000n, toHex('{"testLoss":0.5}'), salt])).error, 'MetricsMismatch', 'other metrics than the committed ones')
  const wrong = await h.tx(wa, 'revealReplica', [sa, c, 500_000_000n, metrics, salt])
  t.same([wrong.error, wrong.errorArgs], ['MetricMismatch', [250_000_000n]], 'the committed metrics say 0.25, not the sealed 0.5')
  t.equal((await h.tx(CLIENT, 'toleranceMetric', [toHex('{"testLoss":true}'), key])).error, 'MetricNotNumeric')
  t.equal((await h.tx(CLIENT, 'toleranceMetric', [toHex('{"trainLoss":1}'), key])).error, 'MetricNotFound')
  t.equal(await h.read<bigint>('toleranceMetric', [metrics, key]), 250_000_000n, 'the top-level key, not the nested one')
})

t.test('every custom error of the ABI is produced by some test', async (t) => {
  const h = await MarketHarness.deploy()
  const errors = (h.abi as unknown as { type: string; name?: string }[]).filter((x) => x.type === 'error').map((x) => x.name!)
  const missing = errors.filter((e) => !SEEN_ERRORS.has(e))
  t.same(missing, [], `errors without a test: ${missing.join(', ')}`)
})
