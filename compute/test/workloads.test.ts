import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { decodeDataset, encodeDataset } from '../data/Dataset.js'
import { executeJob, prepareJob, replaySegment } from '../execution/JobExecution.js'
import { checkpointSteps } from '../execution/CheckpointSchedule.js'
import { decodeModel, evaluateModel } from '../workloads/MlpInferWorkload.js'
import { validateJobSpec } from '../workloads/WorkloadRegistry.js'
import { contentHash } from '../ContentHash.js'
import { blobsSpec, irisBytes, irisSpec } from './helpers.js'

const example = (name: string) => validateJobSpec(JSON.parse(readFileSync(new URL(`../examples/${name}`, import.meta.url), 'utf8')))

t.test('mlp-train on Iris (the shipped example) learns: ≥ 90% held-out accuracy', async (t) => {
  const spec = example('iris-train.json')
  const r = executeJob(spec, { dataset: irisBytes })
  t.ok((r.metrics.testAccuracy as number) >= 0.9, `test accuracy ${r.metrics.testAccuracy}`)
  t.ok((r.metrics.trainAccuracy as number) >= 0.9, `train accuracy ${r.metrics.trainAccuracy}`)
  const history = r.metrics.history as { epoch: number; trainLoss: number }[]
  t.equal(history.length, 100, 'loss and accuracy reported per epoch')
  t.ok(history[99]!.trainLoss < history[0]!.trainLoss / 5, 'loss falls')
  t.equal(r.checkpoints.length, checkpointSteps(r.totalSteps, spec.checkpointInterval).length)
  // The infer example names this model: training is deterministic, so its hash is known in advance.
  const infer = example('iris-infer.json')
  t.equal(r.resultHash, infer.model, 'examples/iris-infer.json names the model iris-train.json produces')
  const pr = executeJob(infer, { dataset: irisBytes, model: r.result })
  t.ok((pr.metrics.accuracy as number) >= 0.95, `inference accuracy over all 150 rows ${pr.metrics.accuracy}`)
  const preds = JSON.parse(new TextDecoder().decode(pr.result)) as { predictions: number[] }
  t.equal(preds.predictions.length, 150)
  t.equal(evaluateModel(decodeModel(r.result), decodeDataset(irisBytes)).accuracy, pr.metrics.accuracy)
})

t.test('SGD with momentum and tanh also train', async (t) => {
  const r = executeJob(irisSpec({ params: { activation: 'tanh', epochs: 60, optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9 } } }), { dataset: irisBytes })
  t.ok((r.metrics.testAccuracy as number) >= 0.9, `sgd/tanh test accuracy ${r.metrics.testAccuracy}`)
})

t.test('synthetic-data: blobs, spirals, polynomial; generated data trains', async (t) => {
  const gen = executeJob(example('blobs-generate.json'), {})
  const ds = decodeDataset(gen.result)
  t.equal(ds.x.length, 600)
  t.same(ds.classes, ['c0', 'c1', 'c2'])
  const spirals = decodeDataset(executeJob(blobsSpec({ params: { generator: 'spirals', features: 2, classes: 2, noise: 0.05 } }), {}).result)
  t.equal(spirals.features.length, 2)
  const poly = decodeDataset(executeJob(blobsSpec({ params: { generator: 'polynomial', features: 2, degree: 3, noise: 0.01 } }), {}).result)
  t.equal(poly.task, 'regression')
  t.notOk('classes' in poly)
  const train = executeJob(irisSpec({ dataset: gen.resultHash, params: { epochs: 10 } }), { dataset: gen.result })
  t.ok((train.metrics.testAccuracy as number) > 0.8, `blobs accuracy ${train.metrics.testAccuracy}`)
  const reg = executeJob(irisSpec({ dataset: contentHash(encodeDataset(poly)), params: { epochs: 30, layers: [16] } }), { dataset: encodeDataset(poly) })
  t.ok((reg.metrics.testLoss as number) < 0.05, `polynomial regression loss ${reg.metrics.testLoss}`)
})

t.test('property: the same spec gives the same hashes on every run', async (t) => {
  fc.assert(
    fc.property(fc.nat({ max: 1e9 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 40 }), (seed, k, batch) => {
      const spec = irisSpec({ seed, checkpointInterval: k, params: { epochs: 2, batchSize: batch } })
      const a = executeJob(spec, { dataset: irisBytes })
      const b = executeJob(spec, { dataset: irisBytes })
      return a.commitment.commitment === b.commitment.commitment && a.checkpoints.every((c, i) => c.hash === b.checkpoints[i]!.hash)
    }),
    { numRuns: 25 },
  )
  fc.assert(
    fc.property(fc.nat({ max: 1e9 }), fc.constantFrom('blobs', 'spirals', 'polynomial'), (seed, generator) => {
      const spec = blobsSpec({ seed, params: { generator, features: 2, samples: 50, chunk: 7 } })
      return executeJob(spec, {}).commitment.commitment === executeJob(spec, {}).commitment.commitment
    }),
    { numRuns: 20 },
  )
  t.not(executeJob(irisSpec({ seed: 1 }), { dataset: irisBytes }).resultHash, executeJob(irisSpec({ seed: 2 }), { dataset: irisBytes }).resultHash, 'different seeds differ')
})

t.test('property: restarting from any checkpoint reproduces every later checkpoint', async (t) => {
  const cases = [irisSpec({ params: { epochs: 4 }, checkpointInterval: 5 }), blobsSpec()]
  for (const spec of cases) {
    const inputs = spec.kind === 'train' ? { dataset: irisBytes } : {}
    const full = executeJob(spec, inputs)
    const prepared = prepareJob(spec, inputs)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: full.checkpoints.length - 2 }), (i) => {
        // A fresh PreparedWorkload (as after a process restart) from checkpoint i.
        const fresh = prepareJob(spec, inputs)
        let state = full.checkpoints[i]!.state
        for (let j = i + 1; j < full.checkpoints.length; j++) {
          const r = replaySegment(j % 2 ? fresh : prepared, state, full.checkpoints[j]!.step)
          if (r.hash !== full.checkpoints[j]!.hash) return false
          state = r.state
        }
        return true
      }),
      { numRuns: 15 },
    )
  }
  t.pass()
})

t.test('bad inputs give clear errors, never crashes', async (t) => {
  t.throws(() => executeJob(irisSpec(), { dataset: new TextEncoder().encode('{"format":"povchain-dataset"}') }), { code: 'COMPUTE_INVALID_DATASET' })
  t.throws(() => executeJob(irisSpec(), {}), { code: 'COMPUTE_INVALID_DATASET' })
  const infer = example('iris-infer.json')
  t.throws(() => executeJob(infer, { dataset: irisBytes, model: new TextEncoder().encode('{"format":"povchain-mlp","version":1}') }), { code: 'COMPUTE_INVALID_MODEL' })
  t.throws(() => executeJob(infer, { dataset: irisBytes, model: new Uint8Array([1, 2, 3]) }), { code: 'COMPUTE_INVALID_MODEL' })
  const prepared = prepareJob(irisSpec(), { dataset: irisBytes })
  t.throws(() => prepared.decode(new Uint8Array(10)), { code: 'COMPUTE_INVALID_CHECKPOINT' })
  const diverge = irisSpec({ params: { epochs: 3, optimizer: { type: 'sgd', learningRate: 100, momentum: 0.99 } } })
  try {
    executeJob(diverge, { dataset: irisBytes })
    t.pass('no divergence with this seed')
  } catch (e) {
    t.match(e, { code: 'COMPUTE_WORKLOAD_FAILED' }, 'divergence reported as a workload failure')
  }
})
