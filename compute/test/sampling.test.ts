/**
 * Policy-driven segment sampling (verify/SamplingPolicy.ts), with seeded fast-check properties:
 *  - requiredSamples is the smallest count that meets the policy (exact hypergeometric), and
 *    never more than the textbook with-replacement bound ⌈ln(1−c)/ln(1−f)⌉;
 *  - samplesFor honours the spec's samples, its own target and the verifier's floor, within m;
 *  - the real sampler (sampleSegments over fresh randomness) catches a worker that forged k of m
 *    segments as often as detectionProbability says, at the count the policy picks;
 *  - the detection table in market/worker/README.md is what the formula gives;
 *  - spec validation of verification.confidence / verification.faultFraction.
 */
import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Hash32 } from '../ContentHash.js'
import { parseJobSpecStructure, type VerificationPolicy } from '../spec/JobSpec.js'
import { DEFAULT_SAMPLING_POLICY, faultedSegments, requiredSamples, samplesFor, type SamplingPolicy } from '../verify/SamplingPolicy.js'
import { detectionProbability, sampleSegments } from '../verify/SegmentSampler.js'

const SEED = 20261122
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

const policyArb = fc.record({
  confidence: fc.double({ min: 0.5, max: 0.999, noNaN: true }),
  faultFraction: fc.double({ min: 0.01, max: 1, noNaN: true }),
})
const reexec = (samples: number, target?: SamplingPolicy): VerificationPolicy => ({ mode: 'reexecution', samples, verifiers: 1, ...(target ?? {}) })

t.test('requiredSamples is the fewest samples that meet the policy, within the with-replacement bound', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), policyArb, (m, p) => {
      const s = requiredSamples(m, p)
      const k = faultedSegments(m, p.faultFraction)
      if (s < 1 || s > m) return false
      // Sufficient (or everything is re-executed, which catches any forgery).
      if (s < m && detectionProbability(m, k, s) < p.confidence) return false
      if (s === m && detectionProbability(m, k, s) !== 1) return false
      // Minimal.
      if (s > 1 && detectionProbability(m, k, s - 1) >= p.confidence) return false
      // Sampling without replacement never needs more than sampling with it.
      if (k < m && s > Math.ceil(Math.log(1 - p.confidence) / Math.log(1 - k / m)) + 1e-9) return false
      return true
    }),
    { seed: SEED, numRuns: 2000 },
  )
  t.equal(requiredSamples(20, DEFAULT_SAMPLING_POLICY), 9, 'the default floor re-executes 9 of 20 Iris segments')
  t.equal(requiredSamples(20, { confidence: 0.99, faultFraction: 0.05 }), 20, 'catching one forged segment of 20 at 99 % needs all of them')
  t.equal(requiredSamples(0, DEFAULT_SAMPLING_POLICY), 0)
  t.throws(() => requiredSamples(10, { confidence: 1, faultFraction: 0.5 }), /confidence must be in \(0, 1\)/)
  t.throws(() => requiredSamples(10, { confidence: 0.9, faultFraction: 0 }), /faultFraction must be in \(0, 1\]/)
})

t.test('samplesFor: the most of spec samples, spec target and verifier floor, never more than m; monotone in the policy', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 300 }), fc.option(policyArb, { nil: undefined }), fc.option(policyArb, { nil: undefined }), (m, samples, target, floor) => {
      const s = samplesFor(m, reexec(samples, target), floor)
      if (s > m || s < Math.min(m, samples)) return false
      if (target && s < requiredSamples(m, target)) return false
      if (floor && s < requiredSamples(m, floor)) return false
      if (!target && !floor && s !== Math.min(m, samples)) return false
      return true
    }),
    { seed: SEED, numRuns: 2000 },
  )
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), policyArb, fc.double({ min: 0, max: 0.4, noNaN: true }), (m, p, d) => {
      const stricter = { confidence: Math.min(0.999, p.confidence + d * (1 - p.confidence)), faultFraction: p.faultFraction * (1 - d) || p.faultFraction }
      return requiredSamples(m, stricter) >= requiredSamples(m, p)
    }),
    { seed: SEED, numRuns: 1000 },
  )
  t.equal(samplesFor(20, { mode: 'redundant', redundancy: 3, quorum: 2 }), 1, 'non-reexecution policies keep one sample')
})

