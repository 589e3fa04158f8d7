/**
 * JSON-RPC fuzz (issue 17), CI size: the campaign of test/rpc-fuzz/ (generated requests for
 * every method the dev node serves, from its arity: random parameters, too many and too few
 * arguments, non-array params, unknown methods, malformed request objects, ids and batch
 * elements, notifications, malformed bodies, over HTTP batches and WebSocket frames, plus the
 * body, batch and content-type limits) against `povchain node --dev` in its own process, with
 * an honest wallet sending transfers throughout. What must hold:
 * - every reply is a well-formed JSON-RPC 2.0 response with the request's id, a code wallets
 *   know (never -32603), and the exact code where the request's fault has one
 *   (-32700, -32600, -32601, -32602); notifications get no reply;
 * - the node process lives, logs no error, and its heap after a forced GC is back within
 *   32 MiB of where it started; the honest wallet's transfers are all mined.
 * POVCHAIN_FUZZ_REQUESTS / POVCHAIN_FUZZ_SEED change count (default 6,000) and seed; the
 * 10^5 run is `npm run fuzz:rpc` (rpc/README.md has its figures).
 */
import t from 'tap'
import { runRpcFuzz } from './rpc-fuzz/campaign.js'
import { servedMethods, startFuzzTarget } from './rpc-fuzz/target.js'

const REQUESTS = Number(process.env.POVCHAIN_FUZZ_REQUESTS ?? 6_000)
const SEED = Number(process.env.POVCHAIN_FUZZ_SEED ?? 7)

t.test('malformed JSON-RPC against a running node: right codes, no crash, memory back, an honest wallet served', async (t) => {
  const methods = await servedMethods()
  t.ok(methods.length > 80, `${methods.length} methods under test`)
  const { target, stop } = await startFuzzTarget()
  t.teardown(stop)
  const r = await runRpcFuzz(target, methods, { requests: REQUESTS, seed: SEED })
  t.comment(`rpc-fuzz: ${r.requests} requests (${r.http} HTTP, ${r.ws} WebSocket) in ${r.seconds} s, seed ${r.seed}; replies ${JSON.stringify(r.byCode)}; heap ${r.heapMiB.before} → ${r.heapMiB.after} MiB, RSS ${r.rssMiB.before} → ${r.rssMiB.after} MiB (peak ${r.rssMiB.peak}); honest ${JSON.stringify(r.honest)}; limits ${JSON.stringify(r.limits)}`)
  t.ok(r.requests >= REQUESTS, `${r.requests} requests sent`)
  t.equal(r.wrongCount, 0, 'every reply well-formed and of the right code')
  t.same(r.wrong.slice(0, 10), [], 'the wrong replies, if any')
  t.ok(r.alive, 'the node process is alive')
  t.same(r.nodeErrors, [], 'no error, crash or unhandled rejection in the node output')
  for (const code of ['-32700', '-32600', '-32601', '-32602', 'result']) t.ok((r.byCode[code] ?? 0) > 0, `some replies are ${code}`)
  t.ok(r.heapMiB.after - r.heapMiB.before < 32, `heap after GC ${r.heapMiB.before} → ${r.heapMiB.after} MiB`)
  t.ok(r.honest.transfers >= 3, `the honest wallet sent ${r.honest.transfers} transfers`)
  t.equal(r.honest.mined, r.honest.transfers, 'every honest transfer mined')
  t.same(r.honest.failures, [], 'the honest wallet saw no failure')
})
