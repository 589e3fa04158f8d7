/** Min-heap of timed events; ties run in insertion order so runs are deterministic. */
export interface SimEvent {
  time: number
  seq: number
  run: () => void
}

export class EventQueue {
  private heap: SimEvent[] = []
  private seq = 0
  now = 0

  at(time: number, run: () => void): void {
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
    const h = this.heap
    while (h.length > 0 && h[0]!.time <= until) {
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
      top.run()
    }
    this.now = until
  }
}

const less = (a: SimEvent, b: SimEvent) => a.time < b.time || (a.time === b.time && a.seq < b.seq)
