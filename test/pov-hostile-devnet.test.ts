/**
 * Issue 11: a 4-process devnet (`povchain devnet --nodes 4 --hostile 3:MODE`, 2 s slots, 4-slot
 * epochs) in which validator 3 — a quarter of the weight — plays one byzantine strategy:
 * `future-slots` (publishes the slots it leads in the next 7 at once), `spam-votes` (votes by
 * throwaway keys, double votes among them), `fork-epochs` (a branch on the epoch's anchor that
 * skips an epoch). For each: the three honest nodes keep finalizing, agree on the finalized
 * block and on one chain below it, and no honest validator is ever slashed. The figures
 * (finality delay in slots, orphan rate, attacks seen) are printed as JSON and quoted in
 * consensus/README.md.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { encodeFunctionData, parseAbi, type Hex } from 'viem'
import type { DevnetManifest } from '../cli/devnet.js'
import { ROOT, rpc, tempDir, waitFor } from './helpers/devnode.js'

const SLOT_SECONDS = 2
t.setTimeout(600_000) // three devnets of four processes, one after the other
const WATCH_MS = 36_000
const tmp = tempDir('povchain-hostile-')
const procs: ChildProcess[] = []
/** Node pids from each devnet.json: a devnet killed hard leaves its nodes running otherwise. */
const nodePids: number[] = []
t.teardown(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  for (const pid of nodePids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  tmp.cleanup()
})

const bondAbi = parseAbi(['function bondOf(address v) view returns (uint256)'])
const bondOf = async (url: string, who: string) =>
  BigInt(await rpc<Hex>(url, 'eth_call', [{ to: '0x0000000000000000000000000000000000000A00', data: encodeFunctionData({ abi: bondAbi, functionName: 'bondOf', args: [who as Hex] }) }, 'latest']))

interface Finalized {
  finalized: { number: string; hash: string }
  head: { number: string; hash: string }
}

for (const mode of ['future-slots', 'spam-votes', 'fork-epochs'] as const) {
  t.test(`a hostile validator (${mode}) does not stop the honest three`, async (t) => {
    const dir = join(tmp.dir, mode)
    const devnet = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'cli.ts'), 'devnet', '--nodes', '4', '--dir', dir, '--slot-seconds', String(SLOT_SECONDS), '--epoch-length', '4', '--hostile', `3:${mode}`], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    procs.push(devnet)
    const m = await waitFor(() => JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8')) as DevnetManifest, 'devnet.json', 60_000, 100)
    for (const n of m.nodes) if (n.pid) nodePids.push(n.pid)
    const honest = m.nodes.slice(0, 3).map((n) => n.rpc)
    await waitFor(async () => (await Promise.all(honest.map((u) => rpc<string>(u, 'eth_blockNumber')))).every((n) => Number(n) >= 2), 'the honest nodes producing', 120_000, 250)

    const honestProducers = m.nodes.slice(0, 3).map((n) => n.producer)
    const bondsBefore = await Promise.all(honestProducers.map((p) => bondOf(honest[0]!, p)))

    // Watch node 0: when each block becomes its head, and when it is finalized.
    const firstSeen = new Map<number, number>()
    const finalizedAt = new Map<number, number>()
    const startFinal = Number((await rpc<Finalized>(honest[0]!, 'pov_getFinalized')).finalized.number)
    const until = Date.now() + WATCH_MS
    while (Date.now() < until) {
      const f = await rpc<Finalized>(honest[0]!, 'pov_getFinalized')
      const now = Date.now()
      for (let n = 1; n <= Number(f.head.number); n++) if (!firstSeen.has(n)) firstSeen.set(n, now)
      for (let n = 1; n <= Number(f.finalized.number); n++) if (!finalizedAt.has(n)) finalizedAt.set(n, now)
      await new Promise((r) => setTimeout(r, 100))
    }
    const endFinal = Number((await rpc<Finalized>(honest[0]!, 'pov_getFinalized')).finalized.number)
    t.ok(endFinal >= startFinal + 8, `finality advanced while attacked (${startFinal} → ${endFinal})`)
    const firstWatched = Math.min(...firstSeen.keys()) + 1
    const lags = [...firstSeen.entries()].filter(([n]) => n > firstWatched && finalizedAt.has(n)).map(([n, seen]) => (finalizedAt.get(n)! - seen) / 1000 / SLOT_SECONDS)
    lags.sort((a, b) => a - b)
    const median = lags[Math.floor(lags.length / 2)] ?? Infinity

    // The honest nodes agree on the finalized block and on the chain below it.
    const fin = await rpc<Finalized>(honest[0]!, 'pov_getFinalized')
    await waitFor(
      async () => (await Promise.all(honest.map((u) => rpc<{ hash: string } | null>(u, 'eth_getBlockByNumber', [fin.finalized.number, false])))).every((b) => b?.hash === fin.finalized.hash),
      'the finalized block on every honest node',
      20_000,
      250,
    )
    // Orphans: blocks node 0 stored beyond the canonical chain (slots filled twice, forks that lost).
    const slotsSeen = Number(fin.head.number)
    const metrics = await (await fetch(`${honest[0]!}/metrics`)).text()
    const counter = (name: string, label = '') =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith(name) && l.includes(label))
        .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0)
    const imported = counter('povchain_chain_blocks_total')
    const invalid = counter('povchain_chain_invalid_blocks_total')
    const votesRejected = counter('povchain_consensus_attestations_total', 'result="invalid"') + counter('povchain_consensus_attestations_total', 'result="ignored"')
    const orphanRate = imported > 0 ? Math.max(0, imported - slotsSeen) / imported : 0
    // No honest validator was slashed (the hostile one may be).
    const bondsAfter = await Promise.all(honestProducers.map((p) => bondOf(honest[0]!, p)))
    const hostileLog = readFileSync(m.nodes[3]!.log, 'utf8')
    const attacks = hostileLog.split('\n').filter((l) => l.includes('HOSTILE')).length
    console.log(
      JSON.stringify({
        pov_hostile_devnet: { mode, finalized: [startFinal, endFinal], finalityDelaySlots: { median: Math.round(median * 100) / 100, blocks: lags.length }, orphanRate: Math.round(orphanRate * 1000) / 1000, invalidBlocks: invalid, votesRefused: votesRejected, attackLogLines: attacks },
      }),
    )
    t.ok(attacks > 1, `the hostile node attacked (${attacks} log lines)`)
    t.ok(median <= 4, `median finality delay ${median.toFixed(2)} slots under attack`)
    if (mode === 'spam-votes') t.ok(votesRejected > 0, `votes by non-members refused (${votesRejected})`)
    t.same(bondsAfter, bondsBefore, 'no honest validator lost bond')
    devnet.kill('SIGINT')
    await new Promise((r) => devnet.once('exit', r))
  })
}
