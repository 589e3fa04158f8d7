import { concatBytes, u64ToBytes } from '../common/bytes.js'
import { keccak256 } from '../chain/keccak.js'
import { recoverDigestSigner, signDigest } from '../chain/Seal.js'

const VOTE_TAG = new TextEncoder().encode('povchain/vote')

/**
 * A finality vote as signed bytes: the link source → target (Finality.ts) by block hash and
 * height. Signed over keccak256("povchain/vote" ‖ chainId ‖ source ‖ u64 sourceHeight ‖ target ‖
 * u64 targetHeight) so a vote cannot be replayed on another chain or read as another message.
 * chain/Attestation carries (slot, blockHash) only; it needs source hash/height and the target
 * height added before these travel in headers (see issue 5 notes).
 */
export interface SignedVote {
  chainId: bigint
  source: Uint8Array
  sourceHeight: bigint
  target: Uint8Array
  targetHeight: bigint
  /** 65 bytes r ‖ s ‖ v. */
  signature: Uint8Array
}

export type UnsignedVote = Omit<SignedVote, 'signature'>

export function voteDigest(v: UnsignedVote): Uint8Array {
  return keccak256(concatBytes(VOTE_TAG, u64ToBytes(v.chainId), v.source, u64ToBytes(v.sourceHeight), v.target, u64ToBytes(v.targetHeight)))
}

export function signVote(v: UnsignedVote, key: Uint8Array): SignedVote {
  return { ...v, signature: signDigest(voteDigest(v), key) }
}

/** The address that signed the vote; throws ChainError on a malformed signature. */
export function voteSigner(v: SignedVote): Uint8Array {
  return recoverDigestSigner(voteDigest(v), v.signature)
}
