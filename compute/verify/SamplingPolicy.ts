import { ComputeError } from '../ComputeError.js'
import type { VerificationPolicy } from '../spec/JobSpec.js'
import { detectionProbability } from './SegmentSampler.js'

/**
 * What one verifier's re-execution must achieve: a worker that forged at least `faultFraction`
 * of a session's segments is caught with probability ≥ `confidence` by that verifier alone
 * (votes are counted by majority, so each verifier has to be able to catch it by itself).
 */
export interface SamplingPolicy {
  /** In (0, 1): e.g. 0.95. */
  confidence: number
  /** In (0, 1]: the smallest share of forged segments that must be caught, e.g. 0.25. */
  faultFraction: number
}

/**
 * The worker node's default floor (`--worker.verify-confidence`, `--worker.verify-fault-fraction`):
 * catch a worker that forged a quarter of the work 95 % of the time. On Iris (20 segments) that is
 * 9 re-executed segments; a single forged segment of 20 is then caught 45 % of the time (the
 * table in market/worker/README.md), while forging it saves the cheater only 5 % of the work.
 */
export const DEFAULT_SAMPLING_POLICY: Readonly<SamplingPolicy> = Object.freeze({ confidence: 0.95, faultFraction: 0.25 })

export function checkSamplingPolicy(p: SamplingPolicy, what = 'sampling policy'): SamplingPolicy {
  if (!(p.confidence > 0 && p.confidence < 1)) throw new ComputeError('COMPUTE_VERIFY_INPUT', `${what}: confidence must be in (0, 1), got ${p.confidence}`, { field: 'confidence' })
  if (!(p.faultFraction > 0 && p.faultFraction <= 1)) throw new ComputeError('COMPUTE_VERIFY_INPUT', `${what}: faultFraction must be in (0, 1], got ${p.faultFraction}`, { field: 'faultFraction' })
  return p
}

/** Forged segments the policy must catch among m: ⌈f·m⌉ (at least 1). */
export function faultedSegments(segments: number, faultFraction: number): number {
  // The small epsilon keeps 0.25·20 at 5 when the product lands a hair above the integer.
  return Math.min(segments, Math.max(1, Math.ceil(faultFraction * segments - 1e-9)))
}

/**
 * The fewest distinct segments s ≤ m one verifier must re-execute so that a worker who forged
 * k = ⌈f·m⌉ of the m segments is caught with probability ≥ c. Exact (hypergeometric: the miss
 * probability C(m−k, s)/C(m, s) falls with each sample), so never more than the with-replacement
 * bound ⌈ln(1−c)/ln(1−k/m)⌉. 0 segments need 0 samples.
 */
export function requiredSamples(segments: number, policy: SamplingPolicy): number {
  checkSamplingPolicy(policy)
  if (segments <= 0) return 0
  const k = faultedSegments(segments, policy.faultFraction)
  let miss = 1
  for (let s = 1; s <= segments; s++) {
    miss *= Math.max(0, segments - k - (s - 1)) / (segments - (s - 1))
    if (1 - miss >= policy.confidence) return s
  }
  return segments
}

/** The reexecution part of a spec's policy that states a target (confidence and fault fraction). */
export function specSamplingPolicy(v: VerificationPolicy): SamplingPolicy | undefined {
  if (v.mode !== 'reexecution' || v.confidence === undefined || v.faultFraction === undefined) return undefined
  return { confidence: v.confidence, faultFraction: v.faultFraction }
}

/**
 * How many of a session's m segments a verifier re-executes: the most of the spec's `samples`,
 * what the spec's own target needs, and what the verifier's floor needs — never more than m.
 */
export function samplesFor(segments: number, verification: VerificationPolicy, floor?: SamplingPolicy): number {
  const specSamples = verification.mode === 'reexecution' ? verification.samples : 1
  const target = specSamplingPolicy(verification)
  const s = Math.max(specSamples, target ? requiredSamples(segments, target) : 0, floor ? requiredSamples(segments, floor) : 0)
  return Math.max(0, Math.min(segments, s))
}

