import { ComputeError } from '../ComputeError.js'
import { detExp, detLog, detTanh } from '../math/DeterministicMath.js'
import type { Prng } from '../math/Prng.js'

export type Activation = 'relu' | 'tanh'
export type Task = 'classification' | 'regression'

/**
 * A dense network stored as one flat Float64Array: for each layer the weight matrix
 * (out × in, row-major) followed by its bias. Loops run in index order only, so summation
 * order — and therefore every rounding — is fixed.
 */
export class MlpNetwork {
  readonly sizes: number[]
  readonly offsets: { w: number; b: number }[] = []
  readonly paramCount: number
  readonly macsForward: number
  private readonly acts: Float64Array[]
  private readonly deltas: Float64Array[]

  constructor(
    sizes: number[],
    readonly activation: Activation,
    readonly task: Task,
  ) {
    this.sizes = sizes
    let o = 0
    let macs = 0
    for (let l = 0; l + 1 < sizes.length; l++) {
      const w = o
      o += sizes[l + 1]! * sizes[l]!
      macs += sizes[l + 1]! * sizes[l]!
      this.offsets.push({ w, b: o })
      o += sizes[l + 1]!
    }
    this.paramCount = o
    this.macsForward = macs
    this.acts = sizes.map((n) => new Float64Array(n))
    this.deltas = sizes.map((n) => new Float64Array(n))
  }

  get outputs(): number {
    return this.sizes[this.sizes.length - 1]!
  }

  /** Uniform Glorot/He-style init from the job's PRNG; biases start at zero. */
  initParams(rng: Prng): Float64Array {
    const p = new Float64Array(this.paramCount)
    for (let l = 0; l + 1 < this.sizes.length; l++) {
      const fanIn = this.sizes[l]!
      const fanOut = this.sizes[l + 1]!
      const limit = this.activation === 'relu' ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut))
      const { w } = this.offsets[l]!
      for (let i = 0; i < fanIn * fanOut; i++) p[w + i] = (2 * rng.nextFloat() - 1) * limit
    }
    return p
  }

  private act(x: number): number {
    return this.activation === 'relu' ? (x > 0 ? x : 0) : detTanh(x)
  }

  /** Forward pass; returns the output layer (logits for classification). Reuses internal buffers. */
  forward(params: Float64Array, input: ArrayLike<number>): Float64Array {
    const a0 = this.acts[0]!
    for (let i = 0; i < a0.length; i++) a0[i] = input[i]!
    const L = this.sizes.length - 1
    for (let l = 0; l < L; l++) {
      const nin = this.sizes[l]!
      const nout = this.sizes[l + 1]!
      const { w, b } = this.offsets[l]!
      const x = this.acts[l]!
      const y = this.acts[l + 1]!
      for (let j = 0; j < nout; j++) {
        let s = params[b + j]!
        const row = w + j * nin
        for (let i = 0; i < nin; i++) s += params[row + i]! * x[i]!
        y[j] = l + 1 < L ? this.act(s) : s
      }
    }
    return this.acts[L]!
  }

  /** Softmax probabilities with max-subtraction; deterministic exp. */
  static softmax(logits: ArrayLike<number>, out: Float64Array): Float64Array {
    let m = -Infinity
    for (let i = 0; i < logits.length; i++) if (logits[i]! > m) m = logits[i]!
    let sum = 0
    for (let i = 0; i < logits.length; i++) {
      out[i] = detExp(logits[i]! - m)
      sum += out[i]!
    }
    for (let i = 0; i < logits.length; i++) out[i] = out[i]! / sum
    return out
  }

  /**
   * Loss of one sample, and (if `grad` is given) adds its gradient to `grad`.
   * Classification: softmax cross-entropy; regression: ½·squared error.
   */
  lossAndGrad(params: Float64Array, input: ArrayLike<number>, target: number, grad: Float64Array | null, probs: Float64Array): { loss: number; correct: boolean; predicted: number } {
    const out = this.forward(params, input)
    const L = this.sizes.length - 1
    const dOut = this.deltas[L]!
    let loss: number
    let correct: boolean
    let predicted: number
    if (this.task === 'classification') {
      MlpNetwork.softmax(out, probs)
      let arg = 0
      for (let i = 1; i < probs.length; i++) if (out[i]! > out[arg]!) arg = i
      correct = arg === target
      predicted = arg
      // Floor the probability so a confident wrong answer gives a large finite loss, not Infinity.
      const p = probs[target]!
      loss = -detLog(p > 1e-300 ? p : 1e-300)
      for (let i = 0; i < probs.length; i++) dOut[i] = probs[i]! - (i === target ? 1 : 0)
    } else {
      const e = out[0]! - target
      loss = 0.5 * e * e
      correct = false
      predicted = out[0]!
      dOut[0] = e
    }
    if (grad) this.backward(params, grad)
    return { loss, correct, predicted }
  }

  private backward(params: Float64Array, grad: Float64Array): void {
    for (let l = this.sizes.length - 2; l >= 0; l--) {
      const nin = this.sizes[l]!
      const nout = this.sizes[l + 1]!
      const { w, b } = this.offsets[l]!
      const x = this.acts[l]!
      const d = this.deltas[l + 1]!
      const dPrev = this.deltas[l]!
      for (let j = 0; j < nout; j++) {
        grad[b + j] = grad[b + j]! + d[j]!
        const row = w + j * nin
        for (let i = 0; i < nin; i++) grad[row + i] = grad[row + i]! + d[j]! * x[i]!
      }
      if (l === 0) break
      for (let i = 0; i < nin; i++) {
        let s = 0
        for (let j = 0; j < nout; j++) s += params[w + j * nin + i]! * d[j]!
        // Derivative through the hidden activation of layer l (x = act(pre)).
        const a = x[i]!
        dPrev[i] = this.activation === 'relu' ? (a > 0 ? s : 0) : s * (1 - a * a)
      }
    }
  }
}

