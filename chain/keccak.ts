import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { keccak_256 } from '@noble/hashes/sha3.js'

type Hasher = (data: Uint8Array) => Uint8Array

/**
 * keccak256 for the whole node (block hashes, trie nodes through Common.customCrypto, tx
 * hashes). The `keccak` package's N-API binding, called directly (its stream wrapper costs
 * more than the hash), is 3× noble on 32-byte inputs and 4× on 532-byte trie branch nodes;
 * noble is the reference and the fallback, and a test checks that both agree.
 */
function loadNative(): Hasher | undefined {
  try {
    const require = createRequire(import.meta.url)
    const pkgDir = dirname(require.resolve('keccak/package.json'))
    const Keccak = createRequire(require.resolve('keccak'))('node-gyp-build')(pkgDir) as new () => {
      initialize(rate: number, capacity: number, suffix: number, bits: number): void
      absorb(data: Uint8Array): void
      squeeze(n: number): Uint8Array
    }
    if (typeof Keccak !== 'function') return undefined
    const hash: Hasher = (data) => {
      const k = new Keccak()
      k.initialize(1088, 512, 0x01, 256)
      k.absorb(data)
      return new Uint8Array(k.squeeze(32))
    }
    // Refuse a binding that disagrees with the reference on a known vector.
    const probe = new Uint8Array([1, 2, 3])
    if (Buffer.compare(hash(probe), keccak_256(probe)) !== 0) return undefined
    return hash
  } catch {
    return undefined
  }
}

export const nativeKeccak256: Hasher | undefined = loadNative()
export const nobleKeccak256: Hasher = keccak_256

export const keccak256: Hasher = nativeKeccak256 ?? nobleKeccak256

/** keccak256 of the empty RLP list: the uncle hash of every povchain block (no uncles). */
export const EMPTY_UNCLE_HASH = keccak256(Uint8Array.of(0xc0))
/** keccak256 of RLP(""): the root of an empty Merkle-Patricia trie. */
export const EMPTY_TRIE_ROOT = keccak256(Uint8Array.of(0x80))
