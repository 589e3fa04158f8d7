import { ComputeError } from '../ComputeError.js'
import { bundledDatasets } from '../data/BundledDatasets.js'
import type { JobSpec } from '../spec/JobSpec.js'
import type { WorkloadInputs } from '../workloads/Workload.js'
import type { BlobStore } from './BlobStore.js'

/** Puts the bundled datasets (Iris) into the store so specs can name them by hash. */
export async function importBundledDatasets(store: BlobStore): Promise<void> {
  for (const d of bundledDatasets()) if (!(await store.has(d.hash))) await store.put(d.bytes)
}

/** Fetches a spec's dataset and model from the store (integrity-checked on read). */
export async function loadJobInputs(store: BlobStore, spec: JobSpec): Promise<WorkloadInputs> {
  const inputs: WorkloadInputs = {}
  const get = async (hash: string, what: string, hint: string) => {
    try {
      return await store.get(hash as `0x${string}`)
    } catch (e) {
      if (e instanceof ComputeError && e.code === 'COMPUTE_BLOB_NOT_FOUND') {
        throw new ComputeError('COMPUTE_BLOB_NOT_FOUND', `${what} ${hash} is not in the blob store ${store.dir} (${hint})`, { field: what, cause: e })
      }
      throw e
    }
  }
  if (spec.dataset) inputs.dataset = await get(spec.dataset, 'dataset', 'import it with `povchain compute dataset import FILE.csv`')
  if (spec.model) inputs.model = await get(spec.model, 'model', 'run the training job that produces it first')
  return inputs
}
