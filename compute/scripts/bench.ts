/**
 * Workload throughput for `npm run bench`: training samples/s of the reference workload and of
 * Iris, and what verifying with the default policy costs relative to the worker's run.
 * bench/run.ts can import `computeBenchmarks`; run directly: node dist/compute/scripts/bench.js
 */
import { fileURLToPath } from 'node:url'
import { bundledDatasetBytes } from '../data/BundledDatasets.js'
import { decodeJson } from '../spec/JobSpec.js'
import { executeJob } from '../execution/JobExecution.js'
import { merkleProof } from '../verify/CheckpointMerkle.js'
import { ReexecutionVerifier } from '../verify/ReexecutionVerifier.js'
import { runBenchmark } from '../worker/Benchmark.js'
import { validateJobSpec } from '../workloads/WorkloadRegistry.js'
import { readFileSync } from 'node:fs'

export interface ComputeBenchRecord {
  name: string
  value: number
  unit: string
}

export async function computeBenchmarks(): Promise<ComputeBenchRecord[]> {
  const ref = runBenchmark({ epochs: 3 })
  const examplesDir = new URL(import.meta.url.endsWith('.ts') ? '../examples/' : '../../../compute/examples/', import.meta.url)
  const spec = validateJobSpec(decodeJson(readFileSync(new URL('iris-train.json', examplesDir)), 'iris-train.json'))
  const inputs = { dataset: bundledDatasetBytes('iris') }
  const run = executeJob(spec, inputs)
  const src = {
    checkpoint: async (i: number) => ({ hash: run.checkpoints[i]!.hash, state: run.checkpoints[i]!.state, proof: merkleProof(run.checkpoints.map((c) => c.hash), i) }),
  }
  const t0 = performance.now()
  const rep = await new ReexecutionVerifier().verify({ spec, inputs, commitment: run.commitment, randomness: 'bench', source: src })
  const verifyMs = performance.now() - t0
  return [
    { name: 'compute.reference.samplesPerSec', value: ref.samplesPerSec, unit: 'samples/s' },
    { name: 'compute.reference.computeUnitsPerSec', value: ref.computeUnitsPerSec, unit: 'CU/s' },
    { name: 'compute.iris.samplesPerSec', value: run.stats.samplesPerSec, unit: 'samples/s' },
    { name: 'compute.iris.verify.stepsFraction', value: rep.costFraction, unit: 'fraction of worker steps' },
    { name: 'compute.iris.verify.wallFraction', value: verifyMs / run.stats.wallMs, unit: 'fraction of worker wall time' },
  ]
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await computeBenchmarks()) process.stdout.write(`${r.name.padEnd(42)} ${r.value.toFixed(4).padStart(14)} ${r.unit}\n`)
}
