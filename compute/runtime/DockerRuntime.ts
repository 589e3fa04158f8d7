import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { PassThrough } from 'node:stream'
import Docker from 'dockerode'
import type { Logger } from '../../common/logger.js'
import { silentLogger } from '../../common/logger.js'
import type { Metrics } from '../../common/metrics.js'
import { noopMetrics } from '../../common/metrics.js'
import { ComputeError, type ComputeErrorCode } from '../ComputeError.js'
import { contentHash, isHash32, type Hash32 } from '../ContentHash.js'
import { assembleResult, type CheckpointRecord, type JobResult, type ProgressEvent } from '../execution/JobExecution.js'
import { jobSpecText, PINNED_IMAGE, type JobSpec } from '../spec/JobSpec.js'
import { checkpointHash } from '../verify/SessionCommitment.js'
import type { WorkloadMetrics } from '../workloads/Workload.js'
import { PROGRESS_PREFIX, type ResultManifest } from './ContainerContract.js'
import { DEFAULT_OUTPUT_QUOTA, measureOutput, readOutputFile, type OutputQuota } from './ContainerOutput.js'
import { gpuDeviceRequests } from './GpuRequest.js'
import { runBudgetMs, type RunRequest, type Runtime } from './Runtime.js'

export interface DockerRuntimeOptions {
  /** Docker engine socket; default DOCKER_HOST or /var/run/docker.sock. */
  socketPath?: string
  /** Image used for embedded-runtime specs forced onto Docker (the built-in workload image). */
  defaultImage?: string
  /** Where per-job input/output directories are created. */
  workDir?: string
  /** Keep containers and job directories after the run (debugging). */
  keep?: boolean
  /** Lines of container log kept in memory and reported on failure. */
  logLines?: number
  /** What a container may leave in /job/out (default 1 GiB, 10 000 files). */
  outputQuota?: OutputQuota
  /** How often the output directory is measured while the container runs (ms). */
  quotaPollMs?: number
  /**
   * Makes sure the job's image is on this engine (pulling it from a registry or from peers);
   * without it a missing image is an error. See ImageStore.ensure.
   */
  ensureImage?: (ref: string, opts: { archive?: Hash32 }) => Promise<string>
}

export interface DockerProbe {
  available: boolean
  reason?: string
  version?: string
  gpu: boolean
}

/**
 * Runs a job in a container: image pinned by digest, no network, CPU/memory/pid limits, read-only
 * root, inputs mounted read-only and one writable output directory, killed at the deadline. The
 * host re-hashes every checkpoint and the result it collects; the container's own claims are
 * never trusted.
 */
