import type { Logger } from '../common/logger.js'

export interface PollLoopOptions {
  /** One pass; a rejection is logged (warn) and the loop goes on. */
  tick: () => Promise<void>
  /** Pause between the end of one pass and the start of the next. */
  intervalMs: number
  logger: Logger
  /** The warn message of a failed pass (`{ err }` is attached). */
  failMessage: string
}

/**
 * The poll loop the market services share (JobGrantResponder, RemovedAssetJanitor, MarketWorker):
 * runs `tick` now and then `intervalMs` after each pass ends — never two passes at once — logs a
 * failed pass instead of throwing, and `stop()` waits for the pass in flight. Once stopped it
 * stays stopped; `stopped` lets a long pass end early.
 */
export class PollLoop {
  private timer?: NodeJS.Timeout
  private ticking?: Promise<void>
  private halted = false

  constructor(private readonly o: PollLoopOptions) {}

  get stopped(): boolean {
    return this.halted
  }

  start(): void {
    const loop = () => {
      if (this.halted) return
      this.ticking = this.o
        .tick()
        .catch((e: Error) => this.o.logger.warn({ err: e.message }, this.o.failMessage))
        .finally(() => {
          if (!this.halted) this.timer = setTimeout(loop, this.o.intervalMs)
        })
    }
    loop()
  }

  /** Stops the loop and waits for the pass in flight, if any. */
  async stop(): Promise<void> {
    this.halted = true
    if (this.timer) clearTimeout(this.timer)
    await this.ticking
  }
}
