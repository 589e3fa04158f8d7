import { bytesToHex, concatBytes, equalBytes, hexToBytes, u64ToBytes } from '../common/bytes.js'
import { type ChainDB, type DbOp, KeyPrefix, prefixed } from './Database.js'
import { ChainError } from './errors.js'
import type { TxReceipt } from './Receipt.js'

/**
 * The per-address index of the canonical chain: which transactions an address sent, received
 * or created (as a contract), and which token `Transfer` logs name it as sender or recipient.
 *
 * Layout (both newest last in key order, so a page is one reverse range read):
 *   'a' ‖ address ‖ u64 block ‖ u32 tx index   → tx hash ‖ roles (1 byte: 1 from, 2 to, 4 created)
 *   'k' ‖ address ‖ u64 block ‖ u32 log index  → TransferEntry (below)
 *
 * Only canonical blocks have entries: BlockStore writes them with the canonical index and
 * deletes those of the blocks a reorg removes, in the same batch as the head pointer. Keys are
 * positions (block number, index), not block hashes, so a page never has to skip entries of
 * forks and its cursor stays meaningful across a reorg. The entries are built from the stored
 * receipts alone (sender, recipient, created contract, logs), so indexing needs no signature
 * recovery and no body decoding.
 */

/** keccak256("Transfer(address,address,uint256)"): ERC-20 (3 topics) and ERC-721 (4 topics). */
export const TRANSFER_TOPIC = hexToBytes('0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef')

export const Role = { from: 1, to: 2, created: 4 } as const

export interface AddressTxEntry {
  blockNumber: bigint
  txIndex: number
  txHash: Uint8Array
  /** Bits of Role. */
  roles: number
}

export interface TransferEntry {
  blockNumber: bigint
  /** The log's index in its block (as eth_getLogs counts it). */
  logIndex: number
  txIndex: number
  txHash: Uint8Array
  token: Uint8Array
  from: Uint8Array
  to: Uint8Array
  /** ERC-20: the amount (the log's data); ERC-721: the token id (topic 3). */
  amount: bigint
  kind: 'erc20' | 'erc721'
}

export interface Page<T> {
  entries: T[]
  /** Pass back to get the next (older) page; undefined on the last page. */
  next?: string
}

export const MAX_PAGE = 100
export const DEFAULT_PAGE = 25

const POSITION_BYTES = 12 // u64 block ‖ u32 index
const META_BACKFILL = prefixed(KeyPrefix.meta, new TextEncoder().encode('addressIndexPending'))

function position(blockNumber: bigint, index: number): Uint8Array {
  const idx = new Uint8Array(4)
  new DataView(idx.buffer).setUint32(0, index)
  return concatBytes(u64ToBytes(blockNumber), idx)
}

function readPosition(key: Uint8Array): { blockNumber: bigint; index: number } {
  const v = new DataView(key.buffer, key.byteOffset + 21, POSITION_BYTES)
  return { blockNumber: v.getBigUint64(0), index: v.getUint32(8) }
}

const txKey = (address: Uint8Array, blockNumber: bigint, txIndex: number) => prefixed(KeyPrefix.addressTx, concatBytes(address, position(blockNumber, txIndex)))
const transferKey = (address: Uint8Array, blockNumber: bigint, logIndex: number) => prefixed(KeyPrefix.addressTransfer, concatBytes(address, position(blockNumber, logIndex)))

function u256(v: bigint): Uint8Array {
  const out = new Uint8Array(32)
  let x = v
  for (let i = 31; i >= 0 && x > 0n; i--) {
    out[i] = Number(x & 0xffn)
    x >>= 8n
  }
  return out
}

function readU256(b: Uint8Array): bigint {
  let x = 0n
  for (const byte of b) x = (x << 8n) | BigInt(byte)
  return x
}

/** A Transfer log's parties and amount, or undefined when the log is not one. */
function asTransfer(log: { topics: Uint8Array[]; data: Uint8Array }): { from: Uint8Array; to: Uint8Array; amount: bigint; kind: 'erc20' | 'erc721' } | undefined {
  if (log.topics.length < 3 || log.topics.length > 4 || !equalBytes(log.topics[0]!, TRANSFER_TOPIC)) return undefined
  const from = log.topics[1]!.subarray(12)
  const to = log.topics[2]!.subarray(12)
  if (log.topics.length === 4) return { from, to, amount: readU256(log.topics[3]!), kind: 'erc721' }
  // ERC-20 puts the amount in 32 bytes of data; anything else named Transfer is shown with 0.
  return { from, to, amount: log.data.length === 32 ? readU256(log.data) : 0n, kind: 'erc20' }
}

/**
 * The index writes of one canonical block (`put`), or the deletes that undo them (`del`).
 * Deletes of a removed block must precede the puts of the block replacing it in one batch.
 */
