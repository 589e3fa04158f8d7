import { encode } from '@ethereumjs/rlp'
import { createTx, type TypedTransaction } from '@ethereumjs/tx'
import { decode as rlpDecode } from '@ethereumjs/rlp'
import { decodeFunctionData, encodeFunctionData, parseAbi } from 'viem'
import type { Common } from '../../chain/ChainCommon.js'
import { keccak256 } from '../../chain/keccak.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { bigintToBytes, bytesToBigint, bytesToHex, concatBytes, equalBytes, hexToBytes, u64ToBytes } from '../../common/bytes.js'
import type { SystemCall } from '../../consensus/ConsensusEngine.js'
import type { BlockHeader } from '../../chain/Header.js'
import type { PovContracts, WorkReceiptView } from '../../consensus/PovContracts.js'
import type { WeightedValidator } from '../../consensus/WeightedLeaderSchedule.js'
import { cons, PMap, type Cons } from './Persistent.js'

/**
 * The system contracts as the simulator models them: no EVM, but the rules of
 * genesis/contracts/ValidatorSet.sol (with ValidatorSetCredits.sol) and the receipt book of
 * genesis/contracts/WorkMarket.sol, applied to a state that is keyed by state root, so every
 * branch has its own contract state exactly as on the real chain. Line numbers below are those
 * of the Solidity sources at the time of writing.
 *
 * Modelled: validatorsAt / snapshotEpochFor (ValidatorSet.sol 243–258), epochTransition
 * (228–239) with _snapshot (476–520) and _storeSnapshot (522–527), weightOf (266–269),
 * onReceipt (297–310) with the pair cap, _addCandidate / _removeCandidate (531–561), the credit
 * queue (ValidatorSetCredits.sol 17–66), the genesis constructor (198–219), WorkMarket's
 * _recordReceipt (WorkMarket.sol 913–918), getReceipt (572–574), receiptCount / receiptsOf
 * (584–594) and the genesis receipts (280–281).
 * Not modelled (no effect on who produces in the simulator): rewards (_reward), bonding and
 * unbonding (every validator keeps its genesis bond), slashing and jail (evidence is detected
 * by the real ChainService/FinalityGadget and recorded, not submitted), the AssetRegistry.
 */

export const VALIDATOR_SET = hexToBytes('0x0000000000000000000000000000000000000a00')
export const WORK_MARKET = hexToBytes('0x0000000000000000000000000000000000000b00')
const validatorSetAbi = parseAbi(['function epochTransition(uint64 epoch)'])

/** ValidatorSet.sol constants (46–50). */
export const MAX_CANDIDATES = 64
export const MAX_CREDITS = 16
export const MAX_PAIR_CREDITS = 8

/** ValidatorSet's constructor parameters that the model uses (ValidatorSet.sol 59–80). */
export interface ValidatorSetConfig {
  minBond: bigint
  maxValidators: number
  weightWindowBlocks: bigint
  maxWeight: bigint
  pairCapPerWindow: bigint
}

export interface Credit {
  readonly blockNumber: bigint
  readonly amount: bigint
}

export interface Snapshot {
  readonly epoch: bigint
  /** Sorted by address ascending, weights > 0 (ValidatorSet.sol 241–242). */
  readonly validators: readonly string[]
  readonly weights: readonly bigint[]
}

/** The contract state after one block (shared with the parent where unchanged). */
export interface ContractState {
  readonly number: bigint
  // ValidatorSet
  readonly lastEpoch: bigint
  readonly bonded: ReadonlyMap<string, bigint>
  readonly credits: ReadonlyMap<string, readonly Credit[]>
  readonly pairCredits: ReadonlyMap<string, readonly Credit[]>
  readonly candidates: readonly string[]
  /** _snapshotEpochs with their sets, newest first. */
  readonly snapshots: Cons<Snapshot>
  // WorkMarket
  readonly receipts: PMap<WorkReceiptView>
  /** _receiptsOf: each worker's session ids, newest first. */
  readonly receiptsOf: ReadonlyMap<string, Cons<string>>
}

