import { bytesToHex } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { ChainService, Producer } from '../consensus/ChainService.js'

/**
 * The `--dev` block producer. Automine (default) seals a block as soon as transactions are
 * pending — requests that arrive while a block is being built go into the next one, so under
 * load blocks grow instead of falling behind; `--dev.period N` seals every N seconds instead.
 *
 * It holds the keys of every dev account and seals each block with the key of its slot's
 * leader (Proof of Value draws it by weight), taking the first coming slot that one of them
 * leads: a dev account that earns weight by working (`--worker`) and bonds in the
 * ValidatorSet produces its share of dev blocks, naming its own work receipt.
 *
 * The work market draws workers and verifiers in a block fixed in advance (WorkMarket's
 * `onBlock` system call, DRAW_DELAY blocks after the transaction that asked for the draw). With
 * automine nothing else would seal that block, so while a draw waits (`pendingDraw`) the miner
 * seals empty blocks, one per slot as the clock reaches it — never ahead of the clock.
 *
 * Automine also answers a send that reaches an idle miner only once the block that takes the
 * transaction is sealed (`busy`, `ticket`, `sealedAfter`), as Hardhat and Anvil do: a wallet's
 * first receipt poll then finds the receipt, where it used to miss and wait for its next poll
 * (ethers polls blocks every 4 s). No slot timer runs between a pending transaction and its block.
 */
export class DevMiner {
  private building = false
  private again = false
  private timer?: NodeJS.Timeout
  private stopped = false
  private idle: Promise<void> = Promise.resolve()
  private drawTimer?: NodeJS.Timeout
  /** Production rounds begun; a waiter is released by the first round that begins after it. */
  private rounds = 0
  private ended = 0
  private waiters: { after: number; release: () => void }[] = []

  constructor(
    private readonly chain: ChainService,
    private readonly producers: Producer[],
    private readonly opts: {
      periodSeconds: number
      /** The block of the oldest draw WorkMarket waits for at the head (0n: none). */
      pendingDraw?: () => Promise<bigint>
    },
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.opts.periodSeconds > 0) this.timer = setInterval(() => this.trigger(true), this.opts.periodSeconds * 1000)
  }

  /**
   * True while a block is being built. A send that finds the miner busy is answered at once: its
   * transaction goes into the next block with whatever else arrives meanwhile, and its sender
   * may send the next one (waiting there would cap a block at one transaction per sender and
   * halve the throughput of a loaded node: 10 instead of 35 transactions a block in the bench).
   */
  get busy(): boolean {
    return this.building
  }

  /** The production round count now: take it once the transaction is in the pool, pass it to `sealedAfter`. */
  ticket(): number {
    return this.rounds
  }

  /**
   * Automine: resolves when a production round begun after `ticket` has ended (whether or not it
   * sealed a block), at once when no round is running (so none is coming: adding a pending
   * transaction starts one synchronously) or with a period (blocks follow the clock).
   */
  sealedAfter(ticket: number): Promise<void> {
    if (this.opts.periodSeconds > 0 || this.stopped || !this.building || this.ended > ticket) return Promise.resolve()
    return new Promise((release) => this.waiters.push({ after: ticket, release }))
  }

  /** Releases the waiters whose ticket is older than round `round` (all of them for Infinity). */
  private release(round: number): void {
    if (this.waiters.length === 0) return
    const keep: typeof this.waiters = []
    for (const w of this.waiters) if (w.after < round) w.release()
    else keep.push(w)
    this.waiters = keep
  }

  /** Called when a transaction becomes pending (automine) or by the period timer. */
  trigger(allowEmpty = false): void {
    if (this.stopped) return
    if (this.opts.periodSeconds > 0 && !allowEmpty) return
    if (this.building) {
      this.again = true
      return
    }
    this.building = true
    this.idle = this.loop(allowEmpty)
  }

  private async loop(allowEmpty: boolean): Promise<void> {
    try {
      do {
        this.again = false
        // Let the requests already on the socket enter the pool first: one block for a burst.
        await new Promise((r) => setImmediate(r))
        const round = ++this.rounds
        const block = await this.produceNext(allowEmpty)
        if (block) this.log.info({ number: Number(block.number), txs: block.transactions.length, gasUsed: Number(block.header.gasUsed) }, 'sealed block')
        this.ended = round
        this.release(round)
        allowEmpty = false
      } while (this.again && !this.stopped)
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'block production failed')
    } finally {
      this.building = false
      // Nothing more is being built: whoever still waits has no round coming for it.
      this.release(Infinity)
    }
    await this.sealForDraws()
  }

  /** Automine: while the market waits for a draw block, seal an empty block at the next slot. */
  private async sealForDraws(): Promise<void> {
    if (!this.opts.pendingDraw || this.opts.periodSeconds > 0 || this.stopped || this.drawTimer) return
    let due: bigint
    try {
      due = await this.opts.pendingDraw()
    } catch (e) {
      this.log.debug({ err: (e as Error).message }, 'cannot read the market draw queue')
      return
    }
    if (due === 0n) return
    const next = this.chain.slotStart(this.chain.head().slot + 1n)
    const delayMs = Math.max(0, Number(next) * 1000 - Date.now())
    this.drawTimer = setTimeout(() => {
      this.drawTimer = undefined
      this.trigger(true)
    }, delayMs)
  }

  /** Seals the next block in the first slot (from now) that one of the held keys leads. */
  private async produceNext(allowEmpty: boolean) {
    const head = this.chain.head()
    const nowSec = BigInt(Math.floor(Date.now() / 1000))
    const byClock = this.chain.slotAt(nowSec)
    const first = byClock > head.slot ? byClock : head.slot + 1n
    for (let slot = first; slot < first + 256n; slot++) {
      const leader = (await this.chain.engine.ranking(head, slot))[0]
      const producer = leader && this.byAddress.get(bytesToHex(leader))
      if (!producer) continue
      const timestamp = slot === byClock ? nowSec : this.chain.slotStart(slot)
      return this.chain.produceBlock(producer, { allowEmpty, slot, timestamp })
    }
    throw new Error('none of the dev keys leads any of the next 256 slots')
  }

  private get byAddress(): Map<string, Producer> {
    this.index ??= new Map(this.producers.map((p) => [bytesToHex(p.address), p]))
    return this.index
  }
  private index?: Map<string, Producer>

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    if (this.drawTimer) clearTimeout(this.drawTimer)
    await this.idle
    this.release(Infinity)
  }
}
