import { bigintToFixedBytes, bytesToBigint, bytesToHex, concatBytes, equalBytes } from '../common/bytes.js'
import { attestationHash, attestationSigner, type Attestation } from './Attestation.js'
import type { BlockHeader } from './Header.js'
import { keccak256 } from './keccak.js'
import { recoverSealer } from './Seal.js'

/**
 * Pure checks of equivocation evidence (issue 5). They live in chain/ because both consensus
 * (which gossips and includes evidence) and the EVM's evidence precompile (vm/, which may
 * import chain/ only) must reach the same verdict and the same evidence id on the same bytes.
 * Each returns the offender, the height the offence is at and the evidence id when the
 * evidence proves the offence, or a reason why it does not; applying the penalty is the
 * caller's business.
 *
 * - Double production: two headers for one slot with different contents, both sealed by
 *   their producer.
 * - Double vote: two votes by one validator for different blocks at one target height.
 * - Surround vote: one validator's link s1 → t1 strictly surrounds its link s2 → t2
 *   (s1 < s2 < t2 < t1). Finality's safety proof needs this as well as the double vote.
 *
 * ECDSA signatures are malleable: (r, s, v) and (r, n − s, 1 − v) recover the same signer, so
 * anyone can re-sign a published header or vote into new bytes with a new hash. Hence two
 * headers count as different only when what the producer signed differs (`sealHash`), and
 * evidence ids are taken over the low-s form of each item: however the evidence was
 * re-encoded, one offence over one pair of items has one id (the same as the plain hashes
 * for items signed by noble or libsecp256k1, which always sign low-s).
 */
export type EvidenceResult =
  | { ok: true; offender: Uint8Array; height: bigint; evidenceId: Uint8Array }
  | { ok: false; reason: string }

/** Evidence kinds: the first byte of every evidence id and the `kind` of the EVM precompile. */
export const EVIDENCE_KIND = { doubleProduction: 1, doubleVote: 2, surroundVote: 3, sealedHeader: 4 } as const

const no = (reason: string): EvidenceResult => ({ ok: false, reason })

// secp256k1 group order n.
const CURVE_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** The low-s twin of an r ‖ s ‖ v signature (itself when s ≤ n/2 or when it is malformed). */
export function lowSSignature(sig: Uint8Array): Uint8Array {
  if (sig.length !== 65 || sig[64]! > 1) return sig
  const s = bytesToBigint(sig.subarray(32, 64))
  if (s <= CURVE_N / 2n || s >= CURVE_N) return sig
  return concatBytes(sig.subarray(0, 32), bigintToFixedBytes(CURVE_N - s, 32), Uint8Array.of(sig[64]! ^ 1))
}

/** The header's hash with its seal in low-s form: the same for every malleated copy. */
export function canonicalHeaderHash(h: BlockHeader): Uint8Array {
  const seal = lowSSignature(h.seal)
  return seal === h.seal ? h.hash() : h.with({ seal }).hash()
}

/** The attestation's hash with its signature in low-s form. */
export function canonicalAttestationHash(a: Attestation): Uint8Array {
  return attestationHash({ ...a, signature: lowSSignature(a.signature) })
}

/** keccak256(u8 kind ‖ min(x, y) ‖ max(x, y)): independent of the order the two items come in. */
export function pairEvidenceId(kind: number, x: Uint8Array, y: Uint8Array): Uint8Array {
  const [lo, hi] = Buffer.compare(x, y) <= 0 ? [x, y] : [y, x]
  return keccak256(concatBytes(Uint8Array.of(kind), lo, hi))
}

function sealer(h: BlockHeader, chainId: bigint): Uint8Array | undefined {
  try {
    return recoverSealer(h, chainId)
  } catch {
    return undefined
  }
}

/** Two headers sealed for `chainId` by one producer for one slot. */
export function checkDoubleProduction(a: BlockHeader, b: BlockHeader, chainId: bigint): EvidenceResult {
  if (a.slot !== b.slot) return no(`headers are for slots ${a.slot} and ${b.slot}`)
  if (!equalBytes(a.producer, b.producer)) return no('headers name different producers')
  if (equalBytes(a.unsealedHash(), b.unsealedHash())) return no('the two headers are the same block (at most their seals differ)')
  const sa = sealer(a, chainId)
  const sb = sealer(b, chainId)
  if (!sa || !equalBytes(sa, a.producer)) return no('the first header is not sealed by its producer')
  if (!sb || !equalBytes(sb, b.producer)) return no('the second header is not sealed by its producer')
  return {
    ok: true,
    offender: a.producer,
    height: a.slot,
    evidenceId: pairEvidenceId(EVIDENCE_KIND.doubleProduction, canonicalHeaderHash(a), canonicalHeaderHash(b)),
  }
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

function votePair(kind: number, a: Attestation, b: Attestation, chainId: bigint, height: bigint): EvidenceResult {
  const s = commonSigner(a, b, chainId)
  if (typeof s === 'string') return no(s)
  return { ok: true, offender: s, height, evidenceId: pairEvidenceId(kind, canonicalAttestationHash(a), canonicalAttestationHash(b)) }
}

export function checkDoubleVote(a: Attestation, b: Attestation, chainId: bigint): EvidenceResult {
  if (a.targetHeight !== b.targetHeight) return no(`votes are for heights ${a.targetHeight} and ${b.targetHeight}`)
  if (equalBytes(a.targetHash, b.targetHash)) return no('votes are for the same block')
  return votePair(EVIDENCE_KIND.doubleVote, a, b, chainId, a.targetHeight)
}

/** Surround evidence in either order; the offence is at the outer link's target height. */
export function checkSurroundVote(a: Attestation, b: Attestation, chainId: bigint): EvidenceResult {
  const [outer, inner] = a.sourceHeight < b.sourceHeight ? [a, b] : [b, a]
  if (!(outer.sourceHeight < inner.sourceHeight && inner.targetHeight < outer.targetHeight))
    return no(`link ${a.sourceHeight}→${a.targetHeight} does not surround ${b.sourceHeight}→${b.targetHeight} nor the reverse`)
  return votePair(EVIDENCE_KIND.surroundVote, a, b, chainId, outer.targetHeight)
}
