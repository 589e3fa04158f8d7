/**
 * Attacks on the work market's draws and votes, each playing the attacker's best strategy
 * against the real contract (the genesis test harness: an in-process EVM, one transaction a
 * block, consensus's per-block system call) with attacker contracts compiled here with solc:
 *
 * - a grinding worker: a contract calls openVerification, reads the draw and reverts unless its
 *   colluder is the verifier, in every block — the draw must be the same in every try and the
 *   same whoever opens it and whenever (finding 1);
 * - an abandoning worker: commits a forged result and walks away — it must pay at least what
 *   not committing costs (finding 1);
 * - a producer (or any client contract) that posts a job only when the draw of that block gives
 *   it to its own worker (finding 1, `assign`/`postJob`);
 * - a colluding verifier that forces a tie to buy its worker a fresh draw (finding 5);
 * - a lazy verifier that votes accept without re-executing (finding 6);
 * - a verifier that reads every public signal to spot traps, against a hidden trap (finding 2).
 *
 * Each test fails on the contract before genesis/contracts/WorkMarket.md's rules (the draws in
 * onBlock, bond-costing wrong votes, tie escalation): there the attacker wins. Payoffs with the
 * default parameters are derived in WorkMarket.md.
 */
import t from 'tap'
import { encodeFunctionData, getAddress, keccak256, toHex, type Abi, type Address, type Hex } from 'viem'
import { acceptanceProbability, samplesDue } from '../../compute/verify/SamplingPolicy.js'
import { sampleSegments } from '../../compute/verify/SegmentSampler.js'
import { compileSolidity } from '../../test/helpers/solidity.js'
import { addr, bondIssuer, DRAW_DELAY, ETHER, fakeCommitment, ISSUER, MARKET, MarketHarness, type TxOutcome, S } from './workmarketHarness.js'

const ATTACKERS = `
// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

interface IMarket {
    function openVerification(bytes32 sessionId) external;
    function dutiesOf(address node) external view returns (bytes32[] memory working, bytes32[] memory verifying);
    function postJob(bytes32 specHash, bytes32 workloadId, uint64 deadline, uint64 maxDuration, uint64 units, uint8 verifiers) external payable returns (bytes32);
}

/// Opens the verification of its worker's session and keeps the draw only when its colluder is
/// drawn; any other draw is undone by the revert. One try per block, as many blocks as it likes.
contract Grinder {
    function grind(IMarket m, bytes32 sessionId, address colluder) external {
        m.openVerification(sessionId);
        (, bytes32[] memory verifying) = m.dutiesOf(colluder);
        for (uint256 i = 0; i < verifying.length; i++) if (verifying[i] == sessionId) return;
        revert("unfavourable draw");
    }
}

/// A client that posts its job only in a block whose draw hands it to its own worker — what the
/// producer of the block can do without a contract, since it knows its block's PREVRANDAO.
contract PostIfMine {
    receive() external payable {}

    function post(IMarket m, bytes32 spec, uint64 deadline, address mine) external payable returns (bytes32 jobId) {
        (bytes32[] memory before, ) = m.dutiesOf(mine);
        jobId = m.postJob{value: msg.value}(spec, spec, deadline, 600, 10, 1);
        (bytes32[] memory afterwards, ) = m.dutiesOf(mine);
        require(afterwards.length > before.length, "not assigned to mine");
    }
}
`

const compiled = compileSolidity({ 'Attackers.sol': ATTACKERS })
const GRINDER = getAddress('0x000000000000000000000000000000000000a77a')
const POSTER = getAddress('0x000000000000000000000000000000000000a77b')
const grinderAbi = compiled.Grinder!.abi as Abi
const posterAbi = compiled.PostIfMine!.abi as Abi

const CLIENT = addr(100)
const EOA = addr(66) // the attacker's sending account
const SPEC = keccak256(toHex('attack-spec'))
const PRICE = ETHER
/** Iris: 20 segments (21 checkpoints), what the payoff derivation of WorkMarket.md section 3 assumes. */
const IRIS_CHECKPOINTS = 21n

/**
 * WorkMarket.md sections 2–3 at today's defaults (devWorkMarketConfig, samplesDue), price P coins,
 * k verifiers, m = 20 segments, the worker's bond B = 2 (slash S = 1), its compute W = 0.85 P:
 * a faking worker's gain over working honestly, forging n of 20 segments, Δ(n) = n/20·W −
 * d·(0.85 P + S) with d = 1 − miss(n)^k at s = samplesDue(20, k); a verifier's re-execution cost
 * c = s/20·W and the share q* of reject outcomes above which guessing "accept" loses,
 * q* = c / (X + H): forgeries alone X = wrongVotePenalty(P) = max(P, 0.1), H = S/2 over k rejecters;
 * hidden traps X = max(wrongVotePenalty, half the bond a drawn verifier must hold,
 * max(1, 16 P)), H = trapReward 0.01.
 */
