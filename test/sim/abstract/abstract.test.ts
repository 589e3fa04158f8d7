import t, { type Test } from 'tap'
import fc from 'fast-check'
import { EQUIVOCATIONS, type Strategy } from './Byzantine.js'
import { checkProperties, checkSafety, quantile } from './Properties.js'
import { scenarioFor } from './Scenario.js'
import { runSimulation, type SimConfig } from './Simulator.js'

/**
 * The deterministic consensus simulator (issue 5, "What it must show"): the five properties
 * over many seeded scenarios, each byzantine strategy on its own, the tightness of the 1/3
 * bound, and determinism. POV_ABSTRACT_RUNS raises the number of random scenarios (default 25);
 * `node --import tsx test/sim/abstract/run.ts --seeds N` is the long run. This is the abstract
 * model of issue 5 (a re-implementation of the header rules); the simulator on the real engine
 * is test/sim/Simulation.ts (test/sim/README.md says what each covers).
 */
const RUNS = Number(process.env.POV_ABSTRACT_RUNS ?? 25)

const noViolations = (t: Test, cfg: SimConfig, opts = {}) => {
  const r = runSimulation(cfg)
  const p = checkProperties(r, opts)
  t.same(p.violations, [], `seed ${cfg.seed}: no property violated`)
  return { r, m: p.measurements }
}

t.test('all properties hold over random scenarios: delays, drops, reordering, partitions, mixed byzantine strategies below 1/3, fakers, expiring work', async (t) => {
  const started = Date.now()
  let runs = 0
  const failures: string[] = []
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 4, max: 7 }),
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 60, max: 100 }),
      (seed, validators, byzantine, slots) => {
        runs++
        const cfg = scenarioFor(seed, { validators, byzantine, slots })
        const { violations } = checkProperties(runSimulation(cfg))
        if (violations.length > 0) failures.push(`seed ${seed} (${validators}/${byzantine}/${slots}): ${JSON.stringify(violations)}`)
        return violations.length === 0
      },
    ),
    { numRuns: RUNS },
  )
  t.same(failures, [])
  t.equal(runs, RUNS, `${runs} scenarios in ${Date.now() - started} ms`)
})

t.test('time to finality in a good network is at most 2 slots (median) and stays near it (p95)', async (t) => {
  const ttf: number[] = []
  for (let seed = 0; seed < 4; seed++) ttf.push(...noViolations(t, { seed, validators: 7, slots: 60, delayMs: [10, 300] }).m.timeToFinality)
  const median = quantile(ttf, 0.5)!
  const p95 = quantile(ttf, 0.95)!
  t.ok(ttf.length > 200, `${ttf.length} finalizations measured`)
  t.ok(median <= 2, `median ${median} slots`)
  t.ok(p95 <= 2.5, `p95 ${p95} slots`)
})

t.test('a partition with neither side above 2/3 stops finality, never safety; finality resumes within a few slots of the heal', async (t) => {
  const cfg: SimConfig = { seed: 7, validators: 6, slots: 70, equalWeights: true, partition: { fromSlot: 10, toSlot: 40, groupA: [0, 1, 2] } }
  const { r, m } = noViolations(t, cfg)
  for (const n of r.honest) {
    const f = r.finalizedHeights.get(n.id)!
    t.ok(f[35]! - f[15]! <= 1n, `${n.id} does not finalize while split (${f[15]} → ${f[35]})`)
    t.ok(f.at(-1)! > f[39]! + 20n, `${n.id} finalizes again after the heal (${f[39]} → ${f.at(-1)})`)
  }
  t.ok(m.recoveryAfterHeal !== undefined && m.recoveryAfterHeal <= 4, `recovered ${m.recoveryAfterHeal} slots after the heal`)
})

for (const strategy of EQUIVOCATIONS) {
  t.test(`${strategy}: every equivocation is judged by the real SlashingEvidence checks, included, and the offender is out of the next snapshot`, async (t) => {
    for (let seed = 1; seed <= 3; seed++) {
      const { r, m } = noViolations(t, { seed, validators: 7, byzantine: 2, strategies: [strategy], slots: 50, dropRate: 0.05, gstSlot: 10 })
      t.ok(r.equivocators.size > 0, `seed ${seed}: someone equivocated`)
      for (const [who] of r.equivocators) {
        const at = r.ledger.includedAt.get(who)
        t.ok(at !== undefined, `seed ${seed}: ${who} slashed (at slot ${at})`)
        // Slashed during epoch L: out of the snapshot for L+2, the next one taken (as ValidatorSet.sol).
        const next = BigInt(Math.floor(at! / 8) + 2)
        t.equal(r.weights.of(next).get(who), 0n, `${who} has no weight in epoch ${next}`)
        t.ok(r.weights.of(next - 1n).get(who)! > 0n, `${who} still had weight in epoch ${next - 1n}, whose snapshot was already taken`)
      }
      t.ok(m.slashDelays.every((d) => d <= 16), `slashed within ${Math.max(...m.slashDelays)} slots of detection`)
    }
  })
}

