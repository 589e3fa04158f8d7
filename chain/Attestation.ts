import { bigintToBytes, bytesToBigint } from '../common/bytes.js'
import { ChainError } from './errors.js'
import { expectBytes, expectList } from './rlpFields.js'

/**
 * A validator's signed vote for a block it saw as head. Attestations for the parent travel
 * in the next header; consensus counts their weight for justification and finality.
 */
export interface Attestation {
  slot: bigint
  blockHash: Uint8Array
  validator: Uint8Array
  signature: Uint8Array
}

export type AttestationFields = [Uint8Array, Uint8Array, Uint8Array, Uint8Array]

export function attestationToFields(a: Attestation): AttestationFields {
  return [bigintToBytes(a.slot), a.blockHash, a.validator, a.signature]
}

export function attestationFromFields(raw: unknown): Attestation {
  const f = expectList(raw, 'attestation', 4)
  const blockHash = expectBytes(f[1], 'attestation.blockHash', 32)
  const validator = expectBytes(f[2], 'attestation.validator', 20)
  const signature = expectBytes(f[3], 'attestation.signature', 65)
  const slotBytes = expectBytes(f[0], 'attestation.slot')
  if (slotBytes.length > 8) throw new ChainError('BAD_ENCODING', 'attestation.slot is larger than 64 bits')
  return { slot: bytesToBigint(slotBytes), blockHash, validator, signature }
}
