/**
 * Finding F1: a validator that was cut off (paused, partitioned) comes back with blocks of its
 * own on a branch that leaves the finalized block of the others. Those blocks break no rule
 * the sender could have known of — finality is each node's own view — so the others must not
 * ban it (they did: the conflict counted as an invalid block, the node was banned by every
 * peer and stayed on its fork for good). Here four validators: three finalize together while
 * the fourth builds a longer branch alone; then the fourth meets them. It must end on their
 * chain (by their finality, though its own branch is longer), unbanned, and while it is still
 * on its branch its higher head must not hold their producers back.
 */
import t from 'tap'
import { bytesToHex } from '../common/bytes.js'
import { Cluster, clusterGenesis, randomKey, until } from './helpers/netcluster.js'

t.setTimeout(600_000) // four validators in one process: 35 s alone, 300 s at load 12 on two cores

t.test('a validator back from isolation on a branch below the others’ finality rejoins, unbanned', async (t) => {
  const keys = [0, 1, 2, 3].map(randomKey)
  const g = clusterGenesis({ producers: keys, slotSeconds: 2, timestamp: Math.floor(Date.now() / 1000) })
  g.config.epochLength = 4
  const c = new Cluster(g)
  t.teardown(() => c.destroy())
  // d builds alone, with a head start: its branch is the longest, and 1 of 4 validators never
  // justifies anything. The other three (3/4) finalize theirs.
  const d = await c.start({ name: 'd', producerKey: keys[3] })
  await until(() => d.node.store.head().number >= 8n, 'd builds a branch alone', 60_000, 200)
  const a = await c.start({ name: 'a', producerKey: keys[0] })
  const b = await c.start({ name: 'b', producerKey: keys[1], bootnodes: [a.multiaddr] })
  const cc = await c.start({ name: 'c', producerKey: keys[2], bootnodes: [a.multiaddr, b.multiaddr] })
  await until(() => a.node.chain!.finality.finalized.height >= 4n, 'three finalize', 90_000, 200)
  const dHead = d.node.store.head()
  t.ok(dHead.number > a.node.store.head().number, `d's branch (${dHead.number}) is longer than the finalized chain (${a.node.store.head().number})`)
  const aAtD = await a.node.store.canonicalHeader(1n)
  const dAt1 = await d.node.store.canonicalHeader(1n)
  t.not(bytesToHex(aAtD!.hash()), bytesToHex(dAt1!.hash()), 'd is on its own branch from block 1')
  t.ok(dHead.number >= 4n, `d's branch reaches ${dHead.number}`)

  const ddir = d.datadir
  await d.stop()
  const d2 = await c.start({ name: 'd', datadir: ddir, producerKey: keys[3], bootnodes: [a.multiaddr, b.multiaddr, cc.multiaddr] })
  const dId = d2.node.network!.peerId
  const others = [a, b, cc]
  const finalBefore = a.node.chain!.finality.finalized.height
  const aHeadBefore = a.node.store.head().number
  await until(
    async () => {
      const fin = a.node.chain!.finality.finalized
      const mine = await d2.node.store.canonicalHeader(fin.height)
      return d2.node.store.head().number > fin.height && mine && bytesToHex(mine.hash()) === bytesToHex(fin.hash)
    },
    'd syncs onto the finalized chain of the others',
    90_000,
    200,
  )
  // d may sync inside one slot, before a's next turn: what must not happen is that a stops
  // producing (the claim hold was a minute), so a few slots after the sync a has moved on.
  await until(() => a.node.store.head().number > aHeadBefore, 'a produces on', 10_000, 100).catch(() => undefined)
  t.ok(a.node.store.head().number > aHeadBefore, 'a longer branch on a peer did not hold the others’ producers back')
  for (const [i, n] of others.entries()) t.notOk(n.node.network!.scorer.isBanned(dId), `node ${'abc'[i]} did not ban d`)
  t.notOk(d2.node.network!.scorer.isBanned(a.node.network!.peerId), 'd did not ban a')
  // Finality goes on with d's vote: 4 of 4 again.
  await until(() => a.node.chain!.finality.finalized.height > finalBefore + 2n, 'finality goes on after d rejoined', 60_000, 200)
  t.ok(d2.node.chain!.finality.finalized.height >= finalBefore, `d finalized ${d2.node.chain!.finality.finalized.height} (the others ${a.node.chain!.finality.finalized.height})`)
})
