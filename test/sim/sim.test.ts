import t from 'tap'
import { ATTACKS, type AttackName } from './Adversaries.js'
import { checkRecord, PROPERTIES, type Violation } from './Checks.js'
import { EXPECTED_TODAY, isOpen, MEMORY_TODAY, OPEN_FINDINGS } from './known.js'
import { attackScenario, attacksOf, DEFAULT_SIZE, randomScenario, type ScenarioSize } from './Scenario.js'
import { runSimulation, type SimConfig, type SimRecord } from './Simulation.js'

/**
 * The simulator on the real engine (issue 11, "What it must show"; test/sim/README.md):
 * every attack of the library on its own, each property a subtest (tap `todo` where today's
 * code fails it, with the finding: test/sim/known.ts); random scenarios, where a violation
 * with an unrecognised cause fails and recognised open findings are reported as todo; the
 * memory of a longer run; and determinism (same seed, same trace hash).
 * POV_SIM_RUNS sets the number of random scenarios (default 4), POV_SIM_FROM their first seed.
 */
const RANDOM_RUNS = Number(process.env.POV_SIM_RUNS ?? 4)
const RANDOM_FROM = Number(process.env.POV_SIM_FROM ?? 0)
const ATTACK_SIZE: ScenarioSize = { validators: 4, slots: 44 }
/** The seed each attack runs with (one where today's failures show). */
const ATTACK_SEED: Record<AttackName, number> = {
  equivocator: 1,
  'future-slots': 1,
  withholder: 1,
  'epoch-forker': 1,
  'receipt-namer': 1,
  'vote-spammer': 1,
  partition: 1,
  'late-joiner': 1,
}

const replayOf = (attack: AttackName | undefined, seed: number) => {
  const size = attack ? ATTACK_SIZE : DEFAULT_SIZE
  return `npm run sim -- ${attack ? `--attack ${attack} ` : ''}--seed ${seed} --validators ${size.validators} --slots ${size.slots}`
}

const notes = (rec: SimRecord, prefix: string) => [...rec.blocks.values()].filter((b) => b.note?.includes(prefix)).length

/** That the attack really took place (a property that holds because nothing happened proves nothing). */
function attackHappened(attack: AttackName, rec: SimRecord): [boolean, string] {
  const m = checkRecord(rec).measurements
  switch (attack) {
    case 'equivocator':
      return [notes(rec, 'equivocation') >= 2 && m.equivocationsSeen > 0, `${notes(rec, 'equivocation')} equivocating blocks, ${m.equivocationsSeen} reports by honest nodes`]
    case 'future-slots':
      return [notes(rec, 'future block') > 0, `${notes(rec, 'future block')} blocks published ahead of their slot`]
    case 'withholder':
      return [notes(rec, 'withheld') > 0, `${notes(rec, 'withheld')} withheld blocks`]
    case 'epoch-forker':
      return [notes(rec, 'skips epoch') > 0, `${notes(rec, 'skips epoch')} blocks on branches that skip an epoch`]
    case 'receipt-namer':
      return [notes(rec, 'of side A on side B') > 0, `${notes(rec, 'of side A on side B')} blocks naming the other branch's receipt`]
    case 'vote-spammer':
      return [rec.nonMemberVotesSeen > 0, `${rec.nonMemberVotesSeen} votes from keys outside the set reached honest nodes`]
    case 'partition':
      return [m.recoveryAfterHeal !== undefined, `finality resumed ${m.recoveryAfterHeal} slots after the heal`]
    case 'late-joiner': {
      const j = rec.finality.get('j0')?.at(-1)
      return [j !== undefined && j.height > 0n && j.head + 2n >= m.headHeight, `the joiner ends at head ${j?.head} (others ${m.headHeight}), finalized ${j?.height}`]
    }
  }
}

