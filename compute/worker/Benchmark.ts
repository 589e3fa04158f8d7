import type { Hash32 } from '../ContentHash.js'
import { executeJob } from '../execution/JobExecution.js'
import type { JobSpec } from '../spec/JobSpec.js'
import { contentHash } from '../ContentHash.js'

export interface BenchmarkReport {
  workload: string
  steps: number
  samples: number
  wallMs: number
  samplesPerSec: number
  stepsPerSec: number
  /** 1 compute unit = 10^6 multiply-accumulates of the reference workload. */
  computeUnitsPerSec: number
  /** The reference run's commitment: a registration check can compare it with the known answer. */
  commitment: Hash32
}

const DATA_SPEC: JobSpec = {
  version: 1,
  kind: 'generate',
  runtime: { type: 'embedded' },
  workload: { id: 'synthetic-data', version: 1 },
  params: { generator: 'blobs', samples: 2048, features: 16, classes: 4, noise: 2, chunk: 2048 },
  seed: 7,
  checkpointInterval: 1,
  verification: { mode: 'reexecution', samples: 1, verifiers: 1 },
  resources: { cpus: 1, memoryMb: 512, gpus: 0, timeoutSec: 600 },
}

/** The standard test task: an MLP 16→64→64→4 trained with Adam on 2048 synthetic samples. */
export function referenceSpec(epochs: number): { spec: JobSpec; dataset: Uint8Array } {
  const dataset = executeJob(DATA_SPEC, {}).result
  return {
    dataset,
    spec: {
      version: 1,
      kind: 'train',
      runtime: { type: 'embedded' },
      workload: { id: 'mlp-train', version: 1 },
      dataset: contentHash(dataset),
      params: { layers: [64, 64], epochs, batchSize: 32, optimizer: { type: 'adam', learningRate: 0.001 }, testFraction: 0.25 },
      seed: 1,
      checkpointInterval: 48,
      verification: { mode: 'reexecution', samples: 2, verifiers: 1 },
      resources: { cpus: 1, memoryMb: 512, gpus: 0, timeoutSec: 600 },
    },
  }
}

/** Measures this machine on the reference workload (single thread, as the embedded runtime runs it). */
export function runBenchmark(opts: { epochs?: number } = {}): BenchmarkReport {
  const { spec, dataset } = referenceSpec(opts.epochs ?? 2)
  const r = executeJob(spec, { dataset })
  const samples = r.totalSteps * 32
  const secs = r.stats.wallMs / 1000
  return {
    workload: 'mlp-train@1 16-64-64-4 adam, 2048 blobs',
    steps: r.totalSteps,
    samples,
    wallMs: r.stats.wallMs,
    samplesPerSec: samples / secs,
    stepsPerSec: r.totalSteps / secs,
    computeUnitsPerSec: (r.stats.macsPerStep * r.totalSteps) / 1e6 / secs,
    commitment: r.commitment.commitment,
  }
}

