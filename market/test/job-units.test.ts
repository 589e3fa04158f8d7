/**
 * jobUnits (market/client/JobEstimate.ts): a built-in workload's units are counted from its
 * steps; an image's own workload has none this node can count, so the client must state them.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { computeUnits, jobUnits } from '../client/JobEstimate.js'
import { parseJobSpecStructure } from '../../compute/spec/JobSpec.js'
import { bundledDatasetBytes } from '../../compute/data/BundledDatasets.js'

const example = (name: string) => parseJobSpecStructure(JSON.parse(readFileSync(new URL(`../../compute/examples/${name}`, import.meta.url), 'utf8')))

t.test('built-in: counted; stated units win; an image workload needs them', async (t) => {
  const iris = example('iris-train.json')
  const inputs = { dataset: bundledDatasetBytes('iris') }
  t.equal(jobUnits(iris, inputs), computeUnits(iris, inputs), 'a built-in workload: counted from its steps')
  t.equal(jobUnits(iris, inputs, 7n), 7n, 'stated units are taken as stated')
  const torch = example('torch-train.json')
  t.throws(() => jobUnits(torch, inputs), { code: 'JOB_UNITS', message: /torch-mlp-train@1 is the image's own.*--units N/ })
  t.equal(jobUnits(torch, inputs, 3n), 3n)
  t.throws(() => jobUnits(torch, inputs, 0n), { code: 'JOB_UNITS' })
})
