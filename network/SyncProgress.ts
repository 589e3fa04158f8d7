import cliProgress from 'cli-progress'
import type { Logger } from '../common/logger.js'

export type ProgressMode = 'auto' | 'bar' | 'log' | 'off'

/**
 * Shows how a catch-up goes: a progress bar on a terminal (cli-progress, on stderr), or —
 * when stderr is not a terminal, e.g. under systemd or in a container — one structured log
 * line every `logEveryMs` with blocks/s and the remaining estimate. Short catch-ups (under
 * `minBlocks`) show nothing but the final line at debug level.
 */
export class SyncProgress {
  private bar?: cliProgress.SingleBar
  private startAt = 0
  private from = 0n
  private target = 0n
  private current = 0n
  private lastLog = 0
  private active = false
  private readonly mode: Exclude<ProgressMode, 'auto'>

  constructor(
    mode: ProgressMode,
    private readonly log: Logger,
    private readonly opts: { logEveryMs: number; minBlocks: number } = { logEveryMs: 5_000, minBlocks: 64 },
  ) {
    this.mode = mode === 'auto' ? (process.stderr.isTTY ? 'bar' : 'log') : mode
  }

  begin(from: bigint, target: bigint): void {
    if (this.active) {
      this.setTarget(target)
      return
    }
    this.active = true
    this.startAt = Date.now()
    this.lastLog = this.startAt
    this.from = this.current = from
    this.target = target
    if (this.target - this.from < BigInt(this.opts.minBlocks)) return
    this.log.info({ from: Number(from), target: Number(target) }, 'sync started')
    if (this.mode === 'bar') {
      this.bar = new cliProgress.SingleBar(
        { format: 'sync |{bar}| {value}/{total} blocks  {speed} blocks/s  eta {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 200 },
        cliProgress.Presets.shades_classic,
      )
      this.bar.start(Number(target), Number(from), { speed: '0' })
    }
  }

  setTarget(target: bigint): void {
    if (target <= this.target) return
    this.target = target
    this.bar?.setTotal(Number(target))
  }

  update(current: bigint): void {
    if (!this.active) return
    this.current = current
    const now = Date.now()
    const rate = this.rate(now)
    this.bar?.update(Number(current), { speed: rate.toFixed(1) })
    if (this.mode === 'log' && this.target - this.from >= BigInt(this.opts.minBlocks) && now - this.lastLog >= this.opts.logEveryMs) {
      this.lastLog = now
      const remaining = Number(this.target - current)
      this.log.info(
        { current: Number(current), target: Number(this.target), blocksPerSecond: round(rate), remaining, etaSeconds: rate > 0 ? Math.round(remaining / rate) : null },
        'syncing',
      )
    }
  }

  private rate(now: number): number {
    const secs = (now - this.startAt) / 1000
    return secs > 0 ? Number(this.current - this.from) / secs : 0
  }

  /** Ends the current catch-up; returns its blocks and blocks/s. */
  done(): { blocks: number; seconds: number; blocksPerSecond: number } {
    const now = Date.now()
    const blocks = Number(this.current - this.from)
    const seconds = (now - this.startAt) / 1000
    const summary = { blocks, seconds: round(seconds), blocksPerSecond: round(this.rate(now)) }
    if (this.bar) {
      this.bar.update(Number(this.current))
      this.bar.stop()
      this.bar = undefined
    }
    if (this.active && blocks > 0) {
      if (this.target - this.from >= BigInt(this.opts.minBlocks)) this.log.info({ ...summary, head: Number(this.current) }, 'sync finished')
      else this.log.debug({ ...summary, head: Number(this.current) }, 'caught up')
    }
    this.active = false
    return summary
  }
}

const round = (x: number) => Math.round(x * 10) / 10
