import { HDKey } from '@scure/bip32'
import { mnemonicToSeedSync } from '@scure/bip39'

/** The mnemonic Hardhat and Anvil fund by default; tools and tutorials assume its accounts. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk'

/** Private keys at m/44'/60'/0'/0/i of a mnemonic (no passphrase). */
export function deriveKeys(mnemonic: string, count: number): Uint8Array[] {
  const root = HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonic))
  const keys: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const k = root.derive(`m/44'/60'/0'/0/${i}`).privateKey
    if (!k) throw new Error(`no private key at index ${i}`)
    keys.push(k)
  }
  return keys
}