export interface Normalization {
  mean: number[]
  std: number[]
}

/** Per-feature mean and standard deviation over the given rows, summed in row order. */
export function fitNormalization(rows: number[][], idx: ArrayLike<number>): Normalization {
  const nf = rows[0]!.length
  const mean = new Array<number>(nf).fill(0)
  const std = new Array<number>(nf).fill(0)
  for (let k = 0; k < idx.length; k++) for (let j = 0; j < nf; j++) mean[j] = mean[j]! + rows[idx[k]!]![j]!
  for (let j = 0; j < nf; j++) mean[j] = mean[j]! / idx.length
  for (let k = 0; k < idx.length; k++) {
    for (let j = 0; j < nf; j++) {
      const d = rows[idx[k]!]![j]! - mean[j]!
      std[j] = std[j]! + d * d
    }
  }
  for (let j = 0; j < nf; j++) {
    const s = Math.sqrt(std[j]! / idx.length)
    std[j] = s > 1e-12 ? s : 1
  }
  return { mean, std }
}

export function normalizeRows(rows: number[][], n: Normalization): Float64Array[] {
  return rows.map((r) => Float64Array.from(r, (v, j) => (v - n.mean[j]!) / n.std[j]!))
}

/** The model blob a training job produces and an inference job consumes (canonical JSON). */
export interface MlpModelFile {
  format: 'povchain-mlp'
  version: 1
  task: Task
  sizes: number[]
  activation: Activation
  features: string[]
  classes?: string[]
  normalization: Normalization
  params: number[]
}

export function validateModelFile(v: unknown): MlpModelFile {
  const bad = (f: string, m: string) => new ComputeError('COMPUTE_INVALID_MODEL', `invalid model: ${f}: ${m}`, { field: f })
  if (typeof v !== 'object' || v === null) throw bad('$', 'must be a JSON object')
  const m = v as Record<string, unknown>
  if (m.format !== 'povchain-mlp' || m.version !== 1) throw bad('format', 'not a povchain-mlp v1 model')
  if (m.task !== 'classification' && m.task !== 'regression') throw bad('task', 'unknown task')
  if (m.activation !== 'relu' && m.activation !== 'tanh') throw bad('activation', 'unknown activation')
  if (!Array.isArray(m.sizes) || m.sizes.length < 2 || !m.sizes.every((s) => Number.isInteger(s) && s >= 1 && s <= 65536)) throw bad('sizes', 'must list layer widths')
  const net = new MlpNetwork(m.sizes as number[], m.activation, m.task)
  if (!Array.isArray(m.params) || m.params.length !== net.paramCount || !m.params.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw bad('params', `must be ${net.paramCount} finite numbers`)
  }
  const nf = (m.sizes as number[])[0]!
  const norm = m.normalization as Normalization | undefined
  if (!norm || !Array.isArray(norm.mean) || !Array.isArray(norm.std) || norm.mean.length !== nf || norm.std.length !== nf) throw bad('normalization', `must hold ${nf} means and stds`)
  if (!Array.isArray(m.features) || m.features.length !== nf) throw bad('features', `must name ${nf} features`)
  return m as unknown as MlpModelFile
}
