import { bytesToHex } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { ChainService, Producer } from '../consensus/ChainService.js'
import type { LeaderSchedule } from '../consensus/LeaderSchedule.js'

export interface SlotProducerOptions {
  /** True while the node knows it is behind its peers: producing then would only fork. */
  isBehind: () => boolean
  /** Milliseconds after start before the first block (time to meet peers and sync). */
  startupGraceMs: number
  /** How often (ms) the clock is checked. */
  tickMs: number
  now?: () => number
}

/**
 * Produces blocks in this node's slots on the wall clock (non-dev nodes with a producer key).
 * For each slot the interim LeaderSchedule says who may seal and from when: the leader at the
 * slot's start, its r-th backup r·delay later if no block for the slot has arrived by then.
 * Proof of Value (issue 5) replaces the schedule; this loop stays.
 */
export class SlotProducer {
  private timer?: NodeJS.Timeout
  private busy = false
  private stopped = false
  private idle: Promise<void> = Promise.resolve()
  private readonly startedAt: number
  private readonly now: () => number
  private lastSlot = -1n
  produced = 0

  constructor(
    private readonly chain: ChainService,
    private readonly schedule: LeaderSchedule,
    private readonly producer: Producer,
    private readonly opts: SlotProducerOptions,
    private readonly log: Logger,
  ) {
    this.now = opts.now ?? Date.now
    this.startedAt = this.now()
  }

  start(): void {
    this.log.info(
      { producer: bytesToHex(this.producer.address), producers: this.schedule.size, slotSeconds: Number(this.schedule.slotSeconds) },
      'producing blocks in this node’s slots',
    )
    this.timer = setInterval(() => this.tick(), this.opts.tickMs)
  }

  private tick(): void {
    if (this.busy || this.stopped) return
    const nowMs = this.now()
    if (nowMs - this.startedAt < this.opts.startupGraceMs) return
    const slot = this.schedule.slotAt(BigInt(Math.floor(nowMs / 1000)))
    if (slot <= this.lastSlot) return
    const earliest = this.schedule.earliestTimestamp(this.producer.address, slot)
    if (earliest === undefined || BigInt(nowMs) < earliest * 1000n) return
    const head = this.chain.head()
    if (head.slot >= slot) {
      this.lastSlot = slot
      return
    }
    if (this.opts.isBehind()) return
    this.lastSlot = slot
    this.busy = true
    this.idle = this.produce(slot, earliest).finally(() => (this.busy = false))
  }

  private async produce(slot: bigint, timestamp: bigint): Promise<void> {
    try {
      const block = await this.chain.produceBlock(this.producer, { allowEmpty: true, slot, timestamp })
      if (!block) return
      this.produced++
      const rank = this.schedule.rank(this.producer.address, slot)
      this.log.info({ number: Number(block.number), slot: Number(slot), txs: block.transactions.length, inTurn: rank === 0 }, rank === 0 ? 'sealed block' : 'sealed block as backup')
    } catch (e) {
      this.log.error({ slot: Number(slot), err: (e as Error).message }, 'block production failed')
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    await this.idle
  }
}
