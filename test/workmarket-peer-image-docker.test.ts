/**
 * A container job whose image no registry serves, end to end: a dev chain (one producer process)
 * and two worker processes, each on its own Docker engine — `alpha` on the host's engine, which
 * holds the image and shares it (`compute image share`: its archive in alpha's blob store), and
 * `beta` on a second `dockerd` this test starts (`--worker.docker-host`), which lacks it and runs
 * with `--worker.peer-images`. The spec pins `povchain/peertest@sha256:…`: no registry, no
 * archive. beta announces the image because a peer shares it (image_archives), both are drawn for
 * the redundant job (k = 2), beta fetches the archive from alpha over p2p (blob_by_hash), checks
 * its manifest digest, loads it into its own engine and runs; the two seals agree bit for bit and
 * the job is accepted, each worker holding an accepted receipt for it.
 * Skips visibly without Docker or a second dockerd (root); fails under POVCHAIN_REQUIRE_DOCKER=1.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { bytesToHex } from '../common/bytes.js'
import { DockerRuntime } from '../compute/runtime/DockerRuntime.js'
import { ImageBuilder } from '../compute/runtime/ImageBuilder.js'
import { ImageStore } from '../compute/runtime/ImageStore.js'
import { parseJobSpecStructure, type JobSpec } from '../compute/spec/JobSpec.js'
import { requireDocker, startEngine } from '../compute/test/dockerSupport.js'
import { BlobStore } from '../compute/worker/BlobStore.js'
import { ROOT, rpc, waitFor } from './helpers/devnode.js'
import { clientCli, jobSettled, logLine, marketOver, presetBuiltinImage, startDockerWorker } from './helpers/dockerMarket.js'
import { planMarketNet, startMarketNode, type MarketNode } from './helpers/marketnet.js'
import { processGroup } from './helpers/processGroup.js'

const CLIENT_KEY = deriveKeys(DEV_MNEMONIC, 2)[1]!

t.setTimeout(900_000)

t.test('an image only a peer holds: a worker on its own engine announces it, fetches it over p2p when drawn, runs it; the replicas agree and the job is accepted', async (t) => {
  const docker = await requireDocker(t)
  if (!docker) return
  const skip = (why: string) => {
    if (process.env.POVCHAIN_REQUIRE_DOCKER === '1') t.fail(`POVCHAIN_REQUIRE_DOCKER=1 but ${why}`)
    else t.comment(`SKIP: ${why}`)
  }
  const engineDir = mkdtempSync(join(tmpdir(), 'pvp-'))
  t.teardown(() => rmSync(engineDir, { recursive: true, force: true }))
  const engine2 = await startEngine(engineDir)
  if ('missing' in engine2) return skip(engine2.missing)
  t.teardown(() => engine2.stop())
  const { dir, nodes } = processGroup<MarketNode>(t, 'povchain-peer-image-')
  const second = new DockerRuntime({ socketPath: engine2.socket })

  const tag = `${process.pid}-${Date.now()}`
  const [variant, builtin, builtin2] = await Promise.all([
    new ImageBuilder(docker.docker).build({ repository: 'povchain/peertest', tag: `v-${tag}`, labels: { 'povchain.test': `peer-image-${tag}` } }),
    new ImageBuilder(docker.docker).build({ repository: 'povchain/workloads', tag: 'peer-test' }).then((b) => b.id),
    new ImageBuilder(second.docker).build({ repository: 'povchain/workloads', tag: 'peer-test' }).then((b) => b.id),
  ])
  t.teardown(() => docker.docker.getImage(variant.id).remove({ force: true }).catch(() => undefined))
  await t.rejects(second.docker.getImage(variant.id).inspect(), 'the second engine starts without the image')

  const plan = await planMarketNet(dir, ['producer', 'alpha', 'beta'])
  await presetBuiltinImage(plan.members.alpha!.datadir, builtin)
  await presetBuiltinImage(plan.members.beta!.datadir, builtin2)
  // What `povchain compute image share IMAGE --datadir <alpha>` does.
  const shared = await new ImageStore({ docker: docker.docker, blobs: new BlobStore({ dir: join(plan.members.alpha!.datadir, 'compute') }) }).share(variant.id)
  t.equal(shared.digest, variant.digest, 'alpha shares the image under its build digest')
  t.comment(`archive ${shared.archive}: ${(shared.archiveSize! / 1e6).toFixed(1)} MB`)

  const producer = await startMarketNode(plan, 'producer').then((n) => (nodes.push(n), n))
  const alpha = await startDockerWorker(plan, 'alpha').then((n) => (nodes.push(n), n))
  const beta = await startDockerWorker(plan, 'beta', { engine: engine2.socket, bootnodes: [plan.members.alpha!.multiaddr], args: ['--worker.peer-images'] }).then((n) => (nodes.push(n), n))
  const url = producer.httpUrl
  const market = marketOver(url)
  const digest = `0x${variant.digest.slice('sha256:'.length)}` as Hex
  const announced = (n: MarketNode) =>
    waitFor(async () => (await market.worker(n.member.address)).registered && (await market.imagesOf(n.member.address)).map((x) => x.toLowerCase()).includes(digest), `${n.member.name} announces the image`, 150_000, 250)
  await Promise.all([announced(alpha), announced(beta)])
  t.pass('alpha announces the image it holds, beta the image its peer shares')
  await t.rejects(second.docker.getImage(variant.id).inspect(), 'beta does not hold it yet')

  const keyFile = join(dir, 'client.key')
  writeFileSync(keyFile, bytesToHex(CLIENT_KEY))
  const submit = clientCli(dir, url, keyFile)
  const iris = parseJobSpecStructure(JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')))
  const spec: JobSpec = { ...iris, params: { ...iris.params, epochs: 10 }, runtime: { type: 'docker', image: `povchain/peertest@${variant.digest}` }, verification: { mode: 'redundant', redundancy: 2, quorum: 2 } }
  const posted = await submit(spec)
  t.ok(posted.ok, `posted, pinning povchain/peertest@${variant.digest.slice(0, 19)}… with no registry (${posted.error?.message ?? ''})`)
  const tPost = Date.now()
  const job = await jobSettled(t, market, posted.jobId!, [alpha, beta], 'the job settled', 300_000)
  const settledS = (Date.now() - tPost) / 1000
  t.equal(job.status, 'accepted', 'accepted: the two replicas agree bit for bit')
  const r = await market.replicas(posted.jobId!)
  const workers = await Promise.all(r.sessions.map(async (id) => (await market.session(id))!.worker.toLowerCase()))
  t.same(workers.sort(), [alpha.member.address, beta.member.address].map((a) => a.toLowerCase()).sort(), 'both drawn')
  for (const n of [alpha, beta]) {
    const receipts = await rpc<{ jobId: string; status: string }[]>(url, 'pov_getReceipts', [n.member.address])
    t.ok(receipts.some((x) => x.jobId.toLowerCase() === posted.jobId!.toLowerCase() && x.status === 'accepted'), `${n.member.name} holds an accepted receipt naming the job`)
  }
  t.equal((await second.docker.getImage(variant.id).inspect()).Id, variant.id, 'beta\'s engine now holds the image, under the build\'s id')
  const fetched = logLine<{ from: string; ms: number }>(beta.output(), 'image fetched')
  t.equal(fetched?.from, 'peers', 'beta fetched it from peers')
  const pulled = logLine<{ from: string; ms: number }>(beta.output(), 'image pulled for the assigned job')
  t.equal(pulled?.from, 'peers', 'on assignment, before the run')
  t.notOk(/"msg":"image fetched"/.test(alpha.output()), 'alpha fetched nothing')
  // Where the time goes: beta's image lines with their times (fetch from peers, then docker load).
  t.comment(beta.output().split('\n').filter((l) => /"msg":"[^"]*(image|archive)[^"]*"/.test(l)).map((l) => { const j = JSON.parse(l) as { time: string; msg: string }; return `${j.time} ${j.msg}` }).join('\n'))
  t.comment(`beta: image from peers on assignment ${pulled?.ms} ms (${(shared.archiveSize! / 1e6).toFixed(1)} MB over p2p, digest checks, docker load); posted → accepted ${settledS.toFixed(1)} s`)
})
