import { bytesToHex } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { ChainService, Producer } from '../consensus/ChainService.js'

export interface SlotProducerOptions {
  /** True while the node knows it is behind its peers: producing then would only fork. */
  isBehind: () => boolean
  /** Milliseconds after start before the first block (time to meet peers and sync). */
  startupGraceMs: number
  /** How often (ms) the clock is checked. */
  tickMs: number
  /**
   * After the clock jumped between two ticks (the process was paused, swapped out or starved),
   * how long to wait before producing: what the node knows of its peers' heads is as old as
   * the stall, so a block now would likely build on a stale head and fork.
   */
  stallGraceMs?: number
  /** Called when a stall is detected (the node refreshes its peers' status). */
  onStall?: () => void
  now?: () => number
}

/**
 * A gap between ticks this long means the process did not run (SIGSTOP, swap, a long GC). A
 * shorter one is like network delay, which the slot schedule tolerates; so is one shorter than
 * a slot (under a heavy load, waiting after each would skip the node's own slots).
 */
const MIN_STALL_MS = 1_500

/**
 * Produces blocks in this node's slots on the wall clock (non-dev nodes with a validator key).
 * For each slot the consensus engine says who may seal and from when: the leader at the slot's
 * start, its r-th backup r·delay later if no block for the slot has arrived by then.
 */
export class SlotProducer {
  private timer?: NodeJS.Timeout
  private busy = false
  private stopped = false
  private idle: Promise<void> = Promise.resolve()
  private readonly startedAt: number
  private readonly now: () => number
  private lastSlot = -1n
  private lastComplaint = 0
  private lastTickAt = 0
  private resumeAt = 0
  produced = 0

  constructor(
    private readonly chain: ChainService,
    private readonly producer: Producer,
    private readonly opts: SlotProducerOptions,
    private readonly log: Logger,
  ) {
    this.now = opts.now ?? Date.now
    this.startedAt = this.now()
  }

  start(): void {
    this.log.info({ producer: bytesToHex(this.producer.address), consensus: this.chain.engine.kind }, 'producing blocks in this node’s slots')
    this.timer = setInterval(() => this.tick(), this.opts.tickMs)
  }

  private tick(): void {
    if (this.stopped) return
    const nowMs = this.now()
    const gap = this.lastTickAt ? nowMs - this.lastTickAt : 0
    this.lastTickAt = nowMs
    if (this.opts.stallGraceMs && gap > Math.max(MIN_STALL_MS, this.chain.slotSeconds * 1000)) {
      this.resumeAt = nowMs + this.opts.stallGraceMs
      this.log.warn({ stalledMs: gap, waitMs: this.opts.stallGraceMs }, 'the process stalled (paused or starved); catching up with peers before producing')
      this.opts.onStall?.()
    }
    if (this.busy) return
    if (nowMs - this.startedAt < this.opts.startupGraceMs) return
    if (nowMs < this.resumeAt) return
    const slot = this.chain.slotAt(BigInt(Math.floor(nowMs / 1000)))
    if (slot <= this.lastSlot) return
    const head = this.chain.head()
    if (head.slot >= slot) {
      this.lastSlot = slot
      return
    }
    if (this.opts.isBehind()) return
    this.busy = true
    this.idle = this.attempt(slot, nowMs).finally(() => (this.busy = false))
  }

  private complain(msg: string, fields: Record<string, unknown>): void {
    // Once a minute is enough to tell an operator why this node does not produce.
    if (this.now() - this.lastComplaint < 60_000) return
    this.lastComplaint = this.now()
    this.log.warn(fields, msg)
  }

  private async attempt(slot: bigint, nowMs: number): Promise<void> {
    const head = this.chain.head()
    let earliest: bigint | undefined
    try {
      earliest = await this.chain.engine.earliestTimestamp(this.producer.address, head, slot)
    } catch (e) {
      this.lastSlot = slot
      this.complain('cannot compute the slot schedule', { slot: Number(slot), err: (e as Error).message })
      return
    }
    if (earliest === undefined) {
      this.lastSlot = slot
      return
    }
    if (BigInt(nowMs) < earliest * 1000n) return
    this.lastSlot = slot
    try {
      const block = await this.chain.produceBlock(this.producer, { allowEmpty: true, slot, timestamp: earliest })
      if (!block) return
      this.produced++
      const inTurn = earliest === this.chain.slotStart(slot)
      this.log.info({ number: Number(block.number), slot: Number(slot), txs: block.transactions.length, inTurn, finalized: Number(this.chain.finality.finalized.height) }, inTurn ? 'sealed block' : 'sealed block as backup')
    } catch (e) {
      const code = (e as { code?: string }).code
      if (code === 'CONSENSUS_NO_RECEIPT' || code === 'CONSENSUS_NOT_ELIGIBLE') this.complain('not producing', { slot: Number(slot), err: (e as Error).message })
      else this.log.error({ slot: Number(slot), err: (e as Error).message }, 'block production failed')
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    await this.idle
  }
}
