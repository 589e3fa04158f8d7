import { ComputeError, specError } from '../ComputeError.js'
import { canonicalJsonBytes } from '../data/CanonicalJson.js'
import { decodeDataset, type Dataset } from '../data/Dataset.js'
import { Prng } from '../math/Prng.js'
import { StateReader, StateWriter } from '../math/StateCodec.js'
import { int, num, oneOf, type JobSpec } from '../spec/JobSpec.js'
import { fitNormalization, MlpNetwork, normalizeRows, type Activation, type MlpModelFile } from './MlpNetwork.js'
import { applyUpdate, initOptimizerState, type OptimizerConfig, type OptimizerState } from './Optimizer.js'
import type { PreparedWorkload, Workload, WorkloadInputs, WorkloadMetrics } from './Workload.js'

export interface MlpTrainParams {
  layers: number[]
  activation: Activation
  epochs: number
  batchSize: number
  optimizer: OptimizerConfig
  testFraction: number
}

interface EpochRecord {
  epoch: number
  trainLoss: number
  trainAccuracy: number
  testLoss: number
  testAccuracy: number
}

interface TrainState {
  step: number
  params: Float64Array
  opt: OptimizerState
  rng: Prng
  /** Order of training rows in the current epoch; reshuffled from `rng` at each epoch start. */
  perm: Uint32Array
  lastBatchLoss: number
  history: EpochRecord[]
}

const ALLOWED = ['layers', 'activation', 'epochs', 'batchSize', 'optimizer', 'testFraction']

export function readMlpTrainParams(p: Record<string, unknown>): MlpTrainParams {
  for (const k of Object.keys(p)) if (!ALLOWED.includes(k)) throw specError(`params.${k}`, 'unknown field')
  const layersRaw = p.layers ?? [16]
  if (!Array.isArray(layersRaw) || layersRaw.length > 8) throw specError('params.layers', 'must be an array of at most 8 hidden layer widths')
  const layers = layersRaw.map((w, i) => int(w, `params.layers[${i}]`, 1, 4096))
  const activation = oneOf(p.activation ?? 'relu', 'params.activation', ['relu', 'tanh'] as const)
  const epochs = int(p.epochs, 'params.epochs', 1, 1_000_000)
  const batchSize = int(p.batchSize ?? 32, 'params.batchSize', 1, 1_000_000)
  const testFraction = num(p.testFraction ?? 0.2, 'params.testFraction', 0, 0.9)
  const o = p.optimizer ?? { type: 'adam' }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw specError('params.optimizer', 'must be an object')
  const oo = o as Record<string, unknown>
  const type = oneOf(oo.type, 'params.optimizer.type', ['sgd', 'adam'] as const)
  let optimizer: OptimizerConfig
  if (type === 'sgd') {
    for (const k of Object.keys(oo)) if (!['type', 'learningRate', 'momentum'].includes(k)) throw specError(`params.optimizer.${k}`, 'unknown field')
    optimizer = {
      type,
      learningRate: num(oo.learningRate ?? 0.1, 'params.optimizer.learningRate', 0, 100, { exclusiveMin: true }),
      momentum: num(oo.momentum ?? 0.9, 'params.optimizer.momentum', 0, 0.999999),
    }
  } else {
    for (const k of Object.keys(oo)) if (!['type', 'learningRate', 'beta1', 'beta2', 'epsilon'].includes(k)) throw specError(`params.optimizer.${k}`, 'unknown field')
    optimizer = {
      type,
      learningRate: num(oo.learningRate ?? 0.01, 'params.optimizer.learningRate', 0, 100, { exclusiveMin: true }),
      beta1: num(oo.beta1 ?? 0.9, 'params.optimizer.beta1', 0, 0.999999),
      beta2: num(oo.beta2 ?? 0.999, 'params.optimizer.beta2', 0, 0.99999999),
      epsilon: num(oo.epsilon ?? 1e-8, 'params.optimizer.epsilon', 0, 1, { exclusiveMin: true }),
    }
  }
  return { layers, activation, epochs, batchSize, optimizer, testFraction }
}