for (const attack of ATTACKS) {
  t.test(`${attack}: every property, on the real engine`, async (t) => {
    const cfg = attackScenario(attack, ATTACK_SEED[attack], ATTACK_SIZE)
    const rec = await runSimulation(cfg)
    const { violations, measurements: m } = checkRecord(rec)
    const replay = replayOf(attack, cfg.seed)
    const [happened, what] = attackHappened(attack, rec)
    t.ok(happened, `the attack took place: ${what}`)
    t.ok(m.finalizedHeight > 0n, `finality at all (finalized #${m.finalizedHeight} of head #${m.headHeight}); ${rec.wallSeconds.toFixed(1)} s`)
    for (const p of PROPERTIES) {
      const todo = EXPECTED_TODAY[attack]?.[p]
      const mine = violations.filter((v) => v.property === p)
      // A property an open finding breaks here only as a side effect is reported, not failed on.
      const sideEffect = !todo && mine.length > 0 && mine.every((v) => isOpen(v.finding)) ? mine.map((v) => OPEN_FINDINGS[String(v.finding)]).join('; ') : undefined
      for (const v of mine.slice(0, 3)) t.comment(`${p} (${v.finding ?? 'unrecognised cause'}): ${v.message}`)
      if (mine.length > 3) t.comment(`${p}: and ${mine.length - 3} more`)
      // Assertion-level todo: a known failure is still reported, with how to replay it.
      t.same(
        mine.map((v) => v.message),
        [],
        mine.length ? `${attack} breaks ${p} (${[...new Set(mine.map((v) => v.finding ?? 'unrecognised cause'))].join(', ')}); replay: ${replay}` : `${p} holds`,
        todo || sideEffect ? { todo: todo ?? `as a side effect of ${sideEffect}` } : {},
      )
    }
  })
}

t.test(`random scenarios (seeds ${RANDOM_FROM}…${RANDOM_FROM + RANDOM_RUNS - 1}): no violation without a known cause`, async (t) => {
  const unexpected: string[] = []
  const byFinding = new Map<string, string[]>()
  for (let seed = RANDOM_FROM; seed < RANDOM_FROM + RANDOM_RUNS; seed++) {
    const cfg = randomScenario(seed)
    const rec = await runSimulation(cfg)
    const { violations } = checkRecord(rec)
    const where = `seed ${seed} (${attacksOf(cfg).join(' + ') || 'no attack'}; replay: ${replayOf(undefined, seed)})`
    t.comment(`seed ${seed}: ${attacksOf(cfg).join(' + ') || 'no attack'}, ${rec.wallSeconds.toFixed(1)} s, ${violations.length} violations`)
    for (const v of violations as Violation[]) {
      const line = `${v.property} at ${where}: ${v.message}`
      if (isOpen(v.finding)) byFinding.set(String(v.finding), [...(byFinding.get(String(v.finding)) ?? []), line])
      else unexpected.push(line)
    }
  }
  t.same(unexpected, [], 'violations whose cause is not a known open finding')
  for (const [f, lines] of byFinding) {
    for (const l of lines.slice(0, 2)) t.comment(`finding ${f}: ${l}`)
    t.same(lines, [], `${lines.length} violations from finding ${f}`, { todo: OPEN_FINDINGS[f] })
  }
})

t.test('memory per node stays bounded over a longer run (with a vote spammer)', async (t) => {
  const cfg: SimConfig = { seed: 1, validators: 4, slots: 160, adversaries: ['vote-spammer'], pruneStates: true }
  const rec = await runSimulation(cfg)
  const { violations } = checkRecord(rec)
  const mem = violations.filter((v) => v.property === 'memory')
  t.comment(`${rec.wallSeconds.toFixed(1)} s; sizes at the end: ${JSON.stringify([...rec.memory.values()][0]?.at(-1)?.sizes)}`)
  for (const v of mem.slice(0, 3)) t.comment(v.message)
  t.same(mem.map((v) => v.message), [], `bounded maps (replay without the spammer: npm run sim -- --memory --seed 1 --slots 160)`, MEMORY_TODAY ? { todo: MEMORY_TODAY } : {})
})

t.test('a run is a pure function of its seed: same seed, same trace hash', async (t) => {
  const cfg: SimConfig = { seed: 11, validators: 4, slots: 20, adversaries: ['equivocator', 'vote-spammer'], partition: { fromSlot: 5, toSlot: 10, groupA: [0, 1] }, dropRate: 0.05, reorderRate: 0.1 }
  const a = await runSimulation(cfg)
  const b = await runSimulation({ ...cfg })
  t.equal(a.traceHash, b.traceHash, `seed 11 twice: ${a.traceHash.slice(0, 18)}…`)
  t.equal(a.blocks.size, b.blocks.size)
  const c = await runSimulation({ ...cfg, seed: 12 })
  t.not(c.traceHash, a.traceHash, 'another seed, another trace')
})
