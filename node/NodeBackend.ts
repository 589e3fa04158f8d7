import type { TypedTransaction } from '@ethereumjs/tx'
import { Address } from '@ethereumjs/util'
import type { Block } from '../chain/Block.js'
import type { BlockStore } from '../chain/BlockStore.js'
import type { Common } from '../chain/ChainCommon.js'
import { nextBaseFee } from '../chain/FeeMarket.js'
import type { BlockHeader } from '../chain/Header.js'
import type { TxReceipt } from '../chain/Receipt.js'
import { decodePoolTransaction, type TxPool } from '../chain/txpool/index.js'
import { bigintToFixedBytes, bytesToHex, equalBytes, hexToBytes } from '../common/bytes.js'
import type { ChainService } from '../consensus/ChainService.js'
import { getMerkleStateProof } from '@ethereumjs/statemanager'
import type {
  AccessListResult,
  AccountProof,
  BlockRef,
  CallRequest,
  CallResult,
  ExtraMethod,
  EstimateResult,
  FeeHistory,
  NodeInfo,
  PeerInfo,
  PoolContent,
  RpcBackend,
  StateOverrides,
  SyncStatus,
  Unsubscribe,
} from '../rpc/RpcBackend.js'
import { withArity } from '../rpc/RpcBackend.js'
import { callFailure } from '../rpc/RevertReason.js'
import { blockRef } from '../rpc/HexParams.js'
import type { WorldState } from '../vm/WorldState.js'
import type { AccountManager } from '../accounts/index.js'
import type { CallRunner } from './CallRunner.js'
import type { TxJournal } from './TxJournal.js'
import { headerNotFound, NodeError } from './errors.js'
import { auditTotalSupply } from './TotalSupply.js'
import type { TransactionTracer } from '../vm/TransactionTracer.js'
import { AssetRegistryReader } from '../market/assets/AssetRegistryReader.js'
import { assetRpcMethods } from '../market/assets/AssetRpcMethods.js'
import { backendCaller } from '../market/client/MarketChain.js'

const GWEI = 1_000_000_000n

/** What the RPC backend reads of network/'s Network (admin_peers, net_peerCount, eth_syncing). */
export interface NetworkView {
  readonly peerId: string
  multiaddrs(): string[]
  peerCount(): number
  peers(): { id: string; client: string; remoteAddress: string; direction: string; headNumber: bigint; headHash: Uint8Array; score: number }[]
  syncing(): { startingBlock: bigint; currentBlock: bigint; highestBlock: bigint } | false
}

/** The automine side of node/DevMiner that local transactions wait on (see NodeBackend.addLocal). */
export interface AutomineWait {
  readonly busy: boolean
  ticket(): number
  sealedAfter(ticket: number): Promise<void>
}

/** The RpcBackend over a running node: the chain, the state, the pool and the accounts. */
export class NodeBackend implements RpcBackend {
  readonly clientVersion: string

  constructor(
    readonly chainId: bigint,
    readonly devMode: boolean,
    private readonly d: {
      store: BlockStore
      state: WorldState
      chain: ChainService
      pool: TxPool
      accounts: AccountManager
      calls: CallRunner
      tracer: TransactionTracer
      /** Local transactions are journaled so that an acknowledged one survives a crash. */
      journal?: TxJournal
      common: Common
      coinbase: Uint8Array
      version: string
      nodeId: string
      /** The p2p network, when the node runs one: peers, sync state, listen addresses. */
      network?: NetworkView
      /** --dev automine (node/DevMiner), once it runs: a local transaction is answered when its block is sealed. */
      automine?: () => AutomineWait | undefined
    },
  ) {
    this.clientVersion = `povchain/v${d.version}/${process.platform}-${process.arch}/node${process.versions.node}`
  }

  head(): BlockHeader {
    return this.d.store.head()
  }

