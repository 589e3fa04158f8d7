import type { GenesisFile } from './GenesisConfig.js'
import { ASSET_REGISTRY_ADDRESS, assetRegistryGenesisEntry, DEV_ASSET_REWARD_FUND, devAssetRegistryConfig } from './AssetRegistryGenesis.js'
import { CREATE2_DEPLOYER_ADDRESS, CREATE2_DEPLOYER_RUNTIME, DEV_VALIDATOR_BOND, DEV_VALIDATOR_REWARD_FUND, DEV_VALIDATOR_WEIGHT, MULTICALL3_ADDRESS } from './presets.js'
import { MULTICALL3_RUNTIME } from './multicall3.js'
import { devValidatorSetConfig, povGenesisValidators, VALIDATOR_SET_ADDRESS, validatorSetGenesisEntry } from './ValidatorSetGenesis.js'
import { devWorkMarketConfig, WORK_MARKET_ADDRESS, workMarketGenesisEntry } from './WorkMarketGenesis.js'

const ETHER = 10n ** 18n

export interface TestnetGenesisOptions {
  chainId: number
  /** The genesis validators' addresses (their keys stay with their operators). */
  validators: `0x${string}`[]
  /** The faucet's address and what it starts with. */
  faucet: { address: `0x${string}`; balance: bigint }
  /** The work market's control issuer (plants hidden traps and control tasks). */
  issuer: { address: `0x${string}`; balance: bigint }
  /** Coins each validator key holds for its own transactions (bonds, evidence). */
  validatorBalance: bigint
  slotSeconds: number
  epochLength: number
  /** Unix seconds of slot 0. */
  timestamp: number
}

/** Coins a testnet kit gives its faucet, its control issuer and each validator by default. */
export const TESTNET_FAUCET_BALANCE = 1_000_000n * ETHER
export const TESTNET_ISSUER_BALANCE = 1_000n * ETHER
export const TESTNET_VALIDATOR_BALANCE = 100n * ETHER

/**
 * The genesis of a public test network (`povchain network new`). Unlike the dev chain it funds
 * no account of a published mnemonic — anyone holds those keys — only keys the kit generated:
 * the validators, the faucet that hands out test coins, the control issuer. The system
 * contracts, their parameters and the predeployed CREATE2 factory and Multicall3 are those of
 * the dev chain, so tools configured for one work on the other.
 */
export function testnetGenesis(o: TestnetGenesisOptions): GenesisFile {
  const alloc: GenesisFile['alloc'] = {}
  const hex = (n: bigint) => `0x${n.toString(16)}`
  for (const v of o.validators) alloc[v.toLowerCase()] = { balance: hex(o.validatorBalance) }
  alloc[o.faucet.address.toLowerCase()] = { balance: hex(o.faucet.balance) }
  alloc[o.issuer.address.toLowerCase()] = { balance: hex(o.issuer.balance) }
  alloc[CREATE2_DEPLOYER_ADDRESS] = { code: CREATE2_DEPLOYER_RUNTIME, nonce: 1 }
  alloc[MULTICALL3_ADDRESS] = { code: MULTICALL3_RUNTIME, nonce: 1 }
  const pov = povGenesisValidators(o.validators.map((address) => ({ address, bond: DEV_VALIDATOR_BOND, weight: DEV_VALIDATOR_WEIGHT })))
  return {
    config: {
      chainId: o.chainId,
      slotSeconds: o.slotSeconds,
      epochLength: o.epochLength,
      producers: o.validators,
      systemContracts: {
        WorkMarket: workMarketGenesisEntry(devWorkMarketConfig(o.issuer.address), 0n, pov.receipts, WORK_MARKET_ADDRESS),
        AssetRegistry: assetRegistryGenesisEntry(devAssetRegistryConfig(), 32, DEV_ASSET_REWARD_FUND, ASSET_REGISTRY_ADDRESS),
        ValidatorSet: validatorSetGenesisEntry(devValidatorSetConfig(), pov.validators, DEV_VALIDATOR_REWARD_FUND, VALIDATOR_SET_ADDRESS),
      },
    },
    timestamp: o.timestamp,
    gasLimit: 60_000_000,
    baseFeePerGas: 1_000_000_000,
    extraData: '0x',
    alloc,
  }
}