const hex = (b: Uint8Array) => bytesToHex(b)

// ------------------------------------------------------------------ CreditQueue

/** CreditQueue.decayed (ValidatorSetCredits.sol 17–24): Σ amount × (window − age) / window over live credits. */
export function decayed(q: readonly Credit[], nowBlock: bigint, window: bigint): bigint {
  let sum = 0n
  for (const c of q) {
    const age = nowBlock - c.blockNumber
    if (age < window) sum += (c.amount * (window - age)) / window
  }
  return sum
}

/** CreditQueue.active (27–33): Σ amount over live credits. */
function active(q: readonly Credit[], nowBlock: bigint, window: bigint): bigint {
  let sum = 0n
  for (const c of q) if (nowBlock - c.blockNumber < window) sum += c.amount
  return sum
}

/** CreditQueue.add (54–66) after prune (36–47); returns the new list. */
function addCredit(q: readonly Credit[], nowBlock: bigint, window: bigint, amount: bigint, maxEntries: number, averageBlock: boolean): Credit[] {
  const kept = q.filter((c) => nowBlock - c.blockNumber < window)
  if (kept.length < maxEntries) return [...kept, { blockNumber: nowBlock, amount }]
  const last = kept[kept.length - 1]!
  const total = last.amount + amount
  const at = averageBlock ? (last.amount * last.blockNumber + amount * nowBlock) / total : nowBlock
  return [...kept.slice(0, -1), { blockNumber: at, amount: total }]
}

// ------------------------------------------------------------------ views

/** ValidatorSet.weightOf (266–269) as of block `nowBlock`. */
export function weightOf(s: ContractState, cfg: ValidatorSetConfig, v: string, nowBlock: bigint): bigint {
  const w = decayed(s.credits.get(v) ?? [], nowBlock, cfg.weightWindowBlocks)
  return w < cfg.maxWeight ? w : cfg.maxWeight
}

/** ValidatorSet.snapshotEpochFor + validatorsAt (243–258): the latest snapshot stored for an epoch ≤ `epoch`. */
export function snapshotFor(s: ContractState, epoch: bigint): Snapshot {
  for (let c: Cons<Snapshot> | undefined = s.snapshots; c; c = c.tail) if (c.head.epoch <= epoch) return c.head
  // _snapshotEpochs[0] == 0 ≤ epoch always (the constructor stores epoch 0).
  throw new Error('no snapshot: the genesis state stores epoch 0')
}

// ------------------------------------------------------------------ one block's writes

/** A block's writes on top of its parent's state; maps are copied on first write. */
class Draft {
  lastEpoch: bigint
  private credits?: Map<string, readonly Credit[]>
  private pairCredits?: Map<string, readonly Credit[]>
  private candidates?: string[]
  snapshots: Cons<Snapshot>
  receipts: PMap<WorkReceiptView>
  private receiptsOf?: Map<string, Cons<string>>

  constructor(
    private readonly base: ContractState,
    private readonly cfg: ValidatorSetConfig,
    /** block.number of the block being executed. */
    private readonly number: bigint,
  ) {
    this.lastEpoch = base.lastEpoch
    this.snapshots = base.snapshots
    this.receipts = base.receipts
  }

  private creditsW(): Map<string, readonly Credit[]> {
    return (this.credits ??= new Map(this.base.credits))
  }
  private candidatesW(): string[] {
    return (this.candidates ??= [...this.base.candidates])
  }
  private get cands(): readonly string[] {
    return this.candidates ?? this.base.candidates
  }
  private credit(v: string): readonly Credit[] {
    return (this.credits ?? this.base.credits).get(v) ?? []
  }
  private weight(v: string): bigint {
    const w = decayed(this.credit(v), this.number, this.cfg.weightWindowBlocks)
    return w < this.cfg.maxWeight ? w : this.cfg.maxWeight
  }
  private bonded(v: string): bigint {
    return this.base.bonded.get(v) ?? 0n
  }

