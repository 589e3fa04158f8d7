import { createAccessList2930Tx, createEOACode7702Tx, createFeeMarket1559Tx, createLegacyTx, type TypedTransaction } from '@ethereumjs/tx'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex, concatBytes, equalBytes } from '../../common/bytes.js'
import { PovError } from '../../common/errors.js'
import { Block } from '../../chain/Block.js'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { BlockHeader } from '../../chain/Header.js'
import { EMPTY_TRIE_ROOT, keccak256 } from '../../chain/keccak.js'
import { logsBloom, orBloom, type Log, type TxReceipt } from '../../chain/Receipt.js'
import { publicKeyToAddress } from '../../chain/Signing.js'
import type {
  BlockRef,
  CallRequest,
  CallResult,
  EstimateResult,
  FeeHistory,
  NodeInfo,
  PeerInfo,
  PoolContent,
  RpcBackend,
  StateOverrides,
  SyncStatus,
  TxLocation,
  Unsubscribe,
} from '../RpcBackend.js'
import { withArity } from '../RpcBackend.js'

/** A pool rejection with a Geth message, as chain/txpool would throw. */
export class FixturePoolError extends PovError {
  constructor(message: string) {
    super('TXPOOL_FIXTURE', message)
  }
}

export const common = createChainCommon(31337n, { nativeCrypto: false })

export function keyOf(i: number): Uint8Array {
  const k = new Uint8Array(32)
  k[31] = i + 1
  return k
}
export function addressOf(key: Uint8Array): Uint8Array {
  return publicKeyToAddress(secp256k1.getPublicKey(key, false))
}

export type TxKind = 'legacy' | '2930' | '1559' | '7702'

export function makeTx(kind: TxKind, nonce: number, keyIndex = 0, to: Uint8Array | undefined = new Uint8Array(20).fill(0xaa)): TypedTransaction {
  const key = keyOf(keyIndex)
  const base = { nonce: BigInt(nonce), gasLimit: 100_000n, to, value: 1000n + BigInt(nonce), data: Uint8Array.of(1, 2, 3) }
  const opts = { common }
  switch (kind) {
    case 'legacy':
      return createLegacyTx({ ...base, gasPrice: 2_000_000_000n }, opts).sign(key)
    case '2930':
      return createAccessList2930Tx(
        { ...base, gasPrice: 2_000_000_000n, chainId: 31337n, accessList: [{ address: bytesToHex(new Uint8Array(20).fill(0xbb)), storageKeys: [bytesToHex(new Uint8Array(32).fill(1))] }] },
        opts,
      ).sign(key)
    case '1559':
      return createFeeMarket1559Tx({ ...base, chainId: 31337n, maxFeePerGas: 3_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n }, opts).sign(key)
    case '7702':
      return createEOACode7702Tx(
        {
          ...base,
          chainId: 31337n,
          maxFeePerGas: 3_000_000_000n,
          maxPriorityFeePerGas: 1_000_000_000n,
          authorizationList: [
            {
              chainId: '0x7a69',
              address: bytesToHex(new Uint8Array(20).fill(0xcc)),
              nonce: '0x1',
              yParity: '0x1',
              r: `0x${'11'.repeat(32)}`,
              s: `0x${'22'.repeat(32)}`,
            },
          ],
        },
        opts,
      ).sign(key)
  }
}

export interface BlockSpec {
  txs?: TypedTransaction[]
  /** Logs per transaction (defaults to none). */
  logs?: Log[][]
  /** Differentiates sibling blocks on reorg. */
  extra?: number
}

const z = (n: number, fill = 0) => new Uint8Array(n).fill(fill)

/**
 * An in-memory chain implementing RpcBackend, enough to drive the servers in tests: blocks with
 * real headers and signed transactions, receipts with logs, a pool, reorgs, and hooks for
 * call/estimate outcomes.
 */
export class FixtureBackend implements RpcBackend {
  readonly chainId = 31337n
  readonly clientVersion = 'povchain/test'
  readonly devMode = true
  canonical: Block[] = []
  private readonly byHash = new Map<string, Block>()
  private readonly receiptsByHash = new Map<string, TxReceipt[]>()
  readonly pool = new Map<string, TypedTransaction>()
  balances = new Map<string, bigint>()
  private headListeners = new Set<(b: Block, r: TxReceipt[]) => void>()
  private removedListeners = new Set<(b: Block, r: TxReceipt[]) => void>()
  private pendingListeners = new Set<(tx: TypedTransaction) => void>()
  callImpl: (req: CallRequest, ref: BlockRef, ov?: StateOverrides) => Promise<CallResult> = async () => ({
    returnValue: Uint8Array.of(0xab),
    gasUsed: 21000n,
    reverted: false,
  })
  estimateImpl: (req: CallRequest, ref: BlockRef, ov?: StateOverrides) => Promise<EstimateResult> = async () => ({ ok: true, gas: 21000n })
  lastCall?: { req: CallRequest; ref: BlockRef; overrides?: StateOverrides }
  lastEstimate?: { req: CallRequest; ref: BlockRef; overrides?: StateOverrides }
  lastFeeHistory?: { count: number; newest: BlockRef; pct: number[] }
  sendRawImpl?: (raw: Uint8Array) => Promise<Uint8Array>
  /** Throws a plain Error from getBalance when set (an unexpected failure). */
  explodeOn?: string

