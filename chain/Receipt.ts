import { decode, encode } from '@ethereumjs/rlp'
import { bigintToBytes, concatBytes } from '../common/bytes.js'
import { ChainError } from './errors.js'
import { keccak256 } from './keccak.js'
import { expectBytes, expectList, expectUint } from './rlpFields.js'

export interface Log {
  address: Uint8Array
  topics: Uint8Array[]
  data: Uint8Array
}

/**
 * What the node keeps per executed transaction. The consensus receipt (status, cumulative
 * gas, bloom, logs) is derived from it for the receipts root; the rest is what JSON-RPC
 * clients need without re-executing (gasUsed, effectiveGasPrice, contractAddress, from/to).
 */
export interface TxReceipt {
  /** Kept with the receipt so log queries and receipt lookups need not decode block bodies. */
  transactionHash: Uint8Array
  txType: number
  status: 0 | 1
  cumulativeGasUsed: bigint
  gasUsed: bigint
  effectiveGasPrice: bigint
  from: Uint8Array
  to?: Uint8Array
  contractAddress?: Uint8Array
  logs: Log[]
}

export function logsBloom(logs: Log[]): Uint8Array {
  const bloom = new Uint8Array(256)
  const add = (v: Uint8Array) => {
    const h = keccak256(v)
    for (let i = 0; i < 6; i += 2) {
      const bit = ((h[i]! << 8) | h[i + 1]!) & 2047
      bloom[256 - 1 - (bit >> 3)]! |= 1 << (bit & 7)
    }
  }
  for (const l of logs) {
    add(l.address)
    for (const t of l.topics) add(t)
  }
  return bloom
}

export function orBloom(into: Uint8Array, other: Uint8Array): void {
  for (let i = 0; i < 256; i++) into[i]! |= other[i]!
}

/** True if the bloom may contain `value` (an address or a topic). */
export function bloomMayContain(bloom: Uint8Array, value: Uint8Array): boolean {
  const h = keccak256(value)
  for (let i = 0; i < 6; i += 2) {
    const bit = ((h[i]! << 8) | h[i + 1]!) & 2047
    if ((bloom[256 - 1 - (bit >> 3)]! & (1 << (bit & 7))) === 0) return false
  }
  return true
}

const logFields = (l: Log) => [l.address, l.topics, l.data]

/** The Ethereum consensus encoding (EIP-2718 typed), the leaf of the receipts trie. */
export function encodeConsensusReceipt(r: TxReceipt, bloom = logsBloom(r.logs)): Uint8Array {
  const body = encode([r.status === 1 ? Uint8Array.of(1) : new Uint8Array(0), bigintToBytes(r.cumulativeGasUsed), bloom, r.logs.map(logFields)])
  return r.txType === 0 ? body : concatBytes(Uint8Array.of(r.txType), body)
}

const EMPTY = new Uint8Array(0)

export function encodeStoredReceipts(receipts: TxReceipt[]): Uint8Array {
  return encode(
    receipts.map((r) => [
      r.transactionHash,
      bigintToBytes(BigInt(r.txType)),
      bigintToBytes(BigInt(r.status)),
      bigintToBytes(r.cumulativeGasUsed),
      bigintToBytes(r.gasUsed),
      bigintToBytes(r.effectiveGasPrice),
      r.from,
      r.to ?? EMPTY,
      r.contractAddress ?? EMPTY,
      r.logs.map(logFields),
    ]),
  )
}

export function decodeStoredReceipts(bytes: Uint8Array): TxReceipt[] {
  let raw: unknown
  try {
    raw = decode(bytes)
  } catch (e) {
    throw new ChainError('BAD_ENCODING', `receipts: invalid RLP (${(e as Error).message})`)
  }
  return expectList(raw, 'receipts').map((item, i) => {
    const f = expectList(item, `receipt[${i}]`, 10)
    const to = expectBytes(f[7], 'receipt.to')
    const ca = expectBytes(f[8], 'receipt.contractAddress')
    const status = Number(expectUint(f[2], 'receipt.status', 1))
    if (status > 1) throw new ChainError('BAD_ENCODING', 'receipt.status must be 0 or 1')
    return {
      transactionHash: expectBytes(f[0], 'receipt.transactionHash', 32),
      txType: Number(expectUint(f[1], 'receipt.txType', 1)),
      status: status as 0 | 1,
      cumulativeGasUsed: expectUint(f[3], 'receipt.cumulativeGasUsed', 8),
      gasUsed: expectUint(f[4], 'receipt.gasUsed', 8),
      effectiveGasPrice: expectUint(f[5], 'receipt.effectiveGasPrice'),
      from: expectBytes(f[6], 'receipt.from', 20),
      to: to.length ? to : undefined,
      contractAddress: ca.length ? ca : undefined,
      logs: expectList(f[9], 'receipt.logs').map((l) => {
        const lf = expectList(l, 'log', 3)
        return {
          address: expectBytes(lf[0], 'log.address', 20),
          topics: expectList(lf[1], 'log.topics').map((t) => expectBytes(t, 'log.topic', 32)),
          data: expectBytes(lf[2], 'log.data'),
        }
      }),
    }
  })
}

