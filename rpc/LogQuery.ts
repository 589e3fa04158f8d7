import { bytesToHex } from '../common/bytes.js'
import type { BlockHeader } from '../chain/Header.js'
import { keccak256 } from '../chain/keccak.js'
import type { Log, TxReceipt } from '../chain/Receipt.js'
import { formatLog, qty, type LogPosition } from './Formatters.js'
import { address, blockNumberOrTag, hash32 } from './HexParams.js'
import type { BlockTag, RpcBackend } from './RpcBackend.js'
import { invalidParams, limitExceeded, serverError } from './RpcErrors.js'

type Hex = `0x${string}`

/** Address/topic criteria of eth_getLogs, eth_newFilter and `logs` subscriptions. */
export interface LogCriteria {
  /** Any of these addresses; empty = any address. */
  addresses: Uint8Array[]
  /** Per position: null = wildcard, else any of the listed topics. */
  topics: (Uint8Array[] | null)[]
}

export interface LogFilterSpec {
  criteria: LogCriteria
  fromBlock: BlockTag | bigint
  toBlock: BlockTag | bigint
  blockHash?: Uint8Array
}

const MAX_TOPICS = 4
const MAX_SUB_TOPICS = 1000
const MAX_ADDRESSES = 1000

export function parseCriteria(o: Record<string, unknown>, arg: number): LogCriteria {
  let addresses: Uint8Array[] = []
  const a = o.address
  if (Array.isArray(a)) {
    if (a.length > MAX_ADDRESSES) throw invalidParams(`invalid argument ${arg}: address: too many addresses (max ${MAX_ADDRESSES})`)
    addresses = a.map((x, i) => address(x, arg, `address[${i}]`))
  } else if (a !== undefined && a !== null) addresses = [address(a, arg, 'address')]
  const topics: (Uint8Array[] | null)[] = []
  const t = o.topics
  if (t !== undefined && t !== null) {
    if (!Array.isArray(t)) throw invalidParams(`invalid argument ${arg}: topics: expected an array`)
    if (t.length > MAX_TOPICS) throw invalidParams(`invalid argument ${arg}: exceed max topics`)
    t.forEach((pos, i) => {
      if (pos === null || pos === undefined) topics.push(null)
      else if (Array.isArray(pos)) {
        if (pos.length > MAX_SUB_TOPICS) throw invalidParams(`invalid argument ${arg}: exceed max sub-topics`)
        // [null] or [] inside a position means wildcard, as in Geth.
        if (pos.length === 0 || pos.some((x) => x === null)) topics.push(null)
        else topics.push(pos.map((x, j) => hash32(x, arg, `topics[${i}][${j}]`)))
      } else topics.push([hash32(pos, arg, `topics[${i}]`)])
    })
  }
  return { addresses, topics }
}

/** The filter object of eth_getLogs / eth_newFilter. */
export function parseFilterSpec(v: unknown, arg: number): LogFilterSpec {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidParams(`invalid argument ${arg}: expected a filter object`)
  const o = v as Record<string, unknown>
  const criteria = parseCriteria(o, arg)
  const present = (x: unknown) => x !== undefined && x !== null
  if (present(o.blockHash)) {
    if (present(o.fromBlock) || present(o.toBlock))
      throw invalidParams(`invalid argument ${arg}: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other`)
    return { criteria, fromBlock: 'latest', toBlock: 'latest', blockHash: hash32(o.blockHash, arg, 'blockHash') }
  }
  return {
    criteria,
    fromBlock: present(o.fromBlock) ? blockNumberOrTag(o.fromBlock, arg, 'fromBlock') : 'latest',
    toBlock: present(o.toBlock) ? blockNumberOrTag(o.toBlock, arg, 'toBlock') : 'latest',
  }
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function anyEq(list: Uint8Array[], v: Uint8Array): boolean {
  for (const x of list) if (eq(x, v)) return true
  return false
}

/** Geth's rule: more criteria positions than the log has topics never matches. */
export function matchLog(log: Log, c: LogCriteria): boolean {
  if (c.addresses.length > 0 && !anyEq(c.addresses, log.address)) return false
  if (c.topics.length > log.topics.length) return false
  for (let i = 0; i < c.topics.length; i++) {
    const want = c.topics[i]
    if (want && !anyEq(want, log.topics[i]!)) return false
  }
  return true
}

/** The three bloom bits (byte index, mask) of a value, as `bloomMayContain` tests them. */
function bloomBits(value: Uint8Array): Int32Array {
  const h = keccak256(value)
  const bits = new Int32Array(6)
  for (let i = 0, k = 0; i < 6; i += 2, k += 2) {
    const bit = ((h[i]! << 8) | h[i + 1]!) & 2047
    bits[k] = 256 - 1 - (bit >> 3)
    bits[k + 1] = 1 << (bit & 7)
  }
  return bits
}

function bloomHas(bloom: Uint8Array, bits: Int32Array): boolean {
  return (bloom[bits[0]!]! & bits[1]!) !== 0 && (bloom[bits[2]!]! & bits[3]!) !== 0 && (bloom[bits[4]!]! & bits[5]!) !== 0
}

/** Criteria with each value's bloom bits hashed once, not once per scanned block. */
interface CompiledCriteria {
  /** Empty = any address. */
  addresses: Int32Array[]
  /** Only the constrained positions. */
  topics: Int32Array[][]
}

// Filters and subscriptions keep their criteria object for their lifetime: compile once.
const compiledCache = new WeakMap<LogCriteria, CompiledCriteria>()

function compiled(c: LogCriteria): CompiledCriteria {
  let cc = compiledCache.get(c)
  if (!cc) {
    cc = {
      addresses: c.addresses.map(bloomBits),
      topics: c.topics.filter((t): t is Uint8Array[] => t !== null).map((t) => t.map(bloomBits)),
    }
    compiledCache.set(c, cc)
  }
  return cc
}

/** False when the block's bloom proves no log can match (lets a scan skip the block). */
export function bloomMatches(bloom: Uint8Array, c: LogCriteria): boolean {
  const cc = compiled(c)
  if (cc.addresses.length > 0 && !cc.addresses.some((b) => bloomHas(bloom, b))) return false
  for (const want of cc.topics) if (!want.some((b) => bloomHas(bloom, b))) return false
  return true
}

/** The matching logs of one block, formatted, with block-wide log indexes. */
export function blockLogs(h: BlockHeader, receipts: TxReceipt[], c: LogCriteria, removed: boolean): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  // New-head filters and subscriptions come here directly: the bloom rules most blocks out.
  if (!bloomMatches(h.logsBloom, c)) return out
  let blockHash: Hex | undefined
  let blockNumber: Hex = '0x'
  let blockTimestamp: Hex = '0x'
  let logIndex = 0
  for (let i = 0; i < receipts.length; i++) {
    const logs = receipts[i]!.logs
    // One position object per transaction with matches, shared by its logs (formatLog copies).
    let pos: LogPosition | undefined
    for (let j = 0; j < logs.length; j++, logIndex++) {
      const log = logs[j]!
      if (!matchLog(log, c)) continue
      if (blockHash === undefined) {
        blockHash = bytesToHex(h.hash())
        blockNumber = qty(h.number)
        blockTimestamp = qty(h.timestamp)
      }
      pos ??= { blockHash: blockHash as Hex, blockNumber, blockTimestamp, transactionHash: bytesToHex(receipts[i]!.transactionHash), transactionIndex: qty(i) }
      out.push(formatLog(log, pos, logIndex, removed))
    }
  }
  return out
}

