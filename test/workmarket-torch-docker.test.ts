/**
 * A client's PyTorch job through the work market, end to end, on two "hosts": a dev chain (one
 * producer process) and two worker processes, each with its own Docker engine — `alpha` on the
 * host's engine, `beta` on a second `dockerd` this test starts (own data root, exec root, pid
 * file and socket; `--worker.docker-host`). The torch image (compute/runtime/torch, Debian's
 * python3-torch; root layer from the shared cache) is pushed to Debian's docker-registry on
 * 127.0.0.1 and the job pins it there by digest (`127.0.0.1:PORT/povtest/torch@sha256:…`):
 *  1. the client's torch-train (compute/examples/torch-train.json, a few epochs) in redundancy
 *     mode k = 2, posted with `job submit`, is drawn to both workers; each pulls the image from
 *     the registry into its own engine, runs it, seals; the commitments agree bit for bit, the
 *     job is accepted and each worker holds an accepted receipt naming the job (pov_getReceipts,
 *     isAcceptedReceipt) that says "redundant";
 *  2. beta restarts as a forger (`--worker.test-cheat wrong-result`: the model it returns is not
 *     the one its run produced) and a second torch job is drawn to both; the seals disagree and
 *     the escalation draws `gamma`, a third worker (on the host's engine; it pulls the image too)
 *     started only after the round-0 draw — beta is held (SIGSTOP) until gamma is registered,
 *     so the escalation has someone to draw. gamma agrees with alpha: accepted with the honest
 *     model, beta refuted (rejected receipt) and slashed (half its bond), the client re-served;
 *  3. tolerance (k = 3, metric testLoss — torch's reported held-out loss — epsilon 0.01): beta
 *     restarts reporting every metric 1 higher (`wrong-metric`, outside the bound); alpha and
 *     gamma reveal the same loss (inside it): accepted, their receipts say "tolerance", beta
 *     refuted and slashed again.
 * Figures (pull, run, verification overhead) are printed as comments.
 * Skips visibly without Docker, a second dockerd (root), debootstrap or docker-registry; fails
 * instead under POVCHAIN_REQUIRE_DOCKER=1.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getAddress, type Hex } from 'viem'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex } from '../common/bytes.js'
import { DockerRuntime } from '../compute/runtime/DockerRuntime.js'
import { ImageBuilder } from '../compute/runtime/ImageBuilder.js'
import { ImageStore } from '../compute/runtime/ImageStore.js'
import { buildTorchImage, defaultImageCache } from '../compute/runtime/torch/TorchImage.js'
import { parseJobSpecStructure, type JobSpec } from '../compute/spec/JobSpec.js'
import { requireDocker, startEngine, startRegistry, torchBuildMissing } from '../compute/test/dockerSupport.js'
import { BlobStore } from '../compute/worker/BlobStore.js'
import { ROOT, rpc, waitFor } from './helpers/devnode.js'
import { clientCli, jobSettled, logLine, logTime, marketOver, presetBuiltinImage, startDockerWorker } from './helpers/dockerMarket.js'
import { planMarketNet, startMarketNode, type MarketNode } from './helpers/marketnet.js'
import { processGroup } from './helpers/processGroup.js'

const CLIENT_KEY = deriveKeys(DEV_MNEMONIC, 2)[1]!
const CLIENT = getAddress(bytesToHex(privateKeyToAddress(CLIENT_KEY)))

/** torch-train, kept small for CI: 4 epochs of Iris (30 steps), a checkpoint every 10 steps. */
function torchSpec(image: string, seed: number): JobSpec {
  const ex = parseJobSpecStructure(JSON.parse(readFileSync(join(ROOT, 'compute/examples/torch-train.json'), 'utf8')))
  return { ...ex, seed, runtime: { type: 'docker', image }, params: { ...ex.params, epochs: 4 }, checkpointInterval: 10, verification: { mode: 'redundant', redundancy: 2, quorum: 2 } }
}

// A first run on a machine builds the torch image (~12 min: debootstrap); later runs reuse the
// cached root layer. The market part: two pulls of the 1.3 GB image (three with gamma's), three
// rounds of runs; about 8 min on a loaded 2-core machine.
t.setTimeout(1_800_000)

