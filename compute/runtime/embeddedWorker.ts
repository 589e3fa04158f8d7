import { parentPort, workerData } from 'node:worker_threads'
import { executeJob } from '../execution/JobExecution.js'
import { validateJobSpec } from '../workloads/WorkloadRegistry.js'
import type { WorkloadInputs } from '../workloads/Workload.js'

/** Worker-thread entry of EmbeddedRuntime: runs one job and posts progress, then the result. */
const { spec: rawSpec, inputs } = workerData as { spec: unknown; inputs: WorkloadInputs }
const port = parentPort!
try {
  const spec = validateJobSpec(rawSpec)
  const result = executeJob(spec, inputs, { onProgress: (p) => port.postMessage({ type: 'progress', progress: p }) }, 'embedded')
  port.postMessage({ type: 'done', result }, result.checkpoints.map((c) => c.state.buffer as ArrayBuffer))
} catch (e) {
  const err = e as { code?: string; message?: string; field?: string }
  port.postMessage({ type: 'error', code: err.code ?? 'COMPUTE_WORKLOAD_FAILED', message: err.message ?? String(e), field: err.field })
}
