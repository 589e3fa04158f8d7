import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { p256 } from '@noble/curves/nist.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { ECVRF_PROOF_BYTES, ECVRF_SUITE, ecvrfNativeProver, ecvrfNoble, ecvrfProofToHash, ecvrfProve, ecvrfPublicKey, ecvrfVerify, makeEcvrf } from '../Ecvrf.js'

const utf8 = (s: string) => new TextEncoder().encode(s)

t.test('the construction reproduces RFC 9381 Appendix B.1 (ECVRF-P256-SHA256-TAI, example 10)', async (t) => {
  const v = makeEcvrf(p256.Point, 0x01)
  const sk = hexToBytes('0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721')
  const pk = v.publicKey(sk)
  t.equal(bytesToHex(pk), '0x0360fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6')
  const pi = v.prove(sk, utf8('sample'))
  t.equal(bytesToHex(pi), '0x035b5c726e8c0e2c488a107c600578ee75cb702343c153cb1eb8dec77f4b5071b4a53f0a46f018bc2c56e58d383f2305e0975972c26feea0eb122fe7893c15af376b33edf7de17c6ea056d4d82de6bc02f')
  const beta = '0xa3ad7b0ef73d8fc6655053ea22f9bede8c743f08bbed3d38821f0e16474b505e'
  t.equal(bytesToHex(v.verify(pk, pi, utf8('sample'))!), beta)
  t.equal(bytesToHex(v.proofToHash(pi)), beta)
})

t.test('our frozen secp256k1 vectors', async (t) => {
  const file = JSON.parse(readFileSync(new URL('./ecvrf-vectors.json', import.meta.url), 'utf8')) as {
    suite: string
    vectors: { sk: string; pk: string; alpha: string; pi: string; beta: string }[]
  }
  t.equal(file.suite, ECVRF_SUITE)
  t.ok(file.vectors.length >= 5)
  for (const v of file.vectors) {
    const sk = hexToBytes(v.sk)
    const alpha = hexToBytes(v.alpha)
    t.equal(bytesToHex(ecvrfPublicKey(sk)), v.pk)
    t.equal(bytesToHex(ecvrfProve(sk, alpha)), v.pi, `pi for ${v.sk.slice(0, 10)}…/${v.alpha.slice(0, 12)}`)
    t.equal(bytesToHex(ecvrfVerify(hexToBytes(v.pk), hexToBytes(v.pi), alpha)!), v.beta)
    t.equal(bytesToHex(ecvrfProofToHash(hexToBytes(v.pi))), v.beta)
  }
})

const N = secp256k1.Point.Fn.ORDER
const arbKey = fc.bigInt({ min: 1n, max: N - 1n }).map((x) => hexToBytes('0x' + x.toString(16).padStart(64, '0')))
const arbAlpha = fc.uint8Array({ maxLength: 64 })

t.test('the libsecp256k1 prover makes the noble prover\'s bytes', async (t) => {
  t.ok(ecvrfNativeProver, 'the native binding loaded (the node proves with it)')
  // Edge scalars too: x = 1, x = q − 1 (the nonce k is derived, so it varies freely).
  const arbEdgeKey = fc.oneof(arbKey, fc.constantFrom(1n, 2n, N - 1n).map((x) => hexToBytes('0x' + x.toString(16).padStart(64, '0'))))
  fc.assert(
    fc.property(arbEdgeKey, arbAlpha, (sk, alpha) => {
      const a = bytesToHex(ecvrfProve(sk, alpha))
      const b = bytesToHex(ecvrfNoble.prove(sk, alpha))
      if (a !== b) throw new Error(`native ${a} ≠ noble ${b}`)
      return true
    }),
    { numRuns: 100 },
  )
  t.pass('100 random keys and inputs: identical proofs')
  // Invalid keys are rejected the same way before any multiplication.
  for (const bad of [new Uint8Array(32), hexToBytes('0x' + N.toString(16).padStart(64, '0')), new Uint8Array(31).fill(1)])
    t.throws(() => ecvrfProve(bad, new Uint8Array(1)), /ECVRF secret key/)
})

