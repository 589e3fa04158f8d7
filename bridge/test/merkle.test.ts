import t from 'tap'
import fc from 'fast-check'
import { encodeAbiParameters, keccak256 as viemKeccak, getAddress, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { hashPair, MerkleTree, processProof, snapshotLeaf, verifyMerkleProof } from '../MerkleTree.js'

const arbAddress = fc.uint8Array({ minLength: 20, maxLength: 20 })
const arbAmount = fc.bigInt({ min: 1n, max: (1n << 256n) - 1n })
const arbHolders = fc.uniqueArray(fc.record({ address: arbAddress, amount: arbAmount }), { minLength: 1, maxLength: 60, selector: (h) => bytesToHex(h.address) })

t.test('leaf encoding is keccak256(bytes.concat(keccak256(abi.encode(address, uint256))))', async (t) => {
  fc.assert(
    fc.property(arbAddress, arbAmount, (a, amount) => {
      const enc = encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [getAddress(bytesToHex(a)), amount])
      return bytesToHex(snapshotLeaf(a, amount)) === viemKeccak(viemKeccak(enc))
    }),
    { numRuns: 200 },
  )
  t.pass()
})

t.test('property: every leaf proves against the root', async (t) => {
  fc.assert(
    fc.property(arbHolders, (holders) => {
      const leaves = holders.map((h) => snapshotLeaf(h.address, h.amount))
      const tree = new MerkleTree(leaves)
      return leaves.every((l) => verifyMerkleProof(tree.root, l, tree.proof(l)))
    }),
    { numRuns: 200 },
  )
  t.pass()
})

t.test('property: no non-leaf proves — other (holder, amount), inner nodes, altered proofs', async (t) => {
  fc.assert(
    fc.property(arbHolders, arbAddress, arbAmount, fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 }), (holders, other, otherAmount, pick, junk) => {
      const leaves = holders.map((h) => snapshotLeaf(h.address, h.amount))
      const tree = new MerkleTree(leaves)
      const i = pick % holders.length
      const proof = tree.proof(leaves[i]!)
      // A holder with another amount, or another holder with this amount, does not prove with any member's proof.
      const fakes = [snapshotLeaf(holders[i]!.address, holders[i]!.amount + 1n > (1n << 256n) - 1n ? 0n : holders[i]!.amount + 1n), snapshotLeaf(other, otherAmount)].filter((f) => !tree.has(f))
      for (const f of fakes) for (const l of leaves) if (verifyMerkleProof(tree.root, f, tree.proof(l))) return false
      // An inner node with the rest of its path recomputes the root, but no (holder, amount)
      // hashes to it: the leaf is a double hash of 64 bytes, an inner node a single one.
      if (proof.length >= 2) {
        const inner = hashPair(leaves[i]!, proof[0]!)
        if (bytesToHex(processProof(inner, proof.slice(1))) !== bytesToHex(tree.root)) return false
        if (tree.has(inner)) return false
      }
      // Any changed sibling breaks the proof.
      if (proof.length) {
        const bad = proof.map((p) => p.slice())
        const k = pick % bad.length
        bad[k] = junk
        if (bytesToHex(junk) !== bytesToHex(proof[k]!) && verifyMerkleProof(tree.root, leaves[i]!, bad)) return false
        if (verifyMerkleProof(tree.root, leaves[i]!, proof.slice(0, -1))) return false
      }
      return true
    }),
    { numRuns: 200 },
  )
  t.pass()
})

t.test('the root does not depend on the input order; duplicates are refused', async (t) => {
  const leaves = [1, 2, 3, 4, 5].map((n) => snapshotLeaf(hexToBytes(`0x${String(n).padStart(40, '0')}`), BigInt(n)))
  t.equal(bytesToHex(new MerkleTree(leaves).root), bytesToHex(new MerkleTree([...leaves].reverse()).root))
  t.throws(() => new MerkleTree([leaves[0]!, leaves[0]!]), /duplicate leaf/)
  t.throws(() => new MerkleTree([]), /at least one leaf/)
  const single = new MerkleTree([leaves[0]!])
  t.same(single.proof(leaves[0]!), [])
  t.equal(bytesToHex(single.root), bytesToHex(leaves[0]!))
  t.equal(viemKeccak('0x' as Hex).length, 66)
})
