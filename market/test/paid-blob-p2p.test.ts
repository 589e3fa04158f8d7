/**
 * A paid asset's blob over the libp2p blob_by_hash protocol, between a real in-process --dev node
 * (LevelDB, the real EVM and AssetRegistry, libp2p on 127.0.0.1) and real libp2p peers of the same
 * chain (test/helpers/netcluster.ts's startRogue). The node decides with its access policy
 * (market/assets/BlobAccessPolicy.ts) for the signed requester a request carries:
 * - a payer's signed request gets the blob (two chunks, the request sent with each), so does the
 *   owner's; the worker side's BlobFetcher signs when asked to and still checks the hash;
 * - an unsigned request, an unpaid account's, an expired one, one signed for another chain or
 *   blob, and one naming an account that did not sign it are refused with the reason (FORBIDDEN; UNAVAILABLE for the
 *   unsigned one, which older nodes send), counted by reason in the metrics; the honest peer's
 *   score stays, the one that sends bad signatures loses 10 a time;
 * - a free blob needs nothing;
 * - fast-check: random bytes in the requester field, and well-shaped random requesters, never
 *   make the node fail (no SERVER_ERROR) and it keeps serving.
 */
import t from 'tap'
import fc from 'fast-check'
import { peerIdFromString } from '@libp2p/peer-id'
import { join } from 'node:path'
import { encodeFunctionData, keccak256, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { concatBytes, hexToBytes } from '../../common/bytes.js'
import { BlobStore } from '../../compute/worker/BlobStore.js'
import { ASSET_REGISTRY_ADDRESS, assetRegistryAbi } from '../../genesis/AssetRegistryGenesis.js'
import type { Network } from '../../network/Network.js'
import { BlobRequest, MAX_BLOB_CHUNK } from '../../network/Protobuf.js'
import { BLOB_BY_HASH, FIRST_BLOB_REQUEST } from '../../network/protocols/BlobByHash.js'
import { blobRequestFields, blobRequestToJson, blobRequestToWire, serverOfPeer, signBlobRequest } from '../assets/DownloadAuth.js'
import { BlobFetcher, networkBlobSource } from '../worker/BlobFetcher.js'
import { CHAIN_ID, DEV_KEYS, rpc, startInProcessNode, tempDir, waitFor } from '../../test/helpers/devnode.js'
import { startRogue } from '../../test/helpers/netcluster.js'
import { scrapeCounter } from '../../test/helpers/marketnet.js'

const abi = assetRegistryAbi()
const KEYS = DEV_KEYS.map((k) => hexToBytes(k))
const addr = (i: number) => privateKeyToAccount(DEV_KEYS[i] as Hex).address
const [OWNER, BUYER, STRANGER] = [0, 1, 2]

t.test('blob_by_hash: a paid blob to a payer\'s signed request only, with the reason of every refusal', async (t) => {
  const { dir, cleanup } = tempDir('povchain-paid-blob-p2p-')
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
        // The fuzzing peer below must keep reaching the handler: no ban, no rate limit in the way.
        scorer: { banThreshold: -1_000 },
        rateLimits: { blob_by_hash: { perSecond: 10_000, burst: 10_000 } },
      },
    },
  })
  t.teardown(() => n.stop())
  const url = n.httpUrl
  const net = n.node.network!
  const send = async (from: number, functionName: string, args: readonly unknown[], value = 0n) => {
    const hash = await rpc<Hex>(url, 'eth_sendTransaction', [{ from: addr(from), to: ASSET_REGISTRY_ADDRESS, data: encodeFunctionData({ abi, functionName, args } as never), gas: '0x4c4b40', value: toHex(value) }])
    const r = await waitFor(() => rpc<{ status: Hex } | null>(url, 'eth_getTransactionReceipt', [hash]), `${functionName} mined`, 60_000)
    if (r.status !== '0x1') throw new Error(`${functionName} reverted`)
  }

  // Larger than the first request: two chunks, each carrying the signed request.
  const model = new Uint8Array(FIRST_BLOB_REQUEST + 50_000).map((_, i) => (i * 13 + 5) & 0xff)
  const paidHash = await rpc<Hex>(url, 'pov_putBlob', [toHex(model)])
  const free = new TextEncoder().encode('free weights for everyone')
  const freeHash = await rpc<Hex>(url, 'pov_putBlob', [toHex(free)])
  // kind 0 model; access 0 free, 1 paid
  await send(OWNER, 'publish', [0, paidHash, BigInt(model.length), keccak256(toHex('paid meta')), '', 1, 1n, 10n])
  await send(OWNER, 'publish', [0, freeHash, BigInt(free.length), keccak256(toHex('free meta')), '', 0, 0n, 0n])
  await send(BUYER, 'payDownload', [1n], 10n)

  const genesis = (await n.node.store.canonicalHeader(0n))!
  const peer = () => startRogue({ chainId: CHAIN_ID, genesis, bootnodes: [net.multiaddrs()[0]!], common: createChainCommon(CHAIN_ID) })
  const ready = async (p: Network) => {
    await waitFor(() => p.peerCount() > 0 && net.peers().some((x) => x.id === p.peerId), 'the peer to pass the status handshake', 30_000, 50)
    return p
  }
  const honest = await ready(await peer())
  t.teardown(() => honest.stop())
  // Addressed to the node (its peer id), the one server these requests go to.
  const sign = async (who: number, hash: Hex, chainId = CHAIN_ID) => signBlobRequest(KEYS[who]!, blobRequestFields(chainId, hash, serverOfPeer(net.peerId)))
  const wire = async (who: number, hash: Hex, chainId = CHAIN_ID) => blobRequestToWire(await sign(who, hash, chainId))
  const fetchP2p = (p: Network, hash: Hex, requester?: Awaited<ReturnType<typeof wire>>) => p.fetchBlob(hexToBytes(hash), 1 << 22, requester ? { requester } : {})

  await t.test('served: a payer, the owner; a free blob to anyone', async (t) => {
    t.same(await fetchP2p(honest, paidHash, await wire(BUYER, paidHash)), model, "the payer's signed request gets the paid blob (both chunks)")
    t.same(await fetchP2p(honest, paidHash, await wire(OWNER, paidHash)), model, 'the owner gets its own blob')
    t.same(await fetchP2p(honest, freeHash), free, 'a free blob needs no requester (the request as older nodes send it)')
    t.same(await fetchP2p(honest, freeHash, await wire(STRANGER, freeHash)), free, 'and a requester changes nothing for it')
  })

  await t.test('refused with the reason, not scored', async (t) => {
    await t.rejects(fetchP2p(honest, paidHash), { code: 'NETWORK_REFUSED', message: /UNAVAILABLE: blob 0x[0-9a-f]+ is the content of paid asset 1: send a signed blob request/ }, 'unsigned: the reason, under the code older nodes know')
    await t.rejects(fetchP2p(honest, paidHash, await wire(STRANGER, paidHash)), { code: 'NETWORK_FORBIDDEN', message: /has not paid the download of asset 1/ }, 'an account that did not pay: FORBIDDEN, why')
    await t.rejects(fetchP2p(honest, paidHash, await wire(BUYER, paidHash, 1n)), { code: 'NETWORK_FORBIDDEN', message: /signed for chain 1, this is chain 31337/ }, 'signed for another chain')
    const expired = blobRequestToWire(await signBlobRequest(KEYS[BUYER]!, blobRequestFields(CHAIN_ID, paidHash, serverOfPeer(net.peerId), undefined, 300, Math.floor(Date.now() / 1000) - 3_600)))
    await t.rejects(fetchP2p(honest, paidHash, expired), { code: 'NETWORK_FORBIDDEN', message: /expired/ }, 'expired')
    t.equal(net.scorer.score(honest.peerId), 0, "refusals of an honest peer's requests leave its score alone")
    t.ok(net.peers().some((x) => x.id === honest.peerId), 'and it stays connected')
  })

  await t.test('a requester that did not sign: refused and scored down', async (t) => {
    const forger = await ready(await peer())
    t.teardown(() => forger.stop())
    // The buyer's signature under the owner's name.
    const forged = { ...(await wire(BUYER, paidHash)), account: hexToBytes(addr(OWNER)) }
    for (let i = 1; i <= 3; i++) {
      await t.rejects(fetchP2p(forger, paidHash, forged), { code: 'NETWORK_FORBIDDEN', message: new RegExp(`not signed by ${addr(OWNER)}`) }, `forged request ${i}`)
      t.equal(net.scorer.score(forger.peerId) <= -10 * i + 1, true, `score ${net.scorer.score(forger.peerId).toFixed(1)} after ${i} (−10 each, banned at −50 by default)`)
    }
    // The hash is the request's own, not carried in the requester: a signature over another blob does not verify.
    await t.rejects(fetchP2p(forger, paidHash, await wire(BUYER, freeHash)), { code: 'NETWORK_FORBIDDEN', message: /not signed by/ }, "a payer's signature of another blob")
    const garbled = { ...(await wire(BUYER, paidHash)), signature: new Uint8Array(65).fill(0xff) }
    await t.rejects(fetchP2p(forger, paidHash, garbled), { code: 'NETWORK_FORBIDDEN', message: /malformed|not signed/ }, 'an unrecoverable signature')
  })

  await t.test('the refusals are counted by reason', async (t) => {
    const refused = await scrapeCounter(url, 'povchain_network_blob_refused_total')
    for (const reason of ['auth-required', 'not-entitled', 'bad-request', 'bad-signature']) t.ok((refused.get(`reason="${reason}"`) ?? 0) >= 1, `${reason}: ${refused.get(`reason="${reason}"`)}`)
    const served = await scrapeCounter(url, 'povchain_network_reqresp_served_total')
    t.ok((served.get('protocol="blob_by_hash",result="forbidden"') ?? 0) >= 3, 'answered FORBIDDEN')
    t.ok((served.get('protocol="blob_by_hash",result="bad-signature"') ?? 0) >= 3, 'bad signatures apart')
  })

  await t.test("the worker side's BlobFetcher signs for a paid blob and checks the hash", async (t) => {
    const store = new BlobStore({ dir: join(dir, 'fetcher') })
    const fetcher = new BlobFetcher({ store, sources: async () => [networkBlobSource(honest)] })
    await t.rejects(fetcher.get(paidHash), { code: 'JOB_BLOB_UNAVAILABLE', message: /signed blob request/ }, 'unsigned: unavailable, with the reason')
    await t.rejects(fetcher.get(paidHash, { auth: async (h, server) => blobRequestToJson(await signBlobRequest(KEYS[STRANGER]!, blobRequestFields(CHAIN_ID, h, server))) }), { code: 'JOB_BLOB_UNAVAILABLE', message: /has not paid/ }, 'signed by an account that did not pay')
    t.same(await fetcher.get(paidHash, { auth: async (h, server) => blobRequestToJson(await signBlobRequest(KEYS[BUYER]!, blobRequestFields(CHAIN_ID, h, server))) }), model, "signed as the payer: fetched from the peer")
    t.ok(await store.has(paidHash), 'and kept (it matched its hash)')
    t.same(await fetcher.get(freeHash), free, 'a free blob without signing')
  })

  await t.test('fast-check: random bytes as the requester never make the node fail', async (t) => {
    const fuzzer = await ready(await peer())
    t.teardown(() => fuzzer.stop())
    const to = peerIdFromString(net.peerId)
    const base = BlobRequest.encode({ hash: hexToBytes(paidHash), offset: 0n, length: 1024 })
    const varint = (n: number) => {
      const out: number[] = []
      while (n >= 0x80) {
        out.push((n & 0x7f) | 0x80)
        n >>>= 7
      }
      out.push(n)
      return Uint8Array.from(out)
    }
    const outcomes = new Map<string, number>()
    const ask = async (raw: Uint8Array) => {
      let outcome: string
      try {
        await fuzzer.reqresp.request(to, BLOB_BY_HASH, raw, { maxResponseBytes: MAX_BLOB_CHUNK + 64 })
        outcome = 'served'
      } catch (e) {
        const m = /answered (\w+)/.exec((e as Error).message)
        outcome = (e as { code?: string }).code === 'NETWORK_FORBIDDEN' ? 'FORBIDDEN' : m ? m[1]! : `${(e as { code?: string }).code}: ${(e as Error).message}`
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      return outcome
    }
    const allowed = new Set(['FORBIDDEN', 'INVALID_REQUEST', 'UNAVAILABLE'])
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (junk) => allowed.has(await ask(concatBytes(base, Uint8Array.of(0x22), varint(junk.length), junk)))),
      { numRuns: 60 },
    )
    const now = BigInt(Math.floor(Date.now() / 1000))
    const shaped = fc.record({
      account: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      chainId: fc.oneof(fc.constant(CHAIN_ID), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
      expiry: fc.oneof(fc.constant(now + 100n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
      jobId: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 32, maxLength: 32 })),
      signature: fc.uint8Array({ minLength: 65, maxLength: 65 }),
    })
    await fc.assert(
      fc.asyncProperty(shaped, async (requester) => (await ask(BlobRequest.encode({ hash: hexToBytes(paidHash), offset: 0n, length: 1024, requester }))) === 'FORBIDDEN'),
      { numRuns: 60 },
    )
    t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`)
    t.notOk(outcomes.has('SERVER_ERROR'), 'never an internal error')
    t.same(await fetchP2p(honest, paidHash, await wire(BUYER, paidHash)), model, 'the node still serves the payer afterwards')
    t.same(await fetchP2p(honest, freeHash), free, 'and free blobs')
  })
})