/** Train/test split drawn from the seed, so worker and verifier agree on which rows are held out. */
export function splitRows(n: number, testFraction: number, seed: number): { train: Uint32Array; test: Uint32Array } {
  const idx = Uint32Array.from({ length: n }, (_, i) => i)
  Prng.derive(seed, 'split').shuffle(idx)
  let nTest = Math.round(n * testFraction)
  if (nTest >= n) nTest = n - 1
  // Sorted within each part: the split is a set, and the batch order comes from `perm`.
  return { test: idx.slice(0, nTest).sort(), train: idx.slice(nTest).sort() }
}

export class MlpTrainWorkload implements Workload {
  readonly id = 'mlp-train'
  readonly version = 1
  readonly kind = 'train' as const
  readonly description = 'Dense neural network (ReLU/tanh, softmax cross-entropy or squared error) trained with mini-batch SGD+momentum or Adam'

  validateParams(params: Record<string, unknown>): void {
    readMlpTrainParams(params)
  }

  prepare(spec: JobSpec, inputs: WorkloadInputs): PreparedWorkload<TrainState> {
    if (!inputs.dataset) throw new ComputeError('COMPUTE_INVALID_DATASET', 'mlp-train needs an input dataset')
    return new PreparedMlpTrain(spec, readMlpTrainParams(spec.params), decodeDataset(inputs.dataset))
  }
}

class PreparedMlpTrain implements PreparedWorkload<TrainState> {
  readonly totalSteps: number
  readonly macsPerStep: number
  readonly samplesPerStep: number
  private readonly net: MlpNetwork
  private readonly xs: Float64Array[]
  private readonly train: Uint32Array
  private readonly test: Uint32Array
  private readonly stepsPerEpoch: number
  private readonly grad: Float64Array
  private readonly probs: Float64Array

  constructor(
    private readonly spec: JobSpec,
    private readonly p: MlpTrainParams,
    private readonly ds: Dataset,
  ) {
    const outputs = ds.task === 'classification' ? ds.classes!.length : 1
    this.net = new MlpNetwork([ds.features.length, ...p.layers, outputs], p.activation, ds.task)
    const split = splitRows(ds.x.length, p.testFraction, spec.seed)
    this.train = split.train
    this.test = split.test
    this.norm = fitNormalization(ds.x, this.train)
    this.xs = normalizeRows(ds.x, this.norm)
    const batch = Math.min(p.batchSize, this.train.length)
    this.stepsPerEpoch = Math.ceil(this.train.length / batch)
    this.totalSteps = this.stepsPerEpoch * p.epochs
    this.samplesPerStep = batch
    // Forward + backward ≈ 3× the forward multiply-adds per sample, plus the epoch-end evaluation.
    this.macsPerStep = 3 * this.net.macsForward * batch + (this.net.macsForward * ds.x.length) / this.stepsPerEpoch
    this.grad = new Float64Array(this.net.paramCount)
    this.probs = new Float64Array(this.net.outputs)
  }

  private readonly norm

  init(): TrainState {
    return {
      step: 0,
      params: this.net.initParams(Prng.derive(this.spec.seed, 'init')),
      opt: initOptimizerState(this.net.paramCount, this.p.optimizer),
      rng: Prng.derive(this.spec.seed, 'batches'),
      perm: Uint32Array.from(this.train),
      lastBatchLoss: 0,
      history: [],
    }
  }

  stepOf(s: TrainState): number {
    return s.step
  }

  step(s: TrainState): void {
    const inEpoch = s.step % this.stepsPerEpoch
    if (inEpoch === 0) s.rng.shuffle(s.perm)
    const batch = this.samplesPerStep
    const start = inEpoch * batch
    const end = Math.min(start + batch, s.perm.length)
    const grad = this.grad
    grad.fill(0)
    let loss = 0
    for (let k = start; k < end; k++) {
      const r = s.perm[k]!
      loss += this.net.lossAndGrad(s.params, this.xs[r]!, this.ds.y[r]!, grad, this.probs).loss
    }
    const n = end - start
    for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! / n
    applyUpdate(this.p.optimizer, s.params, grad, s.opt)
    s.lastBatchLoss = loss / n
    s.step++
    if (s.step % this.stepsPerEpoch === 0) {
      const tr = this.evaluate(s.params, this.train)
      const te = this.test.length ? this.evaluate(s.params, this.test) : tr
      s.history.push({ epoch: s.step / this.stepsPerEpoch, trainLoss: tr.loss, trainAccuracy: tr.accuracy, testLoss: te.loss, testAccuracy: te.accuracy })
    }
  }

