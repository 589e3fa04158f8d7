/**
 * Min-heap of timed events; ties run in insertion order so runs are deterministic. An event may
 * return a promise: `drain` awaits it before the next event, so work that a real component
 * does asynchronously (a LevelDB write, a queued vote) finishes at its virtual instant.
 */
export interface SimEvent {
  time: number
  seq: number
  run: () => void | Promise<void>
}

export class EventQueue {
  private heap: SimEvent[] = []
  private seq = 0
  now = 0

  at(time: number, run: () => void | Promise<void>): void {
    const e = { time, seq: this.seq++, run }
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!less(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  /** Runs events in time order until the queue is empty or the next one is after `until`. */
  runUntil(until: number): void {
    for (let e = this.pop(until); e; e = this.pop(until)) void e.run()
    this.now = until
  }

  /** As runUntil, awaiting each event (and everything it awaits) before the next one. */
  async drain(until: number): Promise<void> {
    for (let e = this.pop(until); e; e = this.pop(until)) await e.run()
    this.now = until
  }

  get size(): number {
    return this.heap.length
  }

  private pop(until: number): SimEvent | undefined {
    const h = this.heap
    if (h.length > 0 && h[0]!.time <= until) {
      const top = h[0]!
      const last = h.pop()!
      if (h.length > 0) {
        h[0] = last
        let i = 0
        for (;;) {
          const l = 2 * i + 1
          const r = l + 1
          let m = i
          if (l < h.length && less(h[l]!, h[m]!)) m = l
          if (r < h.length && less(h[r]!, h[m]!)) m = r
          if (m === i) break
          ;[h[i], h[m]] = [h[m]!, h[i]!]
          i = m
        }
      }
      this.now = top.time
      return top
    }
    return undefined
  }
}

const less = (a: SimEvent, b: SimEvent) => a.time < b.time || (a.time === b.time && a.seq < b.seq)
