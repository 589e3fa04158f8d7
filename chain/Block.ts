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

  private cachedEncoding?: Uint8Array

  /**
   * The standard Ethereum block RLP, `[header, transactions, ommers = [], withdrawals = []]`
   * (legacy transactions as RLP lists, typed ones as byte strings, EIP-2718): what gossip
   * carries and `debug_getRawBlock` returns; any Ethereum library decodes it.
   */
  encode(): Uint8Array {
    return (this.cachedEncoding ??= rlpList([
      this.header.encode(),
      rlpList(this.transactions.map((tx) => (tx.type === TransactionType.Legacy ? tx.serialize() : encode(tx.serialize())))),
      EMPTY_LIST,
      EMPTY_LIST,
    ]))
  }

  static decode(bytes: Uint8Array, common: Common): Block {
    const f = expectList(safeDecode(bytes, 'block'), 'block', 4)
    const txs = expectList(f[1], 'block.transactions')
    if (expectList(f[2], 'block.ommers').length) throw new ChainError('BAD_ENCODING', 'block.ommers: povchain blocks have no ommers')
    if (expectList(f[3], 'block.withdrawals').length) throw new ChainError('BAD_ENCODING', 'block.withdrawals: povchain blocks have no withdrawals')
    return new Block(
      BlockHeader.fromFields(f[0]),
      txs.map((raw, i) => {
        // EIP-2718 in a block: a legacy transaction is its RLP list, a typed one a byte string.
        if (Array.isArray(raw)) return decodeTransaction(encode(raw as never), common, true)
        const b = expectBytes(raw, `block.transactions[${i}]`)
        if (b.length === 0 || b[0]! >= 0x7f) throw new ChainError('BAD_TX', `block.transactions[${i}]: a byte string must be a typed transaction`)
        return decodeTransaction(b, common)
      }),
    )
  }
}

const EMPTY_LIST = Uint8Array.of(0xc0)

/** RLP list prefix over already encoded items. */
function rlpList(items: Uint8Array[]): Uint8Array {
  let len = 0
  for (const it of items) len += it.length
  let prefix: Uint8Array
  if (len < 56) prefix = Uint8Array.of(0xc0 + len)
  else {
    const l: number[] = []
    for (let n = len; n > 0; n = Math.floor(n / 256)) l.unshift(n % 256)
    prefix = Uint8Array.of(0xf7 + l.length, ...l)
  }
  const out = new Uint8Array(prefix.length + len)
  out.set(prefix)
  let o = prefix.length
  for (const it of items) {
    out.set(it, o)
    o += it.length
  }
  return out
}

export function decodeBody(bytes: Uint8Array, common: Common): TypedTransaction[] {
  const list = expectList(safeDecode(bytes, 'body'), 'body')
  return list.map((raw, i) => decodeTransaction(expectBytes(raw, `body.tx[${i}]`), common))
}

/** Decodes a transaction in its network encoding; rejects types povchain does not run. */
export function decodeTransaction(bytes: Uint8Array, common: Common, legacyOnly = false): TypedTransaction {
  if (bytes.length === 0) throw new ChainError('BAD_TX', 'empty transaction')
  if (legacyOnly && bytes[0]! < 0xc0) throw new ChainError('BAD_TX', 'a legacy transaction must be an RLP list')
  if (bytes[0]! < 0x7f && !SUPPORTED_TX_TYPES.has(bytes[0]!))
    throw new ChainError('BAD_TX', `transaction type ${bytes[0]} not supported`)
  let tx: TypedTransaction
  try {
    tx = createTxFromRLP(bytes, { common }) as TypedTransaction
  } catch (e) {
    throw new ChainError('BAD_TX', `invalid transaction: ${(e as Error).message}`)
  }
  // Empty v, r, s decode as an unsigned transaction, whose hash() and sender throw untyped
  // errors later; nothing povchain reads from a peer, a client or its journal is unsigned
  // (found by test/fuzz: the `transaction` target).
  if (!tx.isSigned()) throw new ChainError('BAD_TX', 'transaction is not signed (empty v, r, s)')
  return tx
}

function safeDecode(bytes: Uint8Array, what: string): unknown {
  try {
    return decode(bytes)
  } catch (e) {
    throw new ChainError('BAD_ENCODING', `${what}: invalid RLP (${(e as Error).message})`)
  }
}
