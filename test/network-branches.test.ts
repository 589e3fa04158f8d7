/**
 * A partition heals: two PoV validators of three run apart (each seals its own branch, 2 s
 * slots, 2-slot epochs so the branches turn epochs with system calls), then one restarts with
 * the other as bootnode. The branches are exchanged, every block of both executes to the same
 * state on either node (a mismatch would get a peer banned), and fork choice brings both to one
 * chain.
 */
import t from 'tap'
import { bytesToHex } from '../common/bytes.js'
import { Cluster, clusterGenesis, randomKey, until } from './helpers/netcluster.js'
t.test('two branches built apart reconcile when the nodes meet', async (t) => {
  const keys = [0, 1, 2].map(randomKey)
  const ts = Math.floor(Date.now() / 1000)
  const g = clusterGenesis({ producers: keys, slotSeconds: 2, timestamp: ts })
  g.config.epochLength = 2
  const c = new Cluster(g)
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a', producerKey: keys[0] })
  const b = await c.start({ name: 'b', producerKey: keys[1] })
  await until(() => a.node.store.head().number >= 5n && b.node.store.head().number >= 5n, 'both branches grow', 60_000)
  const bdir = b.datadir
  await b.stop()
  const b2 = await c.start({ name: 'b', datadir: bdir, producerKey: keys[1], bootnodes: [a.multiaddr] })
  await until(async () => {
    const ha = a.node.store.head(), hb = b2.node.store.head()
    const n = ha.number < hb.number ? ha.number : hb.number
    const x = await a.node.store.canonicalHeader(n - 1n), y = await b2.node.store.canonicalHeader(n - 1n)
    return n > 8n && x && y && bytesToHex(x.hash()) === bytesToHex(y.hash())
  }, 'agree', 60_000, 200)
  t.notOk(a.node.network!.scorer.isBanned(b2.node.network!.peerId) || b2.node.network!.scorer.isBanned(a.node.network!.peerId), 'nobody was banned: every block executed alike on both nodes')
})
