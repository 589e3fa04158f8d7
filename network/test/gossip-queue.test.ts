/**
 * GossipValidationQueue: an attacker's backlog must neither hold the event loop (timers and
 * sockets run between two validations) nor delay another peer's messages, and what a peer can
 * make the node hold is bounded.
 */
import fc from 'fast-check'
import t from 'tap'
import { GossipValidationQueue } from '../GossipValidationQueue.js'

const busy = (ms: number) => {
  const end = performance.now() + ms
  while (performance.now() < end) {
    /* a signature, a trie root */
  }
}

t.test('a burst of CPU-heavy validations lets timers run between them', async (t) => {
  const q = new GossipValidationQueue({ maxPerPeer: 1_000, maxBytesPerPeer: 1 << 30, concurrency: 8 })
  let done = 0
  const all = new Promise<void>((resolve) => {
    for (let i = 0; i < 300; i++)
      q.push('attacker', 100, async () => {
        busy(2) // 300 × 2 ms = 0.6 s of synchronous work, as a flood of gossip frames
        if (++done === 300) resolve()
      })
  })
  const timerAt = await new Promise<number>((resolve) => setTimeout(() => resolve(done), 0))
  t.ok(timerAt < 20, `a timer set after the burst arrived ran after ${timerAt} of 300 validations (all at once before the queue)`)
  await all
  t.equal(q.peersWaiting, 0, 'nothing held once drained')
})

t.test('validations waiting on I/O run side by side: a slow loop does not cap them at one per turn', async (t) => {
  const q = new GossipValidationQueue({ maxPerPeer: 10_000, maxBytesPerPeer: 1 << 30 })
  const started = performance.now()
  await new Promise<void>((resolve) => {
    let done = 0
    for (let i = 0; i < 2_000; i++)
      q.push(`p${i % 3}`, 100, async () => {
        await new Promise((r) => setTimeout(r, 20)) // a state read
        if (++done === 2_000) resolve()
      })
  })
  const secs = (performance.now() - started) / 1000
  // 64 at a time: ≈ 0.7 s; eight at a time (the first version of this queue) took 5 s.
  t.ok(secs < 2.5, `2,000 validations of 20 ms I/O each in ${secs.toFixed(2)} s`)
})

t.test("another peer's message is served next, whatever an attacker has waiting", async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 50 }), async (backlog, concurrency, honestAfter) => {
      const q = new GossipValidationQueue({ maxPerPeer: 1_000, maxBytesPerPeer: 1 << 30, concurrency })
      const order: string[] = []
      let running = 0
      let maxRunning = 0
      const job = (name: string) => async () => {
        running++
        maxRunning = Math.max(maxRunning, running)
        order.push(name)
        await new Promise((r) => setImmediate(r))
        running--
      }
      for (let i = 0; i < backlog; i++) q.push('attacker', 1, job('a'))
      // The honest message arrives while the backlog is being served.
      for (let i = 0; i < honestAfter && order.length < backlog; i++) await new Promise((r) => setImmediate(r))
      const startedBefore = order.length
      q.push('honest', 1, job('h'))
      while (q.waiting > 0 || running > 0) await new Promise((r) => setImmediate(r))
      const at = order.indexOf('h')
      return maxRunning <= concurrency && at >= 0 && at - startedBefore <= 1
    }),
    { numRuns: 60 },
  )
  t.pass('the honest message starts at most one validation after it arrived; never more than `concurrency` at once')
})

t.test('a peer may hold at most maxPerPeer messages and maxBytesPerPeer bytes waiting', async (t) => {
  const q = new GossipValidationQueue({ maxPerPeer: 5, maxBytesPerPeer: 1_000, concurrency: 1 })
  const never = () => new Promise<void>(() => {}) // validations that hang: nothing drains
  const taken = Array.from({ length: 10 }, () => q.push('p', 10, never)).filter(Boolean).length
  t.equal(taken, 5, 'five queued, the rest refused')
  t.notOk(q.push('p', 10, never), 'still full')
  t.ok(q.push('other', 600, never), 'another peer has its own bound')
  t.notOk(q.push('other', 600, never), 'bytes bound: 1,200 > 1,000')
  q.stop()
  t.equal(q.peersWaiting, 0, 'stop drops what waits')
  t.notOk(q.push('p', 1, never), 'a stopped queue takes nothing')
})
