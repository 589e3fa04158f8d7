/**
 * The worker (`--worker`) checks each transaction with a call on the pending block before it
 * sends it, and a client is told before it pays when nobody can run its spec — on a real dev
 * node (in-process) with the node's own worker code:
 *
 * - two embedded-only workers and a Docker job posted without saying it needs Docker (as an
 *   older client would): each is drawn once, gives the job up, and then neither sends anything
 *   — before, they sent a reverted `assign` per tick (560 in ~100 s), each sealing a dev block;
 *   the refusal is logged once per identity;
 * - the same job posted with its needs (postJobWith): nobody is drawn, nothing is sent;
 * - `job submit` of the Docker spec fails within seconds, before uploading or paying, naming
 *   what the registered workers offer; `--anyway` posts it.
 */
import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { parseEther, type Address, type Hex } from 'viem'
import type { Logger } from '../common/logger.js'
import { noopMetrics } from '../common/metrics.js'
import { encodeJobSpec, jobSpecHash, type JobSpec } from '../compute/spec/JobSpec.js'
import { BlobStore } from '../compute/worker/BlobStore.js'
import { WORK_MARKET_ADDRESS } from '../genesis/WorkMarketGenesis.js'
import { OFFERS, workloadId } from '../market/client/JobEstimate.js'
import { registerJobCommands } from '../cli/jobCommands.js'
import { RpcMarketChain } from '../market/client/RpcMarketChain.js'
import { encodeMarketCall, WorkMarketReader } from '../market/client/WorkMarketReader.js'
import { WorkerService } from '../market/worker/WorkerService.js'
import { ROOT, rpc, startInProcessNode, tempDir, waitFor, type InProcessNode } from './helpers/devnode.js'

const A: Address = '0xdD2FD4581271e230360230F9337D5c0430Bf44C0' // dev #18
const B: Address = '0xbDA5747bFD65F08deb54cb465eB87D40e51B197E' // dev #17
const CLIENT: Address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' // dev #1
const IRIS = JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')) as JobSpec
/** Iris training in a (pinned) Docker image: only a worker with a Docker engine can run it. */
// A container job: verified by redundancy (re-execution replays only the built-in workloads).
const DOCKER_SPEC: JobSpec = { ...IRIS, runtime: { type: 'docker', image: `sha256:${'ab'.repeat(32)}` }, verification: { mode: 'redundant', redundancy: 2, quorum: 2 } }

interface Line {
  level: string
  obj: Record<string, unknown>
  msg?: string
}
/** A logger that keeps every line (with its bindings). */
function recordingLogger(lines: Line[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (a: string | Record<string, unknown>, msg?: string): void => {
      if (typeof a === 'string') lines.push({ level, obj: bindings, msg: a })
      else lines.push({ level, obj: { ...bindings, ...a }, msg })
    }
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => recordingLogger(lines, { ...bindings, ...b }) }
}

async function startWorkers(n: InProcessNode, lines: Line[]): Promise<WorkerService> {
  const svc = new WorkerService(
    { accounts: [A, B], runtime: 'embedded', bond: parseEther('2'), slots: 1, capacity: 100n, pollMs: 100 },
    { backend: n.node.backend, blobs: new BlobStore({ dir: join(n.datadir, 'compute') }), datadir: n.datadir, endpoint: n.httpUrl, logger: recordingLogger(lines), metrics: noopMetrics },
  )
  await svc.start()
  return svc
}

const nonce = async (n: InProcessNode, a: Address) => BigInt(await rpc<Hex>(n.httpUrl, 'eth_getTransactionCount', [a, 'latest']))

async function post(n: InProcessNode, spec: JobSpec, needs?: number): Promise<Hex> {
  const client = await RpcMarketChain.connect(n.httpUrl, { from: CLIENT })
  await rpc(n.httpUrl, 'pov_putBlob', [`0x${Buffer.from(encodeJobSpec(spec)).toString('hex')}`])
  const now = BigInt(Math.floor(Date.now() / 1000))
  const args = [jobSpecHash(spec), workloadId(spec), now + 3600n, 300n, 100n, 1] as const
  const r = await client.send(WORK_MARKET_ADDRESS, needs === undefined ? encodeMarketCall('postJob', args) : encodeMarketCall('postJobWith', [...args, needs]), { value: parseEther('0.1') }) // verifiable by the 2-coin dev bonds (free bond ≥ 16 × the price)
  return r.logs[0]!.topics[1] as Hex
}

async function setup(t: Test) {
  const n = await startInProcessNode()
  const lines: Line[] = []
  const market = new WorkMarketReader({ call: async (to, data) => rpc<Hex>(n.httpUrl, 'eth_call', [{ to, data }, 'latest']) })
  const svc = await startWorkers(n, lines)
  t.teardown(async () => {
    await svc.stop()
    await n.stop()
  })
  return { n, lines, market }
}

