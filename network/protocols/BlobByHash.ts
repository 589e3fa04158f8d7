import type { PeerId } from '@libp2p/interface'
import type { Metrics } from '../../common/metrics.js'
import { noopMetrics } from '../../common/metrics.js'
import { keccak256 } from '../../chain/keccak.js'
import type { BlobProvider } from '../ChainAccess.js'
import { NetworkError } from '../errors.js'
import { BlobRequest, BlobResponse, MAX_BLOB_CHUNK, type BlobRequester } from '../Protobuf.js'
import type { ProtocolHandler, ReqResp } from '../ReqResp.js'

/**
 * blob_by_hash: a chunk (≤ 1 MiB) of a content-addressed blob; UNAVAILABLE when not held. A
 * request may carry a signed requester (BlobRequester) for blobs the node serves only to some
 * accounts (paid assets); the provider decides. A refusal of a signed request is answered
 * FORBIDDEN with the reason. A refusal of an unsigned one is answered UNAVAILABLE with the reason:
 * nodes from before FORBIDDEN existed send no requester and read an unknown code as a malformed
 * answer (and would score the server down for it).
 */
export const BLOB_BY_HASH = 'blob_by_hash'

/** hash, offset, length (≤ 50 bytes) and a requester (≤ 160 bytes), with room to spare. */
export const MAX_BLOB_REQUEST_BYTES = 320

export function blobByHashHandler(blobs: BlobProvider, metrics: Metrics = noopMetrics): ProtocolHandler {
  const refused = metrics.counter('povchain_network_blob_refused_total', 'blob_by_hash requests refused by the access policy, by reason', ['reason'])
  return {
    name: BLOB_BY_HASH,
    maxRequestBytes: MAX_BLOB_REQUEST_BYTES,
    cost: (req) => Math.max(1, Math.ceil(BlobRequest.decode(req).length / (256 * 1024))),
    async handle(req, ctx) {
      const { hash, offset, length, requester } = BlobRequest.decode(req)
      if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new NetworkError('BAD_MESSAGE', 'blob offset too large')
      const r = await blobs.read(hash, Number(offset), length, { peer: ctx.peer, ...(requester ? { requester } : {}) })
      if (!r) throw new NetworkError('UNAVAILABLE', 'blob not held')
      if ('refused' in r) {
        refused.inc({ reason: r.badSignature ? 'bad-signature' : r.refused })
        throw new NetworkError(r.badSignature ? 'BAD_SIGNATURE' : requester ? 'FORBIDDEN' : 'UNAVAILABLE', r.message)
      }
      return BlobResponse.encode({ total: BigInt(r.total), data: r.data.subarray(0, length) })
    },
  }
}

/**
 * What the first request asks for: one cost unit of the server's limiter (256 KiB). A peer
 * charges a request by the length asked for, so asking for a whole 1 MiB chunk cost 4 units
 * even for a 7 KB checkpoint — a verifier fetching ~20 checkpoints went over the worker's
 * limit (burst 40), fell back to RPC and was scored down (−5 each) towards a ban. Most blobs
 * (specs, records, checkpoints) fit in the first request; larger ones then ask for exactly
 * what remains, up to MAX_BLOB_CHUNK.
 */
export const FIRST_BLOB_REQUEST = 256 * 1024

/**
 * Keeps one blob's download under the server's default limit for blob_by_hash (20 units/s, burst
 * 40; a 1 MiB chunk costs 4): a 130 MB image archive is 130 chunks, and asking faster got it
 * refused RATE_LIMITED mid-download (each refusal scores the asker −5: a ban before the end).
 * Burst 32 units, then 16 units/s (4 MiB/s per peer), leaving room for the node's other requests.
 */
function chunkPacer(burst = 32, perSecond = 16): (units: number) => Promise<void> {
  let tokens = burst
  let at = Date.now()
  return async (units) => {
    for (;;) {
      const now = Date.now()
      tokens = Math.min(burst, tokens + ((now - at) / 1000) * perSecond)
      at = now
      if (tokens >= units) {
        tokens -= units
        return
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((units - tokens) / perSecond) * 1000)))
    }
  }
}

/**
 * Downloads a whole blob from `peer` chunk by chunk (at most `maxBytes`) and checks it
 * against its content hash; `hashFn` is the store's content hash (default keccak256, as compute/ContentHash).
 * `requester` (a signed blob request) is sent with every chunk: the server keeps no state between them.
 */
export async function fetchBlob(
  rr: ReqResp,
  peer: PeerId,
  hash: Uint8Array,
  opts: { maxBytes: number; hashFn?: (b: Uint8Array) => Uint8Array; requester?: BlobRequester },
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let offset = 0
  let total = -1
  const pace = chunkPacer()
  do {
    const length = total < 0 ? Math.min(FIRST_BLOB_REQUEST, MAX_BLOB_CHUNK) : Math.min(MAX_BLOB_CHUNK, total - offset)
    await pace(Math.max(1, Math.ceil(length / FIRST_BLOB_REQUEST)))
    const body = await rr.request(peer, BLOB_BY_HASH, BlobRequest.encode({ hash, offset: BigInt(offset), length, ...(opts.requester ? { requester: opts.requester } : {}) }), { maxResponseBytes: MAX_BLOB_CHUNK + 64 })
    const r = BlobResponse.decode(body)
    if (total < 0) {
      if (r.total > BigInt(opts.maxBytes)) throw new NetworkError('BAD_RESPONSE', `blob of ${r.total} bytes exceeds ${opts.maxBytes}`)
      total = Number(r.total)
    } else if (Number(r.total) !== total) throw new NetworkError('BAD_RESPONSE', 'blob size changed between chunks')
    if (r.data.length === 0 && offset < total) throw new NetworkError('BAD_RESPONSE', 'empty blob chunk')
    chunks.push(r.data)
    offset += r.data.length
    if (offset > total) throw new NetworkError('BAD_RESPONSE', 'blob longer than announced')
  } while (offset < total)
  const out = new Uint8Array(total)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  const got = (opts.hashFn ?? keccak256)(out)
  if (got.length !== hash.length || got.some((b, i) => b !== hash[i])) throw new NetworkError('BAD_RESPONSE', 'blob does not match its content hash')
  return out
}
