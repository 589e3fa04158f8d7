import t from 'tap'
import { fieldOf } from './helpers.js'
import fc from 'fast-check'
import { bytesToHex } from '../../common/bytes.js'
import type { Hash32 } from '../ContentHash.js'
import { merkleProof, merkleRoot, verifyMerkleProof } from '../verify/CheckpointMerkle.js'
import { buildCommitment, parseCommitment } from '../verify/SessionCommitment.js'

const arbHash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b) as Hash32)

t.test('property: every leaf has a valid proof; wrong leaf, index or proof fails', async (t) => {
  fc.assert(
    fc.property(fc.array(arbHash, { minLength: 1, maxLength: 70 }), fc.nat(), arbHash, (leaves, r, other) => {
      const root = merkleRoot(leaves)
      const i = r % leaves.length
      const proof = merkleProof(leaves, i)
      if (!verifyMerkleProof(root, leaves[i]!, i, leaves.length, proof)) return false
      if (other !== leaves[i] && verifyMerkleProof(root, other, i, leaves.length, proof)) return false
      if (leaves.length > 1 && leaves[(i + 1) % leaves.length] !== leaves[i] && verifyMerkleProof(root, leaves[i]!, (i + 1) % leaves.length, leaves.length, proof)) return false
      if (proof.length && verifyMerkleProof(root, leaves[i]!, i, leaves.length, [...proof.slice(0, -1), other])) return false
      // (The leaf count is bound by the commitment itself, not by the proof shape.)
      return !verifyMerkleProof(root, leaves[i]!, i, leaves.length, [...proof, other])
    }),
    { numRuns: 300 },
  )
  t.pass()
})

t.test('a root commits to order and count', async (t) => {
  const a = '0x' + '11'.repeat(32)
  const b = '0x' + '22'.repeat(32)
  t.not(merkleRoot([a, b] as Hash32[]), merkleRoot([b, a] as Hash32[]))
  t.not(merkleRoot([a] as Hash32[]), merkleRoot([a, a] as Hash32[]))
  t.notOk(verifyMerkleProof(merkleRoot([a] as Hash32[]), a as Hash32, -1, 1, []))
  t.notOk(verifyMerkleProof(merkleRoot([a] as Hash32[]), a as Hash32, 0, 1, ['0xzz' as Hash32]))
})

t.test('commitment binds every field and parses back', async (t) => {
  const h = (n: number) => ('0x' + n.toString(16).padStart(64, '0')) as Hash32
  const c = buildCommitment({ specHash: h(1), checkpointInterval: 10, totalSteps: 100, checkpoints: [h(2), h(3)], resultHash: h(4), metricsHash: h(5) })
  t.same(parseCommitment(JSON.parse(JSON.stringify(c))), c)
  for (const f of ['specHash', 'checkpointRoot', 'resultHash', 'metricsHash'] as const) {
    t.equal(fieldOf(() => parseCommitment({ ...c, [f]: h(99) })), 'commitment', `changing ${f} breaks the commitment`)
  }
  t.equal(fieldOf(() => parseCommitment({ ...c, totalSteps: 101 })), 'commitment')
  t.equal(fieldOf(() => parseCommitment({ ...c, resultHash: 'x' })), 'resultHash')
  t.equal(fieldOf(() => parseCommitment(null)), '$')
})
