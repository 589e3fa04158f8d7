/**
 * Cheating against the work market on a real dev node (in-process, real LevelDB, real EVM),
 * with the node's own worker code: a worker that fakes a segment, one that skips work, one
 * that answers a control task wrongly — each rejected, its bond cut and its rating lowered;
 * a verifier that votes without checking, caught by a control task's known answer and by a
 * hidden trap of the issuer's own worker identity — each disputed by its accept and confirmed
 * by a fresh panel (a third identity, C); a job nobody takes, refunded; a worker restarted
 * mid-job, resuming. After each test every balance is replayed from the chain and adds up to
 * the wei.
 *
 * Workers are started one identity at a time so that the cheater is the only one the contract
 * can draw for the first session; the verifier registers after it.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { parseEther, type Address, type Hex } from 'viem'
import { silentLogger } from '../common/logger.js'
import { noopMetrics } from '../common/metrics.js'
import { encodeJobSpec, jobSpecHash, type JobSpec } from '../compute/spec/JobSpec.js'
import { BlobStore } from '../compute/worker/BlobStore.js'
import { bundledDatasets } from '../compute/data/BundledDatasets.js'
import { WORK_MARKET_ADDRESS } from '../genesis/WorkMarketGenesis.js'
import { computeUnits, workloadId } from '../market/client/JobEstimate.js'
import { RpcMarketChain } from '../market/client/RpcMarketChain.js'
import { encodeMarketCall, WorkMarketReader } from '../market/client/WorkMarketReader.js'
import { WorkerService, type WorkerConfig } from '../market/worker/WorkerService.js'
import { rpc, startInProcessNode, waitFor, type InProcessNode } from './helpers/devnode.js'
import { checkLedger } from './workmarket-ledger.js'

const A: Address = '0xdD2FD4581271e230360230F9337D5c0430Bf44C0' // dev #18
const B: Address = '0xbDA5747bFD65F08deb54cb465eB87D40e51B197E' // dev #17
const ISSUER: Address = '0x8626f6940E2eb28930eFb4CeF49B2d1F2C9C1199' // dev #19
const C: Address = '0x2546BcD3c84621e976D8185a91A922aE77ECEc30' // dev #16: the panel of a disputed answer
/** The issuer's client identity (dev #10): posts its control tasks like any client. */
const CONTROL_CLIENT: Address = '0xBcd4042DE499D14e55001CcbB24a551F3b954096'
const ISSUER_OPTIONS = { intervalMs: 0, fundTopUp: parseEther('10'), pollMs: 200, clients: [CONTROL_CLIENT] }
/** The client: dev #1 (not #0, the producer, whose balance also collects the tips). */
const CLIENT: Address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const ETHER = 10n ** 18n
/** What a client job pays here: verifiable by the dev bonds, also once halved (a verifier's free bond ≥ 16 × the price: 0.8 coin). */
const PRICE = ETHER / 20n
const iris = bundledDatasets().find((d) => d.name === 'iris')!

/** Iris, 20 epochs: 160 steps, 11 checkpoints; every segment is re-executed, so any forgery is found. */
function strictSpec(seed: number): JobSpec {
  return {
    version: 1,
    kind: 'train',
    runtime: { type: 'embedded' },
    workload: { id: 'mlp-train', version: 1 },
    dataset: iris.hash,
    params: { layers: [8], activation: 'relu', epochs: 20, batchSize: 16, optimizer: { type: 'adam', learningRate: 0.01 }, testFraction: 0.2 },
    seed,
    checkpointInterval: 16,
    verification: { mode: 'reexecution', samples: 10, verifiers: 1 },
    resources: { cpus: 1, memoryMb: 256, gpus: 0, timeoutSec: 120 },
  }
}

async function startWorkers(n: InProcessNode, accounts: Address[], extra: Partial<WorkerConfig> = {}): Promise<WorkerService> {
  const svc = new WorkerService(
    { accounts, runtime: 'embedded', bond: parseEther('2'), slots: 1, capacity: 100n, pollMs: 100, ...extra },
    { backend: n.node.backend, blobs: new BlobStore({ dir: join(n.datadir, 'compute') }), datadir: n.datadir, endpoint: n.httpUrl, logger: silentLogger, metrics: noopMetrics },
  )
  await svc.start()
  return svc
}

async function submit(n: InProcessNode, spec: JobSpec, opts: { deadline?: bigint; maxDuration?: bigint; price?: bigint } = {}): Promise<Hex> {
  const client = await RpcMarketChain.connect(n.httpUrl, { from: CLIENT })
  await rpc(n.httpUrl, 'pov_putBlob', [`0x${Buffer.from(encodeJobSpec(spec)).toString('hex')}`])
  const now = BigInt(Math.floor(Date.now() / 1000))
  const r = await client.send(
    WORK_MARKET_ADDRESS,
    encodeMarketCall('postJob', [jobSpecHash(spec), workloadId(spec), now + (opts.deadline ?? 3600n), opts.maxDuration ?? 300n, computeUnits(spec, { dataset: iris.bytes }), 1]),
    { value: opts.price ?? PRICE },
  )
  return r.logs[0]!.topics[1] as Hex
}

