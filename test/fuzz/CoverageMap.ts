import { Session } from 'node:inspector'

/**
 * Edge-ish coverage from V8's own block counters (`Profiler.startPreciseCoverage` with
 * `callCount` and `detailed`): after every input we take the counters (which resets them) and
 * turn each executed block of the code under test into a key. A key is the block's position
 * and the bucket of its count (1, 2, 3, 4–7, 8–15, …, as AFL does), so an input that runs a
 * loop a new number of times counts as new behaviour too; `blocks` counts positions only.
 *
 * Start it before the code under test is imported: V8 only instruments functions compiled
 * while block coverage is on.
 */
export class CoverageMap {
  private readonly session = new Session()
  private readonly seen = new Set<string>()
  private readonly seenBlocks = new Set<string>()

  constructor(private readonly include: (url: string) => boolean) {
    this.session.connect()
    this.post('Profiler.enable')
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true })
  }

  /**
   * Ranges (functions and blocks) seen executing, by position. V8 folds a block that ran as
   * often as its enclosing range into it, so this undercounts blocks; it is the figure to
   * compare between runs, not a percentage of the code.
   */
  get blocks(): number {
    return this.seenBlocks.size
  }

  /** The keys executed since the last call (resetting V8's counters). */
  take(): string[] {
    const { result } = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] }
    const keys: string[] = []
    for (const script of result) {
      if (!this.include(script.url)) continue
      for (const fn of script.functions) {
        // V8 lists a function's range, then the blocks whose count differs from the
        // enclosing one (0 for a block skipped). A skipped block is behaviour too: a key with
        // bucket 0 says "ran the function without this block".
        if (fn.ranges[0]!.count === 0) continue
        for (const r of fn.ranges) keys.push(`${script.scriptId}:${r.startOffset}:${r.endOffset}:${bucket(r.count)}`)
      }
    }
    return keys
  }

  /** Forgets what was seen (a new target starts from its own corpus). */
  reset(): void {
    this.seen.clear()
    this.seenBlocks.clear()
  }

  /** Adds the keys; returns how many were new (0: the input showed nothing new). */
  merge(keys: string[]): number {
    let fresh = 0
    for (const k of keys) {
      if (this.seen.has(k)) continue
      this.seen.add(k)
      if (!k.endsWith(':0')) this.seenBlocks.add(k.slice(0, k.lastIndexOf(':')))
      fresh++
    }
    return fresh
  }

  /** Would these keys add anything? (without adding them) */
  isNew(keys: string[]): boolean {
    return keys.some((k) => !this.seen.has(k))
  }

  stop(): void {
    this.post('Profiler.stopPreciseCoverage')
    this.post('Profiler.disable')
    this.session.disconnect()
  }

  // The in-process inspector session answers synchronously: the callback runs before post returns.
  private post(method: string, params?: object): unknown {
    let out: unknown
    let err: Error | null = null
    this.session.post(method, params ?? {}, (e, r) => {
      err = e
      out = r
    })
    if (err) throw err
    return out
  }
}

interface ScriptCoverage {
  scriptId: string
  url: string
  functions: { ranges: { startOffset: number; endOffset: number; count: number }[] }[]
}

function bucket(count: number): number {
  if (count <= 3) return count
  return 2 + (31 - Math.clz32(count)) // 4–7 → 4, 8–15 → 5, …
}