t.test('withholding leaders: backups fill the silent slots and finality keeps up', async (t) => {
  let backups = 0
  for (let seed = 1; seed <= 3; seed++) backups += noViolations(t, { seed, validators: 7, byzantine: 2, strategies: ['withhold'], slots: 60 }).m.backupSlots
  t.ok(backups > 5, `${backups} final slots filled by backups`)
})

t.test('fake receipts and expired work never make a canonical block: honest nodes refuse the headers', async (t) => {
  let badReceipt = 0
  let notEligible = 0
  for (let seed = 1; seed <= 4; seed++) {
    const { r, m } = noViolations(t, { seed, validators: 7, byzantine: 1, strategies: ['fake-receipt'], fakers: 1, expiring: 1, slots: 80 })
    badReceipt += m.rejectedReceipts
    notEligible += m.rejectedIneligible
    const expired = [...r.behaviours].find(([, b]) => !b.honest && b.strategies.has('stale-receipt' as Strategy))![0]
    t.equal(r.receipts.liveWeight(expired, 80), 0n, `${expired}'s weight decayed to zero`)
  }
  t.ok(badReceipt > 0, `${badReceipt} headers refused for their receipt`)
  t.ok(notEligible > 0, `${notEligible} headers refused from producers without weight`)
})

t.test('the 1/3 bound is tight: split-brain with ≥ 1/3 of the weight finalizes conflicting blocks; below 1/3 it cannot', async (t) => {
  const split = (byzantine: number, seed: number, toSlot = 41): SimConfig => ({
    seed,
    validators: 7,
    byzantine,
    aboveThird: true,
    equalWeights: true,
    strategies: ['split-brain'],
    slots: 40,
    partition: { fromSlot: 1, toSlot, groupA: [3, 4] },
  })
  let conflicts = 0
  for (let seed = 0; seed < 3; seed++) if (checkSafety(runSimulation(split(3, seed)))) conflicts++
  t.ok(conflicts > 0, `3 of 7 equal validators (43%): conflicting finalizations in ${conflicts} of 3 seeds`)
  for (let seed = 0; seed < 3; seed++) {
    const r = runSimulation(split(2, seed))
    t.equal(checkSafety(r), undefined, `2 of 7 (29%), seed ${seed}: safe`)
    t.ok(r.honest.some((n) => n.tracker.finalized.height === 0n), 'the side without 2/3 stops finalizing (liveness degrades, safety holds)')
  }
  // Accountable safety: once the sides meet, the split-brain validators' double votes reach honest nodes and are slashed.
  const healed = runSimulation({ ...split(3, 0, 20), slots: 40 })
  t.ok(checkSafety(healed) !== undefined, 'conflict before the heal')
  for (const id of ['v0', 'v1', 'v2']) t.ok(healed.ledger.includedAt.has(id), `${id} slashed after the heal (slot ${healed.ledger.includedAt.get(id)})`)
})

t.test('negative controls: honest nodes that skip the receipt check, or ignore evidence, make the properties fail', async (t) => {
  const receipts = runSimulation({ seed: 1, validators: 7, byzantine: 1, strategies: ['fake-receipt'], fakers: 1, slots: 60, sabotage: 'no-receipt-check' })
  const pr = checkProperties(receipts).violations.map((v) => v.property)
  t.ok(pr.includes('receipts'), `fake receipts become canonical without the check (${pr.join(', ')})`)
  const evidence = runSimulation({ seed: 1, validators: 7, byzantine: 2, strategies: ['double-vote'], slots: 60, sabotage: 'no-evidence' })
  const pe = checkProperties(evidence).violations.map((v) => v.property)
  t.ok(pe.includes('slashing'), `equivocations go unpunished without evidence handling (${pe.join(', ')})`)
})

t.test('a run is a pure function of its seed: same seed, same trace hash', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
      const cfg = scenarioFor(seed, { validators: 5, byzantine: 1, slots: 40 })
      const a = runSimulation(cfg)
      const b = runSimulation(cfg)
      return a.traceHash === b.traceHash && [...a.blocks.keys()].join() === [...b.blocks.keys()].join()
    }),
    { numRuns: 5 },
  )
  const base = scenarioFor(3, { validators: 5, byzantine: 1, slots: 40 })
  t.not(runSimulation(base).traceHash, runSimulation({ ...base, seed: 4 }).traceHash, 'another seed, another trace')
})
