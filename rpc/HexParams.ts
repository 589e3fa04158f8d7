import type {
  AccessListItem,
  AccountOverride,
  AuthorizationItem,
  BlockRef,
  BlockTag,
  CallRequest,
  StateOverrides,
} from './RpcBackend.js'
import { invalidParams } from './RpcErrors.js'

/**
 * Parsing and validation of JSON-RPC parameters into bytes and bigint. Strict like Geth
 * (0x prefix, no leading zeros in quantities, even-length data, exact address/hash sizes),
 * and every failure is an -32602 naming the argument and field. Hand-written checks, no
 * schema library: this runs on every request.
 */

const QUANTITY = /^0x(?:0|[1-9a-fA-F][0-9a-fA-F]*)$/

function where(arg: number, field?: string): string {
  return field === undefined ? `invalid argument ${arg}` : `invalid argument ${arg}: ${field}`
}

function fail(arg: number, field: string | undefined, msg: string): never {
  throw invalidParams(`${where(arg, field)}: ${msg}`)
}

function hexProblem(v: unknown): string {
  if (typeof v !== 'string') return `expected a hex string, got ${v === null ? 'null' : typeof v}`
  if (v.length === 0) return 'empty hex string'
  if (v[0] !== '0' || (v[1] !== 'x' && v[1] !== 'X')) return 'hex string without 0x prefix'
  return 'invalid hex string'
}

/** A hex quantity (≤ 256 bits) as bigint. */
export function quantity(v: unknown, arg: number, field?: string, maxBits = 256): bigint {
  if (typeof v !== 'string' || !QUANTITY.test(v)) {
    if (typeof v === 'string' && v === '0x') fail(arg, field, 'hex string "0x"')
    if (typeof v === 'string' && /^0x0[0-9a-fA-F]+$/.test(v)) fail(arg, field, 'hex number with leading zero digits')
    fail(arg, field, hexProblem(v))
  }
  if (v.length - 2 > maxBits / 4) fail(arg, field, `hex number > ${maxBits} bits`)
  return BigInt(v)
}

/** A quantity that must fit a JS number (indices, counts, tx type). */
export function smallQuantity(v: unknown, arg: number, field?: string): number {
  return Number(quantity(v, arg, field, 52))
}

/** Hex, or (as Geth's HexOrDecimal) a JSON number or decimal string. */
export function hexOrDecimal(v: unknown, arg: number, field?: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v
  if (typeof v === 'string' && /^[0-9]{1,15}$/.test(v)) return Number(v)
  return smallQuantity(v, arg, field)
}

const NIBBLE = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i
for (let i = 0; i < 6; i++) {
  NIBBLE[65 + i] = 10 + i
  NIBBLE[97 + i] = 10 + i
}

/** Decodes the hex digits after a 0x prefix; -1 on a bad digit. */
function decodeHexBody(s: string, out: Uint8Array, padLeft: number): boolean {
  let j = padLeft
  let i = 2
  if ((s.length - 2) % 2 === 1) {
    const lo = NIBBLE[s.charCodeAt(2)] ?? -1
    if (lo < 0) return false
    out[j++] = lo
    i = 3
  }
  for (; i < s.length; i += 2) {
    const hi = NIBBLE[s.charCodeAt(i)] ?? -1
    const lo = NIBBLE[s.charCodeAt(i + 1)] ?? -1
    if (hi < 0 || lo < 0) return false
    out[j++] = (hi << 4) | lo
  }
  return true
}

function isPrefixed(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 2 && v.charCodeAt(0) === 48 && (v.charCodeAt(1) === 120 || v.charCodeAt(1) === 88)
}

/** Arbitrary-length hex data (even number of digits). */
export function data(v: unknown, arg: number, field?: string): Uint8Array {
  if (!isPrefixed(v)) fail(arg, field, hexProblem(v))
  if (v.length % 2 === 1) fail(arg, field, 'hex string of odd length')
  const out = new Uint8Array((v.length - 2) / 2)
  if (!decodeHexBody(v, out, 0)) fail(arg, field, 'invalid hex string')
  return out
}

/** Exactly `len` bytes of hex data. */
export function fixedData(v: unknown, len: number, arg: number, field?: string): Uint8Array {
  if (!isPrefixed(v)) fail(arg, field, hexProblem(v))
  if (v.length !== 2 + len * 2) fail(arg, field, `hex string has length ${v.length - 2}, want ${len * 2}`)
  const out = new Uint8Array(len)
  if (!decodeHexBody(v, out, 0)) fail(arg, field, 'invalid hex string')
  return out
}

