/**
 * A market of honest workers, forging workers and lazy verifiers, played against the real
 * WorkMarket and ValidatorSet contracts over many seeded runs (fast-check):
 *
 * - honest workers re-execute their jobs and, as verifiers, re-execute the segments their
 *   `verifierSeed` samples (the node's sampleSegments, samplesDue(20, k): 19 of 20 for k = 1, 18 for k = 3) and reject a session when a
 *   sampled segment is forged;
 * - forgers commit results with K of 20 segments forged (K drawn per run: 1, 2, 5 or 10 — they
 *   cannot know the sample when they commit, so which segments does not matter) and, drawn as
 *   verifiers, vote accept on everything (they collude with every forger);
 * - lazy verifiers work honestly but vote accept without re-executing anything.
 *
 * Every run checks: coins are conserved to the wei and the market's books balance; an honest
 * worker's session is never rejected and its bond never cut as a worker; a forger never ends
 * richer than an honest worker of the same sessions; a forger that was caught holds weight only
 * from sessions accepted after its last catch (weight forfeiture), so at the end of a run a
 * forger's weight comes only from forgeries nobody has caught yet. Over all runs it prints the
 * figures (forged sessions accepted, forgers' surviving weight, honest verifiers outvoted).
 */
import fc from 'fast-check'
import t from 'tap'
import { keccak256, toHex, type Address, type Hex } from 'viem'
import { samplesDue } from '../../compute/verify/SamplingPolicy.js'
import { sampleSegments } from '../../compute/verify/SegmentSampler.js'
import { fakeCommitment } from './workmarketHarness.js'
import { ETHER, PovHarness, who } from './validatorsetHarness.js'

t.setTimeout(600_000) // 6 seeded markets of 16 jobs each, every reject re-checked by a panel
const SEGMENTS = 20
const WORKLOAD = keccak256(toHex('mlp-train@1'))
const PRICE = ETHER
const BOND = 5n * ETHER
const RUNS = Number(process.env.POVCHAIN_ECONOMY_RUNS ?? 6)
/** WorkMarket.NO_SEGMENT: an accept, or a reject that names no segment. */
const NO_SEGMENT = 0xffff_ffff
const JOBS = 16

type Kind = 'honest' | 'forger' | 'lazy'
interface Agent {
  a: Address
  kind: Kind
}

interface RunFigures {
  forgedSessions: number
  forgedAccepted: number
  forgersCaught: number
  forgerWeightLeft: bigint
  /** Honest verifiers judged wrong although they voted the truth (outvoted by lazy or colluding panels). */
  honestVerifierCuts: number
  /** Honest verifiers cut because their sample missed a forgery (they voted accept). */
  honestMissed: number
  /** Honest verifiers whose sample missed a forgery the panel proved, excused (VerifierExcused). */
  honestExcused: number
}

