import type { TypedTransaction } from '@ethereumjs/tx'
import type { Block } from '../chain/Block.js'
import type { BlockHeader } from '../chain/Header.js'
import type { TxReceipt } from '../chain/Receipt.js'

/**
 * Everything the JSON-RPC layer needs from a node. node/ implements it over the real chain;
 * rpc/ never reaches past it, so the server can be tested against any implementation.
 * Addresses, hashes and data are bytes; quantities are bigint. Hex exists only in rpc/.
 */

export type BlockTag = 'latest' | 'earliest' | 'pending' | 'safe' | 'finalized'
/** A block named by tag, number, or hash (EIP-1898; `requireCanonical` rejects side-chain blocks). */
export type BlockRef = BlockTag | bigint | { hash: Uint8Array; requireCanonical?: boolean }

export interface TxLocation {
  blockHash: Uint8Array
  blockNumber: bigint
  index: number
}

export interface AccessListItem {
  address: Uint8Array
  storageKeys: Uint8Array[]
}

export interface AuthorizationItem {
  chainId: bigint
  address: Uint8Array
  nonce: bigint
  yParity: number
  r: bigint
  s: bigint
}

/** A transaction request as eth_call / eth_estimateGas / eth_sendTransaction receive it. */
export interface CallRequest {
  from?: Uint8Array
  to?: Uint8Array
  gas?: bigint
  gasPrice?: bigint
  maxFeePerGas?: bigint
  maxPriorityFeePerGas?: bigint
  value?: bigint
  data?: Uint8Array
  nonce?: bigint
  type?: number
  accessList?: AccessListItem[]
  authorizationList?: AuthorizationItem[]
  chainId?: bigint
}

/** Per-account state override for eth_call / eth_estimateGas (Geth's format). */
export interface AccountOverride {
  balance?: bigint
  nonce?: bigint
  code?: Uint8Array
  /** Replaces the whole storage. */
  state?: Map<bigint, bigint>
  /** Patches single slots. */
  stateDiff?: Map<bigint, bigint>
}
/** Keyed by lowercase 0x-address. */
export type StateOverrides = Map<string, AccountOverride>

export interface CallResult {
  returnValue: Uint8Array
  gasUsed: bigint
  /** True when the call ended in REVERT (returnValue holds the revert data). */
  reverted: boolean
  /** Set when execution failed: 'execution reverted', 'out of gas', 'invalid opcode: …'. */
  error?: string
}

export type EstimateResult = { ok: true; gas: bigint } | { ok: false; result: CallResult }

/** EIP-1186 proof of an account and some of its storage slots (eth_getProof). */
export interface AccountProof {
  address: Uint8Array
  balance: bigint
  nonce: bigint
  codeHash: Uint8Array
  storageHash: Uint8Array
  /** Trie nodes from the state root down to the account (RLP each). */
  accountProof: Uint8Array[]
  storageProof: { key: Uint8Array; value: bigint; proof: Uint8Array[] }[]
}

/** eth_createAccessList: the slots and accounts a request touches, and its gas with that list. */
export interface AccessListResult {
  accessList: AccessListItem[]
  gasUsed: bigint
  /** Set when the request fails with the list ('execution reverted', 'out of gas' …). */
  error?: string
  /** The revert data when `error` is a revert. */
  returnValue?: Uint8Array
}

export interface FeeHistory {
  oldestBlock: bigint
  baseFeePerGas: bigint[]
  gasUsedRatio: number[]
  reward?: bigint[][]
}

export interface PoolContent {
  /** Keyed by lowercase 0x-address, each list sorted by nonce. */
  pending: Map<string, TypedTransaction[]>
  queued: Map<string, TypedTransaction[]>
}

export interface SyncStatus {
  startingBlock: bigint
  currentBlock: bigint
  highestBlock: bigint
}

export interface NodeInfo {
  id: string
  name: string
  enode?: string
  listenAddrs: string[]
  protocols: Record<string, unknown>
}

export interface PeerInfo {
  id: string
  name?: string
  remoteAddress: string
  protocols: Record<string, unknown>
}

export interface Unsubscribe {
  (): void
}

export interface RpcBackend {
  readonly chainId: bigint
  readonly clientVersion: string
  /** In dev mode the dev accounts are unlocked. */
  readonly devMode: boolean

