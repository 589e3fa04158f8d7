import { randomInt } from 'node:crypto'
import { bundledDatasets } from '../../compute/data/BundledDatasets.js'
import type { JobSpec } from '../../compute/spec/JobSpec.js'

/** One control task: a spec the node's built-in workloads run, and the inputs it needs. */
export interface ControlTaskSpec {
  spec: JobSpec
  inputs: { dataset?: Uint8Array }
}

const pick = <T>(xs: readonly T[]): T => xs[randomInt(xs.length)]!

/**
 * A fresh control task, drawn from the jobs a client could post for the built-in workloads —
 * MLP training on a bundled dataset (width, depth, activation, epochs, batch, optimizer, learning
 * rate, split, checkpoint interval) or synthetic data generation (generator, size, features,
 * classes, noise, chunk) — with a random seed and the verification settings clients use, so that
 * no template marks it. Small on purpose: the issuer runs each one first to know its answer.
 */
export function randomControlSpec(): ControlTaskSpec {
  const verification = { mode: 'reexecution' as const, samples: pick([1, 2, 2, 3]), verifiers: pick([1, 1, 1, 2]) }
  const resources = { cpus: 1, memoryMb: pick([256, 256, 512]), gpus: 0, timeoutSec: pick([120, 300, 300, 600]) }
  const seed = randomInt(1, 2 ** 47)
  if (randomInt(3) < 2) {
    const data = pick(bundledDatasets())
    const width = () => pick([4, 6, 8, 12, 16])
    return {
      spec: {
        version: 1,
        kind: 'train',
        runtime: { type: 'embedded' },
        workload: { id: 'mlp-train', version: 1 },
        dataset: data.hash,
        params: {
          layers: randomInt(4) === 0 ? [width(), width()] : [width()],
          activation: pick(['relu', 'tanh']),
          epochs: randomInt(8, 41),
          batchSize: pick([8, 16, 16, 32]),
          optimizer: randomInt(2) === 0 ? { type: 'adam', learningRate: pick([0.003, 0.01, 0.02]) } : { type: 'sgd', learningRate: pick([0.05, 0.1, 0.2]), momentum: pick([0, 0.5, 0.9]) },
          testFraction: pick([0.1, 0.2, 0.2, 0.3]),
        },
        seed,
        checkpointInterval: pick([8, 12, 16, 24, 32]),
        verification,
        resources,
      },
      inputs: { dataset: data.bytes },
    }
  }
  const generator = pick(['blobs', 'spirals', 'polynomial'] as const)
  const samples = randomInt(100, 801)
  return {
    spec: {
      version: 1,
      kind: 'generate',
      runtime: { type: 'embedded' },
      workload: { id: 'synthetic-data', version: 1 },
      params: {
        generator,
        samples,
        ...(generator === 'spirals' ? {} : { features: randomInt(1, 6) }),
        ...(generator === 'polynomial' ? { degree: randomInt(1, 5) } : { classes: randomInt(2, 6) }),
        noise: pick([0.05, 0.1, 0.5, 1]),
        chunk: pick([20, 40, 50, 100]),
      },
      seed,
      checkpointInterval: pick([1, 2, 3]),
      verification,
      resources,
    },
    inputs: {},
  }
}
