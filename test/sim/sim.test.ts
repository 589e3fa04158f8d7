import t from 'tap'
import fc from 'fast-check'
import { runSimulation, type SimConfig, type SimResult } from './Simulator.js'
import type { SimBlock } from './SimNode.js'

function isAncestor(blocks: ReadonlyMap<string, SimBlock>, a: string, b: string): boolean {
  const A = blocks.get(a)!
  let B = blocks.get(b)
  while (B && B.height > A.height) B = blocks.get(B.parent)
  return B?.hash === a
}

/** Safety: among honest nodes, all finalized blocks lie on one chain and no node's finalized block ever moved off its chain. */
function safetyViolation(r: SimResult): string | undefined {
  const all = new Set<string>()
  for (const n of r.honest) {
    if (n.tracker.conflicts.length > 0) return `${n.id} saw a conflicting finalization`
    const h = n.finalizedHistory
    for (let i = 1; i < h.length; i++) if (!isAncestor(r.blocks, h[i - 1]!, h[i]!)) return `${n.id} reverted finalized ${h[i - 1]} for ${h[i]}`
    for (const x of h) all.add(x)
  }
  const sorted = [...all].sort((a, b) => Number(r.blocks.get(a)!.height - r.blocks.get(b)!.height))
  const top = sorted[sorted.length - 1]!
  for (const x of sorted) if (!isAncestor(r.blocks, x, top)) return `finalized ${x} conflicts with finalized ${top}`
  for (const n of r.honest) for (const e of n.evidence) if (!r.byzantine.includes(e)) return `${n.id} holds evidence against honest ${e}`
  return undefined
}

const arbConfig = fc
  .record({
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    validators: fc.integer({ min: 4, max: 7 }),
    byzantine: fc.integer({ min: 0, max: 2 }),
    dropPercent: fc.integer({ min: 0, max: 10 }),
    from: fc.integer({ min: 2, max: 15 }),
    len: fc.integer({ min: 0, max: 15 }),
    groupMask: fc.integer({ min: 0, max: 127 }),
    maxDelay: fc.integer({ min: 50, max: 300 }),
  })
  .map(
    (c): SimConfig & { healSlot: number } => ({
      seed: c.seed,
      validators: c.validators,
      byzantine: c.byzantine,
      dropRate: c.dropPercent / 100,
      delayMs: [10, c.maxDelay],
      slots: c.from + c.len + 25,
      partition: { fromSlot: c.from, toSlot: c.from + c.len, groupA: [...Array(c.validators).keys()].filter((i) => (c.groupMask >> i) & 1) },
      // Eventual synchrony: losses stop when the partition heals (delays stay random).
      gstSlot: c.from + c.len,
      healSlot: c.from + c.len,
    }),
  )

t.test('safety and liveness over many seeds: delays, drops, a partition, byzantine equivocators below 1/3', async (t) => {
  const started = Date.now()
  let runs = 0
  fc.assert(
    fc.property(arbConfig, (cfg) => {
      runs++
      const r = runSimulation(cfg)
      const bad = safetyViolation(r)
      if (bad) throw new Error(bad)
      // Liveness: every honest node finalizes past what anyone had finalized when the partition healed, and keeps up with its head.
      const healIdx = cfg.healSlot - 1
      const atHeal = Math.max(...r.honest.map((n) => Number(r.finalizedHeights.get(n.id)![healIdx])))
      for (const n of r.honest) {
        const fin = r.finalizedHeights.get(n.id)!.at(-1)!
        const head = r.headHeights.get(n.id)!.at(-1)!
        if (Number(fin) <= atHeal) throw new Error(`${n.id} finalized nothing after the heal (at ${fin}, ${atHeal} at heal)`)
        if (head - fin > 12n) throw new Error(`${n.id} finality lags its head by ${head - fin}`)
      }
    }),
    { numRuns: Number(process.env.POV_SIM_RUNS ?? 200) },
  )
  t.pass(`${runs} runs in ${Date.now() - started} ms`)
})

t.test('more than 1/3 partitioned away stops finality but never safety; it resumes after the heal', async (t) => {
  const r = runSimulation({ seed: 7, validators: 6, slots: 70, partition: { fromSlot: 10, toSlot: 40, groupA: [0, 1, 2] } })
  t.equal(safetyViolation(r), undefined)
  const sideA = ['v0', 'v1', 'v2'].reduce((s, id) => s + r.weights.get(id)!, 0n)
  t.ok(3n * sideA <= 2n * r.totalWeight && 3n * (r.totalWeight - sideA) <= 2n * r.totalWeight, 'neither side holds more than 2/3')
  for (const n of r.honest) {
    const f = r.finalizedHeights.get(n.id)!
    t.ok(f[35]! - f[15]! <= 1n, `${n.id} does not finalize while split (${f[15]} → ${f[35]})`)
    t.ok(f.at(-1)! > f[39]! + 20n, `${n.id} finalizes again after the heal (${f[39]} → ${f.at(-1)})`)
  }
})

t.test('equivocators are caught: honest nodes hold evidence against every byzantine validator that equivocated', async (t) => {
  const r = runSimulation({ seed: 11, validators: 7, slots: 60, byzantine: 2 })
  t.ok(r.equivocators.size > 0, 'someone equivocated')
  for (const e of r.equivocators) t.ok(r.honest.some((n) => n.evidence.has(e)), `${e} is caught`)
  t.equal(safetyViolation(r), undefined)
  t.ok(3n * r.byzantineWeight < r.totalWeight, 'byzantine weight stays below 1/3')
})

t.test('a run is a pure function of its config', async (t) => {
  const cfg: SimConfig = { seed: 3, validators: 5, slots: 30, byzantine: 1, dropRate: 0.05, partition: { fromSlot: 5, toSlot: 12, groupA: [0, 3] } }
  const a = runSimulation(cfg)
  const b = runSimulation(cfg)
  t.same([...a.blocks.keys()], [...b.blocks.keys()])
  t.same([...a.finalizedHeights], [...b.finalizedHeights])
})
