import type Docker from 'dockerode'
import type { ResourceLimits } from '../spec/JobSpec.js'

/**
 * The engine request for a job's GPUs: `resources.gpus` NVIDIA devices with capability `gpu`
 * (what `docker run --gpus N` sends). The memory a job needs is not part of the request — Docker
 * cannot ask for it — it decides which workers may take the job (their reported GPUs).
 */
export function gpuDeviceRequests(resources: Pick<ResourceLimits, 'gpus'>): Docker.DeviceRequest[] | undefined {
  if (!resources.gpus) return undefined
  return [{ Driver: 'nvidia', Count: resources.gpus, Capabilities: [['gpu']] }]
}
