import { encodeAbiParameters, getAddress, isAddress, type Address, type Hex } from 'viem'
import { BridgeError } from './BridgeError.js'
import type { SnapshotFile } from './Snapshot.js'

/** Where genesis places SwapBridge unless told otherwise. */
export const DEFAULT_SWAP_BRIDGE_ADDRESS: Address = '0x0000000000000000000000000000000000005b00'

export interface SwapBridgeParams {
  merkleRoot: Hex
  /** Sum of the snapshot's holder amounts: what claims may pay. */
  snapshotTotal: bigint
  /** What releases of tokens locked after the snapshot may pay in all. */
  lockReserve: bigint
  /** Last povchain block number at which claims and releases are accepted. */
  deadline: bigint
  attesters: Address[]
  threshold: number
  sourceChainId: bigint
  lockContract: Address
}

/** The `config.systemContracts.SwapBridge` entry of a genesis file. */
export interface SwapBridgeGenesisEntry {
  address: Address
  args: Hex
  balance: Hex
}

export function validateParams(p: SwapBridgeParams): void {
  if (!/^0x[0-9a-fA-F]{64}$/.test(p.merkleRoot)) throw new BridgeError('BAD_PARAMS', 'merkleRoot must be 32 bytes')
  if (p.snapshotTotal < 0n || p.lockReserve < 0n) throw new BridgeError('BAD_PARAMS', 'amounts must be non-negative')
  if (!p.attesters.length) throw new BridgeError('BAD_PARAMS', 'at least one attester is needed')
  const seen = new Set<string>()
  for (const a of p.attesters) {
    if (!isAddress(a)) throw new BridgeError('BAD_PARAMS', `attester ${a} is not an address`)
    if (seen.has(a.toLowerCase())) throw new BridgeError('BAD_PARAMS', `attester ${a} is listed twice`)
    seen.add(a.toLowerCase())
  }
  if (!Number.isInteger(p.threshold) || p.threshold < 1 || p.threshold > p.attesters.length)
    throw new BridgeError('BAD_PARAMS', `threshold must be between 1 and the number of attesters (${p.attesters.length})`)
  if (!isAddress(p.lockContract)) throw new BridgeError('BAD_PARAMS', 'lockContract must be an address')
}

/** ABI-encoded constructor arguments of SwapBridge, in the constructor's order. */
export function encodeSwapBridgeArgs(p: SwapBridgeParams): Hex {
  validateParams(p)
  return encodeAbiParameters(
    [
      { type: 'bytes32' },
      { type: 'uint256' },
      { type: 'uint256' },
      { type: 'uint256' },
      { type: 'address[]' },
      { type: 'uint256' },
      { type: 'uint256' },
      { type: 'address' },
    ],
    [p.merkleRoot, p.snapshotTotal, p.lockReserve, p.deadline, p.attesters.map((a) => getAddress(a)), BigInt(p.threshold), p.sourceChainId, getAddress(p.lockContract)],
  )
}

/**
 * The genesis entry: the constructor runs at `address` with a balance of exactly
 * snapshotTotal + lockReserve (the constructor checks it), so nothing else needs minting.
 */
export function swapBridgeGenesisEntry(p: SwapBridgeParams, address: Address = DEFAULT_SWAP_BRIDGE_ADDRESS): SwapBridgeGenesisEntry {
  return { address: getAddress(address), args: encodeSwapBridgeArgs(p), balance: `0x${(p.snapshotTotal + p.lockReserve).toString(16)}` }
}

export function paramsFromSnapshot(s: SnapshotFile, rest: Omit<SwapBridgeParams, 'merkleRoot' | 'snapshotTotal' | 'sourceChainId'>): SwapBridgeParams {
  return { ...rest, merkleRoot: s.root, snapshotTotal: BigInt(s.total), sourceChainId: BigInt(s.source.chainId) }
}

type GenesisJson = {
  config: { chainId: number | string; systemContracts?: Record<string, unknown>; [k: string]: unknown }
  alloc: Record<string, { balance?: number | string; [k: string]: unknown }>
  [k: string]: unknown
}

/**
 * Adds SwapBridge to a genesis file (JSON, see genesis/README.md) and optionally gives each
 * attester a starting balance for the gas of its attestations.
 */
export function addSwapBridgeToGenesis(
  genesis: unknown,
  entry: SwapBridgeGenesisEntry,
  opts: { attesters?: Address[]; attesterBalance?: bigint; chainId?: bigint } = {},
): GenesisJson {
  if (typeof genesis !== 'object' || genesis === null || typeof (genesis as GenesisJson).config !== 'object')
    throw new BridgeError('BAD_GENESIS', 'the base genesis must be a genesis JSON object with a config')
  const g = structuredClone(genesis) as GenesisJson
  g.alloc ??= {}
  if (opts.chainId !== undefined) g.config.chainId = Number(opts.chainId)
  g.config.systemContracts = { ...(g.config.systemContracts ?? {}), SwapBridge: entry }
  const taken = Object.keys(g.alloc).find((k) => k.toLowerCase().replace(/^0x/, '') === entry.address.toLowerCase().slice(2))
  if (taken) throw new BridgeError('BAD_GENESIS', `the genesis alloc already has an account at the SwapBridge address ${entry.address}`)
  if (opts.attesterBalance && opts.attesterBalance > 0n)
    for (const a of opts.attesters ?? []) {
      const key = Object.keys(g.alloc).find((k) => k.toLowerCase() === a.toLowerCase()) ?? getAddress(a)
      const prev = BigInt(g.alloc[key]?.balance ?? 0)
      g.alloc[key] = { ...(g.alloc[key] ?? {}), balance: `0x${(prev + opts.attesterBalance).toString(16)}` }
    }
  return g
}