/** Per-verifier detection probability of a worker that forged `faked` of `segments`, at the count samplesFor gives. */
export function policyDetection(segments: number, faked: number, verification: VerificationPolicy, floor?: SamplingPolicy): { samples: number; probability: number } {
  const samples = samplesFor(segments, verification, floor)
  return { samples, probability: detectionProbability(segments, faked, samples) }
}

/**
 * The fraud-proof rule (genesis/contracts/WorkMarket.md, "Fraud proofs"): a session is accepted
 * only when no round-0 verifier's sample hits a forged segment — any hit is a reject naming the
 * segment, which an honest-majority panel confirms with certainty. With k verifiers each sampling
 * s of m segments independently, of which `forged` are forged: miss(s)^k, with the exact
 * hypergeometric miss = C(m − forged, s) / C(m, s).
 */
export function acceptanceProbability(segments: number, forged: number, samples: number, verifiers = 1): number {
  return 1 - detectionProbability(segments, forged, samples, verifiers)
}

/** The fewest samples per verifier (≤ m) for which acceptanceProbability ≤ bound; m when none suffices but all. */
export function samplesForBound(segments: number, forgedFraction: number, bound: number, verifiers = 1): number {
  if (!(bound > 0 && bound < 1)) throw new ComputeError('COMPUTE_VERIFY_INPUT', `bound must be in (0, 1), got ${bound}`, { field: 'bound' })
  if (!(verifiers >= 1)) throw new ComputeError('COMPUTE_VERIFY_INPUT', `verifiers must be ≥ 1, got ${verifiers}`, { field: 'verifiers' })
  const forged = faultedSegments(segments, forgedFraction)
  let miss = 1
  for (let s = 1; s <= segments; s++) {
    miss *= Math.max(0, segments - forged - (s - 1)) / (segments - (s - 1))
    if (Math.pow(miss, verifiers) <= bound) return s
  }
  return segments
}

export interface BoundPlan {
  /** Segments per session (checkpoints − 1): choose checkpointInterval = totalSteps / segments. */
  segments: number
  /** Segments each verifier re-executes (the spec's verification.samples). */
  samples: number
  verifiers: number
  /** Probability a session with the forged fraction is accepted (all verifiers honest). */
  acceptance: number
  /** Verification cost as a share of the work: verifiers × samples / segments. */
  cost: number
}

/**
 * The fewest segments m (at most `maxSegments`) at which k verifiers re-executing s each bring the
 * acceptance of a forged fraction f to ≤ bound at a cost k·s/m ≤ maxCost: finer checkpoints make
 * the same absolute sample a smaller share of the work. Undefined when no m ≤ maxSegments does.
 */
export function planForBound(opts: { forgedFraction: number; bound: number; verifiers?: number; maxCost: number; maxSegments?: number }): BoundPlan | undefined {
  const k = opts.verifiers ?? 1
  const max = opts.maxSegments ?? 100_000
  // Cost falls as m grows (s approaches the with-replacement count): search upward from the least m that could work.
  const start = Math.max(1, Math.ceil(k / opts.maxCost))
  for (let m = start; m <= max; m = m < 1000 ? m + 1 : m + Math.ceil(m / 1000)) {
    const s = samplesForBound(m, opts.forgedFraction, opts.bound, k)
    const cost = (k * s) / m
    if (cost <= opts.maxCost) return { segments: m, samples: s, verifiers: k, acceptance: acceptanceProbability(m, faultedSegments(m, opts.forgedFraction), s, k), cost }
  }
  return undefined
}

/**
 * The per-session bound the market enforces (genesis/contracts/WorkMarket.md, "The per-session
 * bound"): a session with at least BOUND_FORGED_FRACTION of its segments forged is accepted with
 * probability ≤ BOUND_ACCEPTANCE when each of its round's verifiers re-executes boundSamples.
 */
