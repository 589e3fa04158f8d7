import { PovError } from '../common/errors.js'

/** Raised for malformed or inconsistent chain data (encodings, headers, store invariants). */
export class ChainError extends PovError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(`CHAIN_${code}`, message, options)
  }
}
