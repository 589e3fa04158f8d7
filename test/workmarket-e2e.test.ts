/**
 * End to end with real processes: `povchain node --dev --worker` (two worker identities in the
 * node: the contract draws one to work, the other verifies), the job run in the real Docker
 * engine, and the client using the `povchain job` CLI: estimate, submit --wait, status, list,
 * result. The receipt shows in pov_getReceipts, the downloaded model predicts held-out Iris at
 * ≥ 90 %, and every balance adds up to the wei. Without a Docker engine the Docker part is
 * skipped visibly (and the job runs embedded) — unless POVCHAIN_REQUIRE_DOCKER=1.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Address, Hex } from 'viem'
import { decodeDataset } from '../compute/data/Dataset.js'
import { bundledDatasets } from '../compute/data/BundledDatasets.js'
import { decodeModel, evaluateModel } from '../compute/workloads/MlpInferWorkload.js'
import { splitRows } from '../compute/workloads/MlpTrainWorkload.js'
import { requireDocker } from '../compute/test/dockerSupport.js'
import { ROOT, rpc, startNodeProcess, tempDir } from './helpers/devnode.js'
import { checkLedger } from './workmarket-ledger.js'

const run = promisify(execFile)
const SPEC = join(ROOT, 'compute/examples/iris-train.json')

async function cli(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/cli.ts'), ...args, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 }).catch((e: { stdout?: string; message: string }) => {
    throw new Error(`povchain ${args.join(' ')} failed: ${e.stdout ?? e.message}`)
  })
  const out = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>
  if (!out.ok) throw new Error(`povchain ${args.join(' ')}: ${JSON.stringify(out.error)}`)
  return out
}

t.test('a client job runs in Docker on a --dev --worker node, is verified, paid, and its model is good', async (t) => {
  const docker = await requireDocker(t)
  const { dir, cleanup } = tempDir('povchain-market-e2e-')
  t.teardown(cleanup)
  const node = await startNodeProcess({
    datadir: join(dir, 'node'),
    args: ['--worker', '--worker.runtime', docker ? 'docker' : 'embedded', '--worker.capacity', '100'],
    timeoutMs: 240_000, // the first Docker run builds the workload image
  })
  t.teardown(() => node.stop())
  const url = node.httpUrl
  if (docker) t.match(node.output(), /built-in workloads run in Docker/, 'the worker runs built-in workloads in Docker')

  const est = await cli(['job', 'estimate', SPEC, '--rpc', url])
  t.ok(BigInt(est.units as string) > 0n, `estimate: ${est.units} units, ${est.price} wei`)
  // What verifying it costs, and why, as the client reads it before paying: iris-train.json has
  // 20 segments (800 steps / checkpointInterval 40) and 1 verifier, so the per-session bound
  // (10 % forged accepted with probability ≤ 10⁻⁶) needs samplesDue(20, 1) = 19 of them.
  const v = est.verification as { segments: number; verifiers: number; samples: number; cost: number; acceptance: number; why: string }
  t.match(v, { segments: 20, verifiers: 1, samples: 19 }, 'estimate: 1 verifier re-executes 19 of 20 segments')
  t.equal(v.cost, 0.95, 'that is 95 % of the work')
  t.ok(v.acceptance <= 1e-6, `a 10 % forgery is accepted with probability ${v.acceptance} ≤ 10⁻⁶`)
  t.match(v.why, /^verification: 1 verifier × 19 of 20 segments = 95 % of the work, so that 10 % forged is accepted with probability ≤ 1e-6 .*few segments: .*finer checkpoints/, `and says why: ${v.why}`)

  const t0 = Date.now()
  const sub = (await cli(['job', 'submit', SPEC, '--rpc', url, '--wait', '--timeout', '240'])) as { job: { jobId: Hex; status: string; price: string; session: Hex; currentSession: { worker: Address; verifiers: Address[]; status: string } } }
  t.comment(`job accepted in ${((Date.now() - t0) / 1000).toFixed(1)} s (submit → final)`)
  const job = sub.job
  t.equal(job.status, 'accepted')
  t.equal(job.currentSession.status, 'accepted')
  t.equal(job.currentSession.verifiers.length, 1)
  t.not(job.currentSession.verifiers[0], job.currentSession.worker, 'verified by the other identity')
  if (docker) t.match(node.output(), /"runtime":"docker"[^\n]*"msg":"running assigned session"/, 'the session ran in the Docker runtime')

  const receipts = await rpc<{ sessionId: Hex; jobId: Hex; status: string; value: Hex; worker: Address }[]>(url, 'pov_getReceipts', [job.currentSession.worker])
  t.equal(receipts.length, 1)
  t.match(receipts[0], { sessionId: job.session, jobId: job.jobId, status: 'accepted', value: job.price, worker: job.currentSession.worker })
  const session = await rpc<{ status: string; value: Hex; worker: Address }>(url, 'pov_getSession', [job.session])
  t.match(session, { status: 'accepted', value: job.price })
  const worker = await rpc<{ successes: number; rating: number }>(url, 'pov_getWorker', [job.currentSession.worker])
  t.equal(worker.successes, 1)
  t.ok(worker.rating > 100, `the worker's rating rose to ${worker.rating} (from a fresh identity's RATING_ENTRY = 100)`)

  const status = (await cli(['job', 'status', job.jobId, '--rpc', url])) as { job: { status: string } }
  t.equal(status.job.status, 'accepted')
  const list = (await cli(['job', 'list', '--rpc', url])) as { jobs: { jobId: Hex }[] }
  t.ok(list.jobs.some((j) => j.jobId === job.jobId), 'job list shows it')

  const out = join(dir, 'model.json')
  const res = (await cli(['job', 'result', job.jobId, '--rpc', url, '--out', out])) as { resultHash: Hex; bytes: number }
  t.ok(res.bytes > 0)
  const spec = JSON.parse(readFileSync(SPEC, 'utf8')) as { seed: number; params: { testFraction: number } }
  const iris = decodeDataset(bundledDatasets().find((d) => d.name === 'iris')!.bytes)
  const { test } = splitRows(iris.x.length, spec.params.testFraction, spec.seed)
  const held = { ...iris, x: [...test].map((i) => iris.x[i]!), y: [...test].map((i) => iris.y[i]!) }
  const acc = evaluateModel(decodeModel(new Uint8Array(readFileSync(out))), held as typeof iris).accuracy
  t.ok(acc >= 0.9, `the downloaded model predicts held-out Iris at ${(acc * 100).toFixed(1)} %`)

  const ledger = await checkLedger(url)
  t.same(ledger.mismatches, [], `balances add up to the wei (${ledger.transactions} transactions, ${ledger.accounts} accounts)`)
})