function derivedPayoffs(P: number, k: number) {
  const m = 20
  const s = samplesDue(m, k)
  const W = 0.85 * P
  const S = 1
  const faker = (n: number) => (n / m) * W - (1 - acceptanceProbability(m, n, s, k)) * (0.85 * P + S)
  const c = (s / m) * W
  const wrongVote = Math.max(P, 0.1)
  const qStarForgeries = c / (wrongVote + S / 2 / k)
  const qStarTraps = c / (Math.max(wrongVote, 0.5 * Math.max(1, 16 * P)) + 0.01)
  return { s, c, faker, qStarForgeries, qStarTraps }
}
const ev = MarketHarness.event

interface SessionView {
  worker: Address
  status: number
  round: number
  randomness: Hex
  verifiers: readonly Address[]
  selectedBlock: bigint
  votesBy: bigint
  revealBy: bigint
  result: { commitment: Hex }
}
const session = (h: MarketHarness, id: Hex) => h.read<SessionView>('getSession', [id])
const bondOf = async (h: MarketHarness, a: Address) => (await h.read<{ bond: bigint }>('getWorker', [a])).bond
const rating = (h: MarketHarness, a: Address) => h.read<number>('ratingOf', [a])

async function register(h: MarketHarness, a: Address, bond = 2n * ETHER) {
  await h.give(a, 10n * ETHER)
  await h.must(a, 'register', [100n, 1, ''], bond)
}

/** The JobAssigned of `jobId` in any of the outcomes (in the posting transaction before the draws moved to onBlock). */
function assignment(outcomes: TxOutcome[], jobId?: Hex): { sessionId: Hex; worker: Address } | undefined {
  for (const o of outcomes) {
    const a = o.events.find((e) => e.eventName === 'JobAssigned' && (!jobId || e.args.jobId === jobId))
    if (a) return { sessionId: a.args.sessionId as Hex, worker: a.args.worker as Address }
  }
  return undefined
}

/** The reason of a revert: Error(string), else the name of the market's custom error. */
function revertReason(h: MarketHarness, data: Hex): string {
  if (data.startsWith('0x08c379a0')) return Buffer.from(data.slice(138), 'hex').toString('utf8').replace(/\0+$/, '')
  return h.decodeError(data).error ?? data.slice(0, 10)
}

const salt = (v: Address, round: number) => keccak256(toHex(`salt-${v}-${round}`))
/** Every verifier of the current round votes `verdict(v)` (commit, reveal); then finalize. */
async function decide(h: MarketHarness, sessionId: Hex, verdict: (v: Address) => boolean): Promise<TxOutcome> {
  const s = await session(h, sessionId)
  for (const v of s.verifiers) await h.must(v, 'commitVote', [sessionId, await h.verdictHash(sessionId, s.round, v, verdict(v), salt(v, s.round))])
  for (const v of s.verifiers) await h.mustRevealVerdict(v, sessionId, verdict(v), salt(v, s.round))
  return h.must(addr(99), 'finalize', [sessionId])
}

// ---------------------------------------------------------------------------------------------

/**
 * The attacker's worker (addr 1) is the only worker when the client's job is drawn, so it gets
 * it; then its colluder (addr 2) and eight honest workers register. It commits a forged result
 * and, in `grind` mode, its contract tries openVerification in each of the next 40 blocks,
 * keeping only a draw of its colluder. In `idle` mode nobody does anything for those blocks.
 */
async function grindingWorker(mode: 'grind' | 'idle', randaoAt: (n: bigint) => Hex | undefined = () => undefined) {
  const h = await MarketHarness.deploy()
  for (let n = 1n; n < 200n; n++) {
    const r = randaoAt(n)
    if (r) h.randaoAt.set(n, r)
  }
  const attacker = addr(1)
  const colluder = addr(2)
  await h.give(CLIENT, 100n * ETHER)
  await register(h, attacker)
  const p = await h.must(CLIENT, 'postJob', [SPEC, SPEC, h.timestamp + 3600n, 600n, 10n, 1], PRICE)
  const a = assignment([p, await h.mine()])!
  for (let i = 2; i <= 10; i++) await register(h, addr(i))
  await h.install(GRINDER, compiled.Grinder!.bytecode)
  const forged = fakeCommitment(SPEC, 666)
  await h.must(attacker, 'commitResult', [a.sessionId, forged])
  const commitBlock = h.number - 1n
  let wins = 0
  const gas: bigint[] = []
  const reasons = new Set<string>()
  for (let i = 0; i < 40; i++) {
    if (mode === 'grind') {
      const r = await h.txTo(EOA, GRINDER, encodeFunctionData({ abi: grinderAbi, functionName: 'grind', args: [MARKET, a.sessionId, colluder] }))
      gas.push(r.gasUsed)
      if (r.ok) wins++
      else reasons.add(revertReason(h, r.returnValue))
    } else await h.mine(1)
  }
  return { h, sid: a.sessionId, attacker, colluder, commitBlock, wins, gas, reasons, s: await session(h, a.sessionId), forged }
}

