import { encodeAbiParameters, getAddress, type Abi, type Address, type Hex } from 'viem'
import { contractArtifact } from './ContractArtifacts.js'
import { GenesisError } from './errors.js'

/**
 * The WorkMarket system contract at genesis: its fixed address, its constructor parameters and
 * their ABI encoding for `config.systemContracts.WorkMarket.args`. The contract's Config struct
 * is documented field by field in genesis/contracts/WorkMarket.sol and market/worker/README.md.
 */
export const WORK_MARKET_ADDRESS: Address = '0x0000000000000000000000000000000000000B00'

export interface WorkMarketConfig {
  minBond: bigint
  minJobPrice: bigint
  defaultUnitPrice: bigint
  verifierFeeBps: number
  protocolFeeBps: number
  slashBps: number
  maxAttempts: number
  faultPenalty: bigint
  trapReward: bigint
  voteWindow: bigint
  revealWindow: bigint
  unbondDelay: bigint
  ratingHalfLife: bigint
  controlIssuer: Address
  controlBudget: bigint
  controlPeriod: bigint
  /**
   * A verifier is drawn for a job only while its free bond is at least this many times the job's
   * price (and covers wrongVotePenalty): a wrong vote on a known answer, slashBps of the bond,
   * then costs at least slashBps × ratio × price (genesis/contracts/WorkMarket.md, section 3).
   */
  verifierBondRatio: number
}

/** A receipt genesis records so a new network has producers before any job ran. */
export interface GenesisReceipt {
  worker: Address
  jobId: Hex
  sessionId: Hex
  value: bigint
}

const ETHER = 10n ** 18n

/** Parameters of the `--dev` market: small bonds and prices, short vote windows. */
export function devWorkMarketConfig(controlIssuer: Address): WorkMarketConfig {
  return {
    minBond: 1n * ETHER,
    minJobPrice: ETHER / 1000n,
    defaultUnitPrice: ETHER / 10_000n,
    verifierFeeBps: 1000,
    protocolFeeBps: 500,
    slashBps: 5000,
    maxAttempts: 3,
    faultPenalty: ETHER / 10n,
    trapReward: ETHER / 100n,
    voteWindow: 60n,
    revealWindow: 60n,
    unbondDelay: 60n,
    ratingHalfLife: 7n * 24n * 3600n,
    controlIssuer,
    controlBudget: 10n * ETHER,
    controlPeriod: 24n * 3600n,
    // 16 × price: guessing loses once ≥ 10.1 % of sessions are hidden traps, at any price, for 20-segment jobs (samplesDue 19 of 20), ≈ 0.5 % from 2,600 segments (WorkMarket.md, section 3).
    verifierBondRatio: 16,
  }
}

const CONFIG_COMPONENTS = [
  { name: 'minBond', type: 'uint256' },
  { name: 'minJobPrice', type: 'uint256' },
  { name: 'defaultUnitPrice', type: 'uint256' },
  { name: 'verifierFeeBps', type: 'uint16' },
  { name: 'protocolFeeBps', type: 'uint16' },
  { name: 'slashBps', type: 'uint16' },
  { name: 'maxAttempts', type: 'uint8' },
  { name: 'faultPenalty', type: 'uint256' },
  { name: 'trapReward', type: 'uint256' },
  { name: 'voteWindow', type: 'uint64' },
  { name: 'revealWindow', type: 'uint64' },
  { name: 'unbondDelay', type: 'uint64' },
  { name: 'ratingHalfLife', type: 'uint64' },
  { name: 'controlIssuer', type: 'address' },
  { name: 'controlBudget', type: 'uint256' },
  { name: 'controlPeriod', type: 'uint64' },
  { name: 'verifierBondRatio', type: 'uint16' },
] as const

const RECEIPT_COMPONENTS = [
  { name: 'worker', type: 'address' },
  { name: 'jobId', type: 'bytes32' },
  { name: 'sessionId', type: 'bytes32' },
  { name: 'value', type: 'uint256' },
] as const

export function validateWorkMarketConfig(c: WorkMarketConfig): void {
  const bps = (n: number, f: string) => {
    if (!Number.isInteger(n) || n < 0 || n > 10_000) throw new GenesisError(`WorkMarket.${f} must be 0 … 10000 basis points`)
  }
  bps(c.verifierFeeBps, 'verifierFeeBps')
  bps(c.protocolFeeBps, 'protocolFeeBps')
  bps(c.slashBps, 'slashBps')
  if (c.verifierFeeBps + c.protocolFeeBps > 10_000) throw new GenesisError('WorkMarket: verifierFeeBps + protocolFeeBps exceed 10000')
  if (!Number.isInteger(c.maxAttempts) || c.maxAttempts < 1 || c.maxAttempts > 255) throw new GenesisError('WorkMarket.maxAttempts must be 1 … 255')
  for (const f of ['voteWindow', 'revealWindow', 'ratingHalfLife', 'controlPeriod'] as const) if (c[f] <= 0n) throw new GenesisError(`WorkMarket.${f} must be positive`)
  if (!Number.isInteger(c.verifierBondRatio) || c.verifierBondRatio < 0 || c.verifierBondRatio > 65_535) throw new GenesisError('WorkMarket.verifierBondRatio must be 0 … 65535 (times the job price)')
}

/** ABI-encoded constructor arguments: (Config, GenesisReceipt[]); `unchecked` skips validation (tests of the contract's own checks). */
export function encodeWorkMarketArgs(c: WorkMarketConfig, receipts: GenesisReceipt[] = [], opts: { unchecked?: boolean } = {}): Hex {
  if (!opts.unchecked) validateWorkMarketConfig(c)
  return encodeAbiParameters(
    [
      { type: 'tuple', components: CONFIG_COMPONENTS },
      { type: 'tuple[]', components: RECEIPT_COMPONENTS },
    ],
    [
      { ...c, controlIssuer: getAddress(c.controlIssuer) },
      receipts.map((r) => ({ ...r, worker: getAddress(r.worker) })),
    ],
  )
}

/** The `config.systemContracts.WorkMarket` entry of a genesis file; `fund` seeds the protocol fund. */
export function workMarketGenesisEntry(c: WorkMarketConfig, fund: bigint, receipts: GenesisReceipt[] = [], address: Address = WORK_MARKET_ADDRESS) {
  return { address, args: encodeWorkMarketArgs(c, receipts), balance: `0x${fund.toString(16)}` }
}

/** The compiled ABI (dist/contracts/abi/WorkMarket.json). */
export function workMarketAbi(): Abi {
  return contractArtifact('WorkMarket').abi as Abi
}
