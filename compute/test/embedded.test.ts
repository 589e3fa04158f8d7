import t from 'tap'
import fc from 'fast-check'
import { executeJob } from '../execution/JobExecution.js'
import { EmbeddedRuntime } from '../runtime/EmbeddedRuntime.js'
import { blobsSpec, irisBytes, irisSpec } from './helpers.js'

t.test('worker threads give the inline hashes, whatever the thread count', async (t) => {
  const specs = [irisSpec({ seed: 11 }), irisSpec({ seed: 12, params: { layers: [4, 4] } }), blobsSpec({ seed: 13 }), irisSpec({ seed: 14, checkpointInterval: 3 })]
  const inputsOf = (s: (typeof specs)[number]) => (s.kind === 'train' ? { dataset: irisBytes } : {})
  const expected = specs.map((s) => executeJob(s, inputsOf(s)).commitment.commitment)
  for (const threads of [1, 2, 4]) {
    const rt = new EmbeddedRuntime({ threads })
    const got = await Promise.all(specs.map((s) => rt.run({ spec: s, inputs: inputsOf(s) })))
    t.same(got.map((r) => r.commitment.commitment), expected, `${threads} thread(s)`)
    t.same(got[0]!.checkpoints.map((c) => c.hash), executeJob(specs[0]!, inputsOf(specs[0]!)).checkpoints.map((c) => c.hash))
  }
})

t.test('property: random small jobs agree between inline and worker thread', async (t) => {
  const rt = new EmbeddedRuntime({ threads: 2 })
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: 1e6 }), fc.integer({ min: 1, max: 9 }), async (seed, k) => {
      const spec = irisSpec({ seed, checkpointInterval: k, params: { epochs: 2 } })
      const r = await rt.run({ spec, inputs: { dataset: irisBytes } })
      return r.commitment.commitment === executeJob(spec, { dataset: irisBytes }).commitment.commitment
    }),
    { numRuns: 4 },
  )
  t.pass()
})

t.test('progress is reported with step, total and loss', async (t) => {
  const seen: number[] = []
  const r = await new EmbeddedRuntime().run({ spec: irisSpec(), inputs: { dataset: irisBytes }, onProgress: (p) => seen.push(p.step) })
  t.ok(seen.length >= 1)
  t.equal(seen[seen.length - 1], r.totalSteps)
})

t.test('a job past its deadline is killed and reported', async (t) => {
  const long = irisSpec({ params: { epochs: 200000 }, resources: { cpus: 1, memoryMb: 256, gpus: 0, timeoutSec: 1 } })
  const t0 = Date.now()
  await t.rejects(new EmbeddedRuntime().run({ spec: long, inputs: { dataset: irisBytes } }), { code: 'COMPUTE_DEADLINE' })
  t.ok(Date.now() - t0 < 5000, 'killed promptly')
  const past = irisSpec({ deadline: Math.floor(Date.now() / 1000) - 10 })
  await t.rejects(new EmbeddedRuntime().run({ spec: past, inputs: { dataset: irisBytes } }), { code: 'COMPUTE_DEADLINE' })
})

t.test('cancellation stops the worker', async (t) => {
  const long = irisSpec({ params: { epochs: 200000 } })
  const ac = new AbortController()
  setTimeout(() => ac.abort(), 300)
  await t.rejects(new EmbeddedRuntime().run({ spec: long, inputs: { dataset: irisBytes }, signal: ac.signal }), { code: 'COMPUTE_CANCELLED' })
})

t.test('the memory limit is enforced', async (t) => {
  // A 300k × 16 synthetic dataset (as JS arrays) does not fit in 32 MiB of heap.
  const big = blobsSpec({ params: { samples: 300_000, features: 16, chunk: 300_000 }, resources: { cpus: 1, memoryMb: 32, gpus: 0, timeoutSec: 60 } })
  await t.rejects(new EmbeddedRuntime().run({ spec: big, inputs: {} }), { code: 'COMPUTE_OUT_OF_MEMORY' })
})

t.test('workload errors in the thread come back as typed errors', async (t) => {
  await t.rejects(new EmbeddedRuntime().run({ spec: irisSpec(), inputs: { dataset: new Uint8Array([1, 2]) } }), { code: 'COMPUTE_INVALID_DATASET' })
})
