/**
 * The network layer with real libp2p nodes on 127.0.0.1, several full nodes in this process:
 * - three producers form a mesh, agree on one chain, and a transaction sent to one is mined
 *   and visible on all; admin_peers / net_peerCount / admin_nodeInfo report the real peers;
 * - a node started late syncs a history of blocks with transactions from several peers, to
 *   the same state;
 * - a peer on another chain is dropped with the reason logged;
 * - misbehaving peers (garbage gossip, an invalid block, request floods, oversized requests)
 *   are scored down and banned while the honest nodes keep producing and agreeing.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import t from 'tap'
import { Block } from '../chain/Block.js'
import { createChainCommon } from '../chain/ChainCommon.js'
import { sealHeader } from '../chain/Seal.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { join } from 'node:path'
import { bytesToHex, hexToBytes } from '../common/bytes.js'
import { BlobStore } from '../compute/worker/BlobStore.js'
import { protocolId } from '../network/ReqResp.js'
import { signComputeMessage } from '../network/ComputeMessageAuth.js'
import { HeadersByRangeRequest } from '../network/Protobuf.js'
import { requestHeaders } from '../network/protocols/HeadersByRange.js'
import * as lp from 'it-length-prefixed'
import { buildHistory, Cluster, clusterGenesis, randomKey, startRogue, transferTx, until, type ClusterNode } from './helpers/netcluster.js'
import { rpc } from './helpers/devnode.js'

const CHAIN_ID = 31338n
const common = createChainCommon(CHAIN_ID)

t.test('three producers: one chain, a transaction reaches everyone, the RPC reports the peers', async (t) => {
  const keys = [0, 1, 2].map(randomKey)
  const c = new Cluster(clusterGenesis({ producers: keys, slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a', producerKey: keys[0] })
  const b = await c.start({ name: 'b', producerKey: keys[1], bootnodes: [a.multiaddr] })
  const d = await c.start({ name: 'c', producerKey: keys[2], bootnodes: [a.multiaddr, b.multiaddr] })
  await until(() => c.nodes.every((n) => n.node.network!.peerCount() === 2), 'a full mesh', 60_000)
  t.equal(await rpc(a.httpUrl, 'net_peerCount'), '0x2', 'net_peerCount')
  const peers = await rpc<{ id: string; network: { remoteAddress: string } }[]>(a.httpUrl, 'admin_peers')
  t.same(peers.map((p) => p.id).sort(), [b.node.network!.peerId, d.node.network!.peerId].sort(), 'admin_peers lists the two others')
  t.match(peers[0]!.network.remoteAddress, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+/)
  const info = await rpc<{ id: string; listenAddrs: string[] }>(a.httpUrl, 'admin_nodeInfo')
  t.equal(info.id, a.node.network!.peerId)
  t.ok(info.listenAddrs.includes(a.multiaddr), 'admin_nodeInfo lists the multiaddr')

  // A transfer sent to one node is gossiped to the producers and mined; every node sees it.
  const tx = transferTx(CHAIN_ID, 1, 0n, new Uint8Array(20).fill(7), 12345n)
  const sentAt = Date.now()
  const hash = await rpc<string>(d.httpUrl, 'eth_sendRawTransaction', [bytesToHex(tx.serialize())])
  await Promise.all(
    c.nodes.map((n) => until(() => rpc<{ blockHash: string; status: string } | null>(n.httpUrl, 'eth_getTransactionReceipt', [hash]), 'receipt everywhere', 20_000)),
  )
  t.comment(`transaction mined and visible on all 3 nodes after ${Date.now() - sentAt} ms`)
  // Two producers may seal competing blocks in adjacent 1 s slots on a loaded machine; for a
  // moment a node can hold the tx in the losing block. Fork choice must settle it everywhere.
  const receipts = await until(async () => {
    const rs = await Promise.all(c.nodes.map((n) => rpc<{ blockHash: string; status: string } | null>(n.httpUrl, 'eth_getTransactionReceipt', [hash])))
    return rs.every((r) => r) && new Set(rs.map((r) => r!.blockHash)).size === 1 ? (rs as { blockHash: string; status: string }[]) : false
  }, 'the same block on every node', 20_000)
  t.pass('same block on every node')
  t.equal(receipts[0]!.status, '0x1')

  // Compute messages travel on their topic; the validators' finality votes on theirs (a forged
  // vote is refused by consensus before it is forwarded).
  const gotCompute: string[] = []
  const gotAtt: string[] = []
  for (const n of [b, d]) {
    n.node.network!.gossip.onCompute((m) => gotCompute.push(m.kind))
    n.node.network!.gossip.onAttestation((m) => gotAtt.push(bytesToHex(m.validator)))
  }
  // Compute messages are signed by the account they name (network/ComputeMessageAuth.ts).
  await a.node.network!.gossip.publishCompute(
    signComputeMessage(CHAIN_ID, { kind: 'worker', worker: { worker: privateKeyToAddress(keys[0]!), workloads: ['mlp-train'], capacity: 2, timestamp: BigInt(Math.floor(Date.now() / 1000)), signature: new Uint8Array(0) } }, keys[0]!),
  )
  await a.node.network!.gossip.publishAttestation({
    sourceHash: new Uint8Array(32),
    sourceHeight: 6n,
    targetHash: new Uint8Array(32),
    targetHeight: 7n,
    validator: new Uint8Array(20),
    signature: new Uint8Array(65),
  })
  const validators: string[] = keys.map((k) => bytesToHex(privateKeyToAddress(k)))
  await until(() => gotCompute.length === 2 && new Set(gotAtt).size >= 2, 'compute gossip and validators’ votes on the other nodes', 10_000)
  t.same(gotCompute, ['worker', 'worker'])
  t.ok(gotAtt.every((v) => validators.includes(v)), 'only genuine validators’ votes are delivered (the forged one is not)')

  // A burst: 150 transfers from five senders into one node all end up mined, seen by another.
  const burst = Array.from({ length: 150 }, (_, i) => transferTx(CHAIN_ID, 4 + (i % 5), BigInt(Math.floor(i / 5)), new Uint8Array(20).fill(8), 1n))
  const t1 = Date.now()
  await Promise.all(burst.map((x) => rpc(b.httpUrl, 'eth_sendRawTransaction', [bytesToHex(x.serialize())])))
  const last = bytesToHex(burst[burst.length - 1]!.hash())
  await until(() => rpc(a.httpUrl, 'eth_getTransactionReceipt', [last]), 'the burst mined', 30_000, 200)
  for (const x of burst.slice(0, 5)) t.ok(await rpc(a.httpUrl, 'eth_getTransactionReceipt', [bytesToHex(x.hash())]), 'burst transaction mined')
  t.comment(`150 transactions sent to one node were mined and visible on another in ${Date.now() - t1} ms`)

  await until(() => c.nodes.every((n) => n.node.store.head().number >= 5n), 'five blocks everywhere', 20_000)
  const h = c.nodes.reduce((m, n) => (n.node.store.head().number < m ? n.node.store.head().number : m), 1n << 62n) - 1n
  const hashes = await Promise.all(c.nodes.map(async (n) => bytesToHex((await n.node.store.canonicalHeader(h))!.hash())))
  t.equal(new Set(hashes).size, 1, `the nodes agree on block ${h}`)
})

t.test('a late node syncs blocks with transactions from several peers', async (t) => {
  const keys = [0, 1].map(randomKey)
  const N = 400
  const genesisTs = Math.floor(Date.now() / 1000) - 2 * N - 60
  const c = new Cluster(clusterGenesis({ producers: keys, slotSeconds: 1, timestamp: genesisTs }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a' })
  await buildHistory(a.node, keys, { count: N, slotSeconds: 1, genesisTimestamp: genesisTs, chainId: CHAIN_ID, txsPerBlock: 8, txEvery: 2 })
  const target = a.node.store.head()
  let t0 = Date.now()
  const b = await c.start({ name: 'b', bootnodes: [a.multiaddr] })
  await until(() => b.node.store.head().number === target.number, 'b synced', 60_000)
  const rateB = (N / (Date.now() - t0)) * 1000
  t0 = Date.now()
  const d = await c.start({ name: 'c', bootnodes: [a.multiaddr, b.multiaddr] })
  await until(() => d.node.store.head().number === target.number, 'c synced', 60_000)
  const rateC = (N / (Date.now() - t0)) * 1000
  t.comment(`sync of ${N} blocks (${(N / 2) * 8} transfers): ${rateB.toFixed(0)} blocks/s from one peer, ${rateC.toFixed(0)} blocks/s from two (3 nodes on one 2-core machine)`)
  for (const n of [b, d]) {
    t.equal(bytesToHex(n.node.store.head().hash()), bytesToHex(target.hash()), 'same head')
    t.equal(bytesToHex(n.node.store.head().stateRoot), bytesToHex(target.stateRoot), 'same state')
  }
  t.equal(await rpc(d.httpUrl, 'eth_syncing'), false, 'eth_syncing false once caught up')

  // A node stopped in the middle of a sync stops promptly, and resumes from where it was.
  const e = await c.start({ name: 'e', bootnodes: [a.multiaddr, b.multiaddr] })
  const syncing = await until(() => rpc<{ currentBlock: string; highestBlock: string } | false>(e.httpUrl, 'eth_syncing'), 'eth_syncing reports the run', 20_000, 10)
  t.equal(Number(syncing.highestBlock), Number(target.number), 'eth_syncing names the target')
  await until(() => e.node.store.head().number >= 40n, 'e part-way', 30_000, 10)
  const stopAt = Date.now()
  await e.stop()
  t.ok(Date.now() - stopAt < 5_000, `stopped mid-sync in ${Date.now() - stopAt} ms`)
  const e2 = await c.start({ name: 'e', bootnodes: [a.multiaddr, b.multiaddr] })
  t.ok(e2.node.store.head().number > 0n, `resumed from block ${e2.node.store.head().number}`)
  await until(() => e2.node.store.head().number === target.number, 'e synced after restart', 60_000)
  // Receipts travel too (receipts_by_hash), checked against the source.
  const { requestReceipts } = await import('../network/protocols/ReceiptsByHash.js')
  const blk = (await a.node.store.canonicalHeader(1n))!
  const [enc] = await requestReceipts(d.node.network!.reqresp, peerIdFromString(a.node.network!.peerId), [blk.hash()])
  t.ok(enc && enc.length > 0, 'receipts served by hash')

  // Blobs (datasets, checkpoints, models) by content hash, in 1 MiB chunks, checked on arrival.
  const blob = new Uint8Array(2_500_000).map((_, i) => (i * 7919) & 0xff)
  const hash = await new BlobStore({ dir: join(a.datadir, 'compute') }).put(blob)
  const got = await d.node.network!.fetchBlob(hexToBytes(hash))
  t.ok(Buffer.from(got).equals(Buffer.from(blob)), `a ${blob.length}-byte blob fetched by its hash`)
  await t.rejects(d.node.network!.fetchBlob(new Uint8Array(32).fill(1)), /UNAVAILABLE|not held/, 'an unknown blob is refused')
})

t.test('a peer on another chain is dropped with the reason', async (t) => {
  const keys = [randomKey(0)]
  const ts = Math.floor(Date.now() / 1000)
  const c = new Cluster(clusterGenesis({ producers: keys, slotSeconds: 1, timestamp: ts }))
  const other = new Cluster(clusterGenesis({ producers: keys, slotSeconds: 1, timestamp: ts, chainId: 777 }))
  t.teardown(async () => {
    await c.destroy()
    await other.destroy()
  })
  const a = await c.start({ name: 'a' })
  const x = await other.start({ name: 'x', bootnodes: [a.multiaddr] })
  const xid = x.node.network!.peerId
  await until(() => a.node.network!.scorer.banReason(xid), 'the other chain refused')
  t.match(a.node.network!.scorer.banReason(xid), /another chain: chain id 777/)
  t.equal(a.node.network!.peerCount(), 0, 'not counted as a peer')
  t.equal(x.node.network!.peerCount(), 0, 'nor the other way round')
})

t.test('misbehaving peers are banned; honest nodes keep going', async (t) => {
  const keys = [0, 1].map(randomKey)
  const c = new Cluster(clusterGenesis({ producers: keys, slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a', producerKey: keys[0] })
  const b = await c.start({ name: 'b', producerKey: keys[1], bootnodes: [a.multiaddr] })
  await until(() => a.node.store.head().number >= 2n && b.node.store.head().number >= 2n, 'honest chain moving')
  const genesis = (await a.node.store.canonicalHeader(0n))!
  const rogue = () => startRogue({ chainId: CHAIN_ID, genesis, bootnodes: [a.multiaddr], common })
  const net = a.node.network!
  const ready = (id: string) => until(() => net.peers().some((p) => p.id === id), 'rogue handshake')
  const subscribed = (r: Awaited<ReturnType<typeof rogue>>, topic: string) =>
    until(() => r.host.libp2p.services.pubsub.getSubscribers(topic).some((p) => p.toString() === net.peerId), 'gossip subscription')

  // 1. Garbage on the blocks topic: malformed protobuf.
  const r1 = await rogue()
  t.teardown(() => r1.stop())
  await ready(r1.peerId)
  await subscribed(r1, r1.gossip.topics.blocks)
  for (let i = 0; i < 3; i++) await r1.gossip.publish('blocks', new Uint8Array([0xff, 0xff, 0xff, i, 0x13, 0x37]))
  await until(() => net.scorer.isBanned(r1.peerId), 'garbage sender banned')
  t.match(net.scorer.banReason(r1.peerId), /malformed|protobuf/, `banned: ${net.scorer.banReason(r1.peerId)}`)

  // 2. A well-formed block whose seal is not its producer's.
  const r2 = await rogue()
  t.teardown(() => r2.stop())
  await ready(r2.peerId)
  await subscribed(r2, r2.gossip.topics.blocks)
  const real = (await a.node.store.getBlock(a.node.store.head().hash()))!
  const forged = new Block(sealHeader(real.header.with({ vanity: new Uint8Array([1]) }), CHAIN_ID, randomKey(9)), real.transactions)
  await r2.gossip.publishBlock(forged)
  await until(() => net.scorer.isBanned(r2.peerId), 'invalid block sender banned')
  t.match(net.scorer.banReason(r2.peerId), /sealed by/, `banned: ${net.scorer.banReason(r2.peerId)}`)

  // 2b. A genuine header with a body that is not its own (transactions dropped).
  const r2b = await rogue()
  t.teardown(() => r2b.stop())
  await ready(r2b.peerId)
  await subscribed(r2b, r2b.gossip.topics.blocks)
  const tx = transferTx(CHAIN_ID, 2, 0n, new Uint8Array(20).fill(3), 1n)
  const realHead = (await a.node.store.getBlock(a.node.store.head().hash()))!
  await r2b.gossip.publishBlock(new Block(sealHeader(realHead.header.with({ vanity: new Uint8Array([2]) }), CHAIN_ID, keys.find((k) => bytesToHex(privateKeyToAddress(k)) === bytesToHex(realHead.header.producer))!), [tx]))
  await until(() => net.scorer.isBanned(r2b.peerId), 'wrong body sender banned')
  t.match(net.scorer.banReason(r2b.peerId), /does not match its transactions root/, `banned: ${net.scorer.banReason(r2b.peerId)}`)

  // 3. A request flood over the rate limit.
  const r3 = await rogue()
  t.teardown(() => r3.stop())
  await ready(r3.peerId)
  const aid = peerIdFromString(net.peerId)
  let limited = 0
  // Twenty at a time: a flood, whatever the round-trip time of one request.
  for (let i = 0; i < 40 && !net.scorer.isBanned(r3.peerId); i++) {
    await Promise.all(
      Array.from({ length: 20 }, () =>
        requestHeaders(r3.reqresp, aid, 0n, 1).catch((e: Error) => {
          if (/rate-limited/.test(e.message)) limited++
        }),
      ),
    )
  }
  t.ok(limited > 0, `${limited} requests refused as rate-limited`)
  await until(() => net.scorer.isBanned(r3.peerId), 'flooder banned')

  // 4. Oversized and malformed requests on a protocol stream.
  const r4 = await rogue()
  t.teardown(() => r4.stop())
  await ready(r4.peerId)
  for (let i = 0; i < 3 && !net.scorer.isBanned(r4.peerId); i++) {
    try {
      const s = await r4.host.libp2p.dialProtocol(aid, protocolId('headers_by_range'))
      s.send(lp.encode.single(i === 0 ? new Uint8Array(100_000) : HeadersByRangeRequest.encode({ start: 0n, count: 1 }).map(() => 0xff)).subarray())
      await s.close().catch(() => {})
      for await (const _ of s) break
    } catch {
      // the node resets such streams
    }
  }
  await until(() => net.scorer.isBanned(r4.peerId), 'oversized/malformed requester banned')

  // 5. A peer announcing a head it cannot serve: it must not hold the producers back.
  const r5 = await startRogue({ chainId: CHAIN_ID, genesis, bootnodes: [a.multiaddr], common, claimHead: genesis.with({ number: 1_000_000n }) })
  t.teardown(() => r5.stop())
  await until(() => net.scorer.isBanned(r5.peerId), 'the liar banned', 40_000)
  t.match(net.scorer.banReason(r5.peerId), /announced head 1000000/, `banned: ${net.scorer.banReason(r5.peerId)}`)

  // Bans disconnect and keep the rogues out; the honest pair still agrees and grows.
  await until(() => !net.peers().some((p) => [r1, r2, r2b, r3, r4, r5].some((r) => r.peerId === p.id)), 'rogues disconnected')
  const before = a.node.store.head().number
  await until(() => a.node.store.head().number >= before + 3n && b.node.store.head().number >= before + 3n, 'honest nodes keep producing', 20_000)
  const n = (a.node.store.head().number < b.node.store.head().number ? a.node.store.head().number : b.node.store.head().number) - 1n
  t.equal(bytesToHex((await a.node.store.canonicalHeader(n))!.hash()), bytesToHex((await b.node.store.canonicalHeader(n))!.hash()), 'honest nodes agree')
  t.equal(a.node.network!.peerCount(), 1, 'only the honest peer remains')
})

t.test('a partition into two halves heals into one canonical chain', async (t) => {
  const keys = [0, 1, 2, 3].map(randomKey)
  const c = new Cluster(clusterGenesis({ producers: keys, slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) }))
  t.teardown(() => c.destroy())
  const nodes: ClusterNode[] = []
  for (let i = 0; i < 4; i++) nodes.push(await c.start({ name: `n${i}`, producerKey: keys[i], bootnodes: nodes.map((n) => n.multiaddr) }))
  await until(() => nodes.every((n) => n.node.network!.peerCount() === 3), 'a full mesh')
  await until(() => nodes.every((n) => n.node.store.head().number >= 2n), 'a shared start')
  const ids = nodes.map((n) => n.node.network!.peerId)
  const halves = [
    [0, 1],
    [2, 3],
  ]
  // Cut every link between the halves: each side bans the other for the cut's duration. The
  // halves grow apart for GROW_MS from the cut, and every check of the split happens before the
  // bans expire at CUT_MS (a fixed sleep after waiting for the cut let a slow machine reach the
  // checks after the bans had expired and the halves had already merged).
  const CUT_MS = 14_000
  const GROW_MS = 6_000
  const cutAt = Date.now()
  for (const [mine, theirs] of [halves, [...halves].reverse()])
    for (const i of mine!) for (const j of theirs!) nodes[i]!.node.network!.scorer.ban(ids[j]!, 'test partition', CUT_MS)
  await until(() => nodes.every((n) => n.node.network!.peerCount() === 1), 'two halves')
  await new Promise((r) => setTimeout(r, Math.max(0, cutAt + GROW_MS - Date.now())))
  const splitTop = nodes.reduce((m, n) => (n.node.store.head().number > m ? n.node.store.head().number : m), 0n)
  // With 1 s slots a block may be in flight between the two nodes of a half at any instant, so
  // compare each half below its lower head rather than two tips read at one moment.
  const agreedBelow = async (i: number, j: number): Promise<string | false> => {
    const m = [nodes[i]!, nodes[j]!].map((n) => n.node.store.head().number).reduce((x, y) => (y < x ? y : x)) - 1n
    const [x, y] = await Promise.all([i, j].map(async (k) => bytesToHex((await nodes[k]!.node.store.canonicalHeader(m))!.hash())))
    return m > 2n && x === y ? x! : false
  }
  await Promise.all([until(() => agreedBelow(0, 1), 'the left half agrees', 5_000), until(() => agreedBelow(2, 3), 'the right half agrees', 5_000)])
  t.pass('each half agrees internally')
  t.ok(Date.now() < cutAt + CUT_MS, `the split was checked while the cut held (${Date.now() - cutAt} ms after it)`)
  t.not(bytesToHex(nodes[0]!.node.store.head().hash()), bytesToHex(nodes[2]!.node.store.head().hash()), 'the halves grew different chains')
  // The bans expire, the bootnodes are redialled, sync and fork choice pick one chain.
  await until(() => nodes.every((n) => n.node.network!.peerCount() === 3), 'links restored', 20_000)
  const low = await until(async () => {
    const heads = nodes.map((n) => n.node.store.head().number)
    const m = heads.reduce((x, y) => (y < x ? y : x)) - 1n
    const hs = await Promise.all(nodes.map(async (n) => bytesToHex((await n.node.store.canonicalHeader(m))!.hash())))
    return new Set(hs).size === 1 && m >= splitTop ? m : false
  }, 'one canonical chain above the split', 30_000)
  t.pass(`all four nodes share one chain up to ${low}, past the ${splitTop} blocks of the longer half`)
})

t.test('--maxpeers caps the peer set', async (t) => {
  const c = new Cluster(clusterGenesis({ producers: [randomKey(0)], slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a', p2p: { maxPeers: 2 } })
  for (let i = 0; i < 4; i++) await c.start({ name: `x${i}`, bootnodes: [a.multiaddr] })
  await until(() => a.node.network!.peerCount() === 2, 'two peers')
  let most = 0
  const t0 = Date.now()
  while (Date.now() - t0 < 3_000) {
    most = Math.max(most, a.node.network!.host.libp2p.getConnections().length)
    await new Promise((r) => setTimeout(r, 50))
  }
  t.ok(most <= 2, `at most 2 connections held (saw ${most}) while 4 nodes dial it`)
  t.equal(a.node.network!.peerCount(), 2)
})
