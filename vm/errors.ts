import { PovError } from '../common/errors.js'

/** Raised when execution or state access fails in a way the caller should act on. */
export class VmError extends PovError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(`VM_${code}`, message, options)
  }
}
