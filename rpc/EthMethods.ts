import { bytesToHex } from '../common/bytes.js'
import type { Block } from '../chain/Block.js'
import { keccak256 } from '../chain/keccak.js'
import type { FilterManager } from './FilterManager.js'
import {
  formatBlock,
  formatBlockReceipts,
  formatHeader,
  formatReceipt,
  formatTx,
  qty,
} from './Formatters.js'
import * as P from './HexParams.js'
import type { Arity, MethodHandler, MethodTable } from './JsonRpcDispatcher.js'
import { parseFilterSpec, queryLogs, type LogLimits } from './LogQuery.js'
import { callFailure } from './RevertReason.js'
import type { BlockRef, CallRequest, RpcBackend } from './RpcBackend.js'
import { invalidParams, notSupported, RpcCode, RpcError, serverError } from './RpcErrors.js'

export interface EthMethodsOptions {
  gasCap: bigint
  logLimits: LogLimits
}

/** A required positional argument (Geth's wording when missing). */
export function required(params: unknown[], i: number): unknown {
  const v = params[i]
  if (v === undefined) throw invalidParams(`missing value for required argument ${i}`)
  return v
}

/** Keys per eth_getProof / eth_getStorageValues call (each costs trie reads). */
const MAX_STORAGE_KEYS = 1024

/** A storage word as Geth returns it: always 32 bytes. */
function word32(v: Uint8Array): string {
  if (v.length === 32) return bytesToHex(v)
  const w = new Uint8Array(32)
  w.set(v.subarray(Math.max(0, v.length - 32)), 32 - Math.min(32, v.length))
  return bytesToHex(w)
}

/** A filter id argument: any JSON string (Geth's rpc.ID); anything else is a bad argument, not an unknown filter. */
function filterId(p: unknown[]): string {
  const id = required(p, 0)
  if (typeof id !== 'string') throw invalidParams(`invalid argument 0: expected a filter id string, got ${id === null ? 'null' : typeof id}`)
  return id
}

