import { hexToBytes } from '../../common/bytes.js'
import { keccak, utf8, type Hash32 } from '../ContentHash.js'
import { Prng } from '../math/Prng.js'

/**
 * Which segments a verifier re-executes: s distinct segments out of m, drawn from randomness
 * the worker could not know when it committed (a later block's mix) bound to the commitment.
 */
export function sampleSegments(randomness: Uint8Array | string, commitment: Hash32, segments: number, samples: number): number[] {
  const r = typeof randomness === 'string' ? (randomness.startsWith('0x') ? hexToBytes(randomness) : utf8(randomness)) : randomness
  const h = keccak(utf8('povchain/segment-sample/v1'), r, hexToBytes(commitment))
  const seed = new DataView(h.buffer, h.byteOffset).getUint32(0) * 2097152 + (new DataView(h.buffer, h.byteOffset).getUint32(4) >>> 11)
  const rng = Prng.derive(seed, 'segments')
  const s = Math.min(samples, segments)
  // Partial Fisher–Yates: the first s entries are a uniform s-subset.
  const idx = Array.from({ length: segments }, (_, i) => i)
  for (let i = 0; i < s; i++) {
    const j = i + rng.nextInt(segments - i)
    const t = idx[i]!
    idx[i] = idx[j]!
    idx[j] = t
  }
  return idx.slice(0, s).sort((a, b) => a - b)
}

/**
 * Probability that at least one of `verifiers` independent verifiers, each re-executing
 * `samples` distinct segments of `segments`, hits one of `faked` forged segments:
 *   1 − (C(m−k, s) / C(m, s))^v
 * (≈ 1 − (1−f)^(s·v) for a faked fraction f = k/m).
 */
export function detectionProbability(segments: number, faked: number, samples: number, verifiers = 1): number {
  const s = Math.min(samples, segments)
  let miss = 1
  for (let i = 0; i < s; i++) miss *= Math.max(0, segments - faked - i) / (segments - i)
  return 1 - Math.pow(miss, verifiers)
}
