/**
 * A node whose own process stalls (a long GC, a hot decode path, CPU starvation on a loaded
 * machine) must not drop the peers that answered it in time. libp2p's connection monitor pings
 * every connection every 10 s and aborts it when the pong is not read within 5 s; after a stall
 * the timers run before the socket is read, so the timeout fires although the pong arrived in
 * milliseconds — the fuzz's honest peer and its attackers lost their connections that way.
 */
import t from 'tap'
import { createChainCommon } from '../chain/ChainCommon.js'
import { Cluster, clusterGenesis, randomKey, startRogue, until } from './helpers/netcluster.js'

const CHAIN_ID = 31338n

/** Blocks the event loop for `ms`: what a starved or busy process looks like from inside. */
function stall(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    /* busy */
  }
}

t.test('a process that stalls for 6 s keeps its connections to peers that answered in time', async (t) => {
  const c = new Cluster(clusterGenesis({ producers: [randomKey(0)], slotSeconds: 2, timestamp: Math.floor(Date.now() / 1000) }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a' })
  const genesis = (await a.node.store.canonicalHeader(0n))!
  const b = await startRogue({ chainId: CHAIN_ID, genesis, bootnodes: [a.multiaddr], common: createChainCommon(CHAIN_ID) })
  t.teardown(() => b.stop())
  await until(() => a.node.network!.peers().some((p) => p.id === b.peerId), 'b is a peer of a', 20_000)
  const closed: string[] = []
  a.node.network!.host.libp2p.addEventListener('connection:close', (e) => closed.push(e.detail.remotePeer.toString()))
  // The monitor pings every 10 s; stalls of 6 s every 7 s catch pings in flight whatever the phase.
  const until35 = Date.now() + 35_000
  while (Date.now() < until35) {
    await new Promise((r) => setTimeout(r, 1_000))
    stall(6_000)
  }
  await new Promise((r) => setTimeout(r, 2_000))
  t.same(closed, [], 'no connection closed across five 6 s stalls')
  t.ok(a.node.network!.peers().some((p) => p.id === b.peerId), 'b is still a peer')
})
