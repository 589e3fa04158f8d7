import { PovError } from '../common/errors.js'

/** Stable, machine-readable reasons; callers (the market, the CLI) branch on these, never on text. */
export type ComputeErrorCode =
  | 'COMPUTE_INVALID_SPEC'
  | 'COMPUTE_INVALID_DATASET'
  | 'COMPUTE_INVALID_MODEL'
  | 'COMPUTE_INVALID_CHECKPOINT'
  | 'COMPUTE_BLOB_NOT_FOUND'
  | 'COMPUTE_BLOB_CORRUPT'
  | 'COMPUTE_BLOB_TOO_LARGE'
  | 'COMPUTE_UNKNOWN_WORKLOAD'
  | 'COMPUTE_DEADLINE'
  | 'COMPUTE_CANCELLED'
  | 'COMPUTE_OUT_OF_MEMORY'
  | 'COMPUTE_WORKLOAD_FAILED'
  | 'COMPUTE_RUNTIME_UNAVAILABLE'
  | 'COMPUTE_CONTAINER_FAILED'
  | 'COMPUTE_CONTAINER_CONTRACT'
  | 'COMPUTE_OUTPUT_QUOTA'
  | 'COMPUTE_IMAGE_UNAVAILABLE'
  | 'COMPUTE_NO_GPU'
  | 'COMPUTE_IMAGE_BUILD'
  | 'COMPUTE_VERIFY_INPUT'
  | 'COMPUTE_CSV'

export class ComputeError extends PovError {
  declare readonly code: ComputeErrorCode
  /** For spec and dataset errors: the JSON path of the offending field, e.g. `params.layers[1]`. */
  readonly field?: string
  constructor(code: ComputeErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super(code, message, options)
    if (options?.field !== undefined) this.field = options.field
  }
}

export function specError(field: string, message: string): ComputeError {
  return new ComputeError('COMPUTE_INVALID_SPEC', `invalid job spec: ${field}: ${message}`, { field })
}
