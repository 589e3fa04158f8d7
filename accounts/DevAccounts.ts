import { privateKeyToAddress } from '../chain/Signing.js'
import { PovError } from '../common/errors.js'
import { DEV_HD_PATH, DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { AccountsError } from './errors.js'

export { DEV_HD_PATH, DEV_MNEMONIC }
export const DEV_ACCOUNT_COUNT = 20

export interface DerivedAccount {
  address: Uint8Array
  privateKey: Uint8Array
}

/** Accounts 0..count-1 of a mnemonic at `${basePath}/i` (the genesis presets derive the same keys). */
export function deriveAccounts(mnemonic: string, count: number, basePath: string = DEV_HD_PATH): DerivedAccount[] {
  let keys: Uint8Array[]
  try {
    keys = deriveKeys(mnemonic, count, basePath)
  } catch (e) {
    throw new AccountsError('BAD_KEY', (e as PovError).message, { cause: e })
  }
  return keys.map((privateKey) => ({ address: privateKeyToAddress(privateKey), privateKey }))
}

let cache: readonly DerivedAccount[] | undefined

/**
 * The twenty dev accounts (first 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266), as Hardhat has
 * them. Derived once (PBKDF2 + 20 derivations) and cached; callers get copies.
 */
export function devAccounts(count: number = DEV_ACCOUNT_COUNT): DerivedAccount[] {
  if (!cache || cache.length < count) cache = Object.freeze(deriveAccounts(DEV_MNEMONIC, Math.max(count, DEV_ACCOUNT_COUNT)))
  return cache.slice(0, count).map((a) => ({ address: a.address.slice(), privateKey: a.privateKey.slice() }))
}
