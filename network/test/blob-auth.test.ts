/**
 * blob_by_hash's requester field at the network layer, between two real libp2p nodes on
 * 127.0.0.1 (network/ alone: a one-block chain, a BlobProvider that serves a gated blob to one
 * account's secp256k1 signature — the real policy is tested in market/test/paid-blob-p2p.test.ts):
 * - the requester reaches the provider exactly as sent, with the asking peer; a request without
 *   one (the bytes older nodes send) still gets an ungated blob;
 * - a refusal is answered FORBIDDEN with the provider's reason for a signed request, UNAVAILABLE
 *   with the reason for an unsigned one (older nodes know no FORBIDDEN), and costs the honest
 *   peer nothing; a peer sending signatures that are not the named account's is scored down
 *   (−10 each) and banned, like other bad input;
 * - a response code added by a later version is a refusal to the client, not a malformed answer.
 */
import t from 'tap'
import * as lp from 'it-length-prefixed'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { recoverMessageAddress, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { Block } from '../../chain/Block.js'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { BlockHeader } from '../../chain/Header.js'
import { keccak256 } from '../../chain/keccak.js'
import { bytesToHex, concatBytes, equalBytes, hexToBytes } from '../../common/bytes.js'
import { silentLogger } from '../../common/logger.js'
import { noopMetrics } from '../../common/metrics.js'
import type { BlobProvider, BlobReadContext, ChainAccess } from '../ChainAccess.js'
import { Network } from '../Network.js'
import { Response, ResponseCode, type BlobRequester } from '../Protobuf.js'
import { protocolId } from '../ReqResp.js'

const CHAIN_ID = 4242n
const common = createChainCommon(CHAIN_ID)
const z = (n: number) => new Uint8Array(n)
const genesis = new BlockHeader({
  parentHash: z(32), coinbase: z(20), stateRoot: z(32), transactionsRoot: z(32), receiptsRoot: z(32),
  logsBloom: z(256), number: 0n, gasLimit: 30_000_000n, gasUsed: 0n, timestamp: 1_700_000_000n,
  vanity: z(0), mixHash: z(32), baseFeePerGas: 7n, slot: 0n, producer: z(20), jobId: z(32), sessionId: z(32),
  workloadId: z(32), vrfOutput: z(32), vrfProof: z(0), attestations: [], seal: z(0),
})

function chainOfGenesis(): ChainAccess {
  return {
    chainId: CHAIN_ID,
    genesisHash: genesis.hash(),
    head: () => genesis,
    finalized: () => undefined,
    getHeader: async (h) => (equalBytes(h, genesis.hash()) ? genesis : undefined),
    canonicalHeader: async (n) => (n === 0n ? genesis : undefined),
    getBlock: async () => undefined,
    getReceipts: async () => undefined,
    decodeBlock: (b) => Block.decode(b, common),
    assembleBlock: async (h) => new Block(h, []),
    precheckHeader: () => undefined,
    precheckBlock: async () => ({ status: 'ok' }),
    importBlock: async () => ({ status: 'known' }),
    addTransaction: async () => ({ status: 'ignored', reason: 'test' }),
    onNewHead: () => () => {},
  }
}

const ALICE = privateKeyToAccount(`0x${'11'.repeat(32)}`)
const BOB = privateKeyToAccount(`0x${'22'.repeat(32)}`)
/** What the test's provider wants signed: the blob hash and the expiry. */
const message = (hash: Uint8Array, expiry: bigint) => ({ raw: keccak256(concatBytes(hash, hexToBytes(`0x${expiry.toString(16).padStart(16, '0')}`))) })
async function requester(who: typeof ALICE, hash: Uint8Array, as = who.address): Promise<BlobRequester> {
  const expiry = BigInt(Math.floor(Date.now() / 1000) + 300)
  return { account: hexToBytes(as), chainId: CHAIN_ID, expiry, jobId: z(0), signature: hexToBytes(await who.signMessage({ message: message(hash, expiry) })) }
}

/** Serves `free` to anyone and `gated` to Alice's signed requests only; remembers what it was asked. */
function provider(blobs: { free: Uint8Array; gated: Uint8Array }) {
  const seen: BlobReadContext[] = []
  const p: BlobProvider = {
    async read(hash, offset, length, ctx) {
      seen.push(ctx!)
      const data = equalBytes(hash, keccak256(blobs.free)) ? blobs.free : equalBytes(hash, keccak256(blobs.gated)) ? blobs.gated : undefined
      if (!data) return undefined
      if (data === blobs.gated) {
        const r = ctx?.requester
        if (!r) return { refused: 'auth-required', message: 'this blob is paid for: sign a request' }
        const signer = await recoverMessageAddress({ message: message(hash, r.expiry), signature: bytesToHex(r.signature) as Hex }).catch(() => undefined)
        if (!signer || !equalBytes(hexToBytes(signer), r.account)) return { refused: 'bad-signature', message: `not signed by ${bytesToHex(r.account)}`, badSignature: true }
        if (signer !== ALICE.address) return { refused: 'not-entitled', message: `${signer} has not paid` }
      }
      return { total: data.length, data: data.subarray(offset, offset + length) }
    },
  }
  return { provider: p, seen }
}

async function network(opts: { blobs?: BlobProvider; bootnodes?: string[] }): Promise<Network> {
  const net = new Network(
    { listenAddr: '127.0.0.1', port: 0, bootnodes: opts.bootnodes ?? [], progress: 'off', maintainIntervalMs: 1_000, statusIntervalMs: 60_000 },
    { chain: chainOfGenesis(), ...(opts.blobs ? { blobs: opts.blobs } : {}), privateKey: await generateKeyPair('Ed25519'), logger: silentLogger, metrics: noopMetrics },
  )
  await net.start()
  return net
}

async function until(fn: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

t.test('blob_by_hash requester: passed through, refusals with reasons, bad signatures scored', async (t) => {
  const free = new TextEncoder().encode('free for all')
  const gated = new Uint8Array(300_000).map((_, i) => (i * 7 + 1) & 0xff)
  const { provider: blobs, seen } = provider({ free, gated })
  const server = await network({ blobs })
  t.teardown(() => server.stop())
  const connect = async () => {
    const c = await network({ bootnodes: [server.multiaddrs()[0]!] })
    t.teardown(() => c.stop())
    await until(() => c.peerCount() > 0 && server.peers().some((p) => p.id === c.peerId), 'the status handshake')
    return c
  }
  const client = await connect()
  const freeHash = keccak256(free)
  const gatedHash = keccak256(gated)

  await t.test('passed through to the provider as sent', async (t) => {
    const r = await requester(ALICE, gatedHash)
    t.same(await client.fetchBlob(gatedHash, 1 << 20, { requester: r }), gated, "Alice's signed request gets the gated blob")
    const asked = seen.filter((c) => c.requester)
    t.ok(asked.length >= 2, `every chunk carried the requester (${asked.length} reads)`)
    const fields = (x: BlobRequester) => ({ account: bytesToHex(x.account), chainId: x.chainId, expiry: x.expiry, jobId: bytesToHex(x.jobId), signature: bytesToHex(x.signature) })
    for (const c of asked) t.same(fields(c.requester!), fields(r), 'exactly the fields sent')
    t.ok(asked.every((c) => c.peer === client.peerId), 'with the asking peer')
    t.same(await client.fetchBlob(freeHash), free, 'a free blob needs no requester')
    t.equal(seen.at(-1)!.requester, undefined, 'and none reaches the provider')
  })

  await t.test('the bytes an older node sends (fields 1–3 only) still get a free blob', async (t) => {
    const old = concatBytes(Uint8Array.of(0x0a, 32), freeHash, Uint8Array.of(0x10, 0, 0x18, 0x80, 0x80, 0x10))
    const body = await client.reqresp.request(peerIdFromString(server.peerId), 'blob_by_hash', old, { maxResponseBytes: 2 << 20 })
    t.ok(body.length > free.length, 'answered OK with the blob')
  })

  await t.test('refusals carry the reason and cost an honest peer nothing', async (t) => {
    await t.rejects(client.fetchBlob(gatedHash), { code: 'NETWORK_REFUSED', message: /answered UNAVAILABLE: this blob is paid for: sign a request/ }, 'unsigned: UNAVAILABLE with the reason')
    await t.rejects(client.fetchBlob(gatedHash, 1 << 20, { requester: await requester(BOB, gatedHash) }), { code: 'NETWORK_FORBIDDEN', message: new RegExp(`${BOB.address} has not paid`) }, 'signed by an account that may not: FORBIDDEN with the reason')
    await t.rejects(client.fetchBlob(keccak256(Uint8Array.of(1))), { code: 'NETWORK_REFUSED', message: /UNAVAILABLE: blob not held/ }, 'a blob not held is still just unavailable')
    t.equal(server.scorer.score(client.peerId), 0, 'score untouched')
  })

  await t.test('signatures that are not the named account are scored like bad input, to a ban', async (t) => {
    const forger = await connect()
    const forged = await requester(BOB, gatedHash, ALICE.address)
    // −10 each, decaying meanwhile: banned at the sixth (−50 is the default threshold).
    let sent = 0
    while (!server.scorer.isBanned(forger.peerId) && sent < 8) {
      sent++
      const e = await forger.fetchBlob(gatedHash, 1 << 20, { requester: forged }).then(() => undefined, (x: Error) => x)
      if (!server.scorer.isBanned(forger.peerId)) t.match(e, { code: 'NETWORK_FORBIDDEN', message: /not signed by/ }, `forged request ${sent}: refused`)
    }
    t.ok(server.scorer.isBanned(forger.peerId) && sent <= 6, `banned after ${sent} forged requests`)
    t.match(server.scorer.banReason(forger.peerId), /not signed by/, `banned: ${server.scorer.banReason(forger.peerId)}`)
    t.equal(server.scorer.score(client.peerId), 0, 'the honest peer is unaffected')
    t.same(await client.fetchBlob(gatedHash, 1 << 20, { requester: await requester(ALICE, gatedHash) }), gated, 'and still served')
  })

  await t.test('a response code from a later version is a refusal, not a malformed answer', async (t) => {
    // A protocol on the server that answers code 9 (unknown to this version).
    await server.host.libp2p.handle(protocolId('future_test'), async (stream) => {
      for await (const _ of lp.decode(stream)) break
      stream.send(lp.encode.single(Response.encode({ code: 9 as ResponseCode, message: 'a reason from the future', body: z(0) })).subarray())
      await stream.close()
    })
    await t.rejects(client.reqresp.request(peerIdFromString(server.peerId), 'future_test', Uint8Array.of(1), { maxResponseBytes: 100 }), { code: 'NETWORK_REFUSED', message: /code 9: a reason from the future/ })
    t.equal(client.scorer.score(server.peerId), 0, 'the client does not score the server down for it')
  })
})
