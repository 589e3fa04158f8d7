/**
 * Issue 17, "replayable download tokens": a worker's signed requests for a paid blob went to
 * every endpoint any worker registered and to every peer, each a bearer token for five minutes
 * at any node — and registered endpoints made the worker POST to any URL (blind SSRF). Against a
 * real in-process --dev node S (LevelDB, the real EVM, WorkMarket and AssetRegistry, libp2p on
 * 127.0.0.1), with the worker side's real BlobFetcher, WorkerBlobSources and signing:
 * - an attacker registers an HTTP endpoint (its best case: one the worker's operator allowed),
 *   relays S's own challenges (pov_blobChallenge) to the worker, collects the requests the
 *   worker sends it, and replays them at S's pov_getBlob as they are, readdressed to S, and over
 *   blob_by_hash: all refused; the worker still gets the blob from S's allowed endpoint;
 * - an attacker peer collects the requests sent over blob_by_hash and replays them at S over
 *   blob_by_hash and over pov_getBlob: refused (and the replaying peer is scored down); the
 *   worker gets the blob from S over p2p;
 * - endpoints registered at 127.0.0.1, localhost, ::ffff:127.0.0.1, 169.254.169.254 and 10.0.0.1
 *   are never contacted, by default (p2p only), with '*' (public hosts), with a name entry that
 *   resolves to loopback; an allowed endpoint's redirect to a loopback port is not followed.
 * Each replay was served before requests named their server.
 */
import t from 'tap'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { encodeFunctionData, keccak256, parseEther, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { DEV_MNEMONIC, deriveKeys } from '../../chain/DevKeys.js'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { BlobStore } from '../../compute/worker/BlobStore.js'
import { ASSET_REGISTRY_ADDRESS, assetRegistryAbi } from '../../genesis/AssetRegistryGenesis.js'
import { WORK_MARKET_ADDRESS } from '../../genesis/WorkMarketGenesis.js'
import type { BlobRequester } from '../../network/Protobuf.js'
import { FIRST_BLOB_REQUEST } from '../../network/protocols/BlobByHash.js'
import { blobRequestFields, blobRequestFromJson, blobRequestFromWire, blobRequestToJson, blobRequestToWire, serverOfPeer, serverOfUrl, signBlobRequest, type BlobRequestJson } from '../assets/DownloadAuth.js'
import { backendCaller } from '../client/MarketChain.js'
import { encodeMarketCall, WorkMarketReader } from '../client/WorkMarketReader.js'
import { AllowedEndpointRpc } from '../worker/AllowedEndpointRpc.js'
import { BlobFetcher, networkBlobSource, type BlobAuth } from '../worker/BlobFetcher.js'
import { EndpointAllowList, isPublicAddress } from '../worker/EndpointAllowList.js'
import { workerBlobSources } from '../worker/WorkerBlobSources.js'
import { CHAIN_ID, rpc, rpcRaw, startInProcessNode, tempDir, waitFor } from '../../test/helpers/devnode.js'
import { startRogue } from '../../test/helpers/netcluster.js'

const abi = assetRegistryAbi()
// All 20 dev accounts (the --dev node holds their keys): one registered endpoint each.
const KEYS = deriveKeys(DEV_MNEMONIC, 20)
const addr = (i: number) => privateKeyToAccount(bytesToHex(KEYS[i]!) as Hex).address
const [OWNER, BUYER, SERVER_WORKER, COLLECTOR] = [0, 1, 2, 3]
/** The first of the dev accounts that register the SSRF endpoints (#17, #18 are --dev's worker identities, unused here). */
const SSRF_FROM = 4

/** An HTTP server on 127.0.0.1 that records each request and answers with `answer`. */
async function httpServer(answer: (req: IncomingMessage, body: string) => { status?: number; headers?: Record<string, string>; body?: string }): Promise<{ url: string; port: number; hits: { method: string; body: string }[]; server: Server }> {
  const hits: { method: string; body: string }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString('utf8')))
    req.on('end', () => {
      hits.push({ method: req.method ?? '', body })
      const a = answer(req, body)
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers })
      res.end(a.body ?? '')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, port, hits, server }
}

