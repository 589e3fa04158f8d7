import type { Common } from '@ethereumjs/common'
import { createTxFromRLP, TransactionType, type TypedTransaction } from '@ethereumjs/tx'
import { SUPPORTED_TX_TYPES } from '../Block.js'
import { TxPoolError } from './errors.js'

/**
 * Decodes raw tx bytes (eth_sendRawTransaction, gossip) with the node's Common, turning the
 * refusals ethereumjs makes while constructing the object into the pool's Geth messages:
 * a blob tx is "transaction type not supported" and a tx signed for another chain is
 * "invalid chain id", a tip above the fee cap and oversized init code get Geth's texts too
 * (ethereumjs rejects all of these before the pool could look at them).
 * Other malformed input is rethrown as is.
 */
export function decodePoolTransaction(raw: Uint8Array, common: Common): TypedTransaction {
  if (raw.length > 0 && raw[0]! <= 0x7f && !SUPPORTED_TX_TYPES.has(raw[0]!))
    throw new TxPoolError(
      'TYPE_NOT_SUPPORTED',
      raw[0] === TransactionType.BlobEIP4844 ? 'tx type 3 not supported by this pool' : undefined,
    )
  try {
    return createTxFromRLP(raw, { common }) as TypedTransaction
  } catch (e) {
    const msg = (e as Error).message ?? ''
    if (/chain ID|chain id/.test(msg)) throw new TxPoolError('INVALID_CHAIN_ID', undefined, { cause: e })
    if (/maxFeePerGas cannot be less than maxPriorityFeePerGas/.test(msg))
      throw new TxPoolError('TIP_ABOVE_FEE_CAP', undefined, { cause: e })
    const initcode = /initcode size of this transaction is too large: it is (\d+) while the max is (\d+)/.exec(msg)
    if (initcode) throw new TxPoolError('MAX_INITCODE_SIZE', `code size ${initcode[1]}, limit ${initcode[2]}`, { cause: e })
    throw e
  }
}
