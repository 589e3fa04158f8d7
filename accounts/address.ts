import { keccak_256 } from '@noble/hashes/sha3.js'
import { bytesToHex, hexToBytes } from '../common/bytes.js'
import { AccountsError } from './errors.js'

/** EIP-55 mixed-case form of a 20-byte address, for what users read (CLI output). */
export function toChecksumAddress(address: Uint8Array): string {
  const lower = bytesToHex(address).slice(2)
  const hash = keccak_256(new TextEncoder().encode(lower))
  let out = '0x'
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 0xf
    out += nibble >= 8 ? lower[i]!.toUpperCase() : lower[i]!
  }
  return out
}

/** Parses a 20-byte address given as bytes or hex (with or without 0x, any case). */
export function parseAddress(address: Uint8Array | string): Uint8Array {
  if (address instanceof Uint8Array) {
    if (address.length !== 20) throw new AccountsError('BAD_KEY', `address must be 20 bytes, got ${address.length}`)
    return address
  }
  const h = address.startsWith('0x') || address.startsWith('0X') ? address.slice(2) : address
  if (!/^[0-9a-fA-F]{40}$/.test(h)) throw new AccountsError('BAD_KEY', `not an address: ${address.slice(0, 50)}`)
  return hexToBytes('0x' + h)
}

/** Map key for an address: lowercase 0x-hex. */
export function addressKey(address: Uint8Array | string): string {
  return bytesToHex(parseAddress(address))
}
