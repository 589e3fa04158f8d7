/**
 * Issue 17, "same-IP peers silenced": twenty peer ids on 127.0.0.1 around one node. With
 * gossipsub's default IP-colocation penalty (threshold 10, weight −5) the node graylisted all
 * of them past the 13th and read none of their gossip; loopback and bootnode IPs are now exempt
 * (network/GossipScoring.ts). Twenty peers on 127.0.0.1 around one node each publish a signed
 * compute message: the node must read all twenty (and forward them to its mesh).
 */
import t from 'tap'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { bytesToHex } from '../../common/bytes.js'
import { Cluster, clusterGenesis, randomKey, startRogue, until } from '../../test/helpers/netcluster.js'
import { signComputeMessage } from '../ComputeMessageAuth.js'
import { bootnodeIPs, gossipScoreOptions, IP_COLOCATION_THRESHOLD } from '../GossipScoring.js'
import type { Network } from '../Network.js'

const CHAIN_ID = 31338n
const PEERS = 20

t.test('bootnode IPs and loopback are exempt from the colocation penalty', async (t) => {
  t.same(bootnodeIPs(['/ip4/10.0.0.7/tcp/30333/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo', '/dns4/boot.example/tcp/1/p2p/x', 'garbage', '/ip6/2001:db8::1/tcp/1']), ['10.0.0.7', '2001:db8::1'])
  const { scoreParams } = gossipScoreOptions({ allowIPs: ['10.0.0.7'] })
  t.same([...scoreParams.IPColocationFactorWhitelist!].sort(), ['10.0.0.7', '127.0.0.1', '::1'])
  t.equal(scoreParams.IPColocationFactorThreshold, IP_COLOCATION_THRESHOLD)
})

t.test(`${PEERS} peers from 127.0.0.1 keep hearing each other`, async (t) => {
  const c = new Cluster(clusterGenesis({ producers: [randomKey(0)], slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) }))
  t.teardown(() => c.destroy())
  const hub = await c.start({ name: 'hub', p2p: { maxPeers: 60 } })
  const net = hub.node.network!
  const genesis = (await hub.node.store.canonicalHeader(0n))!
  const common = createChainCommon(CHAIN_ID)
  const peers: Network[] = []
  t.teardown(async () => {
    for (const p of peers) await p.stop().catch(() => {})
  })
  // Twenty peer ids from 127.0.0.1 at one node: what its colocation term counts.
  // One at a time, each ready before the next dials: a burst of handshakes on a loaded machine
  // times out and is dropped with backoff, which is not what this test is about.
  for (let i = 0; i < PEERS; i++) {
    const p = await startRogue({ chainId: CHAIN_ID, genesis, bootnodes: [hub.multiaddr], common })
    peers.push(p)
    await until(() => net.peers().some((x) => x.id === p.peerId), `peer ${i + 1} ready at the hub`, 30_000, 50)
  }
  await until(() => net.peerCount() === PEERS, `${PEERS} peers ready at the hub`, 30_000, 100)
  const topic = net.gossip.topics.compute
  await until(() => peers.every((p) => p.host.libp2p.services.pubsub.getSubscribers(topic).some((x) => x.toString() === net.peerId)), 'every peer sees the hub subscribed', 30_000, 100)
  await until(() => net.host.libp2p.services.pubsub.getSubscribers(topic).length >= PEERS, 'the hub sees every peer subscribed', 30_000, 100)

  const keys = peers.map((_, i) => randomKey(100 + i))
  const heard = new Map<Network, Set<string>>([[net, new Set()], ...peers.map((p) => [p, new Set<string>()] as [Network, Set<string>])])
  for (const [n, set] of heard) n.gossip.onCompute((m) => m.kind === 'worker' && set.add(bytesToHex(m.worker.worker)))
  const now = BigInt(Math.floor(Date.now() / 1000))
  for (const [i, p] of peers.entries())
    await p.gossip.publishCompute(signComputeMessage(CHAIN_ID, { kind: 'worker', worker: { worker: privateKeyToAddress(keys[i]!), workloads: ['mlp-train'], capacity: 1, timestamp: now, signature: new Uint8Array(0) } }, keys[i]!))

  // Each publisher sends to every peer it does not graylist (gossipsub's flood publish): the hub
  // hears each directly, unless its score of the sender is below the graylist threshold.
  await until(() => heard.get(net)!.size === PEERS, `the hub hears all ${PEERS}`, 20_000, 100).catch(() => undefined)
  t.equal(heard.get(net)!.size, PEERS, `the hub heard ${heard.get(net)!.size} of ${PEERS} same-IP peers`)
  const gossipScore = (id: string) => (net.host.libp2p.services.pubsub as unknown as { score: { score(id: string): number } }).score.score(id)
  const scores = peers.map((p) => gossipScore(p.peerId))
  t.ok(scores.every((s) => s > -10), `the hub's gossipsub scores of the twenty stay above the gossip threshold, so it gossips and forwards to them (min ${Math.min(...scores).toFixed(1)})`)
  // And they hear each other through the hub (mesh forwarding and IHAVE gossip: a peer outside
  // the hub's mesh may miss a message, so this counts the messages that travelled hub → peers).
  await until(() => peers.some((p) => heard.get(p)!.size >= PEERS - 1), 'a peer hears the others through the hub', 20_000, 200).catch(() => undefined)
  const counts = peers.map((p) => heard.get(p)!.size)
  t.ok(counts.some((n) => n === PEERS - 1), `the hub forwards what they send (messages heard per peer: ${counts.join(',')})`)
})
