/**
 * Re-execution sessions with sampled verification, played against the real WorkMarket of the
 * genesis test harness: a job with k verifiers, a committed result of m segments, round 0 drawn
 * from seeded blocks, verifiers that play honestly as the node does (claimed segments first, then
 * samplesDue of their own order) or as a test scripts them, silent ones included. Shared by the
 * per-session bound and silent-verifier tests (genesis/test); it lives here because it plays
 * the node's sampler (compute/), which genesis/ may not import.
 */
import { keccak256, toHex, type Address, type Hex } from 'viem'
import { sampleSegments } from '../../compute/verify/SegmentSampler.js'
import { addr, ETHER, fakeCommitment, MarketHarness } from '../../genesis/test/workmarketHarness.js'

export const NO_SEGMENT = 0xffff_ffff
export const WORKER = addr(1)
export const CLIENT = addr(100)
export const PRICE = ETHER / 5n
export const BOND = 2n * ETHER

export interface SessionView {
  status: number
  round: number
  verifiers: readonly Address[]
  previous: readonly Address[]
  votesBy: bigint
  revealBy: bigint
}

export interface SampledMarket {
  h: MarketHarness
  sessionId: Hex
  commitment: Hex
  m: number
}

/** A verifier's vote: accept, or reject naming a segment; the sample it declares re-executing. */
export interface Finding {
  accept: boolean
  segment?: number
  samples: number
}

export const session = (h: MarketHarness, id: Hex) => h.read<SessionView>('getSession', [id])
export const bondOf = async (h: MarketHarness, a: Address) => (await h.read<{ bond: bigint }>('getWorker', [a])).bond

/** Sessions of one test file: `tag` keeps its spec and vote salts apart from other files'. */
export function sampledSessions(tag: string) {
  const spec = keccak256(toHex(`${tag}-spec`))
  const salt = (v: Address, round: number) => keccak256(toHex(`${tag}-salt-${v}-${round}`))

  /** A job with k verifiers; 12 more identities register; the worker commits m segments; round 0 is drawn from `draw`'s blocks. */
  async function market(k: number, m: number, draw: string): Promise<SampledMarket> {
    const h = await MarketHarness.deploy()
    await h.give(WORKER, 10n * ETHER)
    await h.must(WORKER, 'register', [100n, 1, ''], BOND)
    await h.give(CLIENT, 10n * ETHER)
    const posted = await h.must(CLIENT, 'postJob', [spec, spec, h.timestamp + 100_000n, 600n, 10n, k], PRICE)
    const jobId = MarketHarness.event(posted, 'JobPosted').jobId as Hex
    await h.mine()
    const sessionId = (await h.read<{ session: Hex }>('getJob', [jobId])).session
    for (let i = 2; i < 14; i++) {
      await h.give(addr(i), 10n * ETHER)
      await h.must(addr(i), 'register', [100n, 1, ''], BOND)
    }
    const c = fakeCommitment(spec, 1, { checkpointCount: BigInt(m + 1) })
    for (let b = 0n; b < 16n; b++) h.randaoAt.set(h.number + b, keccak256(toHex(`${draw}-${b}`)))
    await h.must(WORKER, 'commitResult', [sessionId, c])
    await h.mine()
    return { h, sessionId, commitment: c.commitment, m }
  }

  /** The node's sample of `samples` segments for verifier v (verifierSeed of the current round). */
  async function sampleOf(mk: SampledMarket, v: Address, samples: number): Promise<number[]> {
    const seed = await mk.h.read<Hex>('verifierSeed', [mk.sessionId, v])
    return sampleSegments(seed, mk.commitment as never, mk.m, samples)
  }

  /** An honest verifier as the node plays it: claimed segments first, then samplesDue of its own order; rejects naming the first forged one. */
  async function honest(mk: SampledMarket, v: Address, forged: ReadonlySet<number>): Promise<Finding> {
    const due = Number(await mk.h.read<bigint>('sessionSamplesDue', [mk.sessionId]))
    const claims = [...(await mk.h.read<readonly bigint[]>('claimedSegments', [mk.sessionId]))].map(Number).sort((a, b) => a - b)
    const hit = [...claims, ...(await sampleOf(mk, v, due))].find((x) => forged.has(x))
    return hit === undefined ? { accept: true, samples: due } : { accept: false, segment: hit, samples: due }
  }

  /** The round's verifiers in `plays` commit and reveal; the others stay silent (the clock passes both windows); then finalize. */
  async function vote(mk: SampledMarket, plays: Map<Address, Finding>) {
    const { h, sessionId } = mk
    const s = await session(h, sessionId)
    for (const [v, f] of plays) await h.must(v, 'commitVote', [sessionId, await h.read<Hex>('findingHash', [sessionId, s.round, v, f.accept, f.segment ?? NO_SEGMENT, f.samples, salt(v, s.round)])])
    if (plays.size < s.verifiers.length) h.advance(s.votesBy - h.timestamp + 1n)
    for (const [v, f] of plays) await h.must(v, 'revealFinding', [sessionId, f.accept, f.segment ?? NO_SEGMENT, f.samples, salt(v, s.round)])
    if (plays.size < s.verifiers.length) h.advance(s.revealBy - h.timestamp + 1n)
    else h.advance(10) // OPEN_GRACE
    return h.must(addr(99), 'finalize', [sessionId])
  }

  /** Every verifier of the current round plays honestly. */
  async function honestRound(mk: SampledMarket, forged: ReadonlySet<number>) {
    const s = await session(mk.h, mk.sessionId)
    const plays = new Map<Address, Finding>()
    for (const v of s.verifiers) plays.set(v, await honest(mk, v, forged))
    return vote(mk, plays)
  }

  return { spec, salt, market, sampleOf, honest, vote, honestRound }
}
