import type { WorkerCapacity } from '../../compute/worker/WorkerCapacity.js'
import { withArity, type ExtraMethod } from '../../rpc/RpcBackend.js'

/** What the node's own worker service exposes over RPC (WorkerService has it). */
export interface CapacityReporter {
  capacityReport(): Promise<WorkerCapacity>
}

/**
 * pov_workerCapacity(): what this node's worker can run now — compute units/s, runtimes, its GPUs
 * (model and memory each, from nvidia-smi) and the images its engine holds by digest; null when
 * the node runs no worker. The chain holds only the GPU count and the smallest GPU's memory
 * (setGpus): the model is reported here, not matched.
 */
export function workerRpcMethods(worker: () => CapacityReporter | undefined): Record<string, ExtraMethod> {
  return withArity(
    {
      pov_workerCapacity: async () => {
        const w = worker()
        return w ? await w.capacityReport() : null
      },
    },
    { pov_workerCapacity: [0, 0] },
  )
}