export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const
  readonly docker: Docker
  private readonly logger: Logger
  private readonly jobsCounter
  private readonly duration

  constructor(
    private readonly opts: DockerRuntimeOptions = {},
    deps: { logger?: Logger; metrics?: Metrics } = {},
  ) {
    this.docker = new Docker(opts.socketPath ? { socketPath: opts.socketPath } : undefined)
    this.logger = (deps.logger ?? silentLogger).child({ component: 'docker-runtime' })
    const metrics = deps.metrics ?? noopMetrics
    this.jobsCounter = metrics.counter('povchain_compute_jobs_total', 'Jobs run, by runtime and outcome', ['runtime', 'outcome'])
    this.duration = metrics.histogram('povchain_compute_job_seconds', 'Wall-clock time of jobs', ['runtime'])
  }

  /** Whether an engine answers, and whether NVIDIA GPUs can be requested. */
  async probe(timeoutMs = 3000): Promise<DockerProbe> {
    try {
      const v = await Promise.race([
        this.docker.version(),
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
      ])
      return { available: true, version: v.Version, gpu: await this.hasNvidiaGpu() }
    } catch (e) {
      return { available: false, reason: `Docker engine not reachable: ${(e as Error).message}`, gpu: false }
    }
  }

  async hasNvidiaGpu(): Promise<boolean> {
    if (!existsSync('/dev/nvidiactl')) return false
    try {
      const info = (await this.docker.info()) as { Runtimes?: Record<string, unknown> }
      return Boolean(info.Runtimes && 'nvidia' in info.Runtimes) || existsSync('/usr/bin/nvidia-container-cli')
    } catch {
      return false
    }
  }

  imageFor(spec: JobSpec): string {
    if (spec.runtime.type === 'docker') return spec.runtime.image
    if (!this.opts.defaultImage) {
      throw new ComputeError('COMPUTE_RUNTIME_UNAVAILABLE', 'no image for the built-in workloads: run `povchain compute image build` or pass --image')
    }
    if (!PINNED_IMAGE.test(this.opts.defaultImage)) throw new ComputeError('COMPUTE_RUNTIME_UNAVAILABLE', `image ${this.opts.defaultImage} is not pinned by digest`)
    return this.opts.defaultImage
  }

  async run(req: RunRequest): Promise<JobResult> {
    const stop = this.duration.startTimer({ runtime: 'docker' })
    try {
      const r = await this.runContainer(req)
      this.jobsCounter.inc({ runtime: 'docker', outcome: 'ok' })
      return r
    } catch (e) {
      this.jobsCounter.inc({ runtime: 'docker', outcome: (e as ComputeError).code ?? 'error' })
      throw e
    } finally {
      stop()
    }
  }

  private async runContainer(req: RunRequest): Promise<JobResult> {
    const { spec } = req
    const t0 = performance.now()
    const pinned = this.imageFor(spec)
    const budget = runBudgetMs(spec)
    if (budget <= 0) throw new ComputeError('COMPUTE_DEADLINE', 'job deadline already passed')
    // The engine-local id of the pinned image (fetched from a registry or peers when missing).
    const image = this.opts.ensureImage
      ? await this.opts.ensureImage(pinned, spec.runtime.type === 'docker' && spec.runtime.archive ? { archive: spec.runtime.archive as Hash32 } : {})
      : pinned
    try {
      await this.docker.getImage(image).inspect()
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode
      if (status === 404) throw new ComputeError('COMPUTE_RUNTIME_UNAVAILABLE', `image ${image} is not present on this Docker engine (no registry is used: build or load it first)`)
      throw new ComputeError('COMPUTE_RUNTIME_UNAVAILABLE', `Docker engine not reachable: ${(e as Error).message}`, { cause: e })
    }
    const deviceRequests = await this.gpuRequests(spec)

    const root = await mkdtemp(join(resolve(this.opts.workDir ?? tmpdir()), 'povchain-job-'))
    const inDir = join(root, 'in')
    const outDir = join(root, 'out')
    await mkdir(inDir)
    await mkdir(outDir)
    // The container runs as our uid, but make the output dir writable whatever user the image picks.
    await chmod(outDir, 0o777)
    await writeFile(join(inDir, 'spec.json'), jobSpecText(spec))
    if (req.inputs.dataset) await writeFile(join(inDir, 'dataset'), req.inputs.dataset)
    if (req.inputs.model) await writeFile(join(inDir, 'model'), req.inputs.model)

    const log = this.logger.child({ image: image.slice(0, 19) })
    const quota = this.opts.outputQuota ?? DEFAULT_OUTPUT_QUOTA
    let container: Docker.Container | undefined
    let watchdog: NodeJS.Timeout | undefined
    const logTail: string[] = []
    try {
      container = await this.docker.createContainer(containerConfig(spec, image, { inDir, outDir, quota, deviceRequests }))
      const stream = await container.attach({ stream: true, stdout: true, stderr: true })
      const stdout = new PassThrough()
      const stderr = new PassThrough()
      this.docker.modem.demuxStream(stream, stdout, stderr)
      const keep = this.opts.logLines ?? 200
      const onLine = (line: string, isOut: boolean) => {
        if (isOut && line.startsWith(PROGRESS_PREFIX)) {
          try {
            req.onProgress?.(JSON.parse(line.slice(PROGRESS_PREFIX.length)) as ProgressEvent)
          } catch {
            // A malformed progress line is just a log line.
          }
          return
        }
        logTail.push(line)
        if (logTail.length > keep) logTail.shift()
        log.debug({ stream: isOut ? 'stdout' : 'stderr' }, line)
      }
      lineReader(stdout, (l) => onLine(l, true))
      lineReader(stderr, (l) => onLine(l, false))

      // 'next-exit': the default 'not-running' would return at once for a container not yet started.
      const waitP = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>
      // The quota watchdog: a container that fills /job/out is killed while it writes, not after.
      const overQuota = new AbortController()
      let quotaErr: ComputeError | undefined
      const running = container
      let measuring = false
      watchdog = setInterval(() => {
        if (measuring) return
        measuring = true
        measureOutput(outDir, quota).then(
          () => (measuring = false),
          (e: ComputeError) => {
            quotaErr = e
            overQuota.abort()
            void running.kill().catch(() => {})
          },
        )
      }, this.opts.quotaPollMs ?? 250)
      const signal = req.signal ? AbortSignal.any([req.signal, overQuota.signal]) : overQuota.signal
      await container.start()
      log.debug({ budgetMs: budget }, 'container started')
      const outcome = await raceDeadline(waitP, budget, signal)
      clearInterval(watchdog)
      if (quotaErr) {
        await container.kill().catch(() => {})
        await waitP.catch(() => {})
        log.warn({ err: quotaErr.message }, 'container killed: output quota exceeded')
        throw quotaErr
      }
      if (outcome.kind !== 'exited') {
        await container.kill().catch(() => {})
        await waitP.catch(() => {})
        throw outcome.kind === 'deadline'
          ? new ComputeError('COMPUTE_DEADLINE', `container killed at its deadline after ${(budget / 1000).toFixed(1)} s`)
          : new ComputeError('COMPUTE_CANCELLED', 'job cancelled; container killed')
      }
      // Measured again once it has stopped: whatever it wrote since the last poll counts too.
      await measureOutput(outDir, quota)
      const exit = outcome.status.StatusCode
      if (exit !== 0) {
        const state = (await container.inspect()).State
        if (state.OOMKilled) throw new ComputeError('COMPUTE_OUT_OF_MEMORY', `container exceeded its memory limit of ${spec.resources.memoryMb} MiB`)
        const reported = await readOutputFile(outDir, 'error.json', 64 * 1024).then(
          (b) => JSON.parse(new TextDecoder().decode(b)) as { code?: ComputeErrorCode; message?: string },
          () => undefined,
        )
        if (reported?.code?.startsWith('COMPUTE_')) throw new ComputeError(reported.code, reported.message ?? 'workload failed in container')
        throw new ComputeError('COMPUTE_CONTAINER_FAILED', `container exited with code ${exit}${reported?.message ? `: ${reported.message}` : ''}\n${logTail.slice(-20).join('\n')}`)
      }
      return await this.collect(spec, outDir, performance.now() - t0, quota)
    } finally {
      clearInterval(watchdog)
      if (!this.opts.keep) {
        await container?.remove({ force: true }).catch(() => {})
        await rm(root, { recursive: true, force: true }).catch(() => {})
      }
    }
  }

  private async gpuRequests(spec: JobSpec): Promise<Docker.DeviceRequest[] | undefined> {
    const requests = gpuDeviceRequests(spec.resources)
    if (!requests) return undefined
    if (!(await this.hasNvidiaGpu())) {
      throw new ComputeError(
        'COMPUTE_NO_GPU',
        `the job asks for ${spec.resources.gpus} GPU(s) but this host has no usable NVIDIA GPU (no /dev/nvidiactl or no nvidia container runtime); set resources.gpus to 0 or run it on a GPU worker`,
      )
    }
    return requests
  }

  /** Reads the manifest, re-hashes every file it names, and assembles the same JobResult as the embedded runtime. */
  private async collect(spec: JobSpec, outDir: string, wallMs: number, quota: OutputQuota): Promise<JobResult> {
    const bad = (m: string) => new ComputeError('COMPUTE_CONTAINER_CONTRACT', `container broke the result contract: ${m}`)
    let manifest: ResultManifest
    try {
      manifest = JSON.parse(new TextDecoder().decode(await readOutputFile(outDir, 'manifest.json', 16 * 1024 * 1024))) as ResultManifest
    } catch (e) {
      throw bad(`no readable /job/out/manifest.json (${(e as Error).message})`)
    }
    if (manifest.format !== 'povchain-result-manifest' || manifest.version !== 1) throw bad('manifest format/version')
    if (!Number.isSafeInteger(manifest.totalSteps) || manifest.totalSteps < 0) throw bad('manifest totalSteps')
    if (!Array.isArray(manifest.checkpoints)) throw bad('manifest checkpoints')
    const safeFile = (f: unknown) => typeof f === 'string' && /^[a-zA-Z0-9._/-]+$/.test(f) && !f.includes('..')
    const checkpoints: CheckpointRecord[] = []
    for (const [i, c] of manifest.checkpoints.entries()) {
      if (c.index !== i || !safeFile(c.file) || !Number.isSafeInteger(c.step)) throw bad(`checkpoint entry ${i}`)
      const state = await readOutputFile(outDir, c.file, quota.maxBytes)
      const hash = checkpointHash(state)
      if (hash !== c.hash) throw bad(`checkpoint ${i} hashes to ${hash}, manifest says ${c.hash}`)
      checkpoints.push({ index: i, step: c.step, hash, state })
    }
    if (!manifest.result || !safeFile(manifest.result.file) || !isHash32(manifest.result.hash)) throw bad('manifest result')
    const result = await readOutputFile(outDir, manifest.result.file, quota.maxBytes)
    if (contentHash(result) !== manifest.result.hash) throw bad('result file does not match its hash in the manifest')
    const r = assembleResult(spec, manifest.totalSteps, checkpoints, result, manifest.metrics as WorkloadMetrics, {
      runtime: 'docker',
      wallMs,
      stepsPerSec: manifest.totalSteps / (wallMs / 1000),
      samplesPerSec: 0,
      macsPerStep: 0,
    })
    if (manifest.specHash !== r.specHash) throw bad(`manifest is for spec ${manifest.specHash}, not ${r.specHash}`)
    return r
  }
}