export const address = (v: unknown, arg: number, field?: string) => fixedData(v, 20, arg, field)
export const hash32 = (v: unknown, arg: number, field?: string) => fixedData(v, 32, arg, field)

/** Up to 32 bytes, left-padded (storage slots and values; Geth accepts short keys). */
export function word(v: unknown, arg: number, field?: string): Uint8Array {
  if (!isPrefixed(v)) fail(arg, field, hexProblem(v))
  if (v.length > 66) fail(arg, field, 'hex string longer than 32 bytes')
  const digits = v.length - 2
  const out = new Uint8Array(32)
  if (!decodeHexBody(v, out, 32 - Math.ceil(digits / 2))) fail(arg, field, 'invalid hex string')
  return out
}

export function bool(v: unknown, arg: number, field?: string): boolean {
  if (typeof v !== 'boolean') fail(arg, field, `expected a boolean, got ${v === null ? 'null' : typeof v}`)
  return v
}

const TAGS: ReadonlySet<string> = new Set<BlockTag>(['latest', 'earliest', 'pending', 'safe', 'finalized'])

/** A block number or tag (eth_getBlockByNumber and friends). */
export function blockNumberOrTag(v: unknown, arg: number, field?: string): BlockTag | bigint {
  if (typeof v === 'string' && TAGS.has(v)) return v as BlockTag
  if (typeof v !== 'string') fail(arg, field, 'expected a block number or tag')
  return quantity(v, arg, field, 64)
}

/** A block number, tag, hash, or EIP-1898 object; absent means 'latest'. */
export function blockRef(v: unknown, arg: number): BlockRef {
  if (v === undefined || v === null) return 'latest'
  if (typeof v === 'string') {
    if (TAGS.has(v)) return v as BlockTag
    if (v.length === 66) return { hash: hash32(v, arg) }
    return quantity(v, arg, undefined, 64)
  }
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>
    const hasHash = o.blockHash !== undefined && o.blockHash !== null
    const hasNum = o.blockNumber !== undefined && o.blockNumber !== null
    if (hasHash && hasNum) fail(arg, undefined, 'cannot specify both blockHash and blockNumber, choose one or the other')
    if (hasHash) {
      const ref: { hash: Uint8Array; requireCanonical?: boolean } = { hash: hash32(o.blockHash, arg, 'blockHash') }
      if (o.requireCanonical !== undefined) ref.requireCanonical = bool(o.requireCanonical, arg, 'requireCanonical')
      return ref
    }
    if (hasNum) return blockNumberOrTag(o.blockNumber, arg, 'blockNumber')
    fail(arg, undefined, 'expected blockHash or blockNumber')
  }
  fail(arg, undefined, 'expected a block number, tag, hash or EIP-1898 object')
}

function object(v: unknown, arg: number, field?: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(arg, field, 'expected an object')
  return v as Record<string, unknown>
}

function array(v: unknown, arg: number, field: string, max: number): unknown[] {
  if (!Array.isArray(v)) fail(arg, field, 'expected an array')
  if (v.length > max) fail(arg, field, `too many entries (max ${max})`)
  return v
}

const present = (v: unknown) => v !== undefined && v !== null

export function accessList(v: unknown, arg: number): AccessListItem[] {
  return array(v, arg, 'accessList', 10_000).map((item, i) => {
    const o = object(item, arg, `accessList[${i}]`)
    const keys = present(o.storageKeys) ? array(o.storageKeys, arg, `accessList[${i}].storageKeys`, 10_000) : []
    return {
      address: address(o.address, arg, `accessList[${i}].address`),
      storageKeys: keys.map((k, j) => hash32(k, arg, `accessList[${i}].storageKeys[${j}]`)),
    }
  })
}

export function authorizationList(v: unknown, arg: number): AuthorizationItem[] {
  return array(v, arg, 'authorizationList', 10_000).map((item, i) => {
    const o = object(item, arg, `authorizationList[${i}]`)
    const f = `authorizationList[${i}]`
    // Geth spells the parity `yParity`; older drafts used `v`.
    const parity = present(o.yParity) ? o.yParity : o.v
    return {
      chainId: quantity(o.chainId, arg, `${f}.chainId`),
      address: address(o.address, arg, `${f}.address`),
      nonce: quantity(o.nonce, arg, `${f}.nonce`, 64),
      yParity: smallQuantity(parity, arg, `${f}.yParity`),
      r: quantity(o.r, arg, `${f}.r`),
      s: quantity(o.s, arg, `${f}.s`),
    }
  })
}

