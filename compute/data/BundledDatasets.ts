import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { contentHash, type Hash32 } from '../ContentHash.js'
import { encodeDataset } from './Dataset.js'
import { irisDataset } from './IrisDataset.js'

/**
 * Datasets that ship with the node. `npm run build` writes them to dist/datasets/<name>.json
 * (compute/scripts/buildDatasets.ts); when that file is missing (running from sources) the same
 * bytes are produced from the package directly.
 */
export const BUNDLED_DATASET_NAMES = ['iris'] as const
export type BundledDatasetName = (typeof BUNDLED_DATASET_NAMES)[number]

export function bundledDatasetsDir(): string {
  // dist/compute/data/ → dist/datasets ; compute/data/ → dist/datasets at the repo root.
  const fromDist = !import.meta.url.endsWith('.ts')
  return fileURLToPath(new URL(fromDist ? '../../datasets/' : '../../dist/datasets/', import.meta.url))
}

export function bundledDatasetBytes(name: BundledDatasetName): Uint8Array {
  try {
    return new Uint8Array(readFileSync(bundledDatasetsDir() + `${name}.json`))
  } catch {
    return encodeDataset(irisDataset())
  }
}

export function bundledDatasets(): { name: BundledDatasetName; hash: Hash32; bytes: Uint8Array }[] {
  return BUNDLED_DATASET_NAMES.map((name) => {
    const bytes = bundledDatasetBytes(name)
    return { name, hash: contentHash(bytes), bytes }
  })
}
