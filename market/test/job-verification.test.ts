/**
 * What the client and the worker send the contract for a spec's verification mode and a
 * worker's images: the mode numbers, k, epsilon in nano-units, the pinned image digest, and the
 * digests an engine's images announce (the same encoding the contract compares, so a job pinning
 * an image is drawn for the workers that hold it).
 */
import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseJobSpecStructure, type JobSpec } from '../../compute/spec/JobSpec.js'
import { imageDigest, jobVerification, MODE, toNano } from '../client/JobVerification.js'
import { imageDigests } from '../worker/ImageInventory.js'
import { bundledDatasetBytes } from '../../compute/data/BundledDatasets.js'
import { samplesDue } from '../../compute/verify/SamplingPolicy.js'
import { describeVerificationCost, verificationCost } from '../client/JobEstimate.js'

const ROOT = join(import.meta.dirname, '..', '..')
const iris = (): JobSpec => parseJobSpecStructure(JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')))
const HEX = 'ab'.repeat(32)

t.test('a spec becomes the contract mode, k, epsilon and image', async (t) => {
  t.same(jobVerification(iris()), { mode: MODE.reexecution, replicas: 1, epsilon: 0n, image: `0x${'00'.repeat(32)}`, metric: `0x${'00'.repeat(32)}` })
  const docker = { ...iris(), runtime: { type: 'docker' as const, image: `registry.local/train@sha256:${HEX}` } }
  t.throws(() => jobVerification(docker), { code: 'JOB_MODE' }, 'a container job cannot be re-executed')
  t.same(jobVerification({ ...docker, verification: { mode: 'redundant', redundancy: 3, quorum: 2 } }), { mode: MODE.redundant, replicas: 3, epsilon: 0n, image: `0x${HEX}`, metric: `0x${'00'.repeat(32)}` })
  t.same(jobVerification({ ...docker, verification: { mode: 'tolerance', redundancy: 2, metric: 'testLoss', epsilon: 0.01 } }), {
    mode: MODE.tolerance,
    replicas: 2,
    epsilon: 10_000_000n,
    image: `0x${HEX}`,
    metric: `0x${Buffer.from('testLoss').toString('hex').padEnd(64, '0')}`,
  })
  t.throws(() => jobVerification({ ...docker, verification: { mode: 'tolerance', redundancy: 2, metric: 'm'.repeat(33), epsilon: 0.01 } }), { code: 'JOB_METRIC' }, 'a metric name the contract cannot key')
  t.throws(() => jobVerification({ ...docker, verification: { mode: 'tolerance', redundancy: 1, metric: 'testLoss', epsilon: 0.01 } }), { code: 'JOB_MODE' }, 'k ≥ 2')
  t.throws(() => jobVerification({ ...docker, verification: { mode: 'redundant', redundancy: 5, quorum: 3 } }), { code: 'JOB_MODE' }, 'k ≤ 4')
  t.equal(imageDigest({ ...iris(), runtime: { type: 'docker', image: `sha256:${HEX}` } }), `0x${HEX}`, 'an image id pins the same digest form')
})

t.test('toNano: metrics keep their order and their distances within a nano-unit', async (t) => {
  fc.assert(
    fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: -1e6, max: 1e6, noNaN: true }), (a, b) => {
      const [na, nb] = [toNano(a), toNano(b)]
      if (a < b && na > nb) return false
      return Math.abs(Number(na - nb) / 1e9 - (a - b)) <= 1e-9 + Math.abs(a - b) * 1e-12
    }),
    { seed: 13, numRuns: 500 },
  )
  t.throws(() => toNano(Number.NaN), { code: 'JOB_METRIC' })
  t.throws(() => toNano(Number.POSITIVE_INFINITY), { code: 'JOB_METRIC' })
})

t.test('imageDigests: the built-in image first, then the newest, ids and repo digests, deduplicated and capped', async (t) => {
  const d = (n: number) => n.toString(16).padStart(64, '0')
  const engine = {
    listImages: async () => [
      { Id: `sha256:${d(1)}`, RepoDigests: [`reg/a@sha256:${d(2)}`], Created: 10 },
      { Id: `sha256:${d(3)}`, RepoDigests: null, Created: 30 },
      { Id: `sha256:${d(4)}`, Created: 20 },
      { Id: 'not-a-digest', RepoDigests: ['reg/b:latest'], Created: 40 },
    ],
  }
  t.same(await imageDigests(engine, { first: `sha256:${d(4)}` }), [d(4), d(3), d(1), d(2)].map((h) => `0x${h}`))
  t.same(await imageDigests(engine, { max: 2 }), [d(3), d(4)].map((h) => `0x${h}`))
})

t.test('verificationCost: what the per-session bound costs a spec (job estimate / job submit), and the segment limit as a typed error', async (t) => {
  const inputs = { dataset: bundledDatasetBytes('iris') }
  const c = verificationCost(iris(), inputs)!
  t.same({ segments: c.segments, verifiers: c.verifiers, samples: c.samples, cost: c.cost }, { segments: 20, verifiers: 1, samples: samplesDue(20, 1), cost: 19 / 20 }, 'Iris: 1 verifier × 19 of 20 segments')
  t.ok(c.acceptance <= 1e-6, `10 % forged accepted with ${c.acceptance}`)
  t.match(describeVerificationCost(c), /1 verifier × 19 of 20 segments = 95 % of the work.*≤ 1e-6.*few segments/, 'the line job estimate prints says the cost and why')
  const fine = verificationCost({ ...iris(), params: { ...iris().params, epochs: 400 }, checkpointInterval: 1 }, inputs)!
  t.equal(fine.segments, 3200)
  t.ok(fine.cost < 0.05, `3,200 segments: ${(fine.cost * 100).toFixed(1)} % of the work`)
  t.throws(() => verificationCost({ ...iris(), params: { ...iris().params, epochs: 600 }, checkpointInterval: 1 }, inputs), { code: 'JOB_TOO_MANY_SEGMENTS', message: /4800 segments.*at most 4096.*checkpointInterval ≥ 2/ }, 'over the limit: refused before paying, with the interval that fits')
  t.equal(verificationCost({ ...iris(), runtime: { type: 'docker', image: `sha256:${HEX}` }, verification: { mode: 'redundant', redundancy: 2, quorum: 2 } }, inputs), undefined, 'replica jobs have no verifiers')
})