  /**
   * epochTransition: a no-op for epochs already transitioned; a branch that skipped epoch − 1
   * first elects the set for `epoch` (the late election), then the set for epoch + 1.
   */
  epochTransition(epoch: bigint): void {
    if (epoch <= this.lastEpoch) return
    const previous = this.lastEpoch
    // _reward(previous, epoch): pays owed balances only — not modelled (no effect on weights).
    this.lastEpoch = epoch
    if (previous + 1n < epoch) this.snapshot(epoch - 1n)
    this.snapshot(epoch)
  }

  /** _snapshot: store _elect's set for epoch + 1 (or carry), drop candidates without bond or weight. */
  private snapshot(epoch: bigint): void {
    const { validators, weights } = this.elect(epoch)
    for (let i = this.cands.length; i > 0; i--) {
      const v = this.cands[i - 1]!
      if (this.bonded(v) < this.cfg.minBond || this.weight(v) === 0n) this.removeCandidate(v)
    }
    if (validators.length === 0) return // ValidatorSetCarried: the last snapshot stays in force
    this.snapshots = cons({ epoch: epoch + 1n, validators, weights }, this.snapshots)
  }

  /** ValidatorSet.validatorsElectedFor(epoch) on this state and block number (the anchor's state at anchor + 1). */
  electedFor(epoch: bigint): { validators: readonly string[]; weights: readonly bigint[] } {
    const e = this.elect(epoch - 1n)
    return e.validators.length > 0 ? e : this.snapshots.head
  }

  /** _elect: bond ≥ minBond, weight > 0 (nobody is jailed in the model); the heaviest maxValidators, by address. */
  private elect(epoch: bigint): { validators: string[]; weights: bigint[] } {
    void epoch
    const cands = this.cands
    const n = cands.length
    const vs: string[] = []
    const ws: bigint[] = []
    let m = 0
    for (let i = n; i > 0; i--) {
      const v = this.cands[i - 1]!
      const w = this.weight(v)
      if (this.bonded(v) < this.cfg.minBond || w === 0n) continue
      // _jailedAt: nobody is jailed in the model (slashing is not modelled).
      let j = m
      while (j > 0 && (ws[j - 1]! < w || (ws[j - 1] === w && vs[j - 1]! > v))) {
        vs[j] = vs[j - 1]!
        ws[j] = ws[j - 1]!
        j--
      }
      vs[j] = v
      ws[j] = w
      m++
    }
    if (m > this.cfg.maxValidators) m = this.cfg.maxValidators
    const outV: string[] = []
    const outW: bigint[] = []
    for (let i = 0; i < m; i++) {
      let j = i
      while (j > 0 && outV[j - 1]! > vs[i]!) {
        outV[j] = outV[j - 1]!
        outW[j] = outW[j - 1]!
        j--
      }
      outV[j] = vs[i]!
      outW[j] = ws[i]!
    }
    return { validators: outV, weights: outW }
  }

  /** _addCandidate (531–550). */
  private addCandidate(v: string): void {
    if (this.cands.includes(v)) return
    const c = this.candidatesW()
    if (c.length >= MAX_CANDIDATES) {
      let lightest = -1n
      let out: string | undefined
      for (const x of c) {
        const w = this.weight(x)
        if (lightest < 0n || w < lightest) {
          lightest = w
          out = x
        }
      }
      if (this.weight(v) <= lightest) return
      this.removeCandidate(out!)
    }
    c.push(v)
  }

  /** _removeCandidate (552–561): swap with the last, pop. */
  private removeCandidate(v: string): void {
    const c = this.candidatesW()
    const i = c.indexOf(v)
    if (i < 0) return
    c[i] = c[c.length - 1]!
    c.pop()
  }