  async headerByRef(ref: BlockRef): Promise<BlockHeader | undefined> {
    const { store } = this.d
    if (typeof ref === 'bigint') return store.canonicalHeader(ref)
    if (typeof ref === 'object') {
      const h = await store.getHeader(ref.hash)
      if (h && ref.requireCanonical && !(await store.isCanonical(h)))
        throw new NodeError('NOT_CANONICAL', `block ${bytesToHex(ref.hash)} is not canonical`)
      return h
    }
    switch (ref) {
      case 'latest':
      case 'pending':
        return store.head()
      case 'earliest':
        return store.canonicalHeader(0n)
      case 'safe':
      case 'finalized': {
        // Proof-of-Value finality (ChainService's FinalityGadget), in --dev too: safe is the
        // highest justified block (the head once its vote is counted), finalized one below.
        const h = ref === 'safe' ? store.safe() : store.finalized()
        return h ? store.getHeader(h) : undefined
      }
    }
  }

  private async requireHeader(ref: BlockRef): Promise<BlockHeader> {
    const h = await this.headerByRef(ref)
    if (!h) throw headerNotFound()
    return h
  }

  async blockByRef(ref: BlockRef): Promise<Block | undefined> {
    const h = await this.headerByRef(ref)
    return h ? this.d.store.getBlock(h.hash()) : undefined
  }

  canonicalHeader(number: bigint): Promise<BlockHeader | undefined> {
    return this.d.store.canonicalHeader(number)
  }

  receipts(blockHash: Uint8Array): Promise<TxReceipt[] | undefined> {
    return this.d.store.getReceipts(blockHash)
  }

  txLocation(txHash: Uint8Array) {
    return this.d.store.txLocation(txHash)
  }

  private async account(address: Uint8Array, ref: BlockRef) {
    const h = await this.requireHeader(ref)
    const sm = await this.d.state.readerAt(h.stateRoot)
    return { sm, acct: await sm.getAccount(new Address(address)) }
  }

  async getBalance(address: Uint8Array, ref: BlockRef): Promise<bigint> {
    return (await this.account(address, ref)).acct?.balance ?? 0n
  }

  async getNonce(address: Uint8Array, ref: BlockRef): Promise<bigint> {
    if (ref === 'pending') return this.d.pool.pendingNonce(address)
    return (await this.account(address, ref)).acct?.nonce ?? 0n
  }

  async getCode(address: Uint8Array, ref: BlockRef): Promise<Uint8Array> {
    const h = await this.requireHeader(ref)
    const sm = await this.d.state.readerAt(h.stateRoot)
    return sm.getCode(new Address(address))
  }

  async getStorageAt(address: Uint8Array, slot: Uint8Array, ref: BlockRef): Promise<Uint8Array> {
    const h = await this.requireHeader(ref)
    const sm = await this.d.state.readerAt(h.stateRoot)
    const key = slot.length === 32 ? slot : bigintToFixedBytes(BigInt(bytesToHex(slot) === '0x' ? 0 : bytesToHex(slot)), 32)
    const v = await sm.getStorage(new Address(address), key)
    const out = new Uint8Array(32)
    out.set(v, 32 - v.length)
    return out
  }

  async call(req: CallRequest, ref: BlockRef, overrides?: StateOverrides): Promise<CallResult> {
    return this.d.calls.call(req, await this.callHeader(ref), overrides)
  }

  async estimateGas(req: CallRequest, ref: BlockRef, overrides?: StateOverrides): Promise<EstimateResult> {
    return this.d.calls.estimateGas(req, await this.callHeader(ref), overrides)
  }

  /**
   * The block a call runs in. 'pending' is the block the node would seal next, as Geth's: the
   * head's state, with the next number and the clock's time (never before head + 1) — so
   * time-dependent checks (a vote window that has closed, a deadline passed) answer as the
   * transaction would when sent now, where 'latest' answers as of the head's older timestamp.
   */
  private async callHeader(ref: BlockRef): Promise<BlockHeader> {
    const h = await this.requireHeader(ref)
    if (ref !== 'pending') return h
    const now = BigInt(Math.floor(Date.now() / 1000))
    return h.with({ number: h.number + 1n, timestamp: now > h.timestamp ? now : h.timestamp + 1n, parentHash: h.hash() })
  }