t.test('grinding worker: a contract retrying openVerification in 40 blocks never changes the draw; who opens and when does not matter', async (t) => {
  const idle = await grindingWorker('idle')
  const grind = await grindingWorker('grind')
  t.equal(grind.wins, 0, 'no try kept a draw: openVerification cannot draw, only the protocol does')
  const tried = grind.gas.filter((g) => g > 0n)
  t.comment(`40 tries of the grinding contract: ${tried.reduce((x, y) => x + y, 0n) / BigInt(tried.length)} gas each on average, ${grind.wins} kept; reverts: ${[...grind.reasons].join(', ')}`)
  t.equal(idle.s.verifiers.length, 1, 'with nobody calling anything, the session was drawn all the same')
  t.equal(idle.s.selectedBlock, idle.commitBlock + BigInt(DRAW_DELAY), 'in the block fixed by the commitment: DRAW_DELAY blocks later')
  t.same(grind.s.verifiers, idle.s.verifiers, 'the grinder got exactly the draw nobody asked for')
  t.equal(grind.s.randomness, idle.s.randomness, 'and the same randomness')
  t.notOk(idle.s.verifiers.includes(grind.colluder), 'this draw (harness randomness) is an honest verifier: the colluder had a 1 in 9 chance, once')

  // Only the scheduled block's PREVRANDAO counts: every other block's may be anything.
  const drawBlock = idle.commitBlock + BigInt(DRAW_DELAY)
  const others = await grindingWorker('grind', (n) => (n === drawBlock ? undefined : keccak256(toHex(`other-${n}`))))
  t.same(others.s.verifiers, idle.s.verifiers, 'other blocks\' randomness (the attacker\'s own blocks, if it produces them) changes nothing')
  t.equal(others.s.randomness, idle.s.randomness)
  const moved = await grindingWorker('idle', (n) => (n === drawBlock ? keccak256(toHex('another mix')) : undefined))
  t.not(moved.s.randomness, idle.s.randomness, 'while the draw block\'s does decide it')

  // The segment sample of the verifier is fixed with the draw (compute's sampler, 9 of 20 at the default floor).
  const v = idle.s.verifiers[0]!
  const seedIdle = await idle.h.read<Hex>('verifierSeed', [idle.sid, v])
  const seedGrind = await grind.h.read<Hex>('verifierSeed', [grind.sid, v])
  t.equal(seedGrind, seedIdle, 'the verifier\'s sample seed is the same')
  t.same(sampleSegments(seedGrind, grind.forged.commitment, 20, 9), sampleSegments(seedIdle, idle.forged.commitment, 20, 9), 'and so are the segments it re-executes')

  // The honest verifier re-executes, finds the forgery, rejects: the attacker is poorer and has no receipt.
  const { h, sid, attacker } = grind
  const before = await bondOf(h, attacker)
  // Its reject goes to a fresh panel (the fraud-proof rule: no worker is cut on round 0's word alone), which finds the same.
  t.ok((await decide(h, sid, () => false)).events.some((e) => e.eventName === 'VerificationRestarted'), 'round 1 re-checks the reject')
  await h.mine()
  const fin = await decide(h, sid, () => false)
  t.equal(ev(fin, 'SessionFinalized').status, S.Rejected)
  t.equal(await bondOf(h, attacker), before / 2n, 'half of its bond is cut')
  t.ok((await rating(h, attacker)) <= 250)
  t.equal((await h.read<[boolean]>('isAcceptedReceipt', [sid, attacker]))[0], false, 'no receipt: no producer weight')
  await h.checkBooks()
})

