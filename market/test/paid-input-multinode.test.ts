/**
 * A paid dataset as a job's input across real node processes on 127.0.0.1 (no --dev; helpers of
 * test/helpers/marketnet.ts): only the owner's node holds it, and the owner's node runs no
 * worker, so its JSON-RPC is no blob source of the others — the worker and the verifier can get
 * the dataset only over blob_by_hash, with a request signed by the identity they work as and
 * naming the job (market/worker/JobAssetInputs → BlobFetcher → the network's requester field). The
 * owner's node (or the worker's, once it holds a copy) serves it because the requester is the
 * job's worker or verifier (market/assets/BlobAccessPolicy.ts); the job is accepted, and the
 * worker's and the verifier's /metrics show p2p fetches and none over RPC. (Before blob_by_hash
 * carried a requester, no peer would serve it and the worker had no source at all.)
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { contentHash } from '../../compute/ContentHash.js'
import { encodeDataset } from '../../compute/data/Dataset.js'
import { irisDataset } from '../../compute/data/IrisDataset.js'
import { DEV_MNEMONIC, deriveKeys } from '../../chain/DevKeys.js'
import { ROOT, rpc, rpcRaw, waitFor } from '../../test/helpers/devnode.js'
import { assetCli, memberKeyFile } from '../../test/helpers/assetcli.js'
import { processGroup } from '../../test/helpers/processGroup.js'
import { planMarketNet, scrapeCounter, startMarketNode, type MarketNode } from '../../test/helpers/marketnet.js'

t.test('a paid dataset reaches the worker and the remote verifier over p2p with signed requests', async (t) => {
  const { dir, nodes } = processGroup<MarketNode>(t, 'povchain-paid-input-')
  const plan = await planMarketNet(dir, ['owner', 'worker', 'verifier'])
  const ownerM = plan.members.owner!
  const [owner, worker] = await Promise.all([
    startMarketNode(plan, 'owner', { args: ['--unlock', ownerM.address] }).then((n) => (nodes.push(n), n)),
    startMarketNode(plan, 'worker', { bootnodes: [ownerM.multiaddr], worker: true }).then((n) => (nodes.push(n), n)),
  ])
  const url = owner.httpUrl
  const keyFile = (name: string, key?: Uint8Array) => memberKeyFile(dir, plan, name, key)
  const ownerKey = await keyFile('owner')
  const clientKey = await keyFile('client', deriveKeys(DEV_MNEMONIC, 2)[1]!) // dev #1: funded by the genesis
  const cli = (args: string[], key: string) => assetCli(url, key, args)

  const data = encodeDataset({ ...irisDataset(), name: 'iris-paid-multinode' })
  const dataHash = contentHash(data)
  const dataFile = join(dir, 'paid.json')
  writeFileSync(dataFile, data)
  const registered = await cli(['asset', 'register', '--file', dataFile, '--kind', 'dataset', '--mode', 'paid', '--price', '0.01', '--download-price', '1'], ownerKey)
  const id = BigInt(registered.id as string)
  t.equal(registered.contentHash, dataHash, 'a paid dataset, held by the owner node only')
  t.equal(await rpc(worker.httpUrl, 'pov_getBlob', [dataHash, 0, 8]), null, 'not on the worker node yet')
  t.match((await rpcRaw(url, 'pov_getBlob', [dataHash, 0, 8])).error, { code: -32001, message: /signed blob request/ }, 'and gated at the owner node')

  const spec = JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')) as Record<string, unknown>
  const specFile = join(dir, 'spec.json')
  writeFileSync(specFile, JSON.stringify({ ...spec, dataset: dataHash, params: { ...(spec.params as object), layers: [8], epochs: 20 }, checkpointInterval: 16 }))
  const jobId = (await cli(['asset', 'job', specFile, '--assets', String(id), '--dataset', dataFile], clientKey)).jobId as Hex
  // Registered after the assignment, so the contract draws it to verify.
  const verifier = await startMarketNode(plan, 'verifier', { bootnodes: [ownerM.multiaddr, worker.member.multiaddr], worker: true })
  nodes.push(verifier)

  const job = await waitFor(async () => {
    const j = await rpc<{ status: string; session: Hex }>(url, 'pov_getJob', [jobId])
    return j.status === 'accepted' || j.status === 'refunded' ? j : undefined
  }, 'the job to be final', 300_000, 250)
  t.equal(job.status, 'accepted', 'run by the worker node on the paid dataset, verified remotely, accepted')
  const session = await rpc<{ worker: string; verifiers: string[] }>(url, 'pov_getSession', [job.session])
  t.equal(session.worker, worker.member.address, 'the worker node did the job')
  t.same(session.verifiers, [verifier.member.address], 'the verifier node verified it')
  for (const n of [worker, verifier]) {
    const fetches = await scrapeCounter(n.httpUrl, 'povchain_worker_blob_fetches_total')
    t.ok((fetches.get('source="p2p"') ?? 0) > 0, `${n.member.name}: fetched over p2p (${fetches.get('source="p2p"')})`)
    t.notOk(fetches.get('source="rpc"'), `${n.member.name}: nothing over RPC`)
  }
  // The worker holds the dataset now (checked against its hash when fetched) and gates it in turn.
  t.match((await rpcRaw(worker.httpUrl, 'pov_getBlob', [dataHash, 0, 8])).error, { code: -32001 }, 'the worker node holds it and gates it too')
  const refused = await scrapeCounter(url, 'povchain_network_blob_refused_total')
  t.comment(`owner node's refusals by reason: ${JSON.stringify(Object.fromEntries(refused))}`)
})