  async createAccessList(req: CallRequest, ref: BlockRef): Promise<AccessListResult> {
    return this.d.calls.createAccessList(req, await this.requireHeader(ref))
  }

  /** EIP-1186 proof from the state trie at the block (ethereumjs builds the Merkle proofs). */
  async getProof(address: Uint8Array, storageKeys: Uint8Array[], ref: BlockRef): Promise<AccountProof> {
    const h = await this.requireHeader(ref)
    const sm = await this.d.state.readerAt(h.stateRoot)
    const p = await getMerkleStateProof(sm, new Address(address), storageKeys)
    return {
      address,
      balance: BigInt(p.balance),
      nonce: BigInt(p.nonce),
      codeHash: hexToBytes(p.codeHash),
      storageHash: hexToBytes(p.storageHash),
      accountProof: p.accountProof.map((n) => hexToBytes(n)),
      // An absent account has no storage: every slot is zero, proven by the account proof.
      storageProof: storageKeys.map((key, i) => {
        const s = p.storageProof[i]
        return { key, value: s ? BigInt(s.value === '0x' ? 0 : s.value) : 0n, proof: s ? s.proof.map((n) => hexToBytes(n)) : [] }
      }),
    }
  }

  async sendRawTransaction(raw: Uint8Array): Promise<Uint8Array> {
    return this.addLocal(decodePoolTransaction(raw, this.d.common), raw)
  }

  /**
   * Pools a local transaction and journals it. Under automine, a transaction that finds the miner
   * idle is answered once the production round that takes it has ended (as Hardhat's and Anvil's
   * automine do), so the sender's first receipt poll finds the receipt. A queued transaction
   * (nonce gap) and one that arrives while a block is being built are answered at once: the
   * latter joins the next block with the rest of the burst, and its sender keeps sending.
   */
  private async addLocal(tx: TypedTransaction, raw: Uint8Array): Promise<Uint8Array> {
    const miner = this.d.automine?.()
    const idle = miner !== undefined && !miner.busy
    const { hash, status } = await this.d.pool.add(tx)
    this.d.journal?.append(raw)
    // The ticket is taken after the add: a round that began before the transaction was in the
    // pool is not the one that takes it (the pool's pending event set the miner going again).
    if (idle && status === 'pending') await miner.sealedAfter(miner.ticket())
    return hash
  }

  private async fillRequest(req: CallRequest): Promise<CallRequest> {
    if (!req.from) throw new NodeError('MISSING_FROM', 'missing from address')
    // Geth checks the account before estimating: an unknown sender is "unknown account", not a gas failure.
    if (!this.d.accounts.has(req.from)) throw new NodeError('UNKNOWN_ACCOUNT', 'unknown account')
    const filled: CallRequest = { ...req }
    if (filled.nonce === undefined) filled.nonce = await this.d.pool.pendingNonce(req.from)
    if (filled.gasPrice === undefined && filled.maxFeePerGas === undefined) {
      const tip = filled.maxPriorityFeePerGas ?? (await this.maxPriorityFeePerGas())
      filled.maxPriorityFeePerGas = tip
      filled.maxFeePerGas = 2n * nextBaseFee(this.head()) + tip
    } else if (filled.maxFeePerGas !== undefined && filled.maxPriorityFeePerGas === undefined) {
      const tip = await this.maxPriorityFeePerGas()
      filled.maxPriorityFeePerGas = tip < filled.maxFeePerGas ? tip : filled.maxFeePerGas
    }
    if (filled.gas === undefined) {
      const est = await this.estimateGas({ ...filled, nonce: undefined }, 'pending')
      if (!est.ok) throw callFailure(est.result)
      filled.gas = est.gas
    }
    filled.chainId = this.chainId
    return filled
  }