async function setup(t: Test) {
  const n = await startInProcessNode()
  const market = new WorkMarketReader({ call: async (to, data) => rpc<Hex>(n.httpUrl, 'eth_call', [{ to, data }, 'latest']) })
  const services: WorkerService[] = []
  t.teardown(async () => {
    for (const s of services) await s.stop()
    await n.stop()
  })
  const books = async () => {
    const l = await checkLedger(n.httpUrl)
    t.same(l.mismatches, [], `balances add up to the wei (${l.transactions} transactions, ${l.accounts} accounts)`)
  }
  const workers = async (accounts: Address[], extra: Partial<WorkerConfig> = {}) => {
    const s = await startWorkers(n, accounts, extra)
    services.push(s)
    return s
  }
  const session = async (jobId: Hex, index: number) => {
    const ids = await market.sessionsOfJob(jobId)
    return ids[index] ? market.session(ids[index]!) : undefined
  }
  /**
   * Round 0 is `verifier` alone and the panel that re-executes a disputed answer is C alone —
   * deterministically, whatever the load. `verifier` is registered by one transaction (the
   * worker's service then asks for a draw, which finds only it), but its node is started only
   * once it is drawn; C registers after that draw (so it is no candidate of round 0) and before
   * `verifier`'s node runs (so before round 0 can have a vote, let alone be decided). Before, C
   * was registered after the draw was seen, racing round 0's re-execution, reveal and OPEN_GRACE;
   * it lost under load.
   */
  const panelAfterRound0 = async (jobId: Hex, verifier: Address, extra: Partial<WorkerConfig>) => {
    const register = async (from: Address) =>
      (await RpcMarketChain.connect(n.httpUrl, { from })).send(WORK_MARKET_ADDRESS, encodeMarketCall('register', [100n, 1, n.httpUrl]), { value: parseEther('2') })
    await register(verifier)
    const drawn = await waitFor(async () => {
      const s = await session(jobId, 0)
      return s && s.verifiers.length > 0 ? s : undefined
    }, 'round 0\'s verifier', 60_000)
    t.same(drawn.verifiers, [verifier], 'round 0: the one candidate, drawn')
    const r = await register(C)
    const s = await session(jobId, 0)
    t.match(s, { round: 0, status: 'committed' }, `C registered (block ${r.blockNumber}) after round 0's draw, before its verifier's node runs`)
    // The nodes (each service finds its identity registered).
    await workers([verifier], extra)
    await workers([C])
  }
  return { n, market, workers, books, session, panelAfterRound0 }
}

for (const cheat of ['fake-segment', 'skip-work'] as const) {
  t.test(`a worker that ${cheat === 'fake-segment' ? 'fakes a segment' : 'skips work'} is rejected, loses half its bond and rating; the job is redone and paid`, async (t) => {
    const { n, market, workers, books, session } = await setup(t)
    await workers([A], { behaviour: { [A.toLowerCase()]: { cheat } } })
    const jobId = await submit(n, strictSpec(cheat === 'fake-segment' ? 7 : 8))
    await waitFor(async () => (await session(jobId, 0))?.status === 'committed', 'the cheater to commit', 60_000)
    await workers([B])
    const s1 = await waitFor(async () => {
      const s = await session(jobId, 0)
      return s?.status === 'rejected' ? s : undefined
    }, 'the forged session to be rejected', 60_000)
    t.equal(s1.worker, A)
    const a = await market.worker(A)
    t.equal(a.bond, ETHER, 'half of the 2-coin bond is cut')
    t.ok(a.rating <= 250, `rating ${a.rating} ≤ 250`)
    t.equal(a.failures, 1)
    t.equal((await market.receipt(s1.sessionId))?.status, 'rejected')
    const job = await waitFor(async () => {
      const j = await market.job(jobId)
      return j?.status === 'accepted' ? j : undefined
    }, 'the job redone by the honest worker and accepted', 90_000)
    const s2 = (await market.session(job.session))!
    t.equal(s2.worker, B, 'reassigned to the other worker')
    t.match(await market.receipt(s2.sessionId), { status: 'accepted', value: PRICE, worker: B })
    t.equal((await market.worker(A)).verifications, 1, 'the cheater, still bonded, verified the honest redo')
    await books()
  })
}

