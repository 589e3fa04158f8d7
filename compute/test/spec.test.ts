import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { ComputeError } from '../ComputeError.js'
import { canonicalJson } from '../data/CanonicalJson.js'
import { decodeJson, encodeJobSpec, jobSpecHash } from '../spec/JobSpec.js'
import { validateJobSpec } from '../workloads/WorkloadRegistry.js'
import { irisSpec } from './helpers.js'

const example = (name: string) => JSON.parse(readFileSync(new URL(`../examples/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>

t.test('the shipped examples are valid specs', async (t) => {
  for (const name of ['iris-train.json', 'iris-infer.json', 'blobs-generate.json']) {
    const spec = validateJobSpec(example(name))
    t.match(jobSpecHash(spec), /^0x[0-9a-f]{64}$/, name)
  }
})

t.test('spec hash is independent of key order and whitespace', async (t) => {
  const a = example('iris-train.json')
  const reordered = Object.fromEntries(Object.entries(a).reverse())
  t.equal(jobSpecHash(validateJobSpec(reordered)), jobSpecHash(validateJobSpec(a)))
  t.equal(jobSpecHash(validateJobSpec(JSON.parse(JSON.stringify(a, null, 4)))), jobSpecHash(validateJobSpec(a)))
})

const arbSpec = fc.record({
  kind: fc.constantFrom('train', 'generate'),
  seed: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  k: fc.integer({ min: 1, max: 10_000 }),
  layers: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 0, maxLength: 3 }),
  lr: fc.double({ min: 1e-6, max: 1, noNaN: true }),
  epochs: fc.integer({ min: 1, max: 1000 }),
  cpus: fc.double({ min: 0.01, max: 64, noNaN: true }),
  mem: fc.integer({ min: 32, max: 65536 }),
  docker: fc.boolean(),
  digest: fc.stringMatching(/^[0-9a-f]{64}$/),
  deadline: fc.option(fc.integer({ min: 0, max: 1e10 }), { nil: undefined }),
  mode: fc.constantFrom('reexecution', 'redundant', 'tolerance'),
})

type SpecArgs = typeof arbSpec extends fc.Arbitrary<infer T> ? T : never

function buildSpec(a: SpecArgs): Record<string, unknown> {
  const verification =
    a.mode === 'reexecution'
      ? { mode: a.mode, samples: 3, verifiers: 2 }
      : a.mode === 'redundant'
        ? { mode: a.mode, redundancy: 3, quorum: 2 }
        : { mode: a.mode, redundancy: 2, metric: 'testLoss', epsilon: 1e-9 }
  return {
    version: 1,
    kind: a.kind,
    runtime: a.docker ? { type: 'docker', image: `sha256:${a.digest}` } : { type: 'embedded' },
    workload: a.kind === 'train' ? { id: 'mlp-train', version: 1 } : { id: 'synthetic-data', version: 1 },
    ...(a.kind === 'train' ? { dataset: '0x' + a.digest } : {}),
    params:
      a.kind === 'train'
        ? { layers: a.layers, epochs: a.epochs, optimizer: { type: 'sgd', learningRate: a.lr, momentum: 0.5 } }
        : { generator: 'spirals', samples: 100, classes: 2 },
    seed: a.seed,
    checkpointInterval: a.k,
    verification,
    resources: { cpus: a.cpus, memoryMb: a.mem, gpus: 0, timeoutSec: 60 },
    ...(a.deadline !== undefined ? { deadline: a.deadline } : {}),
  }
}

t.test('property: encode → decode → encode is the identity and keeps the hash', async (t) => {
  fc.assert(
    fc.property(arbSpec, (a) => {
      const spec = validateJobSpec(buildSpec(a))
      const bytes = encodeJobSpec(spec)
      const again = validateJobSpec(decodeJson(bytes, 'spec'))
      return canonicalJson(again) === new TextDecoder().decode(bytes) && jobSpecHash(again) === jobSpecHash(spec)
    }),
    { numRuns: 300 },
  )
  t.pass()
})

t.test('invalid specs are rejected with an error naming the field', async (t) => {
  const base = example('iris-train.json')
  const cases: [string, (s: Record<string, any>) => void][] = [
    ['version', (s) => (s.version = 2)],
    ['kind', (s) => (s.kind = 'mine')],
    ['runtime.type', (s) => (s.runtime = { type: 'vm' })],
    ['runtime.image', (s) => (s.runtime = { type: 'docker', image: 'ubuntu:latest' })],
    ['workload', (s) => (s.workload = { id: 'nope', version: 1 })],
    ['workload.version', (s) => (s.workload.version = 0)],
    ['dataset', (s) => (s.dataset = 'iris')],
    ['model', (s) => (s.model = '0x' + '1'.repeat(64))],
    ['seed', (s) => (s.seed = -1)],
    ['seed', (s) => (s.seed = 1.5)],
    ['checkpointInterval', (s) => (s.checkpointInterval = 0)],
    ['verification.mode', (s) => (s.verification = { mode: 'trust-me' })],
    ['verification.samples', (s) => (s.verification.samples = 0)],
    ['verification.quorum', (s) => (s.verification = { mode: 'redundant', redundancy: 4, quorum: 2 })],
    ['resources.cpus', (s) => (s.resources.cpus = 0)],
    ['resources.memoryMb', (s) => (s.resources.memoryMb = 'lots')],
    ['resources.timeoutSec', (s) => delete s.resources.timeoutSec],
    ['deadline', (s) => (s.deadline = 'tomorrow')],
    ['params.layers[1]', (s) => (s.params.layers = [4, 0])],
    ['params.optimizer.type', (s) => (s.params.optimizer = { type: 'lbfgs' })],
    ['params.optimizer.learningRate', (s) => (s.params.optimizer.learningRate = -1)],
    ['params.epochs', (s) => delete s.params.epochs],
    ['params.dropout', (s) => (s.params.dropout = 0.5)],
    ['extra', (s) => (s.extra = true)],
    ['kind', (s) => {
      s.kind = 'generate'
      delete s.dataset
    }],
  ]
  for (const [field, mutate] of cases) {
    const s = structuredClone(base)
    mutate(s)
    try {
      validateJobSpec(s)
      t.fail(`accepted a bad ${field}`)
    } catch (e) {
      t.ok(e instanceof ComputeError, `${field}: ComputeError`)
      t.equal((e as ComputeError).code, 'COMPUTE_INVALID_SPEC')
      t.equal((e as ComputeError).field, field, `names ${field}`)
      t.match((e as Error).message, field)
    }
  }
})

t.test('property: arbitrary JSON never crashes validation', async (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), fc.record({ version: fc.constant(1), kind: fc.constant('train'), runtime: fc.jsonValue(), params: fc.jsonValue() })), (v) => {
      try {
        validateJobSpec(v)
        return true
      } catch (e) {
        return e instanceof ComputeError && e.code === 'COMPUTE_INVALID_SPEC' && typeof e.field === 'string'
      }
    }),
    { numRuns: 500 },
  )
  t.throws(() => decodeJson('{"version":', 'x'), { code: 'COMPUTE_INVALID_SPEC' })
  t.pass()
})

t.test('helpers build valid specs', async (t) => {
  t.equal(irisSpec().kind, 'train')
})
