import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex, equalBytes } from '../common/bytes.js'
import type { BlockHeader } from '../chain/Header.js'
import { publicKeyToAddress } from '../chain/Signing.js'
import { secp } from '../chain/Secp256k1.js'
import { ecvrfProofToHash, ecvrfProve, ecvrfVerify } from './Ecvrf.js'
import { vrfInput } from './WeightedLeaderSchedule.js'

/**
 * The ECVRF fields of a PoV header: vrfProof = pi (81 bytes), vrfOutput = beta, proven with
 * the producer's own secp256k1 key over vrfInput(epoch seed, slot). The header names the
 * producer by address only, so the verifier takes the public key from the seal (which
 * header validation checks anyway). ProofOfValueEngine proves and checks them.
 */
export function headerVrf(key: Uint8Array, seed: Uint8Array, slot: bigint): { vrfProof: Uint8Array; vrfOutput: Uint8Array } {
  const vrfProof = ecvrfProve(key, vrfInput(seed, slot))
  // Our own fresh proof is valid by construction: its output needs no second verification.
  return { vrfProof, vrfOutput: ecvrfProofToHash(vrfProof) }
}

/** The compressed public key that sealed the header (throws on a malformed seal). */
export function sealerPublicKey(h: BlockHeader, chainId: bigint): Uint8Array {
  const pub = secp().recover(h.sealDigest(chainId), h.seal.subarray(0, 64), h.seal[64]!)
  return secp256k1.Point.fromBytes(pub).toBytes(true)
}

/** Why the header's VRF fields are wrong for `seed`, or undefined if they prove its slot. */
export function headerVrfViolation(h: BlockHeader, seed: Uint8Array, chainId: bigint): string | undefined {
  if (h.seal.length !== 65 || h.seal[64]! > 1) return 'header is not sealed'
  let pk: Uint8Array
  try {
    pk = sealerPublicKey(h, chainId)
  } catch {
    return 'seal does not recover'
  }
  if (!equalBytes(publicKeyToAddress(pk), h.producer)) return `sealed by ${bytesToHex(publicKeyToAddress(pk))}, not its producer`
  const beta = ecvrfVerify(pk, h.vrfProof, vrfInput(seed, h.slot))
  if (!beta) return `VRF proof does not verify for slot ${h.slot}`
  if (!equalBytes(beta, h.vrfOutput)) return 'vrfOutput is not the proof’s output'
  return undefined
}
