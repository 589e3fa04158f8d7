import { canonicalJsonBytes } from '../../compute/data/CanonicalJson.js'
import type { WorkloadMetrics } from '../../compute/workloads/Workload.js'
import { JobError } from '../client/JobError.js'

/**
 * A tolerance replica's metric exactly as WorkMarket.revealReplica reads it (the contract's
 * ToleranceMetric library, genesis/contracts/WorkMarketReplicas.sol): the number under the
 * spec's metric name in the replica's canonical metrics JSON — the bytes whose keccak is the
 * committed metricsHash — as value × 10⁹ truncated toward zero, from its decimal text (not from
 * a float product, which rounds differently on some values). The worker seals and reveals this
 * integer, so what it reveals is what its committed result says.
 */
export interface ToleranceReveal {
  /** The canonical metrics JSON the reveal carries. */
  metrics: Uint8Array
  /** The metric in nano-units. */
  nano: bigint
}

export function toleranceReveal(metrics: WorkloadMetrics, name: string): ToleranceReveal {
  const v = (metrics as Record<string, unknown>)[name]
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new JobError('METRIC', `the job reported no numeric ${name} (tolerance mode compares it)`)
  return { metrics: canonicalJsonBytes(metrics), nano: decimalToNano(String(v)) }
}

/** A JSON number's text → value × 10⁹, truncated toward zero (ToleranceMetric._nano). */
export function decimalToNano(text: string): bigint {
  const m = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text)
  if (!m) throw new JobError('METRIC', `${text} is not a JSON number`)
  const digits = m[2]! + (m[3] ?? '')
  const exp10 = 9 - (m[3]?.length ?? 0) + Number(m[4] ?? 0)
  // The contract's bounds: a metric beyond them cannot be revealed, so it is refused here first.
  if (digits.length > 40 || exp10 > 30 || (m[4] !== undefined && m[4].replace(/^[+-]/, '').length > 4))
    throw new JobError('METRIC', `metric ${text} is outside what the market compares (|value| < 10²¹ with at most 40 digits)`)
  const mantissa = BigInt(digits)
  const v = exp10 >= 0 ? mantissa * 10n ** BigInt(exp10) : exp10 >= -77 ? mantissa / 10n ** BigInt(-exp10) : 0n
  return m[1] ? -v : v
}