export interface LogLimits {
  maxBlockRange: number
  maxResults: number
}

async function resolveNumber(backend: RpcBackend, ref: BlockTag | bigint, head: bigint): Promise<bigint> {
  if (typeof ref === 'bigint') return ref
  if (ref === 'latest' || ref === 'pending') return head
  if (ref === 'earliest') return 0n
  const h = await backend.headerByRef(ref)
  if (!h) throw serverError(`${ref} block not found`)
  return h.number
}

/** eth_getLogs: scans canonical blocks (bloom first), enforcing range and result limits. */
export async function queryLogs(backend: RpcBackend, spec: LogFilterSpec, limits: LogLimits): Promise<Record<string, unknown>[]> {
  if (spec.blockHash) {
    const header = await backend.headerByRef({ hash: spec.blockHash })
    if (!header) throw serverError('unknown block')
    if (!bloomMatches(header.logsBloom, spec.criteria)) return []
    const receipts = (await backend.receipts(spec.blockHash)) ?? []
    const logs = blockLogs(header, receipts, spec.criteria, false)
    if (logs.length > limits.maxResults) throw limitExceeded(`query returned more than ${limits.maxResults} results`)
    return logs
  }
  const head = backend.head().number
  const from = await resolveNumber(backend, spec.fromBlock, head)
  let to = await resolveNumber(backend, spec.toBlock, head)
  if (typeof spec.fromBlock === 'bigint' && typeof spec.toBlock === 'bigint' && from > to)
    throw serverError('invalid block range params')
  if (to > head) to = head
  if (from > to) return []
  if (to - from + 1n > BigInt(limits.maxBlockRange))
    throw limitExceeded(`exceed maximum block range: ${limits.maxBlockRange}`)
  const out: Record<string, unknown>[] = []
  // Blocks are read in chunks, each chunk's headers and then its receipts asked for together
  // (the store serves concurrent receipt misses with one LevelDB read), and scanned in order.
  for (let start = from; start <= to; start += SCAN_CHUNK) {
    const end = start + SCAN_CHUNK - 1n < to ? start + SCAN_CHUNK - 1n : to
    const headers: Promise<BlockHeader | undefined>[] = []
    for (let n = start; n <= end; n++) headers.push(backend.canonicalHeader(n))
    const candidates = (await Promise.all(headers)).filter(
      (h): h is BlockHeader => h !== undefined && !bloomEmpty(h.logsBloom) && bloomMatches(h.logsBloom, spec.criteria),
    )
    // Receipts carry their transaction hashes: no block body is decoded for a log query.
    const receipts = await Promise.all(candidates.map((h) => backend.receipts(h.hash())))
    for (let i = 0; i < candidates.length; i++) {
      const r = receipts[i]
      if (!r) continue
      const logs = blockLogs(candidates[i]!, r, spec.criteria, false)
      for (const l of logs) out.push(l)
      if (out.length > limits.maxResults) throw limitExceeded(`query returned more than ${limits.maxResults} results`)
    }
  }
  return out
}

const SCAN_CHUNK = 256n

/** A block without logs has an all-zero bloom (every log sets its address's bits). */
function bloomEmpty(bloom: Uint8Array): boolean {
  for (let i = 0; i < bloom.length; i++) if (bloom[i] !== 0) return false
  return true
}

/** Whether a block number lies inside a filter's from/to (tags other than numbers are open). */
export function inFilterRange(spec: LogFilterSpec, n: bigint): boolean {
  if (typeof spec.fromBlock === 'bigint' && n < spec.fromBlock) return false
  if (typeof spec.toBlock === 'bigint' && n > spec.toBlock) return false
  return true
}
