import { decodeJson } from '../../compute/spec/JobSpec.js'
import { validateJobSpec } from '../../compute/workloads/WorkloadRegistry.js'

/**
 * Whether a blob is work-market data — a job spec or a worker's session record — rather than a
 * model or dataset. Anyone may publish any content hash in the AssetRegistry, so a blob that is
 * such data is never gated or dropped on an asset's word (otherwise publishing a job's spec as a
 * paid asset, or publishing and removing it, would keep it from that job's workers).
 */
export function isProtocolBlob(bytes: Uint8Array): boolean {
  // Both are small canonical JSON objects; models and datasets of interest are larger or not JSON.
  if (bytes.length === 0 || bytes.length > 4 * 1024 * 1024 || bytes[0] !== 0x7b) return false
  let v: unknown
  try {
    v = decodeJson(bytes, 'blob')
  } catch {
    return false
  }
  if (typeof v !== 'object' || v === null) return false
  if ((v as { format?: unknown }).format === 'povchain-session') return true
  try {
    validateJobSpec(v)
    return true
  } catch {
    return false
  }
}
