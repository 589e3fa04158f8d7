import { Worker } from 'node:worker_threads'
import type { Logger } from '../../common/logger.js'
import { silentLogger } from '../../common/logger.js'
import type { Metrics } from '../../common/metrics.js'
import { noopMetrics } from '../../common/metrics.js'
import { ComputeError, type ComputeErrorCode } from '../ComputeError.js'
import { executeJob, type JobResult } from '../execution/JobExecution.js'
import { runBudgetMs, type RunRequest, type Runtime } from './Runtime.js'

export interface EmbeddedRuntimeOptions {
  /** Jobs run concurrently, one worker thread each; 0 runs jobs inline on the calling thread (no limits). */
  threads?: number
  /** Overrides the spec's memory limit (MiB of V8 old generation per worker). */
  memoryMb?: number
}

/**
 * Runs built-in workloads in worker threads. Each job gets a fresh worker so that its memory
 * limit applies to it alone, the deadline can stop it mid-step (terminate), and a crash cannot
 * take the node down.
 */
export class EmbeddedRuntime implements Runtime {
  readonly name = 'embedded' as const
  private readonly threads: number
  private running = 0
  private readonly waiting: (() => void)[] = []
  private readonly logger: Logger
  private readonly jobsCounter
  private readonly duration

  constructor(
    private readonly opts: EmbeddedRuntimeOptions = {},
    deps: { logger?: Logger; metrics?: Metrics } = {},
  ) {
    this.threads = opts.threads ?? 1
    this.logger = (deps.logger ?? silentLogger).child({ component: 'embedded-runtime' })
    const metrics = deps.metrics ?? noopMetrics
    this.jobsCounter = metrics.counter('povchain_compute_jobs_total', 'Jobs run, by runtime and outcome', ['runtime', 'outcome'])
    this.duration = metrics.histogram('povchain_compute_job_seconds', 'Wall-clock time of jobs', ['runtime'])
  }

  async run(req: RunRequest): Promise<JobResult> {
    if (req.spec.resources.gpus > 0) this.logger.warn({ gpus: req.spec.resources.gpus }, 'built-in workloads run on the CPU; GPU request ignored')
    const stop = this.duration.startTimer({ runtime: 'embedded' })
    try {
      const r = this.threads === 0 ? await this.runInline(req) : await this.withSlot(() => this.runInWorker(req))
      this.jobsCounter.inc({ runtime: 'embedded', outcome: 'ok' })
      return r
    } catch (e) {
      this.jobsCounter.inc({ runtime: 'embedded', outcome: (e as ComputeError).code ?? 'error' })
      throw e
    } finally {
      stop()
    }
  }

  private async runInline(req: RunRequest): Promise<JobResult> {
    if (req.signal?.aborted) throw new ComputeError('COMPUTE_CANCELLED', 'job cancelled before it started')
    return executeJob(req.spec, req.inputs, { ...(req.onProgress ? { onProgress: req.onProgress } : {}) }, 'embedded-inline')
  }

  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running >= this.threads) await new Promise<void>((r) => this.waiting.push(r))
    this.running++
    try {
      return await fn()
    } finally {
      this.running--
      this.waiting.shift()?.()
    }
  }

  private runInWorker(req: RunRequest): Promise<JobResult> {
    const { spec } = req
    const budget = runBudgetMs(spec)
    if (budget <= 0) return Promise.reject(new ComputeError('COMPUTE_DEADLINE', 'job deadline already passed'))
    if (req.signal?.aborted) return Promise.reject(new ComputeError('COMPUTE_CANCELLED', 'job cancelled before it started'))
    const memoryMb = this.opts.memoryMb ?? spec.resources.memoryMb
    const { url, execArgv } = workerEntry()
    const worker = new Worker(url, {
      workerData: { spec, inputs: req.inputs },
      resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: Math.min(64, Math.max(4, memoryMb >> 3)) },
      execArgv,
      stdout: false,
      stderr: false,
    })
    const log = this.logger.child({ job: spec.workload.id })
    log.debug({ budgetMs: budget, memoryMb }, 'job started in worker thread')
    return new Promise<JobResult>((resolve, reject) => {
      let settled = false
      const finish = (err: ComputeError | null, result?: JobResult) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        req.signal?.removeEventListener('abort', onAbort)
        void worker.terminate()
        if (err) {
          log.warn({ code: err.code, err: err.message }, 'job failed')
          reject(err)
        } else resolve(result!)
      }
      const timer = setTimeout(
        () => finish(new ComputeError('COMPUTE_DEADLINE', `job killed at its deadline after ${(budget / 1000).toFixed(1)} s`)),
        budget,
      )
      const onAbort = () => finish(new ComputeError('COMPUTE_CANCELLED', 'job cancelled'))
      req.signal?.addEventListener('abort', onAbort)
      worker.on('message', (m: { type: string; progress?: never; result?: JobResult; code?: ComputeErrorCode; message?: string; field?: string }) => {
        if (m.type === 'progress') req.onProgress?.(m.progress!)
        else if (m.type === 'done') finish(null, m.result!)
        else if (m.type === 'error') finish(new ComputeError(m.code ?? 'COMPUTE_WORKLOAD_FAILED', m.message ?? 'workload failed', m.field ? { field: m.field } : {}))
      })
      worker.on('error', (e: Error & { code?: string }) => {
        if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') finish(new ComputeError('COMPUTE_OUT_OF_MEMORY', `job exceeded its memory limit of ${memoryMb} MiB`, { cause: e }))
        else finish(new ComputeError('COMPUTE_WORKLOAD_FAILED', `worker thread crashed: ${e.message}`, { cause: e }))
      })
      worker.on('exit', (code) => finish(new ComputeError('COMPUTE_WORKLOAD_FAILED', `worker thread exited with code ${code} before finishing`)))
    })
  }
}

/**
 * From dist/ the worker is plain JS; from the sources (tests, tsx) it needs the tsx loader and
 * nothing else: inherited test-runner hooks would cost seconds per thread.
 */
function workerEntry(): { url: URL; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts')
  const url = new URL(fromSource ? './embeddedWorker.ts' : './embeddedWorker.js', import.meta.url)
  return { url, execArgv: fromSource ? ['--import', 'tsx'] : [] }
}