  /** WorkMarket._recordReceipt (913–918) for an accepted session, then ValidatorSet.onReceipt (297–310). */
  recordReceipt(r: WorkReceiptView): boolean {
    const sid = hex(r.sessionId)
    // A session is finalised once: a second finalisation reverts in WorkMarket (the block stays valid).
    if (this.receipts.get(sid)) return false
    this.receipts = this.receipts.set(sid, r)
    const worker = hex(r.worker)
    const of = (this.receiptsOf ??= new Map(this.base.receiptsOf))
    of.set(worker, cons(sid, of.get(worker)))
    this.onReceipt(worker, hex(r.client), r.protocolFee)
    return true
  }

  /** ValidatorSet.onReceipt (297–310). */
  private onReceipt(worker: string, client: string, protocolFee: bigint): void {
    const window = this.cfg.weightWindowBlocks
    const key = pairKey(client, worker)
    const pairs = (this.pairCredits ??= new Map(this.base.pairCredits))
    const pair = pairs.get(key) ?? []
    const used = active(pair, this.number, window)
    const room = used < this.cfg.pairCapPerWindow ? this.cfg.pairCapPerWindow - used : 0n
    const credit = protocolFee < room ? protocolFee : room
    if (credit > 0n) {
      pairs.set(key, addCredit(pair, this.number, window, credit, MAX_PAIR_CREDITS, false))
      this.creditsW().set(worker, addCredit(this.credit(worker), this.number, window, credit, MAX_CREDITS, true))
      if (this.bonded(worker) >= this.cfg.minBond) this.addCandidate(worker)
    }
  }

  finish(): ContractState {
    const b = this.base
    return {
      number: this.number,
      lastEpoch: this.lastEpoch,
      bonded: b.bonded,
      credits: this.credits ?? b.credits,
      pairCredits: this.pairCredits ?? b.pairCredits,
      candidates: this.candidates ?? b.candidates,
      snapshots: this.snapshots,
      receipts: this.receipts,
      receiptsOf: this.receiptsOf ?? b.receiptsOf,
    }
  }
}

function pairKey(client: string, worker: string): string {
  return `${client}:${worker}`
}

// ------------------------------------------------------------------ genesis

export interface GenesisValidator {
  address: Uint8Array
  bond: bigint
  weight: bigint
}

export function genesisSessionId(v: Uint8Array): Uint8Array {
  return keccak256(concatBytes(new TextEncoder().encode('povchain/sim-genesis-session'), v))
}

/** The ValidatorSet constructor (198–219) and WorkMarket's genesis receipts (WorkMarket.sol 280–281). */
export function genesisState(cfg: ValidatorSetConfig, validators: readonly GenesisValidator[]): ContractState {
  const sorted = [...validators].sort((a, b) => (hex(a.address) < hex(b.address) ? -1 : 1))
  const bonded = new Map<string, bigint>()
  const credits = new Map<string, readonly Credit[]>()
  const candidates: string[] = []
  let receipts = PMap.empty<WorkReceiptView>()
  const receiptsOf = new Map<string, Cons<string>>()
  const vs: string[] = []
  const ws: bigint[] = []
  for (const g of sorted) {
    const v = hex(g.address)
    bonded.set(v, g.bond)
    credits.set(v, [{ blockNumber: 0n, amount: g.weight }])
    candidates.push(v)
    vs.push(v)
    ws.push(g.weight < cfg.maxWeight ? g.weight : cfg.maxWeight)
    const sessionId = genesisSessionId(g.address)
    const r: WorkReceiptView = {
      jobId: keccak256(concatBytes(new TextEncoder().encode('povchain/sim-genesis-job'), g.address)),
      sessionId,
      worker: g.address,
      client: new Uint8Array(20),
      workloadId: new Uint8Array(32),
      blockNumber: 0n,
      accepted: true,
      value: g.weight,
      protocolFee: g.weight,
    }
    receipts = receipts.set(hex(sessionId), r)
    receiptsOf.set(v, cons(hex(sessionId), undefined))
  }
  return {
    number: 0n,
    lastEpoch: 0n,
    bonded,
    credits,
    pairCredits: new Map(),
    candidates,
    snapshots: cons({ epoch: 0n, validators: vs, weights: ws }, undefined),
    receipts,
    receiptsOf,
  }
}