export function addressIndexOps(blockNumber: bigint, receipts: readonly TxReceipt[], type: 'put' | 'del'): DbOp[] {
  const ops: DbOp[] = []
  let logIndex = 0
  receipts.forEach((r, txIndex) => {
    const roles = new Map<string, { address: Uint8Array; roles: number }>()
    const add = (a: Uint8Array | undefined, role: number) => {
      if (!a) return
      const k = bytesToHex(a)
      const e = roles.get(k)
      if (e) e.roles |= role
      else roles.set(k, { address: a, roles: role })
    }
    add(r.from, Role.from)
    add(r.to, Role.to)
    if (r.status === 1) add(r.contractAddress, Role.created)
    for (const { address, roles: bits } of roles.values()) {
      const key = txKey(address, blockNumber, txIndex)
      ops.push(type === 'put' ? { type, key, value: concatBytes(r.transactionHash, Uint8Array.of(bits)) } : { type, key })
    }
    for (const log of r.logs) {
      const t = asTransfer(log)
      if (t) {
        const idx = new Uint8Array(4)
        new DataView(idx.buffer).setUint32(0, txIndex)
        const value = concatBytes(r.transactionHash, idx, log.address, t.from, t.to, u256(t.amount), Uint8Array.of(t.kind === 'erc721' ? 1 : 0))
        for (const party of equalBytes(t.from, t.to) ? [t.from] : [t.from, t.to]) {
          const key = transferKey(party, blockNumber, logIndex)
          ops.push(type === 'put' ? { type, key, value } : { type, key })
        }
      }
      logIndex++
    }
  })
  return ops
}

/** The cursor of an entry: opaque to clients (hex of its position), the exclusive upper bound of the next page. */
function encodeCursor(blockNumber: bigint, index: number): string {
  return bytesToHex(position(blockNumber, index))
}

function decodeCursor(cursor: string): Uint8Array {
  if (!/^0x[0-9a-f]{24}$/.test(cursor)) throw new ChainError('BAD_CURSOR', 'cursor must be the `next` value of a previous page, as returned')
  return hexToBytes(cursor)
}

async function readPage<T>(db: ChainDB, prefix: number, address: Uint8Array, cursor: string | undefined, limit: number, decode: (key: Uint8Array, value: Uint8Array) => T & { blockNumber: bigint }, indexOf: (e: T) => number): Promise<Page<T>> {
  if (address.length !== 20) throw new ChainError('BAD_ADDRESS', 'address must be 20 bytes')
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ChainError('BAD_LIMIT', `limit must be 1..${MAX_PAGE}`)
  const lower = prefixed(prefix, address)
  const upper = prefixed(prefix, concatBytes(address, cursor === undefined ? new Uint8Array(POSITION_BYTES + 1).fill(0xff) : decodeCursor(cursor)))
  const entries: T[] = []
  let more = false
  for await (const [k, v] of db.iterator({ gte: lower, lt: upper, reverse: true, limit: limit + 1 })) {
    if (entries.length === limit) {
      more = true
      break
    }
    entries.push(decode(k, v))
  }
  const last = entries[entries.length - 1] as (T & { blockNumber: bigint }) | undefined
  return more && last ? { entries, next: encodeCursor(last.blockNumber, indexOf(last)) } : { entries }
}

/** An address's transactions, newest first, `limit` (≤ MAX_PAGE) a page. */
export function addressTransactions(db: ChainDB, address: Uint8Array, cursor: string | undefined, limit = DEFAULT_PAGE): Promise<Page<AddressTxEntry>> {
  return readPage(
    db,
    KeyPrefix.addressTx,
    address,
    cursor,
    limit,
    (k, v) => {
      const p = readPosition(k)
      return { blockNumber: p.blockNumber, txIndex: p.index, txHash: v.slice(0, 32), roles: v[32]! }
    },
    (e) => e.txIndex,
  )
}

/** Token Transfer logs naming an address as sender or recipient, newest first. */
export function addressTransfers(db: ChainDB, address: Uint8Array, cursor: string | undefined, limit = DEFAULT_PAGE): Promise<Page<TransferEntry>> {
  return readPage(
    db,
    KeyPrefix.addressTransfer,
    address,
    cursor,
    limit,
    (k, v) => {
      const p = readPosition(k)
      return {
        blockNumber: p.blockNumber,
        logIndex: p.index,
        txHash: v.slice(0, 32),
        txIndex: new DataView(v.buffer, v.byteOffset + 32, 4).getUint32(0),
        token: v.slice(36, 56),
        from: v.slice(56, 76),
        to: v.slice(76, 96),
        amount: readU256(v.subarray(96, 128)),
        kind: v[128] === 1 ? 'erc721' : 'erc20',
      }
    },
    (e) => e.logIndex,
  )
}

/**
 * Blocks stored before the index existed: blocks 0 … pending − 1 have no entries yet.
 * Absent on a database that predates the index (the caller then marks all of its blocks
 * pending); 0 once everything is indexed.
 */
export async function readBackfillPending(db: ChainDB): Promise<bigint | undefined> {
  const raw = await db.get(META_BACKFILL)
  return raw ? new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0) : undefined
}

export function backfillPendingOp(pending: bigint): DbOp {
  return { type: 'put', key: META_BACKFILL, value: u64ToBytes(pending) }
}
