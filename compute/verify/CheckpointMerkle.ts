import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { keccak, type Hash32 } from '../ContentHash.js'

/**
 * Binary Merkle tree over checkpoint hashes. Leaves and inner nodes are hashed with different
 * prefixes (0x00 / 0x01) so an inner node can never pass as a leaf; an odd node at the end of a
 * level is carried up unchanged. A proof is the list of siblings; its shape is fixed by
 * (index, leaf count), which the commitment also binds.
 */
const LEAF = new Uint8Array([0])
const NODE = new Uint8Array([1])

function leafNode(h: Hash32): Uint8Array {
  return keccak(LEAF, hexToBytes(h))
}

function innerNode(a: Uint8Array, b: Uint8Array): Uint8Array {
  return keccak(NODE, a, b)
}

export function merkleRoot(leaves: readonly Hash32[]): Hash32 {
  if (leaves.length === 0) return bytesToHex(keccak(new Uint8Array([2]))) as Hash32
  let level = leaves.map(leafNode)
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? innerNode(level[i]!, level[i + 1]!) : level[i]!)
    level = next
  }
  return bytesToHex(level[0]!) as Hash32
}

export function merkleProof(leaves: readonly Hash32[], index: number): Hash32[] {
  if (!(index >= 0 && index < leaves.length)) throw new RangeError(`leaf index ${index} out of range`)
  const proof: Hash32[] = []
  let level = leaves.map(leafNode)
  let idx = index
  while (level.length > 1) {
    const sib = idx ^ 1
    if (sib < level.length) proof.push(bytesToHex(level[sib]!) as Hash32)
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? innerNode(level[i]!, level[i + 1]!) : level[i]!)
    level = next
    idx >>= 1
  }
  return proof
}

export function verifyMerkleProof(root: Hash32, leaf: Hash32, index: number, count: number, proof: readonly Hash32[]): boolean {
  if (!(Number.isInteger(index) && Number.isInteger(count) && index >= 0 && index < count)) return false
  let node = leafNode(leaf)
  let idx = index
  let len = count
  let used = 0
  try {
    while (len > 1) {
      const sib = idx ^ 1
      if (sib < len) {
        const p = proof[used++]
        if (p === undefined) return false
        const s = hexToBytes(p)
        node = idx & 1 ? innerNode(s, node) : innerNode(node, s)
      }
      idx >>= 1
      len = (len + 1) >> 1
    }
  } catch {
    return false
  }
  return used === proof.length && bytesToHex(node) === root
}
