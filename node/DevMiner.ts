import type { Logger } from '../common/logger.js'
import type { ChainService, Producer } from '../consensus/ChainService.js'

/**
 * The `--dev` block producer. Automine (default) seals a block as soon as transactions are
 * pending — requests that arrive while a block is being built go into the next one, so under
 * load blocks grow instead of falling behind; `--dev.period N` seals every N seconds instead.
 */
export class DevMiner {
  private building = false
  private again = false
  private timer?: NodeJS.Timeout
  private stopped = false
  private idle: Promise<void> = Promise.resolve()

  constructor(
    private readonly chain: ChainService,
    private readonly producer: Producer,
    private readonly opts: { periodSeconds: number },
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.opts.periodSeconds > 0) this.timer = setInterval(() => this.trigger(true), this.opts.periodSeconds * 1000)
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
        const block = await this.chain.produceBlock(this.producer, { allowEmpty })
        if (block) this.log.info({ number: Number(block.number), txs: block.transactions.length, gasUsed: Number(block.header.gasUsed) }, 'sealed block')
        allowEmpty = false
      } while (this.again && !this.stopped)
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'block production failed')
    } finally {
      this.building = false
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    await this.idle
  }
}
