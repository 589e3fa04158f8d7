/**
 * Transcendental functions built only from IEEE-754 basic operations, so every engine and CPU
 * returns the same bits. `Math.exp`/`log`/`sin` are implementation-defined in ECMAScript and do
 * differ between V8 versions and platforms; a checkpoint hash must not depend on them.
 * Math.floor/round/abs/max/min and Math.sqrt are exact (correctly rounded) and allowed.
 */

const LN2_HI = 6.93147180369123816490e-1
const LN2_LO = 1.90821492927058770002e-10
const INV_LN2 = 1.44269504088896338700
const SQRT2 = 1.4142135623730951

const scratch = new DataView(new ArrayBuffer(8))

/** 2^k for integer k in [-1022, 1023], exact, by writing the exponent bits. */
export function pow2(k: number): number {
  scratch.setUint32(0, ((k + 1023) << 20) >>> 0)
  scratch.setUint32(4, 0)
  return scratch.getFloat64(0)
}

export function detExp(x: number): number {
  if (x !== x) return NaN
  if (x > 709) return Infinity
  if (x < -708) return 0
  const k = Math.round(x * INV_LN2)
  // Cody–Waite reduction keeps r accurate: r = x - k·ln2 with |r| ≤ ln2/2.
  const r = x - k * LN2_HI - k * LN2_LO
  // Taylor series to degree 13 in Horner form; |r| ≤ 0.347 gives < 1 ulp-ish error.
  let p = 1 / 6227020800
  p = p * r + 1 / 479001600
  p = p * r + 1 / 39916800
  p = p * r + 1 / 3628800
  p = p * r + 1 / 362880
  p = p * r + 1 / 40320
  p = p * r + 1 / 5040
  p = p * r + 1 / 720
  p = p * r + 1 / 120
  p = p * r + 1 / 24
  p = p * r + 1 / 6
  p = p * r + 0.5
  p = p * r + 1
  p = p * r + 1
  // Split 2^k in two factors so k near the limits never overflows the exponent field.
  const k1 = k >> 1
  return p * pow2(k1) * pow2(k - k1)
}

export function detLog(x: number): number {
  if (x !== x || x < 0) return NaN
  if (x === 0) return -Infinity
  if (x === Infinity) return Infinity
  let e = 0
  // Subnormals: scale into the normal range first.
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984 // 2^54
    e -= 54
  }
  scratch.setFloat64(0, x)
  const hi = scratch.getUint32(0)
  e += ((hi >>> 20) & 0x7ff) - 1023
  scratch.setUint32(0, (hi & 0x800fffff) | 0x3ff00000)
  let m = scratch.getFloat64(0) // in [1, 2)
  if (m > SQRT2) {
    m = m / 2
    e += 1
  }
  // log(m) = 2·atanh(s), s = (m−1)/(m+1), |s| ≤ 0.1716: odd series to s^21.
  const s = (m - 1) / (m + 1)
  const s2 = s * s
  let q = 1 / 21
  q = q * s2 + 1 / 19
  q = q * s2 + 1 / 17
  q = q * s2 + 1 / 15
  q = q * s2 + 1 / 13
  q = q * s2 + 1 / 11
  q = q * s2 + 1 / 9
  q = q * s2 + 1 / 7
  q = q * s2 + 1 / 5
  q = q * s2 + 1 / 3
  q = q * s2 + 1
  return e * LN2_HI + (e * LN2_LO + 2 * s * q)
}

const PIO2_HI = 1.5707963267341256
const PIO2_LO = 6.077100506506192e-11
const TWO_OVER_PI = 0.6366197723675814

function sinPoly(r: number): number {
  const r2 = r * r
  let p = -1 / 1307674368000
  p = p * r2 + 1 / 6227020800
  p = p * r2 - 1 / 39916800
  p = p * r2 + 1 / 362880
  p = p * r2 - 1 / 5040
  p = p * r2 + 1 / 120
  p = p * r2 - 1 / 6
  return r + r * r2 * p
}

function cosPoly(r: number): number {
  const r2 = r * r
  let p = 1 / 20922789888000
  p = p * r2 - 1 / 87178291200
  p = p * r2 + 1 / 479001600
  p = p * r2 - 1 / 3628800
  p = p * r2 + 1 / 40320
  p = p * r2 - 1 / 720
  p = p * r2 + 1 / 24
  p = p * r2 - 0.5
  return 1 + r2 * p
}

/** Quadrant reduction by multiples of π/2; accurate for |x| up to ~1e6, ample for data generators. */
function reduce(x: number): [number, number] {
  const k = Math.round(x * TWO_OVER_PI)
  const r = x - k * PIO2_HI - k * PIO2_LO
  return [r, ((k % 4) + 4) % 4]
}

export function detSin(x: number): number {
  if (!Number.isFinite(x)) return NaN
  const [r, q] = reduce(x)
  return q === 0 ? sinPoly(r) : q === 1 ? cosPoly(r) : q === 2 ? -sinPoly(r) : -cosPoly(r)
}

export function detCos(x: number): number {
  if (!Number.isFinite(x)) return NaN
  const [r, q] = reduce(x)
  return q === 0 ? cosPoly(r) : q === 1 ? -sinPoly(r) : q === 2 ? -cosPoly(r) : sinPoly(r)
}

export function detTanh(x: number): number {
  if (x !== x) return NaN
  if (x > 20) return 1
  if (x < -20) return -1
  const e2 = detExp(2 * x)
  return (e2 - 1) / (e2 + 1)
}
