import { HDKey } from '@scure/bip32'
import { mnemonicToSeedSync, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { ChainError } from './errors.js'

/** Hardhat's and Foundry's default mnemonic; its keys are public knowledge — dev chains only. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk'
/** BIP-44 Ethereum path; account i is `${DEV_HD_PATH}/${i}`. */
export const DEV_HD_PATH = "m/44'/60'/0'/0"

/** Private keys 0..count-1 of a mnemonic (no passphrase) at `${basePath}/i`. */
export function deriveKeys(mnemonic: string, count: number, basePath: string = DEV_HD_PATH): Uint8Array[] {
  if (!validateMnemonic(mnemonic, wordlist)) throw new ChainError('BAD_MNEMONIC', 'invalid BIP-39 mnemonic')
  const root = HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonic)).derive(basePath)
  const keys: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const k = root.deriveChild(i).privateKey
    if (!k) throw new ChainError('BAD_MNEMONIC', `no private key at ${basePath}/${i}`)
    keys.push(k)
  }
  return keys
}
