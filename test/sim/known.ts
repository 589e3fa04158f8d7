import type { AttackName } from './Adversaries.js'
import type { Property } from './Checks.js'

/**
 * What fails on today's code, and why. Flip an entry (delete it) when the fix lands: the test
 * then insists the property holds.
 *
 * OPEN_FINDINGS: causes that Checks.ts recognises (Violation.finding) and that are not fixed
 * yet; a violation with another cause, or with none, fails the suite at once.
 * EXPECTED_TODAY: the (attack, property) pairs of sim.test.ts that fail today, with the finding
 * that breaks them (tap `todo`).
 */
export const OPEN_FINDINGS: Record<string, string> = {
  '1': 'issue 11 finding 1: the receipt check leaks across branches (ProofOfValueEngine.finalReceipts by session id)',
  '2': 'issue 11 finding 2: the validator set of a skipped epoch (cached by epoch:anchor, read at the parent state)',
  '3': 'issue 11 finding 3: a block for a future slot silences the producers of the slots before it',
  '5': 'issue 11 finding 5: votes and evidence from keys that are in no validator set',
  '7': 'issue 11 finding 7: FinalityTracker and ChainService.inTurn are never pruned',
  J: 'found by the simulator (not in issue 11): a justification only part of the network saw stalls finality for good after a partition heals',
}

export const EXPECTED_TODAY: Partial<Record<AttackName, Partial<Record<Property, string>>>> = {
  'future-slots': { silenced: 'issue 11 finding 3 (and 2: a future block that skips an epoch poisons the set)', verdict: 'issue 11 finding 2 (via the skipped epoch of the future block)' },
  'epoch-forker': {
    verdict: 'issue 11 finding 2',
    liveness: 'found by the simulator, not in issue 11 (J): the forker relays its own blocks across the partition, one side learns a justification the other never sees, finality never resumes',
  },
  'receipt-namer': { verdict: 'issue 11 finding 1' },
  'vote-spammer': { membership: 'issue 11 finding 5' },
}

/** The memory test (a long run) fails on finding 7. */
export const MEMORY_TODAY: string | false = 'issue 11 finding 7'

export function isOpen(finding: number | string | undefined): boolean {
  return finding !== undefined && String(finding) in OPEN_FINDINGS
}
