import { keccak256, toHex, type Hex } from 'viem'
import { checkpointSteps } from '../../compute/execution/CheckpointSchedule.js'
import { prepareJob } from '../../compute/execution/JobExecution.js'
import { boundCost, BOUND_ACCEPTANCE, BOUND_FORGED_FRACTION, MAX_SAMPLED_SEGMENTS, type BoundCost } from '../../compute/verify/SamplingPolicy.js'
import type { JobSpec } from '../../compute/spec/JobSpec.js'
import type { WorkloadInputs } from '../../compute/workloads/Workload.js'
import { findWorkload } from '../../compute/workloads/WorkloadRegistry.js'
import { JobError } from './JobError.js'

/** 1 compute unit = 10^6 multiply-adds (compute/worker/Benchmark.ts). */
const MACS_PER_UNIT = 1_000_000

/** The compute units a spec needs: steps × multiply-adds per step, in millions (at least 1). */
export function computeUnits(spec: JobSpec, inputs: WorkloadInputs): bigint {
  const p = prepareJob(spec, inputs)
  return BigInt(Math.max(1, Math.ceil((p.totalSteps * p.macsPerStep) / MACS_PER_UNIT)))
}

/**
 * The compute units a job is posted with. A built-in workload's are counted from its steps; an
 * image's own workload (torch-mlp-train, any client code) runs nothing this node can count, so
 * the client states them (`job submit|estimate --units N`): they set the price at the market's
 * unit price and the pay per unit a worker's minimum is compared with.
 */
export function jobUnits(spec: JobSpec, inputs: WorkloadInputs, stated?: bigint): bigint {
  if (stated !== undefined) {
    if (stated < 1n) throw new JobError('UNITS', '--units must be a positive integer')
    return stated
  }
  if (!findWorkload(spec.workload.id, spec.workload.version))
    throw new JobError('UNITS', `workload ${spec.workload.id}@${spec.workload.version} is the image's own, not a built-in one: this node cannot count its compute units; say how many with --units N (1 unit = 10^6 multiply-adds; a worker's bench reports units per second)`)
  return computeUnits(spec, inputs)
}

/** The workload id a receipt carries: keccak256("<workload id>@<version>"), e.g. "mlp-train@1". */
export function workloadId(spec: JobSpec): Hex {
  return keccak256(toHex(`${spec.workload.id}@${spec.workload.version}`))
}

/** WorkMarket's OFFERS_* bits: what a worker runs besides the embedded runtime, and what a job needs of it. */
export const OFFERS = { docker: 1, gpu: 2 } as const

/** WorkMarketWorkers' `needs` layout: OFFERS bits 0–7, GPUs needed bits 8–11, MiB each bits 12–31. */
export const MAX_JOB_GPUS = 15
export const MAX_JOB_GPU_MEMORY_MB = 0xfffff

/**
 * What a spec needs of its worker, as the contract's `needs`: OFFERS bits (Docker for a docker
 * runtime, a GPU when it asks for one) and, for a GPU job, how many GPUs and the memory of each.
 */
export function jobNeeds(spec: JobSpec): number {
  const bits = (spec.runtime.type === 'docker' ? OFFERS.docker : 0) | (spec.resources.gpus > 0 ? OFFERS.gpu : 0)
  const gpus = spec.resources.gpus
  if (!gpus) return bits
  const mem = spec.resources.gpuMemoryMb ?? 0
  if (gpus > MAX_JOB_GPUS) throw new JobError('GPU', `resources.gpus ${gpus}: the market draws workers for at most ${MAX_JOB_GPUS} GPUs per job`)
  if (mem > MAX_JOB_GPU_MEMORY_MB) throw new JobError('GPU', `resources.gpuMemoryMb ${mem}: the market compares at most ${MAX_JOB_GPU_MEMORY_MB} MiB per GPU`)
  return (bits | (gpus << 8) | (mem << 12)) >>> 0
}

