import { hashTypedData, type TypedDataDefinition } from 'viem'
import { bytesToHex, hexToBytes } from '../common/bytes.js'
import { AccountsError } from './errors.js'

/**
 * EIP-712 (eth_signTypedData_v4) input checking. viem computes the hash; before that we walk
 * the JSON against its declared types so that malformed input fails with an error that names
 * the field, and numbers given as decimal/hex strings or JSON numbers become bigints.
 * Like Geth, a message field missing from the data or present but not declared is an error.
 */

export interface TypedDataField {
  name: string
  type: string
}

export interface NormalizedTypedData {
  types: Record<string, TypedDataField[]>
  primaryType: string
  domain: Record<string, unknown>
  message: Record<string, unknown>
}

const MAX_DEPTH = 64
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/
// Canonical EIP712Domain field order and types (used when the input omits EIP712Domain).
const DOMAIN_FIELDS: TypedDataField[] = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
  { name: 'salt', type: 'bytes32' },
]

const invalid = (msg: string, cause?: unknown) => new AccountsError('INVALID_TYPED_DATA', `invalid typed data: ${msg}`, cause === undefined ? undefined : { cause })

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)

function parseTypes(v: unknown): Record<string, TypedDataField[]> {
  if (!isObject(v)) throw invalid('"types" must be an object')
  const out: Record<string, TypedDataField[]> = {}
  for (const [name, fields] of Object.entries(v)) {
    if (!IDENT.test(name)) throw invalid(`bad type name ${JSON.stringify(name)}`)
    if (!Array.isArray(fields)) throw invalid(`type ${name} must be an array of {name, type}`)
    const seen = new Set<string>()
    out[name] = fields.map((f, i) => {
      if (!isObject(f) || typeof f.name !== 'string' || typeof f.type !== 'string') throw invalid(`field ${i} of type ${name} must be {name: string, type: string}`)
      if (!IDENT.test(f.name)) throw invalid(`bad field name ${JSON.stringify(f.name)} in type ${name}`)
      if (seen.has(f.name)) throw invalid(`duplicate field ${f.name} in type ${name}`)
      seen.add(f.name)
      return { name: f.name, type: f.type }
    })
  }
  // Every referenced type must be atomic or declared.
  for (const [name, fields] of Object.entries(out)) {
    for (const f of fields) {
      const base = f.type.replace(/(\[\d*\])+$/, '')
      if (!isAtomic(base) && !(base in out)) throw invalid(`unknown type ${JSON.stringify(f.type)} of field ${name}.${f.name}`)
    }
  }
  return out
}

function isAtomic(t: string): boolean {
  if (t === 'address' || t === 'bool' || t === 'string' || t === 'bytes') return true
  let m = /^bytes(\d+)$/.exec(t)
  if (m) return Number(m[1]) >= 1 && Number(m[1]) <= 32
  m = /^u?int(\d+)$/.exec(t)
  if (m) return Number(m[1]) >= 8 && Number(m[1]) <= 256 && Number(m[1]) % 8 === 0
  return false
}

function toBigint(v: unknown, where: string): bigint {
  if (typeof v === 'bigint') return v
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw invalid(`${where}: ${v} is not a safe integer (pass large numbers as strings)`)
    return BigInt(v)
  }
  if (typeof v === 'string') {
    const s = v.trim()
    if (/^-?(0x[0-9a-fA-F]+|[0-9]+)$/.test(s)) return s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s)
  }
  throw invalid(`${where}: expected an integer, got ${describe(v)}`)
}

function toBytes(v: unknown, where: string): Uint8Array {
  if (v instanceof Uint8Array) return v
  if (typeof v === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(v)) return hexToBytes(v)
  throw invalid(`${where}: expected 0x-prefixed hex bytes, got ${describe(v)}`)
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing'
  const s = typeof v === 'bigint' ? `${v}` : JSON.stringify(v)
  return s === undefined ? typeof v : s.length > 40 ? s.slice(0, 40) + '…' : s
}

