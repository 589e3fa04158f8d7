import { ComputeError, specError } from '../ComputeError.js'
import { contentHash, isHash32, type Hash32 } from '../ContentHash.js'
import { canonicalJson, canonicalJsonBytes } from '../data/CanonicalJson.js'

/**
 * Job spec, format version 1 — documented field by field in compute/README.md. The spec is
 * stored as canonical JSON and its keccak-256 (`specHash`) is the job's identity on chain.
 */
export type JobKind = 'train' | 'infer' | 'generate'

/**
 * `image` is pinned by digest; `archive` (optional) is the content hash of its `docker save`
 * archive in the blob store, which workers fetch from peers when the reference names no registry.
 */
export type RuntimeRef = { type: 'embedded' } | { type: 'docker'; image: string; archive?: string }

export type VerificationPolicy =
  /**
   * Each verifier re-executes `samples` segments — or more when `confidence` and `faultFraction`
   * are given: enough to catch a worker that forged that share of the segments with that
   * probability (compute/verify/SamplingPolicy.ts).
   */
  | { mode: 'reexecution'; samples: number; verifiers: number; confidence?: number; faultFraction?: number }
  | { mode: 'redundant'; redundancy: number; quorum: number }
  | { mode: 'tolerance'; redundancy: number; metric: string; epsilon: number }

export interface ResourceLimits {
  cpus: number
  memoryMb: number
  gpus: number
  /** Memory each requested GPU must have (MiB); only with gpus > 0. Decides which workers qualify. */
  gpuMemoryMb?: number
  timeoutSec: number
}

export interface JobSpec {
  version: 1
  kind: JobKind
  runtime: RuntimeRef
  workload: { id: string; version: number }
  /** Content hash of the input dataset blob (train, infer). */
  dataset?: Hash32
  /** Content hash of the model blob (infer). */
  model?: Hash32
  params: Record<string, unknown>
  seed: number
  checkpointInterval: number
  verification: VerificationPolicy
  resources: ResourceLimits
  /** Absolute deadline, unix seconds; the run is killed at min(deadline, start + timeoutSec). */
  deadline?: number
}

/** A digest-pinned reference: `sha256:<64 hex>` (an image id) or `name@sha256:<64 hex>`. */
export const PINNED_IMAGE = /^(?:[a-z0-9][a-z0-9._\/:-]*@)?sha256:[0-9a-f]{64}$/

const TOP_FIELDS = new Set([
  'version', 'kind', 'runtime', 'workload', 'dataset', 'model', 'params', 'seed',
  'checkpointInterval', 'verification', 'resources', 'deadline',
])

type Obj = Record<string, unknown>

function obj(v: unknown, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw specError(field, 'must be a JSON object')
  return v as Obj
}

function onlyKeys(o: Obj, allowed: string[], field: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw specError(field ? `${field}.${k}` : k, 'unknown field')
}

export function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw specError(field, 'must be an integer')
  if (v < min || v > max) throw specError(field, `must be between ${min} and ${max}`)
  return v
}

export function num(v: unknown, field: string, min: number, max: number, opts: { exclusiveMin?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw specError(field, 'must be a finite number')
  if (opts.exclusiveMin ? v <= min : v < min) throw specError(field, `must be ${opts.exclusiveMin ? 'greater than' : 'at least'} ${min}`)
  if (v > max) throw specError(field, `must be at most ${max}`)
  return v
}

export function oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) throw specError(field, `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`)
  return v as T
}

function hash(v: unknown, field: string): Hash32 {
  if (!isHash32(v)) throw specError(field, 'must be a 0x-prefixed lowercase 32-byte hex content hash')
  return v
}

/**
 * Structural validation of every generic field. Workload-specific `params` are checked by the
 * workload itself (see `validateJobSpec` in WorkloadRegistry), so each error still names its field.
 */
