/**
 * What leaving costs: a rating cannot be whitewashed by a fresh identity, and a held session
 * cannot be abandoned for free (genesis/contracts/WorkMarket.md, "Who is drawn"), against the
 * real WorkMarket in the genesis test harness.
 *
 * - Whitewashing: two workers driven to the same poor rating by missed sessions; one registers
 *   a fresh address with the same bond (its best moment to do so is any: the test compares now
 *   and after 1, 2, 4 and 16 rating half-lives), the other keeps its identity. Before, a fresh
 *   identity started at the neutral 500 and the whitewasher's draw weight rose by 500/r; now a
 *   fresh identity starts at RATING_ENTRY (100), no rating falls below it, and both decay toward
 *   neutral along the same curve — the fresh identity never weighs more than the one it left.
 * - Hoarding: a worker takes every session it is drawn for and abandons each just before its
 *   commit time (the hoarder's best: it holds the session as long as abandon allows). Before,
 *   abandon cost rating only; now faultPenalty × the share of the commit window held, so the
 *   hoarder pays what a missed commit costs, while a worker that gives a session up at once (it
 *   cannot run it) pays almost nothing.
 */
import t from 'tap'
import { keccak256, toHex, type Address, type Hex } from 'viem'
import { addr, ETHER, MarketHarness, type TxOutcome } from './workmarketHarness.js'

t.setTimeout(600_000)
const CLIENT = addr(100)
const SPEC = keccak256(toHex('leaving-spec'))
const WORKLOAD = keccak256(toHex('mlp-train@1'))
const BOND = 2n * ETHER
const FAULT = ETHER / 10n

const weight = async (h: MarketHarness, a: Address) => (await h.read<readonly [bigint, bigint]>('drawWeight', [a]))[0]
const rating = (h: MarketHarness, a: Address) => h.read<number>('ratingOf', [a])
const bondOf = async (h: MarketHarness, a: Address) => (await h.read<{ bond: bigint }>('getWorker', [a])).bond

function assignments(o: TxOutcome): { sessionId: Hex; worker: Address; commitBy: bigint }[] {
  return o.events.filter((e) => e.eventName === 'JobAssigned').map((e) => ({ sessionId: e.args.sessionId as Hex, worker: e.args.worker as Address, commitBy: e.args.commitBy as bigint }))
}

async function register(h: MarketHarness, a: Address, bond = BOND) {
  await h.give(a, bond + 5n * ETHER)
  await h.must(a, 'register', [100n, 1, ''], bond)
}

/** One job posted and drawn; the sessions assigned then (a reopened job's too). */
async function draw(h: MarketHarness) {
  await h.must(CLIENT, 'postJob', [SPEC, WORKLOAD, h.timestamp + 100_000n, 600n, 10n, 1], ETHER / 100n)
  return assignments(await h.mine())
}

/** Every session drawn now misses its commit time and is expired. */
async function missAll(h: MarketHarness) {
  const all = await draw(h)
  if (all.length === 0) throw new Error('nobody drawn')
  const last = all.reduce((m, a) => (a.commitBy > m ? a.commitBy : m), 0n)
  h.advance(last - h.timestamp + 1n)
  for (const a of all) await h.must(CLIENT, 'expire', [a.sessionId])
}