/** A transaction request object (eth_call, eth_estimateGas, eth_sendTransaction). */
export function callRequest(v: unknown, arg: number): CallRequest {
  const o = object(v, arg)
  const req: CallRequest = {}
  if (present(o.from)) req.from = address(o.from, arg, 'from')
  if (present(o.to)) req.to = address(o.to, arg, 'to')
  if (present(o.gas)) req.gas = quantity(o.gas, arg, 'gas', 64)
  if (present(o.gasPrice)) req.gasPrice = quantity(o.gasPrice, arg, 'gasPrice')
  if (present(o.maxFeePerGas)) req.maxFeePerGas = quantity(o.maxFeePerGas, arg, 'maxFeePerGas')
  if (present(o.maxPriorityFeePerGas)) req.maxPriorityFeePerGas = quantity(o.maxPriorityFeePerGas, arg, 'maxPriorityFeePerGas')
  if (req.gasPrice !== undefined && (req.maxFeePerGas !== undefined || req.maxPriorityFeePerGas !== undefined))
    fail(arg, undefined, 'both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified')
  if (present(o.value)) req.value = quantity(o.value, arg, 'value')
  if (present(o.nonce)) req.nonce = quantity(o.nonce, arg, 'nonce', 64)
  if (present(o.type)) req.type = smallQuantity(o.type, arg, 'type')
  if (present(o.chainId)) req.chainId = quantity(o.chainId, arg, 'chainId')
  const input = present(o.input) ? data(o.input, arg, 'input') : undefined
  const legacyData = present(o.data) ? data(o.data, arg, 'data') : undefined
  if (input && legacyData && !sameBytes(input, legacyData))
    fail(arg, undefined, 'both "data" and "input" are set and not equal. Please use "input" to pass transaction call data')
  const payload = input ?? legacyData
  if (payload) req.data = payload
  if (present(o.accessList)) req.accessList = accessList(o.accessList, arg)
  if (present(o.authorizationList)) req.authorizationList = authorizationList(o.authorizationList, arg)
  return req
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function slotMap(v: unknown, arg: number, field: string): Map<bigint, bigint> {
  const o = object(v, arg, field)
  const m = new Map<bigint, bigint>()
  for (const k of Object.keys(o)) {
    const key = word(k, arg, `${field} key`)
    const val = word(o[k], arg, `${field}[${k}]`)
    m.set(bytesToBig(key), bytesToBig(val))
  }
  return m
}

function bytesToBig(b: Uint8Array): bigint {
  let n = 0n
  for (let i = 0; i < b.length; i++) n = (n << 8n) | BigInt(b[i]!)
  return n
}

/** Geth's state-override set: { "0xaddr": { balance, nonce, code, state | stateDiff } }. */
export function stateOverrides(v: unknown, arg: number): StateOverrides | undefined {
  if (!present(v)) return undefined
  const o = object(v, arg)
  const out: StateOverrides = new Map()
  for (const addr of Object.keys(o)) {
    const key = address(addr, arg, 'state override address')
    const acc = object(o[addr], arg, addr)
    const ov: AccountOverride = {}
    if (present(acc.balance)) ov.balance = quantity(acc.balance, arg, `${addr}.balance`)
    if (present(acc.nonce)) ov.nonce = quantity(acc.nonce, arg, `${addr}.nonce`, 64)
    if (present(acc.code)) ov.code = data(acc.code, arg, `${addr}.code`)
    if (present(acc.state) && present(acc.stateDiff)) fail(arg, addr, `account ${addr} has both 'state' and 'stateDiff'`)
    if (present(acc.state)) ov.state = slotMap(acc.state, arg, `${addr}.state`)
    if (present(acc.stateDiff)) ov.stateDiff = slotMap(acc.stateDiff, arg, `${addr}.stateDiff`)
    let lower = '0x'
    for (let i = 0; i < key.length; i++) lower += key[i]!.toString(16).padStart(2, '0')
    out.set(lower, ov)
  }
  return out
}

