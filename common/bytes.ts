// Byte and hex conversions used across modules. Hex strings appear only at the edges
// (RPC, config files, logs); inside the node we carry Uint8Array and bigint.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function bytesToHex(b: Uint8Array): `0x${string}` {
  let s = '0x'
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!]
  return s as `0x${string}`
}

export function isHex(s: unknown): s is string {
  return typeof s === 'string' && /^0x[0-9a-fA-F]*$/.test(s)
}

export function hexToBytes(hex: string): Uint8Array {
  if (!isHex(hex)) throw new TypeError(`not a 0x-prefixed hex string: ${String(hex).slice(0, 80)}`)
  let h = hex.slice(2)
  if (h.length % 2) h = '0' + h
  const out = new Uint8Array(h.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16)
  return out
}

export function bigintToHex(n: bigint | number): `0x${string}` {
  return `0x${BigInt(n).toString(16)}`
}

export function hexToBigint(hex: string): bigint {
  if (!isHex(hex) || hex === '0x') throw new TypeError(`not a hex quantity: ${String(hex).slice(0, 80)}`)
  return BigInt(hex)
}

/** Minimal big-endian bytes of a non-negative integer (empty for zero), as RLP wants. */
export function bigintToBytes(n: bigint): Uint8Array {
  if (n < 0n) throw new RangeError('negative integer')
  if (n === 0n) return new Uint8Array(0)
  let h = n.toString(16)
  if (h.length % 2) h = '0' + h
  return hexToBytes('0x' + h)
}

export function bytesToBigint(b: Uint8Array): bigint {
  if (b.length === 0) return 0n
  return BigInt(bytesToHex(b))
}

export function bigintToFixedBytes(n: bigint, length: number): Uint8Array {
  const raw = bigintToBytes(n)
  if (raw.length > length) throw new RangeError(`integer does not fit in ${length} bytes`)
  const out = new Uint8Array(length)
  out.set(raw, length - raw.length)
  return out
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0
  for (const p of parts) len += p.length
  const out = new Uint8Array(len)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function u64ToBytes(n: bigint | number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

export function bytesToU64(b: Uint8Array): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0)
}
