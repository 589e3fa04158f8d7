/**
 * Issue 17, "gossip that checks nothing": a peer publishing messages with random signatures on
 * the attestation and compute topics (the ones that trusted their shape) between real libp2p
 * nodes on 127.0.0.1. Each is rejected before it is forwarded, the sender's score falls with
 * each, and an honest peer behind the receiving node never sees one; honest signed messages
 * still travel. (Malformed, mis-sealed and wrong-body blocks and bad transactions:
 * test/network.test.ts "misbehaving peers".)
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { bytesToHex } from '../../common/bytes.js'
import { Cluster, clusterGenesis, randomKey, startRogue, until } from '../../test/helpers/netcluster.js'
import { computeMessageFault, signComputeMessage } from '../ComputeMessageAuth.js'
import { ComputeMessage, GossipAttestation, type ComputeMessageData } from '../Protobuf.js'

const CHAIN_ID = 31338n

/** 65 random bytes shaped like a signature (low s, v ∈ {0,1}): it recovers some random address. */
function randomSignature(): Uint8Array {
  const s = new Uint8Array(randomBytes(65))
  s[32] = s[32]! & 0x3f
  s[64] = s[64]! & 1
  return s
}

const now = () => BigInt(Math.floor(Date.now() / 1000))

t.test('random signatures on every trusted topic are rejected, scored and not forwarded; honest messages pass', async (t) => {
  const keys = [randomKey(0), randomKey(1)]
  const c = new Cluster(clusterGenesis({ producers: keys, slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a', producerKey: keys[0] })
  const b = await c.start({ name: 'b', producerKey: keys[1], bootnodes: [a.multiaddr] })
  await until(() => a.node.network!.peerCount() === 1 && b.node.network!.peerCount() === 1, 'a and b connected')
  const net = a.node.network!
  const genesis = (await a.node.store.canonicalHeader(0n))!
  const rogue = await startRogue({ chainId: CHAIN_ID, genesis, bootnodes: [a.multiaddr], common: createChainCommon(CHAIN_ID) })
  t.teardown(() => rogue.stop())
  await until(() => net.peers().some((p) => p.id === rogue.peerId), 'rogue handshake')
  for (const topic of [rogue.gossip.topics.compute, rogue.gossip.topics.attestations])
    await until(() => rogue.host.libp2p.services.pubsub.getSubscribers(topic).some((p) => p.toString() === net.peerId), 'gossip subscription')

  // What b hears on the two topics (its own votes aside: the rogue's validator names are random).
  const atB: string[] = []
  b.node.network!.gossip.onCompute((m) => atB.push(`compute:${m.kind}`))
  const rogueVoters = new Set<string>()
  b.node.network!.gossip.onAttestation((m) => {
    if (rogueVoters.has(bytesToHex(m.validator))) atB.push('attestation')
  })

  const forged: [string, () => Uint8Array][] = [
    ['compute worker readiness', () => ComputeMessage.encode({ kind: 'worker', worker: { worker: randomBytes(20), workloads: ['mlp-train'], capacity: 4, timestamp: now(), signature: randomSignature() } })],
    ['compute job announcement', () => ComputeMessage.encode({ kind: 'job', job: { jobId: randomBytes(32), specHash: randomBytes(32), client: randomBytes(20), workload: 'mlp-train', deadline: now() + 600n, price: Uint8Array.of(1), signature: randomSignature() } })],
    ['compute verification vote', () => ComputeMessage.encode({ kind: 'vote', vote: { sessionId: randomBytes(32), verifier: randomBytes(20), accept: true, resultHash: randomBytes(32), signature: randomSignature() } })],
    ['unsigned compute message', () => ComputeMessage.encode({ kind: 'worker', worker: { worker: randomBytes(20), workloads: ['mlp-train'], capacity: 4, timestamp: now(), signature: new Uint8Array(0) } })],
    [
      'attestation',
      () => {
        const validator = randomBytes(20)
        rogueVoters.add(bytesToHex(validator))
        const head = a.node.store.head()
        return GossipAttestation.encode({ sourceHash: genesis.hash(), sourceHeight: 0n, targetHash: head.hash(), targetHeight: head.number, validator, signature: randomSignature() })
      },
    ],
  ]
  for (const [what, make] of forged) {
    const before = net.scorer.score(rogue.peerId)
    const topic = what === 'attestation' ? 'attestations' : 'compute'
    await rogue.gossip.publish(topic, make())
    await until(() => net.scorer.score(rogue.peerId) < before - 5, `${what} scored`, 10_000)
    t.ok(net.scorer.score(rogue.peerId) < before, `${what}: rejected, the sender's score falls (${before.toFixed(1)} → ${net.scorer.score(rogue.peerId).toFixed(1)})`)
  }

  // Honest messages still travel, through a, to b: a readiness signed by a's worker account.
  const honest: ComputeMessageData = signComputeMessage(CHAIN_ID, { kind: 'worker', worker: { worker: privateKeyToAddress(keys[0]!), workloads: ['mlp-train'], capacity: 2, timestamp: now(), signature: new Uint8Array(0) } }, keys[0]!)
  await net.gossip.publishCompute(honest)
  await until(() => atB.includes('compute:worker'), 'the honest message reaches b', 10_000)
  t.same(atB, ['compute:worker'], 'b saw the honest message and none of the forged ones')
  const rejected = net.scorer.score(rogue.peerId)
  t.ok(rejected <= -40, `after ${forged.length} forged messages the rogue's score is ${rejected.toFixed(1)}`)

  // Replayed across chains: a message signed for another chain id is forged here.
  const other = signComputeMessage(777n, { kind: 'worker', worker: { worker: privateKeyToAddress(keys[1]!), workloads: [], capacity: 1, timestamp: now(), signature: new Uint8Array(0) } }, keys[1]!)
  t.match(computeMessageFault(CHAIN_ID, other, now())?.reason, /names .* but is signed by/, 'a signature for chain 777 does not verify on this chain')
  const old = signComputeMessage(CHAIN_ID, { kind: 'worker', worker: { worker: privateKeyToAddress(keys[0]!), workloads: [], capacity: 1, timestamp: now() - 3600n, signature: new Uint8Array(0) } }, keys[0]!)
  t.match(computeMessageFault(CHAIN_ID, old, now()), { stale: true }, 'an hour-old readiness is stale (ignored, not forwarded)')
  t.equal(computeMessageFault(CHAIN_ID, honest, now()), undefined, 'a fresh signed one is fine')
})
