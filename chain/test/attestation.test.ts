import t from 'tap'
import fc from 'fast-check'
import { encode } from '@ethereumjs/rlp'
import { concatBytes, equalBytes, u64ToBytes } from '../../common/bytes.js'
import {
  attestationDigest,
  attestationHash,
  attestationSigner,
  decodeAttestation,
  encodeAttestation,
  signAttestation,
  verifyAttestation,
  type Attestation,
} from '../Attestation.js'
import { ChainError } from '../errors.js'
import { keccak256 } from '../keccak.js'
import { privateKeyToAddress } from '../Signing.js'

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const attestationArb: fc.Arbitrary<Attestation> = fc.record({
  sourceHash: bytes(32),
  sourceHeight: u64,
  targetHash: bytes(32),
  targetHeight: u64,
  validator: bytes(20),
  signature: bytes(65),
})
// 0xffff… is above the curve order, 0xfefe… is below it.
const keyArb = fc.integer({ min: 1, max: 254 }).map((n) => new Uint8Array(32).fill(n))
const same = (a: Attestation, b: Attestation) =>
  equalBytes(a.sourceHash, b.sourceHash) &&
  a.sourceHeight === b.sourceHeight &&
  equalBytes(a.targetHash, b.targetHash) &&
  a.targetHeight === b.targetHeight &&
  equalBytes(a.validator, b.validator) &&
  equalBytes(a.signature, b.signature)

t.test('encoding round-trips and is canonical', async () => {
  fc.assert(
    fc.property(attestationArb, (a) => {
      const enc = encodeAttestation(a)
      const d = decodeAttestation(enc)
      return same(a, d) && equalBytes(encodeAttestation(d), enc) && equalBytes(attestationHash(d), keccak256(enc))
    }),
    { numRuns: 300 },
  )
})

t.test('the digest is the one consensus has always signed', async (t) => {
  const a = { sourceHash: new Uint8Array(32).fill(1), sourceHeight: 4n, targetHash: new Uint8Array(32).fill(2), targetHeight: 5n }
  const expected = keccak256(
    concatBytes(new TextEncoder().encode('povchain/vote'), u64ToBytes(7n), a.sourceHash, u64ToBytes(4n), a.targetHash, u64ToBytes(5n)),
  )
  t.same(attestationDigest(a, 7n), expected)
  t.notSame(attestationDigest(a, 8n), expected, 'the chain id is signed')
  t.throws(() => attestationDigest({ ...a, targetHeight: 1n << 64n }, 7n), ChainError)
})

t.test('signed votes verify; a change to any single byte of the encoding never verifies as the same validator', async () => {
  fc.assert(
    fc.property(
      keyArb,
      attestationArb,
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      fc.bigInt({ min: 1n, max: 1000n }),
      (key, base, pos, xor, chainId) => {
        const signed = signAttestation({ ...base, validator: privateKeyToAddress(key) }, chainId, key)
        if (!verifyAttestation(signed, chainId)) return false
        if (!equalBytes(attestationSigner(signed, chainId), signed.validator)) return false
        if (verifyAttestation(signed, chainId + 1n)) return false
        const enc = encodeAttestation(signed)
        const mutated = enc.slice()
        const i = pos % enc.length
        mutated[i] = mutated[i]! ^ xor
        let d: Attestation
        try {
          d = decodeAttestation(mutated)
        } catch (e) {
          return e instanceof ChainError // the mutation broke the structure: rejected, typed
        }
        return !verifyAttestation(d, chainId)
      },
    ),
    { numRuns: 300 },
  )
})

t.test('strict decoding', async (t) => {
  const a = fc.sample(attestationArb, { numRuns: 1, seed: 3 })[0]!
  const fields = (over: Partial<Record<number, unknown>>) =>
    [a.sourceHash, u64ToBytes(1n).subarray(7), a.targetHash, Uint8Array.of(2), a.validator, a.signature].map((f, i) => (i in over ? over[i] : f))
  t.ok(decodeAttestation(encode(fields({}) as Uint8Array[])), 'well formed')
  const bad: [string, unknown[]][] = [
    ['a leading zero in a height', fields({ 1: Uint8Array.of(0, 1) })],
    ['a height wider than 64 bits', fields({ 3: new Uint8Array(9).fill(1) })],
    ['a 31-byte source hash', fields({ 0: new Uint8Array(31) })],
    ['a 19-byte validator', fields({ 4: new Uint8Array(19) })],
    ['a 64-byte signature', fields({ 5: new Uint8Array(64) })],
    ['a list where a hash should be', fields({ 2: [] })],
    ['five fields', fields({}).slice(0, 5)],
  ]
  for (const [what, f] of bad) t.throws(() => decodeAttestation(encode(f as Uint8Array[])), ChainError, what)
  t.throws(() => decodeAttestation(concatBytes(encodeAttestation(a), Uint8Array.of(0))), ChainError, 'trailing bytes')
  t.throws(() => decodeAttestation(new Uint8Array(0)), ChainError, 'empty input')
  t.throws(() => encodeAttestation({ ...a, validator: new Uint8Array(21) }), ChainError, 'a malformed vote does not encode')
  t.throws(() => attestationSigner({ ...a, signature: new Uint8Array(65).fill(7) }, 1n), ChainError, 'a malformed signature throws')
  t.equal(verifyAttestation({ ...a, signature: new Uint8Array(65).fill(7) }, 1n), false, 'verify never throws')
})
