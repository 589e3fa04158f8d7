import { keccak256 } from '../chain/keccak.js'
import { bigintToFixedBytes, bytesToHex, concatBytes, hexToBytes } from '../common/bytes.js'
import { BridgeError } from './BridgeError.js'

/**
 * The snapshot Merkle tree, compatible with OpenZeppelin's `MerkleProof.verify` and
 * `StandardMerkleTree` leaves:
 *
 *   leaf(holder, amount) = keccak256(keccak256(abi.encode(address holder, uint256 amount)))
 *   parent(a, b)         = keccak256(min(a, b) ‖ max(a, b))      (sorted pair, 64 bytes)
 *
 * Leaves are sorted by hash; each level pairs neighbours and carries an odd last node up
 * unchanged. A proof is the list of sibling hashes from the leaf up. The double hash of the
 * leaf keeps an inner node (a hash of 64 bytes) from ever passing as a leaf.
 */

export function snapshotLeaf(holder: Uint8Array, amount: bigint): Uint8Array {
  if (holder.length !== 20) throw new BridgeError('BAD_ADDRESS', 'a holder address is 20 bytes')
  if (amount < 0n || amount >= 1n << 256n) throw new BridgeError('BAD_AMOUNT', 'amount must fit in uint256')
  const encoded = concatBytes(new Uint8Array(12), holder, bigintToFixedBytes(amount, 32))
  return keccak256(keccak256(encoded))
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}

export function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compare(a, b) <= 0 ? keccak256(concatBytes(a, b)) : keccak256(concatBytes(b, a))
}

export function processProof(leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let h = leaf
  for (const p of proof) h = hashPair(h, p)
  return h
}

export function verifyMerkleProof(root: Uint8Array, leaf: Uint8Array, proof: readonly Uint8Array[]): boolean {
  return compare(processProof(leaf, proof), root) === 0 && root.length === 32
}

export class MerkleTree {
  /** levels[0] are the sorted leaves, the last level is [root]. */
  private readonly levels: Uint8Array[][]
  private readonly index = new Map<string, number>()

  constructor(leaves: readonly Uint8Array[]) {
    if (leaves.length === 0) throw new BridgeError('EMPTY_TREE', 'a Merkle tree needs at least one leaf')
    const sorted = [...leaves].sort(compare)
    for (let i = 0; i < sorted.length; i++) {
      const k = bytesToHex(sorted[i]!)
      if (this.index.has(k)) throw new BridgeError('DUPLICATE_LEAF', `duplicate leaf ${k}`)
      this.index.set(k, i)
    }
    this.levels = [sorted]
    while (this.levels[this.levels.length - 1]!.length > 1) {
      const cur = this.levels[this.levels.length - 1]!
      const next: Uint8Array[] = []
      for (let i = 0; i < cur.length; i += 2) next.push(i + 1 < cur.length ? hashPair(cur[i]!, cur[i + 1]!) : cur[i]!)
      this.levels.push(next)
    }
  }

  get root(): Uint8Array {
    return this.levels[this.levels.length - 1]![0]!
  }

  get size(): number {
    return this.levels[0]!.length
  }

  has(leaf: Uint8Array): boolean {
    return this.index.has(bytesToHex(leaf))
  }

  proof(leaf: Uint8Array): Uint8Array[] {
    let i = this.index.get(bytesToHex(leaf))
    if (i === undefined) throw new BridgeError('NOT_A_LEAF', `${bytesToHex(leaf)} is not a leaf of this tree`)
    const proof: Uint8Array[] = []
    for (let l = 0; l < this.levels.length - 1; l++) {
      const level = this.levels[l]!
      const sibling = i ^ 1
      if (sibling < level.length) proof.push(level[sibling]!)
      i >>= 1
    }
    return proof
  }
}

export const proofToHex = (p: readonly Uint8Array[]): `0x${string}`[] => p.map((x) => bytesToHex(x))
export const proofFromHex = (p: readonly string[]): Uint8Array[] => p.map((x) => hexToBytes(x))
