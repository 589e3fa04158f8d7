/**
 * GPU needs in assignment (WorkMarketWorkers.setGpus, the `needs` GPU fields), without a GPU: the
 * workers announce synthetic capacities to the real contract (genesis harness), a job's needs come
 * from its spec by the client's own encoding (jobNeeds), and:
 *  - the protocol's draw never gives a GPU job to a worker with too few GPUs or too little memory
 *    on them, over many draws (different randomness each);
 *  - `job submit`'s check (capableWorkers, read from the same contract) refuses a job nobody fits
 *    and says why for each worker ("too little GPU memory", "too few GPUs", "announced no GPU");
 *  - jobNeeds refuses what the contract cannot carry.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Address, Hex } from 'viem'
import { keccak256, toHex } from 'viem'
import { parseJobSpecStructure, type JobSpec } from '../../compute/spec/JobSpec.js'
import { addr, ETHER, MarketHarness } from '../../genesis/test/workmarketHarness.js'
import { describeOffers, gpuNeeds, jobNeeds, OFFERS } from '../../market/client/JobEstimate.js'
import { WorkMarketReader } from '../../market/client/WorkMarketReader.js'
import { capableWorkers } from '../jobCommands.js'

const ROOT = join(import.meta.dirname, '..', '..')
const CLIENT = addr(100)
const SPEC = keccak256(toHex('gpu-spec'))
const ZERO = `0x${'00'.repeat(32)}` as Hex

function gpuSpec(gpus: number, gpuMemoryMb?: number): JobSpec {
  const iris = parseJobSpecStructure(JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')))
  return {
    ...iris,
    runtime: { type: 'docker', image: `sha256:${'ab'.repeat(32)}` },
    verification: { mode: 'redundant', redundancy: 2, quorum: 2 },
    resources: { ...iris.resources, gpus, ...(gpuMemoryMb ? { gpuMemoryMb } : {}) },
  }
}

t.test('a GPU job is drawn only among workers whose announced GPUs meet its count and memory', async (t) => {
  const h = await MarketHarness.deploy()
  // small: 1 × 8 GiB; big: 2 × 24 GiB; mid: 1 × 24 GiB; cpu: Docker, no GPU; liar: offers the GPU bit, announced none.
  const fleet: Record<string, { a: Address; offers: number; gpus?: [number, number] }> = {
    small: { a: addr(1), offers: OFFERS.docker | OFFERS.gpu, gpus: [1, 8192] },
    big: { a: addr(2), offers: OFFERS.docker | OFFERS.gpu, gpus: [2, 24576] },
    mid: { a: addr(3), offers: OFFERS.docker | OFFERS.gpu, gpus: [1, 24576] },
    cpu: { a: addr(4), offers: OFFERS.docker },
    liar: { a: addr(5), offers: OFFERS.docker | OFFERS.gpu },
  }
  for (const w of Object.values(fleet)) {
    await h.give(w.a, 10n * ETHER)
    await h.must(w.a, 'register', [100n, 4, ''], 2n * ETHER)
    await h.must(w.a, 'setOffers', [w.offers])
    if (w.gpus) await h.must(w.a, 'setGpus', w.gpus)
  }
  t.same(await h.read('gpusOf', [fleet.big!.a]), [2, 24576], 'the announcement is on chain')
  t.equal((await h.tx(addr(99), 'setGpus', [1, 1])).error, 'NotRegistered')
  const market = new WorkMarketReader({ call: (_to, data) => h.call(data) })

  const needs16 = jobNeeds(gpuSpec(1, 16384))
  t.same(gpuNeeds(needs16), { count: 1, memoryMb: 16384 }, 'the spec\'s GPU needs travel in `needs`')
  t.equal(describeOffers(needs16), 'docker + gpu (1 GPU of ≥ 16384 MiB)')
  await h.give(CLIENT, 100n * ETHER)
  const drawn = new Set<string>()
  for (let i = 0; i < 12; i++) {
    const r = await h.must(CLIENT, 'postReplicatedJob', [SPEC, SPEC, h.timestamp + 100_000n, 600n, 10n, needs16, 1, 2, 0n, ZERO, ZERO], 2n * ETHER)
    const jobId = MarketHarness.event(r, 'JobPosted').jobId as Hex
    await h.mine()
    const { sessions } = await market.replicas(jobId)
    t.equal(sessions.length, 2, `job ${i}: two workers drawn`)
    for (const s of sessions) {
      const w = (await market.session(s))!.worker
      drawn.add(w)
      // Free the slot for the next job: the replica releases it (no bond cut).
      await h.must(w, 'releaseReplica', [s])
    }
  }
  t.same([...drawn].sort(), [fleet.big!.a, fleet.mid!.a].sort(), '1 × 16 GiB: only big and mid, over 12 draws — never small (8 GiB), cpu or liar')

  const needs2x16 = jobNeeds(gpuSpec(2, 16384))
  const r2 = await h.must(CLIENT, 'postReplicatedJob', [SPEC, SPEC, h.timestamp + 100_000n, 600n, 10n, needs2x16, 1, 2, 0n, ZERO, ZERO], 2n * ETHER)
  await h.mine()
  t.equal((await market.replicas(MarketHarness.event(r2, 'JobPosted').jobId as Hex)).sessions.length, 0, '2 × 16 GiB with k = 2: one worker fits, nobody is drawn')
  t.equal((await h.tx(CLIENT, 'assign', [MarketHarness.event(r2, 'JobPosted').jobId])).error, 'NoWorkerAvailable')

  // `job submit`'s check, against the same contract: it refuses before paying and says why.
  await t.rejects(capableWorkers(market, needs2x16, { count: 2, client: CLIENT }), { code: 'JOB_NO_WORKER', message: /only 1 registered worker offers what the spec needs \(docker \+ gpu \(2 GPUs of ≥ 16384 MiB\)\)/ })
  const e = await capableWorkers(market, jobNeeds(gpuSpec(1, 32768)), { count: 1, client: CLIENT }).catch((x: Error) => x)
  t.match((e as Error).message, new RegExp(`${fleet.small!.a} \\(docker \\+ gpu, 1 GPU of 8192 MiB: too little GPU memory\\)`), 'small: too little memory')
  t.match((e as Error).message, new RegExp(`${fleet.big!.a} \\(docker \\+ gpu, 2 GPUs of 24576 MiB: too little GPU memory\\)`), 'big: too little for 32 GiB')
  t.match((e as Error).message, new RegExp(`${fleet.cpu!.a} \\(docker, announced no GPU\\)`), 'cpu: no GPU')
  t.match((e as Error).message, new RegExp(`${fleet.liar!.a} \\(docker \\+ gpu, announced no GPU\\)`), 'the GPU bit without an announcement is not enough')
  const e3 = await capableWorkers(market, jobNeeds(gpuSpec(3)), { count: 1, client: CLIENT }).catch((x: Error) => x)
  t.match((e3 as Error).message, /2 GPUs of 24576 MiB: too few GPUs/)
  t.same((await capableWorkers(market, needs16, { count: 2, client: CLIENT })).sort(), [fleet.big!.a, fleet.mid!.a].sort(), 'and lists who fits')

  t.throws(() => jobNeeds(gpuSpec(16)), { code: 'JOB_GPU' }, 'more GPUs than `needs` carries')
  t.throws(() => jobNeeds(gpuSpec(1, 2_000_000)), { code: 'JOB_GPU' })
})
