/**
 * `npm run bench -- --only spam`: a transaction flood at a dev node in its own process (blocks
 * every `--spam-period` s, the pool at Geth's default limits), from `--spam-accounts` funded
 * accounts: `--spam-txs` transactions sent as JSON-RPC batches, a mix of
 * - valid transfers at a low tip (1–2 gwei), each account's nonces in order,
 * - underpriced ones (tip 0: below the pool's minimum tip),
 * - future nonces (5–200 past the account's next one: queued, never executable),
 * - replacements of an earlier valid one, half with too small a bump (10 % is required).
 * Meanwhile honest wallets (dev accounts 1–3) send one transfer a second each at a 5 gwei tip.
 * Every `--spam-checkpoint` transactions: the node's RSS, CPU, pool pending/queued and head.
 * What the JSON says: the answers by kind, the pool's maxima against its limits, RSS per
 * checkpoint against `--spam-rss-bound`, and how many blocks each honest transfer waited.
 *
 * With `--spam-devnet N` the target is a devnet of N producers in their own processes
 * (DevnetProcess): the flood goes to node 0, the honest wallets send to the last node, every
 * node's RSS is sampled and bound, every node's pool is watched against Geth's limits, and each
 * honest transfer must have its receipt on every node — the spam crosses the network as gossip.
 */
import { readFileSync } from 'node:fs'
import { RLP } from '@ethereumjs/rlp'
import { keccak256 } from '../chain/keccak.js'
import { privateKeyToAddress, signDigest } from '../chain/Signing.js'
import { DevnetProcess } from './DevnetProcess.js'
import { devWallets } from './devWallets.js'
import { NodeProcess } from './NodeProcess.js'
import { processCpuMs } from './procCpu.js'
import { fromQty, RpcClient } from './RpcClient.js'
import { log, sleep } from './stats.js'

export interface SpamOptions {
  txs: number
  accounts: number
  /** Seconds between the dev node's blocks. */
  period: number
  checkpoint: number
  /** MiB of RSS the node must stay under. */
  rssBoundMiB: number
  timeoutSec: number
  /** Seconds the flood may last (0: no limit); it stops early, and the JSON says how many were sent. */
  maxSeconds: number
  /** Producers of a devnet to flood (0: one dev node). */
  devnet: number
}

const GWEI = 10n ** 9n
const DEV_CHAIN_ID = 31337n
const SPAM_FEE_CAP = 100n * GWEI
const HONEST_TIP = 5n * GWEI
/** Geth's defaults, which the dev node runs with (chain/txpool/options.ts). */
const POOL_LIMITS = { globalSlots: 5120, globalQueue: 1024, accountSlots: 16, accountQueue: 64 }

function bigBytes(n: bigint): Uint8Array {
  if (n === 0n) return new Uint8Array(0)
  let h = n.toString(16)
  if (h.length % 2) h = `0${h}`
  return Uint8Array.from(Buffer.from(h, 'hex'))
}

/** A signed EIP-1559 transfer, RLP by hand and libsecp256k1 (~20 µs), so the bench measures the node, not the signing. */
function signTransfer(chainId: bigint, key: Uint8Array, nonce: bigint, tip: bigint, feeCap: bigint, to: Uint8Array, value = 1n): string {
  const fields = [bigBytes(chainId), bigBytes(nonce), bigBytes(tip), bigBytes(feeCap), bigBytes(21_000n), to, bigBytes(value), new Uint8Array(0), []]
  const digest = keccak256(Uint8Array.of(2, ...RLP.encode(fields)))
  const sig = signDigest(digest, key)
  return `0x02${Buffer.from(RLP.encode([...fields, bigBytes(BigInt(sig[64]!)), stripZeros(sig.subarray(0, 32)), stripZeros(sig.subarray(32, 64))])).toString('hex')}`
}

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0
  while (i < b.length && b[i] === 0) i++
  return b.subarray(i)
}

/** Deterministic PRNG (mulberry32): the same flood for the same options. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Math.round(Number(m[1]) / 1024) : NaN
}

async function batch(url: string, calls: { method: string; params: unknown[] }[]): Promise<{ result?: unknown; error?: { code: number; message: string } }[]> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(calls.map((c, id) => ({ jsonrpc: '2.0', id, ...c }))) })
  return (await r.json()) as { result?: unknown; error?: { code: number; message: string } }[]
}

function rttSummary(ms: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b)
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0)
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: Math.round(s[s.length - 1] ?? 0) }
}

/** Geth's messages without their numbers, to count answers by kind. */
const answerKind = (m: string) => m.replace(/0x[0-9a-fA-F]+|\d+(\.\d+)?/g, 'N').slice(0, 70)

