/**
 * blob_by_hash under the default rate limits, between two real nodes on 127.0.0.1: a verifier
 * fetching a session's worth of small blobs (checkpoints of a few KB) in a row must not be
 * rate-limited or scored down by the worker's node. (Each request used to ask for a whole 1 MiB
 * chunk, which the server charges 4 units of its burst of 40: the 11th small blob was refused.)
 */
import t from 'tap'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { hexToBytes } from '../../common/bytes.js'
import { BlobStore } from '../../compute/worker/BlobStore.js'
import { Cluster, clusterGenesis, randomKey, until } from '../../test/helpers/netcluster.js'
import { FIRST_BLOB_REQUEST } from '../protocols/BlobByHash.js'

t.test('thirty small blobs and a large one in a row: none rate-limited, the fetcher not scored down', async (t) => {
  const key = randomKey(1)
  const c = new Cluster(clusterGenesis({ producers: [key], slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a', producerKey: key })
  const b = await c.start({ name: 'b', bootnodes: [a.multiaddr] })
  await until(() => b.node.network!.peerCount() > 0 && a.node.network!.peerCount() > 0, 'peers', 20_000)
  const store = new BlobStore({ dir: join(a.datadir, 'compute') })
  const blobs: { hash: string; bytes: Uint8Array }[] = []
  for (let i = 0; i < 30; i++) {
    const bytes = new Uint8Array(7_000 + i).map((_, j) => (j * 31 + i) & 0xff)
    blobs.push({ hash: await store.put(bytes), bytes })
  }
  // One larger than the first request: the rest comes in the following chunk(s).
  const big = new Uint8Array(FIRST_BLOB_REQUEST + 300_000).map((_, j) => (j * 7) & 0xff)
  blobs.push({ hash: await store.put(big), bytes: big })
  const t0 = Date.now()
  for (const x of blobs) {
    const got = await b.node.network!.fetchBlob(hexToBytes(x.hash))
    t.ok(Buffer.from(got).equals(Buffer.from(x.bytes)), `${x.bytes.length} bytes`)
  }
  t.comment(`${blobs.length} blobs in ${Date.now() - t0} ms`)
  const score = a.node.network!.scorer.score(b.node.network!.peerId)
  t.ok(score >= 0, `the fetching peer's score at the server stays ${score}`)
  t.ok(a.node.network!.peers().some((p) => p.id === peerIdFromString(b.node.network!.peerId).toString()), 'still connected')
})
