import { readFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import type { Command } from 'commander'
import cliProgress from 'cli-progress'
import type { Logger } from '../common/logger.js'
import { ComputeError } from './ComputeError.js'
import { isHash32, type Hash32 } from './ContentHash.js'
import { csvToDataset } from './data/CsvImport.js'
import { encodeDataset } from './data/Dataset.js'
import type { JobResult, ProgressEvent } from './execution/JobExecution.js'
import { DockerRuntime } from './runtime/DockerRuntime.js'
import { EmbeddedRuntime } from './runtime/EmbeddedRuntime.js'
import { ImageBuilder } from './runtime/ImageBuilder.js'
import { ImageStore } from './runtime/ImageStore.js'
import { buildTorchImage, defaultImageCache } from './runtime/torch/TorchImage.js'
import type { Runtime } from './runtime/Runtime.js'
import { decodeJson, jobSpecHash, type JobSpec } from './spec/JobSpec.js'
import { ReexecutionVerifier } from './verify/ReexecutionVerifier.js'
import { acceptanceProbability, faultedSegments, planForBound, samplesForBound } from './verify/SamplingPolicy.js'
import { detectionProbability } from './verify/SegmentSampler.js'
import { validateJobSpec } from './workloads/WorkloadRegistry.js'
import { runBenchmark } from './worker/Benchmark.js'
import { detectGpus } from './worker/GpuInventory.js'
import { BlobStore } from './worker/BlobStore.js'
import { importBundledDatasets, loadJobInputs } from './worker/JobInputs.js'
import { SessionStore } from './worker/SessionStore.js'

/** Where command output goes; tests hand in buffers, the node CLI uses the process streams. */
export interface ComputeCliIo {
  out(s: string): void
  err(s: string): void
  isTTY: boolean
}

export interface ComputeCliContext {
  logger: Logger
  io?: ComputeCliIo
}

const IMAGE_REF = 'image-builtin'

interface CommonOpts {
  datadir: string
  json?: boolean
}

function defaultDatadir(): string {
  return process.env.POVCHAIN_DATADIR ?? './datadir'
}

function storeFor(opts: CommonOpts): BlobStore {
  return new BlobStore({ dir: join(resolve(opts.datadir), 'compute') })
}

async function readSpecFile(path: string): Promise<JobSpec> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new ComputeError('COMPUTE_INVALID_SPEC', `cannot read spec file ${path}: ${(e as Error).message}`, { cause: e })
  }
  return validateJobSpec(decodeJson(text, path))
}

/**
 * Adds `compute …` to the node's CLI: run, verify, bench, image build, dataset import,
 * spec validate. Every command takes --json and then prints exactly one JSON object on stdout.
 */
