import { execFile } from 'node:child_process'

/**
 * Whether the host has an NVIDIA GPU a container can be given: `nvidia-smi -L` lists one. A
 * worker offers OFFERS_GPU only then (and only with Docker, where GPU jobs run); elsewhere no
 * GPU job is drawn for it.
 */
export function hasNvidiaGpu(timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['-L'], { timeout: timeoutMs }, (err, stdout) => resolve(!err && /GPU \d+:/.test(String(stdout))))
  })
}
