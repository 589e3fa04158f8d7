import type { Adversary } from './adversaries/Adversary.js'
import { EpochForker } from './adversaries/EpochForker.js'
import { Equivocator } from './adversaries/Equivocator.js'
import { FutureSlots } from './adversaries/FutureSlots.js'
import { ReceiptNamer } from './adversaries/ReceiptNamer.js'
import { VoteSpammer } from './adversaries/VoteSpammer.js'
import { Withholder } from './adversaries/Withholder.js'

export type { Adversary, AdversaryContext } from './adversaries/Adversary.js'

/**
 * The adversary library: each strategy is a byzantine node's behaviour on top of a real chain
 * of its own (it imports what it receives like everyone, so it sees what honest nodes see) and
 * the Forge (blocks on any parent, for any slot); one module per strategy in adversaries/.
 * Scenario-level adversaries — a partition that heals, a node joining late from genesis — are
 * SimConfig fields (Simulation.ts).
 */
export const ADVERSARIES = ['equivocator', 'future-slots', 'withholder', 'epoch-forker', 'receipt-namer', 'vote-spammer'] as const
export type AdversaryName = (typeof ADVERSARIES)[number]
/** Every attack the library can mount, including the two that are network / membership events. */
export const ATTACKS = [...ADVERSARIES, 'partition', 'late-joiner'] as const
export type AttackName = (typeof ATTACKS)[number]

export function makeAdversary(name: AdversaryName, seed: number): Adversary {
  switch (name) {
    case 'equivocator':
      return new Equivocator()
    case 'future-slots':
      return new FutureSlots()
    case 'withholder':
      return new Withholder()
    case 'epoch-forker':
      return new EpochForker()
    case 'receipt-namer':
      return new ReceiptNamer()
    case 'vote-spammer':
      return new VoteSpammer(seed)
  }
}
