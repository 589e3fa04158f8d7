import { gcm } from '@noble/ciphers/aes.js'
import { randomBytes } from '@noble/ciphers/utils.js'
import { concatBytes } from '../common/bytes.js'
import { AssetCipherError } from './AssetCipherError.js'

/**
 * Encryption of a closed asset's blob (genesis/contracts/AssetRegistry.md, "Closed assets"):
 * AES-256-GCM under a random 32-byte content key. Nodes store and serve the encrypted blob
 * (its keccak is the asset's on-chain content hash, so anyone can check what they fetched);
 * only holders of the content key — sealed to them with KeySeal — can read it.
 *
 * Format v1 (all lengths in bytes):
 *   magic "PVA1" (4) ‖ version 0x01 (1) ‖ nonce (12, random) ‖ AES-256-GCM(ciphertext ‖ tag 16)
 * The 5 header bytes are the GCM associated data, so the header cannot be altered either.
 * A content key encrypts one blob only (a fresh key per asset), so random nonces never repeat.
 */
export const ASSET_CIPHER_MAGIC = new Uint8Array([0x50, 0x56, 0x41, 0x31]) // "PVA1"
export const ASSET_CIPHER_VERSION = 1
export const CONTENT_KEY_BYTES = 32
const NONCE_BYTES = 12
const TAG_BYTES = 16
const HEADER_BYTES = ASSET_CIPHER_MAGIC.length + 1
/** Bytes the format adds to the plaintext. */
export const ASSET_CIPHER_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES

/** A fresh random content key. */
export function newContentKey(): Uint8Array {
  return randomBytes(CONTENT_KEY_BYTES)
}

function header(): Uint8Array {
  return concatBytes(ASSET_CIPHER_MAGIC, new Uint8Array([ASSET_CIPHER_VERSION]))
}

function checkKey(key: Uint8Array): void {
  if (key.length !== CONTENT_KEY_BYTES) throw new AssetCipherError('ASSET_CIPHER_KEY', `a content key is ${CONTENT_KEY_BYTES} bytes, got ${key.length}`)
}

/** Encrypts `plaintext` under `key`; `nonce` only for reproducible tests (never reuse one). */
export function encryptBlob(key: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_BYTES)): Uint8Array {
  checkKey(key)
  if (nonce.length !== NONCE_BYTES) throw new AssetCipherError('ASSET_CIPHER_KEY', `the nonce is ${NONCE_BYTES} bytes, got ${nonce.length}`)
  const h = header()
  return concatBytes(h, nonce, gcm(key, nonce, h).encrypt(plaintext))
}

/** Whether `bytes` start like an encrypted asset blob (format v1). */
export function isEncryptedBlob(bytes: Uint8Array): boolean {
  return bytes.length >= ASSET_CIPHER_OVERHEAD && ASSET_CIPHER_MAGIC.every((b, i) => bytes[i] === b)
}

/** Decrypts and authenticates; throws ASSET_CIPHER_AUTH for altered bytes or a wrong key. */
export function decryptBlob(key: Uint8Array, bytes: Uint8Array): Uint8Array {
  checkKey(key)
  if (!isEncryptedBlob(bytes)) throw new AssetCipherError('ASSET_CIPHER_FORMAT', `not an encrypted asset blob (format "PVA1" v${ASSET_CIPHER_VERSION}, at least ${ASSET_CIPHER_OVERHEAD} bytes)`)
  if (bytes[ASSET_CIPHER_MAGIC.length] !== ASSET_CIPHER_VERSION) throw new AssetCipherError('ASSET_CIPHER_FORMAT', `unsupported asset cipher version ${bytes[ASSET_CIPHER_MAGIC.length]} (this node reads ${ASSET_CIPHER_VERSION})`)
  const h = bytes.subarray(0, HEADER_BYTES)
  const nonce = bytes.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES)
  try {
    return gcm(key, nonce, h).decrypt(bytes.subarray(HEADER_BYTES + NONCE_BYTES))
  } catch (e) {
    throw new AssetCipherError('ASSET_CIPHER_AUTH', 'the encrypted blob does not authenticate: it was altered, or this is not its content key', { cause: e })
  }
}
