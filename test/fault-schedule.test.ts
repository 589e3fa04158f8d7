/**
 * A scripted fault schedule on a four-validator devnet (real processes, 2 s slots) under a
 * steady load of transfers (issue 17, "Faults"):
 *   1. kill -9 one node, restart it 6 s later;
 *   2. SIGSTOP one node for 10 s (five slots), then SIGCONT;
 *   3. kill -9 one node and restart it at once;
 *   4. kill -9 two nodes together (finality must stall: 2 of 4 is no two-thirds), restart both;
 *   5. restart one node with its clock 0.4 s ahead (within the 0.5 s disparity), with libfaketime
 *      (skipped with a reason where it is not installed; CI installs it).
 * Throughout, every node's finalized block is polled: two different hashes at one height on any
 * nodes fail the test. After each fault, every node must be back on one canonical head; the
 * recovery time is printed. At the end, every transaction a node acknowledged (returned a hash
 * for) is in the chain of every node — including those acknowledged by a node just before it
 * was killed (its transaction journal re-sends them).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { DevnetManifest } from '../cli/devnet.js'
import { bytesToHex } from '../common/bytes.js'
import { ROOT, rpc, rpcRaw, tempDir, waitFor } from './helpers/devnode.js'
import { transferTx } from './helpers/netcluster.js'

const CHAIN_ID = 31338n
const FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'
const tmp = tempDir('povchain-faults-')
const procs: ChildProcess[] = []
t.teardown(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  tmp.cleanup()
})

function spawnLogged(argv: string[], env: Record<string, string> = {}): ChildProcess {
  const p = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } })
  p.stderr!.resume()
  procs.push(p)
  return p
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

interface Block {
  number: string
  hash: string
}
const headOf = async (url: string) => Number(BigInt((await rpc<Block>(url, 'eth_getBlockByNumber', ['latest', false])).number))

t.test('four validators through kills, a pause, a double kill and a skewed clock, under load', async (t) => {
  const dir = join(tmp.dir, 'net')
  spawnLogged([process.execPath, '--import', 'tsx', join(ROOT, 'cli', 'cli.ts'), 'devnet', '--nodes', '4', '--dir', dir, '--slot-seconds', '2', '--epoch-length', '8'])
  const manifestPath = join(dir, 'devnet.json')
  await waitFor(() => existsSync(manifestPath), 'devnet.json', 90_000, 100)
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as DevnetManifest
  const urls = m.nodes.map((n) => n.rpc)
  const pids = m.nodes.map((n) => n.pid!)
  const up = new Set([0, 1, 2, 3])
  await waitFor(async () => (await Promise.all(urls.map(headOf))).every((h) => h >= 3), 'the devnet produces', 90_000, 250)

  // Safety: finalized blocks never conflict, on any node, at any time.
  const finalizedAt = new Map<number, string>()
  const conflicts: string[] = []
  let watching = true
  const watch = (async () => {
    while (watching) {
      for (const i of [...up]) {
        const b = await rpc<Block | null>(urls[i]!, 'eth_getBlockByNumber', ['finalized', false]).catch(() => null)
        if (!b) continue
        const n = Number(BigInt(b.number))
        const known = finalizedAt.get(n)
        if (known && known !== b.hash) conflicts.push(`node${i} finalized ${b.hash} at ${n}, another node ${known}`)
        finalizedAt.set(n, b.hash)
      }
      await new Promise((r) => setTimeout(r, 400))
    }
  })()

  // Load: transfers from dev accounts 1…6, each to a node that is up; a hash returned is an acknowledgement.
  const acked: { hash: string; node: number }[] = []
  const nonces = new Map<number, bigint>()
  let loading = true
  let sendErrors = 0
  const load = (async () => {
    let k = 0
    while (loading) {
      const from = 1 + (k % 6)
      const target = [...up][k % up.size]
      k++
      if (target === undefined) continue
      const nonce = nonces.get(from) ?? BigInt(await rpc<string>(urls[target]!, 'eth_getTransactionCount', [devAddress(from), 'pending']).catch(() => '0x0'))
      const tx = transferTx(CHAIN_ID, from, nonce, new Uint8Array(20).fill(0x40 + from), 1n)
      const r = await rpcRaw<string>(urls[target]!, 'eth_sendRawTransaction', [bytesToHex(tx.serialize())]).catch(() => undefined)
      if (r?.result) {
        acked.push({ hash: r.result, node: target })
        nonces.set(from, nonce + 1n)
      } else {
        sendErrors++
        nonces.delete(from) // re-read the pending nonce next time (the node may have gone)
      }
      await new Promise((res) => setTimeout(res, 60))
    }
  })()

  const recovery: Record<string, number> = {}
  /** Every node up agrees on one head at least `min`; returns the seconds it took. */
  const converge = async (what: string, timeoutMs = 90_000): Promise<void> => {
    const started = Date.now()
    const target = Math.max(...(await Promise.all([...up].map((i) => headOf(urls[i]!).catch(() => 0)))))
    let seen = ''
    await waitFor(
      async () => {
        const ids = [...up]
        const heads = await Promise.all(ids.map((i) => headOf(urls[i]!)))
        const low = Math.min(...heads)
        const hashes = await Promise.all(ids.map((i) => rpc<Block>(urls[i]!, 'eth_getBlockByNumber', [`0x${(low - 1).toString(16)}`, false])))
        seen = `target ${target}, heads ${ids.map((i, k) => `node${i}:${heads[k]}`).join(' ')}, block ${low - 1}: ${hashes.map((h) => h.hash.slice(0, 10)).join(' ')}`
        if (low < target) return false
        return new Set(hashes.map((h) => h.hash)).size === 1
      },
      what,
      timeoutMs,
      250,
    ).then(
      () => undefined,
      (e: Error) => {
        // What each node said last: the next engineer's starting point.
        for (const n of m.nodes) {
          const lines = existsSync(n.log) ? readFileSync(n.log, 'utf8').trim().split('\n') : []
          console.error(`# node${n.index} log, last lines:\n${lines.slice(-25).join('\n')}`)
        }
        throw new Error(`${e.message} (last seen: ${seen})`)
      },
    )
    recovery[what] = (Date.now() - started) / 1000
    t.pass(`${what}: back on one head in ${recovery[what]!.toFixed(1)} s`)
  }
  const kill = async (i: number) => {
    process.kill(pids[i]!, 'SIGKILL')
    up.delete(i)
    await waitFor(() => !alive(pids[i]!), `node${i} dead`, 10_000, 50)
  }
  const restart = async (i: number, env: Record<string, string> = {}) => {
    const p = spawnLogged(m.nodes[i]!.argv, env)
    pids[i] = p.pid!
    await waitFor(async () => (await rpcRaw(urls[i]!, 'eth_blockNumber').catch(() => ({}) as { result?: unknown })).result !== undefined, `node${i} answers`, 60_000, 200)
    up.add(i)
  }
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

  await sleep(4000)
  // 1. kill -9, restart 6 s later.
  await kill(1)
  await sleep(6000)
  await restart(1)
  await converge('kill -9 node1, restart after 6 s')

  // 2. A paused process: its peers see it silent, its timers stall.
  process.kill(pids[2]!, 'SIGSTOP')
  up.delete(2)
  await sleep(10_000)
  process.kill(pids[2]!, 'SIGCONT')
  up.add(2)
  // Finding F1 (fixed): the resumed node sealed a block on its stale head, every peer banned it
  // for a block that left their finalized one, and it stayed on its fork; a status request it
  // sent just before the pause also timed out and counted as malformed. Now such blocks are
  // stale (ignored, unscored), timeouts never ban, and a node that stalled catches up first.
  await converge('SIGSTOP node2 for 10 s, SIGCONT')

  // 3. kill -9 and restart at once.
  await kill(3)
  await restart(3)
  await converge('kill -9 node3, restart at once')

  // 4. Two of four down: blocks go on, finality cannot; both back.
  const finalBefore = Math.max(...finalizedAt.keys())
  await kill(0)
  await kill(1)
  await sleep(8000)
  await restart(0)
  await restart(1)
  await converge('kill -9 node0 and node1, restart both')
  await waitFor(() => Math.max(...finalizedAt.keys()) > finalBefore + 2, 'finality resumes after the double kill', 90_000, 500)
  t.pass('finality resumed after two of four validators came back')

  // 5. A clock 0.4 s ahead: inside the allowed disparity, so nothing may break.
  if (existsSync(FAKETIME)) {
    await kill(2)
    await restart(2, { LD_PRELOAD: FAKETIME, FAKETIME: '+0.4', FAKETIME_DONT_FAKE_MONOTONIC: '1' })
    await converge('node2 restarted with its clock 0.4 s ahead')
    const f = Math.max(...finalizedAt.keys())
    await waitFor(() => Math.max(...finalizedAt.keys()) > f + 2, 'finality goes on with a skewed clock', 60_000, 500)
  } else t.comment(`skipped: clock skew — libfaketime is not installed (${FAKETIME}; apt-get install faketime)`)

  loading = false
  await load
  watching = false
  await watch
  t.same(conflicts, [], 'no two nodes ever finalized different blocks at one height')
  t.ok(acked.length > 100, `${acked.length} transactions acknowledged under the faults (${sendErrors} sends refused or unanswered)`)
  // Every acknowledged transaction ends in every node's chain.
  const missing: string[] = []
  await waitFor(
    async () => {
      missing.length = 0
      for (const i of [0, 1, 2, 3])
        for (const a of acked) if (!(await rpc<{ blockHash: string } | null>(urls[i]!, 'eth_getTransactionReceipt', [a.hash]))) missing.push(`${a.hash} (acked by node${a.node}) not on node${i}`)
      return missing.length === 0
    },
    'every acknowledged transaction mined on every node',
    120_000,
    2000,
  ).catch(() => undefined)
  t.same(missing.slice(0, 10), [], `every one of the ${acked.length} acknowledged transactions is in every node's chain (${missing.length} missing)`)
  t.comment(`recovery seconds: ${JSON.stringify(recovery)}`)
})

const addresses = new Map<number, string>()
/** Dev account i's address (the Hardhat mnemonic). */
function devAddress(i: number): string {
  if (!addresses.has(i)) addresses.set(i, bytesToHex(transferTx(CHAIN_ID, i, 0n, new Uint8Array(20), 0n).getSenderAddress().bytes))
  return addresses.get(i)!
}
