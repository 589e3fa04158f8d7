import { Session } from 'node:inspector'
import { postSync } from '../helpers/inspectorSession.js'

/**
 * Block coverage from V8's own counters (`Profiler.startPreciseCoverage` with `callCount` and
 * `detailed`). Taking the counters resets them, so each take says what ran since the last.
 *
 * V8 reports a function's range and then only the blocks whose count differs from the range
 * enclosing them (0 for a block skipped); a block that ran as often as its function is folded
 * into it. So we remember every block position V8 ever reported for a function (its
 * "universe") and, on each take, a known block ran when the innermost range listed around it
 * has a count above 0. That makes the result a set union: the take after a batch of inputs
 * covers exactly what the inputs cover one by one, which lets the fuzzer take the counters
 * once per batch (a take costs milliseconds: the inspector serialises every script's counters)
 * and replay a batch singly only when it showed something new.
 *
 * Start it before the code under test is imported: V8 only instruments functions compiled
 * while block coverage is on.
 */
export class CoverageMap {
  private readonly session = new Session()
  private readonly universe = new Map<string, Map<string, [number, number]>>()
  private readonly seen = new Set<string>()

  constructor(private readonly include: (url: string) => boolean) {
    this.session.connect()
    this.post('Profiler.enable')
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true })
  }

  /** Blocks (and functions) the inputs so far executed: the figure to compare between runs. */
  get blocks(): number {
    return this.seen.size
  }

  /** Blocks V8 has reported in the functions that ran (executed or not). */
  get knownBlocks(): number {
    let n = 0
    for (const u of this.universe.values()) n += u.size
    return n
  }

  /** The blocks executed since the last take (resetting V8's counters). */
  take(): Set<string> {
    const { result } = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] }
    const ran = new Set<string>()
    for (const script of result) {
      if (!this.include(script.url)) continue
      for (const fn of script.functions) {
        const ranges = fn.ranges
        if (ranges[0]!.count === 0) continue
        const fnKey = `${script.scriptId}:${ranges[0]!.startOffset}`
        let u = this.universe.get(fnKey)
        if (!u) this.universe.set(fnKey, (u = new Map()))
        for (const r of ranges) {
          const k = `${script.scriptId}:${r.startOffset}:${r.endOffset}`
          if (!u.has(k)) u.set(k, [r.startOffset, r.endOffset])
        }
        for (const [k, [s, e]] of u) {
          // the innermost listed range around [s, e) decides
          let best: Range | undefined
          for (const r of ranges)
            if (r.startOffset <= s && e <= r.endOffset && (!best || r.endOffset - r.startOffset <= best.endOffset - best.startOffset)) best = r
          if (best && best.count > 0) ran.add(k)
        }
      }
    }
    return ran
  }

  /** Would these blocks add anything? (without adding them) */
  isNew(ran: Set<string>): boolean {
    for (const k of ran) if (!this.seen.has(k)) return true
    return false
  }

  /** Adds the blocks; returns how many were new. */
  merge(ran: Set<string>): number {
    let fresh = 0
    for (const k of ran) {
      if (this.seen.has(k)) continue
      this.seen.add(k)
      fresh++
    }
    return fresh
  }

  /** Forgets what was executed (a new target starts from its own corpus). */
  reset(): void {
    this.seen.clear()
  }

  stop(): void {
    this.post('Profiler.stopPreciseCoverage')
    this.post('Profiler.disable')
    this.session.disconnect()
  }

  private post(method: string, params?: object): unknown {
    return postSync(this.session, method, params)
  }
}

interface Range {
  startOffset: number
  endOffset: number
  count: number
}
interface ScriptCoverage {
  scriptId: string
  url: string
  functions: { ranges: Range[] }[]
}
