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
export const OPEN_FINDINGS: Record<string, string> = {}

export const EXPECTED_TODAY: Partial<Record<AttackName, Partial<Record<Property, string>>>> = {}

/** The memory test (a long run) failed on finding 7 before its fix. */
export const MEMORY_TODAY: string | false = false

export function isOpen(finding: number | string | undefined): boolean {
  return finding !== undefined && String(finding) in OPEN_FINDINGS
}