t.test('abandoning worker: a forged session cannot be left to expire unverified; walking away costs more than not committing', async (t) => {
  const h = await MarketHarness.deploy()
  const attacker = addr(1)
  const verifier = addr(2)
  const lazyWorker = addr(3)
  await h.give(CLIENT, 100n * ETHER)
  await register(h, attacker)
  const p = await h.must(CLIENT, 'postJob', [SPEC, SPEC, h.timestamp + 1000n, 500n, 10n, 1], PRICE)
  const a = assignment([p, await h.mine()])!
  t.equal(a.worker, attacker)
  await register(h, verifier)
  await h.must(attacker, 'commitResult', [a.sessionId, fakeCommitment(SPEC, 7)])
  t.equal((await h.tx(attacker, 'abandon', [a.sessionId])).error, 'WrongSessionStatus', 'no abandoning a committed session')
  // The attacker opens nothing and withholds its checkpoints. Its session is drawn anyway; the
  // verifier cannot fetch the checkpoints and votes reject (MarketWorker does after 20 tries).
  await h.mine()
  for (const v of (await session(h, a.sessionId)).verifiers) {
    await h.must(v, 'commitVote', [a.sessionId, await h.read<Hex>('voteHash', [a.sessionId, 0, v, false, salt(v, 0)])])
    await h.must(v, 'revealVote', [a.sessionId, false, salt(v, 0)])
  }
  const s = await session(h, a.sessionId)
  if (s.verifiers.length) await h.must(addr(99), 'finalize', [a.sessionId])
  h.advance(2000n) // past the deadline and both windows: what expire of an unopened session waited for
  const expired = await h.tx(attacker, 'expire', [a.sessionId])
  t.notOk(expired.ok, 'no expiry without cost')
  t.equal((await session(h, a.sessionId)).status, S.Rejected, 'rejected instead')
  const walkedAwayCost = 2n * ETHER - (await bondOf(h, attacker))
  t.equal(walkedAwayCost, ETHER, 'it lost half of its 2-coin bond')
  t.ok((await rating(h, attacker)) <= 250, 'and half its rating')

  // Not committing at all, for comparison: faultPenalty (0.1) and a quarter of the rating.
  await register(h, lazyWorker)
  await h.must(verifier, 'requestExit')
  await h.must(attacker, 'requestExit') // (still 1 coin bonded: drawn by bond × rating, it could take the job)
  const q = await h.must(CLIENT, 'postJob', [SPEC, SPEC, h.timestamp + 1000n, 500n, 10n, 1], PRICE)
  const b = assignment([q, await h.mine()])!
  t.equal(b.worker, lazyWorker)
  h.advance(600n)
  await h.must(addr(9), 'expire', [b.sessionId])
  const missedCost = 2n * ETHER - (await bondOf(h, lazyWorker))
  t.equal(missedCost, h.config.faultPenalty)
  t.ok(walkedAwayCost >= missedCost, `walking away after committing (${walkedAwayCost}) costs at least not committing (${missedCost})`)
  t.ok((await rating(h, attacker)) <= (await rating(h, lazyWorker)), 'in rating too')
  await h.checkBooks()
})

/** Five workers of equal weight, one of them the attacker's; the attacker posts from a contract (or as a block's producer). */
async function postingProducer(randaoAt: (n: bigint) => Hex | undefined = () => undefined) {
  const h = await MarketHarness.deploy()
  for (let n = 1n; n < 200n; n++) {
    const r = randaoAt(n)
    if (r) h.randaoAt.set(n, r)
  }
  const mine = addr(1)
  for (let i = 1; i <= 5; i++) await register(h, addr(i))
  await h.install(POSTER, compiled.PostIfMine!.bytecode, 100n * ETHER)
  return { h, mine }
}

t.test('a producer (or a client contract) posting only when the draw favours its own worker gains nothing: the worker is drawn from a later block', async (t) => {
  const { h, mine } = await postingProducer()
  await h.give(EOA, 100n * ETHER)
  let wins = 0
  const reasons = new Set<string>()
  for (let i = 0; i < 30; i++) {
    const r = await h.txTo(EOA, POSTER, encodeFunctionData({ abi: posterAbi, functionName: 'post', args: [MARKET, SPEC, h.timestamp + 3600n, mine] }), PRICE)
    if (r.ok) wins++
    else reasons.add(revertReason(h, r.returnValue))
  }
  t.equal(wins, 0, 'in 30 blocks the job was never drawn in the block that posted it (its own worker has 1 in 5 per block)')
  t.same([...reasons], ['not assigned to mine'], 'every try was posted and undone by the attacker for an unfavourable draw')

  // The producer of the posting block knows (and could pick) that block's PREVRANDAO: it does not decide the worker.
  const post = async (postingRandao: Hex) => {
    const x = await postingProducer((n) => (n === 12n ? postingRandao : undefined))
    await x.h.give(CLIENT, 10n * ETHER)
    while (x.h.number < 12n) await x.h.mine(1)
    const p = await x.h.txTo(CLIENT, MARKET, encodeFunctionData({ abi: x.h.abi, functionName: 'postJob', args: [SPEC, SPEC, x.h.timestamp + 3600n, 600n, 10n, 1] }), PRICE)
    return assignment([p, await x.h.mine(DRAW_DELAY + 1)])
  }
  const a1 = await post(keccak256(toHex('producer choice 1')))
  const a2 = await post(keccak256(toHex('producer choice 2')))
  const a3 = await post(keccak256(toHex('producer choice 3')))
  t.ok(a1 && a2 && a3, 'each job was drawn')
  t.same([a2!.worker, a3!.worker], [a1!.worker, a1!.worker], 'whatever PREVRANDAO the posting block had, the same worker is drawn')
})

