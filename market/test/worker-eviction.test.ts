/**
 * The node's worker (MarketWorker) against a full registry, on the real contract (the genesis
 * harness' EVM behind a MarketChain): registering into a full registry it cannot enter is
 * refused before anything is sent and logged with the bond that would enter (no crash, retried
 * later); once registered, being displaced by a better-bonded newcomer is noticed and logged
 * once — by whom, both standings, the bond credited, what re-entry takes — never silent.
 */
import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Address, Hex } from 'viem'
import type { Logger } from '../../common/logger.js'
import { noopMetrics } from '../../common/metrics.js'
import { addr, ETHER, MarketHarness } from '../../genesis/test/workmarketHarness.js'
import { revertError, type MarketChain } from '../client/MarketChain.js'
import { WorkMarketReader } from '../client/WorkMarketReader.js'
import { MarketWorker } from '../worker/MarketWorker.js'

interface Line {
  level: string
  obj: Record<string, unknown>
  msg?: string
}
function recordingLogger(lines: Line[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (a: unknown, msg?: string): void => {
      if (typeof a === 'string') lines.push({ level, obj: bindings, msg: a })
      else lines.push({ level, obj: { ...bindings, ...(a as Record<string, unknown>) }, msg })
    }
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => recordingLogger(lines, { ...bindings, ...b }) } as Logger
}

/** A MarketChain sending from `from` into the harness: calls on a throw-away copy of the state, sends in a block each. */
function harnessChain(h: MarketHarness, from: Address): MarketChain & { sent: string[] } {
  const sent: string[] = []
  return {
    from,
    sent,
    call: (_to, data) => h.call(data),
    async check(_to, data, opts = {}) {
      try {
        await h.call(data, { from, ...(opts.value !== undefined ? { value: opts.value } : {}) })
      } catch (e) {
        throw revertError('would revert', (e as { revertData?: Hex }).revertData, 'reverted')
      }
    },
    async send(to, data, opts = {}) {
      sent.push(data.slice(0, 10))
      const r = await h.txTo(from, to, data, opts.value ?? 0n)
      if (!r.ok) throw revertError('transaction reverted', r.returnValue, 'reverted')
      return { hash: `0x${'00'.repeat(32)}` as Hex, blockNumber: h.number - 1n, logs: [] }
    },
    head: async () => ({ number: h.number, timestamp: h.timestamp }),
  }
}

function nodeWorker(h: MarketHarness, who: Address, bond: bigint, lines: Line[]) {
  const chain = harnessChain(h, who)
  const market = new WorkMarketReader(chain)
  // Registration touches only the chain, the reader and the log; the rest of the node is not reached.
  const unused = {} as never
  const w = new MarketWorker(
    { address: who, bond, capacity: 100n, slots: 2, endpoint: 'http://127.0.0.1:1', runtime: 'embedded', stateDir: mkdtempSync(join(tmpdir(), 'povchain-evict-')) },
    { chain, market, blobs: unused, sessions: unused, compute: unused, verifier: unused, logger: recordingLogger(lines), metrics: noopMetrics },
  )
  return { w, chain }
}

t.test('the node\'s worker: a full registry it cannot enter is logged with the bond that would; being displaced is logged with who and why', async (t) => {
  const h = await MarketHarness.deploy()
  const max = Number(await h.read<bigint>('MAX_WORKERS'))
  const W = addr(7000)
  await h.give(W, 10n * ETHER)
  // The node's identity registers first, at the minimum bond; squatters fill the rest at 1.05.
  const lines: Line[] = []
  const node = nodeWorker(h, W, ETHER, lines)
  await node.w.ensureRegistered()
  t.ok((await h.read<{ registered: boolean }>('getWorker', [W])).registered, 'registered by the node')
  for (let i = 1; i < max; i++) {
    await h.give(addr(7000 + i), 2n * ETHER)
    await h.must(addr(7000 + i), 'register', [100n, 1, ''], (ETHER * 105n) / 100n)
  }

  // A second node identity bonding 1 coin finds the registry full: nothing sent, a warning with the bond needed.
  const lateLines: Line[] = []
  const L = addr(8000)
  await h.give(L, 10n * ETHER)
  const late = nodeWorker(h, L, ETHER, lateLines)
  await late.w.ensureRegistered()
  t.same(late.chain.sent, [], 'the refused registration was not sent')
  const refusal = lateLines.find((l) => l.level === 'warn' && /registry is full/.test(l.msg ?? ''))
  t.ok(refusal, 'warned, not crashed')
  t.match(String(refusal?.obj.err), /RegistryFull\(\d+\) — the worker registry is full: a bond of at least 1\.100001 coins at your rating displaces its weakest idle worker/, 'with the bond it takes (1.1 × the node\'s own 1-coin identity, the weakest)')

  // A newcomer bonding 2 displaces the node's identity (the weakest idle worker).
  const newcomer = addr(9000)
  await h.give(newcomer, 5n * ETHER)
  const r = await h.must(newcomer, 'register', [100n, 1, ''], 2n * ETHER)
  t.equal(MarketHarness.event(r, 'WorkerEvicted').worker, W)
  await node.w.ensureRegistered() // what the tick does every 5 s
  const displaced = lines.filter((l) => l.level === 'warn' && /displaced from the full worker registry/.test(l.msg ?? ''))
  t.equal(displaced.length, 1, 'the displacement is logged')
  t.match(displaced[0]!.obj, { by: newcomer, bondCredited: ETHER.toString(), ourStanding: (ETHER * 500n).toString(), theirStanding: (2n * ETHER * 500n).toString() })
  t.ok(BigInt(String(displaced[0]!.obj.bondToEnter)) > (ETHER * 105n * 11n) / 1000n, 'with what coming back takes')
  t.ok(lines.some((l) => l.level === 'warn' && /registry is full/.test(l.msg ?? '')), 'its own bond no longer enters: refused before sending, retried in a minute')
  await node.w.ensureRegistered()
  t.equal(lines.filter((l) => /displaced from the full worker registry/.test(l.msg ?? '')).length, 1, 'logged once per eviction')
  t.equal(await h.read<bigint>('credits', [W]), ETHER, 'its whole bond waits for withdraw() (the tick sends it)')
})
