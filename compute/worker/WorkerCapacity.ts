import type { GpuInfo } from './GpuInventory.js'

/**
 * What a worker can run, as it announces it: its measured speed, its runtimes, its GPUs (from
 * nvidia-smi) and the images it already holds (by digest, from ImageStore.inventory). The market
 * side matches a job's runtime, image and `resources.gpus/gpuMemoryMb` (gpusFit) against it.
 */
export interface WorkerCapacity {
  computeUnitsPerSec: number
  runtimes: ('embedded' | 'docker')[]
  gpus: GpuInfo[]
  /** OCI manifest digests (`sha256:…`) of the images on the worker's engine. */
  images: string[]
}
