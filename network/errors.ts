import { PovError } from '../common/errors.js'

/**
 * Everything the network layer raises on purpose: malformed or oversized messages, a peer
 * on another chain, a request that timed out or was refused. `code` is `NETWORK_<WHAT>`.
 */
export class NetworkError extends PovError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(`NETWORK_${code}`, message, options)
  }
}