/** A simple, deterministic state root for genesis (the header commits to it). */
export function genesisRoot(seed: number): Uint8Array {
  return keccak256(concatBytes(new TextEncoder().encode('povchain/sim-genesis-state'), u64ToBytes(BigInt(seed >>> 0))))
}

// ------------------------------------------------------------------ the state database and the reader

/**
 * One node's contract states by state root (what its trie database would hold). States below
 * the node's finalized block can be pruned for long runs: consensus never reads them again
 * (an import whose parent is below the finalized block is refused before it reads state).
 */
export class StateStore {
  private readonly states = new Map<string, ContractState>()

  get(root: Uint8Array): ContractState {
    const s = this.states.get(hex(root))
    if (!s) throw new Error(`sim state ${hex(root).slice(0, 14)}… is unknown to this node`)
    return s
  }

  has(root: Uint8Array): boolean {
    return this.states.has(hex(root))
  }

  put(root: Uint8Array, s: ContractState): void {
    this.states.set(hex(root), s)
  }

  get size(): number {
    return this.states.size
  }

  /** Drops states of blocks below `number` (never genesis). */
  prune(number: bigint): void {
    for (const [k, s] of this.states) if (s.number > 0n && s.number < number) this.states.delete(k)
  }
}

/** PovContracts over the model: what node/PovContractReader.ts reads with view calls. */
export class SimContractReader implements PovContracts {
  constructor(
    private readonly states: StateStore,
    private readonly cfg: ValidatorSetConfig,
  ) {}

  async validatorsAt(stateRoot: Uint8Array, epoch: bigint): Promise<WeightedValidator[]> {
    const snap = snapshotFor(this.states.get(stateRoot), epoch)
    // PovContractReader.validatorsAt drops zero weights the same way.
    return snap.validators.map((a, i) => ({ address: hexToBytes(a), weight: snap.weights[i]! })).filter((v) => v.weight > 0n)
  }

  async electedFor(anchor: BlockHeader, epoch: bigint): Promise<WeightedValidator[]> {
    const set = new Draft(this.states.get(anchor.stateRoot), this.cfg, anchor.number + 1n).electedFor(epoch)
    return set.validators.map((a, i) => ({ address: hexToBytes(a), weight: set.weights[i]! })).filter((v) => v.weight > 0n)
  }

  async receipt(stateRoot: Uint8Array, sessionId: Uint8Array): Promise<WorkReceiptView | undefined> {
    return this.states.get(stateRoot).receipts.get(hex(sessionId))
  }

  async recentReceipts(stateRoot: Uint8Array, worker: Uint8Array, limit: number): Promise<WorkReceiptView[]> {
    const s = this.states.get(stateRoot)
    const out: WorkReceiptView[] = []
    for (let c = s.receiptsOf.get(hex(worker)); c && out.length < limit; c = c.tail) out.push(s.receipts.get(c.head)!)
    return out
  }

  epochTransition(epoch: bigint): SystemCall {
    return {
      to: VALIDATOR_SET,
      data: hexToBytes(encodeFunctionData({ abi: validatorSetAbi, functionName: 'epochTransition', args: [epoch] })),
      label: `ValidatorSet.epochTransition(${epoch})`,
    }
  }

  /** Live weight at a state as of block `nowBlock` (for the measurements). */
  weightOf(stateRoot: Uint8Array, v: Uint8Array, nowBlock: bigint): bigint {
    return weightOf(this.states.get(stateRoot), this.cfg, hex(v), nowBlock)
  }
}

// ------------------------------------------------------------------ work transactions

