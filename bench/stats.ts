/** Small numeric helpers for latency and rate figures. */
export function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

export const round1 = (x: number | undefined): number | undefined => (x === undefined ? undefined : Math.round(x * 10) / 10)
export const round2 = (x: number | undefined): number | undefined => (x === undefined ? undefined : Math.round(x * 100) / 100)
export const round3 = (x: number | undefined): number | undefined => (x === undefined ? undefined : Math.round(x * 1000) / 1000)

export interface LatencySummary {
  count: number
  p50_ms?: number
  p90_ms?: number
  p99_ms?: number
  max_ms?: number
}

export function latencySummary(samplesMs: number[]): LatencySummary {
  const s = [...samplesMs].sort((a, b) => a - b)
  return {
    count: s.length,
    p50_ms: round2(percentile(s, 50)),
    p90_ms: round2(percentile(s, 90)),
    p99_ms: round2(percentile(s, 99)),
    max_ms: round2(s[s.length - 1]),
  }
}

export const log = (...a: unknown[]): void => console.error('[bench]', ...a)
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