  async sendTransaction(req: CallRequest): Promise<Uint8Array> {
    const tx = this.d.accounts.signTransaction(await this.fillRequest(req), this.d.common)
    return this.addLocal(tx, tx.serialize())
  }

  async signTransaction(req: CallRequest): Promise<Uint8Array> {
    return this.d.accounts.signTransaction(await this.fillRequest(req), this.d.common).serialize()
  }

  poolTransaction(hash: Uint8Array): TypedTransaction | undefined {
    return this.d.pool.get(hash)
  }

  poolContent(): PoolContent {
    return this.d.pool.content()
  }

  poolStatus() {
    return this.d.pool.status()
  }

  accounts(): Uint8Array[] {
    return this.d.accounts.accounts()
  }

  async sign(address: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
    return this.d.accounts.sign(address, message)
  }

  async signTypedData(address: Uint8Array, typedData: unknown): Promise<Uint8Array> {
    return this.d.accounts.signTypedData(address, typedData)
  }

  coinbase(): Uint8Array {
    return this.d.coinbase
  }

  /**
   * The suggested tip plus the higher of the head's base fee (what eth_call/eth_estimateGas at
   * `latest` charge, as Geth does) and the next block's (what inclusion needs): a legacy
   * transaction priced at this passes both estimation and the pool.
   */
  async gasPrice(): Promise<bigint> {
    const head = this.head()
    const next = nextBaseFee(head)
    return (head.baseFeePerGas > next ? head.baseFeePerGas : next) + (await this.maxPriorityFeePerGas())
  }

  /**
   * The 60th percentile of tips paid in the last 20 blocks (Geth's oracle), at least 1 wei in
   * dev mode and 1 gwei otherwise when blocks are empty.
   */
  async maxPriorityFeePerGas(): Promise<bigint> {
    const head = this.head()
    const tips: bigint[] = []
    for (let n = head.number, i = 0; n > 0n && i < 20; n--, i++) {
      const h = await this.d.store.canonicalHeader(n)
      if (!h) break
      const r = await this.d.store.getReceipts(h.hash())
      for (const x of r ?? []) tips.push(x.effectiveGasPrice - h.baseFeePerGas)
      if (tips.length > 500) break
    }
    const floor = this.devMode ? 1n : GWEI
    if (!tips.length) return floor
    tips.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const t = tips[Math.floor((tips.length - 1) * 0.6)]!
    return t > floor ? t : floor
  }

  async feeHistory(blockCount: number, newest: BlockRef, percentiles: number[]): Promise<FeeHistory> {
    const last = await this.requireHeader(newest)
    const count = BigInt(Math.max(1, Math.min(blockCount, 1024)))
    const oldest = last.number + 1n > count ? last.number + 1n - count : 0n
    const out: FeeHistory = { oldestBlock: oldest, baseFeePerGas: [], gasUsedRatio: [], reward: percentiles.length ? [] : undefined }
    for (let n = oldest; n <= last.number; n++) {
      const h = (await this.d.store.canonicalHeader(n))!
      out.baseFeePerGas.push(h.baseFeePerGas)
      out.gasUsedRatio.push(h.gasLimit ? Number(h.gasUsed) / Number(h.gasLimit) : 0)
      if (out.reward) {
        const receipts = (await this.d.store.getReceipts(h.hash())) ?? []
        const byTip = receipts.map((r) => ({ tip: r.effectiveGasPrice - h.baseFeePerGas, gas: r.gasUsed })).sort((a, b) => (a.tip < b.tip ? -1 : a.tip > b.tip ? 1 : 0))
        const total = byTip.reduce((s, x) => s + x.gas, 0n)
        out.reward.push(
          percentiles.map((p) => {
            if (!byTip.length) return 0n
            const threshold = (total * BigInt(Math.round(p * 100))) / 10000n
            let acc = 0n
            for (const x of byTip) {
              acc += x.gas
              if (acc >= threshold) return x.tip
            }
            return byTip[byTip.length - 1]!.tip
          }),
        )
      }
    }
    out.baseFeePerGas.push(nextBaseFee(last))
    return out
  }