/**
 * The simulator's stand-in for the transaction that finalises an accepted WorkMarket session
 * (the verifiers' last vote): a real signed EIP-1559 transaction to WORK_MARKET whose data is
 * RLP([worker, client, jobId, sessionId, workloadId, value, protocolFee]).
 */
export interface WorkOrder {
  worker: Uint8Array
  client: Uint8Array
  jobId: Uint8Array
  sessionId: Uint8Array
  workloadId: Uint8Array
  value: bigint
  protocolFee: bigint
}

export const MARKET_KEY = keccak256(new TextEncoder().encode('povchain/sim-market-key'))
export const MARKET_ADDRESS = privateKeyToAddress(MARKET_KEY)

export function workTransaction(w: WorkOrder, nonce: bigint, common: Common): TypedTransaction {
  const data = encode([w.worker, w.client, w.jobId, w.sessionId, w.workloadId, bigintToBytes(w.value), bigintToBytes(w.protocolFee)])
  return createTx(
    { type: 2, nonce, to: WORK_MARKET, value: 0n, gasLimit: 100_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n, data, chainId: common.chainId() },
    { common },
  ).sign(MARKET_KEY)
}

export function decodeWorkOrder(tx: TypedTransaction): WorkOrder | undefined {
  if (!tx.to || !equalBytes(tx.to.bytes, WORK_MARKET)) return undefined
  try {
    const f = rlpDecode(tx.data) as Uint8Array[]
    if (!Array.isArray(f) || f.length !== 7) return undefined
    return { worker: f[0]!, client: f[1]!, jobId: f[2]!, sessionId: f[3]!, workloadId: f[4]!, value: bytesToBigint(f[5]!), protocolFee: bytesToBigint(f[6]!) }
  } catch {
    return undefined
  }
}

// ------------------------------------------------------------------ applying a block

export interface Applied {
  state: ContractState
  root: Uint8Array
  /** Per transaction: 1 when it recorded a receipt, 0 when it did nothing (a session finalised twice). */
  statuses: (0 | 1)[]
}

/**
 * Executes a block on the model: the system calls (ValidatorSet.epochTransition), then the
 * work transactions. The new state root is keccak(parent root ‖ the block's contents), so it
 * is a pure function of the parent state and the block.
 */
export function applyBlock(
  parentRoot: Uint8Array,
  parent: ContractState,
  cfg: ValidatorSetConfig,
  env: { number: bigint; timestamp: bigint; coinbase: Uint8Array; mixHash: Uint8Array; systemCalls?: { to: Uint8Array; data: Uint8Array }[] },
  txs: readonly TypedTransaction[],
): Applied {
  const d = new Draft(parent, cfg, env.number)
  for (const sc of env.systemCalls ?? []) {
    if (!equalBytes(sc.to, VALIDATOR_SET)) continue // other epoch calls (AssetRegistry) are not modelled
    const call = decodeFunctionData({ abi: validatorSetAbi, data: bytesToHex(sc.data) })
    d.epochTransition(call.args[0])
  }
  const statuses: (0 | 1)[] = []
  for (const tx of txs) {
    const w = decodeWorkOrder(tx)
    const ok =
      w !== undefined &&
      d.recordReceipt({ jobId: w.jobId, sessionId: w.sessionId, worker: w.worker, client: w.client, workloadId: w.workloadId, blockNumber: env.number, accepted: true, value: w.value, protocolFee: w.protocolFee })
    statuses.push(ok ? 1 : 0)
  }
  const contents = encode([
    bigintToBytes(env.number),
    bigintToBytes(env.timestamp),
    env.coinbase,
    env.mixHash,
    (env.systemCalls ?? []).map((c) => c.data),
    txs.map((t) => t.hash()),
    statuses.map((s) => bigintToBytes(BigInt(s))),
  ])
  return { state: d.finish(), root: keccak256(concatBytes(parentRoot, contents)), statuses }
}
