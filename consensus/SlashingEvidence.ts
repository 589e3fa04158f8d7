import { bytesToHex, equalBytes } from '../common/bytes.js'
import type { BlockHeader } from '../chain/Header.js'
import { recoverSealer } from '../chain/Seal.js'
import { voteSigner, type SignedVote } from './SignedVote.js'

/**
 * Native checks of equivocation evidence (issue 5). Each returns the offender's address when
 * the evidence proves the offence, or a reason why it does not. Applying the penalty (through
 * the ValidatorSet system contract) is the caller's business; these functions are pure.
 *
 * - Double production: two different headers for one slot, both sealed by their producer.
 * - Double vote: two votes by one validator for different blocks at one height.
 * - Surround vote: one validator's link s1 → t1 strictly surrounds its link s2 → t2
 *   (s1 < s2 < t2 < t1). Finality's safety proof needs this too, even though the issue's
 *   list names only the first two.
 */
export type EvidenceResult = { ok: true; offender: Uint8Array } | { ok: false; reason: string }

const no = (reason: string): EvidenceResult => ({ ok: false, reason })

function sealer(h: BlockHeader): Uint8Array | undefined {
  try {
    return recoverSealer(h)
  } catch {
    return undefined
  }
}

export function checkDoubleProduction(a: BlockHeader, b: BlockHeader): EvidenceResult {
  if (a.slot !== b.slot) return no(`headers are for slots ${a.slot} and ${b.slot}`)
  if (!equalBytes(a.producer, b.producer)) return no('headers name different producers')
  if (equalBytes(a.hash(), b.hash())) return no('the two headers are the same block')
  const sa = sealer(a)
  const sb = sealer(b)
  if (!sa || !equalBytes(sa, a.producer)) return no('the first header is not sealed by its producer')
  if (!sb || !equalBytes(sb, b.producer)) return no('the second header is not sealed by its producer')
  return { ok: true, offender: a.producer }
}

function signer(v: SignedVote): Uint8Array | undefined {
  try {
    return voteSigner(v)
  } catch {
    return undefined
  }
}

function sameSigner(a: SignedVote, b: SignedVote): Uint8Array | string {
  if (a.chainId !== b.chainId) return 'votes are for different chains'
  const sa = signer(a)
  const sb = signer(b)
  if (!sa || !sb) return 'a vote signature does not recover'
  if (!equalBytes(sa, sb)) return `votes are by different validators ${bytesToHex(sa)} and ${bytesToHex(sb)}`
  return sa
}

export function checkDoubleVote(a: SignedVote, b: SignedVote): EvidenceResult {
  if (a.targetHeight !== b.targetHeight) return no(`votes are for heights ${a.targetHeight} and ${b.targetHeight}`)
  if (equalBytes(a.target, b.target)) return no('votes are for the same block')
  const s = sameSigner(a, b)
  return typeof s === 'string' ? no(s) : { ok: true, offender: s }
}

export function checkSurroundVote(a: SignedVote, b: SignedVote): EvidenceResult {
  const [outer, inner] = a.sourceHeight < b.sourceHeight ? [a, b] : [b, a]
  if (!(outer.sourceHeight < inner.sourceHeight && inner.targetHeight < outer.targetHeight))
    return no(`link ${a.sourceHeight}→${a.targetHeight} does not surround ${b.sourceHeight}→${b.targetHeight} nor the reverse`)
  const s = sameSigner(a, b)
  return typeof s === 'string' ? no(s) : { ok: true, offender: s }
}
