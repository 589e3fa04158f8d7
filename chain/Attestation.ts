import { decode, encode } from '@ethereumjs/rlp'
import { bigintToBytes, concatBytes, equalBytes, u64ToBytes } from '../common/bytes.js'
import { ChainError } from './errors.js'
import { keccak256 } from './keccak.js'
import { expectBytes, expectList, expectUint } from './rlpFields.js'
import { recoverDigestSigner, signDigest } from './Signing.js'

/**
 * A validator's finality vote, Casper-FFG style (consensus/Finality.ts): the link from
 * `source` (the highest justified block it knows) to `target` (the head it sees), each by
 * hash and height. Votes for the parent travel in the next header; consensus counts their
 * weight for justification and finality, and two conflicting votes by one validator are
 * slashable evidence (chain/Equivocation.ts).
 */
export interface Attestation {
  sourceHash: Uint8Array
  sourceHeight: bigint
  targetHash: Uint8Array
  targetHeight: bigint
  /** 20-byte address of the voter; the signature must recover to it. */
  validator: Uint8Array
  /** 65 bytes r ‖ s ‖ v (v = recovery id 0/1) over `attestationDigest`. */
  signature: Uint8Array
}

export type UnsignedAttestation = Omit<Attestation, 'signature'>
/** What the signature covers: the link. The validator is whoever the signature recovers to. */
export type AttestationLink = Pick<Attestation, 'sourceHash' | 'sourceHeight' | 'targetHash' | 'targetHeight'>

export type AttestationFields = [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array]

const VOTE_TAG = new TextEncoder().encode('povchain/vote')
const U64_LIMIT = 1n << 64n

function checkHeight(h: bigint, what: string): void {
  if (typeof h !== 'bigint' || h < 0n || h >= U64_LIMIT) throw new ChainError('BAD_ATTESTATION', `${what} must be a 64-bit unsigned integer`)
}

/**
 * What the validator signs: keccak256("povchain/vote" ‖ u64 chainId ‖ sourceHash ‖
 * u64 sourceHeight ‖ targetHash ‖ u64 targetHeight). The tag and the chain id keep a vote
 * from being replayed on another chain or read as another kind of signed message.
 */
export function attestationDigest(a: AttestationLink, chainId: bigint): Uint8Array {
  checkHeight(chainId, 'chainId')
  checkHeight(a.sourceHeight, 'attestation.sourceHeight')
  checkHeight(a.targetHeight, 'attestation.targetHeight')
  if (a.sourceHash.length !== 32 || a.targetHash.length !== 32)
    throw new ChainError('BAD_ATTESTATION', 'attestation source and target hashes must be 32 bytes')
  return keccak256(
    concatBytes(VOTE_TAG, u64ToBytes(chainId), a.sourceHash, u64ToBytes(a.sourceHeight), a.targetHash, u64ToBytes(a.targetHeight)),
  )
}

export function signAttestation(unsigned: UnsignedAttestation, chainId: bigint, key: Uint8Array): Attestation {
  return { ...unsigned, signature: signDigest(attestationDigest(unsigned, chainId), key) }
}

/** The address whose key signed the vote; throws ChainError when the signature is malformed. */
export function attestationSigner(a: Attestation, chainId: bigint): Uint8Array {
  return recoverDigestSigner(attestationDigest(a, chainId), a.signature)
}

/** True when the vote is signed by the validator it names (on this chain). Never throws. */
export function verifyAttestation(a: Attestation, chainId: bigint): boolean {
  try {
    return a.validator.length === 20 && equalBytes(attestationSigner(a, chainId), a.validator)
  } catch {
    return false
  }
}

/** Throws ChainError('BAD_ATTESTATION') unless every field has its size and range (so it encodes to something that decodes). */
export function checkAttestationShape(a: Attestation): void {
  const fixed: [keyof Attestation, number][] = [
    ['sourceHash', 32],
    ['targetHash', 32],
    ['validator', 20],
    ['signature', 65],
  ]
  for (const [k, len] of fixed) {
    const v = a[k]
    if (!(v instanceof Uint8Array) || v.length !== len) throw new ChainError('BAD_ATTESTATION', `attestation.${k} must be ${len} bytes`)
  }
  checkHeight(a.sourceHeight, 'attestation.sourceHeight')
  checkHeight(a.targetHeight, 'attestation.targetHeight')
}

export function attestationToFields(a: Attestation): AttestationFields {
  return [a.sourceHash, bigintToBytes(a.sourceHeight), a.targetHash, bigintToBytes(a.targetHeight), a.validator, a.signature]
}

export function attestationFromFields(raw: unknown): Attestation {
  const f = expectList(raw, 'attestation', 6)
  return {
    sourceHash: expectBytes(f[0], 'attestation.sourceHash', 32),
    sourceHeight: expectUint(f[1], 'attestation.sourceHeight', 8),
    targetHash: expectBytes(f[2], 'attestation.targetHash', 32),
    targetHeight: expectUint(f[3], 'attestation.targetHeight', 8),
    validator: expectBytes(f[4], 'attestation.validator', 20),
    signature: expectBytes(f[5], 'attestation.signature', 65),
  }
}

/** RLP of [sourceHash, sourceHeight, targetHash, targetHeight, validator, signature]. */
export function encodeAttestation(a: Attestation): Uint8Array {
  checkAttestationShape(a)
  return encode(attestationToFields(a))
}

/** Strict inverse of `encodeAttestation`: one RLP list, canonical integers, exact sizes, nothing after it. */
export function decodeAttestation(bytes: Uint8Array): Attestation {
  let raw: unknown
  try {
    raw = decode(bytes)
  } catch (e) {
    throw new ChainError('BAD_ENCODING', `attestation: invalid RLP (${(e as Error).message})`)
  }
  return attestationFromFields(raw)
}

/** keccak256 of the attestation's encoding: its identity in evidence ids and pools. */
export function attestationHash(a: Attestation): Uint8Array {
  return keccak256(encodeAttestation(a))
}
