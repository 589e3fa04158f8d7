import { createBlock, genTransactionsTrieRoot, type Block as EthjsBlock } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { createMPT } from '@ethereumjs/mpt'
import { encode } from '@ethereumjs/rlp'
import { Capability, type TypedTransaction } from '@ethereumjs/tx'
import { Address } from '@ethereumjs/util'
import { runTx, type RunTxResult } from '@ethereumjs/vm'
import type { DbOp } from '../chain/Database.js'
import { encodeConsensusReceipt, orBloom, type Log, type TxReceipt } from '../chain/Receipt.js'
import { bytesToHex } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import { VmError } from './errors.js'
import type { WorldState } from './WorldState.js'

/** The block context transactions execute in (what COINBASE, NUMBER, PREVRANDAO … read). */
export interface ExecutionEnv {
  number: bigint
  timestamp: bigint
  gasLimit: bigint
  baseFeePerGas: bigint
  coinbase: Uint8Array
  mixHash: Uint8Array
  /** Calls the protocol makes before the transactions (epoch transitions): from SYSTEM_ADDRESS, no gas paid, no receipt. */
  systemCalls?: { to: Uint8Array; data: Uint8Array; label: string }[]
}

/** The caller of system calls (as in EIP-4788); it never exists as an account in the state. */
export const SYSTEM_ADDRESS = new Uint8Array(20).fill(0xff).map((b, i) => (i === 19 ? 0xfe : b))
const SYSTEM_CALL_GAS = 30_000_000n

export interface ExecutedBlock {
  transactions: TypedTransaction[]
  receipts: TxReceipt[]
  gasUsed: bigint
  logsBloom: Uint8Array
  stateRoot: Uint8Array
  receiptsRoot: Uint8Array
  transactionsRoot: Uint8Array
  /** Trie writes to put in the block's atomic batch; pass `stateKeys` to `written()` after. */
  stateOps: DbOp[]
  stateKeys: string[]
}

/** Where the builder draws transactions from (the pool's best-first iterator). */
export interface TxSource {
  next(): TypedTransaction | undefined
  skipSender(sender: Uint8Array): void
}

export interface RejectedTx {
  tx: TypedTransaction
  reason: string
}

const MIN_TX_GAS = 21_000n

/** Converts our execution env into the @ethereumjs block the VM reads its context from. */
export function toEthjsBlock(env: ExecutionEnv, common: Common): EthjsBlock {
  return createBlock(
    {
      header: {
        number: env.number,
        timestamp: env.timestamp,
        gasLimit: env.gasLimit,
        baseFeePerGas: env.baseFeePerGas,
        coinbase: env.coinbase,
        mixHash: env.mixHash,
        difficulty: 0n,
        excessBlobGas: 0n,
        blobGasUsed: 0n,
      },
    },
    { common, skipConsensusFormatValidation: true, setHardfork: false },
  )
}

export function effectiveGasPrice(tx: TypedTransaction, baseFee: bigint): bigint {
  if (tx.supports(Capability.EIP1559FeeMarket)) {
    const t = tx as TypedTransaction & { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }
    const tip = t.maxFeePerGas - baseFee < t.maxPriorityFeePerGas ? t.maxFeePerGas - baseFee : t.maxPriorityFeePerGas
    return baseFee + tip
  }
  return (tx as TypedTransaction & { gasPrice: bigint }).gasPrice
}

/**
 * Executes a block's transactions against one state checkpoint and one commit — the layout
 * that made @ethereumjs/vm ~10× faster than per-transaction commits in our measurements
 * (see ../shared/bench/RESULTS.md) — and derives receipts, bloom and the three roots.
 * Senders were recovered once at pool entry and are cached on the transaction objects.
 */
export class BlockExecutor {
  private readonly log: Logger
  private readonly txCounter
  private readonly gasCounter
  private readonly execTime

