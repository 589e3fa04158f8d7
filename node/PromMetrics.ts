import client from 'prom-client'
import type { Counter, Gauge, Histogram, Labels, Metrics } from '../common/metrics.js'

/** The Metrics interface over prom-client; `/metrics` serves `render()`. */
export class PromMetrics implements Metrics {
  readonly registry = new client.Registry()
  private made = new Map<string, unknown>()

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    // prom-client's names already start with process_ / nodejs_: povchain_process_cpu_seconds_total, not povchain_process_process_….
    if (opts.defaultMetrics !== false) client.collectDefaultMetrics({ register: this.registry, prefix: 'povchain_' })
  }

  private once<T>(name: string, make: () => T): T {
    let m = this.made.get(name) as T | undefined
    if (!m) {
      m = make()
      this.made.set(name, m)
    }
    return m
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    const c = this.once(name, () => new client.Counter({ name, help, labelNames, registers: [this.registry] }))
    return { inc: (labels?: Labels, value = 1) => (labels ? c.inc(labels, value) : c.inc(value)) }
  }

  gauge(name: string, help: string, labelNames: string[] = [], collect?: () => number | Promise<number>): Gauge {
    const g = this.once(
      name,
      () =>
        new client.Gauge({
          name,
          help,
          labelNames,
          registers: [this.registry],
          ...(collect ? { async collect(this: client.Gauge) { this.set(await collect()) } } : {}),
        }),
    )
    return {
      set: (v, labels) => (labels ? g.set(labels, v) : g.set(v)),
      inc: (labels, v = 1) => (labels ? g.inc(labels, v) : g.inc(v)),
      dec: (labels, v = 1) => (labels ? g.dec(labels, v) : g.dec(v)),
    }
  }

  histogram(name: string, help: string, labelNames: string[] = [], buckets?: number[]): Histogram {
    const h = this.once(name, () => new client.Histogram({ name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) }))
    return {
      observe: (v, labels) => (labels ? h.observe(labels, v) : h.observe(v)),
      startTimer: (labels) => {
        const end = labels ? h.startTimer(labels) : h.startTimer()
        return (more) => {
          end(more)
        }
      },
    }
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
