import t from 'tap'
import { randomBytes } from 'node:crypto'
import type { Hash32 } from '../ContentHash.js'
import { contentHash } from '../ContentHash.js'
import { checkpointSteps } from '../execution/CheckpointSchedule.js'
import { executeJob, prepareJob } from '../execution/JobExecution.js'
import type { JobSpec } from '../spec/JobSpec.js'
import { merkleProof } from '../verify/CheckpointMerkle.js'
import { ReexecutionVerifier, type CheckpointSource } from '../verify/ReexecutionVerifier.js'
import { detectionProbability, sampleSegments } from '../verify/SegmentSampler.js'
import { samplesDue } from '../verify/SamplingPolicy.js'
import { buildCommitment, checkpointHash, metricsHash, type SessionCommitment } from '../verify/SessionCommitment.js'
import type { WorkloadInputs } from '../workloads/Workload.js'
import { jobSpecHash } from '../spec/JobSpec.js'
import { irisBytes, irisSpec } from './helpers.js'

interface Session {
  commitment: SessionCommitment
  states: Uint8Array[]
  leaves: Hash32[]
  result: Uint8Array
}

function sourceOf(s: { states: Uint8Array[]; leaves: Hash32[] }, tamper?: (i: number, st: Uint8Array) => Uint8Array): CheckpointSource {
  return {
    checkpoint: async (i) => ({ hash: s.leaves[i]!, state: tamper ? tamper(i, s.states[i]!) : s.states[i]!, proof: merkleProof(s.leaves, i) }),
  }
}

function honest(spec: JobSpec, inputs: WorkloadInputs): Session {
  const r = executeJob(spec, inputs)
  return { commitment: r.commitment, states: r.checkpoints.map((c) => c.state), leaves: r.checkpoints.map((c) => c.hash), result: r.result }
}

/** A cheating worker: for the segments in `skip` it does no training, just advances the step counter, then carries on. */
function forged(spec: JobSpec, inputs: WorkloadInputs, skip: Set<number>): Session {
  const prepared = prepareJob(spec, inputs)
  const schedule = checkpointSteps(prepared.totalSteps, spec.checkpointInterval)
  const state = prepared.init() as { step: number }
  const states = [prepared.encode(state)]
  for (let k = 1; k < schedule.length; k++) {
    if (skip.has(k - 1)) state.step = schedule[k]!
    else while (state.step < schedule[k]!) prepared.step(state)
    states.push(prepared.encode(state))
  }
  const fin = prepared.finish(state)
  const leaves = states.map(checkpointHash)
  const commitment = buildCommitment({ specHash: jobSpecHash(spec), checkpointInterval: spec.checkpointInterval, totalSteps: prepared.totalSteps, checkpoints: leaves, resultHash: contentHash(fin.output), metricsHash: metricsHash(fin.metrics) })
  return { commitment, states, leaves, result: fin.output }
}

const spec = irisSpec({ params: { epochs: 20, batchSize: 16 }, checkpointInterval: 8 }) // 160 steps, 20 segments
const inputs = { dataset: irisBytes }
const verifier = new ReexecutionVerifier()
const all = new ReexecutionVerifier({ samples: 1000 })

t.test('an honest session is accepted at ≤ 10% of the work with the spec\'s policy', async (t) => {
  const s = honest(spec, inputs)
  const rep = await verifier.verify({ spec, inputs, commitment: s.commitment, randomness: '0x01', source: sourceOf(s) })
  t.equal(rep.verdict, 'accept')
  t.equal(rep.segmentCount, 20)
  t.equal(rep.segments.length, 2)
  t.ok(rep.costFraction <= 0.1, `cost ${rep.costFraction}`)
  t.equal((await all.verify({ spec, inputs, commitment: s.commitment, randomness: 'x', source: sourceOf(s) })).verdict, 'accept', 'every segment replays')
})

t.test('a tampered checkpoint is caught', async (t) => {
  const s = honest(spec, inputs)
  const flip = (i: number, st: Uint8Array) => {
    if (i !== 7) return st
    const c = st.slice()
    c[40]! ^= 1
    return c
  }
  const rep = await all.verify({ spec, inputs, commitment: s.commitment, randomness: 'r', source: sourceOf(s, flip) })
  t.equal(rep.verdict, 'reject')
  t.equal(rep.evidence!.reason, 'checkpoint-hash')
  t.equal(rep.evidence!.checkpoint, 7)
  t.equal(rep.evidence!.segment, 6, 'the first sampled segment that touches it')
  // Tampering consistently (new leaf hash) breaks the Merkle proof instead.
  const leaves = [...s.leaves]
  const states = [...s.states]
  states[7] = flip(7, states[7]!)
  leaves[7] = checkpointHash(states[7]!)
  const src: CheckpointSource = { checkpoint: async (i) => ({ hash: leaves[i]!, state: states[i]!, proof: merkleProof(s.leaves, i) }) }
  const rep2 = await all.verify({ spec, inputs, commitment: s.commitment, randomness: 'r', source: src })
  t.equal(rep2.evidence?.reason, 'merkle-proof')
})

t.test('a skipped segment is caught with evidence (segment, expected, got)', async (t) => {
  const s = forged(spec, inputs, new Set([5]))
  const rep = await all.verify({ spec, inputs, commitment: s.commitment, randomness: 'r', source: sourceOf(s) })
  t.equal(rep.verdict, 'reject')
  t.equal(rep.evidence!.reason, 'segment-mismatch')
  t.equal(rep.evidence!.segment, 5)
  t.equal(rep.evidence!.got, s.leaves[6])
  t.not(rep.evidence!.expected, rep.evidence!.got)
})

