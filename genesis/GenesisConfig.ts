import { hexToBytes, isHex } from '../common/bytes.js'
import { GenesisError } from './errors.js'

/**
 * The genesis file (JSON). Quantities may be JSON numbers or 0x-hex strings; byte fields are
 * 0x-hex. Documented in genesis/README.md.
 */
export interface GenesisFile {
  config: {
    chainId: number | string
    /** Proof of Value: slot length in seconds (default 2). */
    slotSeconds?: number
    /** Proof of Value: slots per epoch (default 32). */
    epochLength?: number
    /** Proof of Value: a header may name a work receipt at most this many blocks old (default 43200: a day of 2 s slots). */
    receiptWindow?: number
    /**
     * Proof of Value: blocks after which the genesis validators' bootstrap receipts (at block 0)
     * no longer entitle them to produce. 0 (the default) never: while no verified work arrives,
     * the genesis validators keep producing (their ValidatorSet weight still decays, and the set
     * in force carries over when nobody else is eligible). A positive value halts a network
     * whose genesis validators earned no work receipt by then.
     */
    genesisReceiptWindow?: number
    /**
     * Addresses allowed to produce blocks until Proof of Value elects producers from verified
     * work (the validator set of the consensus issue replaces this list).
     */
    producers?: string[]
    /**
     * System contracts deployed at fixed addresses by genesis, by contract name (a contract of
     * genesis/contracts): the address alone, or the address with ABI-encoded constructor
     * arguments and a starting balance. Their constructors run at genesis.
     */
    systemContracts?: Record<string, string | { address: string; args?: string; balance?: number | string }>
  }
  timestamp?: number | string
  gasLimit?: number | string
  baseFeePerGas?: number | string
  extraData?: string
  alloc: Record<string, { balance?: number | string; nonce?: number | string; code?: string; storage?: Record<string, string> }>
}

export interface SystemContractSpec {
  name: string
  address: Uint8Array
  /** ABI-encoded constructor arguments, appended to the creation code. */
  args: Uint8Array
  balance: bigint
}

export interface AllocAccount {
  address: Uint8Array
  balance: bigint
  nonce: bigint
  code: Uint8Array
  storage: [Uint8Array, Uint8Array][]
}

/** The validated, typed genesis. */
export interface GenesisSpec {
  chainId: bigint
  slotSeconds: number
  epochLength: number
  receiptWindow: bigint
  /** 0: genesis receipts never age out (see the raw config's comment). */
  genesisReceiptWindow: bigint
  producers: Uint8Array[]
  systemContracts: SystemContractSpec[]
  timestamp: bigint
  gasLimit: bigint
  baseFeePerGas: bigint
  extraData: Uint8Array
  alloc: AllocAccount[]
}

function quantity(v: unknown, field: string, dflt?: bigint): bigint {
  if (v === undefined || v === null) {
    if (dflt === undefined) throw new GenesisError(`${field} is required`)
    return dflt
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new GenesisError(`${field} must be a non-negative integer`)
    return BigInt(v)
  }
  if (typeof v === 'string' && (isHex(v) && v.length > 2 ? true : /^[0-9]+$/.test(v))) return BigInt(v)
  throw new GenesisError(`${field} must be a number or a 0x-hex quantity, got ${JSON.stringify(v)}`)
}

function bytes(v: unknown, field: string, length?: number): Uint8Array {
  if (!isHex(v) || (v.length - 2) % 2 !== 0) throw new GenesisError(`${field} must be 0x-hex bytes`)
  const b = hexToBytes(v)
  if (length !== undefined && b.length !== length) throw new GenesisError(`${field} must be ${length} bytes`)
  return b
}

function word(v: unknown, field: string): Uint8Array {
  const b = bytes(v, field)
  if (b.length > 32) throw new GenesisError(`${field} is longer than 32 bytes`)
  const out = new Uint8Array(32)
  out.set(b, 32 - b.length)
  return out
}

