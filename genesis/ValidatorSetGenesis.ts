import { concat, encodeAbiParameters, getAddress, keccak256, toBytes, type Abi, type Address, type Hex } from 'viem'
import { contractArtifact } from './ContractArtifacts.js'
import { GenesisError } from './errors.js'
import type { GenesisReceipt } from './WorkMarketGenesis.js'

/**
 * The ValidatorSet system contract at genesis (Proof of Value step 5): its fixed address, the
 * addresses it trusts, its constructor parameters and their ABI encoding for
 * `config.systemContracts.ValidatorSet.args`, and the genesis validators with the WorkMarket
 * receipts that let them seal the first blocks. Documented in genesis/contracts/ValidatorSet.md.
 */
export const VALIDATOR_SET_ADDRESS: Address = '0x0000000000000000000000000000000000000A00'
/** Consensus makes its system calls (epochTransition) from this address, as EIP-4788 does. */
export const SYSTEM_ADDRESS: Address = '0xfffffffffffffffffffffffffffffffffffffffe'
/** The native precompile judging slashing evidence (vm/). */
export const EVIDENCE_PRECOMPILE: Address = '0x0000000000000000000000000000000000000A0E'

/** Evidence kinds of ValidatorSet.submitEvidence. */
export const EvidenceKind = { DoubleProduction: 1, DoubleVote: 2, SurroundVote: 3, BadReceipt: 4 } as const

export const VALIDATOR_SET_MAX_CANDIDATES = 64

export interface ValidatorSetConfig {
  minBond: bigint
  maxValidators: number
  weightWindowBlocks: bigint
  maxWeight: bigint
  pairCapPerWindow: bigint
  rewardPerEpoch: bigint
  unbondingEpochs: bigint
  slashBps: number
  reporterBps: number
  jailEpochs: bigint
}

/** A validator placed by genesis: its bond is part of the contract's genesis balance. */
export interface GenesisValidator {
  validator: Address
  bond: bigint
  weight: bigint
}

const ETHER = 10n ** 18n
const MAX_AMOUNT = (1n << 128n) - 1n

/**
 * Parameters of the `--dev` chain: bond 1 coin, a window of 43,200 blocks (a day of 2 s slots,
 * the default receipt window), a node capped at 1,000 coins of weight and a pair at 100 per
 * window, 1 coin of reward per epoch, unbonding 2 epochs, slash 50 % (10 % of it to the
 * reporter), jail 4 epochs.
 */
export function devValidatorSetConfig(): ValidatorSetConfig {
  return {
    minBond: 1n * ETHER,
    maxValidators: 21,
    weightWindowBlocks: 43_200n,
    maxWeight: 1000n * ETHER,
    pairCapPerWindow: 100n * ETHER,
    rewardPerEpoch: 1n * ETHER,
    unbondingEpochs: 2n,
    slashBps: 5000,
    reporterBps: 1000,
    jailEpochs: 4n,
  }
}

const CONFIG_COMPONENTS = [
  { name: 'minBond', type: 'uint256' },
  { name: 'maxValidators', type: 'uint16' },
  { name: 'weightWindowBlocks', type: 'uint64' },
  { name: 'maxWeight', type: 'uint256' },
  { name: 'pairCapPerWindow', type: 'uint256' },
  { name: 'rewardPerEpoch', type: 'uint256' },
  { name: 'unbondingEpochs', type: 'uint64' },
  { name: 'slashBps', type: 'uint16' },
  { name: 'reporterBps', type: 'uint16' },
  { name: 'jailEpochs', type: 'uint64' },
] as const

const VALIDATOR_COMPONENTS = [
  { name: 'validator', type: 'address' },
  { name: 'bond', type: 'uint256' },
  { name: 'weight', type: 'uint256' },
] as const