export function registerComputeCommands(program: Command, ctx: ComputeCliContext): Command {
  const io: ComputeCliIo = ctx.io ?? {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    isTTY: Boolean(process.stderr.isTTY),
  }
  const logger = ctx.logger.child({ module: 'compute' })

  /** Errors become one line (or one JSON object) and exit code 1 — never a stack trace. */
  const action =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const cmd = args[args.length - 1] as Command
      const json = Boolean((cmd.opts() as { json?: boolean }).json)
      try {
        await fn(...args)
      } catch (e) {
        const err = e instanceof ComputeError ? e : new ComputeError('COMPUTE_WORKLOAD_FAILED', (e as Error).message ?? String(e), { cause: e })
        if (json) io.out(JSON.stringify({ ok: false, error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } }) + '\n')
        else io.err(`error: ${err.message}\n`)
        process.exitCode = 1
      }
    }
  const print = (json: boolean | undefined, obj: Record<string, unknown>, human: string) => io.out(json ? JSON.stringify({ ok: true, ...obj }) + '\n' : human)

  const compute = program.command('compute').description('run, verify and benchmark deterministic AI workloads')

  compute
    .command('run')
    .description('run a job spec and print its session commitment')
    .argument('<spec>', 'job spec JSON file')
    .option('--runtime <runtime>', 'embedded | docker (default: the spec\'s runtime)')
    .option('--image <digest>', 'image for built-in workloads on docker (default: the one `compute image build` made)')
    .option('--datadir <dir>', 'data directory', defaultDatadir())
    .option('--threads <n>', 'embedded runtime worker threads', '1')
    .option('--json', 'print one JSON object')
    .action(
      action(async (specPath: string, opts: CommonOpts & { runtime?: string; image?: string; threads: string }, _cmd: Command) => {
        const spec = await readSpecFile(specPath)
        const kind = opts.runtime ?? spec.runtime.type
        if (kind !== 'embedded' && kind !== 'docker') throw new ComputeError('COMPUTE_INVALID_SPEC', `--runtime must be embedded or docker, not ${kind}`, { field: '--runtime' })
        const store = storeFor(opts)
        await importBundledDatasets(store)
        const inputs = await loadJobInputs(store, spec)
        let runtime: Runtime
        if (kind === 'docker') {
          const image = opts.image ?? (spec.runtime.type === 'docker' ? undefined : (await store.getRef(IMAGE_REF))?.trim())
          const images = new ImageStore({ docker: new DockerRuntime().docker, blobs: store, logger })
          const docker = new DockerRuntime({ ...(image ? { defaultImage: image } : {}), ensureImage: (ref, o) => images.ensure(ref, o) }, { logger })
          const probe = await docker.probe()
          if (!probe.available) throw new ComputeError('COMPUTE_RUNTIME_UNAVAILABLE', probe.reason!)
          runtime = docker
        } else {
          const threads = Number(opts.threads)
          if (!Number.isInteger(threads) || threads < 0) throw new ComputeError('COMPUTE_INVALID_SPEC', '--threads must be a non-negative integer', { field: '--threads' })
          runtime = new EmbeddedRuntime({ threads }, { logger })
        }
        const progress = progressReporter(io, Boolean(opts.json))
        let result: JobResult
        try {
          result = await runtime.run({ spec, inputs, onProgress: progress.update })
        } finally {
          progress.stop()
        }
        const sessions = new SessionStore(store)
        await sessions.save(spec, result)
        const c = result.commitment
        print(
          opts.json,
          {
            specHash: result.specHash,
            commitment: c,
            resultHash: result.resultHash,
            metrics: result.metrics,
            stats: result.stats,
            runtime: kind,
          },
          [
            `spec        ${result.specHash}`,
            `runtime     ${kind}  (${result.totalSteps} steps in ${(result.stats.wallMs / 1000).toFixed(2)} s)`,
            `checkpoints ${c.checkpointCount} (every ${c.checkpointInterval} steps), root ${c.checkpointRoot}`,
            `result      ${result.resultHash}  (stored in ${store.dir})`,
            `metrics     ${summariseMetrics(result.metrics)}`,
            `commitment  ${c.commitment}`,
            '',
          ].join('\n'),
        )
      }),
    )

  compute
    .command('verify')
    .description('re-execute sampled segments of a stored session and accept or reject it')
    .argument('<commitment>', 'session commitment hash (0x…)')
    .requiredOption('--seed <seed>', 'verification randomness (hex or text), e.g. a later block\'s mix')
    .option('--samples <n>', 'segments to re-execute (default: the spec\'s verification.samples)')
    .option('--datadir <dir>', 'data directory', defaultDatadir())
    .option('--json', 'print one JSON object')
    .action(
      action(async (commitment: string, opts: CommonOpts & { seed: string; samples?: string }, _cmd: Command) => {
        if (!isHash32(commitment)) throw new ComputeError('COMPUTE_VERIFY_INPUT', 'commitment must be a 0x-prefixed 32-byte hex hash', { field: 'commitment' })
        const store = storeFor(opts)
        const sessions = new SessionStore(store)
        const rec = await sessions.load(commitment as Hash32)
        const spec = await sessions.spec(rec)
        const inputs = await loadJobInputs(store, spec)
        const samples = opts.samples === undefined ? undefined : Number(opts.samples)
        if (samples !== undefined && !(Number.isInteger(samples) && samples >= 1)) throw new ComputeError('COMPUTE_VERIFY_INPUT', '--samples must be a positive integer', { field: '--samples' })
        const verifier = new ReexecutionVerifier(samples ? { samples } : {}, { logger })
        const report = await verifier.verify({ spec, inputs, commitment: rec.commitment, randomness: opts.seed, source: sessions.checkpointSource(rec) })
        const s = report.segments.length
        const m = report.segmentCount
        const detect10 = detectionProbability(m, Math.max(1, Math.ceil(m * 0.1)), s)
        print(
          opts.json,
          { commitment, ...report, detectionAt10PercentFaked: detect10 },
          report.verdict === 'accept'
            ? `accept  ${commitment}\n  re-executed segments ${report.segments.join(', ')} of ${m} (${(report.costFraction * 100).toFixed(1)}% of the work) in ${report.wallMs.toFixed(0)} ms\n  P(detect | 10% of segments faked) = ${(detect10 * 100).toFixed(1)}% per verifier\n`
            : `reject  ${commitment}\n  reason   ${report.evidence!.reason}\n  segment  ${report.evidence!.segment}\n  expected ${report.evidence!.expected}\n  got      ${report.evidence!.got}\n`,
        )
        if (report.verdict === 'reject') process.exitCode = 1
      }),
    )

  compute
    .command('sampling')
    .description('how many segments and samples keep a forged session below a bound under the fraud-proof rule (WorkMarket.md)')
    .option('--forged <fraction>', 'share of segments forged to catch', '0.1')
    .option('--bound <p>', 'acceptance probability to stay under', '1e-6')
    .option('--verifiers <k>', 'verifiers per session', '1')
    .option('--segments <m>', 'a given segment count: the samples it needs')
    .option('--max-cost <share>', 'verification cost as a share of the work, for the plan', '0.05')
    .option('--json', 'print one JSON object')
    .action(
      action(async (opts: { forged: string; bound: string; verifiers: string; segments?: string; maxCost: string; json?: boolean }, _cmd: Command) => {
        const forged = Number(opts.forged)
        const bound = Number(opts.bound)
        const k = Number(opts.verifiers)
        const maxCost = Number(opts.maxCost)
        if (!(forged > 0 && forged <= 1)) throw new ComputeError('COMPUTE_VERIFY_INPUT', '--forged must be in (0, 1]', { field: '--forged' })
        if (!(Number.isInteger(k) && k >= 1 && k <= 8)) throw new ComputeError('COMPUTE_VERIFY_INPUT', '--verifiers must be an integer in 1..8', { field: '--verifiers' })
        if (!(maxCost > 0)) throw new ComputeError('COMPUTE_VERIFY_INPUT', '--max-cost must be positive', { field: '--max-cost' })
        const plan = planForBound({ forgedFraction: forged, bound, verifiers: k, maxCost })
        let given: Record<string, number> | undefined
        if (opts.segments !== undefined) {
          const m = Number(opts.segments)
          if (!(Number.isInteger(m) && m >= 1)) throw new ComputeError('COMPUTE_VERIFY_INPUT', '--segments must be a positive integer', { field: '--segments' })
          const s = samplesForBound(m, forged, bound, k)
          given = { segments: m, samples: s, acceptance: acceptanceProbability(m, faultedSegments(m, forged), s, k), cost: (k * s) / m }
        }
        const line = (p: Record<string, number>) => `${p.segments} segments, ${p.samples} samples × ${k} verifier(s): P(accept) = ${p.acceptance!.toExponential(2)}, cost ${(p.cost! * 100).toFixed(1)} % of the work`
        print(
          opts.json,
          { forged, bound, verifiers: k, maxCost, ...(given ? { given } : {}), plan: plan ?? null },
          [
            `forged ${(forged * 100).toFixed(1)} %, bound ${bound}, ${k} verifier(s)`,
            ...(given ? [`  given     ${line(given)}`] : []),
            plan
              ? `  plan      ${line(plan as unknown as Record<string, number>)}
            (spec: checkpointInterval = totalSteps / ${plan.segments}, verification.samples = ${plan.samples})`
              : `  plan      none within ${(maxCost * 100).toFixed(1)} % of the work up to 100,000 segments`,
            '',
          ].join('\n'),
        )
      }),
    )

  compute
    .command('bench')
    .description('measure this machine on the standard test task (compute units per second)')
    .option('--epochs <n>', 'epochs of the reference workload', '2')
    .option('--json', 'print one JSON object')
    .action(
      action(async (opts: { epochs: string; json?: boolean }, _cmd: Command) => {
        const epochs = Number(opts.epochs)
        if (!(Number.isInteger(epochs) && epochs >= 1 && epochs <= 1000)) throw new ComputeError('COMPUTE_INVALID_SPEC', '--epochs must be an integer in 1..1000', { field: '--epochs' })
        if (!opts.json) io.err('benchmarking (single thread)…\n')
        const r = runBenchmark({ epochs })
        const gpus = await detectGpus()
        print(
          opts.json,
          { ...r, gpus },
          `${r.workload}\n  ${r.samplesPerSec.toFixed(0)} samples/s, ${r.stepsPerSec.toFixed(0)} steps/s\n  ${r.computeUnitsPerSec.toFixed(1)} compute units/s (1 CU = 10^6 multiply-adds)\n  reference commitment ${r.commitment}\n  GPUs: ${gpus.length ? gpus.map((g) => `${g.model} (${g.memoryMb} MiB)`).join(', ') : 'none (no nvidia-smi)'}\n`,
        )
      }),
    )

  const image = compute.command('image').description('container images: build, push/pull by digest, share with peers')
  const dockerUp = async () => {
    const docker = new DockerRuntime({}, { logger })
    const probe = await docker.probe()
    if (!probe.available) throw new ComputeError('COMPUTE_RUNTIME_UNAVAILABLE', probe.reason!)
    return { docker, probe }
  }
  image
    .command('build')
    .description('build the built-in workload image locally (no registry; the same digest on every host) and print its digest')
    .option('--datadir <dir>', 'data directory (the image is remembered there)', defaultDatadir())
    .option('--tag <name>', 'also name it (repository:tag); specs pin the digest', 'povchain/workloads:local')
    .option('--torch', 'build the PyTorch image instead: Debian bookworm + python3-torch via debootstrap from the machine\'s Debian mirror (no other internet)')
    .option('--mirror <url>', 'with --torch: Debian mirror (default: the one in /etc/apt/sources.list*)')
    .option('--rootfs <dir>', 'with --torch: a root already debootstrapped with the same packages, instead of running debootstrap')
    .option('--cache-dir <dir>', 'with --torch: cache of root file system layers (default $POVCHAIN_IMAGE_CACHE or ~/.cache/povchain/images)')
    .option('--json', 'print one JSON object')
    .action(
      action(async (opts: CommonOpts & { tag: string; torch?: boolean; mirror?: string; rootfs?: string; cacheDir?: string }, _cmd: Command) => {
        const { docker, probe } = await dockerUp()
        if (opts.torch) {
          if (!opts.json) io.err('building the PyTorch image (debootstrap: several minutes the first time; cached after)…\n')
          const built = await buildTorchImage(docker.docker, { cacheDir: opts.cacheDir ?? defaultImageCache(), ...(opts.mirror ? { mirror: opts.mirror } : {}), ...(opts.rootfs ? { rootfs: opts.rootfs } : {}) }, { logger })
          await new ImageStore({ docker: docker.docker, blobs: storeFor(opts), logger }).record({ digest: built.digest, id: built.id })
          print(
            opts.json,
            { ...built },
            `${built.reference}\n  image id ${built.id}\n  ${(built.bytes / 1e6).toFixed(0)} MB, ${built.seconds.toFixed(0)} s (${built.cached ? 'root layer from the cache' : `debootstrap ${built.debootstrapSeconds.toFixed(0)} s`}); workloads torch-mlp-train@1, torch-mlp-infer@1\n  use it as "runtime": {"type": "docker", "image": "${built.reference}"} (see compute/examples/torch-train.json)\n`,
          )
          return
        }
        const [repository, tag] = opts.tag.split(':')
        if (!opts.json) io.err('assembling the root filesystem and loading it into Docker…\n')
        const t0 = performance.now()
        const built = await new ImageBuilder(docker.docker, { logger }).build({ ...(repository ? { repository } : {}), ...(tag ? { tag } : {}) })
        const store = storeFor(opts)
        await store.setRef(IMAGE_REF, built.id)
        await new ImageStore({ docker: docker.docker, blobs: store, logger }).record({ digest: built.digest, id: built.id })
        const seconds = (performance.now() - t0) / 1000
        print(
          opts.json,
          { ...built, seconds, gpu: probe.gpu },
          `${built.reference}\n  image id ${built.id}\n  ${built.files} files, ${(built.bytes / 1e6).toFixed(1)} MB, ${seconds.toFixed(1)} s; use it as "runtime": {"type": "docker", "image": "${built.reference}"}\n${probe.gpu ? '' : '  note: no NVIDIA GPU on this host; jobs with resources.gpus > 0 will be refused here\n'}`,
        )
      }),
    )
  image
    .command('push')
    .description('push a local image to a registry (uncompressed layers, so the digest stays the build digest)')
    .argument('<image>', 'local image: repository@sha256:…, sha256:<id> or a tag')
    .argument('<target>', 'registry-host[:port]/repository')
    .option('--datadir <dir>', 'data directory', defaultDatadir())
    .option('--json', 'print one JSON object')
    .action(
      action(async (local: string, target: string, opts: CommonOpts, _cmd: Command) => {
        const { docker } = await dockerUp()
        const t0 = performance.now()
        const r = await new ImageStore({ docker: docker.docker, blobs: storeFor(opts), logger }).push(local, target)
        const seconds = (performance.now() - t0) / 1000
        print(opts.json, { ...r, seconds }, `${r.reference}\n  pushed in ${seconds.toFixed(1)} s\n`)
      }),
    )
  image
    .command('pull')
    .description('make sure a pinned image is on this engine: pulled from its registry, or from peers with --archive')
    .argument('<reference>', 'registry-host[:port]/repository@sha256:…')
    .option('--datadir <dir>', 'data directory', defaultDatadir())
    .option('--json', 'print one JSON object')
    .action(
      action(async (ref: string, opts: CommonOpts, _cmd: Command) => {
        const { docker } = await dockerUp()
        const t0 = performance.now()
        const id = await new ImageStore({ docker: docker.docker, blobs: storeFor(opts), logger }).ensure(ref)
        const seconds = (performance.now() - t0) / 1000
        print(opts.json, { reference: ref, id, seconds }, `${ref}\n  image id ${id} (${seconds.toFixed(1)} s)\n`)
      }),
    )
  image
    .command('share')
    .description('put an image\'s archive in the blob store so workers without a registry fetch it from peers; prints the "archive" hash for the spec')
    .argument('<image>', 'local image: repository@sha256:… or sha256:<id>')
    .option('--datadir <dir>', 'data directory', defaultDatadir())
    .option('--json', 'print one JSON object')
    .action(
      action(async (local: string, opts: CommonOpts, _cmd: Command) => {
        const { docker } = await dockerUp()
        const r = await new ImageStore({ docker: docker.docker, blobs: storeFor(opts), logger }).share(local)
        print(opts.json, { ...r }, `${r.digest}\n  archive ${r.archive}: use "runtime": {"type": "docker", "image": "<repository>@${r.digest}", "archive": "${r.archive}"}\n`)
      }),
    )
  image
    .command('list')
    .description('images this engine has, by digest (what a worker announces)')
    .option('--datadir <dir>', 'data directory', defaultDatadir())
    .option('--json', 'print one JSON object')
    .action(
      action(async (opts: CommonOpts, _cmd: Command) => {
        const { docker } = await dockerUp()
        const images = await new ImageStore({ docker: docker.docker, blobs: storeFor(opts), logger }).inventory()
        print(opts.json, { images }, images.map((i) => `${i.digest}  ${i.id.slice(0, 19)}${i.archive ? `  archive ${i.archive}` : ''}`).join('\n') + '\n')
      }),
    )

  const dataset = compute.command('dataset').description('datasets in the content-addressed store')
  dataset
    .command('import')
    .description('import a CSV file (numeric features, label column) as a dataset and print its hash')
    .argument('<file>', 'CSV file')
    .option('--name <name>', 'dataset name (default: file name)')
    .option('--label <column>', 'label column name or 0-based index (default: last)')
    .option('--task <task>', 'classification | regression (default: detected)')
    .option('--datadir <dir>', 'data directory', defaultDatadir())
    .option('--json', 'print one JSON object')
    .action(
      action(async (file: string, opts: CommonOpts & { name?: string; label?: string; task?: string }, _cmd: Command) => {
        if (opts.task !== undefined && opts.task !== 'classification' && opts.task !== 'regression') {
          throw new ComputeError('COMPUTE_CSV', '--task must be classification or regression', { field: '--task' })
        }
        let text: string
        try {
          text = await readFile(file, 'utf8')
        } catch (e) {
          throw new ComputeError('COMPUTE_CSV', `cannot read ${file}: ${(e as Error).message}`, { cause: e })
        }
        const ds = csvToDataset(text, {
          name: opts.name ?? basename(file).replace(/\.csv$/i, ''),
          ...(opts.label !== undefined ? { label: opts.label } : {}),
          ...(opts.task ? { task: opts.task as 'classification' | 'regression' } : {}),
        })
        const hash = await storeFor(opts).put(encodeDataset(ds))
        print(
          opts.json,
          { hash, name: ds.name, task: ds.task, rows: ds.x.length, features: ds.features, ...(ds.classes ? { classes: ds.classes } : {}) },
          `${hash}\n  ${ds.name}: ${ds.x.length} rows, ${ds.features.length} features, ${ds.task}${ds.classes ? ` (${ds.classes.join(', ')})` : ''}\n`,
        )
      }),
    )

  const specCmd = compute.command('spec').description('job specs')
  specCmd
    .command('validate')
    .description('check a job spec and print its hash (the job id)')
    .argument('<spec>', 'job spec JSON file')
    .option('--json', 'print one JSON object')
    .action(
      action(async (specPath: string, opts: { json?: boolean }, _cmd: Command) => {
        const spec = await readSpecFile(specPath)
        print(opts.json, { specHash: jobSpecHash(spec), spec }, `valid  ${jobSpecHash(spec)}\n  ${spec.kind} ${spec.workload.id}@${spec.workload.version} on ${spec.runtime.type}\n`)
      }),
    )

  return compute
}