const refusals = (lines: Line[], action: string, worker: Address) =>
  lines.filter((l) => l.msg === 'not sending a market transaction that would revert' && l.obj.action === action && String(l.obj.worker).toLowerCase() === worker.toLowerCase())

t.test('workers that cannot run an open job send nothing once it is no longer theirs to take', async (t) => {
  const { n, lines, market } = await setup(t)
  const jobId = await post(n, DOCKER_SPEC) // no needs declared: every worker may be drawn
  // Each is drawn once, cannot run it (no Docker runtime), gives it up; then nobody is left to draw.
  const idle = await waitFor(async () => {
    const j = await market.job(jobId)
    return j?.status === 'open' && j.attempts === 2 && (j.drawBlock ?? 0n) === 0n ? j : undefined
  }, 'both workers to be drawn and give the job up', 90_000)
  t.equal(idle.attempts, 2)
  await new Promise((r) => setTimeout(r, 1500)) // let each take its refused look
  const before = { a: await nonce(n, A), b: await nonce(n, B), head: BigInt(await rpc<Hex>(n.httpUrl, 'eth_blockNumber')) }
  await new Promise((r) => setTimeout(r, 10_000))
  t.equal(await nonce(n, A), before.a, 'A sent nothing in 10 s')
  t.equal(await nonce(n, B), before.b, 'B sent nothing in 10 s')
  t.equal(BigInt(await rpc<Hex>(n.httpUrl, 'eth_blockNumber')), before.head, 'and no block was sealed for them')
  t.equal((await market.job(jobId))?.status, 'open', 'the job waits (for a worker that can run it, or its refund)')
  for (const w of [A, B]) {
    const logged = refusals(lines, 'assign', w)
    t.equal(logged.length, 1, `${w}: the refusal is logged once`)
    t.match(String(logged[0]?.obj.reason), /NoWorkerAvailable/, 'with the contract\'s reason')
  }
})

t.test('a job that says it needs Docker is never drawn for workers without it; job submit says so before paying', async (t) => {
  const { n, lines, market } = await setup(t)
  await waitFor(async () => (await market.worker(A)).registered && (await market.worker(B)).registered, 'registration')
  t.equal((await market.worker(A)).offers, 0, 'embedded-only workers declare no offers')
  const jobId = await post(n, DOCKER_SPEC, OFFERS.docker)
  await waitFor(async () => (await market.job(jobId))?.drawBlock === 0n, 'the draw', 30_000)
  await new Promise((r) => setTimeout(r, 3000))
  const j = (await market.job(jobId))!
  t.match(j, { status: 'open', attempts: 0, needs: OFFERS.docker }, 'nobody was drawn')
  t.same(await market.sessionsOfJob(jobId), [])
  t.ok(refusals(lines, 'assign', A).length <= 1, 'A asked for no draw it could not win (at most one logged refusal)')

  // The CLI: a Docker spec with no Docker worker registered.
  const { dir, cleanup } = tempDir('povchain-submit-')
  t.teardown(cleanup)
  const specFile = join(dir, 'docker-spec.json')
  writeFileSync(specFile, JSON.stringify(DOCKER_SPEC))
  const cli = async (...args: string[]) => {
    let out = ''
    const program = new Command().exitOverride()
    registerJobCommands(program, { logger: recordingLogger([]), io: { out: (s) => (out += s), err: (s) => (out += s) } })
    const code = process.exitCode
    await program.parseAsync(['node', 'povchain', 'job', 'submit', specFile, '--rpc', n.httpUrl, '--from', CLIENT, '--json', ...args])
    process.exitCode = code
    return JSON.parse(out.trim().split('\n').pop()!) as { ok: boolean; error?: { code: string; message: string }; jobId?: Hex }
  }
  const clientNonce = await nonce(n, CLIENT)
  const t0 = Date.now()
  const refused = await cli()
  const took = Date.now() - t0
  t.equal(refused.ok, false)
  t.equal(refused.error?.code, 'JOB_NO_WORKER')
  t.match(refused.error?.message, /no registered worker offers what the spec needs \(docker, image sha256:(ab){32}.*embedded only, lacks the image/)
  t.ok(took < 5000, `answered in ${took} ms`)
  t.equal(await nonce(n, CLIENT), clientNonce, 'nothing was sent: no escrow locked')
  // A container spec in re-execution mode: nobody could verify it, so it is refused whatever the workers.
  writeFileSync(specFile, JSON.stringify({ ...DOCKER_SPEC, verification: IRIS.verification }))
  const unverifiable = await cli('--anyway')
  t.equal(unverifiable.error?.code, 'JOB_MODE', 'a container job for re-execution is refused')
  t.match(unverifiable.error?.message, /redundant.*tolerance/)
  writeFileSync(specFile, JSON.stringify(DOCKER_SPEC))
  const anyway = await cli('--anyway')
  t.equal(anyway.ok, true, '--anyway posts it')
  t.equal((await market.job(anyway.jobId!))?.needs, OFFERS.docker, 'with its needs')
})
