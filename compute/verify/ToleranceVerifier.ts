import { ComputeError } from '../ComputeError.js'
import { decodeDataset, type Dataset } from '../data/Dataset.js'
import type { JobSpec } from '../spec/JobSpec.js'
import { decodeModel, evaluateModel } from '../workloads/MlpInferWorkload.js'
import { readMlpTrainParams, splitRows } from '../workloads/MlpTrainWorkload.js'

export interface ToleranceReport {
  verdict: 'accept' | 'reject'
  metric: string
  claimed: number
  recomputed: number
  difference: number
  epsilon: number
}

const METRICS = ['testLoss', 'testAccuracy', 'trainLoss', 'trainAccuracy'] as const

/**
 * Tolerance mode: the verifier does not replay training, it recomputes a quality metric of the
 * submitted model itself (e.g. held-out loss on the job's test split) and accepts when the
 * worker's claim is within the declared epsilon.
 */
export function verifyWithinTolerance(args: { spec: JobSpec; dataset: Uint8Array; model: Uint8Array; claimedMetrics: Record<string, unknown>; metric?: string; epsilon?: number }): ToleranceReport {
  const policy = args.spec.verification
  const metric = args.metric ?? (policy.mode === 'tolerance' ? policy.metric : 'testLoss')
  const epsilon = args.epsilon ?? (policy.mode === 'tolerance' ? policy.epsilon : 0)
  if (!(METRICS as readonly string[]).includes(metric)) {
    throw new ComputeError('COMPUTE_VERIFY_INPUT', `tolerance metric must be one of ${METRICS.join(', ')}`, { field: 'verification.metric' })
  }
  const claimed = args.claimedMetrics[metric]
  if (typeof claimed !== 'number') throw new ComputeError('COMPUTE_VERIFY_INPUT', `the worker reported no numeric ${metric}`)
  const ds = decodeDataset(args.dataset)
  const p = readMlpTrainParams(args.spec.params)
  const split = splitRows(ds.x.length, p.testFraction, args.spec.seed)
  const rows = metric.startsWith('test') && split.test.length ? split.test : split.train
  const subset: Dataset = { ...ds, x: Array.from(rows, (r) => ds.x[r]!), y: Array.from(rows, (r) => ds.y[r]!) }
  const ev = evaluateModel(decodeModel(args.model), subset)
  const recomputed = metric.endsWith('Loss') ? ev.loss : ev.accuracy
  const difference = Math.abs(recomputed - claimed)
  return { verdict: difference <= epsilon ? 'accept' : 'reject', metric, claimed, recomputed, difference, epsilon }
}
