import { toHex, type Hex } from 'viem'
import type { JobSpec } from '../../compute/spec/JobSpec.js'
import { JobError } from './JobError.js'

/** WorkMarket.VerificationMode numbers. */
export const MODE = { reexecution: 0, redundant: 1, tolerance: 2 } as const
/** WorkMarket.MAX_REPLICAS: the most replicas a redundancy or tolerance job may draw in round 0. */
export const MAX_REPLICAS = 4
/** Tolerance metrics and epsilons travel on chain as integers of 10⁻⁹ (int256 / uint64). */
export const METRIC_SCALE = 1_000_000_000

const ZERO32 = `0x${'00'.repeat(32)}` as Hex

/** How the market verifies a spec, as WorkMarket.postReplicatedJob takes it. */
export interface JobVerification {
  mode: (typeof MODE)[keyof typeof MODE]
  /** Workers that run it in round 0 (1 for re-execution, which has verifiers instead). */
  replicas: number
  /** Tolerance bound in nano-units (0n otherwise). */
  epsilon: bigint
  /** sha256 digest of the pinned image (zero: the embedded runtime). */
  image: Hex
  /** Tolerance: the spec's metric name as the contract keys it (metricKey); zero otherwise. */
  metric: Hex
}

/** The on-chain key of a metric name: its ASCII bytes right-padded to 32 (WorkMarket.replicaMetricKey). */
export function metricKey(name: string): Hex {
  if (!/^[a-zA-Z][a-zA-Z0-9]{0,31}$/.test(name))
    throw new JobError('METRIC', `metric name ${JSON.stringify(name)} cannot go on chain: tolerance jobs need 1–32 ASCII letters or digits, starting with a letter`)
  return toHex(name, { size: 32 })
}

/** The 32-byte digest a spec's image reference pins: `sha256:<hex>` or `name@sha256:<hex>`. */
export function imageDigest(spec: JobSpec): Hex {
  if (spec.runtime.type !== 'docker') return ZERO32
  const m = /sha256:([0-9a-f]{64})$/.exec(spec.runtime.image)
  return m ? (`0x${m[1]}` as Hex) : ZERO32
}

/** A tolerance bound (epsilon) as postReplicatedJob takes it: round(value × 10⁹). Revealed metrics go by market/worker/ToleranceMetric.ts. */
export function toNano(value: number): bigint {
  if (!Number.isFinite(value)) throw new JobError('METRIC', `metric ${value} is not a finite number`)
  return BigInt(Math.round(value * METRIC_SCALE))
}

/**
 * The market's view of a spec's verification policy. A container job (docker runtime) must be
 * verified by redundancy or tolerance: the market's re-execution replays the built-in JavaScript
 * workloads segment by segment and cannot replay an arbitrary image.
 */
export function jobVerification(spec: JobSpec): JobVerification {
  const v = spec.verification
  const image = imageDigest(spec)
  if (v.mode === 'reexecution') {
    if (spec.runtime.type === 'docker')
      throw new JobError('MODE', 'a container job cannot be verified by re-execution (the market replays only the built-in workloads): use "verification": {"mode": "redundant", …} or {"mode": "tolerance", …}')
    return { mode: MODE.reexecution, replicas: 1, epsilon: 0n, image, metric: ZERO32 }
  }
  if (v.redundancy < 2 || v.redundancy > MAX_REPLICAS)
    throw new JobError('MODE', `verification.redundancy must be 2 … ${MAX_REPLICAS} for the market (k workers run the job; a disagreement draws k + 1 more)`)
  return { mode: MODE[v.mode], replicas: v.redundancy, epsilon: v.mode === 'tolerance' ? toNano(v.epsilon) : 0n, image, metric: v.mode === 'tolerance' ? metricKey(v.metric) : ZERO32 }
}
