import { keccak_256 } from '@noble/hashes/sha3.js'
import { bytesToHex, concatBytes, hexToBytes } from '../common/bytes.js'

/** A 32-byte keccak-256 digest as 0x-hex: the identity of every blob, spec and checkpoint. */
export type Hash32 = `0x${string}`

const TEXT = new TextEncoder()

export function keccak(...parts: Uint8Array[]): Uint8Array {
  return keccak_256(parts.length === 1 ? parts[0]! : concatBytes(...parts))
}

/** Domain-separated so a checkpoint can never be confused with a blob of equal bytes. */
export function domainHash(domain: string, ...parts: Uint8Array[]): Hash32 {
  return bytesToHex(keccak(TEXT.encode(domain), new Uint8Array([0]), ...parts))
}

export function contentHash(bytes: Uint8Array): Hash32 {
  return bytesToHex(keccak_256(bytes))
}

export function isHash32(s: unknown): s is Hash32 {
  return typeof s === 'string' && /^0x[0-9a-f]{64}$/.test(s)
}

export function hashBytes(h: Hash32): Uint8Array {
  return hexToBytes(h)
}

export function utf8(s: string): Uint8Array {
  return TEXT.encode(s)
}