  async traceTransaction(hash: Uint8Array, options: Record<string, unknown>): Promise<unknown> {
    const loc = await this.d.store.txLocation(hash)
    if (!loc) throw new NodeError('TX_NOT_FOUND', `transaction ${bytesToHex(hash)} not found`)
    const block = (await this.d.store.getBlock(loc.blockHash))!
    const parent = (await this.d.store.getHeader(block.header.parentHash))!
    return this.d.tracer.trace(parent.stateRoot, block, loc.index, options)
  }

  onNewHead(listener: (block: Block, receipts: TxReceipt[]) => void): Unsubscribe {
    return this.d.chain.onNewHead(listener)
  }

  onRemovedBlock(listener: (block: Block, receipts: TxReceipt[]) => void): Unsubscribe {
    return this.d.chain.onRemovedBlock(listener)
  }

  onPendingTransaction(listener: (tx: TypedTransaction) => void): Unsubscribe {
    return this.d.pool.onPending(listener)
  }

  syncing(): SyncStatus | false {
    return this.d.network?.syncing() ?? false
  }

  peerCount(): number {
    return this.d.network?.peerCount() ?? 0
  }

  listening(): boolean {
    return true
  }

  nodeInfo(): NodeInfo {
    const net = this.d.network
    const listenAddrs = net?.multiaddrs() ?? []
    return {
      id: net?.peerId ?? this.d.nodeId,
      name: this.clientVersion,
      enode: listenAddrs[0],
      listenAddrs,
      protocols: { povchain: { chainId: Number(this.chainId), head: bytesToHex(this.head().hash()), headNumber: Number(this.head().number) } },
    }
  }

  peers(): PeerInfo[] {
    return (this.d.network?.peers() ?? []).map((p) => ({
      id: p.id,
      name: p.client,
      remoteAddress: p.remoteAddress,
      protocols: { povchain: { head: bytesToHex(p.headHash), headNumber: Number(p.headNumber), score: p.score, direction: p.direction } },
    }))
  }

  private readonly addedMethods: Record<string, ExtraMethod> = {}

  /** More pov_* methods from other components (the work market's); add them before the RPC starts. */
  addMethods(methods: Record<string, ExtraMethod>): void {
    Object.assign(this.addedMethods, methods)
  }

  /** pov_* methods: the Proof-of-Value view of the chain. */
  extraMethods(): Record<string, ExtraMethod> {
    return {
      ...this.addedMethods,
      // pov_getAsset, pov_listAssets, pov_getAssetScore: reads of the AssetRegistry system contract.
      ...assetRpcMethods(new AssetRegistryReader(backendCaller(this))),
      ...this.headMethods(),
    }
  }

  private headMethods(): Record<'pov_producer' | 'pov_totalSupply', ExtraMethod> {
    return withArity({
      pov_producer: async () => {
        const h = this.head()
        return { number: `0x${h.number.toString(16)}`, slot: `0x${h.slot.toString(16)}`, producer: bytesToHex(h.producer), jobId: bytesToHex(h.jobId), sessionId: bytesToHex(h.sessionId) }
      },
      // Native coins in existence at a block: the sum of all balances in its state (node/TotalSupply.ts).
      pov_totalSupply: async (params) => {
        const h = await this.requireHeader(blockRef(params[0] ?? 'latest', 0))
        const { totalSupply, accounts } = await auditTotalSupply(this.d.state, h.stateRoot)
        return { blockNumber: `0x${h.number.toString(16)}`, blockHash: bytesToHex(h.hash()), totalSupply: `0x${totalSupply.toString(16)}`, accounts }
      },
    }, { pov_producer: [0, 0], pov_totalSupply: [0, 1] })
  }

  isHead(hash: Uint8Array): boolean {
    return equalBytes(hash, this.head().hash())
  }
}
