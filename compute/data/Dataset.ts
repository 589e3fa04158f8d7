import { ComputeError } from '../ComputeError.js'
import { contentHash, type Hash32 } from '../ContentHash.js'
import { canonicalJsonBytes } from './CanonicalJson.js'

/**
 * The dataset format (version 1), stored as canonical JSON and addressed by its keccak-256:
 *
 *   { "format": "povchain-dataset", "version": 1, "name": "iris",
 *     "task": "classification" | "regression",
 *     "features": ["sepal_length", …],
 *     "classes": ["setosa", …],          // classification only; y holds indices into it
 *     "x": [[5.1, 3.5, 1.4, 0.2], …],    // rows × features, finite numbers
 *     "y": [0, …] }                      // one label per row
 */
export interface Dataset {
  format: 'povchain-dataset'
  version: 1
  name: string
  task: 'classification' | 'regression'
  features: string[]
  classes?: string[]
  x: number[][]
  y: number[]
}

export const DATASET_LIMITS = { maxRows: 1_000_000, maxFeatures: 4096, maxClasses: 1024 }

function bad(field: string, msg: string): ComputeError {
  return new ComputeError('COMPUTE_INVALID_DATASET', `invalid dataset: ${field}: ${msg}`, { field })
}

export function validateDataset(v: unknown): Dataset {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('$', 'must be a JSON object')
  const d = v as Record<string, unknown>
  if (d.format !== 'povchain-dataset') throw bad('format', 'must be "povchain-dataset"')
  if (d.version !== 1) throw bad('version', 'unsupported version (expected 1)')
  if (typeof d.name !== 'string' || d.name.length > 200) throw bad('name', 'must be a string of at most 200 characters')
  if (d.task !== 'classification' && d.task !== 'regression') throw bad('task', 'must be "classification" or "regression"')
  if (!Array.isArray(d.features) || d.features.length === 0 || d.features.length > DATASET_LIMITS.maxFeatures) {
    throw bad('features', `must be a non-empty array of at most ${DATASET_LIMITS.maxFeatures} names`)
  }
  d.features.forEach((f, i) => {
    if (typeof f !== 'string') throw bad(`features[${i}]`, 'must be a string')
  })
  const nf = d.features.length
  if (!Array.isArray(d.x) || d.x.length === 0 || d.x.length > DATASET_LIMITS.maxRows) {
    throw bad('x', `must be a non-empty array of at most ${DATASET_LIMITS.maxRows} rows`)
  }
  for (let i = 0; i < d.x.length; i++) {
    const row = d.x[i]
    if (!Array.isArray(row) || row.length !== nf) throw bad(`x[${i}]`, `must be an array of ${nf} numbers`)
    for (let j = 0; j < nf; j++) {
      if (typeof row[j] !== 'number' || !Number.isFinite(row[j])) throw bad(`x[${i}][${j}]`, 'must be a finite number')
    }
  }
  if (!Array.isArray(d.y) || d.y.length !== d.x.length) throw bad('y', `must have one label per row (${d.x.length})`)
  if (d.task === 'classification') {
    if (!Array.isArray(d.classes) || d.classes.length < 2 || d.classes.length > DATASET_LIMITS.maxClasses) {
      throw bad('classes', `must list 2..${DATASET_LIMITS.maxClasses} class names`)
    }
    d.classes.forEach((c, i) => {
      if (typeof c !== 'string') throw bad(`classes[${i}]`, 'must be a string')
    })
    const nc = d.classes.length
    d.y.forEach((y, i) => {
      if (!Number.isInteger(y) || (y as number) < 0 || (y as number) >= nc) throw bad(`y[${i}]`, `must be a class index in [0, ${nc})`)
    })
  } else {
    if (d.classes !== undefined) throw bad('classes', 'only allowed for classification')
    d.y.forEach((y, i) => {
      if (typeof y !== 'number' || !Number.isFinite(y)) throw bad(`y[${i}]`, 'must be a finite number')
    })
  }
  return d as unknown as Dataset
}

export function encodeDataset(d: Dataset): Uint8Array {
  return canonicalJsonBytes(validateDataset(d))
}

export function decodeDataset(bytes: Uint8Array): Dataset {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (e) {
    throw new ComputeError('COMPUTE_INVALID_DATASET', `invalid dataset: not UTF-8 JSON (${(e as Error).message})`, { field: '$', cause: e })
  }
  return validateDataset(parsed)
}

export function datasetHash(d: Dataset): Hash32 {
  return contentHash(encodeDataset(d))
}
