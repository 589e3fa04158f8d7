/**
 * Redundancy mode end to end, with container jobs in a real Docker engine: a dev chain (one
 * producer process) and three worker processes (`povchain node --worker --worker.runtime
 * docker`), each running the client's container job — the node's built-in image
 * (`compute image build`; it implements compute/runtime/ContainerContract.ts), pinned by digest —
 * on the engine:
 *  - `job submit` of a spec pinning an image no worker announced is refused (JOB_NO_WORKER), as
 *    is one asking for more replicas than there are capable workers;
 *  - the client's redundant job (k = 2) is drawn to `honest` and `cheat` (the only workers then);
 *    `cheat` returns a forged result (`--worker.test-cheat wrong-result`). The test holds `cheat`
 *    (SIGSTOP) until a third worker, `late`, has registered, so the escalation has someone to
 *    draw: the seals disagree, `late` is drawn, runs the container and agrees bit for bit with
 *    `honest`; the job is accepted with the honest result, `honest` and `late` are paid and hold
 *    receipts that say "redundant", `cheat` loses half its bond and holds a rejected receipt.
 * Skips visibly without a Docker engine (fails under POVCHAIN_REQUIRE_DOCKER=1).
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getAddress, type Hex } from 'viem'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex } from '../common/bytes.js'
import { ImageBuilder } from '../compute/runtime/ImageBuilder.js'
import { parseJobSpecStructure, type JobSpec } from '../compute/spec/JobSpec.js'
import { requireDocker } from '../compute/test/dockerSupport.js'
import { BlobStore } from '../compute/worker/BlobStore.js'
import { ROOT, waitFor } from './helpers/devnode.js'
import { clientCli, jobSettled, logTime, marketOver, startDockerWorker } from './helpers/dockerMarket.js'
import { planMarketNet, startMarketNode, type MarketNode } from './helpers/marketnet.js'
import { processGroup } from './helpers/processGroup.js'

const CLIENT_KEY = deriveKeys(DEV_MNEMONIC, 2)[1]!
const CLIENT = getAddress(bytesToHex(privateKeyToAddress(CLIENT_KEY)))

function containerSpec(image: string, redundancy: number): JobSpec {
  const iris = parseJobSpecStructure(JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')))
  // 10 epochs of Iris (80 steps, 3 checkpoints): the container's start dominates, as for any small job.
  return { ...iris, params: { ...iris.params, epochs: 10 }, runtime: { type: 'docker', image }, verification: { mode: 'redundant', redundancy, quorum: redundancy } }
}

t.test('redundant container jobs: two workers agree, a forger is refuted by the escalation and slashed', { timeout: 280_000 }, async (t) => {
  const docker = await requireDocker(t)
  if (!docker) return
  const t0 = Date.now()
  // Pinned by its image id (`sha256:<id>`; the same on every host for the same files). The
  // manifest digest names the image only with its repository (`povchain/workloads@sha256:…`):
  // a bare manifest digest is no image id, and a spec pinning it ran nowhere (the job hung).
  const image = (await new ImageBuilder(docker.docker).build({ repository: 'povchain/workloads', tag: 'modes-test' })).id
  t.comment(`built-in image ${image} built in ${((Date.now() - t0) / 1000).toFixed(1)} s`)

  const { dir, nodes } = processGroup<MarketNode>(t, 'povchain-modes-docker-')
  const plan = await planMarketNet(dir, ['producer', 'honest', 'cheat', 'late'])
  // The workers find the image already built (as after their first start) instead of building it again.
  for (const name of ['honest', 'cheat', 'late']) await new BlobStore({ dir: join(plan.members[name]!.datadir, 'compute') }).setRef('image-builtin', image)
  const worker = (name: string, cheat?: string) => startDockerWorker(plan, name, cheat ? { cheat } : {}).then((n) => (nodes.push(n), n))
  const producer = await startMarketNode(plan, 'producer').then((n) => (nodes.push(n), n))
  const [honest, cheat] = await Promise.all([worker('honest'), worker('cheat', 'wrong-result')])
  let cheatStopped = false
  t.teardown(() => {
    if (cheatStopped) cheat.proc.kill('SIGCONT')
  })
  const url = producer.httpUrl
  const market = marketOver(url)
  const digest = `0x${image.slice('sha256:'.length)}` as Hex
  for (const n of [honest, cheat])
    await waitFor(async () => (await market.worker(n.member.address)).registered && (await market.imagesOf(n.member.address)).includes(digest), `${n.member.name} registered with the image`, 60_000, 200)
  t.pass('both workers registered and announced the image')

  // The client's CLI.
  const keyFile = join(dir, 'client.key')
  writeFileSync(keyFile, bytesToHex(CLIENT_KEY))
  const submit = clientCli(dir, url, keyFile)
  const unknown = await submit(containerSpec(`sha256:${'ab'.repeat(32)}`, 2))
  t.equal(unknown.error?.code, 'JOB_NO_WORKER', 'an image nobody announced: refused before paying')
  t.match(unknown.error?.message, /lacks the image/)
  const tooMany = await submit(containerSpec(image, 3))
  t.equal(tooMany.error?.code, 'JOB_NO_WORKER', 'three replicas with two capable workers: refused')
  t.match(tooMany.error?.message, /only 2 registered workers offer/)

  const posted = await submit(containerSpec(image, 2))
  t.ok(posted.ok, 'the redundant container job is posted')
  const jobId = posted.jobId!
  const price = BigInt(posted.price!)
  const tPost = Date.now()
  const drawn = await waitFor(async () => {
    const r = await market.replicas(jobId)
    return r.sessions.length === 2 ? r.sessions : undefined
  }, 'the two replicas drawn', 60_000, 100)
  // Hold the forger until a third worker is registered: the escalation must have someone to draw.
  cheat.proc.kill('SIGSTOP')
  cheatStopped = true
  const workersOf = async (ids: Hex[]) => Promise.all(ids.map(async (id) => (await market.session(id))!.worker))
  t.same((await workersOf(drawn)).sort(), [honest.member.address, cheat.member.address].sort(), 'round 0: the only two workers')
  const late = await worker('late')
  await waitFor(async () => (await market.worker(late.member.address)).registered && (await market.imagesOf(late.member.address)).includes(digest), 'late registered', 60_000, 200)
  const bond = (await market.worker(cheat.member.address)).bond
  cheat.proc.kill('SIGCONT')
  cheatStopped = false
  const tResume = Date.now()

  const job = await jobSettled(t, market, jobId, [honest, cheat, late], 'the job settled', 150_000)
  t.comment(`settled ${((Date.now() - tResume) / 1000).toFixed(1)} s after the forger resumed (${((Date.now() - tPost) / 1000).toFixed(1)} s after posting, with the hold)`)
  t.equal(job.status, 'accepted', 'accepted')
  t.equal(job.mode, 'redundant')
  const r = await market.replicas(jobId)
  t.equal(r.round, 1, 'the disagreement escalated')
  t.equal(r.sessions.length, 3)
  t.equal((await market.session(r.sessions[2]!))!.worker, late.member.address, 'the escalation drew the late worker')
  const byWorker = new Map((await Promise.all(r.sessions.map(async (id) => [(await market.session(id))!.worker, await market.receipt(id)] as const))).map(([w, rc]) => [w, rc]))
  for (const n of [honest, late]) {
    const rc = byWorker.get(n.member.address)!
    t.equal(rc.status, 'accepted', `${n.member.name}: accepted receipt`)
    t.equal(rc.mode, 'redundant', `${n.member.name}: the receipt says redundancy verified it`)
    t.equal(rc.value, price / 2n, 'its share of the price')
  }
  t.equal(byWorker.get(cheat.member.address)!.status, 'rejected', 'the forger: rejected receipt')
  t.equal((await market.worker(cheat.member.address)).bond, bond / 2n, 'the forger lost half its bond')
  const accepted = (await market.session(job.session))!
  t.not(accepted.worker, cheat.member.address, "the client's result is an honest replica's")
  const forged = (await market.session(r.sessions[(await workersOf(r.sessions)).indexOf(cheat.member.address)]!))!
  t.not(forged.result.commitment, accepted.result.commitment, 'the forged commitment differs')
  for (const n of [honest, late]) t.match(n.output(), /"runtime":"docker"[^\n]*"msg":"running assigned session"/, `${n.member.name} ran the job in Docker`)
  t.match(cheat.output(), /committing a dishonest session/, 'the forger forged')
  // Figures: a replica's run (container start → result collected → seal sent), from the workers' logs.
  for (const n of [honest, late]) t.comment(`${n.member.name}: run + seal ${((logTime(n.output(), 'replica result sealed') - logTime(n.output(), 'running assigned session')) / 1000).toFixed(1)} s`)
  // Whichever replica's worker saw the round complete first settles it: any of the three.
  t.ok([honest, late, cheat].some((n) => /replicas disagreed: more are drawn|replica job settled/.test(n.output())), 'the workers settled it themselves')
  t.equal((await market.worker(CLIENT)).registered, false, 'the client is no worker')
})
