import { ComputeError, specError } from '../ComputeError.js'
import { parseJobSpecStructure, type JobSpec } from '../spec/JobSpec.js'
import { MlpInferWorkload } from './MlpInferWorkload.js'
import { MlpTrainWorkload } from './MlpTrainWorkload.js'
import { SyntheticDataWorkload } from './SyntheticDataWorkload.js'
import type { Workload } from './Workload.js'

/** The built-in workloads, by `id@version`. They run in either runtime with identical results. */
const BUILT_IN: Workload[] = [new MlpTrainWorkload(), new MlpInferWorkload(), new SyntheticDataWorkload()]

export function builtInWorkloads(): readonly Workload[] {
  return BUILT_IN
}

export function findWorkload(id: string, version: number): Workload | undefined {
  return BUILT_IN.find((w) => w.id === id && w.version === version)
}

export function getWorkload(id: string, version: number): Workload {
  const w = findWorkload(id, version)
  if (!w) throw new ComputeError('COMPUTE_UNKNOWN_WORKLOAD', `no built-in workload ${id} version ${version}`)
  return w
}

/**
 * Full validation of a job spec: structure, then the workload's own parameters. A docker job may
 * name a workload its image knows but this node does not; only then are `params` passed through.
 */
export function validateJobSpec(value: unknown): JobSpec {
  const spec = parseJobSpecStructure(value)
  const w = findWorkload(spec.workload.id, spec.workload.version)
  if (!w) {
    if (spec.runtime.type === 'embedded') {
      const known = BUILT_IN.map((b) => `${b.id}@${b.version}`).join(', ')
      throw specError('workload', `unknown built-in workload ${spec.workload.id}@${spec.workload.version} (known: ${known})`)
    }
    return spec
  }
  if (w.kind !== spec.kind) throw specError('kind', `workload ${w.id} is a "${w.kind}" workload, not "${spec.kind}"`)
  w.validateParams(spec.params)
  return spec
}
