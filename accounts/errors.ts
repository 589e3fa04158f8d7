import { PovError } from '../common/errors.js'

/**
 * Raised by keystores, the account manager and the account CLI. Messages that wallets see
 * follow Geth's wording ("unknown account", "could not decrypt key with given password").
 * Never put key material or passwords into one.
 */
export class AccountsError extends PovError {
  constructor(code: AccountsErrorCode, message: string, options?: { cause?: unknown }) {
    super(`ACCOUNTS_${code}`, message, options)
  }
}

export type AccountsErrorCode =
  | 'UNKNOWN_ACCOUNT'
  | 'DECRYPT'
  | 'BAD_KEYSTORE'
  | 'BAD_KEY'
  | 'ACCOUNT_EXISTS'
  | 'ADDRESS_MISMATCH'
  | 'INVALID_TYPED_DATA'
  | 'INVALID_TX_REQUEST'
  | 'PASSWORD'

/** Geth's message for a missing or locked signer. */
export const UNKNOWN_ACCOUNT = 'unknown account'
/** Geth's message for a wrong keystore password (MAC mismatch). */
export const DECRYPT_FAILED = 'could not decrypt key with given password'