async function runMarket(seed: number, forged: number, k: number, population: Kind[]): Promise<RunFigures> {
  const h = await PovHarness.deploy({ market: { minJobPrice: ETHER / 1000n } })
  const clients = [who(40), who(41)]
  for (const c of clients) await h.give(c, 100n * ETHER)
  const agents: Agent[] = population.map((kind, i) => ({ a: who(20 + i), kind }))
  for (const ag of agents) {
    await h.give(ag.a, 20n * ETHER)
    await h.must(ag.a, 'market', 'register', [100n, 1, `http://127.0.0.1:${9000 + agents.indexOf(ag)}`], BOND)
  }
  const byAddr = new Map(agents.map((ag) => [ag.a.toLowerCase(), ag]))
  const agentOf = (a: unknown) => byAddr.get(String(a).toLowerCase())!
  const start = new Map<string, bigint>()
  const wealth = async (a: Address) => (await h.balance(a)) + (await h.read<{ bond: bigint }>('getWorker', [a], 'market')).bond
  for (const ag of agents) start.set(ag.a, await wealth(ag.a))
  const forgedSet = new Set(Array.from({ length: forged }, (_, i) => SEGMENTS - 1 - i))
  const forgedSessions = new Set<string>()
  const commitments = new Map<string, Hex>()
  const sessionsOf = new Map<string, { sessionId: string; status: number }[]>()
  let honestVerifierCuts = 0
  let honestMissed = 0
  let honestExcused = 0
  const allVotes = new Map<string, boolean>()
  const salt = (s: string, v: string, r: number) => keccak256(toHex(`salt-${seed}-${s}-${v}-${r}`))

  for (let j = 0; j < JOBS; j++) {
    const spec = keccak256(toHex(`spec-${seed}-${j}`))
    await h.must(clients[j % 2]!, 'market', 'postJob', [spec, WORKLOAD, h.timestamp + 100_000n, 600n, 10n, k], PRICE)
    let events = (await h.marketBlocks()).events
    for (let step = 0; step < 24; step++) {
      const assigned = events.find((e) => e.eventName === 'JobAssigned')
      const selected = events.find((e) => e.eventName === 'VerifiersSelected')
      if (assigned) {
        const sid = assigned.args.sessionId as Hex
        const worker = agentOf(assigned.args.worker)
        const isForged = worker.kind === 'forger'
        const c = fakeCommitment(spec, isForged ? 1_000_000 + seed * 100 + j : seed * 100 + j, { checkpointCount: BigInt(SEGMENTS + 1) })
        commitments.set(sid, c.commitment)
        if (isForged) forgedSessions.add(sid)
        await h.must(worker.a, 'market', 'commitResult', [sid, c])
        events = (await h.marketBlocks()).events
        continue
      }
      if (selected) {
        const sid = selected.args.sessionId as Hex
        const round = Number(selected.args.round)
        const verifiers = selected.args.verifiers as Address[]
        const votes = new Map<string, boolean>()
        const castVotes = allVotes
        // The fraud-proof rule: an honest verifier re-executes the segments round 0 named, then
        // its sample, and names the first forged one; it declares its sample (revealFinding).
        const claims = [...(await h.read<readonly bigint[]>('claimedSegments', [sid], 'market'))].map(Number).sort((a, b) => a - b)
        const named = new Map<string, number>()
        // What the market requires of a round this size (WorkMarket.samplesDue: the 10⁻⁶ bound).
        const SAMPLES = samplesDue(SEGMENTS, verifiers.length)
        for (const v of verifiers) {
          const ag = agentOf(v)
          let accept = true
          if (ag.kind === 'honest' && forgedSessions.has(sid)) {
            const vseed = await h.read<Hex>('verifierSeed', [sid, v], 'market')
            const hit = [...claims, ...sampleSegments(vseed, commitments.get(sid)! as never, SEGMENTS, SAMPLES)].find((i) => forgedSet.has(i))
            accept = hit === undefined
            if (hit !== undefined) named.set(v, hit)
          }
          votes.set(v, accept)
          castVotes.set(`${sid}:${v.toLowerCase()}`, accept)
          const hash =
            ag.kind === 'honest'
              ? await h.read<Hex>('findingHash', [sid, round, v, accept, named.get(v) ?? NO_SEGMENT, SAMPLES, salt(sid, v, round)], 'market')
              : // a lazy or colluding accept declares the full sample (a plain revealVote cannot accept): counted, and answering for it
                await h.read<Hex>('findingHash', [sid, round, v, accept, NO_SEGMENT, SAMPLES, salt(sid, v, round)], 'market')
          await h.must(v, 'market', 'commitVote', [sid, hash])
        }
        for (const v of verifiers) {
          await h.must(v, 'market', 'revealFinding', [sid, votes.get(v)!, agentOf(v).kind === 'honest' ? (named.get(v) ?? NO_SEGMENT) : NO_SEGMENT, SAMPLES, salt(sid, v, round)])
        }
        const fin = await h.must(who(45), 'market', 'finalize', [sid])
        for (const e of fin.events) {
          if (e.eventName === 'VerifierExcused' && agentOf(e.args.verifier).kind === 'honest') honestExcused++
          if (e.eventName === 'VerifierJudged' && e.args.faulted && agentOf(e.args.verifier).kind === 'honest') {
            // Its sample missed the forgery (an honest accept of a forged session) and it was cut all the same, or it voted the truth and lost.
            const voted = allVotes.get(`${String(e.args.sessionId)}:${String(e.args.verifier).toLowerCase()}`)
            if (voted === true && forgedSessions.has(String(e.args.sessionId))) honestMissed++
            else honestVerifierCuts++
          }
          if (e.eventName === 'SessionFinalized') {
            const w = String(e.args.worker)
            const list = sessionsOf.get(w) ?? []
            list.push({ sessionId: String(e.args.sessionId), status: Number(e.args.status) })
            sessionsOf.set(w, list)
          }
        }
        events = fin.events
        if (fin.events.some((e) => e.eventName === 'VerificationRestarted' || e.eventName === 'JobReopened')) events = [...events, ...(await h.marketBlocks()).events]
        else break
        continue
      }
      break
    }
  }

  // The books and the coins.
  const [escrow, bonds, fund, credited, balance] = await h.read<readonly bigint[]>('accounting', [], 'market')
  if (escrow! + bonds! + fund! + credited! !== balance!) throw new Error('the market books do not balance')
  if ((await h.totalCoins()) !== h.minted) throw new Error('coins were created or destroyed')

  const ACCEPTED = 3
  const REJECTED = 4
  let forgedAccepted = 0
  let forgersCaught = 0
  let forgerWeightLeft = 0n
  let honestSessions = 0
  for (const ag of agents) {
    const list = sessionsOf.get(ag.a) ?? []
    const mine = list.map((s) => s.status)
    if (ag.kind !== 'forger') {
      if (mine.includes(REJECTED)) throw new Error(`an honest worker's session was rejected (seed ${seed})`)
      honestSessions += mine.filter((s) => s === ACCEPTED).length
      continue
    }
    forgedAccepted += mine.filter((s) => s === ACCEPTED).length
    const lastCatch = mine.lastIndexOf(REJECTED)
    if (lastCatch >= 0) forgersCaught++
    const weight = await h.weight(ag.a)
    forgerWeightLeft += weight
    if (weight > 0n && !mine.slice(lastCatch + 1).includes(ACCEPTED)) throw new Error(`a caught forger kept weight ${weight} from before its catch (seed ${seed})`)
  }
  // A forger is paid like an honest worker when unnoticed and loses bond when caught: never richer.
  for (const ag of agents.filter((x) => x.kind === 'forger')) {
    const list = sessionsOf.get(ag.a) ?? []
    const gain = (await wealth(ag.a)) - start.get(ag.a)!
    const accepted = BigInt(list.filter((s) => s.status === ACCEPTED).length)
    if (gain > accepted * ((PRICE * 85n) / 100n) + PRICE) throw new Error(`a forger gained ${gain} on ${accepted} accepted sessions (seed ${seed})`)
  }
  void honestSessions
  return { forgedSessions: forgedSessions.size, forgedAccepted, forgersCaught, forgerWeightLeft, honestVerifierCuts, honestMissed, honestExcused }
}

