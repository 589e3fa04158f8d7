import type { JobResult, ProgressEvent } from '../execution/JobExecution.js'
import type { JobSpec } from '../spec/JobSpec.js'
import type { WorkloadInputs } from '../workloads/Workload.js'

export interface RunRequest {
  spec: JobSpec
  inputs: WorkloadInputs
  signal?: AbortSignal
  onProgress?: (p: ProgressEvent) => void
}

/** The one interface both runtimes implement; the worker loop and CLI only see this. */
export interface Runtime {
  readonly name: 'embedded' | 'docker'
  run(req: RunRequest): Promise<JobResult>
}

/** Wall-clock budget of a run: the spec's timeout, cut short by its absolute deadline if sooner. */
export function runBudgetMs(spec: JobSpec, now = Date.now()): number {
  let ms = spec.resources.timeoutSec * 1000
  if (spec.deadline !== undefined) ms = Math.min(ms, spec.deadline * 1000 - now)
  return Math.max(0, ms)
}
