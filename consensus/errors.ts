import { PovError } from '../common/errors.js'

/** A block or header broke a consensus rule; the message says which and by how much. */
export class ConsensusError extends PovError {
  constructor(code: string, message: string) {
    super(`CONSENSUS_${code}`, message)
  }
}
