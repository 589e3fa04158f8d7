import { parseArgs } from 'node:util'
import { checkProperties, PROPERTIES, quantile, type Property } from './Properties.js'
import { scenarioFor } from './Scenario.js'
import { runSimulation } from './Simulator.js'

/**
 * The long run of the abstract model (issue 5): `node --import tsx test/sim/abstract/run.ts --seeds 500 [--validators 7] [--byzantine 2] [--slots 200] [--from 0]`.
 * (`npm run sim` runs the simulator on the real engine, test/sim/run.ts.)
 * Runs one scenario per seed (Scenario.ts), checks every property (Properties.ts), prints
 * pass counts and time-to-finality statistics as JSON, and exits 1 naming the first failing
 * seed of each violated property.
 */
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    from: { type: 'string', default: '0' },
    validators: { type: 'string', default: '7' },
    byzantine: { type: 'string', default: '2' },
    slots: { type: 'string', default: '200' },
  },
})
const n = (k: keyof typeof values) => {
  const v = Number(values[k])
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${k} must be a non-negative integer, got ${values[k]}`)
  return v
}
const size = { validators: n('validators'), byzantine: n('byzantine'), slots: n('slots') }
if (size.validators < 1) throw new Error('--validators must be at least 1')

const passed = Object.fromEntries(PROPERTIES.map((p) => [p, 0])) as Record<Property, number>
const failures: { seed: number; property: Property; message: string }[] = []
const ttf: number[] = []
const ttfGood: number[] = []
const recovery: number[] = []
const slash: number[] = []
let neverRecovered = 0
let partitions = 0
let rejectedReceipts = 0
let rejectedIneligible = 0
let slashed = 0
let backupSlots = 0
const started = Date.now()
for (let seed = n('from'); seed < n('from') + n('seeds'); seed++) {
  const cfg = scenarioFor(seed, size)
  const r = runSimulation(cfg)
  const { violations, measurements: m } = checkProperties(r)
  for (const p of PROPERTIES) if (!violations.some((v) => v.property === p)) passed[p]++
  for (const v of violations) if (!failures.some((f) => f.property === v.property)) failures.push({ seed, ...v })
  for (const x of m.timeToFinality) ttf.push(x)
  // A good network all along: no partition and no losses.
  if (!cfg.partition && !cfg.dropRate) for (const x of m.timeToFinality) ttfGood.push(x)
  if (cfg.partition) {
    partitions++
    if (m.recoveryAfterHeal === undefined) neverRecovered++
    else recovery.push(m.recoveryAfterHeal)
  }
  slash.push(...m.slashDelays)
  slashed += r.ledger.includedAt.size
  rejectedReceipts += m.rejectedReceipts
  rejectedIneligible += m.rejectedIneligible
  backupSlots += m.backupSlots
  const done = seed - n('from') + 1
  if (done % 100 === 0) console.error(`${done} seeds, ${failures.length} properties violated, ${((Date.now() - started) / 1000).toFixed(0)} s`)
}
const stats = (xs: number[]) => ({
  samples: xs.length,
  median: quantile(xs, 0.5),
  p95: quantile(xs, 0.95),
  max: xs.length ? xs.reduce((a, b) => (b > a ? b : a)) : undefined,
})
console.log(
  JSON.stringify(
    {
      seeds: n('seeds'),
      from: n('from'),
      ...size,
      seconds: (Date.now() - started) / 1000,
      passed,
      violations: failures,
      timeToFinalitySlots: { all: stats(ttf), goodNetwork: stats(ttfGood) },
      recoveryAfterHealSlots: { partitions, ...stats(recovery), neverRecovered },
      slashing: { slashed, detectionToInclusionSlots: stats(slash) },
      rejectedBlocks: { badReceipt: rejectedReceipts, notEligible: rejectedIneligible },
      backupFilledFinalSlots: backupSlots,
    },
    null,
    2,
  ),
)
for (const f of failures) console.error(`seed ${f.seed} violates ${f.property}: ${f.message} (replay: node --import tsx test/sim/abstract/run.ts --from ${f.seed} --seeds 1 --validators ${size.validators} --byzantine ${size.byzantine} --slots ${size.slots})`)
if (failures.length > 0) process.exit(1)
