import { keccak, utf8 } from '../ContentHash.js'
import { detCos, detLog } from './DeterministicMath.js'

/**
 * xoshiro128** — 32-bit integer arithmetic only (Math.imul, shifts), so the stream is identical
 * on every engine. The 4-word state is part of every checkpoint, which is what lets a verifier
 * replay a segment exactly.
 */
export class Prng {
  private s: Uint32Array

  private constructor(state: Uint32Array) {
    this.s = state
  }

  /** Independent streams per purpose: derive(seed, 'init') and derive(seed, 'batches') never overlap in practice. */
  static derive(seed: number, label: string): Prng {
    const seedBytes = new Uint8Array(8)
    new DataView(seedBytes.buffer).setFloat64(0, seed)
    const h = keccak(utf8('povchain/prng/v1/' + label), seedBytes)
    const dv = new DataView(h.buffer, h.byteOffset, h.byteLength)
    const st = new Uint32Array([dv.getUint32(0), dv.getUint32(4), dv.getUint32(8), dv.getUint32(12)])
    if ((st[0]! | st[1]! | st[2]! | st[3]!) === 0) st[0] = 1 // the all-zero state is a fixed point
    return new Prng(st)
  }

  static fromState(state: ArrayLike<number>): Prng {
    if (state.length !== 4) throw new RangeError('PRNG state must be 4 words')
    return new Prng(Uint32Array.from(state))
  }

  state(): Uint32Array {
    return Uint32Array.from(this.s)
  }

  nextU32(): number {
    const s = this.s
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0
    const t = s[1]! << 9
    s[2]! ^= s[0]!
    s[3]! ^= s[1]!
    s[1]! ^= s[2]!
    s[0]! ^= s[3]!
    s[2]! ^= t
    s[3] = rotl(s[3]!, 11)
    return result
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5 // 27 bits
    const lo = this.nextU32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /** Uniform integer in [0, n) without modulo bias. */
  nextInt(n: number): number {
    if (!(n >= 1 && n <= 0x100000000)) throw new RangeError('nextInt bound out of range')
    const limit = 0x100000000 - (0x100000000 % n)
    for (;;) {
      const x = this.nextU32()
      if (x < limit) return x % n
    }
  }

  /** Standard normal by Box–Muller on deterministic log/cos; uses exactly two draws so the state stays 4 words. */
  nextGaussian(): number {
    const u1 = 1 - this.nextFloat() // (0, 1]: log(0) must not occur
    const u2 = this.nextFloat()
    return Math.sqrt(-2 * detLog(u1)) * detCos(2 * Math.PI * u2)
  }

  /** Fisher–Yates in place. */
  shuffle(a: Uint32Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1)
      const t = a[i]!
      a[i] = a[j]!
      a[j] = t
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
