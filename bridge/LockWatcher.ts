import { decodeEventLog, getAddress, toEventSelector, type Address, type Hex } from 'viem'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import type { EthereumRpc } from './EthereumRpc.js'
import type { RelayState } from './RelayState.js'
import { LOCKED_EVENT } from './SwapBridgeAbi.js'

/** One `Locked` event of the source chain's lock contract. */
export interface LockEvent {
  nonce: bigint
  from: Address
  recipient: Address
  amount: bigint
  blockNumber: bigint
  blockHash: Hex
  txHash: Hex
}

export interface LockWatcherOptions {
  lockContract: Address
  /** Blocks on top of a lock's block before it is acted on (a reorg shallower than this is harmless). */
  confirmations: number
  /** Where the first scan starts (the lock contract's deployment block). */
  fromBlock: bigint
  /** Blocks per eth_getLogs request. */
  maxRange: bigint
}

const LOCKED_TOPIC = toEventSelector(LOCKED_EVENT)

/**
 * Follows the lock contract on the source chain: hands out the `Locked` events of blocks with
 * enough confirmations, in order, exactly once per canonical block, and moves a persisted
 * cursor. If the source reorganises below the cursor (deeper than the confirmations), the
 * cursor goes back to the newest block it remembers that is still canonical and rescans.
 */
export class LockWatcher {
  private readonly log: Logger

  constructor(
    private readonly o: LockWatcherOptions,
    private readonly d: { source: EthereumRpc; state: RelayState; logger: Logger; metrics: Metrics },
  ) {
    this.log = d.logger
    this.reorgs = d.metrics.counter('povchain_bridge_source_reorgs_total', 'Source reorganisations below the relay cursor')
  }
  private readonly reorgs

  /**
   * One step: scans the next confirmed range and calls `handle` with its locks; the cursor moves
   * only after `handle` returns. Returns false when there was nothing new to scan.
   */
  async poll(handle: (locks: LockEvent[]) => Promise<void>): Promise<boolean> {
    const { source, state } = this.d
    const head = await source.blockNumber()
    const safe = head - BigInt(this.o.confirmations)
    const cursor = state.cursor
    if (cursor) {
      const b = await source.block(BigInt(cursor.number))
      if (!b || b.hash !== cursor.hash) {
        await this.rewind(cursor)
        return true
      }
    }
    const from = cursor ? BigInt(cursor.number) + 1n : this.o.fromBlock
    if (safe < from) return false
    const to = from + this.o.maxRange - 1n < safe ? from + this.o.maxRange - 1n : safe
    const before = await source.requireBlock(to)
    const logs = await source.getLogs({ address: this.o.lockContract, topics: [LOCKED_TOPIC], fromBlock: from, toBlock: to })
    const after = await source.requireBlock(to)
    // The range is consistent only if `to` (and so all its ancestors) stayed the same.
    if (before.hash !== after.hash) return true
    if (cursor && (await source.block(BigInt(cursor.number)))?.hash !== cursor.hash) return true
    const locks: LockEvent[] = []
    for (const l of logs) {
      if (l.removed || getAddress(l.address) !== getAddress(this.o.lockContract)) continue
      const { args } = decodeEventLog({ abi: [LOCKED_EVENT], data: l.data, topics: l.topics as [Hex, ...Hex[]] })
      locks.push({
        nonce: args.nonce,
        from: getAddress(args.from),
        recipient: getAddress(args.recipient),
        amount: args.amount,
        blockNumber: l.blockNumber,
        blockHash: l.blockHash,
        txHash: l.transactionHash,
      })
    }
    locks.sort((a, b) => (a.blockNumber === b.blockNumber ? 0 : a.blockNumber < b.blockNumber ? -1 : 1))
    await handle(locks)
    state.advance({ number: Number(to), hash: after.hash })
    return true
  }

  private async rewind(cursor: { number: number; hash: Hex }): Promise<void> {
    const { source, state } = this.d
    this.reorgs.inc()
    let back: { number: number; hash: Hex } | null = null
    for (let i = state.recent.length - 1; i >= 0; i--) {
      const r = state.recent[i]!
      if ((await source.block(BigInt(r.number)))?.hash === r.hash) {
        back = r
        break
      }
    }
    this.log.warn(
      { cursor: cursor.number, back: back?.number ?? 'start', confirmations: this.o.confirmations },
      'the source chain reorganised below the relay cursor (deeper than the confirmations): rescanning',
    )
    // Attestations already sent for locks of the dropped blocks cannot be taken back; SwapBridge
    // pays each nonce once, so at worst the dropped version of a lock wins over the new one.
    for (const l of state.locks())
      if (l.blockNumber > (back?.number ?? -1) && (l.status === 'submitted' || l.status === 'done'))
        this.log.error({ nonce: l.nonce, block: l.blockNumber, tx: l.txHash }, 'a lock this relay handled was in a block the reorg dropped')
    state.rewind(back)
  }
}