export function parseJobSpecStructure(value: unknown): JobSpec {
  const s = obj(value, '$')
  for (const k of Object.keys(s)) if (!TOP_FIELDS.has(k)) throw specError(k, 'unknown field')
  if (s.version !== 1) throw specError('version', 'must be 1 (the only spec version this node understands)')
  const kind = oneOf(s.kind, 'kind', ['train', 'infer', 'generate'] as const)

  const rt = obj(s.runtime, 'runtime')
  const rtype = oneOf(rt.type, 'runtime.type', ['embedded', 'docker'] as const)
  let runtime: RuntimeRef
  if (rtype === 'docker') {
    onlyKeys(rt, ['type', 'image', 'archive'], 'runtime')
    if (typeof rt.image !== 'string' || !PINNED_IMAGE.test(rt.image)) {
      throw specError('runtime.image', 'must be pinned by digest: "sha256:<64 hex>" or "name@sha256:<64 hex>" (tags are mutable)')
    }
    runtime = { type: 'docker', image: rt.image } as { type: 'docker'; image: string; archive?: string }
    if (rt.archive !== undefined) {
      if (typeof rt.archive !== 'string' || !/^0x[0-9a-f]{64}$/.test(rt.archive)) throw specError('runtime.archive', 'must be the content hash (0x + 64 lowercase hex) of the image archive `compute image share` printed')
      runtime.archive = rt.archive
    }
  } else {
    onlyKeys(rt, ['type'], 'runtime')
    runtime = { type: 'embedded' }
  }

  const wl = obj(s.workload, 'workload')
  onlyKeys(wl, ['id', 'version'], 'workload')
  if (typeof wl.id !== 'string' || !/^[a-z][a-z0-9-]{0,63}$/.test(wl.id)) throw specError('workload.id', 'must be a workload name like "mlp-train"')
  const workload = { id: wl.id, version: int(wl.version, 'workload.version', 1, 1_000_000) }

  let dataset: Hash32 | undefined
  let model: Hash32 | undefined
  if (kind === 'generate') {
    if (s.dataset !== undefined && s.dataset !== null) throw specError('dataset', 'a generate job takes no input dataset')
  } else dataset = hash(s.dataset, 'dataset')
  if (kind === 'infer') model = hash(s.model, 'model')
  else if (s.model !== undefined && s.model !== null) throw specError('model', `a ${kind} job takes no input model`)

  const params = s.params === undefined ? {} : obj(s.params, 'params')
  const seed = int(s.seed, 'seed', 0, Number.MAX_SAFE_INTEGER)
  const checkpointInterval = int(s.checkpointInterval, 'checkpointInterval', 1, 1_000_000_000)

  const v = obj(s.verification, 'verification')
  const mode = oneOf(v.mode, 'verification.mode', ['reexecution', 'redundant', 'tolerance'] as const)
  let verification: VerificationPolicy
  if (mode === 'reexecution') {
    onlyKeys(v, ['mode', 'samples', 'verifiers', 'confidence', 'faultFraction'], 'verification')
    verification = { mode, samples: int(v.samples, 'verification.samples', 1, 10_000), verifiers: int(v.verifiers, 'verification.verifiers', 1, 1000) }
    if ((v.confidence === undefined) !== (v.faultFraction === undefined))
      throw specError(v.confidence === undefined ? 'verification.confidence' : 'verification.faultFraction', 'confidence and faultFraction go together (catch a worker that forged faultFraction of the segments with probability confidence)')
    if (v.confidence !== undefined) {
      verification.confidence = num(v.confidence, 'verification.confidence', 0, 0.999999, { exclusiveMin: true })
      verification.faultFraction = num(v.faultFraction, 'verification.faultFraction', 0, 1, { exclusiveMin: true })
    }
  } else if (mode === 'redundant') {
    onlyKeys(v, ['mode', 'redundancy', 'quorum'], 'verification')
    const redundancy = int(v.redundancy, 'verification.redundancy', 2, 1000)
    const quorum = int(v.quorum, 'verification.quorum', 1, redundancy)
    if (quorum * 2 <= redundancy) throw specError('verification.quorum', `must be a majority of redundancy (> ${redundancy / 2})`)
    verification = { mode, redundancy, quorum }
  } else {
    onlyKeys(v, ['mode', 'redundancy', 'metric', 'epsilon'], 'verification')
    if (typeof v.metric !== 'string' || !/^[a-zA-Z][a-zA-Z0-9]{0,63}$/.test(v.metric)) throw specError('verification.metric', 'must name a metric, e.g. "testLoss"')
    verification = { mode, redundancy: int(v.redundancy, 'verification.redundancy', 1, 1000), metric: v.metric, epsilon: num(v.epsilon, 'verification.epsilon', 0, 1e9) }
  }

  const r = obj(s.resources, 'resources')
  onlyKeys(r, ['cpus', 'memoryMb', 'gpus', 'gpuMemoryMb', 'timeoutSec'], 'resources')
  const resources: ResourceLimits = {
    cpus: num(r.cpus, 'resources.cpus', 0, 1024, { exclusiveMin: true }),
    memoryMb: int(r.memoryMb, 'resources.memoryMb', 32, 4_194_304),
    gpus: r.gpus === undefined ? 0 : int(r.gpus, 'resources.gpus', 0, 64),
    timeoutSec: int(r.timeoutSec, 'resources.timeoutSec', 1, 30 * 24 * 3600),
  }
  if (r.gpuMemoryMb !== undefined) {
    if (!resources.gpus) throw specError('resources.gpuMemoryMb', 'only with resources.gpus > 0')
    resources.gpuMemoryMb = int(r.gpuMemoryMb, 'resources.gpuMemoryMb', 1, 16_777_216)
  }
  const spec: JobSpec = { version: 1, kind, runtime, workload, params, seed, checkpointInterval, verification, resources }
  if (dataset) spec.dataset = dataset
  if (model) spec.model = model
  if (s.deadline !== undefined && s.deadline !== null) spec.deadline = int(s.deadline, 'deadline', 0, 1e11)
  return spec
}

export function encodeJobSpec(spec: JobSpec): Uint8Array {
  return canonicalJsonBytes(spec)
}

export function jobSpecHash(spec: JobSpec): Hash32 {
  return contentHash(encodeJobSpec(spec))
}

export function jobSpecText(spec: JobSpec): string {
  return canonicalJson(spec)
}

export function decodeJson(bytes: Uint8Array | string, what: string): unknown {
  try {
    return JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (e) {
    throw new ComputeError('COMPUTE_INVALID_SPEC', `${what} is not valid JSON: ${(e as Error).message}`, { field: '$', cause: e })
  }
}
