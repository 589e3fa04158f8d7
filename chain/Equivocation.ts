import { bytesToHex, equalBytes } from '../common/bytes.js'
import { attestationSigner, type Attestation } from './Attestation.js'
import type { BlockHeader } from './Header.js'
import { recoverSealer } from './Seal.js'

/**
 * Pure checks of equivocation evidence (issue 5). They live in chain/ because both consensus
 * (which gossips and includes evidence) and the EVM's evidence precompile (vm/, which may
 * import chain/ only) must reach the same verdict on the same bytes. Each returns the
 * offender's address when the evidence proves the offence, or a reason why it does not;
 * applying the penalty is the caller's business.
 *
 * - Double production: two different headers for one slot, both sealed by their producer.
 * - Double vote: two votes by one validator for different blocks at one target height.
 * - Surround vote: one validator's link s1 → t1 strictly surrounds its link s2 → t2
 *   (s1 < s2 < t2 < t1). Finality's safety proof needs this as well as the double vote.
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

/** The validator both votes are signed by on `chainId`, or why there is none. */
function commonSigner(a: Attestation, b: Attestation, chainId: bigint): Uint8Array | string {
  if (!equalBytes(a.validator, b.validator))
    return `votes name different validators ${bytesToHex(a.validator)} and ${bytesToHex(b.validator)}`
  for (const [v, which] of [[a, 'first'], [b, 'second']] as const) {
    let signer: Uint8Array
    try {
      signer = attestationSigner(v, chainId)
    } catch {
      return `the ${which} vote's signature does not recover`
    }
    if (!equalBytes(signer, v.validator)) return `the ${which} vote is not signed by its validator on chain ${chainId}`
  }
  return a.validator
}

export function checkDoubleVote(a: Attestation, b: Attestation, chainId: bigint): EvidenceResult {
  if (a.targetHeight !== b.targetHeight) return no(`votes are for heights ${a.targetHeight} and ${b.targetHeight}`)
  if (equalBytes(a.targetHash, b.targetHash)) return no('votes are for the same block')
  const s = commonSigner(a, b, chainId)
  return typeof s === 'string' ? no(s) : { ok: true, offender: s }
}

/** Surround evidence in either order. */
export function checkSurroundVote(a: Attestation, b: Attestation, chainId: bigint): EvidenceResult {
  const [outer, inner] = surroundOrder(a, b)
  if (!(outer.sourceHeight < inner.sourceHeight && inner.targetHeight < outer.targetHeight))
    return no(`link ${a.sourceHeight}→${a.targetHeight} does not surround ${b.sourceHeight}→${b.targetHeight} nor the reverse`)
  const s = commonSigner(a, b, chainId)
  return typeof s === 'string' ? no(s) : { ok: true, offender: s }
}

/** [outer, inner] when one link could surround the other (the one with the lower source first). */
export function surroundOrder(a: Attestation, b: Attestation): [Attestation, Attestation] {
  return a.sourceHeight < b.sourceHeight ? [a, b] : [b, a]
}
