import { PovError } from '../../common/errors.js'

/**
 * Errors of the work market's node side (clients, workers, verifiers, the job CLI): `JOB_*`.
 * `rpcCode`, when set, is what a pov_ method answers with (duck-typed by rpc/).
 */
export class JobError extends PovError {
  readonly rpcCode?: number
  constructor(code: string, message: string, options?: { cause?: unknown; rpcCode?: number }) {
    super(`JOB_${code}`, message, options)
    if (options?.rpcCode !== undefined) this.rpcCode = options.rpcCode
  }
}

/** A pov_ request with bad parameters (JSON-RPC -32602). */
export const badParams = (message: string) => new JobError('BAD_PARAMS', message, { rpcCode: -32602 })