function summariseMetrics(m: Record<string, unknown>): string {
  return Object.entries(m)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : (v as number).toFixed(4)}`)
    .join(' ')
}

/** A bar with step, loss and ETA on a terminal; one JSON line per update otherwise. */
function progressReporter(io: ComputeCliIo, json: boolean): { update: (p: ProgressEvent) => void; stop: () => void } {
  if (io.isTTY && !json) {
    const bar = new cliProgress.SingleBar(
      { format: 'step {value}/{total} [{bar}] {percentage}% | loss {loss} | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    )
    let started = false
    return {
      update: (p) => {
        if (!started) {
          bar.start(p.totalSteps, 0, { loss: '-' })
          started = true
        }
        bar.update(p.step, { loss: p.loss === undefined ? '-' : p.loss.toFixed(4) })
      },
      stop: () => started && bar.stop(),
    }
  }
  const t0 = Date.now()
  let last = 0
  return {
    update: (p) => {
      const now = Date.now()
      if (now - last < 1000 && p.step < p.totalSteps) return
      last = now
      const elapsed = (now - t0) / 1000
      const eta = p.step > 0 ? (elapsed * (p.totalSteps - p.step)) / p.step : null
      io.err(JSON.stringify({ event: 'progress', ...p, elapsedSec: Number(elapsed.toFixed(1)), etaSec: eta === null ? null : Number(eta.toFixed(1)) }) + '\n')
    },
    stop: () => {},
  }
}
