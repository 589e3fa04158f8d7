import { bytesToHex } from '../common/bytes.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import type { GenesisFile } from './GenesisConfig.js'
import { MULTICALL3_RUNTIME } from './multicall3.js'
import { devWorkMarketConfig, WORK_MARKET_ADDRESS, workMarketGenesisEntry } from './WorkMarketGenesis.js'
import { ASSET_REGISTRY_ADDRESS, assetRegistryGenesisEntry, DEV_ASSET_REWARD_FUND, devAssetRegistryConfig } from './AssetRegistryGenesis.js'
import { devValidatorSetConfig, povGenesisValidators, VALIDATOR_SET_ADDRESS, validatorSetGenesisEntry } from './ValidatorSetGenesis.js'

/** Arachnid's deterministic-deployment proxy, the CREATE2 factory Foundry scripts expect. */
export const CREATE2_DEPLOYER_ADDRESS = '0x4e59b44847b379578588920cA78FbF26c0B4956C'
export const CREATE2_DEPLOYER_RUNTIME =
  '0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3'
export const MULTICALL3_ADDRESS = '0xcA11bde05977b3631167028862bE2a173976CA11'

export const DEV_CHAIN_ID = 31337
export const DEV_ACCOUNT_COUNT = 20
const ETHER = 10n ** 18n

/** The dev producer's (account #0) genesis bond and weight, and the validators' reward fund. */
export const DEV_VALIDATOR_BOND = 10n * ETHER
export const DEV_VALIDATOR_WEIGHT = 100n * ETHER
export const DEV_VALIDATOR_REWARD_FUND = 1000n * ETHER

/** Dev account #19 issues the dev market's control tasks (it funds the protocol fund itself). */
export const DEV_CONTROL_ISSUER_INDEX = 19

/**
 * The `--dev` chain: chain id 31337, the twenty accounts of the Hardhat mnemonic with 10000
 * coins each, and the CREATE2 deployer and Multicall3 predeployed, so that wallets and
 * developer tools configured for a local Hardhat or Anvil chain work against povchain as is;
 * the WorkMarket system contract at WORK_MARKET_ADDRESS (empty fund) and the AssetRegistry at
 * ASSET_REGISTRY_ADDRESS with a reward fund of DEV_ASSET_REWARD_FUND; the ValidatorSet at
 * VALIDATOR_SET_ADDRESS with account #0 as the single genesis validator (bond DEV_VALIDATOR_BOND
 * minted in the contract, weight DEV_VALIDATOR_WEIGHT, an accepted genesis receipt in the
 * WorkMarket) and a reward fund of DEV_VALIDATOR_REWARD_FUND. Supply: 200,000 in the accounts
 * + 1,000 (assets fund) + 10 (bond) + 1,000 (validator fund) = 202,010 coins.
 */
export function devGenesis(): GenesisFile {
  const alloc: GenesisFile['alloc'] = {}
  const keys = deriveKeys(DEV_MNEMONIC, DEV_ACCOUNT_COUNT)
  for (const key of keys) alloc[bytesToHex(privateKeyToAddress(key))] = { balance: `0x${(10_000n * ETHER).toString(16)}` }
  const producer = bytesToHex(privateKeyToAddress(keys[0]!))
  const issuer = bytesToHex(privateKeyToAddress(keys[DEV_CONTROL_ISSUER_INDEX]!)) as `0x${string}`
  const pov = povGenesisValidators([{ address: producer as `0x${string}`, bond: DEV_VALIDATOR_BOND, weight: DEV_VALIDATOR_WEIGHT }])
  alloc[CREATE2_DEPLOYER_ADDRESS] = { code: CREATE2_DEPLOYER_RUNTIME, nonce: 1 }
  alloc[MULTICALL3_ADDRESS] = { code: MULTICALL3_RUNTIME, nonce: 1 }
  return {
    config: {
      chainId: DEV_CHAIN_ID,
      slotSeconds: 1,
      epochLength: 32,
      producers: [producer],
      systemContracts: {
        WorkMarket: workMarketGenesisEntry(devWorkMarketConfig(issuer), 0n, pov.receipts, WORK_MARKET_ADDRESS),
        AssetRegistry: assetRegistryGenesisEntry(devAssetRegistryConfig(), 32, DEV_ASSET_REWARD_FUND, ASSET_REGISTRY_ADDRESS),
        ValidatorSet: validatorSetGenesisEntry(devValidatorSetConfig(), pov.validators, DEV_VALIDATOR_REWARD_FUND, VALIDATOR_SET_ADDRESS),
      },
    },
    timestamp: 0,
    gasLimit: 60_000_000,
    baseFeePerGas: 1_000_000_000,
    extraData: '0x',
    alloc,
  }
}

export const PRESETS: Record<string, () => GenesisFile> = { dev: devGenesis }
