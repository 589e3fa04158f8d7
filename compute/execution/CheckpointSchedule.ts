/**
 * Steps at which the state is checkpointed: 0, K, 2K, … and always the last step. Checkpoint i
 * and i+1 bound segment i, the unit a verifier re-executes.
 */
export function checkpointSteps(totalSteps: number, interval: number): number[] {
  const steps: number[] = []
  for (let s = 0; s < totalSteps; s += interval) steps.push(s)
  steps.push(totalSteps)
  return steps
}

export function segmentCount(totalSteps: number, interval: number): number {
  return checkpointSteps(totalSteps, interval).length - 1
}