export const BOUND_FORGED_FRACTION = 0.1
export const BOUND_ACCEPTANCE = 1e-6
/** WorkMarket.MAX_SAMPLED_SEGMENTS: the most segments a re-execution session may commit (TooManySegments). */
export const MAX_SAMPLED_SEGMENTS = 4096

const WAD = 10n ** 18n
const ceilDiv = (a: bigint, b: bigint) => (a === 0n ? 0n : (a - 1n) / b + 1n)

/**
 * WorkMarket.boundSamples, bit for bit: the fewest s with miss(s)^k ≤ 10⁻⁶ for ⌈m/10⌉ forged
 * segments, miss in 18-decimal fixed point rounded up at every step (an over-estimate, so s is
 * never too small). The contract judges the excuse against it, so the node must use the same
 * integer arithmetic, not floats.
 */
export function boundSamples(segments: number, verifiers: number): number {
  if (segments <= 0) return 0
  const m = BigInt(segments)
  const k = Math.max(1, verifiers)
  const forged = (m * 1000n + 9999n) / 10000n
  let miss = WAD
  for (let i = 0n; i < m; i++) {
    if (m - forged <= i) return Number(i) + 1
    miss = ceilDiv(miss * (m - forged - i), m - i)
    let p = WAD
    for (let r = 0; r < k; r++) p = ceilDiv(p * miss, WAD)
    if (p <= 10n ** 12n) return Number(i) + 1
  }
  return segments
}

/**
 * WorkMarket.samplesDue: what each verifier of a round of `verifiers` re-executes and declares on
 * m segments — the larger of the default floor and the per-session bound. A verifier that declares
 * less and misses a forgery is not excused (it pays wrongVotePenalty).
 */
export function samplesDue(segments: number, verifiers: number): number {
  return Math.max(requiredSamples(segments, DEFAULT_SAMPLING_POLICY), boundSamples(segments, verifiers))
}

/**
 * WorkMarket.boundCovered, bit for bit (the silent-verifier rule): whether accepts that declared
 * these samples, drawn independently, together reach the per-session bound on m segments —
 * Π miss(sᵢ) ≤ 10⁻⁶ at ⌈m/10⌉ forged in boundSamples' fixed point, rounded up at every step.
 * k samples of samplesDue(m, k) always do; k − 1 of them (one verifier silent) usually do not.
 * A size of 0 counts nothing; one above m − ⌈m/10⌉ always covers.
 */
export function boundCovered(segments: number, samples: readonly number[]): boolean {
  if (segments <= 0) return true
  const m = BigInt(segments)
  const sizes = samples.filter((x) => x > 0).sort((a, b) => a - b)
  const forged = (m * 1000n + 9999n) / 10000n
  let miss = WAD
  let p = WAD
  let next = 0
  for (let i = 0n; next < sizes.length; i++) {
    if (m - forged <= i) return true
    miss = ceilDiv(miss * (m - forged - i), m - i)
    while (next < sizes.length && BigInt(sizes[next]!) === i + 1n) {
      p = ceilDiv(p * miss, WAD)
      next++
    }
    if (p <= 10n ** 12n) return true
  }
  return p <= 10n ** 12n
}

/** What the per-session bound costs a job: each verifier's sample and the share of the work all k re-execute. */
export interface BoundCost {
  segments: number
  verifiers: number
  samples: number
  /** verifiers × samples / segments (may exceed 1 for small jobs with k > 1). */
  cost: number
  /** Acceptance probability at ⌈m/10⌉ forged, all verifiers honest (exact, floating point). */
  acceptance: number
}

export function boundCost(segments: number, verifiers: number): BoundCost {
  const samples = samplesDue(segments, verifiers)
  const k = Math.max(1, verifiers)
  return { segments, verifiers: k, samples, cost: segments ? (k * samples) / segments : 0, acceptance: segments ? acceptanceProbability(segments, faultedSegments(segments, BOUND_FORGED_FRACTION), samples, k) : 0 }
}
