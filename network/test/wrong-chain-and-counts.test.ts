/**
 * Issue 17, "wrong-chain peers never learn why": between real libp2p nodes on 127.0.0.1.
 * - a peer on another chain that sends its status gets the node's status back (so it can see
 *   and log the mismatch) before the ban closes the connection;
 * - a count past 2^32 in a request (headers_by_range's count, blob_by_hash's length) is refused
 *   as an invalid request, not wrapped to its low 32 bits and served.
 */
import { noise } from '@chainsafe/libp2p-noise'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { createLibp2p } from 'libp2p'
import t from 'tap'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { Cluster, clusterGenesis, randomKey, startRogue, until } from '../../test/helpers/netcluster.js'
import { protocolId } from '../ReqResp.js'
import { Response, ResponseCode, Status } from '../Protobuf.js'

const CHAIN_ID = 31338n

/** One request on a raw stream, read back as the Response envelope (undefined when the stream ends unanswered). */
async function rawRequest(libp2p: Libp2p, peer: PeerId | ReturnType<typeof multiaddr>, name: string, body: Uint8Array) {
  const s = await libp2p.dialProtocol(peer, protocolId(name))
  s.send(lp.encode.single(body).subarray())
  await s.close()
  for await (const f of lp.decode(s, { maxDataLength: 4 << 20 })) return Response.decode(f.subarray())
  return undefined
}

/** Protobuf varint (the test writes fields by hand: a uint32 encoder would wrap 2^32+5 itself). */
function varint(n: bigint): number[] {
  const out: number[] = []
  do {
    let b = Number(n & 0x7fn)
    n >>= 7n
    if (n > 0n) b |= 0x80
    out.push(b)
  } while (n > 0n)
  return out
}

t.test('a peer on another chain gets our status before the ban closes the connection', async (t) => {
  const c = new Cluster(clusterGenesis({ producers: [randomKey(0)], slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a' })
  const net = a.node.network!
  // A bare libp2p node of another chain: it only sends its status, as a client of another
  // implementation might, and does not answer ours (so it learns nothing from our request).
  const rogue = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
  t.teardown(() => rogue.stop())
  const theirs = { chainId: 777n, genesisHash: new Uint8Array(32).fill(7), headNumber: 0n, headHash: new Uint8Array(32).fill(7), finalizedNumber: 0n, finalizedHash: new Uint8Array(0), client: 'other/1.0' }
  const res = await rawRequest(rogue, multiaddr(a.multiaddr), 'status', Status.encode(theirs)).catch((e: Error) => e)
  t.ok(res !== undefined && !(res instanceof Error), `the status request is answered (${res instanceof Error ? res.message : res ? 'ok' : 'the stream ended unanswered'})`)
  if (res instanceof Error || !res) return
  t.equal(res.code, ResponseCode.OK)
  const ours = Status.decode(res.body)
  t.equal(ours.chainId, CHAIN_ID, 'the answer names our chain id: the peer can tell why it is dropped')
  t.same(ours.genesisHash, (await a.node.store.canonicalHeader(0n))!.hash(), 'and our genesis')
  const rid = rogue.peerId.toString()
  await until(() => net.scorer.banReason(rid), 'then banned', 10_000)
  t.match(net.scorer.banReason(rid), /another chain: chain id 777/)
  await until(() => rogue.getConnections().length === 0, 'and disconnected', 10_000)
  t.equal(net.peerCount(), 0, 'never counted as a peer')
})

t.test('a count or length past 2^32 is refused, not wrapped and served', async (t) => {
  const c = new Cluster(clusterGenesis({ producers: [randomKey(0)], slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a' })
  const net = a.node.network!
  const genesis = (await a.node.store.canonicalHeader(0n))!
  const r = await startRogue({ chainId: CHAIN_ID, genesis, bootnodes: [a.multiaddr], common: createChainCommon(CHAIN_ID) })
  t.teardown(() => r.stop())
  await until(() => net.peers().some((p) => p.id === r.peerId), 'the requester is a peer')
  const aid = peerIdFromString(net.peerId)

  // headers_by_range { start: 0, count: 2^32 + 5 }: as uint32 it read as 5 and was served.
  const wrapped = Uint8Array.from([0x08, 0x00, 0x10, ...varint((1n << 32n) + 5n)])
  const res = await rawRequest(r.host.libp2p, aid, 'headers_by_range', wrapped)
  t.equal(res?.code, ResponseCode.INVALID_REQUEST, 'headers_by_range: refused as invalid')
  t.match(res?.message, /count 4294967301 not in 1…256/, `says why: ${res?.message}`)
  const five = Uint8Array.from([0x08, 0x00, 0x10, 0x05])
  t.equal((await rawRequest(r.host.libp2p, aid, 'headers_by_range', five))?.code, ResponseCode.OK, 'count 5 itself is served')

  // blob_by_hash { hash, offset: 0, length: 2^32 + 1 }
  const blob = Uint8Array.from([0x0a, 32, ...new Uint8Array(32).fill(1), 0x10, 0x00, 0x18, ...varint((1n << 32n) + 1n)])
  const b = await rawRequest(r.host.libp2p, aid, 'blob_by_hash', blob)
  t.equal(b?.code, ResponseCode.INVALID_REQUEST, 'blob_by_hash: a length past 2^32 refused')
  t.match(b?.message, /length 4294967297 not in 1…1048576/)
  t.ok(net.scorer.score(r.peerId) < 0, `and scored as malformed (${net.scorer.score(r.peerId)})`)
})