t.test('a colluding verifier that forces a tie buys nothing: a larger panel decides, and the colluder pays with its bond', async (t) => {
  const h = await MarketHarness.deploy()
  const attacker = addr(1)
  const colluder = addr(2)
  const honest = addr(3)
  await h.give(CLIENT, 100n * ETHER)
  await register(h, attacker)
  const p = await h.must(CLIENT, 'postJob', [SPEC, SPEC, h.timestamp + 3600n, 600n, 10n, 2], PRICE)
  const a = assignment([p, await h.mine()])!
  t.equal(a.worker, attacker)
  await register(h, colluder)
  await register(h, honest)
  await h.must(attacker, 'commitResult', [a.sessionId, fakeCommitment(SPEC, 5)])
  await h.tx(addr(99), 'openVerification', [a.sessionId]) // what a node would do; the draw is the protocol's
  await h.mine()
  t.same([...(await session(h, a.sessionId)).verifiers].sort(), [colluder, honest].sort(), 'the colluder is on the panel of two')
  for (let i = 4; i <= 8; i++) await register(h, addr(i)) // the rest of the market
  const colluderBond = await bondOf(h, colluder)
  // The colluder votes accept against the honest reject: a tie.
  await decide(h, a.sessionId, (v) => v !== honest)
  // The attacker's best continuation: another draw, and its colluder voting accept again if drawn.
  await h.tx(addr(99), 'openVerification', [a.sessionId])
  await h.mine()
  const s1 = await session(h, a.sessionId)
  t.equal(s1.round, 1)
  t.equal(s1.verifiers.length, 5, 'round 1: a fresh odd panel of 2k + 1')
  t.notOk(s1.verifiers.includes(colluder), 'without the round-0 panel')
  const fin = await decide(h, a.sessionId, (v) => v === colluder)
  t.equal(ev(fin, 'SessionFinalized').status, S.Rejected, 'the forgery is rejected')
  t.equal(colluderBond - (await bondOf(h, colluder)), PRICE, 'the colluder\'s tie-forcing vote cost it the price of the job from its bond')
  t.equal(await bondOf(h, attacker), ETHER, 'the attacker lost half of its bond')
  t.equal((await h.read<[boolean]>('isAcceptedReceipt', [a.sessionId, attacker]))[0], false)
  await h.checkBooks()
})

