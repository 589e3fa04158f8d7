import { assembleResult, finishFromState, prepareJob, type JobResult } from '../../compute/execution/JobExecution.js'
import type { JobSpec } from '../../compute/spec/JobSpec.js'
import { checkpointHash } from '../../compute/verify/SessionCommitment.js'
import type { WorkloadInputs } from '../../compute/workloads/Workload.js'

/**
 * Dishonest workers, for the cheating tests (never set by a CLI flag): each turns an honest run
 * into the session a cheater would commit. Verifiers must reject all of them.
 *  - fake-segment: one middle checkpoint's state is altered (a forged segment);
 *  - skip-work:    only the first half is trained; later checkpoints repeat the last real state;
 *  - wrong-result: the result blob differs from what the final state gives (e.g. a wrong control answer);
 *  - wrong-metric: every top-level numeric metric reported 1 higher (a tolerance replica whose
 *    committed metrics, honestly revealed, lie outside the bound).
 */
export const WORKER_CHEATS = ['fake-segment', 'skip-work', 'wrong-result', 'wrong-metric'] as const
export type WorkerCheat = (typeof WORKER_CHEATS)[number]

export function applyCheat(cheat: WorkerCheat, spec: JobSpec, inputs: WorkloadInputs, honest: JobResult): JobResult {
  const cps = honest.checkpoints.map((c) => ({ ...c }))
  if (cheat === 'wrong-result') {
    const result = new Uint8Array([...honest.result, 0x20])
    return assembleResult(spec, honest.totalSteps, cps, result, honest.metrics, honest.stats)
  }
  if (cheat === 'wrong-metric') {
    const metrics = Object.fromEntries(Object.entries(honest.metrics).map(([k, v]) => [k, typeof v === 'number' ? v + 1 : v]))
    return assembleResult(spec, honest.totalSteps, cps, honest.result, metrics, honest.stats)
  }
  if (cps.length < 3) throw new Error(`${cheat} needs at least 3 checkpoints`)
  if (cheat === 'fake-segment') {
    const k = Math.floor(cps.length / 2)
    const state = cps[k]!.state.slice()
    state[state.length - 1]! ^= 0x01
    cps[k] = { ...cps[k]!, state, hash: checkpointHash(state) }
    return assembleResult(spec, honest.totalSteps, cps, honest.result, honest.metrics, honest.stats)
  }
  // skip-work: pad the second half with the last real state and finish from it.
  const half = Math.ceil(cps.length / 2)
  for (let i = half; i < cps.length; i++) cps[i] = { ...cps[i]!, state: cps[half - 1]!.state, hash: cps[half - 1]!.hash }
  const fin = finishFromState(prepareJob(spec, inputs), cps[cps.length - 1]!.state)
  return assembleResult(spec, honest.totalSteps, cps, fin.output, fin.metrics, honest.stats)
}
