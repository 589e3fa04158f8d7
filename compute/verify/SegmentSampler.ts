import { bytesToBigint, hexToBytes } from '../../common/bytes.js'
import { keccak, utf8, type Hash32 } from '../ContentHash.js'

/**
 * Which segments a verifier re-executes: the first s of its seeded order of the m segments, drawn
 * from randomness the worker could not know when it committed (a later block's mix, through
 * WorkMarket's verifierSeed) bound to the commitment. The order is a partial Fisher–Yates shuffle
 * whose swap i picks i + keccak(h ‖ uint32 i) mod (m − i), h = keccak("povchain/segment-sample/v2"
 * ‖ randomness ‖ commitment) — plain keccak and modulo, so WorkMarket.sampleOf recomputes it and
 * can check whether a verifier's declared sample held a segment proven forged. The first s entries
 * are a uniform s-subset, and a larger sample contains every smaller one (declaring more than one
 * re-executed only exposes more). Returned sorted.
 */
export function sampleSegments(randomness: Uint8Array | string, commitment: Hash32, segments: number, samples: number): number[] {
  return sampleOrder(randomness, commitment, segments, samples).sort((a, b) => a - b)
}

/** The first `samples` of the seeded order, in draw order (sampleSegments sorts them). */
export function sampleOrder(randomness: Uint8Array | string, commitment: Hash32, segments: number, samples: number): number[] {
  const r = typeof randomness === 'string' ? (randomness.startsWith('0x') ? hexToBytes(randomness) : utf8(randomness)) : randomness
  const h = keccak(utf8('povchain/segment-sample/v2'), r, hexToBytes(commitment))
  const s = Math.max(0, Math.min(samples, segments))
  const at = new Map<number, number>()
  const out: number[] = []
  const index = new Uint8Array(4)
  for (let i = 0; i < s; i++) {
    new DataView(index.buffer).setUint32(0, i)
    const word = bytesToBigint(keccak(h, index))
    const k = i + Number(word % BigInt(segments - i))
    const vi = at.get(i) ?? i
    out.push(at.get(k) ?? k)
    at.set(k, vi)
  }
  return out
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