/**
 * The container the job runs in: no network, read-only root, every capability dropped, no new
 * privileges, CPU/memory/pid limits, a per-file size limit (fsize) equal to the output quota,
 * the inputs read-only and one writable output directory. Exported so tests can check what is
 * asked of the engine (GPU requests included) without the hardware.
 */
export function containerConfig(
  spec: JobSpec,
  image: string,
  d: { inDir: string; outDir: string; quota: OutputQuota; deviceRequests?: Docker.DeviceRequest[] | undefined },
): Docker.ContainerCreateOptions {
  const memory = spec.resources.memoryMb * 1024 * 1024
  return {
    Image: image,
    User: typeof process.getuid === 'function' ? `${process.getuid()}:${process.getgid!()}` : undefined,
    NetworkDisabled: true,
    Env: ['POVCHAIN_JOB_DIR=/job'],
    Labels: { 'povchain.compute': 'job' },
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(spec.resources.cpus * 1e9),
      PidsLimit: 256,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Ulimits: [{ Name: 'fsize', Soft: d.quota.maxBytes, Hard: d.quota.maxBytes }],
      Binds: [`${d.inDir}:/job/in:ro`, `${d.outDir}:/job/out:rw`],
      Tmpfs: { '/tmp': 'rw,size=64m' },
      ...(d.deviceRequests ? { DeviceRequests: d.deviceRequests } : {}),
    },
  }
}

