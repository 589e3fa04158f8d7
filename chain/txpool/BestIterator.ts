import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '../../common/bytes.js'
import { IndexedHeap } from './IndexedHeap.js'
import type { PoolTx } from './PoolTx.js'
import { effectiveTip } from './pricing.js'

/** What a block builder pulls transactions from. */
export interface BestTransactions {
  /** The next tx to try, or undefined when nothing is left. */
  next(): TypedTransaction | undefined
  /** Yield nothing more from this sender (its last tx failed, so its later nonces would too). */
  skipSender(sender: Uint8Array): void
}

interface Lane {
  readonly senderKey: string
  readonly txs: PoolTx[]
  i: number
  tip: bigint
}

/**
 * Yields executable txs by descending effective tip at `baseFee`, each sender's in nonce
 * order: a heap over the senders' next txs, as Geth's miner does (transactionsByPriceAndNonce).
 * Works on a snapshot of the pending lists so the pool may change while a block is built.
 * A sender's lane stops at its first tx whose fee cap is below the base fee.
 */
export class BestIterator implements BestTransactions {
  private readonly heap: IndexedHeap<Lane>
  private readonly lanes = new Map<string, Lane>()

  constructor(
    pendingLists: Iterable<PoolTx[]>,
    private readonly baseFee: bigint,
  ) {
    // Higher tip first; on a tie the earlier arrival, so equal payers are served in order.
    this.heap = new IndexedHeap<Lane>((a, b) =>
      a.tip !== b.tip ? a.tip > b.tip : a.txs[a.i]!.seq < b.txs[b.i]!.seq,
    )
    for (const list of pendingLists) {
      let n = 0
      while (n < list.length && list[n]!.feeCap >= baseFee) n++
      if (n === 0) continue
      const lane: Lane = { senderKey: list[0]!.senderKey, txs: list.slice(0, n), i: 0, tip: effectiveTip(list[0]!, baseFee) }
      this.lanes.set(lane.senderKey, lane)
      this.heap.push(lane)
    }
  }

  next(): TypedTransaction | undefined {
    const lane = this.heap.peek()
    if (!lane) return undefined
    const ptx = lane.txs[lane.i++]!
    if (lane.i < lane.txs.length) {
      lane.tip = effectiveTip(lane.txs[lane.i]!, this.baseFee)
      this.heap.update(lane)
    } else {
      this.heap.remove(lane)
    }
    return ptx.tx
  }

  skipSender(sender: Uint8Array): void {
    const lane = this.lanes.get(bytesToHex(sender))
    if (lane) this.heap.remove(lane)
  }
}