const honest = (n: number): Kind[] => Array.from({ length: n }, () => 'honest')

t.test('honest workers, forgers and lazy verifiers over many seeds of the real market', async (t) => {
  const totals: RunFigures & { runs: number } = { runs: 0, forgedSessions: 0, forgedAccepted: 0, forgersCaught: 0, forgerWeightLeft: 0n, honestVerifierCuts: 0, honestMissed: 0, honestExcused: 0 }
  const byForged = new Map<number, { sessions: number; accepted: number }>()
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.constantFrom(1, 2, 5, 10),
      fc.constantFrom(1, 3),
      // A dishonest third at most: forgers collude as verifiers, lazy verifiers accept unseen.
      fc.constantFrom<Kind[]>([...honest(9), 'forger', 'forger', 'lazy'], [...honest(8), 'forger', 'forger', 'lazy', 'lazy'], [...honest(10), 'forger', 'forger']),
      async (seed, forged, k, population) => {
        const f = await runMarket(seed, forged, k, population)
        totals.runs++
        totals.forgedSessions += f.forgedSessions
        totals.forgedAccepted += f.forgedAccepted
        totals.forgersCaught += f.forgersCaught
        totals.forgerWeightLeft += f.forgerWeightLeft
        totals.honestVerifierCuts += f.honestVerifierCuts
        totals.honestMissed += f.honestMissed
        totals.honestExcused += f.honestExcused
        const b = byForged.get(forged) ?? { sessions: 0, accepted: 0 }
        b.sessions += f.forgedSessions
        b.accepted += f.forgedAccepted
        byForged.set(forged, b)
      },
    ),
    { numRuns: RUNS, seed: Number(process.env.POVCHAIN_ECONOMY_SEED ?? 20261207) },
  )
  t.ok(totals.forgedSessions > 0, 'forgers were drawn and forged')
  t.comment(
    `economy: ${totals.runs} runs × ${JOBS} jobs; forged sessions ${totals.forgedSessions}, accepted ${totals.forgedAccepted}; ` +
      `by forged segments ${[...byForged].map(([k, b]) => `${k}/20: ${b.accepted}/${b.sessions}`).join(', ')}; forgers caught ${totals.forgersCaught}; ` +
      `forgers' weight left ${Number(totals.forgerWeightLeft) / 1e18}; honest verifiers outvoted on a true vote ${totals.honestVerifierCuts}, cut after a sample that missed the forgery ${totals.honestMissed}, excused after one ${totals.honestExcused}`,
  )
})