  constructor(
    private readonly state: WorldState,
    private readonly common: Common,
    deps: { logger: Logger; metrics: Metrics },
  ) {
    this.log = deps.logger.child({ component: 'executor' })
    this.txCounter = deps.metrics.counter('povchain_vm_transactions_total', 'Transactions executed in blocks', ['mode'])
    this.gasCounter = deps.metrics.counter('povchain_vm_gas_total', 'Gas executed in blocks', ['mode'])
    this.execTime = deps.metrics.histogram('povchain_vm_block_execution_seconds', 'Time to execute a block', ['mode'])
  }

  /** Runs the transactions of a received block; any invalid transaction makes the block invalid. */
  async execute(parentStateRoot: Uint8Array, env: ExecutionEnv, txs: TypedTransaction[]): Promise<ExecutedBlock> {
    let i = 0
    const source: TxSource = { next: () => txs[i++], skipSender: () => {} }
    const { executed, rejected } = await this.run(parentStateRoot, env, source, 'import', Infinity)
    if (rejected.length) {
      throw new VmError('INVALID_BLOCK_TX', `block ${env.number}: transaction ${bytesToHex(rejected[0]!.tx.hash())} is invalid: ${rejected[0]!.reason}`)
    }
    return executed
  }

  /** Builds a block body from `source`, skipping transactions that cannot execute now. */
  async build(
    parentStateRoot: Uint8Array,
    env: ExecutionEnv,
    source: TxSource,
    maxTxs = 10_000,
  ): Promise<{ executed: ExecutedBlock; rejected: RejectedTx[] }> {
    return this.run(parentStateRoot, env, source, 'build', maxTxs)
  }

  private async run(
    parentStateRoot: Uint8Array,
    env: ExecutionEnv,
    source: TxSource,
    mode: 'build' | 'import',
    maxTxs: number,
  ): Promise<{ executed: ExecutedBlock; rejected: RejectedTx[] }> {
    const done = this.execTime.startTimer({ mode })
    this.state.executing = true
    try {
      return await this.runLocked(parentStateRoot, env, source, mode, maxTxs, done)
    } finally {
      this.state.executing = false
    }
  }

  private async runLocked(
    parentStateRoot: Uint8Array,
    env: ExecutionEnv,
    source: TxSource,
    mode: 'build' | 'import',
    maxTxs: number,
    done: () => void,
  ): Promise<{ executed: ExecutedBlock; rejected: RejectedTx[] }> {
    const vm = await this.state.vmAt(parentStateRoot)
    const sm = vm.stateManager
    const block = toEthjsBlock(env, this.common)
    const included: TypedTransaction[] = []
    const receipts: TxReceipt[] = []
    // Each receipt's bloom, taken from runTx (which computes it anyway): the block bloom and the
    // receipts trie reuse it instead of hashing every log address and topic twice more.
    const receiptBlooms: Uint8Array[] = []
    const rejected: RejectedTx[] = []
    const bloom = new Uint8Array(256)
    let gasUsed = 0n
    // Per-transaction EVM state must not leak in from an execution on another root (another
    // branch's block, an empty block whose system call ran no transaction that would clear it).
    vm.evm.journal.cleanJournal()
    sm.originalStorageCache.clear()
    await sm.checkpoint()
    try {
      if (env.systemCalls?.length) await this.runSystemCalls(vm, block, env)
      for (let tx = source.next(); tx && included.length < maxTxs; tx = source.next()) {
        const sender = tx.getSenderAddress()
        if (gasUsed + tx.gasLimit > env.gasLimit) {
          rejected.push({ tx, reason: `gas limit reached (block ${env.gasLimit - gasUsed} left, tx needs ${tx.gasLimit})` })
          if (mode === 'import') break
          source.skipSender(sender.bytes)
          if (env.gasLimit - gasUsed < MIN_TX_GAS) break
          continue
        }
        let res: RunTxResult
        try {
          res = await runTx(vm, { tx, block, blockGasUsed: gasUsed, skipHardForkValidation: true })
        } catch (e) {
          rejected.push({ tx, reason: (e as Error).message.split(' -> ')[0]!.slice(0, 300) })
          if (mode === 'import') break
          source.skipSender(sender.bytes)
          continue
        }
        gasUsed += res.totalGasSpent
        const logs: Log[] = res.execResult.logs?.map(([address, topics, data]) => ({ address, topics, data })) ?? []
        const receipt: TxReceipt = {
          transactionHash: tx.hash(),
          txType: tx.type,
          status: res.execResult.exceptionError ? 0 : 1,
          cumulativeGasUsed: gasUsed,
          gasUsed: res.totalGasSpent,
          effectiveGasPrice: effectiveGasPrice(tx, env.baseFeePerGas),
          from: sender.bytes,
          to: tx.to?.bytes,
          contractAddress: res.createdAddress?.bytes,
          logs,
        }
        const receiptBloom = res.bloom.bitvector
        if (logs.length) orBloom(bloom, receiptBloom)
        included.push(tx)
        receipts.push(receipt)
        receiptBlooms.push(receiptBloom)
      }
      if (mode === 'import' && rejected.length) {
        await sm.revert()
        this.state.invalidateHead()
        return { executed: undefined as never, rejected }
      }
      await sm.commit()
    } catch (e) {
      await sm.revert().catch(() => {})
      this.state.invalidateHead()
      throw e
    }
    const stateRoot = await sm.getStateRoot()
    this.state.markHeadRoot(stateRoot)
    const [receiptsRoot, transactionsRoot] = await Promise.all([
      receiptsTrieRoot(receipts, this.common, receiptBlooms),
      genTransactionsTrieRoot(included, await createMPT({ common: this.common })),
    ])
    const { ops, keys } = this.state.trieDb.takeOps()
    this.txCounter.inc({ mode }, included.length)
    this.gasCounter.inc({ mode }, Number(gasUsed))
    done()
    if (rejected.length) this.log.debug({ number: env.number.toString(), rejected: rejected.length }, 'skipped transactions while building')
    return {
      executed: { transactions: included, receipts, gasUsed, logsBloom: bloom, stateRoot, receiptsRoot, transactionsRoot, stateOps: ops, stateKeys: keys },
      rejected,
    }
  }