t.test('a wrong control-task answer is rejected over a lazy verifier, who is faulted too', async (t) => {
  const { market, workers, books, session, panelAfterRound0 } = await setup(t)
  const svc = await workers([A], { behaviour: { [A.toLowerCase()]: { cheat: 'wrong-result' } }, issuer: ISSUER, issuerOptions: ISSUER_OPTIONS })
  const jobId = await svc.issuer!.postControlTask()
  t.match(await market.job(jobId), { control: false, client: CONTROL_CLIENT }, 'posted by a client identity; nothing marks it before it is opened')
  await waitFor(async () => (await session(jobId, 0))?.status === 'committed', 'the worker to commit', 60_000)
  await panelAfterRound0(jobId, B, { behaviour: { [B.toLowerCase()]: { lazyVerifier: true } } })
  const s1 = await waitFor(async () => {
    const s = await session(jobId, 0)
    return s?.status === 'rejected' ? s : undefined
  }, 'the control session to be rejected', 90_000)
  t.equal((await market.job(jobId))?.control, true, 'opened by its client after the votes')
  t.same(s1.previous, [B], 'the lazy verifier accepted in round 0: disputed, the answer went to a panel')
  t.same(s1.verifiers, [C], 'which re-executed and confirmed it')
  const a = await market.worker(A)
  t.equal(a.controlsFailed, 1)
  t.equal(a.rating, 100, 'a wrong control answer takes the rating to the floor, a fresh identity\'s (RATING_ENTRY)')
  t.equal(a.bond, ETHER)
  const b = await market.worker(B)
  t.equal(b.verifierFaults, 1, 'the lazy verifier is faulted by the known answer')
  t.equal(b.bond, ETHER, 'and loses slashBps of its bond, as the worker of the wrong result does')
  await books()
})

t.test('a hidden trap of the issuer\'s identity catches a lazy verifier; the trap costs its worker nothing and the client only a redo', async (t) => {
  const { n, market, workers, books, session, panelAfterRound0 } = await setup(t)
  // A is one of the issuer's ordinary identities: every client session it gets becomes a hidden trap.
  await workers([A], { issuer: ISSUER, issuerOptions: ISSUER_OPTIONS, trapRate: 1 })
  const jobId = await submit(n, strictSpec(21))
  const committed = await waitFor(async () => {
    const s = await session(jobId, 0)
    return s?.status === 'committed' ? s : undefined
  }, 'the trap to be committed', 60_000)
  t.equal(committed.trap, false, 'committed like any session: nothing marks it')
  t.equal((await market.job(jobId))?.control, false, 'a client\'s job')
  await panelAfterRound0(jobId, B, { behaviour: { [B.toLowerCase()]: { lazyVerifier: true } } })
  const s1 = await waitFor(async () => {
    const s = await session(jobId, 0)
    return s?.status === 'rejected' ? s : undefined
  }, 'the trap to be opened and finalised', 90_000)
  t.equal(s1.trap, true, 'opened by the issuer after the vote')
  t.same([s1.previous, s1.verifiers], [[B], [C]], 'the lazy accept disputed it; C\'s panel confirmed it')
  t.match(await market.worker(B), { verifierFaults: 1, bond: ETHER }, 'and lost half its bond')
  t.match(await market.worker(A), { bond: 2n * ETHER, failures: 0 }, 'the issuer\'s identity is not slashed')
  const job = await waitFor(async () => {
    const j = await market.job(jobId)
    return j?.status === 'accepted' ? j : undefined
  }, 'the job redone by the other worker and accepted', 90_000)
  t.not((await market.session(job.session))?.worker, A, 'by another worker')
  await books()
})

t.test('a job nobody takes is refunded once its deadline cannot be met', async (t) => {
  const { n, market, books } = await setup(t)
  const jobId = await submit(n, strictSpec(11), { deadline: 13n, maxDuration: 10n, price: ETHER / 2n })
  t.equal((await market.job(jobId))?.status, 'open')
  const client = await RpcMarketChain.connect(n.httpUrl, { from: CLIENT })
  await t.rejects(client.send(WORK_MARKET_ADDRESS, encodeMarketCall('refund', [jobId])), /NotExpired/, 'not while it can still be done')
  await new Promise((r) => setTimeout(r, 4000))
  const before = await client.balance()
  const r = await client.send(WORK_MARKET_ADDRESS, encodeMarketCall('refund', [jobId]))
  t.equal((await market.job(jobId))?.status, 'refunded')
  const receipt = await rpc<{ gasUsed: Hex; effectiveGasPrice: Hex }>(n.httpUrl, 'eth_getTransactionReceipt', [r.hash])
  t.equal(await client.balance(), before + ETHER / 2n - BigInt(receipt.gasUsed) * BigInt(receipt.effectiveGasPrice), 'the escrow came back whole')
  await books()
})

t.test('a worker restarted mid-job runs its session again and commits; the job is accepted', async (t) => {
  const { n, market, workers, books, session } = await setup(t)
  const first = await workers([A])
  const spec = { ...strictSpec(12), params: { ...strictSpec(12).params, epochs: 200 } }
  const jobId = await submit(n, spec)
  await waitFor(async () => (await session(jobId, 0))?.status === 'assigned', 'assignment', 30_000)
  await new Promise((r) => setTimeout(r, 300))
  await first.stop() // mid-run: the session is still only assigned
  t.equal((await session(jobId, 0))?.status, 'assigned')
  await workers([A])
  await workers([B])
  const job = await waitFor(async () => {
    const j = await market.job(jobId)
    return j?.status === 'accepted' ? j : undefined
  }, 'acceptance after the restart', 120_000)
  t.equal((await market.session(job.session))?.worker, A, 'the same session, resumed')
  t.equal(job.attempts, 1)
  await books()
})