/** The same checks as the constructor, with messages that name the genesis field. */
export function validateValidatorSetConfig(c: ValidatorSetConfig, validators: GenesisValidator[]): void {
  const f = (ok: boolean, msg: string) => {
    if (!ok) throw new GenesisError(`ValidatorSet.${msg}`)
  }
  f(Number.isInteger(c.maxValidators) && c.maxValidators >= 1 && c.maxValidators <= VALIDATOR_SET_MAX_CANDIDATES, `maxValidators must be 1 … ${VALIDATOR_SET_MAX_CANDIDATES}`)
  f(c.weightWindowBlocks > 0n && c.weightWindowBlocks < 1n << 64n, 'weightWindowBlocks must be positive (uint64)')
  f(c.maxWeight > 0n && c.maxWeight <= MAX_AMOUNT, 'maxWeight must be 1 … 2^128-1')
  f(c.pairCapPerWindow > 0n && c.pairCapPerWindow <= MAX_AMOUNT, 'pairCapPerWindow must be 1 … 2^128-1')
  f(c.rewardPerEpoch >= 0n && c.rewardPerEpoch <= MAX_AMOUNT, 'rewardPerEpoch must be 0 … 2^128-1')
  f(c.minBond > 0n && c.minBond <= MAX_AMOUNT, 'minBond must be 1 … 2^128-1')
  f(c.unbondingEpochs > 0n && c.unbondingEpochs < 1n << 32n, 'unbondingEpochs must be 1 … 2^32-1')
  f(c.jailEpochs > 0n && c.jailEpochs < 1n << 32n, 'jailEpochs must be 1 … 2^32-1')
  for (const k of ['slashBps', 'reporterBps'] as const) f(Number.isInteger(c[k]) && c[k] >= 0 && c[k] <= 10_000, `${k} must be 0 … 10000 basis points`)
  f(validators.length >= 1, 'genesis needs at least one validator')
  f(validators.length <= c.maxValidators, `${validators.length} genesis validators exceed maxValidators ${c.maxValidators}`)
  const seen = new Set<string>()
  for (const v of validators) {
    const a = getAddress(v.validator).toLowerCase()
    f(!seen.has(a), `genesis validator ${v.validator} is listed twice`)
    seen.add(a)
    f(BigInt(a) !== 0n, 'a genesis validator has the zero address')
    f(v.bond >= c.minBond && v.bond <= MAX_AMOUNT, `genesis validator ${v.validator}: bond must be at least minBond (${c.minBond})`)
    f(v.weight > 0n && v.weight <= MAX_AMOUNT, `genesis validator ${v.validator}: weight must be 1 … 2^128-1`)
  }
}

/** Genesis validators sorted by address ascending, as the constructor requires. */
export function sortGenesisValidators(validators: GenesisValidator[]): GenesisValidator[] {
  return validators.map((v) => ({ ...v, validator: getAddress(v.validator) })).sort((a, b) => (BigInt(a.validator) < BigInt(b.validator) ? -1 : 1))
}

/** ABI-encoded constructor arguments (Config, GenesisValidator[]); `unchecked` skips validation and sorting (tests of the contract's own checks). */
export function encodeValidatorSetArgs(c: ValidatorSetConfig, validators: GenesisValidator[], opts: { unchecked?: boolean } = {}): Hex {
  if (!opts.unchecked) validateValidatorSetConfig(c, validators)
  const vs = opts.unchecked ? validators.map((v) => ({ ...v, validator: getAddress(v.validator) })) : sortGenesisValidators(validators)
  return encodeAbiParameters(
    [
      { type: 'tuple', components: CONFIG_COMPONENTS },
      { type: 'tuple[]', components: VALIDATOR_COMPONENTS },
    ],
    [c, vs],
  )
}

/**
 * The `config.systemContracts.ValidatorSet` entry: the balance is the validators' bonds plus
 * `fund`, the reward fund (coins minted by genesis inside the contract).
 */
export function validatorSetGenesisEntry(c: ValidatorSetConfig, validators: GenesisValidator[], fund: bigint, address: Address = VALIDATOR_SET_ADDRESS) {
  if (fund < 0n) throw new GenesisError('ValidatorSet reward fund must not be negative')
  const bonds = validators.reduce((s, v) => s + v.bond, 0n)
  return { address, args: encodeValidatorSetArgs(c, validators), balance: `0x${(bonds + fund).toString(16)}` }
}

const GENESIS_JOB_TAG = toBytes('povchain/genesis-job')
const ZERO32: Hex = `0x${'00'.repeat(32)}`

/** jobId of a genesis validator's receipt: keccak256("povchain/genesis-job" ‖ address). */
export function genesisJobId(validator: Address): Hex {
  return keccak256(concat([GENESIS_JOB_TAG, getAddress(validator)]))
}

/** sessionId of a genesis validator's receipt: keccak256(jobId ‖ address ‖ bytes32(0)), the session formula with a zero assignment block hash. */
export function genesisSessionId(validator: Address): Hex {
  return keccak256(concat([genesisJobId(validator), getAddress(validator), ZERO32]))
}

/**
 * Genesis validators and, for the same nodes, the accepted WorkMarket receipts their first
 * headers name (WorkMarket's constructor takes them): one helper so the two never disagree.
 * The receipt's value is the validator's genesis weight.
 */
export function povGenesisValidators(validators: { address: Address; bond: bigint; weight: bigint }[]): { validators: GenesisValidator[]; receipts: GenesisReceipt[] } {
  const vs = sortGenesisValidators(validators.map((v) => ({ validator: v.address, bond: v.bond, weight: v.weight })))
  return {
    validators: vs,
    receipts: vs.map((v) => ({ worker: v.validator, jobId: genesisJobId(v.validator), sessionId: genesisSessionId(v.validator), value: v.weight })),
  }
}

/** The compiled ABI (dist/contracts/abi/ValidatorSet.json). */
export function validatorSetAbi(): Abi {
  return contractArtifact('ValidatorSet').abi as Abi
}
