/**
 * A peer's claims (its head, its finalized block) make this node sync and hold its producers
 * back meanwhile. A liar that repeats a claim in every status and answers no request (a timeout
 * alone never bans: a paused honest node times out too) must not keep the producers idle: once
 * a claim failed, that peer's claims stop holding them back for a minute, while it stays a sync
 * target in case the failure was passing.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { createChainCommon } from '../chain/ChainCommon.js'
import { Cluster, clusterGenesis, randomKey, startRogue, until } from './helpers/netcluster.js'

const CHAIN_ID = 31338n
const common = createChainCommon(CHAIN_ID)

for (const claim of ['head', 'finalized'] as const) {
  t.test(`a silent peer claiming a ${claim} it never serves does not keep producers idle`, async (t) => {
    const keys = [0, 1].map(randomKey)
    const c = new Cluster(clusterGenesis({ producers: keys, slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) }))
    t.teardown(() => c.destroy())
    // Status every second and a 2 s request timeout: the liar gets a claim in before every slot.
    const p2p = { statusIntervalMs: 1_000, requestTimeoutMs: 2_000 }
    const a = await c.start({ name: 'a', producerKey: keys[0], p2p })
    const b = await c.start({ name: 'b', producerKey: keys[1], bootnodes: [a.multiaddr], p2p })
    await until(() => a.node.store.head().number >= 3n && b.node.store.head().number >= 3n, 'honest chain moving', 30_000)
    const genesis = (await a.node.store.canonicalHeader(0n))!
    const liar = await startRogue({
      chainId: CHAIN_ID,
      genesis,
      bootnodes: [a.multiaddr, b.multiaddr],
      common,
      silent: true,
      ...(claim === 'head' ? { claimHead: genesis.with({ number: 1_000_000n }) } : { claimFinalized: { number: 1n, hash: randomBytes(32) } }),
    })
    t.teardown(() => liar.stop())
    await until(() => a.node.network!.peers().some((p) => p.id === liar.peerId), 'the liar is a peer', 20_000)
    const from = a.node.store.head().number
    const startedAt = Date.now()
    await new Promise((r) => setTimeout(r, 20_000))
    const slots = (Date.now() - startedAt) / 1000
    const made = Number(a.node.store.head().number - from)
    t.ok(a.node.network!.peers().some((p) => p.id === liar.peerId) || a.node.network!.scorer.isBanned(liar.peerId), 'the liar was connected throughout (or banned)')
    // Two honest producers fill every slot between them; a liar holding them back for a request
    // timeout after each status left most slots empty.
    t.ok(made >= slots * 0.6, `${made} blocks in ${slots.toFixed(0)} one-second slots while the liar claimed a ${claim}`)
  })
}
