import { HDKey } from '@scure/bip32'
import { mnemonicToSeedSync, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { privateKeyToAddress } from '../../chain/Seal.js'
import { AccountsError } from './errors.js'

/** Hardhat's and Foundry's default mnemonic; its keys are public knowledge — dev chains only. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk'
/** BIP-44 Ethereum path; account i is `${DEV_HD_PATH}/${i}`. */
export const DEV_HD_PATH = "m/44'/60'/0'/0"
export const DEV_ACCOUNT_COUNT = 20

export interface DerivedAccount {
  address: Uint8Array
  privateKey: Uint8Array
}

/** Accounts 0..count-1 of a mnemonic at `${basePath}/i`. */
export function deriveAccounts(mnemonic: string, count: number, basePath: string = DEV_HD_PATH): DerivedAccount[] {
  if (!validateMnemonic(mnemonic, wordlist)) throw new AccountsError('BAD_KEY', 'invalid BIP-39 mnemonic')
  const root = HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonic)).derive(basePath)
  const out: DerivedAccount[] = []
  for (let i = 0; i < count; i++) {
    const privateKey = root.deriveChild(i).privateKey
    if (!privateKey) throw new AccountsError('BAD_KEY', `no private key at ${basePath}/${i}`)
    out.push({ address: privateKeyToAddress(privateKey), privateKey })
  }
  return out
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
