import { bytesToHex } from '../common/bytes.js'
import type { Attestation } from '../chain/Attestation.js'
import type { Vote } from './Finality.js'

/**
 * Finality votes are chain/Attestation.ts: the signed link source → target that travels in
 * headers and on the attestations gossip topic, signed over attestationDigest (tag, chain id,
 * source, target). This module only names them for consensus and turns a verified one into
 * the tracker's bookkeeping form.
 */
export {
  attestationDigest as voteDigest,
  attestationSigner as voteSigner,
  signAttestation as signVote,
  verifyAttestation as verifyVote,
  type Attestation as SignedVote,
  type UnsignedAttestation as UnsignedVote,
} from '../chain/Attestation.js'

/** The FinalityTracker's view of a vote whose signature the caller has already verified. */
export function finalityVote(a: Attestation): Vote {
  return {
    validator: bytesToHex(a.validator),
    source: bytesToHex(a.sourceHash),
    sourceHeight: a.sourceHeight,
    target: bytesToHex(a.targetHash),
    targetHeight: a.targetHeight,
  }
}
