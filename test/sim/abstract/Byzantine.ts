/**
 * What a byzantine validator does (any combination):
 * - double-produce: as leader, two blocks for the slot, each sent to half of the network;
 * - double-vote: besides its head, a vote for another block at the same height (a sibling if
 *   it knows one, else a made-up target);
 * - surround-vote: a link from an older justified block over its earlier votes (s1 < s2 < t2 < t1);
 * - withhold: as leader, produce nothing (backups must take over);
 * - fake-receipt: headers name another validator's receipt or one that does not exist;
 * - stale-receipt: headers name its newest receipt even when it is no longer final-and-young
 *   (a careless node whose work stopped; its weight decays to zero);
 * - split-brain: with a partition, relay nothing across it, answer no requests, and vote for
 *   each side's head, sending each vote only to that side (the ≥ 1/3 attack on FFG safety).
 */
export const STRATEGIES = ['double-produce', 'double-vote', 'surround-vote', 'withhold', 'fake-receipt'] as const
export type Strategy = (typeof STRATEGIES)[number] | 'stale-receipt' | 'split-brain'

export type Behaviour = { honest: true } | { honest: false; strategies: ReadonlySet<Strategy> }

export const HONEST: Behaviour = { honest: true }

export function byzantine(...s: Strategy[]): Behaviour {
  return { honest: false, strategies: new Set(s) }
}

export function does(b: Behaviour, s: Strategy): boolean {
  return !b.honest && b.strategies.has(s)
}

/** Strategies that leave slashable evidence. */
export const EQUIVOCATIONS: readonly Strategy[] = ['double-produce', 'double-vote', 'surround-vote']
