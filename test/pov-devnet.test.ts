/**
 * Proof of Value with real processes: `povchain devnet --nodes 4` (2 s slots, 8-slot epochs),
 * four genesis validators each with an accepted genesis receipt in the WorkMarket.
 * - every block is sealed by its slot's leader or a legal backup, and names an accepted work
 *   receipt owned by its producer (pov_getBlockWork);
 * - epochs turn (ValidatorSet.epochTransition as a system call) and every node reports the same
 *   four validators;
 * - finality: the time from a block becoming the head to it being finalized, measured in
 *   slots on a live network and printed (goal ≤ 2 slots);
 * - all nodes agree on the finalized block, and it never moves backwards.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { DevnetManifest } from '../cli/devnet.js'
import { ROOT, rpc, tempDir, waitFor } from './helpers/devnode.js'

const SLOT_SECONDS = 2
const tmp = tempDir('povchain-povnet-')
const procs: ChildProcess[] = []
t.teardown(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  tmp.cleanup()
})

interface Finalized {
  finalized: { number: string; hash: string }
  justified: { number: string; hash: string }
  head: { number: string; hash: string }
}
interface BlockWork {
  producer: string
  leader: string
  rank: number
  block: { slot: string; epoch: string }
  work: { jobId: string; sessionId: string; receipt: { worker: string; accepted: boolean; genesis: boolean } | null }
}

t.test('four PoV validators produce, name their receipts and finalize within slots', async (t) => {
  const dir = join(tmp.dir, 'net')
  const devnet = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'cli.ts'), 'devnet', '--nodes', '4', '--dir', dir, '--slot-seconds', String(SLOT_SECONDS), '--epoch-length', '8'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  procs.push(devnet)
  const manifestPath = join(dir, 'devnet.json')
  await waitFor(() => existsSync(manifestPath), 'devnet.json', 90_000, 100)
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as DevnetManifest
  const urls = m.nodes.map((n) => n.rpc)
  const producers = new Set(m.nodes.map((n) => n.producer.toLowerCase()))
  await waitFor(async () => (await Promise.all(urls.map((u) => rpc<string>(u, 'net_peerCount')))).every((c) => c === '0x3'), 'full mesh', 60_000, 250)

  // Time to finality: when each new head appears on node 0, and when node 0 first reports it final.
  const firstSeen = new Map<number, number>()
  const finalizedAt = new Map<number, number>()
  let lastFinal = -1
  let backwards = false
  const sampleUntil = Date.now() + 40_000
  while (Date.now() < sampleUntil) {
    const f = await rpc<Finalized>(urls[0]!, 'pov_getFinalized')
    const now = Date.now()
    const head = Number(f.head.number)
    const fin = Number(f.finalized.number)
    if (fin < lastFinal) backwards = true
    for (let n = 1; n <= head; n++) if (!firstSeen.has(n)) firstSeen.set(n, now)
    for (let n = 1; n <= fin; n++) if (!finalizedAt.has(n)) finalizedAt.set(n, now)
    lastFinal = Math.max(lastFinal, fin)
    await new Promise((r) => setTimeout(r, 100))
  }
  t.notOk(backwards, 'the finalized block never moved backwards')
  // Blocks that appeared while we watched (not those already there at the start).
  const startHead = Math.min(...firstSeen.keys()) + [...firstSeen.values()].filter((v) => v === Math.min(...firstSeen.values())).length - 1
  const lags = [...firstSeen.entries()].filter(([n]) => n > startHead && finalizedAt.has(n)).map(([n, seen]) => (finalizedAt.get(n)! - seen) / 1000 / SLOT_SECONDS)
  t.ok(lags.length >= 5, `${lags.length} blocks became final while watched`)
  lags.sort((a, b) => a - b)
  const median = lags[Math.floor(lags.length / 2)]!
  const p90 = lags[Math.floor(lags.length * 0.9)]!
  console.log(JSON.stringify({ pov_devnet_time_to_finality_slots: { blocks: lags.length, median: Math.round(median * 100) / 100, p90: Math.round(p90 * 100) / 100, max: Math.round(lags.at(-1)! * 100) / 100, slotSeconds: SLOT_SECONDS } }))
  t.ok(median <= 2.5, `median time to finality ${median.toFixed(2)} slots (goal ≤ 2)`)

  // Every node agrees on the finalized block.
  const fin = await rpc<Finalized>(urls[0]!, 'pov_getFinalized')
  const finNumber = fin.finalized.number
  await waitFor(
    async () => (await Promise.all(urls.map((u) => rpc<{ hash: string } | null>(u, 'eth_getBlockByNumber', [finNumber, false])))).every((b) => b?.hash === fin.finalized.hash),
    'the finalized block on every node',
    20_000,
    250,
  )
  const tags = await Promise.all(urls.map((u) => rpc<{ number: string }>(u, 'eth_getBlockByNumber', ['finalized', false])))
  t.ok(tags.every((b) => Number(b.number) >= Number(finNumber) - 2), `eth_getBlockByNumber("finalized") follows finality on every node (${tags.map((b) => Number(b.number)).join(', ')})`)

  // Every block so far: sealed by a validator in its schedule, naming its own accepted receipt.
  const last = Number(fin.head.number)
  const epochs = new Set<string>()
  let backups = 0
  for (let n = 1; n <= last; n++) {
    const w = await rpc<BlockWork>(urls[n % 4]!, 'pov_getBlockWork', [`0x${n.toString(16)}`])
    epochs.add(w.block.epoch)
    if (!producers.has(w.producer.toLowerCase()) || w.rank < 0) t.fail(`block ${n}: producer ${w.producer} rank ${w.rank}`)
    if (w.rank > 0) backups++
    const r = w.work.receipt
    if (!r || !r.accepted || r.worker.toLowerCase() !== w.producer.toLowerCase()) t.fail(`block ${n} does not name an accepted receipt of its producer`)
  }
  t.pass(`${last} blocks: each sealed by its slot's leader or backup (${backups} by backups), each naming an accepted receipt of its producer`)
  t.ok(epochs.size >= 2, `the chain crossed ${epochs.size - 1} epoch boundaries`)
  const sets = await Promise.all(urls.map((u) => rpc<{ validators: { address: string; weight: string }[] }>(u, 'pov_getValidators', [])))
  for (const s of sets) t.equal(s.validators.length, 4, 'four validators in the current epoch')
  t.same(new Set(sets.map((s) => JSON.stringify(s))).size, 1, 'every node reports the same validator set')

  devnet.kill('SIGINT')
  await new Promise((r) => devnet.once('exit', r))
})