function normalizeValue(types: Record<string, TypedDataField[]>, type: string, v: unknown, where: string, depth: number): unknown {
  if (depth > MAX_DEPTH) throw invalid(`${where}: nested too deeply`)
  const arr = /^(.*)\[(\d*)\]$/.exec(type)
  if (arr) {
    if (!Array.isArray(v)) throw invalid(`${where}: expected an array for ${type}, got ${describe(v)}`)
    if (arr[2] !== '' && v.length !== Number(arr[2])) throw invalid(`${where}: expected ${arr[2]} elements for ${type}, got ${v.length}`)
    return v.map((e, i) => normalizeValue(types, arr[1]!, e, `${where}[${i}]`, depth + 1))
  }
  if (types[type]) return normalizeStruct(types, type, v, where, depth + 1)
  if (type === 'address') {
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(v)) throw invalid(`${where}: expected an address, got ${describe(v)}`)
    // Case is not a checksum promise in typed data (Geth accepts any case); bytes are what is hashed.
    return v.toLowerCase()
  }
  if (type === 'bool') {
    if (typeof v !== 'boolean') throw invalid(`${where}: expected a boolean, got ${describe(v)}`)
    return v
  }
  if (type === 'string') {
    if (typeof v !== 'string') throw invalid(`${where}: expected a string, got ${describe(v)}`)
    return v
  }
  if (type === 'bytes') return bytesToHex(toBytes(v, where))
  let m = /^bytes(\d+)$/.exec(type)
  if (m) {
    const n = Number(m[1])
    const b = toBytes(v, where)
    if (b.length > n) throw invalid(`${where}: ${b.length} bytes do not fit ${type}`)
    const padded = new Uint8Array(n)
    padded.set(b) // fixed bytes are left-aligned, as the ABI does
    return bytesToHex(padded)
  }
  m = /^(u?)int(\d+)$/.exec(type)
  if (m) {
    const bits = BigInt(m[2]!)
    const n = toBigint(v, where)
    const [lo, hi] = m[1] === 'u' ? [0n, (1n << bits) - 1n] : [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n]
    if (n < lo || n > hi) throw invalid(`${where}: ${n} out of range for ${type}`)
    return n
  }
  throw invalid(`${where}: unknown type ${JSON.stringify(type)}`)
}

function normalizeStruct(types: Record<string, TypedDataField[]>, type: string, v: unknown, where: string, depth: number): Record<string, unknown> {
  if (!isObject(v)) throw invalid(`${where}: expected an object of type ${type}, got ${describe(v)}`)
  const fields = types[type]!
  const out: Record<string, unknown> = {}
  for (const f of fields) {
    if (!(f.name in v) || v[f.name] === undefined || v[f.name] === null) throw invalid(`${where}: missing field ${f.name} (${f.type}) of type ${type}`)
    out[f.name] = normalizeValue(types, f.type, v[f.name], `${where}.${f.name}`, depth)
  }
  for (const k of Object.keys(v)) {
    if (!fields.some((f) => f.name === k)) throw invalid(`${where}: field ${k} is not declared in type ${type}`)
  }
  return out
}

/** Parses (if text) and checks eth_signTypedData_v4 input; numbers become bigint, bytes hex. */
export function normalizeTypedData(input: unknown): NormalizedTypedData {
  let obj = input
  if (typeof input === 'string') {
    try {
      obj = JSON.parse(input)
    } catch (e) {
      throw invalid('not valid JSON', e)
    }
  }
  if (!isObject(obj)) throw invalid('expected an object with types, primaryType, domain and message')
  const types = parseTypes(obj.types)
  if (typeof obj.primaryType !== 'string' || !types[obj.primaryType]) throw invalid(`primaryType ${describe(obj.primaryType)} is not declared in types`)
  const primaryType = obj.primaryType
  const rawDomain = obj.domain ?? {}
  if (!isObject(rawDomain)) throw invalid('"domain" must be an object')
  if (!types.EIP712Domain) {
    const fields: TypedDataField[] = []
    for (const k of Object.keys(rawDomain)) if (!DOMAIN_FIELDS.some((f) => f.name === k)) throw invalid(`domain field ${k} is not an EIP-712 domain field`)
    for (const f of DOMAIN_FIELDS) if (rawDomain[f.name] !== undefined) fields.push(f)
    types.EIP712Domain = fields
  }
  const domain = normalizeStruct(types, 'EIP712Domain', rawDomain, 'domain', 0)
  let message: Record<string, unknown> = {}
  if (primaryType !== 'EIP712Domain') {
    if (!isObject(obj.message)) throw invalid('"message" must be an object')
    message = normalizeStruct(types, primaryType, obj.message, 'message', 0)
  }
  return { types, primaryType, domain, message }
}

/** The EIP-712 digest that eth_signTypedData_v4 signs. */
export function typedDataDigest(input: unknown): Uint8Array {
  const td = normalizeTypedData(input)
  try {
    return hexToBytes(hashTypedData(td as unknown as TypedDataDefinition))
  } catch (e) {
    throw invalid((e as Error).message.split('\n')[0] ?? 'cannot hash', e)
  }
}
