import { encodeAbiParameters, getAddress, type Abi, type Address, type Hex } from 'viem'
import { contractArtifact } from './ContractArtifacts.js'
import { GenesisError } from './errors.js'
import { WORK_MARKET_ADDRESS } from './WorkMarketGenesis.js'

/**
 * The AssetRegistry system contract at genesis (the marketplace of models and datasets,
 * genesis/contracts/AssetRegistry.md): its fixed address, its constructor parameters and their
 * ABI encoding for `config.systemContracts.AssetRegistry.args`. The reward fund is the
 * account's genesis balance (the constructor takes it as `rewardFund`).
 */
export const ASSET_REGISTRY_ADDRESS: Address = '0x0000000000000000000000000000000000000c00' // 0x…0C00 (this is its checksummed form)

/** The address system transactions come from (consensus may trigger `distributeRewards`). */
export const SYSTEM_ADDRESS: Address = '0xffffFFFfFFffffffffffffffFfFFFfffFFFfFFfE' // 0xff…fe, checksummed

export interface AssetRegistryConfig {
  /** The WorkMarket whose jobs assets are used in (read with getJob / getSession). */
  market: Address
  /** Reward period length in epochs (the contract counts blocks: epochs × epoch length). */
  periodEpochs: bigint
  /** The most one period pays (less when the fund is lower). */
  rewardPerPeriod: bigint
  /** Blocks after a bounty's deadline during which evaluations are still accepted. */
  evaluationWindow: bigint
}

const ETHER = 10n ** 18n

/** The dev fund: 1000 coins, 10 per period, paid 3:2:1 to the top free model and dataset assets. */
export const DEV_ASSET_REWARD_FUND = 1000n * ETHER

/** Parameters of the `--dev` registry: one-epoch reward periods, 10 coins each. */
export function devAssetRegistryConfig(): AssetRegistryConfig {
  return { market: WORK_MARKET_ADDRESS, periodEpochs: 1n, rewardPerPeriod: 10n * ETHER, evaluationWindow: 300n }
}

export function validateAssetRegistryConfig(c: AssetRegistryConfig, epochLength: number): void {
  if (/^0x0{40}$/i.test(c.market)) throw new GenesisError('AssetRegistry: market must be a non-zero address')
  if (c.periodEpochs <= 0n) throw new GenesisError('AssetRegistry.periodEpochs must be positive')
  if (!Number.isInteger(epochLength) || epochLength <= 0) throw new GenesisError('AssetRegistry: the chain epoch length must be a positive integer')
  if (c.rewardPerPeriod < 0n || c.evaluationWindow < 0n) throw new GenesisError('AssetRegistry: rewardPerPeriod and evaluationWindow must not be negative')
}

/**
 * ABI-encoded constructor arguments: (market, periodBlocks, rewardPerPeriod, evaluationWindow).
 * There is no evaluator: bounty submissions are judged by verified WorkMarket inference jobs.
 */
export function encodeAssetRegistryArgs(c: AssetRegistryConfig, epochLength: number): Hex {
  validateAssetRegistryConfig(c, epochLength)
  return encodeAbiParameters(
    [{ type: 'address' }, { type: 'uint64' }, { type: 'uint256' }, { type: 'uint64' }],
    [getAddress(c.market), c.periodEpochs * BigInt(epochLength), c.rewardPerPeriod, c.evaluationWindow],
  )
}

/** The `config.systemContracts.AssetRegistry` entry of a genesis file; `fund` is the reward fund. */
export function assetRegistryGenesisEntry(c: AssetRegistryConfig, epochLength: number, fund: bigint, address: Address = ASSET_REGISTRY_ADDRESS) {
  return { address, args: encodeAssetRegistryArgs(c, epochLength), balance: `0x${fund.toString(16)}` }
}

/** The compiled ABI (dist/contracts/abi/AssetRegistry.json). */
export function assetRegistryAbi(): Abi {
  return contractArtifact('AssetRegistry').abi as Abi
}
