import { decode, encode } from '@ethereumjs/rlp'
import type { Common } from '@ethereumjs/common'
import { createTxFromRLP, TransactionType, type TypedTransaction } from '@ethereumjs/tx'
import { ChainError } from './errors.js'
import { BlockHeader } from './Header.js'
import { expectBytes, expectList } from './rlpFields.js'

/** Transaction types povchain accepts: legacy, EIP-2930, EIP-1559 and EIP-7702 (no blobs). */
export const SUPPORTED_TX_TYPES = new Set<number>([
  TransactionType.Legacy,
  TransactionType.AccessListEIP2930,
  TransactionType.FeeMarketEIP1559,
  TransactionType.EOACodeEIP7702,
])

export class Block {
  constructor(
    readonly header: BlockHeader,
    readonly transactions: TypedTransaction[],
  ) {}

  hash(): Uint8Array {
    return this.header.hash()
  }

  get number(): bigint {
    return this.header.number
  }

  /** The body as stored and sent to peers: an RLP list of the transactions' network encodings. */
  encodeBody(): Uint8Array {
    return encode(this.transactions.map((tx) => tx.serialize()))
  }

  encode(): Uint8Array {
    return encode([this.header.encode(), this.encodeBody()])
  }

  static decode(bytes: Uint8Array, common: Common): Block {
    const f = expectList(safeDecode(bytes, 'block'), 'block', 2)
    return new Block(
      BlockHeader.decode(expectBytes(f[0], 'block.header')),
      decodeBody(expectBytes(f[1], 'block.body'), common),
    )
  }
}

export function decodeBody(bytes: Uint8Array, common: Common): TypedTransaction[] {
  const list = expectList(safeDecode(bytes, 'body'), 'body')
  return list.map((raw, i) => decodeTransaction(expectBytes(raw, `body.tx[${i}]`), common))
}

/** Decodes a transaction in its network encoding; rejects types povchain does not run. */
export function decodeTransaction(bytes: Uint8Array, common: Common): TypedTransaction {
  if (bytes.length === 0) throw new ChainError('BAD_TX', 'empty transaction')
  if (bytes[0]! < 0x7f && !SUPPORTED_TX_TYPES.has(bytes[0]!))
    throw new ChainError('BAD_TX', `transaction type ${bytes[0]} not supported`)
  try {
    return createTxFromRLP(bytes, { common }) as TypedTransaction
  } catch (e) {
    throw new ChainError('BAD_TX', `invalid transaction: ${(e as Error).message}`)
  }
}

function safeDecode(bytes: Uint8Array, what: string): unknown {
  try {
    return decode(bytes)
  } catch (e) {
    throw new ChainError('BAD_ENCODING', `${what}: invalid RLP (${(e as Error).message})`)
  }
}
