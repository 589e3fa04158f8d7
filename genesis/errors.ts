import { PovError } from '../common/errors.js'

/** A genesis file or preset is invalid; the message names the field. */
export class GenesisError extends PovError {
  constructor(message: string) {
    super('GENESIS_INVALID', message)
  }
}
