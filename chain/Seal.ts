import { ChainError } from './errors.js'
import type { BlockHeader } from './Header.js'
import { recoverDigestSigner, signDigest } from './Signing.js'

/** Returns the header with its seal set by the producer's key, for the chain `chainId`. */
export function sealHeader(header: BlockHeader, chainId: bigint, priv: Uint8Array): BlockHeader {
  return header.with({ seal: signDigest(header.sealDigest(chainId), priv) })
}

/** The address whose key sealed the header for `chainId`; throws if it is unsealed or the seal is malformed. */
export function recoverSealer(header: BlockHeader, chainId: bigint): Uint8Array {
  if (header.seal.length === 0) throw new ChainError('UNSEALED', `block ${header.number} is not sealed`)
  return recoverDigestSigner(header.sealDigest(chainId), header.seal)
}