t.test('a lazy verifier that always votes accept loses money once forgeries exist; the honest verifier earns', async (t) => {
  const h = await MarketHarness.deploy()
  const lazy = addr(3)
  const careful = addr(4)
  const [w1, w2] = [addr(1), addr(2)]
  await h.give(CLIENT, 100n * ETHER)
  // The two verifiers hold one long job each (never committed), so they are never drawn as workers.
  await register(h, lazy)
  await register(h, careful)
  for (let i = 0; i < 2; i++) {
    await h.must(CLIENT, 'postJob', [keccak256(toHex(`hold-${i}`)), SPEC, h.timestamp + 100_000n, 90_000n, 10n, 1], PRICE)
    await h.mine()
  }
  await register(h, w1)
  await register(h, w2)
  const worth = async (a: Address) => (await h.balance(a)) + (await bondOf(h, a))
  const start = { lazy: await worth(lazy), careful: await worth(careful) }
  let forgedSessions = 0
  let sessions = 0
  for (let i = 0; i < 8; i++) {
    const forged = i % 4 === 1 // a quarter of the jobs meet a forger first
    const spec = keccak256(toHex(`job-${i}`))
    const p = await h.must(CLIENT, 'postJob', [spec, SPEC, h.timestamp + 3600n, 600n, 10n, 3], PRICE)
    let a = assignment([p, await h.mine()], ev(p, 'JobPosted').jobId as Hex)!
    for (let attempt = 0; ; attempt++) {
      const cheat = forged && attempt === 0
      await h.must(a.worker, 'commitResult', [a.sessionId, fakeCommitment(spec, cheat ? 1000 + i : i, { checkpointCount: IRIS_CHECKPOINTS })])
      await h.tx(addr(99), 'openVerification', [a.sessionId])
      await h.mine()
      sessions++
      if (cheat) forgedSessions++
      // The lazy verifier accepts everything; the careful one and the other worker re-execute.
      const fin = await decide(h, a.sessionId, (v) => v === lazy || !cheat)
      if (ev(fin, 'SessionFinalized').status === S.Accepted) break
      const next = assignment([fin, await h.mine()])
      if (!next) break
      a = next
    }
  }
  const lazyGain = (await worth(lazy)) - start.lazy
  const carefulGain = (await worth(careful)) - start.careful
  // Today's sampling: the careful verifier re-executes samplesDue(20, 3) = 18 of 20 segments of
  // work the price pays 0.85 P for (was 9 of 20 at the old floor).
  const due = Number(await h.read<bigint>('samplesDue', [20n, 3n]))
  t.equal(due, samplesDue(20, 3), 'the contract\'s sample = compute\'s (18 of 20)')
  const compute = (BigInt(sessions) * PRICE * 85n * BigInt(due)) / (100n * 20n)
  const q = forgedSessions / sessions
  const payoff = derivedPayoffs(Number(PRICE) / 1e18, 3)
  t.comment(`${sessions} sessions, ${forgedSessions} forged (q = ${(q * 100).toFixed(0)} %): lazy verifier ${Number(lazyGain) / 1e18} coins; careful verifier ${Number(carefulGain) / 1e18} coins, ${Number(carefulGain - compute) / 1e18} after re-executing ${due} of 20 segments (${Number(compute) / 1e18}); q* with forgeries alone ${(payoff.qStarForgeries * 100).toFixed(0)} %`)
  t.ok(lazyGain < 0n, 'guessing lost coins')
  t.ok(carefulGain > lazyGain, 'and less than checking earned, before the cost of checking')
  // With forgeries alone (no traps) and q below q*, re-executing costs more than guessing loses:
  // as derived (WorkMarket.md section 3) — the reason the protocol plants hidden traps.
  t.ok(q < payoff.qStarForgeries, `q = ${q.toFixed(2)} < q* = ${payoff.qStarForgeries.toFixed(2)}`)
  t.ok(carefulGain - compute < lazyGain, 'so, compute counted, guessing beat re-executing here, as the derivation says')
  await h.checkBooks()
})

