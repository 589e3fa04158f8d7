import { join } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import { startFuzzSession } from './session.js'

/**
 * The CI test's fuzzing, in a worker thread: a coverage take serialises the counters of every
 * script of the isolate, and the test's isolate also holds tap (takes there were 10× slower).
 * A worker's isolate holds only the decoders and the libraries they use.
 */
export interface FuzzWorkerRequest {
  targets: string[]
  /** Inputs per target: with the seed, this fixes the run (the CI result does not depend on load). */
  inputs: number
  /** A cap per target in case the machine is starved. */
  seconds: number
  seed: number
}

const req = workerData as FuzzWorkerRequest
const s = await startFuzzSession((url) => url.endsWith('/test/fuzz/PlantedBug.ts'))
const { plantedBug } = await import('./PlantedBug.js')
const out: unknown[] = []
for (const name of req.targets) {
  if (name === 'planted') {
    // From a fixed seed and a fixed count of inputs the run is deterministic.
    const r = s.fuzz(plantedBug, s.cov, { seconds: 120, maxExecs: 50_000, stopAtFirstFinding: true, seed: 2, corpusDir: '/nonexistent', saveCorpus: false, findingsDir: join(s.findingsRoot, 'planted'), slowMs: 1000 })
    out.push({ name, corpus: 0, corpusFindings: [], report: r })
    continue
  }
  const target = s.TARGETS.find((t) => t.name === name)!
  const corpusDir = join(s.corpusRoot, name)
  const corpus = s.loadCorpus(corpusDir)
  // Every committed input (crash reproducers included) must decode or fail typed.
  const corpusFindings = corpus.flatMap((input) => {
    const f = s.check(target, input, 1000)
    return f ? [`corpus input ${s.corpusName(input)}: ${f.kind}: ${f.message}`] : []
  })
  const report = s.fuzz(target, s.cov, { seconds: req.seconds, maxExecs: req.inputs, seed: req.seed, corpusDir, saveCorpus: false, findingsDir: join(s.findingsRoot, name), slowMs: 1000 })
  out.push({ name, entry: target.entry, corpus: corpus.length, corpusFindings, report })
}
s.cov.stop()
parentPort!.postMessage(out)
