import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '../common/bytes.js'
import { required } from './EthMethods.js'
import { checksumAddress, formatTx, inspectTx, qty } from './Formatters.js'
import * as P from './HexParams.js'
import type { Arity, MethodHandler, MethodTable } from './JsonRpcDispatcher.js'
import type { RpcBackend } from './RpcBackend.js'
import { invalidParams, notSupported, serverError } from './RpcErrors.js'
import { encodeConsensusReceipt } from '../chain/Receipt.js'

function byAccount<T>(m: Map<string, TypedTransaction[]>, f: (tx: TypedTransaction) => T): Record<string, Record<string, T>> {
  const out: Record<string, Record<string, T>> = {}
  for (const [addr, txs] of m) {
    const perNonce: Record<string, T> = {}
    for (const tx of txs) perNonce[tx.nonce.toString(10)] = f(tx)
    out[checksumAddress(addr)] = perNonce
  }
  return out
}

/** JSON-friendly copy of what a backend's extra method returned (bigint → hex, bytes → hex). */
export function toJsonValue(v: unknown, depth = 0): unknown {
  if (depth > 64) return null
  if (typeof v === 'bigint') return qty(v)
  if (v instanceof Uint8Array) return bytesToHex(v)
  if (Array.isArray(v)) return v.map((x) => toJsonValue(x, depth + 1))
  if (v instanceof Map) {
    const o: Record<string, unknown> = {}
    for (const [k, x] of v) o[String(k)] = toJsonValue(x, depth + 1)
    return o
  }
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const o: Record<string, unknown> = {}
    for (const k of Object.keys(v)) o[k] = toJsonValue((v as Record<string, unknown>)[k], depth + 1)
    return o
  }
  return v
}

/** txpool_, admin_ and debug_ (Geth's shapes), plus the backend's own namespaces. */
export function nodeMethods(backend: RpcBackend): MethodTable {
  const m: MethodTable = new Map()
  const def = (name: string, [min, max]: Arity, fn: MethodHandler) => m.set(name, { fn, min, max })

  def('txpool_status', [0, 0], () => {
    const s = backend.poolStatus()
    return { pending: qty(s.pending), queued: qty(s.queued) }
  })
  def('txpool_content', [0, 0], () => {
    const c = backend.poolContent()
    return { pending: byAccount(c.pending, (tx) => formatTx(tx)), queued: byAccount(c.queued, (tx) => formatTx(tx)) }
  })
  def('txpool_contentFrom', [1, 1], (p) => {
    const addr = bytesToHex(P.address(required(p, 0), 0))
    const c = backend.poolContent()
    const pick = (list?: TypedTransaction[]) => {
      const o: Record<string, unknown> = {}
      for (const tx of list ?? []) o[tx.nonce.toString(10)] = formatTx(tx)
      return o
    }
    return { pending: pick(c.pending.get(addr)), queued: pick(c.queued.get(addr)) }
  })
  def('txpool_inspect', [0, 0], () => {
    const c = backend.poolContent()
    return { pending: byAccount(c.pending, inspectTx), queued: byAccount(c.queued, inspectTx) }
  })

  def('debug_traceTransaction', [1, 2], async (p) => {
    const hash = P.hash32(required(p, 0), 0)
    const cfg = p[1] ?? {}
    if (typeof cfg !== 'object' || Array.isArray(cfg)) throw invalidParams('invalid argument 1: expected a tracer config object')
    const r = await backend.traceTransaction(hash, cfg as Record<string, unknown>)
    if (r === undefined) throw serverError(`transaction ${bytesToHex(hash)} not found`)
    return r
  })

  // Consensus encodings (Geth's debug_getRaw*), all Ethereum's: the Prague header RLP (the
  // Proof-of-Value fields inside its extraData), the block RLP [header, txs, [], []], EIP-2718
  // transactions and receipts.
  const blockAt = async (p: unknown[]) => backend.blockByRef(P.blockRef(required(p, 0), 0))
  def('debug_getRawBlock', [1, 1], async (p) => {
    const b = await blockAt(p)
    if (!b) throw serverError('block not found')
    return bytesToHex(b.encode())
  })
  def('debug_getRawHeader', [1, 1], async (p) => {
    const h = await backend.headerByRef(P.blockRef(required(p, 0), 0))
    if (!h) throw serverError('header not found')
    return bytesToHex(h.encode())
  })
  def('debug_getRawReceipts', [1, 1], async (p) => {
    const b = await blockAt(p)
    const receipts = b && (await backend.receipts(b.hash()))
    if (!b || !receipts) throw serverError('block not found')
    return receipts.map((r) => bytesToHex(encodeConsensusReceipt(r)))
  })
  def('debug_getRawTransaction', [1, 1], async (p) => {
    const hash = P.hash32(required(p, 0), 0)
    const loc = await backend.txLocation(hash)
    const tx = loc ? (await backend.blockByRef({ hash: loc.blockHash }))?.transactions[loc.index] : backend.poolTransaction(hash)
    // Geth: "0x" for an unknown transaction.
    return tx ? bytesToHex(tx.serialize()) : '0x'
  })
  def('debug_getBadBlocks', [0, 0], () => {
    throw notSupported('debug_getBadBlocks', 'povchain does not keep rejected blocks')
  })

  def('admin_nodeInfo', [0, 0], () => {
    const n = backend.nodeInfo()
    return { id: n.id, name: n.name, enode: n.enode ?? '', listenAddr: n.listenAddrs[0] ?? '', listenAddrs: n.listenAddrs, protocols: n.protocols }
  })
  def('admin_peers', [0, 0], () =>
    backend.peers().map((p) => ({ id: p.id, name: p.name ?? '', network: { remoteAddress: p.remoteAddress }, protocols: p.protocols })),
  )

  // Namespaces the node adds (pov_*, more admin_* …): positional JSON params in, JSON out.
  const extra = backend.extraMethods?.() ?? {}
  for (const [name, { arity, fn }] of Object.entries(extra))
    def(name, arity, async (p) => toJsonValue(await fn(p)))
  return m
}