t.test('the sampler catches a worker that fakes k of m segments as often as the policy promises', async (t) => {
  let checked = 0
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 60 }),
      fc.double({ min: 0.02, max: 0.6, noNaN: true }),
      policyArb,
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (m, share, floor, salt) => {
        const k = Math.max(1, Math.min(m - 1, Math.round(share * m)))
        // Which segments the worker forged: any fixed set of k (the sampler is uniform over subsets).
        const faked = new Set(Array.from({ length: k }, (_, i) => (i * 7 + salt) % m))
        if (faked.size !== k) return true
        const s = samplesFor(m, reexec(1), floor)
        const p = detectionProbability(m, k, s)
        const trials = 600
        const commitment = `0x${(salt >>> 0).toString(16).padStart(64, '0')}` as Hash32
        let hits = 0
        for (let i = 0; i < trials; i++) if (sampleSegments(`verifier-${salt}-${i}`, commitment, m, s).some((x) => faked.has(x))) hits++
        checked++
        const sd = Math.sqrt((p * (1 - p)) / trials)
        // 5 σ (p near 0 or 1: exact, no slack needed beyond a rounding hair).
        if (Math.abs(hits / trials - p) > 5 * sd + 1e-9) return false
        // And the policy's promise: a forgery of at least faultFraction is caught at ≥ confidence.
        if (k >= faultedSegments(m, floor.faultFraction) && p < floor.confidence - 1e-12) return false
        return true
      },
    ),
    { seed: SEED, numRuns: 60 },
  )
  t.ok(checked > 40, `${checked} random (m, k, policy) cases checked against 600 draws each`)
})

t.test("market/worker/README.md's detection table is what the formula gives", async (t) => {
  const readme = readFileSync(join(ROOT, 'market/worker/README.md'), 'utf8')
  const header = /^\| forged of (\d+) \|((?: s = \d+ \|)+)$/m.exec(readme)
  t.ok(header, 'the README has the detection table')
  if (!header) return
  const m = Number(header[1])
  const cols = [...header[2]!.matchAll(/s = (\d+)/g)].map((x) => Number(x[1]))
  const rows = [...readme.matchAll(/^\| (\d+) \(\d+ %\) \|((?: [\d.]+ % \|)+)$/gm)]
  t.ok(rows.length >= 4, `${rows.length} rows`)
  for (const r of rows) {
    const k = Number(r[1])
    const cells = [...r[2]!.matchAll(/([\d.]+) %/g)].map((x) => Number(x[1]))
    t.same(cells, cols.map((s) => Number((detectionProbability(m, k, s) * 100).toFixed(1))), `${k} forged of ${m}`)
  }
  const policy = [...readme.matchAll(/^\| m = (\d+): faultFraction \\ confidence \|((?: [\d.]+ \|)+)$/gm)]
  t.ok(policy.length >= 1, 'the README has the samples-per-policy table')
  for (const p of policy) {
    const mm = Number(p[1])
    const confidences = [...p[2]!.matchAll(/([\d.]+)/g)].map((x) => Number(x[1]))
    const after = readme.slice(p.index! + p[0].length).split('\n').slice(2)
    for (const line of after) {
      const row = /^\| ([\d.]+) \|((?: \d+ \(bound \d+\) \|)+)$/.exec(line)
      if (!row) break
      const f = Number(row[1])
      const got = [...row[2]!.matchAll(/(\d+) \(bound (\d+)\)/g)].map((x) => [Number(x[1]), Number(x[2])])
      const want = confidences.map((c) => [requiredSamples(mm, { confidence: c, faultFraction: f }), Math.min(mm, Math.ceil(Math.log(1 - c) / Math.log(1 - faultedSegments(mm, f) / mm)))])
      t.same(got, want, `m = ${mm}, faultFraction ${f}`)
    }
  }
})

t.test('spec: verification.confidence and faultFraction are validated and go together', async (t) => {
  const base = JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')) as Record<string, unknown> & { verification: Record<string, unknown> }
  const withV = (v: Record<string, unknown>) => ({ ...base, verification: { ...base.verification, ...v } })
  t.match(parseJobSpecStructure(withV({ confidence: 0.99, faultFraction: 0.1 })).verification, { mode: 'reexecution', samples: 2, confidence: 0.99, faultFraction: 0.1 })
  t.throws(() => parseJobSpecStructure(withV({ confidence: 0.99 })), /verification\.faultFraction: confidence and faultFraction go together/)
  t.throws(() => parseJobSpecStructure(withV({ faultFraction: 0.2 })), /verification\.confidence: confidence and faultFraction go together/)
  t.throws(() => parseJobSpecStructure(withV({ confidence: 1, faultFraction: 0.2 })), /verification\.confidence: must be at most/)
  t.throws(() => parseJobSpecStructure(withV({ confidence: 0.9, faultFraction: 0 })), /verification\.faultFraction: must be greater than 0/)
  t.notOk('confidence' in parseJobSpecStructure(base).verification, 'absent stays absent (the spec hash of existing specs is unchanged)')
  const spec = parseJobSpecStructure(withV({ confidence: 0.999, faultFraction: 0.05 }))
  t.equal(samplesFor(20, spec.verification), 20, 'a spec demanding 99.9 % against one forged segment in 20 re-executes all of them')
})
