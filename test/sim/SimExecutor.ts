import { genTransactionsTrieRoot } from '@ethereumjs/block'
import { encode } from '@ethereumjs/rlp'
import type { TypedTransaction } from '@ethereumjs/tx'
import type { BlockHeader } from '../../chain/Header.js'
import { keccak256, EMPTY_TRIE_ROOT } from '../../chain/keccak.js'
import type { TxReceipt } from '../../chain/Receipt.js'
import { bigintToBytes, bytesToHex } from '../../common/bytes.js'
import type { PendingTxSource } from '../../consensus/ChainService.js'
import type { BlockExecutor, ExecutedBlock, ExecutionEnv, RejectedTx, TxSource } from '../../vm/BlockExecutor.js'
import { applyBlock, decodeWorkOrder, MARKET_ADDRESS, WORK_MARKET, type StateStore, type ValidatorSetConfig } from './SimContracts.js'

/**
 * ChainService's BlockExecutor for the simulator: no EVM; the block runs on the contract model
 * (SimContracts.ts) and its state lands in the node's StateStore under the new root. Transactions
 * are the work orders the sim market sends; anything else would be refused at import.
 * (vm/BlockExecutor is a class, so this object is handed to ChainService through a cast; the
 * `satisfies` below keeps its two methods' signatures checked against the real ones.)
 */
export function simExecutor(states: StateStore, cfg: ValidatorSetConfig, maxTxsPerBlock = 16): BlockExecutor {
  const run = async (parentStateRoot: Uint8Array, env: ExecutionEnv, txs: TypedTransaction[]): Promise<ExecutedBlock> => {
    const applied = applyBlock(parentStateRoot, states.get(parentStateRoot), cfg, env, txs)
    states.put(applied.root, applied.state)
    const receipts: TxReceipt[] = txs.map((tx, i) => ({
      transactionHash: tx.hash(),
      txType: tx.type,
      status: applied.statuses[i]!,
      cumulativeGasUsed: 0n,
      gasUsed: 0n,
      effectiveGasPrice: 0n,
      from: MARKET_ADDRESS,
      to: WORK_MARKET,
      logs: [],
    }))
    return {
      transactions: txs,
      receipts,
      gasUsed: 0n,
      logsBloom: new Uint8Array(256),
      stateRoot: applied.root,
      receiptsRoot: txs.length === 0 ? EMPTY_TRIE_ROOT : keccak256(encode(receipts.map((r) => [r.transactionHash, bigintToBytes(BigInt(r.status))]))),
      // The real transactions trie root, as NetworkAdapter checks bodies against it.
      transactionsRoot: await genTransactionsTrieRoot(txs),
      stateOps: [],
      stateKeys: [],
    }
  }
  const executor = {
    async execute(parentStateRoot: Uint8Array, env: ExecutionEnv, txs: TypedTransaction[]): Promise<ExecutedBlock> {
      if (txs.some((tx) => decodeWorkOrder(tx) === undefined)) throw Object.assign(new Error('sim: a block carries a transaction the model does not run'), { code: 'VM_INVALID_BLOCK_TX' })
      return run(parentStateRoot, env, txs)
    },
    async build(parentStateRoot: Uint8Array, env: ExecutionEnv, source: TxSource, maxTxs = maxTxsPerBlock): Promise<{ executed: ExecutedBlock; rejected: RejectedTx[] }> {
      const parent = states.get(parentStateRoot)
      const picked: TypedTransaction[] = []
      const rejected: RejectedTx[] = []
      const seen = new Set<string>()
      for (let tx = source.next(); tx && picked.length < Math.min(maxTxs, maxTxsPerBlock); tx = source.next()) {
        const w = decodeWorkOrder(tx)
        const sid = w && bytesToHex(w.sessionId)
        if (!w || !sid || parent.receipts.get(sid) || seen.has(sid)) {
          rejected.push({ tx, reason: 'session already finalised on this branch' })
          continue
        }
        seen.add(sid)
        picked.push(tx)
      }
      return { executed: await run(parentStateRoot, env, picked), rejected }
    },
  } satisfies Pick<BlockExecutor, 'execute' | 'build'>
  return executor as unknown as BlockExecutor
}

/**
 * The node's pending work orders (what its transaction pool would hold): a producer takes those
 * whose session is not finalised at its head yet; orders finalised at the node's finalized
 * block are dropped.
 */
export class SimPool implements PendingTxSource {
  private readonly pending = new Map<string, TypedTransaction>()

  constructor(
    private readonly states: StateStore,
    private readonly head: () => BlockHeader,
  ) {}

  add(tx: TypedTransaction): void {
    const w = decodeWorkOrder(tx)
    if (w) this.pending.set(bytesToHex(w.sessionId), tx)
  }

  get size(): number {
    return this.pending.size
  }

  best(): TxSource {
    const s = this.states.get(this.head().stateRoot)
    const list = [...this.pending].filter(([sid]) => !s.receipts.get(sid)).map(([, tx]) => tx)
    let i = 0
    return { next: () => list[i++], skipSender: () => {} }
  }

  async setHead(): Promise<void> {}

  /** Forgets orders finalised in the state at `root` (the node's finalized block). */
  prune(root: Uint8Array): void {
    if (!this.states.has(root)) return
    const s = this.states.get(root)
    for (const sid of [...this.pending.keys()]) if (s.receipts.get(sid)) this.pending.delete(sid)
  }
}
