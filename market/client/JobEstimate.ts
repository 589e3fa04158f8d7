import { keccak256, toHex, type Hex } from 'viem'
import { prepareJob } from '../../compute/execution/JobExecution.js'
import type { JobSpec } from '../../compute/spec/JobSpec.js'
import type { WorkloadInputs } from '../../compute/workloads/Workload.js'

/** 1 compute unit = 10^6 multiply-adds (compute/worker/Benchmark.ts). */
const MACS_PER_UNIT = 1_000_000

/** The compute units a spec needs: steps × multiply-adds per step, in millions (at least 1). */
export function computeUnits(spec: JobSpec, inputs: WorkloadInputs): bigint {
  const p = prepareJob(spec, inputs)
  return BigInt(Math.max(1, Math.ceil((p.totalSteps * p.macsPerStep) / MACS_PER_UNIT)))
}

/** The workload id a receipt carries: keccak256("<workload id>@<version>"), e.g. "mlp-train@1". */
export function workloadId(spec: JobSpec): Hex {
  return keccak256(toHex(`${spec.workload.id}@${spec.workload.version}`))
}

/** WorkMarket's OFFERS_* bits: what a worker runs besides the embedded runtime, and what a job needs of it. */
export const OFFERS = { docker: 1, gpu: 2 } as const

/** What a spec needs of its worker (OFFERS bits): Docker for a docker runtime, a GPU when it asks for one. */
export function jobNeeds(spec: JobSpec): number {
  return (spec.runtime.type === 'docker' ? OFFERS.docker : 0) | (spec.resources.gpus > 0 ? OFFERS.gpu : 0)
}

/** "docker + gpu", "embedded only". */
export function describeOffers(bits: number): string {
  const names = (Object.keys(OFFERS) as (keyof typeof OFFERS)[]).filter((k) => (bits & OFFERS[k]) !== 0)
  return names.length ? names.join(' + ') : 'embedded only'
}

/** Verifiers the market draws for a spec (its verification policy; redundancy counts as verifiers). */
export function verifierCount(spec: JobSpec): number {
  const v = spec.verification
  const n = v.mode === 'reexecution' ? v.verifiers : v.redundancy - 1
  return Math.min(8, Math.max(1, n))
}
