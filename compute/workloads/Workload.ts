import type { JobKind, JobSpec } from '../spec/JobSpec.js'

/** Deterministic results a workload reports; part of the session commitment, so no timings. */
export type WorkloadMetrics = Record<string, number | string | unknown[]>

export interface StepProgress {
  loss?: number
  accuracy?: number
  epoch?: number
}

/**
 * A workload prepared for one job: the immutable context (spec, parsed inputs) is closed over,
 * and everything that changes lives in the state `S`. `encode(state)` must capture the full
 * state — weights, optimizer moments, step, PRNG — because a verifier restarts from those bytes.
 */
export interface PreparedWorkload<S = unknown> {
  readonly totalSteps: number
  /** Multiply-accumulate operations of one step; the benchmark turns this into compute units. */
  readonly macsPerStep: number
  /** Samples consumed by one step (throughput reporting). */
  readonly samplesPerStep: number
  init(): S
  /** Advances the state by exactly one step (state.step + 1). */
  step(state: S): void
  stepOf(state: S): number
  encode(state: S): Uint8Array
  decode(bytes: Uint8Array): S
  progress(state: S): StepProgress
  finish(state: S): { output: Uint8Array; metrics: WorkloadMetrics }
}

export interface WorkloadInputs {
  dataset?: Uint8Array
  model?: Uint8Array
}

export interface Workload {
  readonly id: string
  readonly version: number
  readonly kind: JobKind
  readonly description: string
  /** Throws a ComputeError naming `params.<field>` for anything it does not accept. */
  validateParams(params: Record<string, unknown>): void
  prepare(spec: JobSpec, inputs: WorkloadInputs): PreparedWorkload
}