t.test('a verifier that reads every public signal cannot tell a hidden trap from an honest session; at the default Iris price guessing "accept" loses', async (t) => {
  const ISSUER_ID = addr(1) // one of the control issuer's ordinary worker identities
  const honestWorker = addr(2)
  const reader = addr(3) // votes reject on anything labelled (control task, planted trap), accept otherwise
  const careful = addr(4)
  const h = await MarketHarness.deploy({ fund: 10n * ETHER })
  await bondIssuer(h)
  const price = h.config.minJobPrice // 0.001 coin: what the default unit price asks for Iris (6 units)
  await h.give(CLIENT, 100n * ETHER)
  await register(h, reader)
  await register(h, careful)
  for (let i = 0; i < 2; i++) {
    // The two verifiers each hold a long job, so only the two workers are drawn to work.
    await h.must(CLIENT, 'postJob', [keccak256(toHex(`hold-${i}`)), SPEC, h.timestamp + 100_000n, 90_000n, 10n, 1], price)
    await h.mine()
  }
  await register(h, ISSUER_ID)
  await register(h, honestWorker)
  const worth = async (a: Address) => (await h.balance(a)) + (await bondOf(h, a))
  const start = { reader: await worth(reader), careful: await worth(careful) }
  const signals = new Map<'trap' | 'honest', string>()
  let traps = 0
  let sessions = 0
  // At least 8 jobs, and until the issuer's identity has also worked honestly (more workers join at the trap).
  for (let i = 0; i < 8 || (!signals.has('honest') && i < 40); i++) {
    const spec = keccak256(toHex(`iris-${i}`))
    const p = await h.must(CLIENT, 'postJob', [spec, SPEC, h.timestamp + 3600n, 600n, 6n, 3], price)
    const jobId = ev(p, 'JobPosted').jobId as Hex
    let a = assignment([await h.mine()], jobId)!
    for (;;) {
      const trap = a.worker === ISSUER_ID && traps === 0
      const trapSalt = keccak256(toHex(`trap-salt-${i}`))
      const seal = trap ? await h.read<Hex>('trapSeal', [a.sessionId, trapSalt]) : keccak256(toHex(`random-${i}-${a.sessionId}`))
      const c = await h.must(a.worker, 'commitResult', [a.sessionId, fakeCommitment(spec, trap ? 9000 + i : i, { seal, checkpointCount: IRIS_CHECKPOINTS })])
      const drawn = await h.mine()
      sessions++
      // Everything the reader can see before voting: the job, the session, the events so far.
      const j = await h.read<{ control: boolean; sealedAnswer: Hex; controlSalt: Hex; client: Address; needs: number; attempts: number }>('getJob', [jobId])
      const s = await session(h, a.sessionId)
      const seen = JSON.stringify({
        control: j.control,
        sealedAnswer: j.sealedAnswer,
        controlSalt: j.controlSalt,
        clientIsClient: j.client === CLIENT,
        needs: j.needs,
        trap: (s as unknown as { trap: boolean }).trap,
        workerRegistered: (await h.read<{ registered: boolean }>('getWorker', [a.worker])).registered,
        events: [...p.events, ...c.events, ...drawn.events].filter((e) => e.args.sessionId === a.sessionId || e.args.jobId === jobId || e.args.id === jobId || e.args.id === a.sessionId).map((e) => e.eventName),
      })
      if (a.worker === ISSUER_ID) signals.set(trap ? 'trap' : 'honest', seen)
      const labelled = j.control || (s as unknown as { trap: boolean }).trap
      const verdict = (v: Address) => (v === reader ? !labelled : !trap)
      // Commit; the issuer opens its trap once every vote is in; reveal; finalize.
      for (const v of s.verifiers) await h.must(v, 'commitVote', [a.sessionId, await h.verdictHash(a.sessionId, s.round, v, verdict(v), salt(v, s.round))])
      if (trap) {
        await h.must(ISSUER, 'openTrap', [a.sessionId, trapSalt])
        traps++
      }
      for (const v of s.verifiers) await h.mustRevealVerdict(v, a.sessionId, verdict(v), salt(v, s.round))
      // Three more identities join before the trap is decided: re-executors a dispute can draw.
      if (trap) for (let p = 5; p <= 7; p++) await register(h, addr(p))
      let fin = await h.must(addr(99), 'finalize', [a.sessionId])
      if (fin.events.some((e) => e.eventName === 'VerificationRestarted')) {
        // The reader's accept disputed the trap: a fresh panel (the other identities) re-executes.
        await h.mine()
        const s1 = await session(h, a.sessionId)
        for (const v of s1.verifiers) await h.must(v, 'commitVote', [a.sessionId, await h.verdictHash(a.sessionId, 1, v, verdict(v), salt(v, 1))])
        for (const v of s1.verifiers) await h.mustRevealVerdict(v, a.sessionId, verdict(v), salt(v, 1))
        h.advance(5n)
        fin = await h.must(addr(99), 'finalize', [a.sessionId])
      }
      if (ev(fin, 'SessionFinalized').status === S.Accepted) break
      a = assignment([fin, await h.mine()], jobId)!
    }
  }
  t.equal(traps, 1, 'one hidden trap among the sessions')
  t.ok(signals.has('honest'), 'the issuer\'s identity also worked honestly')
  t.equal(signals.get('trap'), signals.get('honest'), 'before the votes, the trap shows exactly what an honest session of the same worker shows')
  const readerGain = (await worth(reader)) - start.reader
  const carefulGain = (await worth(careful)) - start.careful
  // Today's sampling: samplesDue(20, 3) = 18 of 20 segments of the work the price pays (was 9 of 20).
  const due = BigInt(samplesDue(20, 3))
  const compute = (BigInt(sessions) * price * 85n * due) / (100n * 20n)
  const payoff = derivedPayoffs(Number(price) / 1e18, 3)
  t.comment(`${sessions} sessions, 1 hidden trap (q = ${((1 / sessions) * 100).toFixed(0)} %), price ${Number(price) / 1e18}: label-reading verifier ${Number(readerGain) / 1e18} coins; careful verifier ${Number(carefulGain) / 1e18} coins, ${Number(carefulGain - compute) / 1e18} after re-executing ${due} of 20 segments; q* (hidden traps) at this price ${(payoff.qStarTraps * 100).toFixed(2)} %`)
  t.ok(1 / sessions > payoff.qStarTraps, 'the trap rate here is above q*')
  t.ok(readerGain < 0n, 'the label reader lost coins')
  t.ok(carefulGain - compute > readerGain, 'and did worse than re-executing, compute counted')
  // Re-executing pays in absolute terms when the trap rewards cover the compute the fees do not:
  // one trapReward over `sessions` sessions of compute. How many sessions it takes the issuer's
  // identity to also work honestly depends on the draws (with RATING_ENTRY = 100 the honest
  // worker's early successes weigh more than they did from 500), so the run states which side it is on.
  const fees = (BigInt(sessions) * price * 10n) / 100n / 3n
  const covered = h.config.trapReward + fees > compute
  t.equal(carefulGain - compute > 0n, covered, `re-executing ${covered ? 'paid' : 'did not pay'} in absolute terms: ${sessions} sessions' compute ${Number(compute) / 1e18} against one trap reward and the fees (${Number(h.config.trapReward + fees) / 1e18})`)
  await h.checkBooks()
})