t.test('whitewashing: a poorly rated worker that re-registers under a fresh address never weighs more', async (t) => {
  const h = await MarketHarness.deploy()
  const halfLife = h.config.ratingHalfLife
  await h.give(CLIENT, 100n * ETHER)
  const w = addr(1)
  await register(h, w)
  t.comment(`a fresh identity's rating: ${await rating(h, w)}`)
  // Established: three half-lives registered (a low entry rating decays toward neutral like any other).
  h.advance(3n * halfLife)
  t.comment(`after three half-lives: ${await rating(h, w)}`)
  // It misses sessions until it is rated below 300 (each miss: a quarter of the way to 0).
  for (let i = 0; i < 20 && (await rating(h, w)) >= 300; i++) await missAll(h)
  const poor = await rating(h, w)
  t.ok(poor < 300, `rated poorly: ${poor}`)
  // Its best play: a fresh address bonding what it has (the old identity stays registered here
  // only as the counterfactual — what keeping it is worth; leaving it changes nothing for the new one).
  const bond = await bondOf(h, w)
  const fresh = addr(2)
  await register(h, fresh, bond)
  const [before, after] = [await weight(h, w), await weight(h, fresh)]
  t.comment(`rating ${poor} → a fresh identity's ${await rating(h, fresh)}; weight ${before} → ${after}`)
  t.ok(after <= before, `the fresh identity weighs no more than the poorly rated one it replaces (before the rule: 500/${poor} = ${(500 / poor).toFixed(2)} ×)`)
  // Whenever it would start the fresh identity, both then decay toward neutral on the same curve.
  for (const halves of [1n, 1n, 2n, 12n]) {
    h.advance(halves * halfLife)
    t.ok((await weight(h, fresh)) <= (await weight(h, w)), `after ${halves} more half-lives: fresh ${await rating(h, fresh)} ≤ kept ${await rating(h, w)}`)
  }
  await h.checkBooks()
})

t.test('no rating falls below a fresh identity\'s: a worker at the floor gains nothing by re-registering', async (t) => {
  const h = await MarketHarness.deploy()
  await h.give(CLIENT, 100n * ETHER)
  const w = addr(1)
  await register(h, w)
  const entry = Number(await h.read<number>('RATING_ENTRY'))
  for (let i = 0; i < 6; i++) await missAll(h)
  t.equal(await rating(h, w), entry, `six missed sessions: the rating stays at RATING_ENTRY = ${entry}`)
  await register(h, addr(2), await bondOf(h, w))
  t.equal(await weight(h, addr(2)), await weight(h, w), 'a fresh identity with the same bond weighs the same')
})

t.test('hoarding: a worker that holds sessions and abandons them at the commit time pays what missing them costs', async (t) => {
  const h = await MarketHarness.deploy()
  await h.give(CLIENT, 100n * ETHER)
  const [hoarder, quitter] = [addr(1), addr(2)]
  await register(h, hoarder)
  await register(h, quitter)
  const held = { hoarder: 0, quitter: 0 }
  const gasAbandon: bigint[] = []
  for (let i = 0; i < 12; i++) {
    const drawn = await draw(h)
    // A worker that cannot run the job gives it up at once; the hoarder's sessions wait.
    for (const a of drawn.filter((x) => x.worker === quitter)) {
      await h.must(quitter, 'abandon', [a.sessionId])
      held.quitter++
    }
    for (const a of drawn.filter((x) => x.worker === hoarder)) {
      // The hoarder's best: keep the session (denying it to others) until the last second abandon allows.
      h.advance(a.commitBy - h.timestamp - 1n)
      t.equal(await h.read<bigint>('abandonPenalty', [a.sessionId]), (FAULT * 599n + 599n) / 600n, 'abandoning 1 s before the commit time costs ~faultPenalty')
      const r = await h.must(hoarder, 'abandon', [a.sessionId])
      gasAbandon.push(r.gasUsed!)
      held.hoarder++
    }
  }
  t.ok(held.hoarder > 0 && held.quitter > 0, `the hoarder held ${held.hoarder} sessions, the quitter gave up ${held.quitter}`)
  const hoarderLoss = BOND - (await bondOf(h, hoarder))
  const quitterLoss = BOND - (await bondOf(h, quitter))
  t.ok(hoarderLoss >= BigInt(held.hoarder) * (FAULT * 599n) / 600n, `the hoarder lost ${Number(hoarderLoss) / 1e18} coin of bond for ${held.hoarder} hoarded sessions (before: 0)`)
  t.ok(quitterLoss * 20n <= BigInt(held.quitter) * FAULT, `a worker giving sessions up at once lost ${Number(quitterLoss) / 1e18} coin for ${held.quitter} (≤ 5 % of faultPenalty each)`)
  t.ok(hoarderLoss > quitterLoss, 'the hoarder ends poorer')
  t.comment(`abandon gas: ${gasAbandon[0]}`)
  // And abandoning late costs no less than expiring: the hoarder cannot do better by letting it lapse.
  await h.checkBooks()
  t.equal(await h.totalCoins(), h.minted, 'coins conserved')
})
