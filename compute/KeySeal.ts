import { gcm } from '@noble/ciphers/aes.js'
import { randomBytes } from '@noble/ciphers/utils.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes } from '../common/bytes.js'
import { CONTENT_KEY_BYTES } from './AssetCipher.js'
import { AssetCipherError } from './AssetCipherError.js'

/**
 * ECIES sealing of a closed asset's content key to a grantee's secp256k1 public key (the key
 * of its account, published with AssetRegistry.setPublicKey): the sealed key goes on chain in
 * `grant` / `fulfilJobGrant`, and only the grantee's private key opens it.
 *
 * Format v1 (94 bytes):
 *   version 0x01 (1) ‖ ephemeral public key, compressed (33) ‖ nonce (12) ‖ AES-256-GCM(content key 32 ‖ tag 16)
 * Key derivation: shared = x-coordinate of ECDH(ephemeral secret, grantee public key) (32);
 *   aesKey = HKDF-SHA256(ikm = shared, salt = ephemeral pub (33) ‖ grantee pub compressed (33),
 *                        info = "povchain/asset-key/v1", 32 bytes).
 * GCM associated data: version ‖ ephemeral public key (so neither can be swapped).
 */
export const KEY_SEAL_VERSION = 1
export const SEALED_KEY_BYTES = 1 + 33 + 12 + CONTENT_KEY_BYTES + 16
const INFO = new TextEncoder().encode('povchain/asset-key/v1')

/** The compressed (33-byte) form of a public key given as 33, 64 (x ‖ y) or 65 bytes. */
export function compressPublicKey(pub: Uint8Array): Uint8Array {
  const bytes = pub.length === 64 ? concatBytes(new Uint8Array([4]), pub) : pub
  try {
    return secp256k1.Point.fromBytes(bytes).toBytes(true)
  } catch (e) {
    throw new AssetCipherError('ASSET_CIPHER_KEY', `not a secp256k1 public key (${pub.length} bytes; 33, 64 or 65 expected)`, { cause: e })
  }
}

function deriveKey(shared: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array): Uint8Array {
  return hkdf(sha256, shared, concatBytes(ephemeral, recipient), INFO, 32)
}

/** Seals `contentKey` to `recipientPublicKey`; `ephemeralSecret` and `nonce` only for reproducible tests. */
export function sealKey(contentKey: Uint8Array, recipientPublicKey: Uint8Array, opts: { ephemeralSecret?: Uint8Array; nonce?: Uint8Array } = {}): Uint8Array {
  if (contentKey.length !== CONTENT_KEY_BYTES) throw new AssetCipherError('ASSET_CIPHER_KEY', `a content key is ${CONTENT_KEY_BYTES} bytes, got ${contentKey.length}`)
  const recipient = compressPublicKey(recipientPublicKey)
  const eph = opts.ephemeralSecret ?? secp256k1.utils.randomSecretKey()
  const ephPub = secp256k1.getPublicKey(eph, true)
  const shared = secp256k1.getSharedSecret(eph, recipient, true).subarray(1)
  const nonce = opts.nonce ?? randomBytes(12)
  const head = concatBytes(new Uint8Array([KEY_SEAL_VERSION]), ephPub)
  return concatBytes(head, nonce, gcm(deriveKey(shared, ephPub, recipient), nonce, head).encrypt(contentKey))
}

/** Opens a sealed content key with the grantee's private key; ASSET_CIPHER_AUTH if it is not theirs or was altered. */
export function openKey(sealed: Uint8Array, privateKey: Uint8Array): Uint8Array {
  if (sealed.length !== SEALED_KEY_BYTES) throw new AssetCipherError('ASSET_CIPHER_FORMAT', `a sealed key (v${KEY_SEAL_VERSION}) is ${SEALED_KEY_BYTES} bytes, got ${sealed.length}`)
  if (sealed[0] !== KEY_SEAL_VERSION) throw new AssetCipherError('ASSET_CIPHER_FORMAT', `unsupported sealed key version ${sealed[0]} (this node reads ${KEY_SEAL_VERSION})`)
  const head = sealed.subarray(0, 34)
  const ephPub = sealed.subarray(1, 34)
  const nonce = sealed.subarray(34, 46)
  if (!secp256k1.utils.isValidSecretKey(privateKey)) throw new AssetCipherError('ASSET_CIPHER_KEY', 'not a secp256k1 private key (32 bytes, 1 … n−1)')
  const recipient = secp256k1.getPublicKey(privateKey, true)
  let shared: Uint8Array
  try {
    shared = secp256k1.getSharedSecret(privateKey, ephPub, true).subarray(1)
  } catch (e) {
    // an altered ephemeral key is usually not a curve point: an authentication failure too
    throw new AssetCipherError('ASSET_CIPHER_AUTH', 'the sealed key does not open: its ephemeral public key is not a curve point (altered)', { cause: e })
  }
  try {
    return gcm(deriveKey(shared, ephPub, recipient), nonce, head).decrypt(sealed.subarray(46))
  } catch (e) {
    throw new AssetCipherError('ASSET_CIPHER_AUTH', 'the sealed key does not open with this private key: it was sealed to someone else, or altered', { cause: e })
  }
}
