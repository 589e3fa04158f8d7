import t from 'tap'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bigintToFixedBytes, bytesToBigint, concatBytes, equalBytes } from '../../common/bytes.js'
import { signAttestation, type UnsignedAttestation } from '../Attestation.js'
import {
  canonicalAttestationHash,
  canonicalHeaderHash,
  checkDoubleProduction,
  checkDoubleVote,
  checkSurroundVote,
  EVIDENCE_KIND,
  lowSSignature,
  pairEvidenceId,
} from '../Equivocation.js'
import { BlockHeader } from '../Header.js'
import { keccak256 } from '../keccak.js'
import { recoverSealer, sealHeader } from '../Seal.js'
import { privateKeyToAddress } from '../Signing.js'

const K1 = new Uint8Array(32).fill(1)
const A1 = privateKeyToAddress(K1)
const h32 = (n: number) => new Uint8Array(32).fill(n)
const N = secp256k1.Point.CURVE().n

/** The high-s twin of a low-s signature: recovers the same signer, different bytes. */
function malleate(sig: Uint8Array): Uint8Array {
  const s = bytesToBigint(sig.subarray(32, 64))
  return concatBytes(sig.subarray(0, 32), bigintToFixedBytes(N - s, 32), Uint8Array.of(sig[64]! ^ 1))
}

function header(slot: bigint, extra: number): BlockHeader {
  return new BlockHeader({
    parentHash: h32(9), coinbase: A1, stateRoot: h32(0), transactionsRoot: h32(0), receiptsRoot: h32(0),
    logsBloom: new Uint8Array(256), number: 5n, gasLimit: 30_000_000n, gasUsed: 0n, timestamp: 1000n + slot,
    vanity: Uint8Array.of(extra), mixHash: h32(0), baseFeePerGas: 7n, slot, producer: A1, jobId: h32(1), sessionId: h32(2),
    workloadId: h32(3), vrfOutput: h32(4), vrfProof: new Uint8Array(0), attestations: [], seal: new Uint8Array(0),
  })
}

t.test('a re-signed (high-s) copy of an honest header is not double production', async (t) => {
  const a = sealHeader(header(7n, 0), 31337n, K1)
  const twin = a.with({ seal: malleate(a.seal) })
  t.throws(() => recoverSealer(twin, 31337n), { code: 'CHAIN_BAD_SIGNATURE' }, 'a high-s seal is not valid (EIP-2 rule in Seal.ts)')
  t.notOk(equalBytes(twin.hash(), a.hash()), 'it would give the block another hash')
  const r = checkDoubleProduction(a, twin, 31337n)
  t.notOk(r.ok, 'the producer signed one content only')
  t.same(canonicalHeaderHash(twin), a.hash(), 'the canonical hash undoes the malleation')
  t.equal(lowSSignature(a.seal), a.seal, 'a low-s seal is already canonical')
})

t.test('evidence ids: kind-tagged and order-free', async (t) => {
  const a = sealHeader(header(7n, 0), 31337n, K1)
  const b = sealHeader(header(7n, 1), 31337n, K1)
  const r1 = checkDoubleProduction(a, b, 31337n)
  const r2 = checkDoubleProduction(b, a, 31337n)
  if (!r1.ok || !r2.ok) return t.fail('both orders prove the offence')
  t.same(r1.evidenceId, r2.evidenceId, 'the same offence has one id')
  t.equal(r1.height, 7n, 'double production is at its slot')
  const [lo, hi] = Buffer.compare(a.hash(), b.hash()) < 0 ? [a.hash(), b.hash()] : [b.hash(), a.hash()]
  t.same(r1.evidenceId, keccak256(concatBytes(Uint8Array.of(1), lo, hi)), 'keccak256(u8 kind ‖ min hash ‖ max hash)')

  const vote = (o: Partial<UnsignedAttestation>) => signAttestation({ sourceHash: h32(0), sourceHeight: 1n, targetHash: h32(1), targetHeight: 9n, validator: A1, ...o }, 5n, K1)
  const v1 = vote({})
  const v2 = vote({ targetHash: h32(2) })
  const dv = checkDoubleVote(v1, v2, 5n)
  const dvm = checkDoubleVote(v2, v1, 5n)
  if (!dv.ok || !dvm.ok) return t.fail('double vote proven')
  t.same(dv.evidenceId, dvm.evidenceId)
  t.same(dv.evidenceId, pairEvidenceId(EVIDENCE_KIND.doubleVote, canonicalAttestationHash(v1), canonicalAttestationHash(v2)))
  t.equal(dv.height, 9n)
  const inner = vote({ sourceHeight: 3n, targetHeight: 5n })
  const sv = checkSurroundVote(inner, v1, 5n)
  if (!sv.ok) return t.fail('surround proven')
  t.equal(sv.height, 9n, 'a surround is at the outer target')
  t.notSame(sv.evidenceId, pairEvidenceId(EVIDENCE_KIND.doubleVote, canonicalAttestationHash(inner), canonicalAttestationHash(v1)), 'the kind is part of the id')
})
