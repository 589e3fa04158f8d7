/**
 * Pull on assignment and tolerance mode end to end, with container jobs in a real Docker engine
 * and Debian's docker-registry on 127.0.0.1: a dev chain (one producer process) and three worker
 * processes (`povchain node --worker --worker.runtime docker --worker.pull-from <registry>`).
 * Two variants of the node's built-in image (another label each: other digests) are pushed to the
 * registry and removed from the engine, so no worker holds them:
 *  - every worker announces both digests (the registry lists them), so `job submit` accepts a
 *    spec pinning one by `repository@sha256:…` with no registry named;
 *  - a tolerance job (k = 3, metric testLoss, epsilon 0.01) on the first variant: each drawn
 *    worker pulls the image on assignment (progress logged, time recorded), runs it and reveals
 *    the metric its committed metrics hold; `drift` (`--worker.test-cheat wrong-metric`) commits
 *    metrics 1 higher — outside the bound — and is refuted and slashed; the two others agree
 *    within the bound, are paid, and their receipts say "tolerance";
 *  - the registry loses the second variant's config blob (still listed): the drawn workers cannot pull, release
 *    their sessions before the commit time (a sliver of faultPenalty: the share of the commit window
 *    held), the escalation draws the last worker, which cannot either; the job ends refunded.
 * Skips visibly without a Docker engine or docker-registry (fails under POVCHAIN_REQUIRE_DOCKER=1).
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getAddress, type Hex } from 'viem'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex } from '../common/bytes.js'
import { ImageBuilder } from '../compute/runtime/ImageBuilder.js'
import { ImageStore } from '../compute/runtime/ImageStore.js'
import { parseJobSpecStructure, type JobSpec } from '../compute/spec/JobSpec.js'
import { requireDocker, startRegistry } from '../compute/test/dockerSupport.js'
import { BlobStore } from '../compute/worker/BlobStore.js'
import { ROOT, waitFor } from './helpers/devnode.js'
import { clientCli, jobSettled, marketOver, startDockerWorker } from './helpers/dockerMarket.js'
import { planMarketNet, startMarketNode, type MarketNode } from './helpers/marketnet.js'
import { processGroup } from './helpers/processGroup.js'

const CLIENT_KEY = deriveKeys(DEV_MNEMONIC, 2)[1]!
const CLIENT = getAddress(bytesToHex(privateKeyToAddress(CLIENT_KEY)))

function toleranceSpec(image: string): JobSpec {
  const iris = parseJobSpecStructure(JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')))
  return { ...iris, params: { ...iris.params, epochs: 10 }, runtime: { type: 'docker', image }, verification: { mode: 'tolerance', redundancy: 3, metric: 'testLoss', epsilon: 0.01 } }
}

t.test('pull on assignment: workers announce what a registry holds, pull it when drawn, and release what they cannot pull; tolerance refutes a drifted metric', { timeout: 400_000 }, async (t) => {
  const docker = await requireDocker(t)
  if (!docker) return
  const { dir, nodes } = processGroup<MarketNode>(t, 'povchain-pull-docker-')
  const reg = await startRegistry(dir)
  if ('missing' in reg) {
    if (process.env.POVCHAIN_REQUIRE_DOCKER === '1') t.fail(reg.missing)
    else t.comment(`SKIP: ${reg.missing}`)
    return
  }
  t.teardown(() => reg.stop())
  const builder = new ImageBuilder(docker.docker)
  const builtin = (await builder.build({ repository: 'povchain/workloads', tag: 'pull-test' })).id
  // Two variants nobody holds: built, pushed, then removed from the (shared) engine.
  const store = new ImageStore({ docker: docker.docker, blobs: new BlobStore({ dir: join(dir, 'pusher') }) })
  const variants: { digest: string; id: string; bytes: number }[] = []
  for (const v of ['a', 'b']) {
    const built = await builder.build({ repository: 'povchain/pulltest', tag: `v-${v}`, labels: { 'povchain.test': `pull-${v}-${process.pid}` } })
    const pushed = await store.push(built.id, `${reg.address}/pulltest`)
    t.equal(pushed.digest, built.digest, 'pushed under its build digest')
    const bytes = (await docker.docker.getImage(built.id).inspect()).Size
    await docker.docker.getImage(built.id).remove({ force: true })
    variants.push({ digest: built.digest, id: built.id, bytes })
  }
  const [va, vb] = variants as [(typeof variants)[0], (typeof variants)[0]]
  t.comment(`variant image: ${(va.bytes / 1e6).toFixed(1)} MB`)

  const plan = await planMarketNet(dir, ['producer', 'w1', 'w2', 'drift'])
  for (const name of ['w1', 'w2', 'drift']) await new BlobStore({ dir: join(plan.members[name]!.datadir, 'compute') }).setRef('image-builtin', builtin)
  const worker = (name: string, cheat?: string) => startDockerWorker(plan, name, { pullFrom: [reg.address], ...(cheat ? { cheat } : {}) }).then((n) => (nodes.push(n), n))
  const producer = await startMarketNode(plan, 'producer').then((n) => (nodes.push(n), n))
  const ws = await Promise.all([worker('w1'), worker('w2'), worker('drift', 'wrong-metric')])
  const [w1, w2, drift] = ws as [MarketNode, MarketNode, MarketNode]
  const url = producer.httpUrl
  const market = marketOver(url)
  const hex = (d: string) => `0x${d.slice('sha256:'.length)}` as Hex
  for (const n of ws)
    await waitFor(async () => {
      const have = (await market.worker(n.member.address)).registered ? (await market.imagesOf(n.member.address)).map((x) => x.toLowerCase()) : []
      return have.includes(hex(va.digest)) && have.includes(hex(vb.digest))
    }, `${n.member.name} announced the registry's images`, 60_000, 200)
  t.pass('every worker announced both variants it does not hold (the registry lists them)')
  for (const v of variants) await t.rejects(docker.docker.getImage(v.id).inspect(), 'not on the engine')

  const keyFile = join(dir, 'client.key')
  writeFileSync(keyFile, bytesToHex(CLIENT_KEY))
  const submit = clientCli(dir, url, keyFile)
  const settled = (jobId: Hex, what: string, ms: number) => jobSettled(t, market, jobId, ws, what, ms)

  // 1. Tolerance on the first variant: all three drawn, all pull; the drifted metric is refuted.
  const bonds0 = await Promise.all(ws.map(async (n) => (await market.worker(n.member.address)).bond))
  const posted = await submit(toleranceSpec(`povchain/pulltest@${va.digest}`))
  t.ok(posted.ok, `the tolerance job is posted (${posted.error?.message ?? ''})`)
  const jobId = posted.jobId!
  const tPost = Date.now()
  const job = await settled(jobId, 'the tolerance job settled', 240_000)
  t.comment(`settled ${((Date.now() - tPost) / 1000).toFixed(1)} s after posting`)
  t.equal(job.status, 'accepted', 'accepted')
  t.equal(job.mode, 'tolerance')
  const r = await market.replicas(jobId)
  t.equal(r.sessions.length, 3, 'k = 3, nobody left for the escalation')
  const byWorker = new Map(await Promise.all(r.sessions.map(async (id) => [(await market.session(id))!.worker, { id, receipt: await market.receipt(id), metric: await market.read<bigint>('replicaMetric', [id]) }] as const)))
  for (const n of [w1, w2]) {
    const x = byWorker.get(n.member.address)!
    t.equal(x.receipt?.status, 'accepted', `${n.member.name}: accepted receipt`)
    t.equal(x.receipt?.mode, 'tolerance', `${n.member.name}: the receipt says tolerance verified it`)
  }
  const honestMetric = byWorker.get(w1.member.address)!.metric
  t.ok(honestMetric > 0n, `the revealed testLoss (${Number(honestMetric) / 1e9}; the contract read it from the committed metrics)`)
  const d = byWorker.get(drift.member.address)!.metric - honestMetric - 1_000_000_000n
  t.ok(d >= -1n && d <= 1n, 'drift revealed the metric its (drifted) committed metrics hold: 1 higher (within the nano-unit of truncation)')
  t.equal(byWorker.get(drift.member.address)!.receipt?.status, 'rejected', 'outside the bound: refuted')
  t.equal((await market.worker(drift.member.address)).bond, bonds0[2]! / 2n, 'and slashed half its bond')
  const pulls: number[] = []
  for (const n of ws) {
    const line = n.output().split('\n').find((l) => l.includes('"msg":"image pulled for the assigned job"'))
    t.ok(line, `${n.member.name} pulled the image on assignment`)
    if (line) pulls.push((JSON.parse(line) as { ms: number }).ms)
  }
  t.ok(ws.some((n) => /"msg":"pulling image"/.test(n.output())), 'the pull is logged with its layers and size')
  t.comment(`pull on assignment (${(va.bytes / 1e6).toFixed(1)} MB image, loopback registry): ${pulls.join(', ')} ms`)

  // 2. The registry still lists the second variant but lost its config blob (deleted): nobody can
  // pull it; each drawn worker releases its session.
  const del = await fetch(`http://${reg.address}/v2/pulltest/blobs/${vb.id}`, { method: 'DELETE' })
  t.equal(del.status, 202, 'the registry deleted the config blob')
  const bonds1 = await Promise.all(ws.map(async (n) => (await market.worker(n.member.address)).bond))
  const second = await submit({ ...toleranceSpec(`povchain/pulltest@${vb.digest}`), verification: { mode: 'redundant', redundancy: 2, quorum: 2 } })
  t.ok(second.ok, 'the job is posted (the workers announced the image)')
  const job2 = await settled(second.jobId!, 'the unpullable job ended', 120_000)
  t.equal(job2.status, 'refunded', 'nobody could run it: the client is refunded')
  const r2 = await market.replicas(second.jobId!)
  t.equal(r2.sessions.length, 3, 'two drawn, then the last worker by the escalation')
  for (const id of r2.sessions) t.equal((await market.session(id))!.status, 'expired', 'each released its session')
  // A release costs faultPenalty × the share of the commit window held (abandonPenalty): a worker
  // that releases as soon as the pull fails pays a sliver of what silence would cost.
  const { faultPenalty } = await market.config()
  const bonds2 = await Promise.all(ws.map(async (n) => (await market.worker(n.member.address)).bond))
  for (const i of ws.keys()) {
    const paid = bonds1[i]! - bonds2[i]!
    t.ok(paid >= 0n && paid * 2n < faultPenalty, `worker ${i} paid ${Number(paid) / 1e18} coin for releasing early: less than half the ${Number(faultPenalty) / 1e18} silence costs`)
  }
  t.ok(ws.every((n) => /releasing the replica session before its commit time/.test(n.output())), 'each says why it released')
  t.equal((await market.worker(CLIENT)).registered, false, 'the client is no worker')
})
