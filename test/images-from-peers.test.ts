/**
 * Container images from peers when a spec names no registry, over real libp2p on 127.0.0.1 and a
 * real Docker engine: node `a` shares an image (`compute image share`: its archive in the blob
 * store), a rogue peer answers image_archives for the same digest with its best lies — a
 * well-formed archive of *another* image (its keccak right, so the blob download accepts it) and a
 * blob that is no archive at all — and node `b`'s ImageStore, on an engine that lacks the image,
 * asks its peers by digest (market's peerImageArchiveFinder over Network.imageArchives), fetches
 * each named archive with blob_by_hash (market's BlobFetcher), refuses every one whose manifest
 * digest is not the one pinned and loads the one that is.
 *  1. only the rogue shares the digest: both lies refused, nothing loaded, the refused blobs not
 *     kept (b would otherwise serve them on), a COMPUTE_IMAGE_UNAVAILABLE naming both;
 *  2. `a` shares it too: b loads the right image (engine image id = the build's), records it and
 *     now shares it itself (image_archives from b's own store lists it).
 * Skips visibly without a Docker engine (fails under POVCHAIN_REQUIRE_DOCKER=1).
 */
import t from 'tap'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { bytesToHex, hexToBytes } from '../common/bytes.js'
import { noopMetrics } from '../common/metrics.js'
import { silentLogger } from '../common/logger.js'
import { createChainCommon } from '../chain/ChainCommon.js'
import { ImageBuilder } from '../compute/runtime/ImageBuilder.js'
import { ImageStore, sharedImageArchives } from '../compute/runtime/ImageStore.js'
import { requireDocker } from '../compute/test/dockerSupport.js'
import { BlobStore } from '../compute/worker/BlobStore.js'
import { BlobFetcher, networkBlobSource } from '../market/worker/BlobFetcher.js'
import { peerImageArchiveFinder } from '../market/worker/PeerImageArchives.js'
import { blobProvider, imageArchiveProvider } from '../node/NetworkAdapter.js'
import { Cluster, clusterGenesis, randomKey, startRogue, until } from './helpers/netcluster.js'

t.setTimeout(600_000)