  private async runSystemCalls(vm: Awaited<ReturnType<WorldState['vmAt']>>, block: EthjsBlock, env: ExecutionEnv): Promise<void> {
    const caller = new Address(SYSTEM_ADDRESS)
    for (const call of env.systemCalls!) {
      const res = await vm.evm.runCall({ caller, origin: caller, to: new Address(call.to), data: call.data, gasLimit: SYSTEM_CALL_GAS, block })
      // A failing system call is deterministic too (every node sees it fail), so the block stays
      // valid; say so loudly, since it means a system contract refused its own protocol.
      if (res.execResult.exceptionError)
        this.log.warn({ number: env.number.toString(), call: call.label, err: res.execResult.exceptionError.error }, 'system call failed')
    }
    // The EVM wrote an empty account for the caller; keep the state free of it.
    const sys = await vm.stateManager.getAccount(caller)
    if (sys && sys.nonce === 0n && sys.balance === 0n && sys.isContract() === false) await vm.stateManager.deleteAccount(caller)
    // Close the system calls as runTx closes a transaction: EIP-161 cleanup of touched accounts,
    // a fresh journal, and no "original" storage values left over for EIP-2200 gas. Otherwise
    // the first transaction of the block would be charged differently depending on whether the
    // builder happened to try (and skip) another transaction first — and state roots diverge.
    await vm.evm.journal.cleanup()
    vm.evm.stateManager.originalStorageCache.clear()
  }
}

/**
 * The receipts root; pass the chain's Common so the trie hashes with its (native) keccak, and
 * `blooms` (each receipt's `logsBloom(logs)`) when they are at hand, else they are computed.
 */
export async function receiptsTrieRoot(receipts: TxReceipt[], common?: Common, blooms?: readonly Uint8Array[]): Promise<Uint8Array> {
  const trie = await createMPT(common ? { common } : undefined)
  for (let i = 0; i < receipts.length; i++) await trie.put(encode(i), encodeConsensusReceipt(receipts[i]!, blooms?.[i]))
  return trie.root()
}
