import { keccak_256 } from '@noble/hashes/sha3.js'

export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data)
}

/** keccak256 of the empty RLP list: the uncle hash of every povchain block (no uncles). */
export const EMPTY_UNCLE_HASH = keccak256(Uint8Array.of(0xc0))
/** keccak256 of RLP(""): the root of an empty Merkle-Patricia trie. */
export const EMPTY_TRIE_ROOT = keccak256(Uint8Array.of(0x80))