  // --- chain ---
  head(): BlockHeader
  /** Resolves a ref to a header, or undefined when no such block exists. */
  headerByRef(ref: BlockRef): Promise<BlockHeader | undefined>
  blockByRef(ref: BlockRef): Promise<Block | undefined>
  /** Canonical header at a height (fast path for log scans). */
  canonicalHeader(number: bigint): Promise<BlockHeader | undefined>
  receipts(blockHash: Uint8Array): Promise<TxReceipt[] | undefined>
  /** Where a canonical transaction is; undefined if unknown or only in the pool. */
  txLocation(txHash: Uint8Array): Promise<TxLocation | undefined>

  // --- state (at a block) ---
  getBalance(address: Uint8Array, ref: BlockRef): Promise<bigint>
  getNonce(address: Uint8Array, ref: BlockRef): Promise<bigint>
  getCode(address: Uint8Array, ref: BlockRef): Promise<Uint8Array>
  getStorageAt(address: Uint8Array, slot: Uint8Array, ref: BlockRef): Promise<Uint8Array>
  call(req: CallRequest, ref: BlockRef, overrides?: StateOverrides): Promise<CallResult>
  estimateGas(req: CallRequest, ref: BlockRef, overrides?: StateOverrides): Promise<EstimateResult>
  /** eth_getProof over the state trie; absent when the backend has no Merkle state. */
  getProof?(address: Uint8Array, storageKeys: Uint8Array[], ref: BlockRef): Promise<AccountProof>
  /** eth_createAccessList: runs the request until its access list stops changing. */
  createAccessList?(req: CallRequest, ref: BlockRef): Promise<AccessListResult>

  // --- transactions and pool ---
  /** Validates and adds to the pool; throws TxPoolError (Geth-like message) when rejected. */
  sendRawTransaction(raw: Uint8Array): Promise<Uint8Array>
  /** Fills in missing fields, signs with an unlocked account and submits. */
  sendTransaction(req: CallRequest): Promise<Uint8Array>
  /** Signs without submitting (eth_signTransaction); returns the raw encoding. */
  signTransaction(req: CallRequest): Promise<Uint8Array>
  poolTransaction(hash: Uint8Array): TypedTransaction | undefined
  poolContent(): PoolContent
  poolStatus(): { pending: number; queued: number }

  // --- accounts ---
  accounts(): Uint8Array[]
  /** eth_sign: EIP-191 personal message signature (65 bytes r ‖ s ‖ v with v 27/28). */
  sign(address: Uint8Array, message: Uint8Array): Promise<Uint8Array>
  /** eth_signTypedData_v4 over the EIP-712 JSON object. */
  signTypedData(address: Uint8Array, typedData: unknown): Promise<Uint8Array>
  coinbase(): Uint8Array

  // --- fees ---
  gasPrice(): Promise<bigint>
  maxPriorityFeePerGas(): Promise<bigint>
  feeHistory(blockCount: number, newest: BlockRef, percentiles: number[]): Promise<FeeHistory>

  // --- tracing ---
  /** debug_traceTransaction; `options` is the RPC's tracer config object as given. */
  traceTransaction(hash: Uint8Array, options: Record<string, unknown>): Promise<unknown>

  // --- events (for subscriptions and filters) ---
  onNewHead(listener: (block: Block, receipts: TxReceipt[]) => void): Unsubscribe
  /** Blocks that left the canonical chain in a reorg (logs get `removed: true`). */
  onRemovedBlock(listener: (block: Block, receipts: TxReceipt[]) => void): Unsubscribe
  onPendingTransaction(listener: (tx: TypedTransaction) => void): Unsubscribe

  // --- network / node ---
  syncing(): SyncStatus | false
  peerCount(): number
  listening(): boolean
  nodeInfo(): NodeInfo
  peers(): PeerInfo[]
  /** Extra namespaced methods (pov_*, admin_* …) a node may provide; name → handler over RPC JSON params, with its arity. */
  extraMethods?(): Record<string, ExtraMethod>
}

/** [required, at most] positional arguments of a method, checked before its handler runs. */
export type ExtraArity = readonly [min: number, max: number]

/**
 * A method a node adds (pov_* …). Its arity is checked as Geth checks every method's: more
 * arguments than it reads are refused with -32602 "too many arguments", never ignored.
 */
export interface ExtraMethod {
  arity: ExtraArity
  fn: (params: unknown[]) => Promise<unknown>
}

/**
 * Pairs each handler with its arity; the `arity` record must name every method (the compiler
 * says which one is missing), so no method is added without one.
 */
export function withArity<K extends string>(handlers: Record<K, (params: unknown[]) => Promise<unknown>>, arity: Record<K, ExtraArity>): Record<K, ExtraMethod> {
  const out = {} as Record<K, ExtraMethod>
  for (const k of Object.keys(handlers) as K[]) out[k] = { arity: arity[k], fn: handlers[k] }
  return out
}