/** Where the flood goes: one dev node, or a devnet (flood at node 0, honest wallets at the last). */
interface SpamTarget {
  nodes: { url: string; pid: number }[]
  chainId: bigint
  stop(): Promise<void>
}

async function startTarget(o: SpamOptions): Promise<SpamTarget> {
  if (o.devnet > 0) {
    const net = new DevnetProcess(o.devnet, o.period)
    try {
      await net.start()
    } catch (e) {
      await net.stop()
      throw e
    }
    return { nodes: net.nodes, chainId: net.chainId, stop: () => net.stop() }
  }
  const node = new NodeProcess([], ['--dev.period', String(o.period)])
  await node.start()
  return { nodes: [{ url: node.url, pid: node.pid! }], chainId: DEV_CHAIN_ID, stop: () => node.stop() }
}

export async function runSpamBench(o: SpamOptions): Promise<Record<string, unknown>> {
  const target = await startTarget(o)
  const node = target.nodes[0]!
  const pid = node.pid
  const CHAIN_ID = target.chainId
  const honestNode = target.nodes[target.nodes.length - 1]!
  const rpc = new RpcClient(node.url, 16)
  const honestRpc = new RpcClient(honestNode.url, 4)
  const others = target.nodes.map((n) => new RpcClient(n.url, 2))
  // A flooded node on a loaded machine may keep a caller waiting; the bench records how long rather than failing at 30 s.
  const call = <T = unknown>(method: string, params: unknown[] = []) => rpc.call<T>(method, params, 120_000)
  const honestCall = <T = unknown>(method: string, params: unknown[] = []) => honestRpc.call<T>(method, params, 120_000)
  const allRss = () => target.nodes.map((n) => rssMiB(n.pid))
  try {
    const rssStart = rssMiB(pid)
    const rssStartAll = allRss()
    // --- accounts: derived keys, funded from dev accounts 10..19 in waves ---
    const tk = performance.now()
    const keys = Array.from({ length: o.accounts }, (_, i) => keccak256(new TextEncoder().encode(`povchain-spam-${i}`)))
    const addrs = keys.map((k) => privateKeyToAddress(k))
    log(`spam: ${o.accounts} keys in ${Math.round(performance.now() - tk)} ms; funding`)
    const funders = devWallets(20).slice(10)
    const funderKeys = funders.map((w) => Uint8Array.from(Buffer.from(w.privateKey.slice(2), 'hex')))
    const funderNonce = await Promise.all(funders.map(async (w) => fromQty(await call('eth_getTransactionCount', [w.address, 'pending']), 'nonce')))
    const tf = performance.now()
    const WAVE = 4000 // under globalSlots (5120): no funding transfer is evicted
    for (let from = 0; from < o.accounts; from += WAVE) {
      const raws: string[] = []
      for (let i = from; i < Math.min(o.accounts, from + WAVE); i++) {
        const f = i % funders.length
        raws.push(signTransfer(CHAIN_ID, funderKeys[f]!, funderNonce[f]!++, 2n * GWEI, 1000n * GWEI, addrs[i]!, 10n ** 18n))
      }
      for (let i = 0; i < raws.length; i += 200) {
        const res = await batch(node.url, raws.slice(i, i + 200).map((raw) => ({ method: 'eth_sendRawTransaction', params: [raw] })))
        const bad = res.find((r) => r.error)
        if (bad) throw new Error(`funding refused: ${bad.error!.message}`)
      }
      // Wait until the wave is mined (the last funder's nonce is on chain).
      const deadline = Date.now() + o.timeoutSec * 1000
      for (;;) {
        const done = await Promise.all(funders.map(async (w, f) => fromQty(await call('eth_getTransactionCount', [w.address, 'latest']), 'nonce') === funderNonce[f]))
        if (done.every(Boolean)) break
        if (Date.now() > deadline) throw new Error('funding not mined in time')
        await sleep(200)
      }
    }
    const fundSec = (performance.now() - tf) / 1000
    log(`spam: funded ${o.accounts} accounts in ${fundSec.toFixed(1)} s`)

    // --- honest wallets ---
    const honestKeys = devWallets(4).slice(1).map((w) => ({ key: Uint8Array.from(Buffer.from(w.privateKey.slice(2), 'hex')), address: w.address }))
    const honestNonce = await Promise.all(honestKeys.map(async (h) => fromQty(await call('eth_getTransactionCount', [h.address, 'pending']), 'nonce')))
    const honest: { hash: string; sentAt: bigint }[] = []
    const honestRefused: string[] = []
    let stopHonest = false
    const dead = new Uint8Array(20).fill(0xde)
    // The honest wallets' RPC round trips (eth_blockNumber, then the send): the slowest is how
    // long the node kept an honest client waiting during the flood.
    const honestRttMs: number[] = []
    const honestLoop = (async () => {
      while (!stopHonest) {
        for (let i = 0; i < honestKeys.length; i++) {
          const raw = signTransfer(CHAIN_ID, honestKeys[i]!.key, honestNonce[i]!, HONEST_TIP, 1000n * GWEI, dead)
          try {
            let t = performance.now()
            const sentAt = fromQty(await honestCall('eth_blockNumber'), 'head')
            honestRttMs.push(performance.now() - t)
            t = performance.now()
            honest.push({ hash: await honestCall<string>('eth_sendRawTransaction', [raw]), sentAt })
            honestRttMs.push(performance.now() - t)
            honestNonce[i]!++
          } catch (e) {
            honestRefused.push((e as Error).message)
            honestNonce[i] = fromQty(await honestCall('eth_getTransactionCount', [honestKeys[i]!.address, 'pending']).catch(() => `0x${honestNonce[i]!.toString(16)}`), 'nonce')
          }
        }
        await sleep(1000)
      }
    })()

    // --- the flood ---
    const rand = prng(17)
    const next = new Array<bigint>(o.accounts).fill(0n)
    const sentValid: { account: number; nonce: bigint; tip: bigint }[] = []
    const answers = new Map<string, Map<string, number>>()
    const count = (kind: string, a: string) => {
      const m = answers.get(kind) ?? new Map<string, number>()
      m.set(a, (m.get(a) ?? 0) + 1)
      answers.set(kind, m)
    }
    const checkpoints: Record<string, number | number[]>[] = []
    let maxPending = 0
    let maxQueued = 0
    let rssPeak = rssStart
    const rssPeakAll = [...rssStartAll]
    const sampler = setInterval(() => {
      // Every node's pool: on a devnet the flood reaches the others as gossip.
      for (const r of others)
        void r.call<{ pending: string; queued: string }>('txpool_status', [], 120_000).then((s) => {
          maxPending = Math.max(maxPending, Number(fromQty(s.pending, 'pending')))
          maxQueued = Math.max(maxQueued, Number(fromQty(s.queued, 'queued')))
        }, () => {})
      rssPeak = Math.max(rssPeak, rssMiB(pid))
      allRss().forEach((m, i) => (rssPeakAll[i] = Math.max(rssPeakAll[i]!, m)))
    }, 250)
    const cpu0 = processCpuMs(pid) ?? 0
    const head0 = fromQty(await call('eth_blockNumber'), 'head')
    const t0 = performance.now()
    let signMs = 0
    const CHUNK = 500
    let rttMark = 0
    let sent = 0
    let stoppedByTime = false
    while (sent < o.txs) {
      if (o.maxSeconds > 0 && performance.now() - t0 > o.maxSeconds * 1000) {
        stoppedByTime = true
        break
      }
      const ts = performance.now()
      const chunk: { kind: string; raw: string }[] = []
      for (let j = 0; j < CHUNK && sent + j < o.txs; j++) {
        const a = Math.floor(rand() * o.accounts)
        const r = rand()
        const to = addrs[(a + 1) % o.accounts]!
        if (r < 0.6) {
          const tip = GWEI + BigInt(Math.floor(rand() * 1e9))
          chunk.push({ kind: 'valid', raw: signTransfer(CHAIN_ID, keys[a]!, next[a]!, tip, SPAM_FEE_CAP, to) })
          sentValid.push({ account: a, nonce: next[a]!, tip })
          next[a]!++
        } else if (r < 0.75) {
          chunk.push({ kind: 'underpriced', raw: signTransfer(CHAIN_ID, keys[a]!, next[a]!, 0n, SPAM_FEE_CAP, to) })
        } else if (r < 0.9) {
          chunk.push({ kind: 'future', raw: signTransfer(CHAIN_ID, keys[a]!, next[a]! + 5n + BigInt(Math.floor(rand() * 195)), GWEI, SPAM_FEE_CAP, to) })
        } else if (sentValid.length > 0) {
          const v = sentValid[Math.floor(rand() * sentValid.length)]!
          const enough = rand() < 0.5
          const bump = enough ? 112n : 105n
          chunk.push({ kind: enough ? 'replace' : 'replace-low', raw: signTransfer(CHAIN_ID, keys[v.account]!, v.nonce, (v.tip * bump) / 100n, (SPAM_FEE_CAP * bump) / 100n, to) })
        }
      }
      signMs += performance.now() - ts
      // Four batches of ≤ 125 in flight at once, as several spam clients would.
      const parts = [0, 1, 2, 3].map((p) => chunk.slice((p * chunk.length) / 4, ((p + 1) * chunk.length) / 4)).filter((p) => p.length > 0)
      const res = await Promise.all(parts.map((p) => batch(node.url, p.map((c) => ({ method: 'eth_sendRawTransaction', params: [c.raw] })))))
      parts.forEach((p, pi) => p.forEach((c, ci) => count(c.kind, res[pi]![ci]!.error ? answerKind(res[pi]![ci]!.error!.message) : 'accepted')))
      const before = Math.floor(sent / o.checkpoint)
      sent += chunk.length
      if (Math.floor(sent / o.checkpoint) > before || sent >= o.txs || (o.maxSeconds > 0 && performance.now() - t0 > o.maxSeconds * 1000)) {
        const st = await call<{ pending: string; queued: string }>('txpool_status')
        const cp = {
          sent,
          seconds: Math.round((performance.now() - t0) / 100) / 10,
          rssMiB: rssMiB(pid),
          serverCpuS: Math.round(((processCpuMs(pid) ?? 0) - cpu0) / 100) / 10,
          pending: Number(fromQty(st.pending, 'pending')),
          queued: Number(fromQty(st.queued, 'queued')),
          blocks: Number(fromQty(await call('eth_blockNumber'), 'head') - head0),
          honestSent: honest.length,
          honestRpcMaxMs: Math.round(Math.max(0, ...honestRttMs.slice(rttMark))),
          ...(target.nodes.length > 1 ? { rssMiBPerNode: allRss() } : {}),
        }
        rttMark = honestRttMs.length
        checkpoints.push(cp)
        log(`spam: ${JSON.stringify(cp)}`)
      }
    }
    const floodSec = (performance.now() - t0) / 1000
    const serverCpuMs = (processCpuMs(pid) ?? 0) - cpu0
    // Honest wallets go on for three more blocks, then every honest transfer must be mined.
    const headEnd = fromQty(await call('eth_blockNumber'), 'head')
    while (fromQty(await call('eth_blockNumber'), 'head') < headEnd + 3n) await sleep(200)
    stopHonest = true
    await honestLoop
    clearInterval(sampler)
    const delays: number[] = []
    let unmined = 0
    const deadline = Date.now() + o.timeoutSec * 1000
    // On every node: an honest transfer sent to the last node must be in the chain each one holds.
    let missingSomewhere = 0
    for (const h of honest) {
      for (const [i, r] of others.entries()) {
        let found = false
        for (;;) {
          const rc = await r.call<{ blockNumber: string } | null>('eth_getTransactionReceipt', [h.hash], 120_000)
          if (rc) {
            if (r === others[others.length - 1]) delays.push(Number(fromQty(rc.blockNumber, 'block') - h.sentAt))
            found = true
            break
          }
          if (Date.now() > deadline) break
          await sleep(250)
        }
        if (!found) {
          if (i === others.length - 1) unmined++
          else missingSomewhere++
        }
      }
    }
    delays.sort((a, b) => a - b)
    const rssEnd = rssMiB(pid)
    const ok =
      unmined === 0 && missingSomewhere === 0 && honestRefused.length === 0 && Math.max(...rssPeakAll) < o.rssBoundMiB && maxPending <= POOL_LIMITS.globalSlots && maxQueued <= POOL_LIMITS.globalQueue
    return {
      ok,
      txs: sent,
      txs_asked: o.txs,
      stopped_by_time_budget: stoppedByTime,
      accounts: o.accounts,
      period_s: o.period,
      target: target.nodes.length > 1 ? `devnet of ${target.nodes.length} producers (flood at node 0, honest wallets at node ${target.nodes.length - 1})` : 'dev node',
      pool_limits: POOL_LIMITS,
      fund_s: Math.round(fundSec * 10) / 10,
      flood_s: Math.round(floodSec * 10) / 10,
      tx_per_s: Math.round(sent / floodSec),
      client_sign_s: Math.round(signMs / 100) / 10,
      server_cpu_us_per_tx: Math.round((serverCpuMs * 1000) / sent),
      answers: Object.fromEntries([...answers].map(([k, m]) => [k, Object.fromEntries([...m].sort((x, y) => y[1] - x[1]))])),
      pool_max: { pending: maxPending, queued: maxQueued },
      rss_mib: { start: rssStart, peak: rssPeak, end: rssEnd, bound: o.rssBoundMiB },
      ...(target.nodes.length > 1 ? { rss_mib_per_node: { start: rssStartAll, peak: rssPeakAll, end: allRss() } } : {}),
      checkpoints,
      honest: {
        sent: honest.length,
        refused: honestRefused.slice(0, 5),
        refused_count: honestRefused.length,
        rpc_ms: rttSummary(honestRttMs),
        unmined,
        missing_on_another_node: missingSomewhere,
        blocks_to_inclusion: { min: delays[0], median: delays[Math.floor(delays.length / 2)], max: delays[delays.length - 1] },
      },
    }
  } finally {
    rpc.close()
    honestRpc.close()
    for (const r of others) r.close()
    await target.stop()
  }
}
