import { CpuMeter } from './procCpu.js'
import type { RpcClient } from './RpcClient.js'
import { log, round1, round2, round3 } from './stats.js'

const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'

export interface LogQueryFigure {
  /** Logs returned by one call (every repetition must return the same count). */
  logs: number
  reps: number
  /** The first (cold) call, before the timed repetitions. */
  first_ms?: number
  /** Median and best wall ms of one call (sequential, one in flight). */
  p50_ms?: number
  min_ms?: number
  server_cpu_ms_per_req?: number
}

const pad32 = (addr: string) => `0x${addr.slice(2).toLowerCase().padStart(64, '0')}`

/**
 * Times eth_getLogs shapes on a chain that holds the ERC-20 phase's Transfer logs: whole
 * range (any address), by address, by address + topic[1] (one sender), by topic[2] alone (one recipient: selective), an address that no block
 * holds (the bloom-only path), and by block hash; each repeated `reps` times, one in flight.
 */
export async function runLogsBench(
  rpc: RpcClient,
  token: string,
  sender: string,
  recipient: string,
  reps: number,
  serverPid?: number,
): Promise<Record<string, LogQueryFigure>> {
  const head = await rpc.call<string>('eth_blockNumber')
  const whole = { fromBlock: '0x0', toBlock: head }
  const shapes: [string, (i: number) => unknown][] = [
    ['whole_range', () => whole],
    ['by_address', () => ({ ...whole, address: token })],
    ['by_topic', () => ({ ...whole, address: token, topics: [TRANSFER_TOPIC, pad32(sender)] })],
    ['by_recipient_topic', () => ({ ...whole, topics: [TRANSFER_TOPIC, null, pad32(recipient)] })],
    ['bloom_miss', () => ({ ...whole, address: '0x00000000000000000000000000000000000beef1' })],
  ]
  // Block hashes of blocks that hold logs, for the blockHash shape.
  const all = await rpc.call<{ blockHash: string }[]>('eth_getLogs', [{ ...whole, address: token }])
  const hashes = [...new Set(all.map((l) => l.blockHash))]
  if (hashes.length > 0) shapes.push(['by_block_hash', (i) => ({ blockHash: hashes[i % hashes.length] })])
  const out: Record<string, LogQueryFigure> = {}
  for (const [name, filter] of shapes) {
    const per = name === 'by_block_hash' ? reps * 20 : reps
    // The first call is the cold one (receipts not yet decoded in the node's cache): reported apart.
    const tw = performance.now()
    await rpc.call('eth_getLogs', [filter(0)])
    const firstMs = performance.now() - tw
    const lat: number[] = []
    let count = -1
    const meter = new CpuMeter(serverPid)
    for (let i = 0; i < per; i++) {
      const t = performance.now()
      const r = await rpc.call<unknown[]>('eth_getLogs', [filter(i)])
      lat.push(performance.now() - t)
      if (name !== 'by_block_hash') {
        if (count >= 0 && r.length !== count) throw new Error(`eth_getLogs ${name}: ${r.length} logs, earlier ${count}`)
        count = r.length
      } else count = Math.max(count, 0) + r.length
    }
    const cpu = meter.stop()
    lat.sort((a, b) => a - b)
    out[name] = {
      logs: name === 'by_block_hash' ? round1(count / per)! : count,
      reps: per,
      first_ms: round2(firstMs),
      p50_ms: round2(lat[Math.floor(lat.length / 2)]),
      min_ms: round2(lat[0]),
      server_cpu_ms_per_req: round3(cpu.serverMs !== undefined ? cpu.serverMs / per : undefined),
    }
    log(`eth_getLogs ${name}: ${out[name]!.logs} logs, p50 ${out[name]!.p50_ms} ms, CPU ${out[name]!.server_cpu_ms_per_req} ms/req`)
  }
  if ((out.by_address?.logs ?? 0) === 0) throw new Error('eth_getLogs by address returned no Transfer logs')
  return out
}
