import { Rng } from '../Rng.js'
import type { SimConfig } from './Simulator.js'

/**
 * The scenario of one seed in the long run and the CI property: everything but the size is
 * drawn from the seed — network delays, losses and reordering before GST, a partition (some
 * seeds), byzantine strategies, a faker without receipts and a validator whose work stops.
 */
export interface ScenarioSize {
  validators: number
  byzantine: number
  slots: number
}

export function scenarioFor(seed: number, size: ScenarioSize): SimConfig {
  const rng = new Rng(seed ^ 0x5eed)
  const partitioned = rng.chance(0.6)
  const from = rng.int(5, Math.max(6, Math.floor(size.slots / 3)))
  const len = rng.int(1, Math.max(2, Math.floor(size.slots / 4)))
  const groupA = [...Array(size.validators).keys()].filter(() => rng.chance(0.5))
  const heal = partitioned ? from + len : rng.int(1, 20)
  return {
    seed,
    validators: size.validators,
    byzantine: size.byzantine,
    slots: Math.max(size.slots, heal + 30),
    delayMs: [rng.int(5, 50), rng.int(100, 450)],
    dropRate: rng.int(0, 15) / 100,
    reorderRate: rng.int(0, 20) / 100,
    // Eventual synchrony: losses stop when the partition heals (delays and reordering stay).
    gstSlot: heal,
    partition: partitioned ? { fromSlot: from, toSlot: from + len, groupA } : undefined,
    fakers: rng.chance(0.5) ? 1 : 0,
    expiring: rng.chance(0.5) ? 1 : 0,
  }
}
