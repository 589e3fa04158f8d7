import t from 'tap'
import fc from 'fast-check'
import { Common, Hardfork } from '@ethereumjs/common'
import { createChainCommon } from '../ChainCommon.js'

// The Set-backed isActivatedEIP (ChainCommon.fastEipLookup) against Common's own method, on the
// node's Common and on copies that move between hardforks and add EIPs — the operations that
// rebuild Common's EIP list. A lookup that kept the first list it saw fails at the first switch.

const original = Common.prototype.isActivatedEIP
const HARDFORKS = Object.values(Hardfork)
// EIPs Common knows (some of them can be added with setEIPs), and random numbers around them.
const KNOWN = [1153, 1559, 2537, 2565, 2929, 2930, 2935, 3198, 3529, 3540, 3541, 3607, 3651, 3670, 3855, 3860, 4399, 4788, 4844, 4895, 5133, 5656, 6110, 6780, 7002, 7069, 7251, 7480, 7516, 7594, 7620, 7623, 7685, 7691, 7692, 7698, 7702, 7709, 7825, 7864, 7918, 7928, 7934, 7939, 7951, 7976, 7981, 8024, 8037]

const op = fc.oneof(
  fc.record({ kind: fc.constant('hardfork' as const), hf: fc.constantFrom(...HARDFORKS) }),
  fc.record({ kind: fc.constant('eips' as const), eips: fc.subarray(KNOWN, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('copy' as const) }),
)

t.test('fast isActivatedEIP answers as Common.isActivatedEIP through hardfork switches, setEIPs and copies', async (t) => {
  const base = createChainCommon(31337n)
  t.not(base.isActivatedEIP, original, 'the node Common carries the fast lookup')
  let checked = 0
  fc.assert(
    fc.property(fc.array(op, { maxLength: 12 }), fc.array(fc.oneof(fc.constantFrom(...KNOWN), fc.integer({ min: 0, max: 9000 })), { minLength: 20, maxLength: 40 }), (ops, probes) => {
      let c = base.copy()
      const agree = () => {
        for (const eip of probes) {
          if (c.isActivatedEIP(eip) !== original.call(c, eip)) return false
          checked++
        }
        return true
      }
      if (!agree()) return false
      for (const o of ops) {
        try {
          if (o.kind === 'hardfork') c.setHardfork(o.hf)
          else if (o.kind === 'eips') c.setEIPs(o.eips)
          else c = c.copy()
        } catch {
          // An EIP that needs another one or a later hardfork: Common refuses it and keeps its list.
        }
        if (!agree()) return false
      }
      return true
    }),
    { numRuns: 300 },
  )
  t.ok(checked > 10_000, `${checked} lookups compared`)
  // The node's own Common still sees its Prague EIPs (and not Osaka's).
  t.equal(base.isActivatedEIP(7702), true)
  t.equal(base.isActivatedEIP(7623), true)
  t.equal(base.isActivatedEIP(7939), original.call(base, 7939))
})
