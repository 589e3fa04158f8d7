import { ComputeError, specError } from '../ComputeError.js'
import { canonicalJsonBytes } from '../data/CanonicalJson.js'
import type { Dataset } from '../data/Dataset.js'
import { detCos, detSin } from '../math/DeterministicMath.js'
import { Prng } from '../math/Prng.js'
import { StateReader, StateWriter } from '../math/StateCodec.js'
import { int, num, oneOf, type JobSpec } from '../spec/JobSpec.js'
import type { PreparedWorkload, Workload, WorkloadMetrics } from './Workload.js'

export type Generator = 'blobs' | 'spirals' | 'polynomial'

export interface SyntheticParams {
  generator: Generator
  samples: number
  features: number
  classes: number
  noise: number
  degree: number
  chunk: number
}

interface GenState {
  step: number
  rng: Prng
  x: Float64Array
  y: Float64Array
}

export function readSyntheticParams(p: Record<string, unknown>): SyntheticParams {
  for (const k of Object.keys(p)) {
    if (!['generator', 'samples', 'features', 'classes', 'noise', 'degree', 'chunk'].includes(k)) throw specError(`params.${k}`, 'unknown field')
  }
  const generator = oneOf(p.generator, 'params.generator', ['blobs', 'spirals', 'polynomial'] as const)
  const samples = int(p.samples, 'params.samples', 2, 1_000_000)
  const features = generator === 'spirals' ? int(p.features ?? 2, 'params.features', 2, 2) : int(p.features ?? 2, 'params.features', 1, 1024)
  const classes = generator === 'polynomial' ? 0 : int(p.classes ?? 3, 'params.classes', 2, 64)
  const noise = num(p.noise ?? (generator === 'blobs' ? 1 : 0.1), 'params.noise', 0, 1000)
  const degree = int(p.degree ?? 3, 'params.degree', 1, 10)
  const chunk = int(p.chunk ?? 100, 'params.chunk', 1, 1_000_000)
  return { generator, samples, features, classes, noise, degree, chunk }
}

export class SyntheticDataWorkload implements Workload {
  readonly id = 'synthetic-data'
  readonly version = 1
  readonly kind = 'generate' as const
  readonly description = 'Generates a labelled dataset (gaussian blobs, interleaved spirals, noisy polynomial regression) from a seed'

  validateParams(params: Record<string, unknown>): void {
    readSyntheticParams(params)
  }

  prepare(spec: JobSpec): PreparedWorkload<GenState> {
    return new PreparedSynthetic(spec, readSyntheticParams(spec.params))
  }
}

class PreparedSynthetic implements PreparedWorkload<GenState> {
  readonly totalSteps: number
  readonly macsPerStep: number
  readonly samplesPerStep: number
  /** Blob centres / polynomial coefficients: fixed by the seed, so not part of the mutable state. */
  private readonly centers: Float64Array
  private readonly coeffs: Float64Array

  constructor(
    private readonly spec: JobSpec,
    private readonly p: SyntheticParams,
  ) {
    this.samplesPerStep = Math.min(p.chunk, p.samples)
    this.totalSteps = Math.ceil(p.samples / this.samplesPerStep)
    this.macsPerStep = this.samplesPerStep * p.features * 4
    const rng = Prng.derive(spec.seed, 'synthetic-shape')
    this.centers = Float64Array.from({ length: p.classes * p.features }, () => (rng.nextFloat() * 2 - 1) * 10)
    this.coeffs = Float64Array.from({ length: p.features * p.degree + 1 }, () => rng.nextFloat() * 2 - 1)
  }

  init(): GenState {
    return { step: 0, rng: Prng.derive(this.spec.seed, 'synthetic-samples'), x: new Float64Array(0), y: new Float64Array(0) }
  }

  stepOf(s: GenState): number {
    return s.step
  }

  step(s: GenState): void {
    const { features: nf, samples } = this.p
    const start = s.step * this.samplesPerStep
    const end = Math.min(start + this.samplesPerStep, samples)
    const x = new Float64Array(end * nf)
    x.set(s.x)
    const y = new Float64Array(end)
    y.set(s.y)
    for (let i = start; i < end; i++) this.sample(s.rng, i, x.subarray(i * nf, (i + 1) * nf), y)
    s.x = x
    s.y = y
    s.step++
  }

  private sample(rng: Prng, i: number, row: Float64Array, y: Float64Array): void {
    const p = this.p
    if (p.generator === 'blobs') {
      const c = i % p.classes // balanced classes
      for (let j = 0; j < p.features; j++) row[j] = this.centers[c * p.features + j]! + p.noise * rng.nextGaussian()
      y[i] = c
    } else if (p.generator === 'spirals') {
      const c = i % p.classes
      const t = rng.nextFloat() // position along the arm
      const r = 0.1 + 0.9 * t
      const angle = (4 * Math.PI * t) + (2 * Math.PI * c) / p.classes
      row[0] = r * detCos(angle) + p.noise * rng.nextGaussian()
      row[1] = r * detSin(angle) + p.noise * rng.nextGaussian()
      y[i] = c
    } else {
      let v = this.coeffs[0]!
      for (let j = 0; j < p.features; j++) {
        const xj = rng.nextFloat() * 2 - 1
        row[j] = xj
        let pw = 1
        for (let d = 0; d < p.degree; d++) {
          pw *= xj
          v += this.coeffs[1 + j * p.degree + d]! * pw
        }
      }
      y[i] = v + p.noise * rng.nextGaussian()
    }
  }

  encode(s: GenState): Uint8Array {
    return new StateWriter().str('synthetic-data/1').u32(s.step).u32s(s.rng.state()).f64s(s.x).f64s(s.y).finish()
  }

  decode(bytes: Uint8Array): GenState {
    const r = new StateReader(bytes)
    if (r.str() !== 'synthetic-data/1') throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', 'checkpoint is not a synthetic-data/1 state')
    const step = r.u32()
    if (step > this.totalSteps) throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', 'checkpoint step beyond the job')
    const rows = Math.min(step * this.samplesPerStep, this.p.samples)
    const s = { step, rng: Prng.fromState(r.u32s(4)), x: r.f64s(rows * this.p.features), y: r.f64s(rows) }
    r.end()
    return s
  }

  progress(): Record<string, never> {
    return {}
  }

  finish(s: GenState): { output: Uint8Array; metrics: WorkloadMetrics } {
    const p = this.p
    const x: number[][] = []
    for (let i = 0; i < p.samples; i++) x.push(Array.from(s.x.subarray(i * p.features, (i + 1) * p.features)))
    const classification = p.generator !== 'polynomial'
    const ds: Dataset = {
      format: 'povchain-dataset',
      version: 1,
      name: `synthetic-${p.generator}-${this.spec.seed}`,
      task: classification ? 'classification' : 'regression',
      features: Array.from({ length: p.features }, (_, j) => `x${j}`),
      ...(classification ? { classes: Array.from({ length: p.classes }, (_, c) => `c${c}`) } : {}),
      x,
      y: Array.from(s.y),
    }
    return { output: canonicalJsonBytes(ds), metrics: { rows: p.samples, features: p.features, classes: p.classes } }
  }
}
