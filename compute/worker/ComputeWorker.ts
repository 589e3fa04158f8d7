import type { Logger } from '../../common/logger.js'
import { silentLogger } from '../../common/logger.js'
import type { Metrics } from '../../common/metrics.js'
import { noopMetrics } from '../../common/metrics.js'
import { ComputeError } from '../ComputeError.js'
import type { JobResult, ProgressEvent } from '../execution/JobExecution.js'
import type { Runtime } from '../runtime/Runtime.js'
import { jobSpecHash, type JobSpec } from '../spec/JobSpec.js'
import type { SessionCommitment } from '../verify/SessionCommitment.js'
import type { WorkloadInputs } from '../workloads/Workload.js'
import type { IdleSwitch } from './IdleSwitch.js'
import type { SessionStore } from './SessionStore.js'

export interface AssignedJob {
  jobId: string
  spec: JobSpec
  inputs: WorkloadInputs
  /** Force a runtime (e.g. the built-in workloads on Docker); default: the spec's. */
  runtime?: 'embedded' | 'docker'
}

export type JobOutcome =
  | { jobId: string; status: 'ok'; attempts: number; commitment: SessionCommitment; result: JobResult }
  | { jobId: string; status: 'failed'; attempts: number; code: string; reason: string }

/** The small interface through which compute talks to the chain (implemented by node/). */
export interface JobSource {
  next(signal: AbortSignal): Promise<AssignedJob | null>
  report(outcome: JobOutcome): Promise<void>
}

export interface ComputeWorkerOptions {
  runtimes: { embedded: Runtime; docker?: Runtime }
  sessions?: SessionStore
  idle?: IdleSwitch
  /** Extra attempts after a failure; the policy is one retry. */
  retries?: number
  pollMs?: number
}

/** Spec errors fail identically every time; retrying them only wastes the deadline. */
const NOT_RETRIED = new Set(['COMPUTE_INVALID_SPEC', 'COMPUTE_INVALID_DATASET', 'COMPUTE_INVALID_MODEL', 'COMPUTE_UNKNOWN_WORKLOAD', 'COMPUTE_NO_GPU', 'COMPUTE_CANCELLED'])

/**
 * The worker loop: take an assigned job, stop the idle program, run the job (retrying once on
 * failure or timeout), keep the session for verifiers, report, resume idling.
 */
export class ComputeWorker {
  private readonly logger: Logger
  private readonly outcomes
  private abort: AbortController | undefined
  private loop: Promise<void> | undefined

  constructor(
    private readonly opts: ComputeWorkerOptions,
    deps: { logger?: Logger; metrics?: Metrics } = {},
  ) {
    this.logger = (deps.logger ?? silentLogger).child({ component: 'compute-worker' })
    this.outcomes = (deps.metrics ?? noopMetrics).counter('povchain_compute_worker_jobs_total', 'Jobs finished by this worker', ['status'])
  }

  async execute(job: AssignedJob, onProgress?: (p: ProgressEvent) => void, signal?: AbortSignal): Promise<JobOutcome> {
    const log = this.logger.child({ jobId: job.jobId, spec: jobSpecHash(job.spec) })
    const kind = job.runtime ?? job.spec.runtime.type
    const runtime = kind === 'docker' ? this.opts.runtimes.docker : this.opts.runtimes.embedded
    await this.opts.idle?.pause()
    try {
      if (!runtime) return this.fail(job, 1, 'COMPUTE_RUNTIME_UNAVAILABLE', `no ${kind} runtime on this worker`)
      const maxAttempts = 1 + (this.opts.retries ?? 1)
      let last: ComputeError | undefined
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        try {
          const result = await runtime.run({ spec: job.spec, inputs: job.inputs, ...(onProgress ? { onProgress } : {}), ...(signal ? { signal } : {}) })
          if (this.opts.sessions) await this.opts.sessions.save(job.spec, result)
          log.info({ attempt, commitment: result.commitment.commitment }, 'job done')
          this.outcomes.inc({ status: 'ok' })
          return { jobId: job.jobId, status: 'ok', attempts: attempt, commitment: result.commitment, result }
        } catch (e) {
          last = e instanceof ComputeError ? e : new ComputeError('COMPUTE_WORKLOAD_FAILED', (e as Error).message, { cause: e })
          log.warn({ attempt, code: last.code, err: last.message }, 'job attempt failed')
          if (NOT_RETRIED.has(last.code)) return this.fail(job, attempt, last.code, last.message)
        }
      }
      return this.fail(job, maxAttempts, last!.code, last!.message)
    } finally {
      if (!this.abort?.signal.aborted) this.opts.idle?.resume()
    }
  }

  private fail(job: AssignedJob, attempts: number, code: string, reason: string): JobOutcome {
    this.outcomes.inc({ status: 'failed' })
    return { jobId: job.jobId, status: 'failed', attempts, code, reason }
  }

  start(source: JobSource): void {
    if (this.loop) return
    this.abort = new AbortController()
    const signal = this.abort.signal
    this.opts.idle?.enable()
    this.loop = (async () => {
      while (!signal.aborted) {
        let job: AssignedJob | null = null
        try {
          job = await source.next(signal)
        } catch (e) {
          this.logger.warn({ err: (e as Error).message }, 'job source failed')
        }
        if (signal.aborted) break
        if (!job) {
          await sleep(this.opts.pollMs ?? 1000, signal)
          continue
        }
        const outcome = await this.execute(job, undefined, signal)
        await source.report(outcome).catch((e: Error) => this.logger.warn({ err: e.message }, 'report failed'))
      }
    })()
  }

  async stop(): Promise<void> {
    this.abort?.abort()
    await this.loop
    this.loop = undefined
    await this.opts.idle?.stop()
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    const t = setTimeout(res, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(t)
      res()
    }, { once: true })
  })
}

