import { PovError } from '../common/errors.js'

/** Why an encrypted asset blob or a sealed content key could not be produced or opened. */
export type AssetCipherErrorCode =
  /** The bytes are not in the versioned format (wrong magic, version, or length). */
  | 'ASSET_CIPHER_FORMAT'
  /** Authentication failed: the bytes were altered, or the key is not the one they were made for. */
  | 'ASSET_CIPHER_AUTH'
  /** A key is malformed (content key not 32 bytes, public key not on secp256k1, private key invalid). */
  | 'ASSET_CIPHER_KEY'

export class AssetCipherError extends PovError {
  declare readonly code: AssetCipherErrorCode
  constructor(code: AssetCipherErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
