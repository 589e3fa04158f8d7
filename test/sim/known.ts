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
  J: 'found by the simulator (not in issue 11): a justification only part of the network saw stalled finality for good. Headers now carry the votes behind their producer\'s justified block (consensus/HeaderVotes.ts), which fixed the epoch-forker case; a node that stays behind after a lossy partition heals (npm run sim -- --seed 106) still does not catch up in the window',
}

export const EXPECTED_TODAY: Partial<Record<AttackName, Partial<Record<Property, string>>>> = {}

/** The memory test (a long run) failed on finding 7 before its fix. */
export const MEMORY_TODAY: string | false = false

export function isOpen(finding: number | string | undefined): boolean {
  return finding !== undefined && String(finding) in OPEN_FINDINGS
}
