import { keccak256 } from '../chain/keccak.js'
import { privateKeyToAddress, recoverDigestSigner, signDigest } from '../chain/Signing.js'
import { concatBytes, equalBytes, u64ToBytes, bytesToHex } from '../common/bytes.js'
import { ComputeMessage, type ComputeMessageData } from './Protobuf.js'

/**
 * Signatures of the compute topic's messages. Each names its signer (a job's client, a worker,
 * a verifier); it signs keccak256("povchain/compute/1" ‖ u64 chainId ‖ the message's protobuf
 * encoding with an empty signature) with that account's key (r ‖ s ‖ v, low s). The chain id
 * keeps a message of one chain from being replayed on another. A message that is unsigned, or
 * whose signature recovers another address, is rejected before it is forwarded, and its sender
 * scored (GossipTopics).
 */
const DOMAIN = new TextEncoder().encode('povchain/compute/1')

/** How far a worker-readiness timestamp may stray from our clock (a replayed old one is stale). */
export const READINESS_MAX_SKEW_S = 300n

function withoutSignature(m: ComputeMessageData): ComputeMessageData {
  const empty = new Uint8Array(0)
  switch (m.kind) {
    case 'job':
      return { kind: 'job', job: { ...m.job, signature: empty } }
    case 'worker':
      return { kind: 'worker', worker: { ...m.worker, signature: empty } }
    case 'vote':
      return { kind: 'vote', vote: { ...m.vote, signature: empty } }
  }
}

export function computeSigningDigest(chainId: bigint, m: ComputeMessageData): Uint8Array {
  return keccak256(concatBytes(DOMAIN, u64ToBytes(chainId), ComputeMessage.encode(withoutSignature(m))))
}

/** The account a message claims to be from. */
export function computeSigner(m: ComputeMessageData): Uint8Array {
  return m.kind === 'job' ? m.job.client : m.kind === 'worker' ? m.worker.worker : m.vote.verifier
}

function signatureOf(m: ComputeMessageData): Uint8Array {
  return m.kind === 'job' ? m.job.signature : m.kind === 'worker' ? m.worker.signature : m.vote.signature
}

/** `m` signed with `key`, which must be the key of the account the message names. */
export function signComputeMessage(chainId: bigint, m: ComputeMessageData, key: Uint8Array): ComputeMessageData {
  if (!equalBytes(privateKeyToAddress(key), computeSigner(m))) throw new Error(`the key is not ${bytesToHex(computeSigner(m))}'s, the message's signer`)
  const signature = signDigest(computeSigningDigest(chainId, m), key)
  switch (m.kind) {
    case 'job':
      return { kind: 'job', job: { ...m.job, signature } }
    case 'worker':
      return { kind: 'worker', worker: { ...m.worker, signature } }
    case 'vote':
      return { kind: 'vote', vote: { ...m.vote, signature } }
  }
}

/**
 * Why `m` must not be forwarded, or undefined when it may: unsigned or signed by someone else
 * than it names (the sender's fault), or stale — a job past its deadline, a readiness too far
 * from our clock (`stale`: maybe an honest relay's clock; not the sender's fault).
 */
export function computeMessageFault(chainId: bigint, m: ComputeMessageData, nowSeconds: bigint): { reason: string; stale: boolean } | undefined {
  const bad = (reason: string) => ({ reason, stale: false })
  const sig = signatureOf(m)
  if (sig.length === 0) return bad(`unsigned ${m.kind} message`)
  let signer: Uint8Array
  try {
    signer = recoverDigestSigner(computeSigningDigest(chainId, m), sig)
  } catch (e) {
    return bad(`${m.kind} message: ${(e as Error).message}`)
  }
  if (!equalBytes(signer, computeSigner(m))) return bad(`${m.kind} message names ${bytesToHex(computeSigner(m))} but is signed by ${bytesToHex(signer)}`)
  if (m.kind === 'job' && m.job.deadline < nowSeconds) return { reason: `job announcement past its deadline (${m.job.deadline})`, stale: true }
  if (m.kind === 'worker') {
    const d = m.worker.timestamp > nowSeconds ? m.worker.timestamp - nowSeconds : nowSeconds - m.worker.timestamp
    if (d > READINESS_MAX_SKEW_S) return { reason: `worker readiness timestamped ${m.worker.timestamp}, ${d} s from our clock`, stale: true }
  }
  return undefined
}
