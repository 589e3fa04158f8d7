/**
 * Closed-asset cryptography: AES-256-GCM blob encryption (AssetCipher) and ECIES sealing of the
 * content key to a secp256k1 public key (KeySeal). fast-check properties: round trips, any
 * single bit flip fails authentication, a wrong key fails; frozen vectors pin the byte formats.
 */
import t from 'tap'
import fc from 'fast-check'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { ASSET_CIPHER_OVERHEAD, decryptBlob, encryptBlob, isEncryptedBlob, newContentKey } from '../AssetCipher.js'
import { AssetCipherError } from '../AssetCipherError.js'
import { compressPublicKey, openKey, sealKey, SEALED_KEY_BYTES } from '../KeySeal.js'

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const secretKey = key32.filter((k) => secp256k1.utils.isValidSecretKey(k))
const code = (f: () => unknown): string => {
  try {
    f()
    return 'no error'
  } catch (e) {
    return e instanceof AssetCipherError ? e.code : `foreign ${(e as Error).message}`
  }
}
const flip = (b: Uint8Array, bit: number) => {
  const c = b.slice()
  c[Math.floor(bit / 8) % c.length]! ^= 1 << bit % 8
  return c
}

t.test('blob: round trip, size, fresh nonces', async (t) => {
  fc.assert(
    fc.property(key32, fc.uint8Array({ maxLength: 4096 }), (k, p) => {
      const c = encryptBlob(k, p)
      return c.length === p.length + ASSET_CIPHER_OVERHEAD && isEncryptedBlob(c) && bytesToHex(decryptBlob(k, c)) === bytesToHex(p)
    }),
    { numRuns: 300 },
  )
  const k = newContentKey()
  t.equal(k.length, 32)
  t.not(bytesToHex(encryptBlob(k, new Uint8Array(10))), bytesToHex(encryptBlob(k, new Uint8Array(10))), 'two encryptions of the same bytes differ (random nonce)')
  t.equal(decryptBlob(k, encryptBlob(k, new Uint8Array(0))).length, 0, 'empty blob')
})

t.test('blob: any single bit flip fails authentication; a wrong key fails', async (t) => {
  fc.assert(
    fc.property(key32, fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.nat(), (k, p, bit) => {
      const c = encryptBlob(k, p)
      const got = code(() => decryptBlob(k, flip(c, bit % (c.length * 8))))
      return got === 'ASSET_CIPHER_AUTH' || got === 'ASSET_CIPHER_FORMAT' // a flip in the magic or version is a format error
    }),
    { numRuns: 500 },
  )
  fc.assert(
    fc.property(key32, key32, fc.uint8Array({ maxLength: 256 }), (k1, k2, p) => {
      fc.pre(bytesToHex(k1) !== bytesToHex(k2))
      return code(() => decryptBlob(k2, encryptBlob(k1, p))) === 'ASSET_CIPHER_AUTH'
    }),
    { numRuns: 300 },
  )
  const k = newContentKey()
  const c = encryptBlob(k, new Uint8Array([1, 2, 3]))
  t.equal(code(() => decryptBlob(k, flip(c, 0))), 'ASSET_CIPHER_FORMAT', 'the magic is checked')
  t.equal(code(() => decryptBlob(k, flip(c, 4 * 8))), 'ASSET_CIPHER_FORMAT', 'the version is checked')
  t.equal(code(() => decryptBlob(k, c.subarray(0, ASSET_CIPHER_OVERHEAD - 1))), 'ASSET_CIPHER_FORMAT', 'too short')
  t.equal(code(() => decryptBlob(k, c.subarray(0, c.length - 1))), 'ASSET_CIPHER_AUTH', 'truncated tag')
  t.equal(code(() => encryptBlob(new Uint8Array(16), c)), 'ASSET_CIPHER_KEY', 'AES-128 keys are refused')
})

