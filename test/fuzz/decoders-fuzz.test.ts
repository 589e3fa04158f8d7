import { join } from 'node:path'
import t from 'tap'
import { startFuzzSession } from './session.js'

// The short CI run of the decoder fuzzer (test/fuzz/README.md): the committed corpus replayed,
// then a few seconds of coverage-guided mutation per target, from a fixed seed.
const SECONDS_PER_TARGET = Number(process.env.POVCHAIN_DECODER_FUZZ_SECONDS ?? 3)
const SEED = Number(process.env.POVCHAIN_DECODER_FUZZ_SEED ?? 20261207)
const s = await startFuzzSession((url) => url.endsWith('/test/fuzz/PlantedBug.ts'))
const { plantedBug } = await import('./PlantedBug.js')
t.teardown(() => s.cov.stop())

t.test('the fuzzer finds a bug three checks deep (coverage guidance works)', async (t) => {
  const r = s.fuzz(plantedBug, s.cov, {
    ...{ seconds: 60, maxExecs: 50_000, stopAtFirstFinding: true, seed: 2 },
    ...{ corpusDir: '/nonexistent', saveCorpus: false, findingsDir: join(s.findingsRoot, 'planted'), slowMs: 1000 },
  })
  t.equal(r.findings.length, 1, `found in ${r.execs} execs`)
  t.match(r.findings[0]?.message ?? '', /^TypeError/)
  t.match(r.findings[0]?.inputHex ?? '', /^c1807f/)
})

for (const target of s.TARGETS) {
  t.test(`${target.name}: ${target.entry}`, async (t) => {
    const corpus = s.loadCorpus(join(s.corpusRoot, target.name))
    t.ok(corpus.length > 0, `committed corpus: ${corpus.length} inputs`)
    // Every committed input (crash reproducers included) must now decode or fail typed.
    for (const input of corpus) {
      const f = s.check(target, input, 1000)
      if (f) t.fail(`corpus input ${s.corpusName(input)}: ${f.kind}: ${f.message}`)
    }
    const r = s.fuzz(target, s.cov, {
      seconds: SECONDS_PER_TARGET,
      seed: SEED,
      corpusDir: join(s.corpusRoot, target.name),
      saveCorpus: false,
      findingsDir: join(s.findingsRoot, target.name),
      slowMs: 1000,
    })
    t.comment(`${r.execs} execs (${r.execsPerSecond}/s), blocks ${r.blocksFromCorpus} → ${r.blocks}, corpus ${r.corpusStart} → ${r.corpusEnd}`)
    t.ok(r.execs >= 100, 'mutated inputs ran')
    t.ok(r.blocks > 20, 'coverage was measured')
    t.same(r.findings.map((f) => `${f.kind}: ${f.message} (input ${f.inputHex.slice(0, 120)}, saved ${f.file})`), [], 'no crash, no round-trip mismatch, no slow or absurd input')
  })
}
