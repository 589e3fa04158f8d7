import t from 'tap'
import fc from 'fast-check'
import { detCos, detExp, detLog, detSin, detTanh, pow2 } from '../math/DeterministicMath.js'
import { Prng } from '../math/Prng.js'
import { StateReader, StateWriter } from '../math/StateCodec.js'
import { ComputeError } from '../ComputeError.js'

const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b))

t.test('deterministic transcendental functions agree with Math.* to ~1e-14', async (t) => {
  fc.assert(fc.property(fc.double({ min: -700, max: 700, noNaN: true }), (x) => close(detExp(x), Math.exp(x), 1e-14) || Math.abs(detExp(x) - Math.exp(x)) / Math.exp(x) < 1e-14))
  fc.assert(fc.property(fc.double({ min: 1e-300, max: 1e300, noNaN: true }), (x) => close(detLog(x), Math.log(x), 1e-14)))
  fc.assert(fc.property(fc.double({ min: -1000, max: 1000, noNaN: true }), (x) => close(detSin(x), Math.sin(x), 1e-12) && close(detCos(x), Math.cos(x), 1e-12)))
  fc.assert(fc.property(fc.double({ min: -30, max: 30, noNaN: true }), (x) => close(detTanh(x), Math.tanh(x), 1e-13)))
  t.equal(detExp(0), 1)
  t.equal(detLog(1), 0)
  t.equal(detExp(1000), Infinity)
  t.equal(detExp(-1000), 0)
  t.equal(detLog(0), -Infinity)
  t.ok(Number.isNaN(detLog(-1)))
  t.ok(close(detLog(5e-324), Math.log(5e-324), 1e-14), 'subnormal')
  t.equal(pow2(10), 1024)
  t.equal(pow2(-3), 0.125)
})

t.test('PRNG: same seed same stream, state round-trips, bounded ints are in range', async (t) => {
  fc.assert(
    fc.property(fc.nat(), fc.string(), fc.integer({ min: 1, max: 1000 }), (seed, label, n) => {
      const a = Prng.derive(seed, label)
      const b = Prng.derive(seed, label)
      for (let i = 0; i < 10; i++) if (a.nextU32() !== b.nextU32()) return false
      const c = Prng.fromState(a.state())
      for (let i = 0; i < 10; i++) {
        const x = a.nextInt(n)
        if (x !== c.nextInt(n) || x < 0 || x >= n) return false
        const f = a.nextFloat()
        if (f !== c.nextFloat() || f < 0 || f >= 1) return false
      }
      return true
    }),
  )
  t.not(Prng.derive(1, 'a').nextU32(), Prng.derive(1, 'b').nextU32(), 'labels give independent streams')
  // Pinned value: if this changes, every checkpoint hash in the network changes.
  const p = Prng.derive(42, 'init')
  t.same([p.nextU32(), p.nextU32(), p.nextU32()], [2998049908, 1447407072, 3216024610])
  let sum = 0
  const g = Prng.derive(3, 'g')
  for (let i = 0; i < 20000; i++) sum += g.nextGaussian()
  t.ok(Math.abs(sum / 20000) < 0.03, 'gaussian mean ≈ 0')
})

t.test('state codec round-trips and canonicalises NaN', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.double()), fc.array(fc.nat({ max: 0xffffffff })), fc.string(), (fs, us, s) => {
      const bytes = new StateWriter().f64s(fs).u32s(us).str(s).finish()
      const r = new StateReader(bytes)
      const f2 = r.f64s()
      const u2 = r.u32s()
      const s2 = r.str()
      r.end()
      return f2.every((v, i) => Object.is(v, fs[i]) || (Number.isNaN(v) && Number.isNaN(fs[i]))) && u2.every((v, i) => v === us[i]) && s2 === s
    }),
  )
  const nan1 = new Float64Array(new Uint32Array([1, 0x7ff00000]).buffer)[0]!
  const nan2 = NaN
  t.same(new StateWriter().f64(nan1).finish(), new StateWriter().f64(nan2).finish(), 'all NaNs encode alike')
  t.throws(() => new StateReader(new Uint8Array(3)).u32(), ComputeError)
  t.throws(() => new StateReader(new StateWriter().u32(1).u32(2).finish()).end(), { code: 'COMPUTE_INVALID_CHECKPOINT' })
})
