import { ComputeError } from '../ComputeError.js'
import { contentHash, type Hash32 } from '../ContentHash.js'
import { jobSpecHash, type JobSpec } from '../spec/JobSpec.js'
import { buildCommitment, checkpointHash, metricsHash, type SessionCommitment } from '../verify/SessionCommitment.js'
import { getWorkload } from '../workloads/WorkloadRegistry.js'
import type { PreparedWorkload, StepProgress, WorkloadInputs, WorkloadMetrics } from '../workloads/Workload.js'
import { checkpointSteps } from './CheckpointSchedule.js'

export interface CheckpointRecord {
  index: number
  step: number
  hash: Hash32
  state: Uint8Array
}

export interface ProgressEvent extends StepProgress {
  step: number
  totalSteps: number
}

/** Everything a run of a job produced: the same shape whichever runtime ran it. */
export interface JobResult {
  specHash: Hash32
  totalSteps: number
  checkpoints: CheckpointRecord[]
  result: Uint8Array
  resultHash: Hash32
  metrics: WorkloadMetrics
  metricsHash: Hash32
  commitment: SessionCommitment
  stats: RunStats
}

export interface RunStats {
  runtime: string
  wallMs: number
  stepsPerSec: number
  samplesPerSec: number
  macsPerStep: number
}

export interface ExecuteOptions {
  onProgress?: (p: ProgressEvent) => void
  onCheckpoint?: (c: CheckpointRecord) => void
  /** Minimum time between progress events. */
  progressIntervalMs?: number
}

export function prepareJob(spec: JobSpec, inputs: WorkloadInputs): PreparedWorkload {
  return getWorkload(spec.workload.id, spec.workload.version).prepare(spec, inputs)
}

/**
 * Runs a whole job in the calling thread: every K steps (and at the end) the full state is
 * encoded and hashed into a checkpoint. Runtimes call this — in a worker thread or inside a
 * container — so the bytes hashed are identical everywhere.
 */
export function executeJob(spec: JobSpec, inputs: WorkloadInputs, opts: ExecuteOptions = {}, runtime = 'inline'): JobResult {
  const t0 = performance.now()
  const prepared = prepareJob(spec, inputs)
  const schedule = checkpointSteps(prepared.totalSteps, spec.checkpointInterval)
  const checkpoints: CheckpointRecord[] = []
  const state = prepared.init()
  const record = () => {
    const bytes = prepared.encode(state)
    const rec = { index: checkpoints.length, step: prepared.stepOf(state), hash: checkpointHash(bytes), state: bytes }
    checkpoints.push(rec)
    opts.onCheckpoint?.(rec)
  }
  record()
  const every = opts.progressIntervalMs ?? 200
  let lastReport = 0
  for (let k = 1; k < schedule.length; k++) {
    while (prepared.stepOf(state) < schedule[k]!) {
      prepared.step(state)
      if (opts.onProgress) {
        const now = performance.now()
        if (now - lastReport >= every) {
          lastReport = now
          opts.onProgress({ step: prepared.stepOf(state), totalSteps: prepared.totalSteps, ...prepared.progress(state) })
        }
      }
    }
    record()
  }
  opts.onProgress?.({ step: prepared.stepOf(state), totalSteps: prepared.totalSteps, ...prepared.progress(state) })
  const { output, metrics } = prepared.finish(state)
  const wallMs = performance.now() - t0
  return assembleResult(spec, prepared.totalSteps, checkpoints, output, metrics, {
    runtime,
    wallMs,
    stepsPerSec: prepared.totalSteps / (wallMs / 1000),
    samplesPerSec: (prepared.totalSteps * prepared.samplesPerStep) / (wallMs / 1000),
    macsPerStep: prepared.macsPerStep,
  })
}

export function assembleResult(
  spec: JobSpec,
  totalSteps: number,
  checkpoints: CheckpointRecord[],
  result: Uint8Array,
  metrics: WorkloadMetrics,
  stats: RunStats,
): JobResult {
  const specHash = jobSpecHash(spec)
  const resultHash = contentHash(result)
  const mHash = metricsHash(metrics)
  const commitment = buildCommitment({
    specHash,
    checkpointInterval: spec.checkpointInterval,
    totalSteps,
    checkpoints: checkpoints.map((c) => c.hash),
    resultHash,
    metricsHash: mHash,
  })
  return { specHash, totalSteps, checkpoints, result, resultHash, metrics, metricsHash: mHash, commitment, stats }
}

/**
 * Re-executes steps [from, to) starting from an encoded state and returns the end state's bytes
 * and hash — the verifier's unit of work.
 */
export function replaySegment(prepared: PreparedWorkload, startState: Uint8Array, toStep: number): { state: Uint8Array; hash: Hash32 } {
  const state = prepared.decode(startState)
  if (prepared.stepOf(state) > toStep) throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', `checkpoint is at step ${prepared.stepOf(state)}, past ${toStep}`)
  while (prepared.stepOf(state) < toStep) prepared.step(state)
  const bytes = prepared.encode(state)
  return { state: bytes, hash: checkpointHash(bytes) }
}

/** Result bytes and metrics derived from a final checkpoint (cheap: no training). */
export function finishFromState(prepared: PreparedWorkload, finalState: Uint8Array): { output: Uint8Array; metrics: WorkloadMetrics } {
  return prepared.finish(prepared.decode(finalState))
}
