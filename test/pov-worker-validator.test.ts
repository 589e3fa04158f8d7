/**
 * Proof of Value across real node processes: three genesis validators (each with a token
 * genesis weight and its genesis receipt), a fourth node that runs `--worker --validator` with
 * its own keystore identity, and a verifier process. A client's job is assigned to the fourth
 * node by the contract, verified over p2p by the verifier and accepted; the receipt credits the
 * worker weight; it bonds; two epoch transitions later it is the fourth validator, leads slots
 * by its weight, and seals blocks whose headers carry that job's id and session id — and the
 * four keep finalizing.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeFunctionData, getAddress, parseAbi, type Address, type Hex } from 'viem'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex } from '../common/bytes.js'
import { encodeJobSpec, jobSpecHash, parseJobSpecStructure, type JobSpec } from '../compute/spec/JobSpec.js'
import { bundledDatasets } from '../compute/data/BundledDatasets.js'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import type { GenesisFile } from '../genesis/GenesisConfig.js'
import { devValidatorSetConfig, povGenesisValidators, VALIDATOR_SET_ADDRESS, validatorSetGenesisEntry } from '../genesis/ValidatorSetGenesis.js'
import { devWorkMarketConfig, WORK_MARKET_ADDRESS, workMarketGenesisEntry } from '../genesis/WorkMarketGenesis.js'
import { computeUnits, workloadId } from '../market/client/JobEstimate.js'
import { RpcMarketChain } from '../market/client/RpcMarketChain.js'
import { encodeMarketCall, WorkMarketReader } from '../market/client/WorkMarketReader.js'
import { ROOT, rpc, waitFor } from './helpers/devnode.js'
import { processGroup } from './helpers/processGroup.js'
import { planMarketNet, startMarketNode, type MarketNode } from './helpers/marketnet.js'

const ETHER = 10n ** 18n
const CLIENT_KEY = deriveKeys(DEV_MNEMONIC, 2)[1]!
const iris = bundledDatasets().find((d) => d.name === 'iris')!
const bondAbi = parseAbi(['function bond() payable'])

interface RpcHeader {
  number: string
  producer: string
  jobId: string
  sessionId: string
}

t.test('a worker process earns weight from its job and becomes the fourth validator, sealing blocks that name it', async (t) => {
  const { dir, nodes } = processGroup<MarketNode>(t, 'povchain-worker-validator-')
  // The p2p ports are picked free before the processes start; a parallel test may take one in
  // between (EADDRINUSE): then the whole network is planned again on new ports.
  const setUp = async (attempt: number) => {
    const plan = await planMarketNet(join(dir, `try${attempt}`), ['v0', 'v1', 'v2', 'worker', 'verifier'], { slotSeconds: 2 })
    // Three genesis validators with a token weight (10^9 wei each: it decays, but stays above
    // zero for the test) and 4-slot epochs of 2 s slots (a silent leader's backup seals 1 s in),
    // so work that counts dominates the draw soon after it is earned.
    const g = JSON.parse(readFileSync(plan.genesis, 'utf8')) as GenesisFile
    const genesisValidators = ['v0', 'v1', 'v2'].map((n) => plan.members[n]!.address.toLowerCase() as Address)
    const pov = povGenesisValidators(genesisValidators.map((address) => ({ address, bond: 10n * ETHER, weight: 10n ** 9n })))
    const issuer = bytesToHex(privateKeyToAddress(deriveKeys(DEV_MNEMONIC, 20)[19]!)) as Address
    g.config.epochLength = 4
    g.config.producers = genesisValidators
    g.config.systemContracts = {
      ...g.config.systemContracts,
      WorkMarket: workMarketGenesisEntry(devWorkMarketConfig(issuer), 0n, pov.receipts, WORK_MARKET_ADDRESS),
      ValidatorSet: validatorSetGenesisEntry(devValidatorSetConfig(), pov.validators, 1000n * ETHER, VALIDATOR_SET_ADDRESS),
    }
    writeFileSync(plan.genesis, JSON.stringify(g, null, 2))

    const boot = [plan.members.v0!.multiaddr]
    const t0 = Date.now()
    // v0 first; the others join it (they sync its chain before they produce).
    const first = await startMarketNode(plan, 'v0')
    nodes.push(first)
    const started = [first, ...(await Promise.all([
      startMarketNode(plan, 'v1', { bootnodes: boot, args: ['--validator', plan.members.v1!.address] }).then((n) => (nodes.push(n), n)),
      startMarketNode(plan, 'v2', { bootnodes: boot, args: ['--validator', plan.members.v2!.address] }).then((n) => (nodes.push(n), n)),
      startMarketNode(plan, 'worker', { bootnodes: boot, worker: true, args: ['--validator', plan.members.worker!.address] }).then((n) => (nodes.push(n), n)),
    ]))]
    return { plan, started, boot, t0 }
  }
  let net: Awaited<ReturnType<typeof setUp>> | undefined
  for (let attempt = 0; !net; attempt++) {
    try {
      net = await setUp(attempt)
    } catch (e) {
      await Promise.all(nodes.splice(0).map((n) => n.stop()))
      if (attempt >= 2 || !/EADDRINUSE/.test((e as Error).message)) throw e
      t.comment(`a planned port was taken meanwhile; planning again (${(e as Error).message.slice(0, 80)}…)`)
    }
  }
  const { plan, started, boot, t0 } = net
  const [v0, , , worker] = started
  const url = v0!.httpUrl
  const W = worker!.member.address
  const market = new WorkMarketReader({ call: async (to, data) => rpc<Hex>(url, 'eth_call', [{ to, data }, 'latest']) })
  await waitFor(async () => (await market.worker(W)).registered, 'the worker registered', 90_000, 200)
  t.comment(`4 processes up, the worker registered in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  const before = await rpc<{ validators: { address: string }[] }>(url, 'pov_getValidators', [])
  t.equal(before.validators.length, 3, 'three genesis validators')

  // The client posts a job; the contract assigns the only registered worker; then a verifier joins.
  const spec: JobSpec = parseJobSpecStructure(JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')))
  const client = await RpcMarketChain.connect(url, { key: CLIENT_KEY })
  await rpc<Hex>(url, 'pov_putBlob', [bytesToHex(encodeJobSpec(spec))])
  const now = BigInt(Math.floor(Date.now() / 1000))
  const posted = await client.send(WORK_MARKET_ADDRESS, encodeMarketCall('postJob', [jobSpecHash(spec), workloadId(spec), now + 3600n, 300n, computeUnits(spec, { dataset: iris.bytes }), 1]), { value: ETHER / 10n }) // verifiable by the 2-coin dev bonds (16 × the price)
  const jobId = posted.logs[0]!.topics[1] as Hex
  // The verifier joins once the draw (4 blocks after the post) gave the job to the worker: a
  // verifier registered before it would be a second candidate for the job (drawn by bond × rating).
  await waitFor(async () => (await market.job(jobId))?.status === 'running', 'the job assigned to the worker', 60_000, 200)
  nodes.push(await startMarketNode(plan, 'verifier', { bootnodes: [...boot, worker!.member.multiaddr], worker: true }))
  const job = await waitFor(async () => {
    const j = await market.job(jobId)
    return j?.status === 'accepted' ? j : undefined
  }, 'the job accepted', 180_000, 200)
  const fins = await Promise.all(nodes.map(async (n) => `${n.member.name}: ${Number((await rpc<{ finalized: { number: string } }>(n.httpUrl, 'pov_getFinalized')).finalized.number)}`))
  t.comment(`finalized per node: ${fins.join(', ')}`)
  const session = (await market.session(job.session))!
  t.equal(getAddress(session.worker), getAddress(W), 'worked by the worker process, verified by the verifier process, accepted')
  const live = await rpc<{ live: string }>(url, 'pov_getWeight', [W])
  t.ok(BigInt(live.live) > 0n, `the receipt credited ${BigInt(live.live)} wei of weight`)

  // The worker bonds through its own node (its identity is unlocked there).
  const bondTx = await rpc<Hex>(worker!.httpUrl, 'eth_sendTransaction', [{ from: W, to: VALIDATOR_SET_ADDRESS, value: `0x${ETHER.toString(16)}`, data: encodeFunctionData({ abi: bondAbi, functionName: 'bond' }) }])
  const bonded = await waitFor(() => rpc<{ status: string; blockNumber: string } | null>(url, 'eth_getTransactionReceipt', [bondTx]), 'bond mined', 60_000, 200)
  t.equal(bonded.status, '0x1', 'bonded')
  const set = await waitFor(async () => {
    const s = await rpc<{ epoch: string; validators: { address: string }[] }>(url, 'pov_getValidators', [])
    return s.validators.some((v) => getAddress(v.address) === getAddress(W)) ? s : undefined
  }, 'the worker in the validator set', 90_000, 250)
  t.equal(set.validators.length, 4, `four validators from epoch ${BigInt(set.epoch)}`)

  const own = await waitFor(async () => {
    const head = Number(await rpc<string>(url, 'eth_blockNumber'))
    for (let n = Number(bonded.blockNumber); n <= head; n++) {
      const h = await rpc<RpcHeader>(url, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false])
      if (getAddress(h.producer) === getAddress(W)) return h
    }
    return undefined
  }, 'a block sealed by the worker process', 90_000, 500)
  t.equal(own.jobId, jobId, `block ${Number(own.number)} carries the worker's job id`)
  t.equal(own.sessionId, job.session, 'and its session id')
  await waitFor(async () => BigInt((await rpc<{ finalized: { number: string } }>(url, 'pov_getFinalized')).finalized.number) >= BigInt(own.number), 'that block finalized', 60_000, 250)
  const views = await Promise.all(nodes.map((n) => waitFor(() => rpc<RpcHeader | null>(n.httpUrl, 'eth_getBlockByNumber', [own.number, false]), `block ${Number(own.number)} on ${n.member.name}`, 30_000, 250)))
  t.ok(views.every((h) => h.sessionId === job.session), 'every process has the block on its chain')
  t.comment(`job → validator → own block finalized in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
})
