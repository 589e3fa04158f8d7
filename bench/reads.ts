import { boundedPool } from './concurrency.js'
import { CpuMeter } from './procCpu.js'
import type { RpcClient } from './RpcClient.js'
import { latencySummary, log, round1, round3, type LatencySummary } from './stats.js'

export interface ReadResult extends LatencySummary {
  concurrency: number
  rps?: number
  server_cpu_ms_per_req?: number
  /** The kernel's (system) part of server_cpu_ms_per_req. */
  server_sys_ms_per_req?: number
}

/**
 * `count` calls of one read method at a fixed concurrency after a short warm-up; each answer
 * is checked by `check`. Reports req/s, latency percentiles and server CPU per request.
 */
export async function runReads(
  rpc: RpcClient,
  label: string,
  count: number,
  concurrency: number,
  request: (i: number) => [string, unknown[]],
  check: (result: unknown, i: number) => void,
  serverPid?: number,
): Promise<ReadResult> {
  await boundedPool(Math.min(200, count), concurrency, async (i) => {
    const [m, p] = request(i)
    check(await rpc.call(m, p), i)
  })
  const lat: number[] = []
  const meter = new CpuMeter(serverPid)
  const t0 = performance.now()
  await boundedPool(count, concurrency, async (i) => {
    const [m, p] = request(i)
    const s = performance.now()
    const r = await rpc.call(m, p)
    lat.push(performance.now() - s)
    check(r, i)
  })
  const wall = performance.now() - t0
  const cpu = meter.stop()
  const res: ReadResult = {
    ...latencySummary(lat),
    concurrency,
    rps: round1((count * 1000) / wall),
    server_cpu_ms_per_req: round3(cpu.serverMs !== undefined ? cpu.serverMs / count : undefined),
    server_sys_ms_per_req: round3(cpu.serverSystemMs !== undefined ? cpu.serverSystemMs / count : undefined),
  }
  log(`${label}: ${res.rps} req/s, p50 ${res.p50_ms} ms, p99 ${res.p99_ms} ms` + (res.server_cpu_ms_per_req !== undefined ? `, server CPU ${res.server_cpu_ms_per_req} ms/req (system ${res.server_sys_ms_per_req})` : ''))
  return res
}
