import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bundledDatasetBytes } from '../data/BundledDatasets.js'
import { contentHash } from '../ContentHash.js'
import type { JobSpec } from '../spec/JobSpec.js'
import { validateJobSpec } from '../workloads/WorkloadRegistry.js'

export const irisBytes = bundledDatasetBytes('iris')
export const irisHash = contentHash(irisBytes)

export function tmpDir(prefix = 'povchain-compute-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** A small, fast Iris training spec; `over` patches any top-level field or params. */
export function irisSpec(over: Partial<JobSpec> & { params?: Record<string, unknown> } = {}): JobSpec {
  const { params, ...rest } = over
  return validateJobSpec({
    version: 1,
    kind: 'train',
    runtime: { type: 'embedded' },
    workload: { id: 'mlp-train', version: 1 },
    dataset: irisHash,
    params: { layers: [8], epochs: 20, batchSize: 16, optimizer: { type: 'adam', learningRate: 0.02 }, testFraction: 0.2, ...params },
    seed: 1,
    checkpointInterval: 16,
    verification: { mode: 'reexecution', samples: 2, verifiers: 1 },
    resources: { cpus: 1, memoryMb: 256, gpus: 0, timeoutSec: 120 },
    ...rest,
  })
}

export function blobsSpec(over: Partial<JobSpec> & { params?: Record<string, unknown> } = {}): JobSpec {
  const { params, ...rest } = over
  return validateJobSpec({
    version: 1,
    kind: 'generate',
    runtime: { type: 'embedded' },
    workload: { id: 'synthetic-data', version: 1 },
    params: { generator: 'blobs', samples: 300, features: 3, classes: 3, noise: 1, chunk: 40, ...params },
    seed: 5,
    checkpointInterval: 2,
    verification: { mode: 'reexecution', samples: 1, verifiers: 1 },
    resources: { cpus: 1, memoryMb: 256, gpus: 0, timeoutSec: 120 },
    ...rest,
  })
}

/** The `field` of the ComputeError a function throws (undefined if it does not throw). */
export function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (e) {
    return (e as { field?: string }).field
  }
  return undefined
}