t.test('payoffs at today\'s sampling (samplesDue): a faking worker loses at every forged count, guessing loses above q* — derived with the contract\'s numbers', async (t) => {
  const h = await MarketHarness.deploy()
  const cfg = h.config
  // The derivation's inputs are the contract's own.
  t.equal(Number(await h.read<bigint>('samplesDue', [20n, 1n])), 19, 'k = 1: 19 of 20')
  t.equal(Number(await h.read<bigint>('samplesDue', [20n, 3n])), 18, 'k = 3: 18 of 20')
  t.equal(cfg.slashBps, 5000)
  t.equal(cfg.faultPenalty, ETHER / 10n)
  t.equal(cfg.trapReward, ETHER / 100n)
  t.equal(await h.read<bigint>('wrongVotePenalty', [ETHER / 1000n]), ETHER / 10n, 'wrongVotePenalty at the Iris price: the 0.1 floor')
  const one = derivedPayoffs(1, 1)
  const three = derivedPayoffs(1, 3)
  const rows: string[] = []
  for (const n of [1, 2, 5, 10, 20]) {
    rows.push(`forged ${n} of 20: k = 1 ${one.faker(n).toFixed(3)}, k = 3 ${three.faker(n).toFixed(3)}`)
  }
  for (let n = 1; n <= 20; n++) t.ok(one.faker(n) < 0 && three.faker(n) < 0, `forging ${n} of 20 loses (k = 1: ${one.faker(n).toFixed(3)}, k = 3: ${three.faker(n).toFixed(3)} coins a session at P = 1)`)
  t.ok(Math.abs(one.faker(1) - -1.715) < 1e-9, 'one forged segment, k = 1: caught 95 % of the time, Δ = −1.715 (was −0.79 at 9 of 20)')
  t.ok(Math.abs(three.faker(1) - -(1.85 * 0.999 - 0.0425)) < 1e-9, 'k = 3: caught 1 − 0.1³, Δ = −1.806 (was −0.74)')
  t.ok(Math.abs(one.faker(2) - -(1.85 - 0.085)) < 1e-9, 'two forged (10 %): always caught at 19 of 20, Δ = −1.765 (was −1.23)')
  for (const r of rows) t.comment(r)
  // The verifier: re-executing 19 of 20 costs 0.8075 P (k = 1), 18 of 20 0.765 P (k = 3): was 0.38 P.
  t.ok(Math.abs(one.c - 0.8075) < 1e-9 && Math.abs(three.c - 0.765) < 1e-9, 'c = 0.8075 P (k = 1), 0.765 P (k = 3)')
  const iris = derivedPayoffs(0.001, 1)
  const big = derivedPayoffs(1, 1)
  const table = [
    ['Iris price 0.001, k = 1', iris],
    ['0.1 coin, k = 1', derivedPayoffs(0.1, 1)],
    ['1 coin, k = 1', big],
    ['1 coin, k = 3', three],
  ] as const
  for (const [name, p] of table) t.comment(`${name}: c = ${p.c.toPrecision(3)}, q* forgeries alone ${(p.qStarForgeries * 100).toFixed(2)} %, q* hidden traps ${(p.qStarTraps * 100).toFixed(2)} %`)
  t.ok(Math.abs(iris.qStarTraps - 0.00080750 / 0.51) < 1e-9, `Iris: guessing loses once ${(iris.qStarTraps * 100).toFixed(2)} % of sessions are hidden traps (was 0.07 %)`)
  t.ok(Math.abs(big.qStarTraps - 0.8075 / 8.01) < 1e-9, `1 coin: once ${(big.qStarTraps * 100).toFixed(1)} % are traps (was 4.7 %)`)
  // Any price ≥ 1/16 coin: X ≥ 8 P, so q* ≤ 0.8075 / 8 ≈ 10.1 % — the trap rate the issuer must run for small (20-segment) jobs.
  for (const P of [1 / 16, 0.25, 1, 4, 100]) t.ok(derivedPayoffs(P, 1).qStarTraps <= 0.8075 / 8, `P = ${P}: q* ≤ 10.1 %`)
  t.ok(big.qStarForgeries > 0.5, `forgeries alone at 1 coin: q* = ${(big.qStarForgeries * 100).toFixed(0)} % (was 25 %): without traps, guessing pays unless most sessions are forged`)
})
