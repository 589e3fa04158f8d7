import { ComputeError, specError } from '../ComputeError.js'
import { canonicalJsonBytes } from '../data/CanonicalJson.js'
import { decodeDataset, type Dataset } from '../data/Dataset.js'
import { StateReader, StateWriter } from '../math/StateCodec.js'
import { decodeJson, int, type JobSpec } from '../spec/JobSpec.js'
import { MlpNetwork, normalizeRows, validateModelFile, type MlpModelFile } from './MlpNetwork.js'
import type { PreparedWorkload, Workload, WorkloadInputs, WorkloadMetrics } from './Workload.js'

interface InferState {
  step: number
  predictions: Float64Array
  lossSum: number
  correct: number
}

export function readMlpInferParams(p: Record<string, unknown>): { batchSize: number } {
  for (const k of Object.keys(p)) if (k !== 'batchSize') throw specError(`params.${k}`, 'unknown field')
  return { batchSize: int(p.batchSize ?? 64, 'params.batchSize', 1, 1_000_000) }
}

export function decodeModel(bytes: Uint8Array): MlpModelFile {
  let v: unknown
  try {
    v = decodeJson(bytes, 'model')
  } catch (e) {
    throw new ComputeError('COMPUTE_INVALID_MODEL', (e as Error).message, { cause: e })
  }
  return validateModelFile(v)
}

/** Loss and accuracy of a model over a dataset — also what the tolerance verifier recomputes. */
export function evaluateModel(model: MlpModelFile, ds: Dataset): { loss: number; accuracy: number } {
  const prepared = new PreparedMlpInfer({ batchSize: ds.x.length }, model, ds)
  const s = prepared.init()
  while (s.step < prepared.totalSteps) prepared.step(s)
  return { loss: s.lossSum / ds.x.length, accuracy: s.correct / ds.x.length }
}

export class MlpInferWorkload implements Workload {
  readonly id = 'mlp-infer'
  readonly version = 1
  readonly kind = 'infer' as const
  readonly description = 'Runs a trained povchain-mlp model over a dataset and outputs predictions'

  validateParams(params: Record<string, unknown>): void {
    readMlpInferParams(params)
  }

  prepare(spec: JobSpec, inputs: WorkloadInputs): PreparedWorkload<InferState> {
    if (!inputs.dataset) throw new ComputeError('COMPUTE_INVALID_DATASET', 'mlp-infer needs an input dataset')
    if (!inputs.model) throw new ComputeError('COMPUTE_INVALID_MODEL', 'mlp-infer needs an input model')
    return new PreparedMlpInfer(readMlpInferParams(spec.params), decodeModel(inputs.model), decodeDataset(inputs.dataset))
  }
}

class PreparedMlpInfer implements PreparedWorkload<InferState> {
  readonly totalSteps: number
  readonly macsPerStep: number
  readonly samplesPerStep: number
  private readonly net: MlpNetwork
  private readonly params: Float64Array
  private readonly xs: Float64Array[]
  private readonly probs: Float64Array

  constructor(
    p: { batchSize: number },
    private readonly model: MlpModelFile,
    private readonly ds: Dataset,
  ) {
    if (ds.features.length !== model.sizes[0]) {
      throw new ComputeError('COMPUTE_INVALID_DATASET', `dataset has ${ds.features.length} features, the model expects ${model.sizes[0]}`, { field: 'features' })
    }
    if (ds.task !== model.task) throw new ComputeError('COMPUTE_INVALID_DATASET', `dataset task ${ds.task} does not match the model's ${model.task}`, { field: 'task' })
    if (model.task === 'classification' && ds.classes!.length !== model.sizes[model.sizes.length - 1]) {
      throw new ComputeError('COMPUTE_INVALID_DATASET', 'dataset classes do not match the model outputs', { field: 'classes' })
    }
    this.net = new MlpNetwork(model.sizes, model.activation, model.task)
    this.params = Float64Array.from(model.params)
    this.xs = normalizeRows(ds.x, model.normalization)
    this.samplesPerStep = Math.min(p.batchSize, ds.x.length)
    this.totalSteps = Math.ceil(ds.x.length / this.samplesPerStep)
    this.macsPerStep = this.net.macsForward * this.samplesPerStep
    this.probs = new Float64Array(this.net.outputs)
  }

  init(): InferState {
    return { step: 0, predictions: new Float64Array(0), lossSum: 0, correct: 0 }
  }

  stepOf(s: InferState): number {
    return s.step
  }

  step(s: InferState): void {
    const start = s.step * this.samplesPerStep
    const end = Math.min(start + this.samplesPerStep, this.ds.x.length)
    const preds = new Float64Array(end)
    preds.set(s.predictions)
    for (let r = start; r < end; r++) {
      const res = this.net.lossAndGrad(this.params, this.xs[r]!, this.ds.y[r]!, null, this.probs)
      s.lossSum += res.loss
      if (res.correct) s.correct++
      preds[r] = res.predicted
    }
    s.predictions = preds
    s.step++
  }

  encode(s: InferState): Uint8Array {
    return new StateWriter().str('mlp-infer/1').u32(s.step).f64s(s.predictions).f64(s.lossSum).u32(s.correct).finish()
  }

  decode(bytes: Uint8Array): InferState {
    const r = new StateReader(bytes)
    if (r.str() !== 'mlp-infer/1') throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', 'checkpoint is not an mlp-infer/1 state')
    const step = r.u32()
    if (step > this.totalSteps) throw new ComputeError('COMPUTE_INVALID_CHECKPOINT', 'checkpoint step beyond the job')
    const predictions = r.f64s(Math.min(step * this.samplesPerStep, this.ds.x.length))
    const s = { step, predictions, lossSum: r.f64(), correct: r.u32() }
    r.end()
    return s
  }

  progress(s: InferState) {
    const n = s.predictions.length
    return n ? { loss: s.lossSum / n, ...(this.model.task === 'classification' ? { accuracy: s.correct / n } : {}) } : {}
  }

  finish(s: InferState): { output: Uint8Array; metrics: WorkloadMetrics } {
    const n = this.ds.x.length
    const out = {
      format: 'povchain-predictions',
      version: 1,
      task: this.model.task,
      ...(this.model.classes ? { classes: this.model.classes } : {}),
      predictions: Array.from(s.predictions),
    }
    const metrics: WorkloadMetrics = { rows: n, loss: s.lossSum / n }
    if (this.model.task === 'classification') metrics.accuracy = s.correct / n
    return { output: canonicalJsonBytes(out), metrics }
  }
}
