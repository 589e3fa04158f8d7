import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '../common/bytes.js'
import type { Block } from '../chain/Block.js'
import { EMPTY_REQUESTS_HASH, PARENT_BEACON_BLOCK_ROOT, type BlockHeader } from '../chain/Header.js'
import { EMPTY_TRIE_ROOT, EMPTY_UNCLE_HASH, keccak256 } from '../chain/keccak.js'
import { logsBloom, type Log, type TxReceipt } from '../chain/Receipt.js'

/**
 * bytes/bigint → the JSON shapes Ethereum clients expect (Geth's field names and encodings).
 * Blocks are immutable once hashed, so formatted blocks are cached by hash.
 */

export type Hex = `0x${string}`
export const hex = bytesToHex
export function qty(n: bigint | number): Hex {
  return `0x${n.toString(16)}`
}

const EMPTY_UNCLE_HEX = bytesToHex(EMPTY_UNCLE_HASH)
const EMPTY_TRIE_HEX = bytesToHex(EMPTY_TRIE_ROOT)
const ZERO_NONCE = '0x0000000000000000'
const PARENT_BEACON_ROOT_HEX = bytesToHex(PARENT_BEACON_BLOCK_ROOT)
const EMPTY_REQUESTS_HEX = bytesToHex(EMPTY_REQUESTS_HASH)

/** A small LRU over Map insertion order. */
export class Lru<K, V> {
  private readonly map = new Map<K, V>()
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.map.get(k)
    if (v !== undefined) {
      this.map.delete(k)
      this.map.set(k, v)
    }
    return v
  }
  set(k: K, v: V): void {
    this.map.delete(k)
    this.map.set(k, v)
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K)
  }
  clear(): void {
    this.map.clear()
  }
}

// Sender recovery costs an ecrecover; blocks re-read from the store are fresh objects.
const senderCache = new Lru<string, Hex>(20_000)

export function txHashHex(tx: TypedTransaction): Hex {
  return bytesToHex(tx.hash())
}

export function txSender(tx: TypedTransaction, hashHex: string = txHashHex(tx)): Hex {
  let from = senderCache.get(hashHex)
  if (from === undefined) {
    from = bytesToHex(tx.getSenderAddress().bytes)
    senderCache.set(hashHex, from)
  }
  return from
}