  constructor() {
    this.addBlock({})
  }

  // --- building the chain ---
  addBlock(spec: BlockSpec, emit = true): Block {
    const parent = this.canonical.at(-1)
    const txs = spec.txs ?? []
    const receipts: TxReceipt[] = []
    let cumulative = 0n
    const bloom = new Uint8Array(256)
    txs.forEach((tx, i) => {
      cumulative += 21000n
      const logs = spec.logs?.[i] ?? []
      orBloom(bloom, logsBloom(logs))
      receipts.push({
        transactionHash: tx.hash(),
        txType: tx.type,
        status: 1,
        cumulativeGasUsed: cumulative,
        gasUsed: 21000n,
        effectiveGasPrice: 2_000_000_000n,
        from: tx.getSenderAddress().bytes,
        ...(tx.to ? { to: tx.to.bytes } : { contractAddress: z(20, 0xcd) }),
        logs,
      })
    })
    const number = parent ? parent.number + 1n : 0n
    const header = new BlockHeader({
      parentHash: parent ? parent.hash() : z(32),
      coinbase: z(20, 0xc0),
      stateRoot: EMPTY_TRIE_ROOT,
      // Commits to the body, so equal hashes mean equal blocks (formatted blocks are cached by hash).
      transactionsRoot: txs.length ? keccak256(concatBytes(...txs.map((tx) => tx.hash()))) : EMPTY_TRIE_ROOT,
      receiptsRoot: EMPTY_TRIE_ROOT,
      logsBloom: bloom,
      number,
      gasLimit: 30_000_000n,
      gasUsed: cumulative,
      timestamp: 1_700_000_000n + number * 2n,
      vanity: Uint8Array.of(spec.extra ?? 0),
      mixHash: keccak256(Uint8Array.of(Number(number & 0xffn))),
      baseFeePerGas: 1_000_000_000n,
      slot: number * 3n,
      producer: z(20, 0x50),
      jobId: z(32, 0x01),
      sessionId: z(32, 0x02),
      workloadId: z(32, 0x03),
      vrfOutput: z(32, 0x04),
      vrfProof: z(80, 0x05),
      attestations: parent
        ? [{ sourceHash: this.canonical[0]!.hash(), sourceHeight: 0n, targetHash: parent.hash(), targetHeight: number - 1n, validator: z(20, 0x60), signature: z(65, 0x61) }]
        : [],
      seal: z(65, 0x07),
    })
    const block = new Block(header, txs)
    this.canonical.push(block)
    this.byHash.set(bytesToHex(block.hash()), block)
    this.receiptsByHash.set(bytesToHex(block.hash()), receipts)
    for (const tx of txs) this.pool.delete(bytesToHex(tx.hash()))
    if (emit) for (const l of this.headListeners) l(block, receipts)
    return block
  }

  /** Drops blocks above `keep` (emitting removed events, newest first). */
  rewindTo(keep: bigint): void {
    while (this.canonical.at(-1)!.number > keep) {
      const b = this.canonical.pop()!
      const r = this.receiptsByHash.get(bytesToHex(b.hash()))!
      for (const l of this.removedListeners) l(b, r)
    }
  }

  addPoolTx(tx: TypedTransaction): void {
    this.pool.set(bytesToHex(tx.hash()), tx)
    for (const l of this.pendingListeners) l(tx)
  }

