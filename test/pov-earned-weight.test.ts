/**
 * Proof of Value from work to blocks, with real processes: a `--dev --worker` node (embedded
 * runtime) whose genesis validator (account #0) has a token genesis weight. A client job runs,
 * is verified and accepted; the worker's receipt credits it weight (the protocol's fee share);
 * it bonds in the ValidatorSet; two epoch transitions later it is in the validator set, leads
 * slots by its weight, and seals blocks whose headers carry that job's id and session id.
 */
import t from 'tap'
import { join } from 'node:path'
import { encodeFunctionData, parseAbi, type Address, type Hex } from 'viem'
import { VALIDATOR_SET_ADDRESS } from '../genesis/ValidatorSetGenesis.js'
import { ROOT, rpc, tempDir, waitFor } from './helpers/devnode.js'
import { cliJson } from './helpers/cliJson.js'
import { startEarnedWeightNode } from './helpers/earnedWeightGenesis.js'

const SPEC = join(ROOT, 'compute/examples/iris-train.json')
const ETHER = 10n ** 18n
const bondAbi = parseAbi(['function bond() payable'])

interface RpcHeader {
  number: string
  producer: string
  jobId: string
  sessionId: string
}

t.test('a worker earns weight from a verified job and then produces blocks naming it', async (t) => {
  const { dir, cleanup } = tempDir('povchain-earned-')
  t.teardown(cleanup)
  // The dev chain with 4-slot epochs and a genesis validator whose weight is a token 1 wei, so
  // that real work dominates the draw as soon as it counts.
  const node = await startEarnedWeightNode(dir)
  t.teardown(() => node.stop())
  const url = node.httpUrl

  const t0 = Date.now()
  const sub = (await cliJson(['job', 'submit', SPEC, '--rpc', url, '--wait', '--timeout', '240'], 300_000)) as { job: { jobId: Hex; session: Hex; status: string; currentSession: { worker: Address } } }
  t.equal(sub.job.status, 'accepted', `job accepted in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  const worker = sub.job.currentSession.worker.toLowerCase()
  const weight = await rpc<{ live: string }>(url, 'pov_getWeight', [worker])
  t.ok(BigInt(weight.live) > 0n, `the receipt credited the worker ${BigInt(weight.live)} wei of weight (the protocol's fee share)`)

  // The worker bonds (dev accounts are unlocked) and waits for the lagged snapshot.
  const bondTx = await rpc<Hex>(url, 'eth_sendTransaction', [{ from: worker, to: VALIDATOR_SET_ADDRESS, value: `0x${ETHER.toString(16)}`, data: encodeFunctionData({ abi: bondAbi, functionName: 'bond' }) }])
  const bondReceipt = await waitFor(() => rpc<{ status: string; blockNumber: string } | null>(url, 'eth_getTransactionReceipt', [bondTx]), 'bond receipt', 30_000, 200)
  t.equal(bondReceipt.status, '0x1', 'bonded')
  const joined = Date.now()
  const set = await waitFor(
    async () => {
      const s = await rpc<{ epoch: string; validators: { address: string; weight: string }[] }>(url, 'pov_getValidators', [])
      return s.validators.some((v) => v.address.toLowerCase() === worker) ? s : false
    },
    'the worker in the validator set',
    60_000,
    250,
  )
  t.pass(`the worker entered the set of epoch ${BigInt(set.epoch)} after ${((Date.now() - joined) / 1000).toFixed(1)} s (${set.validators.length} validators)`)

  // Its blocks name its receipt.
  const from = Number(bondReceipt.blockNumber)
  const own = await waitFor(
    async () => {
      const head = Number(await rpc<string>(url, 'eth_blockNumber'))
      for (let n = from; n <= head; n++) {
        const h = await rpc<RpcHeader>(url, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false])
        if (h.producer.toLowerCase() === worker) return h
      }
      return false
    },
    'a block sealed by the worker',
    60_000,
    500,
  )
  t.equal(own.jobId, sub.job.jobId, `block ${Number(own.number)} carries the job id of the work`)
  t.equal(own.sessionId, sub.job.session, 'and its session id')
  const trace = await rpc<{ work: { receipt: { worker: string; accepted: boolean; genesis: boolean; value: string } }; weight: { share: number } }>(url, 'pov_getBlockWork', [own.number])
  t.match(trace.work.receipt, { accepted: true, genesis: false }, 'pov_getBlockWork traces the block to the accepted receipt')
  t.ok(trace.weight.share > 0.5, `the worker holds ${(trace.weight.share * 100).toFixed(2)} % of the epoch's weight`)
  const fin = await rpc<{ finalized: { number: string } }>(url, 'pov_getFinalized')
  await waitFor(async () => BigInt((await rpc<{ finalized: { number: string } }>(url, 'pov_getFinalized')).finalized.number) >= BigInt(own.number), 'the worker’s block finalized', 30_000, 250)
  t.pass(`finality goes on with the new validator's votes (finalized ≥ ${Number(own.number)}; was ${Number(fin.finalized.number)})`)
})
