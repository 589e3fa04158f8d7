import { Worker } from 'node:worker_threads'
import t from 'tap'
import type { FuzzReport } from './Fuzzer.js'
import type { FuzzWorkerRequest } from './fuzzWorker.js'

// The short CI run of the decoder fuzzer (test/fuzz/README.md): the committed corpus replayed,
// then a fixed number of coverage-guided inputs per target from a fixed seed (the same inputs
// on every machine), in a worker thread (fuzzWorker.ts says why).
const INPUTS_PER_TARGET = Number(process.env.POVCHAIN_DECODER_FUZZ_INPUTS ?? 2_000)
const SEED = Number(process.env.POVCHAIN_DECODER_FUZZ_SEED ?? 20261207)
const TARGETS = ['rlp', 'transaction', 'header', 'block', 'body', 'receipts', 'protobuf']

interface Result {
  name: string
  entry?: string
  corpus: number
  corpusFindings: string[]
  report: FuzzReport
}

const results = await new Promise<Result[]>((resolve, reject) => {
  const req: FuzzWorkerRequest = { targets: ['planted', ...TARGETS], inputs: INPUTS_PER_TARGET, seconds: 60, seed: SEED }
  const w = new Worker(new URL('./fuzzWorker.ts', import.meta.url), { workerData: req, execArgv: ['--import=tsx'] })
  w.once('message', resolve)
  w.once('error', reject)
  w.once('exit', (code) => reject(new Error(`fuzz worker exited with ${code} before reporting`)))
})

t.test('the fuzzer finds a bug three checks deep (coverage guidance works)', async (t) => {
  const r = results.find((x) => x.name === 'planted')!.report
  t.equal(r.findings.length, 1, `found after ${r.execs} inputs`)
  t.match(r.findings[0]?.message ?? '', /^TypeError/)
  t.match(r.findings[0]?.inputHex ?? '', /^c1807f/)
})

for (const name of TARGETS) {
  const x = results.find((r) => r.name === name)!
  t.test(`${name}: ${x.entry}`, async (t) => {
    const r = x.report
    t.ok(x.corpus > 0, `committed corpus: ${x.corpus} inputs`)
    t.same(x.corpusFindings, [], 'every committed input decodes or fails typed (the fixed findings stay fixed)')
    t.comment(`${r.execs} inputs (${r.execsPerSecond}/s), blocks ${r.blocksFromCorpus} → ${r.blocks}, corpus ${r.corpusStart} → ${r.corpusEnd}`)
    t.equal(r.execs, INPUTS_PER_TARGET, 'every mutated input ran (not cut off by the time cap)')
    t.ok(r.blocks > 20, 'coverage was measured')
    t.same(r.findings.map((f) => `${f.kind}: ${f.message} (input ${f.inputHex.slice(0, 120)}, saved ${f.file})`), [], 'no crash, no round-trip mismatch, no slow or absurd input')
  })
}