/** The GPU part of a job's `needs`: how many, and MiB each (0, 0: none). */
export function gpuNeeds(needs: number): { count: number; memoryMb: number } {
  return { count: (needs >>> 8) & 0xf, memoryMb: needs >>> 12 }
}

/** Whether a worker's offers and announced GPUs meet a job's `needs` (WorkMarketWorkers._jobWeight). */
export function meetsNeeds(offers: number, gpus: { count: number; memoryMb: number }, needs: number): boolean {
  const bits = needs & 0xff
  const g = gpuNeeds(needs)
  return (offers & bits) === bits && (g.count === 0 || (gpus.count >= g.count && gpus.memoryMb >= g.memoryMb))
}

/** "docker + gpu", "embedded only"; with GPU needs: "docker + gpu (2 GPUs of ≥ 16384 MiB)". */
export function describeOffers(bits: number): string {
  const names = (Object.keys(OFFERS) as (keyof typeof OFFERS)[]).filter((k) => (bits & OFFERS[k]) !== 0)
  const g = gpuNeeds(bits)
  const gpus = g.count ? ` (${g.count} GPU${g.count > 1 ? 's' : ''}${g.memoryMb ? ` of ≥ ${g.memoryMb} MiB` : ''})` : ''
  return (names.length ? names.join(' + ') : 'embedded only') + gpus
}

/** Verifiers the market draws for a spec (its verification policy; redundancy counts as verifiers). */
export function verifierCount(spec: JobSpec): number {
  const v = spec.verification
  const n = v.mode === 'reexecution' ? v.verifiers : v.redundancy - 1
  return Math.min(8, Math.max(1, n))
}

/**
 * What verifying a re-execution spec costs under the market's per-session bound (WorkMarket.md,
 * "The per-session bound"): its m segments (checkpoints − 1), the k verifiers it asks for, the
 * samples each must re-execute (WorkMarket.samplesDue) and the share of the work that is. Throws
 * JOB_TOO_MANY_SEGMENTS above WorkMarket.MAX_SAMPLED_SEGMENTS, which commitResult refuses.
 * Undefined for redundancy and tolerance jobs (no verifiers re-execute them).
 */
export function verificationCost(spec: JobSpec, inputs: WorkloadInputs): BoundCost | undefined {
  if (spec.verification.mode !== 'reexecution') return undefined
  const p = prepareJob(spec, inputs)
  const segments = checkpointSteps(p.totalSteps, spec.checkpointInterval).length - 1
  if (segments > MAX_SAMPLED_SEGMENTS) {
    const least = Math.ceil(p.totalSteps / MAX_SAMPLED_SEGMENTS)
    throw new JobError('TOO_MANY_SEGMENTS', `the spec has ${segments} segments (${p.totalSteps} steps / checkpointInterval ${spec.checkpointInterval}); the market judges at most ${MAX_SAMPLED_SEGMENTS} (its workers' commitments would revert with TooManySegments): use checkpointInterval ≥ ${least}`)
  }
  return boundCost(segments, verifierCount(spec))
}

/** One line saying what the bound costs and why, for `job estimate` and `job submit`. */
export function describeVerificationCost(c: BoundCost): string {
  const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`
  // A few segments must nearly all be re-executed: ~131 sampled in all reach the bound, so the share falls only with finer checkpoints.
  const small = c.cost >= 0.5 ? '; few segments: the verifiers re-execute (nearly) all of them, finer checkpoints (a smaller checkpointInterval) lower the share, ≈ 5 % from 2,600 segments' : ''
  return `verification: ${c.verifiers} verifier${c.verifiers > 1 ? 's' : ''} × ${c.samples} of ${c.segments} segments = ${pct(c.cost)} of the work, so that ${pct(BOUND_FORGED_FRACTION)} forged is accepted with probability ≤ ${BOUND_ACCEPTANCE.toExponential(0)} (${c.acceptance.toPrecision(2)})${small}`
}