/** EIP-55 mixed-case checksum (Geth's Address.Hex(), used as txpool_* keys). */
export function checksumAddress(addr: Uint8Array | string): Hex {
  const lower = (typeof addr === 'string' ? addr : bytesToHex(addr)).toLowerCase().slice(2)
  const h = keccak256(new TextEncoder().encode(lower))
  let out = '0x'
  for (let i = 0; i < 40; i++) {
    const nibble = (h[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 0xf
    out += nibble >= 8 ? lower[i]!.toUpperCase() : lower[i]
  }
  return out as Hex
}

export interface TxInclusion {
  blockHash: Uint8Array
  blockNumber: bigint
  index: number
  baseFeePerGas: bigint
  timestamp?: bigint
}

/** Effective gas price of a 1559-style tx at a base fee. */
export function effectiveGasPrice(tx: TypedTransaction, baseFee: bigint): bigint {
  if ('maxFeePerGas' in tx) {
    const t = tx as { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }
    const tip = t.maxFeePerGas - baseFee < t.maxPriorityFeePerGas ? t.maxFeePerGas - baseFee : t.maxPriorityFeePerGas
    return baseFee + (tip > 0n ? tip : 0n)
  }
  return (tx as { gasPrice: bigint }).gasPrice
}

export type RpcTx = Record<string, unknown>

/** A transaction object; `at` is undefined for a pool transaction (Geth: block fields null). */
export function formatTx(tx: TypedTransaction, at?: TxInclusion): RpcTx {
  const hash = txHashHex(tx)
  const type = tx.type
  const o: RpcTx = {
    blockHash: at ? bytesToHex(at.blockHash) : null,
    blockNumber: at ? qty(at.blockNumber) : null,
    // Geth ≥ 1.16: always present, null while pending.
    blockTimestamp: at?.timestamp !== undefined ? qty(at.timestamp) : null,
    from: txSender(tx, hash),
    gas: qty(tx.gasLimit),
    gasPrice: '0x0',
    hash,
    input: bytesToHex(tx.data),
    nonce: qty(tx.nonce),
    to: tx.to ? bytesToHex(tx.to.bytes) : null,
    transactionIndex: at ? qty(at.index) : null,
    value: qty(tx.value),
    type: qty(type),
  }
  if (type === 0) {
    o.gasPrice = qty((tx as { gasPrice: bigint }).gasPrice)
    const v = tx.v ?? 0n
    if (v >= 35n) o.chainId = qty((v - 35n) / 2n)
    o.v = qty(v)
  } else {
    const t = tx as TypedTransaction & { chainId: bigint; accessList: [Uint8Array, Uint8Array[]][] }
    if ('maxFeePerGas' in tx) {
      const f = tx as { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }
      // Mined: what was paid; pending: the cap (Geth).
      o.gasPrice = qty(at ? effectiveGasPrice(tx, at.baseFeePerGas) : f.maxFeePerGas)
      o.maxFeePerGas = qty(f.maxFeePerGas)
      o.maxPriorityFeePerGas = qty(f.maxPriorityFeePerGas)
    } else {
      o.gasPrice = qty((tx as { gasPrice: bigint }).gasPrice)
    }
    o.accessList = t.accessList.map(([a, keys]) => ({ address: bytesToHex(a), storageKeys: keys.map(bytesToHex) }))
    o.chainId = qty(t.chainId)
    if (type === 4) {
      const list = (tx as unknown as { authorizationList: Uint8Array[][] }).authorizationList
      o.authorizationList = list.map(([chainId, address, nonce, yParity, r, s]) => ({
        chainId: bytesQty(chainId!),
        address: bytesToHex(address!),
        nonce: bytesQty(nonce!),
        yParity: bytesQty(yParity!),
        r: bytesQty(r!),
        s: bytesQty(s!),
      }))
    }
    const parity = tx.v ?? 0n
    o.v = qty(parity)
    o.yParity = qty(parity)
  }
  o.r = qty(tx.r ?? 0n)
  o.s = qty(tx.s ?? 0n)
  return o
}

/** Big-endian unsigned bytes (RLP integer) as a hex quantity. */
function bytesQty(b: Uint8Array): Hex {
  let i = 0
  while (i < b.length && b[i] === 0) i++
  if (i === b.length) return '0x0'
  let s = bytesToHex(b.subarray(i)).slice(2)
  if (s[0] === '0') s = s.slice(1)
  return `0x${s}`
}

/**
 * Header fields (newHeads notifications, eth_getHeaderBy*; the base of block objects): every
 * field of the Prague header in its order — `keccak256(rlp(those values))` is `hash` — then
 * the Proof-of-Value fields that `extraData` carries, decoded.
 */
export function formatHeader(h: BlockHeader): Record<string, unknown> {
  return {
    hash: bytesToHex(h.hash()),
    parentHash: bytesToHex(h.parentHash),
    sha3Uncles: EMPTY_UNCLE_HEX,
    miner: bytesToHex(h.coinbase),
    stateRoot: bytesToHex(h.stateRoot),
    transactionsRoot: bytesToHex(h.transactionsRoot),
    receiptsRoot: bytesToHex(h.receiptsRoot),
    logsBloom: bytesToHex(h.logsBloom),
    difficulty: '0x0',
    number: qty(h.number),
    gasLimit: qty(h.gasLimit),
    gasUsed: qty(h.gasUsed),
    timestamp: qty(h.timestamp),
    extraData: bytesToHex(h.extraData),
    mixHash: bytesToHex(h.mixHash),
    nonce: ZERO_NONCE,
    baseFeePerGas: qty(h.baseFeePerGas),
    withdrawalsRoot: EMPTY_TRIE_HEX,
    blobGasUsed: '0x0',
    excessBlobGas: '0x0',
    parentBeaconBlockRoot: PARENT_BEACON_ROOT_HEX,
    requestsHash: EMPTY_REQUESTS_HEX,
    // Proof of Value
    slot: qty(h.slot),
    producer: bytesToHex(h.producer),
    jobId: bytesToHex(h.jobId),
    sessionId: bytesToHex(h.sessionId),
    workloadId: bytesToHex(h.workloadId),
    vrfOutput: bytesToHex(h.vrfOutput),
    vrfProof: bytesToHex(h.vrfProof),
    attestations: h.attestations.map((a) => ({
      sourceHash: bytesToHex(a.sourceHash),
      sourceHeight: qty(a.sourceHeight),
      targetHash: bytesToHex(a.targetHash),
      targetHeight: qty(a.targetHeight),
      validator: bytesToHex(a.validator),
      signature: bytesToHex(a.signature),
    })),
    seal: bytesToHex(h.seal),
    vanity: bytesToHex(h.vanity),
  }
}

const blockCache = new Lru<string, Record<string, unknown>>(128)

export function formatBlock(block: Block, fullTx: boolean): Record<string, unknown> {
  const hashHex = bytesToHex(block.hash())
  const key = fullTx ? hashHex + 'f' : hashHex
  const cached = blockCache.get(key)
  if (cached) return cached
  const h = block.header
  const o = formatHeader(h)
  o.size = qty(block.encode().length)
  o.totalDifficulty = '0x0'
  o.uncles = []
  o.withdrawals = []
  o.transactions = fullTx
    ? block.transactions.map((tx, index) =>
        formatTx(tx, { blockHash: h.hash(), blockNumber: h.number, index, baseFeePerGas: h.baseFeePerGas, timestamp: h.timestamp }),
      )
    : block.transactions.map(txHashHex)
  blockCache.set(key, o)
  return o
}

export interface LogPosition {
  blockHash: Hex
  blockNumber: Hex
  blockTimestamp: Hex
  transactionHash: Hex
  transactionIndex: Hex
}

export function formatLog(log: Log, pos: LogPosition, logIndex: number, removed: boolean): Record<string, unknown> {
  return {
    address: bytesToHex(log.address),
    topics: log.topics.map(bytesToHex),
    data: bytesToHex(log.data),
    blockNumber: pos.blockNumber,
    blockHash: pos.blockHash,
    blockTimestamp: pos.blockTimestamp,
    transactionHash: pos.transactionHash,
    transactionIndex: pos.transactionIndex,
    logIndex: qty(logIndex),
    removed,
  }
}

/** The receipt of `block.transactions[index]`; `firstLogIndex` = logs in the block before it. */
export function formatReceipt(block: Block, receipt: TxReceipt, index: number, firstLogIndex: number): Record<string, unknown> {
  const h = block.header
  const tx = block.transactions[index]!
  const pos: LogPosition = {
    blockHash: bytesToHex(h.hash()),
    blockNumber: qty(h.number),
    blockTimestamp: qty(h.timestamp),
    transactionHash: txHashHex(tx),
    transactionIndex: qty(index),
  }
  return {
    blockHash: pos.blockHash,
    blockNumber: pos.blockNumber,
    contractAddress: receipt.contractAddress ? bytesToHex(receipt.contractAddress) : null,
    cumulativeGasUsed: qty(receipt.cumulativeGasUsed),
    effectiveGasPrice: qty(receipt.effectiveGasPrice),
    from: bytesToHex(receipt.from),
    gasUsed: qty(receipt.gasUsed),
    logs: receipt.logs.map((l, i) => formatLog(l, pos, firstLogIndex + i, false)),
    logsBloom: bytesToHex(logsBloom(receipt.logs)),
    status: receipt.status === 1 ? '0x1' : '0x0',
    to: receipt.to ? bytesToHex(receipt.to) : null,
    transactionHash: pos.transactionHash,
    transactionIndex: pos.transactionIndex,
    type: qty(receipt.txType),
  }
}

export function formatBlockReceipts(block: Block, receipts: TxReceipt[]): Record<string, unknown>[] {
  let logIndex = 0
  return receipts.map((r, i) => {
    const out = formatReceipt(block, r, i, logIndex)
    logIndex += r.logs.length
    return out
  })
}

/** Geth's txpool_inspect one-liner. */
export function inspectTx(tx: TypedTransaction): string {
  const price = 'maxFeePerGas' in tx ? (tx as { maxFeePerGas: bigint }).maxFeePerGas : (tx as { gasPrice: bigint }).gasPrice
  const to = tx.to ? checksumAddress(tx.to.bytes) : 'contract creation'
  return `${to}: ${tx.value} wei + ${tx.gasLimit} gas × ${price} wei`
}