t.test('properties', async (t) => {
  fc.assert(
    fc.property(arbKey, arbAlpha, (sk, alpha) => {
      const pk = ecvrfPublicKey(sk)
      const pi = ecvrfProve(sk, alpha)
      if (pi.length !== ECVRF_PROOF_BYTES) return false
      const beta = ecvrfVerify(pk, pi, alpha)
      // Deterministic: proving again gives the same bytes; the output is the proof's hash.
      return beta !== undefined && bytesToHex(ecvrfProve(sk, alpha)) === bytesToHex(pi) && bytesToHex(ecvrfProofToHash(pi)) === bytesToHex(beta)
    }),
    { numRuns: 25 },
  )
  t.pass('verify(prove(x)) holds and is deterministic')

  fc.assert(
    fc.property(arbKey, arbKey, arbAlpha, arbAlpha, (sk, sk2, alpha, alpha2) => {
      fc.pre(bytesToHex(sk) !== bytesToHex(sk2) && bytesToHex(alpha) !== bytesToHex(alpha2))
      const pi = ecvrfProve(sk, alpha)
      return ecvrfVerify(ecvrfPublicKey(sk), pi, alpha2) === undefined && ecvrfVerify(ecvrfPublicKey(sk2), pi, alpha) === undefined
    }),
    { numRuns: 15 },
  )
  t.pass('a proof fails for another input or another key')

  fc.assert(
    fc.property(arbKey, arbAlpha, fc.nat({ max: ECVRF_PROOF_BYTES - 1 }), fc.integer({ min: 1, max: 255 }), (sk, alpha, i, x) => {
      const pi = ecvrfProve(sk, alpha)
      const bad = pi.slice()
      bad[i]! ^= x
      return ecvrfVerify(ecvrfPublicKey(sk), bad, alpha) === undefined
    }),
    { numRuns: 30 },
  )
  t.pass('any single tampered byte fails')

  fc.assert(
    fc.property(arbKey, arbAlpha, arbAlpha, (sk, a, b) => {
      fc.pre(bytesToHex(a) !== bytesToHex(b))
      return bytesToHex(ecvrfProofToHash(ecvrfProve(sk, a))) !== bytesToHex(ecvrfProofToHash(ecvrfProve(sk, b)))
    }),
    { numRuns: 10 },
  )
  t.pass('distinct inputs give distinct outputs')
})

t.test('uniqueness: a second valid-looking proof with another Gamma does not verify', async (t) => {
  const sk = hexToBytes('0x' + '11'.repeat(32))
  const alpha = utf8('slot 1')
  const pi = ecvrfProve(sk, alpha)
  // Replace Gamma by another curve point (keeps the encoding valid): the challenge no longer matches.
  const other = secp256k1.Point.fromBytes(pi.subarray(0, 33)).add(secp256k1.Point.BASE).toBytes(true)
  const forged = pi.slice()
  forged.set(other, 0)
  t.equal(ecvrfVerify(ecvrfPublicKey(sk), forged, alpha), undefined)
})

t.test('malformed inputs are rejected, not thrown', async (t) => {
  const sk = hexToBytes('0x' + '22'.repeat(32))
  const pk = ecvrfPublicKey(sk)
  const pi = ecvrfProve(sk, utf8('x'))
  t.equal(ecvrfVerify(pk, pi.subarray(0, 80), utf8('x')), undefined, 'short proof')
  t.equal(ecvrfVerify(pk.subarray(0, 32), pi, utf8('x')), undefined, 'short key')
  t.equal(ecvrfVerify(secp256k1.getPublicKey(sk, false), pi, utf8('x')), undefined, 'uncompressed key is not PK_string')
  const sMax = pi.slice()
  sMax.fill(0xff, 49)
  t.equal(ecvrfVerify(pk, sMax, utf8('x')), undefined, 's ≥ q')
  t.throws(() => ecvrfProve(new Uint8Array(32), utf8('x')), { code: 'CONSENSUS_VRF_KEY' })
  t.throws(() => ecvrfProofToHash(new Uint8Array(81)), { code: 'CONSENSUS_VRF_PROOF' })
})
