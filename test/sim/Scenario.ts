import { ADVERSARIES, ATTACKS, type AdversaryName, type AttackName } from './Adversaries.js'
import { Rng } from './Rng.js'
import type { SimConfig } from './Simulation.js'

/**
 * Scenarios: one per attack of the library (each attack alone, the way the CI test runs it),
 * and a random one per seed for the long run: honest validators, 0–2 adversaries, maybe a
 * partition that heals, maybe a node joining late, network delays and losses until GST.
 */
export interface ScenarioSize {
  validators: number
  slots: number
}

export const DEFAULT_SIZE: ScenarioSize = { validators: 4, slots: 48 }

/** The attack on its own, with what it needs (the branch attacks need a partition that stalls finality). */
export function attackScenario(attack: AttackName, seed: number, size: ScenarioSize = DEFAULT_SIZE): SimConfig {
  const base: SimConfig = { seed, validators: size.validators, slots: size.slots }
  const half = Array.from({ length: Math.floor(size.validators / 2) }, (_, i) => i)
  const split = { fromSlot: 6, toSlot: Math.min(size.slots - 16, 26), groupA: half }
  switch (attack) {
    case 'equivocator':
    case 'future-slots':
    case 'withholder':
    case 'vote-spammer':
      return { ...base, adversaries: [attack] }
    case 'epoch-forker':
    case 'receipt-namer':
      return { ...base, adversaries: [attack], partition: split }
    case 'partition':
      return { ...base, partition: split }
    case 'late-joiner':
      return { ...base, lateJoiner: { atSlot: Math.floor(size.slots / 3) } }
  }
}

/** The random scenario of a seed. */
export function randomScenario(seed: number, size: ScenarioSize = DEFAULT_SIZE): SimConfig {
  const rng = new Rng(seed ^ 0x51ed)
  const adversaries: AdversaryName[] = []
  const n = rng.int(0, 2)
  for (let i = 0; i < n; i++) adversaries.push(ADVERSARIES[rng.int(0, ADVERSARIES.length - 1)]!)
  const needsSplit = adversaries.some((a) => a === 'epoch-forker' || a === 'receipt-namer')
  const partitioned = needsSplit || rng.chance(0.4)
  const from = rng.int(4, Math.max(5, Math.floor(size.slots / 4)))
  const len = rng.int(6, Math.max(7, Math.floor(size.slots / 3)))
  const groupA = Array.from({ length: size.validators }, (_, i) => i).filter(() => rng.chance(0.5))
  if (groupA.length === 0) groupA.push(0)
  if (groupA.length === size.validators) groupA.pop()
  const heal = partitioned ? from + len : rng.int(1, 12)
  const late = rng.chance(0.3) ? { atSlot: rng.int(Math.floor(size.slots / 3), Math.floor((2 * size.slots) / 3)) } : undefined
  return {
    seed,
    validators: size.validators,
    slots: Math.max(size.slots, heal + 24),
    adversaries,
    delayMs: [rng.int(5, 50), rng.int(100, 450)],
    dropRate: rng.int(0, 10) / 100,
    reorderRate: rng.int(0, 20) / 100,
    // Losses stop when the partition heals (delays and reordering stay).
    gstSlot: heal,
    partition: partitioned ? { fromSlot: from, toSlot: from + len, groupA } : undefined,
    lateJoiner: late,
  }
}

/** The attacks a config mounts (for reports). */
export function attacksOf(cfg: SimConfig): AttackName[] {
  const out: AttackName[] = [...(cfg.adversaries ?? [])]
  if (cfg.partition) out.push('partition')
  if (cfg.lateJoiner) out.push('late-joiner')
  return out.filter((a, i) => out.indexOf(a) === i && (ATTACKS as readonly string[]).includes(a))
}