/** The eth_ namespace (and web3_/net_, which are as small). */
export function ethMethods(backend: RpcBackend, opts: EthMethodsOptions, filters: FilterManager): MethodTable {
  const m: MethodTable = new Map()
  const def = (name: string, [min, max]: Arity, fn: MethodHandler) => m.set(name, { fn, min, max })

  const chainIdHex = qty(backend.chainId)
  const netVersion = backend.chainId.toString(10)

  // --- web3 / net ---
  def('web3_clientVersion', [0, 0], () => backend.clientVersion)
  def('web3_sha3', [1, 1], (p) => bytesToHex(keccak256(P.data(required(p, 0), 0))))
  def('net_version', [0, 0], () => netVersion)
  def('net_listening', [0, 0], () => backend.listening())
  def('net_peerCount', [0, 0], () => qty(backend.peerCount()))

  // --- chain ---
  def('eth_chainId', [0, 0], () => chainIdHex)
  def('eth_blockNumber', [0, 0], () => qty(backend.head().number))
  def('eth_syncing', [0, 0], () => {
    const s = backend.syncing()
    return s === false
      ? false
      : { startingBlock: qty(s.startingBlock), currentBlock: qty(s.currentBlock), highestBlock: qty(s.highestBlock) }
  })
  def('eth_coinbase', [0, 0], () => bytesToHex(backend.coinbase()))
  def('eth_accounts', [0, 0], () => backend.accounts().map(bytesToHex))
  def('eth_gasPrice', [0, 0], async () => qty(await backend.gasPrice()))
  def('eth_maxPriorityFeePerGas', [0, 0], async () => qty(await backend.maxPriorityFeePerGas()))
  // The next block's base fee: the last entry of a one-block fee history.
  def('eth_baseFee', [0, 0], async () => qty((await backend.feeHistory(1, 'latest', [])).baseFeePerGas.at(-1)!))
  def('eth_blobBaseFee', [0, 0], () => {
    throw notSupported('eth_blobBaseFee', 'povchain has no blob transactions (EIP-4844), so there is no blob base fee')
  })
  def('eth_feeHistory', [3, 3], async (p) => {
    const count = P.hexOrDecimal(required(p, 0), 0)
    if (count > 1024) throw invalidParams('invalid argument 0: blockCount must be at most 1024')
    const newest = P.blockNumberOrTag(required(p, 1), 1)
    const pct = p[2] === undefined || p[2] === null ? [] : p[2]
    if (!Array.isArray(pct) || pct.length > 100) throw invalidParams('invalid argument 2: expected an array of at most 100 percentiles')
    let prev = -1
    for (const x of pct) {
      if (typeof x !== 'number' || !(x >= 0 && x <= 100)) throw invalidParams(`invalid argument 2: invalid reward percentile: ${String(x)}`)
      if (x < prev) throw invalidParams(`invalid argument 2: invalid reward percentile: #${prev} > #${x}`)
      prev = x
    }
    // Geth: no blocks asked, none given (not the newest one).
    if (count === 0) return { oldestBlock: '0x0', baseFeePerGas: [], gasUsedRatio: [] }
    const fh = await backend.feeHistory(count, newest, pct as number[])
    const out: Record<string, unknown> = {
      oldestBlock: qty(fh.oldestBlock),
      baseFeePerGas: fh.baseFeePerGas.map(qty),
      gasUsedRatio: fh.gasUsedRatio,
    }
    if (fh.reward && pct.length > 0) out.reward = fh.reward.map((r) => r.map(qty))
    return out
  })

  // --- state ---
  def('eth_getBalance', [1, 2], async (p) => qty(await backend.getBalance(P.address(required(p, 0), 0), P.blockRef(p[1], 1))))
  def('eth_getTransactionCount', [1, 2], async (p) => qty(await backend.getNonce(P.address(required(p, 0), 0), P.blockRef(p[1], 1))))
  def('eth_getCode', [1, 2], async (p) => bytesToHex(await backend.getCode(P.address(required(p, 0), 0), P.blockRef(p[1], 1))))
  def('eth_getStorageAt', [2, 3], async (p) => {
    const v = await backend.getStorageAt(P.address(required(p, 0), 0), P.word(required(p, 1), 1), P.blockRef(p[2], 2))
    return word32(v)
  })

  def('eth_getStorageValues', [1, 2], async (p) => {
    const reqs = required(p, 0)
    if (typeof reqs !== 'object' || reqs === null || Array.isArray(reqs)) throw invalidParams('invalid argument 0: expected an object of address → storage keys')
    const ref = P.blockRef(p[1], 1)
    const entries = Object.entries(reqs as Record<string, unknown>)
    let total = 0
    const parsed = entries.map(([a, keys]) => {
      const addr = P.address(a, 0, 'address')
      if (!Array.isArray(keys)) throw invalidParams(`invalid argument 0: ${a}: expected an array of storage keys`)
      total += keys.length
      return { a, addr, keys: keys.map((k, i) => P.word(k, 0, `${a}[${i}]`)) }
    })
    if (total > MAX_STORAGE_KEYS) throw invalidParams(`invalid argument 0: too many storage keys (${total} > ${MAX_STORAGE_KEYS})`)
    const out: Record<string, string[]> = {}
    for (const { a, addr, keys } of parsed) out[a] = await Promise.all(keys.map(async (k) => word32(await backend.getStorageAt(addr, k, ref))))
    return out
  })
  def('eth_getProof', [2, 3], async (p) => {
    const addr = P.address(required(p, 0), 0)
    const rawKeys = required(p, 1)
    if (!Array.isArray(rawKeys)) throw invalidParams('invalid argument 1: expected an array of storage keys')
    if (rawKeys.length > MAX_STORAGE_KEYS) throw invalidParams(`invalid argument 1: too many storage keys (${rawKeys.length} > ${MAX_STORAGE_KEYS})`)
    const keys = rawKeys.map((k, i) => P.word(k, 1, `[${i}]`))
    const ref = P.blockRef(p[2], 2)
    if (!backend.getProof) throw notSupported('eth_getProof', 'this backend keeps no Merkle state')
    const r = await backend.getProof(addr, keys, ref)
    return {
      address: bytesToHex(r.address),
      accountProof: r.accountProof.map(bytesToHex),
      balance: qty(r.balance),
      codeHash: bytesToHex(r.codeHash),
      nonce: qty(r.nonce),
      storageHash: bytesToHex(r.storageHash),
      storageProof: r.storageProof.map((s) => ({ key: bytesToHex(s.key), value: qty(s.value), proof: s.proof.map(bytesToHex) })),
    }
  })

  const capGas = (req: CallRequest, fallback: bigint): CallRequest => {
    const gas = req.gas === undefined || req.gas > opts.gasCap ? (fallback < opts.gasCap ? fallback : opts.gasCap) : req.gas
    req.gas = gas
    return req
  }

  def('eth_call', [1, 3], async (p) => {
    const req = capGas(P.callRequest(required(p, 0), 0), opts.gasCap)
    const r = await backend.call(req, P.blockRef(p[1], 1), P.stateOverrides(p[2], 2))
    if (r.reverted || r.error) throw callFailure(r)
    return bytesToHex(r.returnValue)
  })
  def('eth_estimateGas', [1, 3], async (p) => {
    const req = capGas(P.callRequest(required(p, 0), 0), backend.head().gasLimit)
    const r = await backend.estimateGas(req, P.blockRef(p[1], 1), P.stateOverrides(p[2], 2))
    if (!r.ok) throw callFailure(r.result, req.gas)
    return qty(r.gas)
  })

  def('eth_createAccessList', [1, 2], async (p) => {
    const req = capGas(P.callRequest(required(p, 0), 0), opts.gasCap)
    const ref = P.blockRef(p[1], 1)
    if (!backend.createAccessList) throw notSupported('eth_createAccessList', 'this backend cannot trace access lists')
    const r = await backend.createAccessList(req, ref)
    const out: Record<string, unknown> = {
      accessList: r.accessList.map((a) => ({ address: bytesToHex(a.address), storageKeys: a.storageKeys.map(bytesToHex) })),
      gasUsed: qty(r.gasUsed),
    }
    // Geth: a failing request still gets its list, with the failure as `error`.
    if (r.error) out.error = r.returnValue?.length ? callFailure({ returnValue: r.returnValue, gasUsed: r.gasUsed, reverted: true, error: r.error }).message : r.error
    return out
  })

  // Spec methods povchain does not serve, with the reason rather than a bare "does not exist".
  for (const [name, why] of [
    ['eth_simulateV1', 'multi-block simulation is not implemented; use eth_call with state overrides'],
    ['eth_fillTransaction', 'use eth_estimateGas, eth_maxPriorityFeePerGas and eth_getTransactionCount to fill a transaction'],
    ['eth_getBlockAccessList', 'povchain blocks carry no EIP-7928 block access list'],
    ['eth_config', 'povchain has no Ethereum fork schedule (EIP-7910)'],
    ['eth_capabilities', 'not implemented'],
  ] as const)
    def(name, [0, 8], () => {
      throw notSupported(name, why)
    })

  // --- transactions ---
  def('eth_sendRawTransaction', [1, 1], async (p) => {
    const raw = P.data(required(p, 0), 0)
    if (raw.length === 0) throw serverError('typed transaction too short')
    return bytesToHex(await backend.sendRawTransaction(raw))
  })
  def('eth_sendTransaction', [1, 1], async (p) => bytesToHex(await backend.sendTransaction(P.callRequest(required(p, 0), 0))))
  def('eth_signTransaction', [1, 1], async (p) => bytesToHex(await backend.signTransaction(P.callRequest(required(p, 0), 0))))
  def('eth_sign', [2, 2], async (p) => bytesToHex(await backend.sign(P.address(required(p, 0), 0), P.data(required(p, 1), 1))))
  def('personal_sign', [2, 2], async (p) => bytesToHex(await backend.sign(P.address(required(p, 1), 1), P.data(required(p, 0), 0))))
  const signTyped = async (p: unknown[]) => {
    const addr = P.address(required(p, 0), 0)
    let typed = required(p, 1)
    if (typeof typed === 'string') {
      try {
        typed = JSON.parse(typed)
      } catch {
        throw invalidParams('invalid argument 1: typed data is not valid JSON')
      }
    }
    if (typeof typed !== 'object' || typed === null || Array.isArray(typed)) throw invalidParams('invalid argument 1: expected an EIP-712 typed data object')
    return bytesToHex(await backend.signTypedData(addr, typed))
  }
  def('eth_signTypedData_v4', [2, 2], signTyped)
  def('eth_signTypedData', [2, 2], signTyped)

  const inclusion = (block: Block, index: number) => ({
    blockHash: block.hash(),
    blockNumber: block.number,
    index,
    baseFeePerGas: block.header.baseFeePerGas,
    timestamp: block.header.timestamp,
  })

  def('eth_getTransactionByHash', [1, 1], async (p) => {
    const hash = P.hash32(required(p, 0), 0)
    const loc = await backend.txLocation(hash)
    if (loc) {
      const block = await backend.blockByRef({ hash: loc.blockHash })
      const tx = block?.transactions[loc.index]
      if (block && tx) return formatTx(tx, inclusion(block, loc.index))
    }
    const pooled = backend.poolTransaction(hash)
    return pooled ? formatTx(pooled) : null
  })
  const txAt = (block: Block | undefined, index: number) => {
    const tx = block?.transactions[index]
    return block && tx ? formatTx(tx, inclusion(block, index)) : null
  }
  def('eth_getTransactionByBlockHashAndIndex', [2, 2], async (p) => {
    const hash = P.hash32(required(p, 0), 0)
    const index = P.smallQuantity(required(p, 1), 1)
    return txAt(await backend.blockByRef({ hash }), index)
  })
  def('eth_getTransactionByBlockNumberAndIndex', [2, 2], async (p) => {
    const ref = P.blockNumberOrTag(required(p, 0), 0)
    const index = P.smallQuantity(required(p, 1), 1)
    return txAt(await backend.blockByRef(ref), index)
  })
  def('eth_getTransactionReceipt', [1, 1], async (p) => {
    const hash = P.hash32(required(p, 0), 0)
    const loc = await backend.txLocation(hash)
    if (!loc) return null
    const [block, receipts] = await Promise.all([backend.blockByRef({ hash: loc.blockHash }), backend.receipts(loc.blockHash)])
    const receipt = receipts?.[loc.index]
    if (!block || !receipts || !receipt) return null
    let firstLog = 0
    for (let i = 0; i < loc.index; i++) firstLog += receipts[i]!.logs.length
    return formatReceipt(block, receipt, loc.index, firstLog)
  })

  // --- blocks ---
  // The hydration flag is required (the dispatcher refuses ["latest"] as Geth does); null reads as false, as in Geth.
  const fullFlag = (p: unknown[]) => (p[1] === null ? false : P.bool(required(p, 1), 1))
  def('eth_getBlockByNumber', [2, 2], async (p) => {
    const ref = P.blockNumberOrTag(required(p, 0), 0)
    const full = fullFlag(p)
    const block = await backend.blockByRef(ref)
    return block ? formatBlock(block, full) : null
  })
  def('eth_getBlockByHash', [2, 2], async (p) => {
    const hash = P.hash32(required(p, 0), 0)
    const full = fullFlag(p)
    const block = await backend.blockByRef({ hash })
    return block ? formatBlock(block, full) : null
  })
  // Geth's eth_getHeaderBy*: the header fields of the block object, without the body.
  def('eth_getHeaderByNumber', [1, 1], async (p) => {
    const h = await backend.headerByRef(P.blockNumberOrTag(required(p, 0), 0))
    return h ? formatHeader(h) : null
  })
  def('eth_getHeaderByHash', [1, 1], async (p) => {
    const h = await backend.headerByRef({ hash: P.hash32(required(p, 0), 0) })
    return h ? formatHeader(h) : null
  })
  const txCount = (b: Block | undefined) => (b ? qty(b.transactions.length) : null)
  def('eth_getBlockTransactionCountByHash', [1, 1], async (p) => txCount(await backend.blockByRef({ hash: P.hash32(required(p, 0), 0) })))
  def('eth_getBlockTransactionCountByNumber', [1, 1], async (p) => txCount(await backend.blockByRef(P.blockNumberOrTag(required(p, 0), 0))))
  def('eth_getUncleCountByBlockHash', [1, 1], async (p) => ((await backend.headerByRef({ hash: P.hash32(required(p, 0), 0) })) ? '0x0' : null))
  def('eth_getUncleCountByBlockNumber', [1, 1], async (p) => ((await backend.headerByRef(P.blockNumberOrTag(required(p, 0), 0))) ? '0x0' : null))
  // No uncles under Proof of Value: null for any index, but the arguments are still checked.
  def('eth_getUncleByBlockHashAndIndex', [2, 2], (p) => {
    P.hash32(required(p, 0), 0)
    P.smallQuantity(required(p, 1), 1)
    return null
  })
  def('eth_getUncleByBlockNumberAndIndex', [2, 2], (p) => {
    P.blockNumberOrTag(required(p, 0), 0)
    P.smallQuantity(required(p, 1), 1)
    return null
  })
  def('eth_getBlockReceipts', [1, 1], async (p) => {
    const ref: BlockRef = P.blockRef(required(p, 0), 0)
    const block = await backend.blockByRef(ref)
    if (!block) return null
    const receipts = await backend.receipts(block.hash())
    return receipts ? formatBlockReceipts(block, receipts) : null
  })

  // --- logs and filters ---
  def('eth_getLogs', [1, 1], (p) => queryLogs(backend, parseFilterSpec(required(p, 0), 0), opts.logLimits))
  def('eth_newFilter', [1, 1], (p) => filters.newLogFilter(parseFilterSpec(required(p, 0), 0)))
  def('eth_newBlockFilter', [0, 0], () => filters.newBlockFilter())
  // Geth's optional fullTx flag: povchain's filter returns hashes either way, but a value that is
  // not a boolean is a wrong argument, not one to ignore.
  def('eth_newPendingTransactionFilter', [0, 1], (p) => {
    if (p[0] !== undefined && p[0] !== null) P.bool(p[0], 0)
    return filters.newPendingTransactionFilter()
  })
  def('eth_getFilterChanges', [1, 1], (p) => filters.changes(filterId(p)))
  def('eth_getFilterLogs', [1, 1], (p) => filters.logs(filterId(p)))
  def('eth_uninstallFilter', [1, 1], (p) => filters.uninstall(filterId(p)))

  // --- subscriptions (WebSocket only) ---
  // Arguments are checked after the transport, as Geth: over HTTP both answer -32601 first.
  def('eth_subscribe', [0, 3], (p, ctx) => {
    if (!ctx.subscriptions) throw new RpcError(RpcCode.NOTIFICATIONS_UNSUPPORTED, 'notifications not supported')
    return ctx.subscriptions.subscribe(p)
  })
  def('eth_unsubscribe', [0, 1], (p, ctx) => {
    if (!ctx.subscriptions) throw new RpcError(RpcCode.NOTIFICATIONS_UNSUPPORTED, 'notifications not supported')
    return ctx.subscriptions.unsubscribe(required(p, 0))
  })

  return m
}