  // --- RpcBackend ---
  head() {
    return this.canonical.at(-1)!.header
  }
  private resolve(ref: BlockRef): Block | undefined {
    if (typeof ref === 'bigint') return this.canonical[Number(ref)]
    if (typeof ref === 'string') return ref === 'earliest' ? this.canonical[0] : this.canonical.at(-1)
    const b = this.byHash.get(bytesToHex(ref.hash))
    if (b && ref.requireCanonical && !equalBytes(this.canonical[Number(b.number)]?.hash() ?? z(0), b.hash())) return undefined
    return b
  }
  async headerByRef(ref: BlockRef) {
    return this.resolve(ref)?.header
  }
  async blockByRef(ref: BlockRef) {
    return this.resolve(ref)
  }
  async canonicalHeader(n: bigint) {
    return this.canonical[Number(n)]?.header
  }
  async receipts(hash: Uint8Array) {
    return this.receiptsByHash.get(bytesToHex(hash))
  }
  async txLocation(hash: Uint8Array): Promise<TxLocation | undefined> {
    for (const b of this.canonical) {
      const i = b.transactions.findIndex((t) => equalBytes(t.hash(), hash))
      if (i >= 0) return { blockHash: b.hash(), blockNumber: b.number, index: i }
    }
    return undefined
  }
  async getBalance(address: Uint8Array, ref: BlockRef) {
    if (this.explodeOn === 'getBalance') throw new Error('disk on fire /secret/path')
    if (typeof ref === 'object' && !this.resolve(ref)) throw new FixturePoolError('header not found')
    return this.balances.get(bytesToHex(address)) ?? 0n
  }
  async getNonce(_a: Uint8Array, ref: BlockRef) {
    return ref === 'pending' ? 7n : 5n
  }
  async getCode() {
    return Uint8Array.of(0x60, 0x00)
  }
  async getStorageAt(_a: Uint8Array, slot: Uint8Array) {
    return Uint8Array.of(slot[31]!)
  }
  async call(req: CallRequest, ref: BlockRef, overrides?: StateOverrides) {
    this.lastCall = { req, ref, ...(overrides ? { overrides } : {}) }
    return this.callImpl(req, ref, overrides)
  }
  async estimateGas(req: CallRequest, ref: BlockRef, overrides?: StateOverrides) {
    this.lastEstimate = { req, ref, ...(overrides ? { overrides } : {}) }
    return this.estimateImpl(req, ref, overrides)
  }
  async sendRawTransaction(raw: Uint8Array) {
    if (this.sendRawImpl) return this.sendRawImpl(raw)
    throw new FixturePoolError('nonce too low: next nonce 5, tx nonce 0')
  }
  async sendTransaction(req: CallRequest) {
    if (!req.from) throw new FixturePoolError('from field is required')
    return z(32, 0xee)
  }
  async signTransaction() {
    return Uint8Array.of(0x02, 0xc0)
  }
  poolTransaction(hash: Uint8Array) {
    return this.pool.get(bytesToHex(hash))
  }
  poolContent(): PoolContent {
    const pending = new Map<string, TypedTransaction[]>()
    for (const tx of this.pool.values()) {
      const from = bytesToHex(tx.getSenderAddress().bytes)
      pending.set(from, [...(pending.get(from) ?? []), tx].sort((a, b) => Number(a.nonce - b.nonce)))
    }
    return { pending, queued: new Map() }
  }
  poolStatus() {
    return { pending: this.pool.size, queued: 0 }
  }
  accounts() {
    return [addressOf(keyOf(0))]
  }
  async sign(_a: Uint8Array, message: Uint8Array) {
    return new Uint8Array(65).fill(message.length)
  }
  async signTypedData(_a: Uint8Array, typed: unknown) {
    return new Uint8Array(65).fill(typeof typed === 'object' ? 1 : 0)
  }
  coinbase() {
    return z(20, 0xc0)
  }
  async gasPrice() {
    return 2_000_000_000n
  }
  async maxPriorityFeePerGas() {
    return 1_000_000_000n
  }
  async feeHistory(count: number, newest: BlockRef, pct: number[]): Promise<FeeHistory> {
    this.lastFeeHistory = { count, newest, pct }
    return {
      oldestBlock: 1n,
      baseFeePerGas: Array.from({ length: count + 1 }, () => 1_000_000_000n),
      gasUsedRatio: Array.from({ length: count }, () => 0.5),
      reward: Array.from({ length: count }, () => pct.map(() => 1n)),
    }
  }
  async traceTransaction(hash: Uint8Array, options: Record<string, unknown>) {
    if (hash[0] === 0) return undefined
    return { gas: 21000, failed: false, returnValue: '', structLogs: [], options }
  }
  onNewHead(l: (b: Block, r: TxReceipt[]) => void): Unsubscribe {
    this.headListeners.add(l)
    return () => this.headListeners.delete(l)
  }
  onRemovedBlock(l: (b: Block, r: TxReceipt[]) => void): Unsubscribe {
    this.removedListeners.add(l)
    return () => this.removedListeners.delete(l)
  }
  onPendingTransaction(l: (tx: TypedTransaction) => void): Unsubscribe {
    this.pendingListeners.add(l)
    return () => this.pendingListeners.delete(l)
  }
  syncing(): SyncStatus | false {
    return false
  }
  peerCount() {
    return 3
  }
  listening() {
    return true
  }
  nodeInfo(): NodeInfo {
    return { id: 'node-1', name: 'povchain/test', listenAddrs: ['/ip4/127.0.0.1/tcp/30303'], protocols: { pov: { network: 31337 } } }
  }
  peers(): PeerInfo[] {
    return [{ id: 'peer-1', remoteAddress: '10.0.0.2:30303', protocols: {} }]
  }
  extraMethods() {
    return withArity({ pov_workReceipt: async (params: unknown[]) => ({ id: params[0], value: 5n, hash: Uint8Array.of(1, 2) }) }, { pov_workReceipt: [1, 1] })
  }
}