t.test('issue 17: collected blob requests do not open the asset server; registered endpoints reach no internal host', async (t) => {
  const { dir, cleanup } = tempDir('povchain-download-replay-')
  t.teardown(cleanup)
  const n = await startInProcessNode({
    cfg: {
      p2p: {
        listenAddr: '127.0.0.1',
        port: 0,
        bootnodes: [],
        progress: 'off',
        maintainIntervalMs: 1_000,
        statusIntervalMs: 2_000,
        rateLimits: { blob_by_hash: { perSecond: 10_000, burst: 10_000 } },
      },
    },
  })
  t.teardown(() => n.stop())
  const url = n.httpUrl
  const S = n.node.network!
  const send = async (from: number, to: Hex, data: Hex, value = 0n) => {
    const hash = await rpc<Hex>(url, 'eth_sendTransaction', [{ from: addr(from), to, data, gas: '0x4c4b40', value: toHex(value) }])
    const r = await waitFor(() => rpc<{ status: Hex } | null>(url, 'eth_getTransactionReceipt', [hash]), 'the transaction mined', 60_000)
    if (r.status !== '0x1') throw new Error(`transaction from #${from} reverted`)
  }
  const registerEndpoint = (from: number, endpoint: string) => send(from, WORK_MARKET_ADDRESS, encodeMarketCall('register', [100n, 1, endpoint]), parseEther('2'))

  // Two chunks over p2p (the request goes with each).
  const model = new Uint8Array(FIRST_BLOB_REQUEST + 50_000).map((_, i) => (i * 31 + 7) & 0xff)
  const paidHash = await rpc<Hex>(url, 'pov_putBlob', [toHex(model)])
  t.equal(paidHash, keccak256(model), 'the paid blob is on the asset server')
  await send(OWNER, ASSET_REGISTRY_ADDRESS, encodeFunctionData({ abi, functionName: 'publish', args: [0, paidHash, BigInt(model.length), keccak256(toHex('meta')), '', 1, 1n, 10n] } as never))
  await send(BUYER, ASSET_REGISTRY_ADDRESS, encodeFunctionData({ abi, functionName: 'payDownload', args: [1n] } as never), 10n)

  /** The worker side signs as the buyer (entitled: paid the download), for the server each source names. */
  const auth: BlobAuth = async (h, server) => blobRequestToJson(await signBlobRequest(KEYS[BUYER]!, blobRequestFields(CHAIN_ID, h, server)))
  const market = new WorkMarketReader(backendCaller(n.node.backend!))
  const store = (name: string) => new BlobStore({ dir: join(dir, name) })
  const refusedAt = async (params: unknown[]) => (await rpcRaw(url, 'pov_getBlob', params)).error

  await t.test('HTTP: an endpoint that collects requests cannot replay them at the asset server', async (t) => {
    const collected: BlobRequestJson[] = []
    // Its best strategy: relay the asset server's own challenges, so the requests it collects carry nonces the server issued.
    let relayed: { nonce: Hex } | undefined
    const collector = await httpServer((_req, body) => {
      const m = JSON.parse(body) as { id: number; method: string; params: unknown[] }
      if (m.method === 'pov_blobChallenge') return { body: JSON.stringify({ jsonrpc: '2.0', id: m.id, result: relayed }) }
      if (m.method === 'pov_getBlob' && m.params[3]) collected.push(m.params[3] as BlobRequestJson)
      // Says it does not hold the blob: the worker moves on, and the collector keeps the request.
      return { body: JSON.stringify({ jsonrpc: '2.0', id: m.id, result: null }) }
    })
    relayed = await rpc<{ nonce: Hex }>(url, 'pov_blobChallenge')
    t.teardown(() => collector.server.close())
    await registerEndpoint(COLLECTOR, collector.url)
    await registerEndpoint(SERVER_WORKER, url)

    // The worker's operator allowed loopback (a one-machine devnet): the collector is reachable, its best case.
    const fetcher = new BlobFetcher({ store: store('http-worker'), sources: workerBlobSources({ market, allow: new EndpointAllowList(['127.0.0.1']), own: new Set(), ownEndpoint: '' }) })
    t.same(await fetcher.get(paidHash, { auth }), model, "the honest path: the worker gets the paid blob from the server's allowed endpoint")
    t.ok(collected.length >= 1, `the collector got ${collected.length} signed request(s)`)
    const stolen = collected[0]!
    t.equal(stolen.server, collector.url, 'addressed to the collector, the only node it was sent to')
    t.equal(stolen.nonce, relayed.nonce, "with the server's challenge the collector relayed")

    t.match(await refusedAt([paidHash, 0, 100, stolen]), { code: -32602, message: new RegExp(`addressed to ${collector.url.replace(/\./g, '\\.')}, not to this node`) }, 'replayed as it is at the asset server: refused')
    t.match(await refusedAt([paidHash, 0, 100, { ...stolen, server: serverOfUrl(url) }]), { code: -32602, message: /not signed by/ }, 'readdressed to the asset server: the signature no longer verifies')
    await t.rejects(
      (await startRogue({ chainId: CHAIN_ID, genesis: (await n.node.store.canonicalHeader(0n))!, bootnodes: [S.multiaddrs()[0]!], common: createChainCommon(CHAIN_ID) }).then(async (p) => {
        t.teardown(() => p.stop())
        await waitFor(() => p.peerCount() > 0 && S.peers().some((x) => x.id === p.peerId), 'the replaying peer to connect', 30_000, 50)
        return p
      })).fetchBlob(hexToBytes(paidHash), 1 << 22, { requester: blobRequestToWire(blobRequestFromJson(stolen)) }),
      { code: 'NETWORK_FORBIDDEN', message: /not signed by/ },
      'sent over blob_by_hash instead (read as addressed to the server’s peer id): refused',
    )
  })

  await t.test('p2p: a peer that collects requests cannot replay them at the asset server', async (t) => {
    const genesis = (await n.node.store.canonicalHeader(0n))!
    const common = createChainCommon(CHAIN_ID)
    const collected: BlobRequester[] = []
    // The collector answers every blob_by_hash as "not held" and keeps the requester.
    const collector = await startRogue({
      chainId: CHAIN_ID,
      genesis,
      bootnodes: [],
      common,
      blobs: {
        read: async (_h, _o, _l, ctx) => {
          if (ctx?.requester) collected.push(ctx.requester)
          return undefined
        },
      },
    })
    t.teardown(() => collector.stop())
    // A worker whose only peer is the collector at first.
    const worker = await startRogue({ chainId: CHAIN_ID, genesis, bootnodes: [collector.multiaddrs()[0]!], common })
    t.teardown(() => worker.stop())
    await waitFor(() => worker.peers().some((x) => x.id === collector.peerId), 'the worker to reach the collector', 30_000, 50)
    const fetcher = new BlobFetcher({ store: store('p2p-worker'), sources: async () => [networkBlobSource(worker)] })
    await t.rejects(fetcher.get(paidHash, { auth }), { code: 'JOB_BLOB_UNAVAILABLE' }, 'the collector "does not hold" the blob')
    t.ok(collected.length >= 1, `the collector got ${collected.length} signed request(s)`)
    const stolen = collected[0]!
    t.equal(bytesToHex(stolen.account), addr(BUYER).toLowerCase(), "the buyer's")

    const replayer = await startRogue({ chainId: CHAIN_ID, genesis, bootnodes: [S.multiaddrs()[0]!], common })
    t.teardown(() => replayer.stop())
    await waitFor(() => replayer.peerCount() > 0 && S.peers().some((x) => x.id === replayer.peerId), 'the replaying peer to connect', 30_000, 50)
    for (let i = 1; i <= 2; i++) await t.rejects(replayer.fetchBlob(hexToBytes(paidHash), 1 << 22, { requester: stolen }), { code: 'NETWORK_FORBIDDEN', message: /not signed by .* for p2p:/ }, `replay ${i} over blob_by_hash: refused`)
    t.ok(S.scorer.score(replayer.peerId) <= -19, `and the replaying peer is scored down (${S.scorer.score(replayer.peerId).toFixed(1)})`)
    const asJson = blobRequestToJson(blobRequestFromWire(stolen, paidHash, serverOfPeer(collector.peerId)))
    t.match(await refusedAt([paidHash, 0, 100, asJson]), { message: /must carry a challenge/ }, 'over pov_getBlob as it is: refused (no challenge)')
    const { nonce } = await rpc<{ nonce: Hex }>(url, 'pov_blobChallenge')
    t.match(await refusedAt([paidHash, 0, 100, { ...asJson, nonce }]), { message: /addressed to p2p:/ }, 'with a fresh challenge of the server added: refused (addressed to the collector)')
    t.match(await refusedAt([paidHash, 0, 100, { ...asJson, nonce, server: serverOfUrl(url) }]), { message: /not signed by/ }, 'and readdressed to the server: refused (the signature)')

    // The honest path: a worker connected to the asset server gets the blob over p2p.
    const honest = await startRogue({ chainId: CHAIN_ID, genesis, bootnodes: [S.multiaddrs()[0]!], common })
    t.teardown(() => honest.stop())
    await waitFor(() => honest.peers().some((x) => x.id === S.peerId), 'the honest worker to reach the server', 30_000, 50)
    const honestFetcher = new BlobFetcher({ store: store('p2p-honest'), sources: async () => [networkBlobSource(honest)] })
    t.same(await honestFetcher.get(paidHash, { auth }), model, 'the honest path: fetched over p2p, signed for the server it asked')
  })

  await t.test('SSRF: registered endpoints at loopback, link-local or private addresses are never contacted', async (t) => {
    const victim = await httpServer(() => ({ body: '{}' }))
    t.teardown(() => victim.server.close())
    const redirector = await httpServer(() => ({ status: 307, headers: { location: `${victim.url}/` } }))
    t.teardown(() => redirector.server.close())
    const endpoints = [`${victim.url}`, `http://localhost:${victim.port}`, `http://[::ffff:127.0.0.1]:${victim.port}`, 'http://169.254.169.254/latest/meta-data', 'http://10.0.0.1:8545', `file:///etc/passwd`, redirector.url]
    for (const [i, ep] of endpoints.entries()) await registerEndpoint(SSRF_FROM + i, ep)
    const registered = await Promise.all((await market.workers()).map(async (a) => (await market.worker(a)).endpoint))
    for (const ep of endpoints) t.ok(registered.includes(ep), `registered: ${ep}`)
    const fetchWith = async (allow: string[]) => {
      const fetcher = new BlobFetcher({ store: store(`ssrf-${allow.join('_').replace(/[^a-z0-9]/gi, '')}`), sources: workerBlobSources({ market, allow: new EndpointAllowList(allow), own: new Set(), ownEndpoint: url }) })
      return fetcher.get(keccak256(toHex('a blob no one holds')), { auth }).then(
        () => undefined,
        (e: Error) => e,
      )
    }

    const none = await fetchWith([])
    t.match(none, { code: 'JOB_BLOB_UNAVAILABLE', message: /at any known source$/ }, 'default (no --worker.fetch-allow): no endpoint is a source')
    const any = await fetchWith(['*'])
    t.match(any?.message, /169\.254\.169\.254.*loopback, private or reserved/, "'*' (public hosts): the metadata service is refused")
    for (const ep of [victim.url, `http://localhost:${victim.port}`, 'http://10.0.0.1:8545']) t.match(any?.message, new RegExp(`${ep.replace(/[.[\]]/g, '\\$&')}: not fetching`), `'*': ${ep} refused, with the reason`)
    t.notMatch(any?.message, /file:/, 'a non-http endpoint is no source at all')
    await fetchWith(['localhost'])
    await fetchWith([`localhost:${victim.port}`])
    t.equal(victim.hits.length, 0, 'the loopback service saw no request (default, *, and a name entry that resolves to loopback)')
    t.equal(redirector.hits.length, 0, 'neither did the redirector')

    const viaRedirect = await fetchWith([`127.0.0.1:${redirector.port}`])
    t.ok(redirector.hits.length >= 1, 'an endpoint allowed by its IP and port is asked')
    t.match(viaRedirect, { code: 'JOB_BLOB_UNAVAILABLE' }, 'it has no blob to give')
    await t.rejects(new AllowedEndpointRpc(redirector.url, new EndpointAllowList([`127.0.0.1:${redirector.port}`])).request('pov_blobChallenge', []), { code: 'JOB_ENDPOINT_ANSWER', message: /HTTP 307 \(a redirect: not followed\)/ }, 'its redirect is an answer, not followed')
    t.equal(victim.hits.length, 0, 'the redirect target saw nothing')
    const sent = redirector.hits.map((h) => JSON.parse(h.body) as { method: string; params: unknown[] })
    t.same([...new Set(sent.map((m) => m.method))], ['pov_blobChallenge'], 'it was asked for a challenge only: without one (a redirect is none) nothing is signed')
  })

  await t.test('address classes', async (t) => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '224.0.0.1'])
      t.notOk(isPublicAddress(a), `${a} is not public`)
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) t.ok(isPublicAddress(a), `${a} is public`)
    for (const bad of ['http://x', '10.0.0.0/33', '[::1]/129', '1.2.3.4:99999', 'a b', '']) t.throws(() => new EndpointAllowList([bad]), { code: 'JOB_BAD_FETCH_ALLOW' }, `entry ${JSON.stringify(bad)} refused`)
    const l = new EndpointAllowList(['10.0.0.0/8:8545', 'node.example', '[fd00::]/8'])
    t.ok(l.names('http://10.9.9.9:8545'), 'a range with a port')
    t.notOk(l.names('http://10.9.9.9:8546'), 'not another port')
    t.ok(l.names('https://NODE.example/rpc'), 'a name, any port, case-insensitive')
    t.ok(l.names('http://[fd12::1]:1'), 'an IPv6 range')
    t.notOk(l.names('http://user:pw@node.example'), 'no URL with credentials')
    await t.rejects(l.resolve('http://10.9.9.9:8546'), { code: 'JOB_ENDPOINT_REFUSED' })
    t.same((await l.resolve('http://10.9.9.9:8545')).address, '10.9.9.9', 'a private address an IP entry names is allowed')
  })
})
