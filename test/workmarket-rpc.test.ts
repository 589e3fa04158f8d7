/**
 * The dev chain's WorkMarket through JSON-RPC: the contract is at its genesis address, workers
 * register, a job is posted and assigned by the contract's draw a few blocks later (the dev
 * miner seals the blocks it waits for), and the pov_ methods describe jobs,
 * sessions, workers, receipts, estimates and blobs.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { keccak256, type Address, type Hex } from 'viem'
import { WORK_MARKET_ADDRESS } from '../genesis/WorkMarketGenesis.js'
import { encodeMarketCall } from '../market/client/WorkMarketReader.js'
import { RpcMarketChain } from '../market/client/RpcMarketChain.js'
import { ROOT, rpc, rpcRaw, startInProcessNode, waitFor } from './helpers/devnode.js'

const ETHER = 10n ** 18n
const W1: Address = '0xdD2FD4581271e230360230F9337D5c0430Bf44C0' // dev #18
const W2: Address = '0xbDA5747bFD65F08deb54cb465eB87D40e51B197E' // dev #17

t.test('pov_ methods over the dev market', async (t) => {
  const n = await startInProcessNode()
  t.teardown(() => n.stop())
  t.not(await rpc(n.httpUrl, 'eth_getCode', [WORK_MARKET_ADDRESS, 'latest']), '0x', 'WorkMarket is in the dev genesis')
  t.equal(await rpc(n.httpUrl, 'pov_getWorker', [W1]), null)

  for (const w of [W1, W2]) {
    const c = await RpcMarketChain.connect(n.httpUrl, { from: w })
    await c.send(WORK_MARKET_ADDRESS, encodeMarketCall('register', [250n, 1, 'http://example']), { value: 2n * ETHER })
  }
  const w = await rpc<{ bond: Hex; rating: number; capacity: Hex; endpoint: string }>(n.httpUrl, 'pov_getWorker', [W1])
  // A fresh identity starts at the rating floor (RATING_ENTRY = 100), not neutral: whitewashing a rating does not pay.
  t.match(w, { bond: '0x1bc16d674ec80000', rating: 100, capacity: '0xfa', endpoint: 'http://example' })
  t.equal((await rpc<unknown[]>(n.httpUrl, 'pov_getWorkers')).length, 2)

  const spec = JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8'))
  const est = await rpc<{ units: Hex; price: Hex; specHash: Hex; workers: number }>(n.httpUrl, 'pov_estimateJob', [spec])
  t.ok(BigInt(est.units) > 0n, `units ${BigInt(est.units)}`)
  t.equal(BigInt(est.price), BigInt(est.units) * (ETHER / 10_000n) > ETHER / 1000n ? BigInt(est.units) * (ETHER / 10_000n) : ETHER / 1000n, 'default unit price before any job')
  t.equal(est.workers, 2)
  t.equal((await rpcRaw(n.httpUrl, 'pov_estimateJob', [{ ...spec, seed: -1 }])).error?.code, -32602)
  // The units option (as `job estimate --units`): stated units set the price; an image's own
  // workload, which the node cannot count, needs them; a container job costs once per replica.
  const stated = await rpc<{ units: Hex; price: Hex; replicaPrice: Hex; replicas: number }>(n.httpUrl, 'pov_estimateJob', [spec, { units: 50_000 }])
  t.equal(BigInt(stated.units), 50_000n, 'stated units are taken')
  t.equal(BigInt(stated.price), 50_000n * (ETHER / 10_000n), 'and priced at the unit price')
  t.equal(BigInt((await rpc<{ units: Hex }>(n.httpUrl, 'pov_estimateJob', [spec, { units: '0x10' }])).units), 16n, 'hex units')
  const torch = { ...JSON.parse(readFileSync(join(ROOT, 'compute/examples/torch-train.json'), 'utf8')), verification: { mode: 'redundant', redundancy: 3, quorum: 2 } }
  const uncounted = await rpcRaw(n.httpUrl, 'pov_estimateJob', [torch])
  t.equal(uncounted.error?.code, -32602, 'an image\'s own workload without units is refused')
  t.match(uncounted.error?.message, /cannot count its compute units; say how many with the units option/, 'and told how to state them')
  const torchEst = await rpc<{ units: Hex; price: Hex; replicaPrice: Hex; replicas: number; mode: string }>(n.httpUrl, 'pov_estimateJob', [torch, { units: 20_000 }])
  t.match(torchEst, { replicas: 3, mode: 'redundant' })
  t.equal(BigInt(torchEst.replicaPrice), 20_000n * (ETHER / 10_000n), 'one replica: units × unit price')
  t.equal(BigInt(torchEst.price), 3n * BigInt(torchEst.replicaPrice), 'the job: once per replica')
  for (const bad of [0, -1, 1.5, 'ten', [1]]) t.equal((await rpcRaw(n.httpUrl, 'pov_estimateJob', [spec, { units: bad }])).error?.code, -32602, `units ${JSON.stringify(bad)} refused`)
  t.equal((await rpcRaw(n.httpUrl, 'pov_estimateJob', [spec, 5])).error?.code, -32602, 'options must be an object')

  const client = await RpcMarketChain.connect(n.httpUrl)
  const head = await client.head()
  const r = await client.send(WORK_MARKET_ADDRESS, encodeMarketCall('postJob', [est.specHash, keccak256('0x01'), head.timestamp + 3600n, 600n, BigInt(est.units), 1]), { value: BigInt(est.price) })
  t.ok(r.logs.length >= 2, 'JobPosted and DrawScheduled')
  const jobs = await rpc<{ jobId: Hex; status: string; session: Hex; sessions: Hex[] }[]>(n.httpUrl, 'pov_listJobs', [{ client: client.from }])
  t.equal(jobs.length, 1)
  t.equal(jobs[0]!.status, 'open', 'the worker is drawn a few blocks later, not in the posting block')
  const job = await waitFor(async () => {
    const j = await rpc<{ status: string; session: Hex; sessions: Hex[]; price: Hex }>(n.httpUrl, 'pov_getJob', [jobs[0]!.jobId])
    return j.status === 'running' ? j : undefined
  }, 'the market\'s draw (the dev miner seals the blocks it waits for)', 30_000)
  t.equal(job.status, 'running')
  t.same(job.sessions, [job.session])
  const s = await rpc<{ status: string; worker: Address; jobId: Hex; value: Hex; commitment: null }>(n.httpUrl, 'pov_getSession', [job.session])
  t.match(s, { status: 'assigned', jobId: jobs[0]!.jobId, value: job.price, commitment: null })
  t.ok([W1, W2].includes(s.worker), 'one of the registered workers')
  t.same(await rpc(n.httpUrl, 'pov_getReceipts', [s.worker]), [])
  t.equal(await rpc(n.httpUrl, 'pov_getJob', ['0x' + '11'.repeat(32)]), null)
  t.equal((await rpcRaw(n.httpUrl, 'pov_getJob', ['0x12'])).error?.code, -32602)

  const hash = await rpc<Hex>(n.httpUrl, 'pov_putBlob', ['0x68656c6c6f'])
  t.equal(hash, keccak256('0x68656c6c6f'))
  t.same(await rpc(n.httpUrl, 'pov_getBlob', [hash]), { total: 5, data: '0x68656c6c6f' })
  t.same(await rpc(n.httpUrl, 'pov_getBlob', [hash, 1, 2]), { total: 5, data: '0x656c' })
  t.equal(await rpc(n.httpUrl, 'pov_getBlob', ['0x' + '22'.repeat(32)]), null)
  t.equal((await rpcRaw(n.httpUrl, 'pov_putBlob', ['0x1'])).error?.code, -32602)
})
