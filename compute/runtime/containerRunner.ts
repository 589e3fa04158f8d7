import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { executeJob } from '../execution/JobExecution.js'
import { decodeJson } from '../spec/JobSpec.js'
import { validateJobSpec } from '../workloads/WorkloadRegistry.js'
import type { WorkloadInputs } from '../workloads/Workload.js'
import { CONTAINER_JOB_DIR, PROGRESS_PREFIX, type ResultManifest } from './ContainerContract.js'

/**
 * The program inside the built-in image (`povchain compute image build`): implements the
 * container contract for the built-in workloads by calling the very same executeJob as the
 * embedded runtime — which is why both produce identical hashes.
 */
function main(): void {
  const dir = process.env.POVCHAIN_JOB_DIR ?? CONTAINER_JOB_DIR
  const out = join(dir, 'out')
  try {
    const spec = validateJobSpec(decodeJson(readFileSync(join(dir, 'in', 'spec.json')), 'spec.json'))
    const inputs: WorkloadInputs = {}
    const ds = join(dir, 'in', 'dataset')
    const model = join(dir, 'in', 'model')
    if (existsSync(ds)) inputs.dataset = new Uint8Array(readFileSync(ds))
    if (existsSync(model)) inputs.model = new Uint8Array(readFileSync(model))
    mkdirSync(join(out, 'checkpoints'), { recursive: true })
    const manifestCheckpoints: ResultManifest['checkpoints'] = []
    const r = executeJob(
      spec,
      inputs,
      {
        onProgress: (p) => process.stdout.write(PROGRESS_PREFIX + JSON.stringify(p) + '\n'),
        onCheckpoint: (c) => {
          const file = `checkpoints/${c.index}.state`
          writeFileSync(join(out, file), c.state)
          manifestCheckpoints.push({ index: c.index, step: c.step, hash: c.hash, file })
        },
      },
      'docker',
    )
    writeFileSync(join(out, 'result'), r.result)
    const manifest: ResultManifest = {
      format: 'povchain-result-manifest',
      version: 1,
      specHash: r.specHash,
      totalSteps: r.totalSteps,
      checkpoints: manifestCheckpoints,
      result: { file: 'result', hash: r.resultHash },
      metrics: r.metrics,
    }
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest))
    process.stdout.write(`done: ${r.totalSteps} steps in ${r.stats.wallMs.toFixed(0)} ms, ${r.stats.stepsPerSec.toFixed(0)} steps/s\n`)
  } catch (e) {
    const err = e as { code?: string; message?: string }
    try {
      writeFileSync(join(out, 'error.json'), JSON.stringify({ code: err.code ?? 'COMPUTE_WORKLOAD_FAILED', message: err.message ?? String(e) }))
    } catch {
      // The output dir may itself be the problem; stderr still carries the reason.
    }
    process.stderr.write(`error: ${err.message ?? String(e)}\n`)
    process.exitCode = 2
  }
}

main()
