// Hardhat 3 config of the bridge end-to-end test: `hardhat node` serves the network named
// "node" — the source chain (the Ethereum chain of the pre-launch ERC-20). Automine, one block
// per transaction; the test mines extra blocks and reorganises with evm_snapshot/evm_revert.
import { defineConfig } from 'hardhat/config'

export default defineConfig({
  networks: {
    node: {
      type: 'edr-simulated',
      chainType: 'l1',
      accounts: { mnemonic: 'test test test test test test test test test test test junk', path: "m/44'/60'/0'/0", count: 20 },
      mining: { auto: true, interval: 0 },
    },
  },
})
