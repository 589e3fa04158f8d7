/**
 * The metrics surface components record into. node/ implements it with prom-client and
 * serves `/metrics`; tests use `noopMetrics`. Names follow Prometheus conventions
 * (`povchain_<module>_<thing>_<unit>`).
 */
export type Labels = Record<string, string | number>

export interface Counter {
  inc(labels?: Labels, value?: number): void
}

export interface Gauge {
  set(value: number, labels?: Labels): void
  inc(labels?: Labels, value?: number): void
  dec(labels?: Labels, value?: number): void
}

export interface Histogram {
  observe(value: number, labels?: Labels): void
  /** Starts a timer; calling the result records the elapsed seconds. */
  startTimer(labels?: Labels): (labels?: Labels) => void
}

export interface Metrics {
  counter(name: string, help: string, labelNames?: string[]): Counter
  gauge(name: string, help: string, labelNames?: string[], collect?: () => number | Promise<number>): Gauge
  histogram(name: string, help: string, labelNames?: string[], buckets?: number[]): Histogram
}

const noopCounter: Counter = { inc() {} }
const noopGauge: Gauge = { set() {}, inc() {}, dec() {} }
const noopHistogram: Histogram = { observe() {}, startTimer: () => () => {} }

export const noopMetrics: Metrics = {
  counter: () => noopCounter,
  gauge: () => noopGauge,
  histogram: () => noopHistogram,
}