t.test('an image from peers by digest: a rogue peer\'s archives of another image or of nothing are refused, the honest one is loaded', async (t) => {
  const docker = await requireDocker(t)
  if (!docker) return
  const engine = docker.docker
  const builder = new ImageBuilder(engine)
  const tag = `${process.pid}-${Date.now()}`
  // Two variants of the built-in image (another label each: other digests).
  const wanted = await builder.build({ repository: 'povchain/peertest', tag: `want-${tag}`, labels: { 'povchain.test': `peer-want-${tag}` } })
  const other = await builder.build({ repository: 'povchain/peertest', tag: `other-${tag}`, labels: { 'povchain.test': `peer-other-${tag}` } })
  t.not(wanted.digest, other.digest, 'two images')

  const key = randomKey(7)
  const c = new Cluster(clusterGenesis({ producers: [key], slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a', producerKey: key })
  const aStore = new BlobStore({ dir: join(a.datadir, 'compute') })

  // The rogue: holds the other image's archive and a blob of noise, and names both for the wanted digest.
  const rogueStore = new BlobStore({ dir: join(c.dir, 'rogue-blobs') })
  const otherShared = await new ImageStore({ docker: engine, blobs: rogueStore }).share(other.id)
  const noise = new Uint8Array(randomBytes(300_000))
  const noiseHash = await rogueStore.put(noise)
  const wantedBytes = hexToBytes(`0x${wanted.digest.slice('sha256:'.length)}`)
  const lies = [
    { digest: wantedBytes, archive: hexToBytes(otherShared.archive!), size: otherShared.archiveSize! },
    { digest: wantedBytes, archive: hexToBytes(noiseHash), size: noise.length },
  ]
  const genesis = (await a.node.store.canonicalHeader(0n))!
  const rogue = await startRogue({
    chainId: 31338n,
    genesis,
    common: createChainCommon(31338n),
    bootnodes: [a.multiaddr],
    blobs: blobProvider(rogueStore),
    images: { imageArchives: async () => lies },
  })
  t.teardown(() => rogue.stop())
  const b = await c.start({ name: 'b', bootnodes: [a.multiaddr, rogue.multiaddrs()[0]!] })
  const net = b.node.network!
  await until(() => net.peerCount() >= 2, 'b sees a and the rogue', 30_000)

  // b's worker side, as WorkerService wires it: the engine lacks the wanted image.
  await engine.getImage(wanted.id).remove({ force: true })
  await engine.getImage(other.id).remove({ force: true })
  t.teardown(() => engine.getImage(wanted.id).remove({ force: true }).catch(() => undefined))
  const bStore = new BlobStore({ dir: join(c.dir, 'b-worker-blobs') })
  const fetcher = new BlobFetcher({ store: bStore, sources: async () => [networkBlobSource(net)] }, { logger: silentLogger, metrics: noopMetrics })
  const bImages = new ImageStore({ docker: engine, blobs: bStore, fetchBlob: (h) => fetcher.get(h), findArchives: peerImageArchiveFinder(net) })
  const ref = `povchain/peertest@${wanted.digest}`

  // 1. Only the rogue names the digest.
  const claims = await peerImageArchiveFinder(net)(wanted.digest)
  t.same(claims.map((x) => x.archive).sort(), [otherShared.archive, noiseHash].sort(), 'the rogue names two archives for the wanted digest; a shares nothing yet')
  const err = await bImages.ensure(ref).then(() => undefined, (e: Error & { code?: string }) => e)
  t.equal(err?.code, 'COMPUTE_IMAGE_UNAVAILABLE', 'nothing the rogue sends is loaded')
  t.match(err?.message, new RegExp(`holds image ${other.digest}, not ${wanted.digest}`), 'the other image\'s archive is refused by its manifest digest')
  t.match(err?.message, new RegExp(`${noiseHash}[^;]*: (not an image archive|archive .* is no image archive)`), 'the noise is refused as no archive')
  await t.rejects(engine.getImage(wanted.id).inspect(), 'the wanted image is not on the engine')
  await t.rejects(engine.getImage(other.id).inspect(), 'nor the other one (it was never loaded)')
  t.notOk(await bStore.has(otherShared.archive!), 'the refused archive is not kept (b would serve it on by hash)')
  t.notOk(await bStore.has(noiseHash), 'nor the noise')
  t.same(await bImages.inventory(), [], 'nothing recorded')

  // 2. a shares the wanted image (what `povchain compute image share` does on its data dir).
  await engine.getImage(wanted.id).inspect().catch(async () => {
    // Removed above for b's sake; a builds it again (the same files: the same digest).
    const again = await builder.build({ repository: 'povchain/peertest', tag: `want-${tag}`, labels: { 'povchain.test': `peer-want-${tag}` } })
    t.equal(again.digest, wanted.digest, 'a rebuild gives the same digest')
  })
  const aShared = await new ImageStore({ docker: engine, blobs: aStore }).share(wanted.id)
  t.equal(aShared.digest, wanted.digest)
  await engine.getImage(wanted.id).remove({ force: true })
  const listed = await net.imageArchives()
  t.ok(listed.some((e) => e.peer === a.node.network!.peerId && bytesToHex(e.archive) === aShared.archive), 'a lists its archive on image_archives')
  const t0 = Date.now()
  const id = await bImages.ensure(ref)
  const ms = Date.now() - t0
  t.equal(id, wanted.id, 'b loaded the image: its engine id is the build\'s')
  t.equal((await engine.getImage(id).inspect()).Id, wanted.id, 'and the engine holds it')
  t.same((await bImages.inventory()).map((r) => r.digest), [wanted.digest], 'recorded by digest')
  t.same((await sharedImageArchives(bStore)).map((r) => [r.digest, r.archive]), [[wanted.digest, aShared.archive]], 'b now shares it too')
  const served = await imageArchiveProvider(bStore).imageArchives([wantedBytes])
  t.equal(served.length, 1, 'and would answer image_archives for it')
  t.comment(`image from peers: ${(aShared.archiveSize! / 1e6).toFixed(1)} MB archive, ${ms} ms to fetch (the rogue's lies included), check and load`)
})
