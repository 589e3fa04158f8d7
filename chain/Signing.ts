// secp256k1 signing primitives: addresses of keys, signing and recovering 32-byte digests.
// They need no header, so Attestation, Seal and the accounts all build on this file.
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { ChainError } from './errors.js'
import { keccak256 } from './keccak.js'
import { secp } from './Secp256k1.js'

/** Ethereum address of a secp256k1 public key (compressed or uncompressed). */
export function publicKeyToAddress(pub: Uint8Array): Uint8Array {
  const full = pub.length === 65 ? pub : secp256k1.Point.fromBytes(pub).toBytes(false)
  return keccak256(full.subarray(1)).subarray(12)
}

export function privateKeyToAddress(priv: Uint8Array): Uint8Array {
  return publicKeyToAddress(secp256k1.getPublicKey(priv, false))
}

/** Signs a 32-byte digest; returns r ‖ s ‖ v with v the recovery id (0 or 1). */
export function signDigest(digest: Uint8Array, priv: Uint8Array): Uint8Array {
  return secp().sign(digest, priv)
}

const HALF_N = secp256k1.Point.CURVE().n >> 1n

/**
 * Address that produced an r ‖ s ‖ v signature over `digest`. Only the low-s form is accepted
 * (as Ethereum does for transactions, EIP-2): otherwise anyone could turn an honest seal or
 * vote into a second valid one (r, n−s, 1−v) with other bytes — another block hash, or a
 * "second" header for the same slot that would look like equivocation.
 */
export function recoverDigestSigner(digest: Uint8Array, sig: Uint8Array): Uint8Array {
  if (sig.length !== 65 || sig[64]! > 1) throw new ChainError('BAD_SIGNATURE', 'signature must be 65 bytes r ‖ s ‖ v with v ∈ {0,1}')
  let s = 0n
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(sig[i]!)
  if (s > HALF_N) throw new ChainError('BAD_SIGNATURE', 'signature s is in the upper half of the curve order (only low-s signatures are valid)')
  try {
    return publicKeyToAddress(secp().recover(digest, sig.subarray(0, 64), sig[64]!))
  } catch (e) {
    throw new ChainError('BAD_SIGNATURE', `signature does not recover: ${(e as Error).message}`)
  }
}
