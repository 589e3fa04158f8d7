import { HDNodeWallet, Mnemonic } from 'ethers'

export const DEV_MNEMONIC = 'test test test test test test test test test test test junk'

/** The dev chain's funded accounts m/44'/60'/0'/0/i (the Hardhat ones). */
export function devWallets(count: number): HDNodeWallet[] {
  const m = Mnemonic.fromPhrase(DEV_MNEMONIC)
  return Array.from({ length: count }, (_, i) => HDNodeWallet.fromMnemonic(m, `m/44'/60'/0'/0/${i}`))
}
