import { concatBytes, u64ToBytes } from '../common/bytes.js'
import { keccak256 } from '../chain/keccak.js'
import { recoverDigestSigner, signDigest } from '../chain/Signing.js'

const utf8 = (s: string) => new TextEncoder().encode(s)

/**
 * The work reference and randomness a `--dev` producer puts in its headers until the work
 * market and ECVRF land (issues 4 and 5). They follow the production formulas —
 * sessionId = keccak256(jobId ‖ worker ‖ assignment block hash), mix = keccak256(parent mix ‖
 * VRF output) — so the fields are encoded, hashed and validated like real ones.
 *
 * The dev "VRF" is a secp256k1 signature over (parent mix ‖ slot) and its hash: verifiable by
 * anyone but, unlike ECVRF, not unique (a producer could grind nonces), hence dev only.
 */
export const DEV_JOB_ID = keccak256(utf8('povchain/dev-job'))
export const DEV_WORKLOAD_ID = keccak256(utf8('povchain/dev-workload'))

export function devSessionId(producer: Uint8Array, genesisHash: Uint8Array): Uint8Array {
  return keccak256(concatBytes(DEV_JOB_ID, producer, genesisHash))
}

function vrfInput(parentMix: Uint8Array, slot: bigint): Uint8Array {
  return keccak256(concatBytes(utf8('povchain/dev-vrf'), parentMix, u64ToBytes(slot)))
}

export function devVrf(key: Uint8Array, parentMix: Uint8Array, slot: bigint): { proof: Uint8Array; output: Uint8Array; mix: Uint8Array } {
  const proof = signDigest(vrfInput(parentMix, slot), key)
  const output = keccak256(proof)
  return { proof, output, mix: keccak256(concatBytes(parentMix, output)) }
}

/** Returns the signer of a dev VRF proof (throws on a malformed proof). */
export function devVrfSigner(proof: Uint8Array, parentMix: Uint8Array, slot: bigint): Uint8Array {
  return recoverDigestSigner(vrfInput(parentMix, slot), proof)
}
