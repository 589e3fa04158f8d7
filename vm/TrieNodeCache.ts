import { BranchMPTNode, ExtensionMPTNode, LeafMPTNode, MerklePatriciaTrie, decodeMPTNode, isRawMPTNode } from '@ethereumjs/mpt'

/**
 * @ethereumjs/mpt decodes a trie node from its RLP every time a walk passes it: a block's state
 * flush puts each dirty slot and account separately, and each put walks from the root, so the
 * root and upper branches (17-item RLP lists of up to 532 bytes) were decoded again for every
 * one — ≈ 3 % of an ERC-20 transfer's server CPU. This keeps one decoding per node *value*
 * object (keyed by the bytes the database hands back — the node's own TrieDatabase entry, so a
 * node the database does not hold is looked up, and refused, as before — and bounded: a decoded
 * branch is ≈ 1 KiB of heap, the database's own cache holds up to 250,000 nodes, and the hot
 * ones, the upper levels every walk passes, come back after an eviction) and hands out a copy:
 * a put edits the nodes on its path (`setBranch`, `value`, `key`), which must never reach the
 * remembered decoding that other roots still share. Embedded (raw) nodes take the original path.
 * `vm/test/trie-node-cache.property.test.ts` compares tries with and without it.
 */

type TrieNode = BranchMPTNode | ExtensionMPTNode | LeafMPTNode
type LookupNode = (this: MerklePatriciaTrie, node: Uint8Array | Uint8Array[]) => Promise<TrieNode>

interface TrieInternals {
  _db: { get(key: Uint8Array): Promise<Uint8Array | undefined> }
  _getDbKey(key: Uint8Array): Uint8Array
}
interface BranchInternals {
  _branches: (Uint8Array | Uint8Array[] | null)[]
  _value: Uint8Array | null
}
interface ExtOrLeafInternals {
  _nibbles: number[]
  _value: Uint8Array
}

/** Decodings kept (≈ 20 MiB at most); the oldest tenth goes when full. */
export const TRIE_NODE_CACHE_MAX = 20_000
const decodings = new Map<Uint8Array, TrieNode>()
let original: LookupNode | undefined
let hits = 0
let misses = 0

/** A node equal to `n` that shares no mutable part with it (branch list, key nibbles). */
export function copyTrieNode(n: TrieNode): TrieNode {
  if (n instanceof BranchMPTNode) {
    const b = new BranchMPTNode()
    const from = n as unknown as BranchInternals
    const to = b as unknown as BranchInternals
    to._branches = from._branches.slice()
    to._value = from._value
    return b
  }
  const from = n as unknown as ExtOrLeafInternals
  return n instanceof LeafMPTNode ? new LeafMPTNode(from._nibbles.slice(), from._value) : new ExtensionMPTNode(from._nibbles.slice(), from._value)
}

/** @ethereumjs/mpt's own lookupNode (for the comparison test), once installed. */
export function originalLookupNode(): LookupNode | undefined {
  return original
}

export function trieNodeCacheStats(): { hits: number; misses: number; size: number } {
  return { hits, misses, size: decodings.size }
}

/** Installs the cache on MerklePatriciaTrie's prototype (every trie of the process); idempotent. */
export function installTrieNodeCache(): void {
  if (original) return
  const proto = MerklePatriciaTrie.prototype as unknown as { lookupNode: LookupNode }
  const own = proto.lookupNode
  original = own
  proto.lookupNode = async function (this: MerklePatriciaTrie, node: Uint8Array | Uint8Array[]): Promise<TrieNode> {
    if (isRawMPTNode(node)) return own.call(this, node)
    const self = this as unknown as TrieInternals
    const value = await self._db.get(self._getDbKey(node))
    // Absent: the original reads again and throws its 'Missing node in DB', which callers match.
    if (value === undefined || value === null) return own.call(this, node)
    let decoded = decodings.get(value)
    if (decoded === undefined) {
      misses++
      decoded = decodeMPTNode(value) as TrieNode
      if (decodings.size >= TRIE_NODE_CACHE_MAX) {
        let n = TRIE_NODE_CACHE_MAX / 10
        for (const k of decodings.keys()) {
          decodings.delete(k)
          if (--n <= 0) break
        }
      }
      decodings.set(value, decoded)
    } else hits++
    return copyTrieNode(decoded)
  }
}