export function parseGenesis(input: unknown): GenesisSpec {
  if (typeof input !== 'object' || input === null) throw new GenesisError('genesis must be a JSON object')
  const g = input as GenesisFile
  if (typeof g.config !== 'object' || g.config === null) throw new GenesisError('config is required')
  const chainId = quantity(g.config.chainId, 'config.chainId')
  if (chainId === 0n || chainId >= 1n << 53n) throw new GenesisError('config.chainId must be between 1 and 2^53-1')
  const slotSeconds = Number(quantity(g.config.slotSeconds, 'config.slotSeconds', 2n))
  const epochLength = Number(quantity(g.config.epochLength, 'config.epochLength', 32n))
  if (slotSeconds < 1) throw new GenesisError('config.slotSeconds must be at least 1')
  if (epochLength < 1) throw new GenesisError('config.epochLength must be at least 1')
  const receiptWindow = quantity(g.config.receiptWindow, 'config.receiptWindow', 43_200n)
  if (receiptWindow < 1n) throw new GenesisError('config.receiptWindow must be at least 1')
  const genesisReceiptWindow = quantity(g.config.genesisReceiptWindow, 'config.genesisReceiptWindow', 0n)
  if (g.config.producers !== undefined && !Array.isArray(g.config.producers)) throw new GenesisError('config.producers must be a list of addresses')
  const producers = (g.config.producers ?? []).map((a, i) => bytes(a, `config.producers[${i}]`, 20))
  const systemContracts: SystemContractSpec[] = []
  for (const [name, v] of Object.entries(g.config.systemContracts ?? {})) {
    const f = `config.systemContracts.${name}`
    if (typeof v === 'string') systemContracts.push({ name, address: bytes(v, f, 20), args: new Uint8Array(0), balance: 0n })
    else if (typeof v === 'object' && v !== null)
      systemContracts.push({
        name,
        address: bytes(v.address, `${f}.address`, 20),
        args: v.args === undefined ? new Uint8Array(0) : bytes(v.args, `${f}.args`),
        balance: quantity(v.balance, `${f}.balance`, 0n),
      })
    else throw new GenesisError(`${f} must be an address or { address, args?, balance? }`)
  }
  const gasLimit = quantity(g.gasLimit, 'gasLimit', 30_000_000n)
  if (gasLimit < 5000n || gasLimit >= 1n << 63n) throw new GenesisError('gasLimit must be between 5000 and 2^63-1')
  const extraData = g.extraData === undefined ? new Uint8Array(0) : bytes(g.extraData, 'extraData')
  if (extraData.length > 32) throw new GenesisError('extraData must be at most 32 bytes')
  if (typeof g.alloc !== 'object' || g.alloc === null) throw new GenesisError('alloc is required (may be empty: {})')
  const alloc: AllocAccount[] = []
  for (const [addr, acct] of Object.entries(g.alloc)) {
    const f = `alloc.${addr}`
    const a = /^0x/i.test(addr) ? addr : `0x${addr}`
    if (typeof acct !== 'object' || acct === null) throw new GenesisError(`${f} must be an object`)
    alloc.push({
      address: bytes(a, `${f} (address)`, 20),
      balance: quantity(acct.balance, `${f}.balance`, 0n),
      nonce: quantity(acct.nonce, `${f}.nonce`, 0n),
      code: acct.code === undefined ? new Uint8Array(0) : bytes(acct.code, `${f}.code`),
      storage: Object.entries(acct.storage ?? {}).map(([k, v]) => [word(k, `${f}.storage key`), word(v, `${f}.storage[${k}]`)]),
    })
  }
  return {
    chainId,
    slotSeconds,
    epochLength,
    receiptWindow,
    genesisReceiptWindow,
    producers,
    systemContracts,
    timestamp: quantity(g.timestamp, 'timestamp', 0n),
    gasLimit,
    baseFeePerGas: quantity(g.baseFeePerGas, 'baseFeePerGas', 1_000_000_000n),
    extraData,
    alloc,
  }
}
