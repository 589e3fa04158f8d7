import { execFile } from 'node:child_process'
import type { ResourceLimits } from '../spec/JobSpec.js'

/** One GPU as the worker reports it in its capacity. */
export interface GpuInfo {
  model: string
  memoryMb: number
}

/** Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader` ("NVIDIA A100-SXM4-40GB, 40960 MiB"). */
export function parseNvidiaSmi(text: string): GpuInfo[] {
  const out: GpuInfo[] = []
  for (const line of text.split('\n')) {
    const m = /^\s*(.+?)\s*,\s*(\d+)\s*MiB\s*$/.exec(line)
    if (m) out.push({ model: m[1]!, memoryMb: Number(m[2]) })
  }
  return out
}

/** This host's NVIDIA GPUs, from nvidia-smi when present; [] without it (or without a driver). */
export function detectGpus(timeoutMs = 5000): Promise<GpuInfo[]> {
  return new Promise((res) => {
    execFile('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader'], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout) => {
      res(err ? [] : parseNvidiaSmi(stdout))
    })
  })
}

/**
 * Whether a worker with these GPUs can take a job: at least `resources.gpus` of them with at least
 * `resources.gpuMemoryMb` each. (The assignment side uses this; Docker itself cannot ask for memory.)
 */
export function gpusFit(resources: Pick<ResourceLimits, 'gpus' | 'gpuMemoryMb'>, gpus: GpuInfo[]): boolean {
  if (!resources.gpus) return true
  return gpus.filter((g) => g.memoryMb >= (resources.gpuMemoryMb ?? 0)).length >= resources.gpus
}
