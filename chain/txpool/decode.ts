import type { Common } from '@ethereumjs/common'
import { TransactionType, type TypedTransaction } from '@ethereumjs/tx'
import { decodeTransaction, SUPPORTED_TX_TYPES } from '../Block.js'
import { TxPoolError } from './errors.js'

/**
 * `decodeTransaction` for txs offered to the pool (eth_sendRawTransaction, gossip): the same
 * result and the same ChainError for malformed bytes, except that the refusals ethereumjs
 * makes while building the object get the pool's Geth messages — a blob tx is "transaction
 * type not supported", a tx signed for another chain "invalid chain id", an unsigned one
 * (empty v, r, s) "invalid sender", and a tip above the fee cap or oversized init code their
 * Geth texts.
 */
export function decodePoolTransaction(raw: Uint8Array, common: Common): TypedTransaction {
  if (raw.length > 0 && raw[0]! <= 0x7f && !SUPPORTED_TX_TYPES.has(raw[0]!))
    throw new TxPoolError(
      'TYPE_NOT_SUPPORTED',
      raw[0] === TransactionType.BlobEIP4844 ? 'tx type 3 not supported by this pool' : undefined,
    )
  try {
    return decodeTransaction(raw, common)
  } catch (e) {
    const msg = (e as Error).message ?? ''
    // Geth decodes an unsigned transaction and fails its sender recovery: "invalid sender".
    if (/is not signed/.test(msg)) throw new TxPoolError('INVALID_SENDER', undefined, { cause: e })
    if (/chain ID|chain id/.test(msg)) throw new TxPoolError('INVALID_CHAIN_ID', undefined, { cause: e })
    if (/maxFeePerGas cannot be less than maxPriorityFeePerGas/.test(msg))
      throw new TxPoolError('TIP_ABOVE_FEE_CAP', undefined, { cause: e })
    const initcode = /initcode size of this transaction is too large: it is (\d+) while the max is (\d+)/.exec(msg)
    if (initcode) throw new TxPoolError('MAX_INITCODE_SIZE', `code size ${initcode[1]}, limit ${initcode[2]}`, { cause: e })
    throw e
  }
}