  private evaluate(params: Float64Array, rows: Uint32Array): { loss: number; accuracy: number } {
    let loss = 0
    let correct = 0
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k]!
      const res = this.net.lossAndGrad(params, this.xs[r]!, this.ds.y[r]!, null, this.probs)
      loss += res.loss
      if (res.correct) correct++
    }
    return { loss: loss / rows.length, accuracy: this.ds.task === 'classification' ? correct / rows.length : 0 }
  }

  encode(s: TrainState): Uint8Array {
    const w = new StateWriter().str('mlp-train/1').u32(s.step).f64s(s.params).f64s(s.opt.m).f64s(s.opt.v).f64(s.opt.beta1Pow).f64(s.opt.beta2Pow)
    w.u32s(s.rng.state()).u32s(s.perm).f64(s.lastBatchLoss).u32(s.history.length)
    for (const h of s.history) w.u32(h.epoch).f64(h.trainLoss).f64(h.trainAccuracy).f64(h.testLoss).f64(h.testAccuracy)
    return w.finish()
  }

  decode(bytes: Uint8Array): TrainState {
    const r = new StateReader(bytes)
    if (r.str() !== 'mlp-train/1') throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', 'checkpoint is not an mlp-train/1 state')
    const step = r.u32()
    if (step > this.totalSteps) throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', `checkpoint step ${step} beyond the job's ${this.totalSteps} steps`)
    const n = this.net.paramCount
    const params = r.f64s(n)
    const m = r.f64s(n)
    const v = r.f64s(this.p.optimizer.type === 'adam' ? n : 0)
    const beta1Pow = r.f64()
    const beta2Pow = r.f64()
    const rng = Prng.fromState(r.u32s(4))
    const perm = r.u32s(this.train.length)
    const lastBatchLoss = r.f64()
    const nh = r.u32()
    if (nh > this.p.epochs) throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', 'checkpoint history longer than the job')
    const history: EpochRecord[] = []
    for (let i = 0; i < nh; i++) history.push({ epoch: r.u32(), trainLoss: r.f64(), trainAccuracy: r.f64(), testLoss: r.f64(), testAccuracy: r.f64() })
    r.end()
    return { step, params, opt: { m, v, beta1Pow, beta2Pow }, rng, perm, lastBatchLoss, history }
  }

  progress(s: TrainState) {
    const last = s.history[s.history.length - 1]
    return { loss: s.lastBatchLoss, epoch: Math.floor(s.step / this.stepsPerEpoch), ...(last ? { accuracy: last.testAccuracy } : {}) }
  }

  finish(s: TrainState): { output: Uint8Array; metrics: WorkloadMetrics } {
    for (let i = 0; i < s.params.length; i++) {
      if (!Number.isFinite(s.params[i]!)) throw new ComputeError('COMPUTE_WORKLOAD_FAILED', 'training diverged: non-finite weights (lower params.optimizer.learningRate)')
    }
    const model: MlpModelFile = {
      format: 'povchain-mlp',
      version: 1,
      task: this.ds.task,
      sizes: this.net.sizes,
      activation: this.p.activation,
      features: this.ds.features,
      ...(this.ds.classes ? { classes: this.ds.classes } : {}),
      normalization: this.norm,
      params: Array.from(s.params),
    }
    const last = s.history[s.history.length - 1]!
    const metrics: WorkloadMetrics = {
      steps: s.step,
      epochs: s.history.length,
      trainRows: this.train.length,
      testRows: this.test.length,
      trainLoss: last.trainLoss,
      trainAccuracy: last.trainAccuracy,
      testLoss: last.testLoss,
      testAccuracy: last.testAccuracy,
      history: s.history.map((h) => ({ ...h })),
    }
    return { output: canonicalJsonBytes(model), metrics }
  }
}