t.test('blob: frozen vector (format v1)', async (t) => {
  const k = hexToBytes('0x' + '11'.repeat(32))
  const c = encryptBlob(k, new TextEncoder().encode('iris'), hexToBytes('0x' + '22'.repeat(12)))
  t.equal(bytesToHex(c.subarray(0, 17)), '0x5056413101' + '22'.repeat(12), 'magic "PVA1", version 1, nonce')
  t.equal(c.length, 4 + 1 + 12 + 4 + 16)
  t.equal(new TextDecoder().decode(decryptBlob(k, c)), 'iris')
})

t.test('sealed key: round trip to any public key form; only the grantee opens it', async (t) => {
  fc.assert(
    fc.property(secretKey, secretKey, key32, fc.constantFrom(33, 64, 65), (sk, other, ck, form) => {
      fc.pre(bytesToHex(sk) !== bytesToHex(other))
      const full = secp256k1.getPublicKey(sk, false)
      const pub = form === 33 ? secp256k1.getPublicKey(sk, true) : form === 64 ? full.subarray(1) : full
      const s = sealKey(ck, pub)
      return s.length === SEALED_KEY_BYTES && bytesToHex(openKey(s, sk)) === bytesToHex(ck) && code(() => openKey(s, other)) === 'ASSET_CIPHER_AUTH'
    }),
    { numRuns: 100 },
  )
  const sk = secp256k1.utils.randomSecretKey()
  const ck = newContentKey()
  const pub = secp256k1.getPublicKey(sk, true)
  t.not(bytesToHex(sealKey(ck, pub)), bytesToHex(sealKey(ck, pub)), 'a fresh ephemeral key each time')
  t.equal(code(() => sealKey(ck, new Uint8Array(33))), 'ASSET_CIPHER_KEY', 'not a curve point')
  t.equal(code(() => sealKey(new Uint8Array(31), pub)), 'ASSET_CIPHER_KEY', 'content key length')
  t.equal(code(() => openKey(sealKey(ck, pub), new Uint8Array(32))), 'ASSET_CIPHER_KEY', 'a zero private key')
  t.equal(code(() => openKey(new Uint8Array(10), sk)), 'ASSET_CIPHER_FORMAT')
  t.equal(bytesToHex(compressPublicKey(secp256k1.getPublicKey(sk, false))), bytesToHex(pub))
})

t.test('sealed key: any single bit flip fails', async (t) => {
  const sk = secp256k1.utils.randomSecretKey()
  const pub = secp256k1.getPublicKey(sk, false)
  fc.assert(
    fc.property(key32, fc.integer({ min: 0, max: SEALED_KEY_BYTES * 8 - 1 }), (ck, bit) => {
      const got = code(() => openKey(flip(sealKey(ck, pub), bit), sk))
      return got === 'ASSET_CIPHER_AUTH' || (bit < 8 && got === 'ASSET_CIPHER_FORMAT')
    }),
    { numRuns: 400 },
  )
  t.pass('every flipped sealed key was refused')
})

t.test('sealed key: frozen vector (format v1)', async (t) => {
  const sk = hexToBytes('0x' + '01'.padStart(64, '0'))
  const eph = hexToBytes('0x' + '02'.padStart(64, '0'))
  const ck = hexToBytes('0x' + '33'.repeat(32))
  const s = sealKey(ck, secp256k1.getPublicKey(sk, true), { ephemeralSecret: eph, nonce: hexToBytes('0x' + '44'.repeat(12)) })
  t.equal(bytesToHex(s.subarray(0, 34)), '0x01' + bytesToHex(secp256k1.getPublicKey(eph, true)).slice(2), 'version, ephemeral key')
  t.equal(bytesToHex(s), VECTOR, 'the bytes of format v1 are frozen')
  t.equal(bytesToHex(openKey(s, sk)), bytesToHex(ck))
})

const VECTOR = '0x0102c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee544444444444444444444444426f2a6e3e1f257d47c67e88d1a0762ac1739bb1b4a1538951a92d8475463a76d5bb3838cd7f898860dab296ac5726bc0'
