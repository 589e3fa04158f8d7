/**
 * The faucet's limits as properties: over any sequence of requests (addresses, IPs, times,
 * releases of unsent drips), no address gets two drips within a window, no IP more than
 * `perIp` within any window, and a refusal's Retry-After is when the caller would be served.
 */
import fc from 'fast-check'
import t from 'tap'
import { DripLimiter } from '../faucet/DripLimiter.js'

t.test('no address twice and no IP beyond its share within any window', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.record({ addr: fc.integer({ min: 0, max: 5 }), ip: fc.integer({ min: 0, max: 2 }), dt: fc.integer({ min: 0, max: 30_000 }), sent: fc.boolean() }), { maxLength: 80 }),
      (perIp, reqs) => {
        const windowMs = 60_000
        let now = 0
        const limiter = new DripLimiter({ windowMs, perIp, maxEntries: 1000 }, () => now)
        const drips: { addr: number; ip: number; at: number }[] = []
        for (const r of reqs) {
          now += r.dt
          const refused = limiter.take(`0xA${r.addr}`, `10.0.0.${r.ip}`)
          const recent = drips.filter((d) => d.at > now - windowMs)
          const byAddr = recent.filter((d) => d.addr === r.addr)
          const byIp = recent.filter((d) => d.ip === r.ip)
          if (refused) {
            // Refused only for a reason that holds, and told when that reason ends.
            if (refused.reason === 'address') {
              if (byAddr.length === 0) return false
              if (refused.retryAfterSeconds !== Math.ceil((byAddr[0]!.at + windowMs - now) / 1000)) return false
            } else if (byIp.length < perIp) return false
            continue
          }
          if (byAddr.length > 0 || byIp.length >= perIp) return false
          if (r.sent) drips.push({ addr: r.addr, ip: r.ip, at: now })
          else limiter.release(`0xA${r.addr}`, `10.0.0.${r.ip}`)
        }
        return true
      },
    ),
    { numRuns: 500 },
  )
})

t.test('a flood of fresh addresses stays within maxEntries', async (t) => {
  let now = 0
  const limiter = new DripLimiter({ windowMs: 86_400_000, perIp: 1_000_000, maxEntries: 100 }, () => now)
  for (let i = 0; i < 10_000; i++) {
    now += 1
    t.notOk(limiter.take(`0x${i.toString(16)}`, `ip${i % 7}`), `fresh address ${i} is served`)
  }
  t.ok((limiter as unknown as { byAddress: Map<string, number> }).byAddress.size <= 100, 'the per-address map is bounded')
})