function lineReader(s: NodeJS.ReadableStream, onLine: (l: string) => void): void {
  let buf = ''
  s.on('data', (d: Buffer) => {
    buf += d.toString('utf8')
    let i: number
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i))
      buf = buf.slice(i + 1)
    }
    if (buf.length > 1 << 20) buf = buf.slice(-4096) // a runaway line must not exhaust memory
  })
  s.on('end', () => buf && onLine(buf))
}

type Outcome = { kind: 'exited'; status: { StatusCode: number } } | { kind: 'deadline' } | { kind: 'cancelled' }

function raceDeadline(wait: Promise<{ StatusCode: number }>, budgetMs: number, signal?: AbortSignal): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done({ kind: 'deadline' }), budgetMs)
    const onAbort = () => done({ kind: 'cancelled' })
    let settled = false
    function done(o: Outcome) {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      resolve(o)
    }
    if (signal?.aborted) return done({ kind: 'cancelled' })
    signal?.addEventListener('abort', onAbort)
    wait.then(
      (status) => done({ kind: 'exited', status }),
      (e) => {
        if (!settled) {
          settled = true
          clearTimeout(timer)
          reject(new ComputeError('COMPUTE_CONTAINER_FAILED', `waiting for the container failed: ${(e as Error).message}`, { cause: e }))
        }
      },
    )
  })
}
