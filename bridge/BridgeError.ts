import { PovError } from '../common/errors.js'

/** Raised by the swap bridge: snapshots, proofs, source-chain RPC, relaying and claims. */
export class BridgeError extends PovError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(`BRIDGE_${code}`, message, options)
  }
}