t.test('a torch job on two workers with their own Docker engines: pulled by digest from a registry, agreed, accepted; a forged model is refuted and its worker slashed; tolerance refutes a drifted loss', async (t) => {
  const docker = await requireDocker(t)
  if (!docker) return
  const skip = (why: string) => {
    if (process.env.POVCHAIN_REQUIRE_DOCKER === '1') t.fail(`POVCHAIN_REQUIRE_DOCKER=1 but ${why}`)
    else t.comment(`SKIP: ${why}`)
  }
  const missing = await torchBuildMissing()
  if (missing) return skip(missing)
  // The second engine first, so that (teardowns run last-registered first) it stops after the
  // worker processes. Its own temp dir: short (a socket path has a length limit).
  const engineDir = mkdtempSync(join(tmpdir(), 'pvt-'))
  t.teardown(() => rmSync(engineDir, { recursive: true, force: true }))
  const engine2 = await startEngine(engineDir)
  if ('missing' in engine2) return skip(engine2.missing)
  t.teardown(() => engine2.stop())
  const { dir, nodes } = processGroup<MarketNode>(t, 'povchain-torch-docker-')
  const reg = await startRegistry(dir)
  if ('missing' in reg) return skip(reg.missing)
  t.teardown(() => reg.stop())
  const second = new DockerRuntime({ socketPath: engine2.socket })

  const t0 = Date.now()
  const built = await buildTorchImage(docker.docker, { cacheDir: defaultImageCache() })
  t.comment(`torch image ${built.digest}: ${built.seconds.toFixed(0)} s (${built.cached ? 'root layer cached' : `debootstrap ${built.debootstrapSeconds.toFixed(0)} s`}${built.loaded ? '' : '; already on the engine: not loaded again'}), ${(built.bytes / 1e9).toFixed(2)} GB`)
  const builtin = (await new ImageBuilder(docker.docker).build({ repository: 'povchain/workloads', tag: 'torch-test' })).id
  const tPush = Date.now()
  // While the push runs: the node's built-in image on the empty engine (what a worker builds at
  // its first start; here beforehand, so beta's start is not a minute longer than alpha's).
  const [pushed, builtin2] = await Promise.all([
    new ImageStore({ docker: docker.docker, blobs: new BlobStore({ dir: join(dir, 'pusher') }) }).push(built.id, `${reg.address}/povtest/torch`),
    new ImageBuilder(second.docker).build({ repository: 'povchain/workloads', tag: 'torch-test' }).then((b) => b.id),
  ])
  const pushSeconds = (Date.now() - tPush) / 1000
  t.equal(pushed.digest, built.digest, 'the registry holds the image under its build digest')
  t.comment(`push of the torch image to the registry: ${pushSeconds.toFixed(0)} s`)
  await t.rejects(second.docker.getImage(built.id).inspect(), "the second engine starts without the torch image")
  const image = `${reg.address}/povtest/torch@${built.digest}`

  const plan = await planMarketNet(dir, ['producer', 'alpha', 'beta', 'gamma'])
  for (const name of ['alpha', 'gamma']) await presetBuiltinImage(plan.members[name]!.datadir, builtin)
  await presetBuiltinImage(plan.members.beta!.datadir, builtin2)
  const producer = await startMarketNode(plan, 'producer').then((n) => (nodes.push(n), n))
  const start = (name: string, o: Parameters<typeof startDockerWorker>[2] = {}) => startDockerWorker(plan, name, { pullFrom: [reg.address], ...o }).then((n) => (nodes.push(n), n))
  const [alpha, beta0] = (await Promise.all([start('alpha'), start('beta', { engine: engine2.socket })])) as [MarketNode, MarketNode]
  let beta = beta0
  const url = producer.httpUrl
  const market = marketOver(url)
  const digest = `0x${built.digest.slice('sha256:'.length)}` as Hex
  const announced = (n: MarketNode) =>
    waitFor(async () => (await market.worker(n.member.address)).registered && (await market.imagesOf(n.member.address)).map((x) => x.toLowerCase()).includes(digest), `${n.member.name} registered, announcing the registry's torch image`, 90_000, 200)
  await Promise.all([announced(alpha), announced(beta)])
  t.pass('both workers registered and announced the torch image the registry lists')

  const keyFile = join(dir, 'client.key')
  writeFileSync(keyFile, bytesToHex(CLIENT_KEY))
  const submit = clientCli(dir, url, keyFile)
  const receiptsNaming = async (worker: string, jobId: Hex) =>
    (await rpc<{ jobId: string; sessionId: Hex; status: string; mode?: string }[]>(url, 'pov_getReceipts', [worker])).filter((r) => r.jobId.toLowerCase() === jobId.toLowerCase())

  // 1. Both honest: both pull into their own engines, run, agree.
  // The image's own workload: this node cannot count its units, the client states them.
  const refused = await submit(torchSpec(image, 42))
  t.equal(refused.error?.code, 'JOB_UNITS', 'without --units: refused, and told why')
  const first = await submit(torchSpec(image, 42), '--units', '2')
  t.ok(first.ok, `the torch job is posted (${first.error?.message ?? ''})`)
  if (!first.ok) return
  const job1 = first.jobId!
  const tPost1 = Date.now()
  const j1 = await jobSettled(t, market, job1, [alpha, beta], 'the torch job settled', 900_000)
  const settle1 = (Date.now() - tPost1) / 1000
  t.equal(j1.status, 'accepted', 'accepted')
  t.equal(j1.mode, 'redundant', 'verified by redundancy')
  const r1 = await market.replicas(job1)
  t.equal(r1.round, 0, 'agreed in round 0')
  t.equal(r1.sessions.length, 2, 'k = 2 replicas')
  const s1 = await Promise.all(r1.sessions.map(async (id) => ({ id, ...(await market.session(id))! })))
  t.same(s1.map((s) => s.worker).sort(), [alpha.member.address, beta.member.address].sort(), 'drawn: both workers')
  t.equal(s1[0]!.result.commitment, s1[1]!.result.commitment, 'the two engines gave the same commitment (checkpoints, model, metrics) bit for bit')
  for (const s of s1) {
    const name = s.worker === alpha.member.address ? 'alpha' : 'beta'
    const rc = await market.receipt(s.id)
    t.equal(rc?.status, 'accepted', `${name}: accepted receipt`)
    t.equal(rc?.mode, 'redundant', `${name}: the receipt says redundancy verified it`)
    t.equal((await market.read<readonly [boolean, bigint]>('isAcceptedReceipt', [s.id, s.worker]))[0], true, `${name}: isAcceptedReceipt (what producer weight reads)`)
    const named = await receiptsNaming(s.worker, job1)
    t.equal(named.length, 1, `${name}: pov_getReceipts names the job`)
    t.equal(named[0]?.status, 'accepted', `${name}: the RPC's receipt is accepted`)
  }
  t.ok(await second.docker.getImage(built.id).inspect().then(() => true, () => false), 'the torch image is now on the second engine (pulled by beta)')
  const figures = (n: MarketNode) => {
    const out = n.output()
    const pull = logLine<{ ms: number }>(out, 'image pulled for the assigned job')
    const started = logTime(out, 'running assigned session')
    return { pullMs: pull?.ms, runMs: logTime(out, 'job done') - started, sealedAt: logTime(out, 'replica result sealed') }
  }
  const f1 = [figures(alpha), figures(beta)]
  for (const [i, n] of [alpha, beta].entries()) t.ok(f1[i]!.pullMs !== undefined, `${n.member.name} pulled the image from the registry into its engine on assignment`)
  const lastSeal = Math.max(...f1.map((f) => f.sealedAt))
  const run = Math.max(...f1.map((f) => f.runMs))
  const verifyMs = tPost1 + settle1 * 1000 - lastSeal
  t.comment(
    `part 1: pull alpha ${((f1[0]!.pullMs ?? NaN) / 1000).toFixed(1)} s (host engine, image present under another name: found by digest from the registry's manifest, no layer downloaded), beta ${((f1[1]!.pullMs ?? NaN) / 1000).toFixed(1)} s (empty engine); ` +
      `run (container start → result) alpha ${(f1[0]!.runMs / 1000).toFixed(1)} s, beta ${(f1[1]!.runMs / 1000).toFixed(1)} s; ` +
      `last seal → accepted (reveal + settle on chain, seen by polling) ${(verifyMs / 1000).toFixed(1)} s; posted → accepted ${settle1.toFixed(0)} s`,
  )
  t.comment(`verification overhead: the second replica (+100 % of the compute) plus ${(verifyMs / 1000).toFixed(1)} s of commit–reveal after the slower run (${((verifyMs / run) * 100).toFixed(0)} % of one run's ${(run / 1000).toFixed(1)} s)`)

  // 2. beta forges the model. Restarted with the cheat: same identity, datadir and engine (the image stays).
  await beta.stop()
  nodes.splice(nodes.indexOf(beta), 1)
  beta = await start('beta', { engine: engine2.socket, cheat: 'wrong-result' })
  let betaStopped = false
  t.teardown(() => {
    if (betaStopped) beta.proc.kill('SIGCONT')
  })
  await announced(beta)
  const bond = (await market.worker(beta.member.address)).bond
  const second2 = await submit(torchSpec(image, 43), '--units', '2')
  t.ok(second2.ok, `the second torch job is posted (${second2.error?.message ?? ''})`)
  if (!second2.ok) return
  const job2 = second2.jobId!
  const price2 = BigInt(second2.price!)
  const tPost2 = Date.now()
  await waitFor(async () => ((await market.replicas(job2)).sessions.length === 2 ? true : undefined), 'round 0 drawn', 60_000, 100)
  // Hold the forger until gamma is registered: the escalation must have someone to draw.
  beta.proc.kill('SIGSTOP')
  betaStopped = true
  const gamma = await start('gamma')
  await announced(gamma)
  beta.proc.kill('SIGCONT')
  betaStopped = false
  const j2 = await jobSettled(t, market, job2, [alpha, beta, gamma], 'the forged round settled', 600_000)
  t.comment(`part 2: posted → settled ${((Date.now() - tPost2) / 1000).toFixed(0)} s (gamma's start and registration included)`)
  t.equal(j2.status, 'accepted', 'accepted: the client is re-served by the escalation')
  const r2 = await market.replicas(job2)
  t.equal(r2.round, 1, 'the forged model made round 0 disagree: escalated')
  const s2 = new Map(await Promise.all(r2.sessions.map(async (id) => [(await market.session(id))!.worker, { id, ...(await market.session(id))!, receipt: await market.receipt(id) }] as const)))
  t.same([...s2.keys()].sort(), [alpha.member.address, beta.member.address, gamma.member.address].sort(), 'the escalation drew gamma')
  const forged = s2.get(beta.member.address)!
  const honest = s2.get(alpha.member.address)!
  t.not(forged.result.resultHash, honest.result.resultHash, 'beta sealed another model')
  t.equal(s2.get(gamma.member.address)!.result.commitment, honest.result.commitment, 'gamma agrees with alpha bit for bit')
  t.equal((await market.session(j2.session))!.result.commitment, honest.result.commitment, "the client's accepted result is the honest model")
  t.equal(forged.receipt?.status, 'rejected', 'beta: rejected receipt (refuted)')
  t.equal((await market.read<readonly [boolean, bigint]>('isAcceptedReceipt', [forged.id, beta.member.address]))[0], false, 'beta: no accepted receipt, no weight')
  t.equal((await market.worker(beta.member.address)).bond, bond / 2n, 'beta slashed: half its bond')
  for (const [name, x] of [['alpha', honest], ['gamma', s2.get(gamma.member.address)!]] as const) {
    t.equal(x.receipt?.status, 'accepted', `${name}: accepted receipt`)
    t.equal(x.receipt?.value, price2 / 2n, `${name}: half the price (the client paid nothing more for the escalation)`)
  }
  t.match(beta.output(), /committing a dishonest session/, 'beta forged')
  t.equal((await market.worker(CLIENT)).registered, false, 'the client is no worker')

  // 3. Tolerance with torch's reported loss: beta's metrics drift by 1 (outside 0.01).
  await beta.stop()
  nodes.splice(nodes.indexOf(beta), 1)
  beta = await start('beta', { engine: engine2.socket, cheat: 'wrong-metric' })
  await announced(beta)
  const bond3 = (await market.worker(beta.member.address)).bond
  const third = await submit({ ...torchSpec(image, 44), verification: { mode: 'tolerance', redundancy: 3, metric: 'testLoss', epsilon: 0.01 } }, '--units', '2')
  t.ok(third.ok, `the tolerance torch job is posted (${third.error?.message ?? ''})`)
  if (!third.ok) return
  const tPost3 = Date.now()
  const j3 = await jobSettled(t, market, third.jobId!, [alpha, beta, gamma], 'the tolerance job settled', 600_000)
  t.comment(`part 3 (tolerance, k = 3, images already pulled): posted → settled ${((Date.now() - tPost3) / 1000).toFixed(0)} s`)
  t.equal(j3.status, 'accepted', 'accepted')
  t.equal(j3.mode, 'tolerance', 'verified by tolerance')
  const r3 = await market.replicas(third.jobId!)
  const s3 = new Map(await Promise.all(r3.sessions.map(async (id) => [(await market.session(id))!.worker, { id, receipt: await market.receipt(id), metric: await market.read<bigint>('replicaMetric', [id]) }] as const)))
  t.same([...s3.keys()].sort(), [alpha.member.address, beta.member.address, gamma.member.address].sort(), 'all three drawn')
  const loss = s3.get(alpha.member.address)!.metric
  t.ok(loss > 0n && loss < 1_000_000_000n, `alpha revealed torch's held-out loss, ${Number(loss) / 1e9} (read by the contract from the committed metrics)`)
  t.equal(s3.get(gamma.member.address)!.metric, loss, 'gamma revealed the same loss: inside the bound')
  const drift = s3.get(beta.member.address)!.metric - loss - 1_000_000_000n
  t.ok(drift >= -1n && drift <= 1n, "beta revealed its committed (drifted) loss: 1 higher, outside the bound")
  for (const [name, who] of [['alpha', alpha], ['gamma', gamma]] as const) {
    t.equal(s3.get(who.member.address)!.receipt?.status, 'accepted', `${name}: accepted receipt`)
    t.equal(s3.get(who.member.address)!.receipt?.mode, 'tolerance', `${name}: the receipt says tolerance verified it`)
  }
  t.equal(s3.get(beta.member.address)!.receipt?.status, 'rejected', 'beta: outside the bound, refuted')
  t.equal((await market.worker(beta.member.address)).bond, bond3 / 2n, 'beta slashed again: half its bond')
  t.comment(`whole test ${((Date.now() - t0) / 1000).toFixed(0)} s`)
})
