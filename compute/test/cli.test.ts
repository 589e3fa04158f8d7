import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { silentLogger } from '../../common/logger.js'
import { registerComputeCommands } from '../cli.js'
import { tmpDir } from './helpers.js'

const ex = (name: string) => new URL(`../examples/${name}`, import.meta.url).pathname

async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const out: string[] = []
  const err: string[] = []
  const program = new Command('povchain').exitOverride()
  registerComputeCommands(program, { logger: silentLogger, io: { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false } })
  process.exitCode = 0
  await program.parseAsync(['node', 'povchain', 'compute', ...args])
  const code = Number(process.exitCode ?? 0)
  process.exitCode = 0
  return { out: out.join(''), err: err.join(''), code }
}

const datadir = tmpDir()

t.test('run the examples as they stand: train, then infer with its model, then generate', async (t) => {
  const train = await cli('run', ex('iris-train.json'), '--datadir', datadir, '--json')
  t.equal(train.code, 0, train.err)
  const r = JSON.parse(train.out) as { ok: boolean; commitment: { commitment: string }; metrics: { testAccuracy: number }; resultHash: string }
  t.ok(r.ok)
  t.ok(r.metrics.testAccuracy >= 0.9)
  t.match(train.err, /"event":"progress"/, 'structured progress lines when not on a terminal')
  const infer = await cli('run', ex('iris-infer.json'), '--datadir', datadir, '--json')
  t.equal(infer.code, 0, infer.out + infer.err)
  t.ok((JSON.parse(infer.out) as { metrics: { accuracy: number } }).metrics.accuracy >= 0.95)
  const gen = await cli('run', ex('blobs-generate.json'), '--datadir', datadir)
  t.match(gen.out, /commitment\s+0x[0-9a-f]{64}/)

  const ok = await cli('verify', r.commitment.commitment, '--seed', '0x1234', '--datadir', datadir, '--json')
  t.equal(ok.code, 0)
  const rep = JSON.parse(ok.out) as { verdict: string; costFraction: number }
  t.equal(rep.verdict, 'accept')
  t.ok(rep.costFraction <= 0.1, `default policy costs ${rep.costFraction} of the work`)
  const human = await cli('verify', r.commitment.commitment, '--seed', 'block-42', '--datadir', datadir)
  t.match(human.out, /^accept/)
  const unknown = await cli('verify', '0x' + '0'.repeat(64), '--seed', '1', '--datadir', datadir)
  t.equal(unknown.code, 1)
  t.match(unknown.err, /no session with commitment/)
})

t.test('an infer spec whose model is missing says what to do', async (t) => {
  const res = await cli('run', ex('iris-infer.json'), '--datadir', tmpDir(), '--json')
  t.equal(res.code, 1)
  t.match(JSON.parse(res.out), { ok: false, error: { code: 'COMPUTE_BLOB_NOT_FOUND', message: /run the training job/ } })
})

t.test('dataset import from CSV, then train on it by hash', async (t) => {
  const dir = tmpDir()
  const csv = join(dir, 'xor.csv')
  const rows = ['x,y,label']
  for (let i = 0; i < 200; i++) {
    const x = (i % 20) / 10 - 1
    const y = Math.floor(i / 20) / 5 - 1
    rows.push(`${x},${y},${x * y > 0 ? 'same' : 'diff'}`)
  }
  writeFileSync(csv, rows.join('\n'))
  const imp = await cli('dataset', 'import', csv, '--datadir', datadir, '--json')
  t.equal(imp.code, 0, imp.out)
  const d = JSON.parse(imp.out) as { hash: string; rows: number; classes: string[] }
  t.equal(d.rows, 200)
  t.same(d.classes, ['diff', 'same'])
  const spec = join(dir, 'xor-train.json')
  writeFileSync(
    spec,
    JSON.stringify({
      version: 1, kind: 'train', runtime: { type: 'embedded' }, workload: { id: 'mlp-train', version: 1 }, dataset: d.hash,
      params: { layers: [16, 16], epochs: 60, batchSize: 20 }, seed: 3, checkpointInterval: 50,
      verification: { mode: 'reexecution', samples: 1, verifiers: 1 }, resources: { cpus: 1, memoryMb: 256, timeoutSec: 60 },
    }),
  )
  const run = await cli('run', spec, '--datadir', datadir, '--json', '--threads', '0')
  t.equal(run.code, 0, run.out)
  t.ok((JSON.parse(run.out) as { metrics: { testAccuracy: number } }).metrics.testAccuracy >= 0.85)
  const bad = join(dir, 'bad.csv')
  writeFileSync(bad, 'a,b\n1,2\nthree,4\n')
  const badRes = await cli('dataset', 'import', bad, '--datadir', datadir)
  t.equal(badRes.code, 1)
  t.match(badRes.err, /line 3 column "a": "three" is not a number/)
})

t.test('spec validate: hash for good specs, the field for bad ones', async (t) => {
  const good = await cli('spec', 'validate', ex('iris-train.json'), '--json')
  t.match(JSON.parse(good.out), { ok: true, specHash: /^0x[0-9a-f]{64}$/ })
  const dir = tmpDir()
  const bad = join(dir, 'bad.json')
  writeFileSync(bad, JSON.stringify({ version: 1, kind: 'train', runtime: { type: 'docker', image: 'python:3' } }))
  const res = await cli('spec', 'validate', bad, '--json')
  t.equal(res.code, 1)
  t.match(JSON.parse(res.out), { ok: false, error: { code: 'COMPUTE_INVALID_SPEC', field: 'runtime.image' } })
  writeFileSync(bad, '{ nope')
  const res2 = await cli('spec', 'validate', bad)
  t.match(res2.err, /not valid JSON/)
  const res3 = await cli('spec', 'validate', join(dir, 'missing.json'))
  t.match(res3.err, /cannot read spec file/)
  const res4 = await cli('run', ex('iris-train.json'), '--runtime', 'quantum', '--datadir', datadir)
  t.match(res4.err, /--runtime must be embedded or docker/)
})

t.test('bench prints compute units per second', async (t) => {
  const res = await cli('bench', '--epochs', '1', '--json')
  t.match(JSON.parse(res.out), { ok: true, computeUnitsPerSec: Number, samplesPerSec: Number, commitment: /^0x/ })
  t.equal((await cli('bench', '--epochs', 'lots')).code, 1)
})

t.test('sampling: the plan that keeps a forged session under a bound (the fraud-proof rule), and a given segment count', async (t) => {
  const res = await cli('sampling', '--forged', '0.1', '--bound', '1e-6', '--verifiers', '3', '--segments', '20', '--json')
  const out = JSON.parse(res.out) as { plan: { segments: number; samples: number; acceptance: number; cost: number }; given: { samples: number; acceptance: number; cost: number } }
  t.equal(out.given.samples, 18, '20 segments need 18 of 20 per verifier with 3 verifiers')
  t.ok(out.given.acceptance <= 1e-6 && out.given.cost > 2, 'under the bound, at 270 % of the work')
  t.ok(out.plan.acceptance <= 1e-6 && out.plan.cost <= 0.05, 'the plan meets the bound within 5 %')
  t.same([out.plan.segments, out.plan.samples], [2640, 44], 'with 2,640 segments and 44 samples each')
  t.equal((await cli('sampling', '--verifiers', '9')).code, 1, 'more verifiers than a session has: an error')
})