t.test('a reject names every forged segment it re-executed (revealFindings), not only the first; the market\'s round size raises the sample to samplesDue', async (t) => {
  const s = forged(spec, inputs, new Set([3, 5, 11]))
  const rep = await all.verify({ spec, inputs, commitment: s.commitment, randomness: 'r', source: sourceOf(s) })
  t.equal(rep.verdict, 'reject')
  t.equal(rep.evidence!.segment, 3, 'the evidence is the first found')
  t.same(rep.forged, [3, 5, 11], 'every forged segment of the sample, ascending')
  const honestRep = await all.verify({ spec, inputs, commitment: honest(spec, inputs).commitment, randomness: 'r', source: sourceOf(honest(spec, inputs)) })
  t.same(honestRep.forged, [], 'an honest session: none')
  const m = s.commitment.checkpointCount - 1
  const one = await verifier.verify({ spec, inputs, commitment: s.commitment, randomness: 'r', source: sourceOf(s), verifiers: 1 })
  t.equal(one.samples, samplesDue(m, 1), `one verifier of ${m} segments re-executes samplesDue(${m}, 1) = ${samplesDue(m, 1)}`)
  t.same(one.forged, [3, 5, 11].filter((x) => one.segments.includes(x)), 'and names every forged one its sample held')
})

t.test('a wrong result, wrong metrics, a forged start and a wrong spec are caught', async (t) => {
  const s = honest(spec, inputs)
  const recommit = (patch: Partial<Parameters<typeof buildCommitment>[0]>) =>
    buildCommitment({ specHash: s.commitment.specHash, checkpointInterval: 8, totalSteps: 160, checkpoints: s.leaves, resultHash: s.commitment.resultHash, metricsHash: s.commitment.metricsHash, ...patch })
  const wrongResult = recommit({ resultHash: contentHash(new TextEncoder().encode('a better model, trust me')) })
  t.equal((await verifier.verify({ spec, inputs, commitment: wrongResult, randomness: 'r', source: sourceOf(s) })).evidence?.reason, 'result-mismatch')
  const wrongMetrics = recommit({ metricsHash: contentHash(new TextEncoder().encode('{"testAccuracy":1}')) })
  t.equal((await verifier.verify({ spec, inputs, commitment: wrongMetrics, randomness: 'r', source: sourceOf(s) })).evidence?.reason, 'metrics-mismatch')
  const other = irisSpec({ seed: 999, params: { epochs: 20, batchSize: 16 }, checkpointInterval: 8 })
  t.equal((await verifier.verify({ spec: other, inputs, commitment: s.commitment, randomness: 'r', source: sourceOf(s) })).evidence?.reason, 'spec-mismatch')
  // A worker that starts from someone else's initialisation.
  const o = honest(other, inputs)
  const mixed = { states: [o.states[0]!, ...s.states.slice(1)], leaves: [o.leaves[0]!, ...s.leaves.slice(1)] }
  const c = recommit({ checkpoints: mixed.leaves })
  t.equal((await verifier.verify({ spec, inputs, commitment: c, randomness: 'r', source: sourceOf(mixed) })).evidence?.reason, 'bad-initial-state')
  const missing: CheckpointSource = { checkpoint: async () => Promise.reject(new Error('gone')) }
  t.equal((await verifier.verify({ spec, inputs, commitment: s.commitment, randomness: 'r', source: missing })).evidence?.reason, 'checkpoint-unavailable')
})

t.test('detection probability matches 1 − C(m−k,s)/C(m,s) (stated in the README)', async (t) => {
  const m = 20
  const k = 2
  const s = 4
  const p = detectionProbability(m, k, s)
  t.ok(Math.abs(p - (1 - 3060 / 4845)) < 1e-12, `formula ${p}`)
  t.ok(Math.abs(detectionProbability(m, k, s, 3) - (1 - Math.pow(3060 / 4845, 3))) < 1e-12)
  // Sampler alone, many trials: tight bound.
  const faked = new Set([3, 17])
  let hits = 0
  const trials = 20000
  const commitment = ('0x' + 'ab'.repeat(32)) as Hash32
  for (let i = 0; i < trials; i++) if (sampleSegments(`seed-${i}`, commitment, m, s).some((x) => faked.has(x))) hits++
  const sd = Math.sqrt((p * (1 - p)) / trials)
  t.ok(Math.abs(hits / trials - p) < 4 * sd, `sampler detection ${hits / trials} vs ${p.toFixed(4)}`)
  // End to end, real re-execution against a cheating worker.
  const cheat = forged(spec, inputs, faked)
  const v = new ReexecutionVerifier({ samples: s })
  let caught = 0
  const n = 150
  for (let i = 0; i < n; i++) {
    const rep = await v.verify({ spec, inputs, commitment: cheat.commitment, randomness: randomBytes(16), source: sourceOf(cheat) })
    if (rep.verdict === 'reject') {
      caught++
      t.equal(rep.evidence!.reason, 'segment-mismatch')
    }
  }
  const sdE = Math.sqrt((p * (1 - p)) / n)
  t.ok(Math.abs(caught / n - p) < 4 * sdE, `end-to-end detection ${caught / n} vs ${p.toFixed(4)}`)
})
