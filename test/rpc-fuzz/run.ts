/**
 * `npm run fuzz:rpc -- [--requests 100000] [--seed 7] [--ws-share 0.1] [--out FILE]`: the
 * JSON-RPC fuzz campaign (campaign.ts) against a fresh `povchain node --dev` process. Progress
 * on stderr, one JSON report on stdout; exit 1 when any reply was wrong, the node died, logged an
 * error, the honest wallet failed or the heap did not come back within 64 MiB.
 */
import { writeFileSync } from 'node:fs'
import { runRpcFuzz } from './campaign.js'
import { servedMethods, startFuzzTarget } from './target.js'

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt
}

const requests = Number(arg('requests', '100000'))
const seed = Number(arg('seed', '7'))
const wsShare = Number(arg('ws-share', '0.1'))
const out = arg('out', '')
if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(seed) || !(wsShare >= 0 && wsShare <= 1)) {
  console.error('usage: npm run fuzz:rpc -- [--requests N] [--seed N] [--ws-share 0..1] [--out FILE]')
  process.exit(2)
}
const methods = await servedMethods()
const { target, stop } = await startFuzzTarget()
console.error(`rpc-fuzz: ${methods.length} methods, node pid ${target.pid}, ${requests} requests, seed ${seed}`)
let code = 1
try {
  const report = await runRpcFuzz(target, methods, { requests, seed, wsShare, log: (l) => console.error(l) })
  const ok = report.wrongCount === 0 && report.alive && report.nodeErrors.length === 0 && report.honest.failures.length === 0 && report.heapMiB.after - report.heapMiB.before < 64
  const json = JSON.stringify({ kind: 'povchain-rpc-fuzz', ok, at: new Date().toISOString(), ...report })
  if (out) writeFileSync(out, `${json}\n`)
  process.stdout.write(`${json}\n`)
  code = ok ? 0 : 1
} finally {
  await stop()
}
process.exit(code)
