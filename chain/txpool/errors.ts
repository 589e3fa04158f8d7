import { PovError } from '../../common/errors.js'

/**
 * Why the pool refused a transaction. `reason` is Geth's sentinel text (what wallets and
 * libraries match on); `message` is `reason` plus, where Geth adds one, the same detail
 * suffix Geth prints (e.g. "nonce too low: next nonce 5, tx nonce 3").
 */
export const TxPoolReasons = {
  ALREADY_KNOWN: 'already known',
  TYPE_NOT_SUPPORTED: 'transaction type not supported',
  OVERSIZED_DATA: 'oversized data',
  MAX_INITCODE_SIZE: 'max initcode size exceeded',
  GAS_LIMIT: 'exceeds block gas limit',
  TIP_ABOVE_FEE_CAP: 'max priority fee per gas higher than max fee per gas',
  INVALID_CHAIN_ID: 'invalid chain id',
  INVALID_SENDER: 'invalid sender',
  NONCE_MAX: 'nonce has max value',
  INTRINSIC_GAS: 'intrinsic gas too low',
  FLOOR_DATA_GAS: 'insufficient gas for floor data gas cost',
  UNDERPRICED: 'transaction underpriced',
  SET_CODE_NO_AUTH: 'set code tx must have at least one authorization tuple',
  FEE_CAP_EXCEEDED: 'tx fee exceeds the configured cap',
  NONCE_TOO_LOW: 'nonce too low',
  INSUFFICIENT_FUNDS: 'insufficient funds for gas * price + value',
  REPLACEMENT_UNDERPRICED: 'replacement transaction underpriced',
  ACCOUNT_LIMIT: 'account limit exceeded',
  FULL: 'txpool is full',
} as const

export type TxPoolReasonKey = keyof typeof TxPoolReasons

export class TxPoolError extends PovError {
  /** Geth's bare error text, without the detail suffix. */
  readonly reason: string

  constructor(key: TxPoolReasonKey, detail?: string, options?: { cause?: unknown }) {
    const reason = TxPoolReasons[key]
    // The fee-cap message is a whole sentence in Geth, not "reason: detail".
    const message = key === 'FEE_CAP_EXCEEDED' && detail ? detail : detail ? `${reason}: ${detail}` : reason
    super(`TXPOOL_${key}`, message, options)
    this.reason = reason
  }
}
