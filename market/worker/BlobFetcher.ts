import type { Hex } from 'viem'
import { concatBytes, hexToBytes } from '../../common/bytes.js'
import type { Logger } from '../../common/logger.js'
import { silentLogger } from '../../common/logger.js'
import { noopMetrics, type Counter, type Metrics } from '../../common/metrics.js'
import { contentHash } from '../../compute/ContentHash.js'
import type { BlobStore } from '../../compute/worker/BlobStore.js'
import { JsonRpcClient } from '../../bridge/JsonRpcClient.js'
import type { BlobRequester } from '../../network/Protobuf.js'
import { blobRequestFromJson, blobRequestToWire, serverOfPeer, serverOfUrl, type BlobServer } from '../assets/DownloadAuth.js'
import { JobError } from '../client/JobError.js'
import { RPC_BLOB_CHUNK } from '../client/MarketRpcMethods.js'
import { AllowedEndpointRpc } from './AllowedEndpointRpc.js'
import type { EndpointAllowList } from './EndpointAllowList.js'

/** Somewhere a blob may be fetched from by content hash: a peer over the network, a node's RPC. */
export interface RemoteBlobSource {
  readonly name: string
  /** The transport, the `source` label of the fetch metrics. */
  readonly kind: 'p2p' | 'rpc'
  /**
   * The bytes, or undefined when the source does not hold the blob (or will not serve it). The
   * caller checks the hash. `auth` signs a request for a paid asset's blob (market/assets/DownloadAuth.ts),
   * which both transports carry (pov_getBlob's 4th parameter, blob_by_hash's requester).
   */
  fetch(hash: Hex, maxBytes: number, auth?: BlobAuth): Promise<Uint8Array | undefined>
}

/**
 * Makes a fresh signed blob request for `hash` addressed to `to` (JSON form of
 * market/assets/DownloadAuth.ts's SignedBlobRequest): each source signs for the one node it
 * sends the request to (and, over HTTP, that node's challenge), so no other node can replay it.
 */
export type BlobAuth = (hash: Hex, to: BlobServer) => Promise<object>

/**
 * network/'s blob_by_hash protocol (any connected peer that holds it), paced below the serving
 * side's default limit (20 requests/s, burst 40 per peer): a verifier of a long session asks
 * for dozens of checkpoints in a row, and every request over a peer's limit is refused and
 * scores us down (10 refusals are a ban). A refusal all the same is retried after a pause.
 * With `auth`, each peer asked gets a request signed for its own peer id (sent with every chunk).
 */
export function networkBlobSource(
  network: { fetchBlob(hash: Uint8Array, maxBytes?: number, opts?: { requester?: (peerId: string) => Promise<BlobRequester> }): Promise<Uint8Array> },
  pace: { perSecond: number; burst: number } = { perSecond: 15, burst: 30 },
): RemoteBlobSource {
  let tokens = pace.burst
  let at = Date.now()
  const take = async () => {
    for (;;) {
      const now = Date.now()
      tokens = Math.min(pace.burst, tokens + ((now - at) / 1000) * pace.perSecond)
      at = now
      if (tokens >= 1) {
        tokens -= 1
        return
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - tokens) / pace.perSecond) * 1000)))
    }
  }
  return {
    name: 'p2p',
    kind: 'p2p',
    // Failures are thrown so that the fetcher can say why it fell back to another source.
    async fetch(hash, maxBytes, auth) {
      const requester = auth ? async (peer: string) => blobRequestToWire(blobRequestFromJson(await auth(hash, { server: serverOfPeer(peer) }))) : undefined
      for (let attempt = 0; ; attempt++) {
        await take()
        try {
          return await network.fetchBlob(hexToBytes(hash), maxBytes, requester ? { requester } : {})
        } catch (e) {
          if ((e as { code?: string }).code !== 'NETWORK_RATE_LIMITED' || attempt >= 2) throw e
          await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)))
        }
      }
    },
  }
}

/**
 * A node's pov_getBlob over JSON-RPC, chunk by chunk. With `allow` (a registered endpoint, named
 * by whoever registered it) only as EndpointAllowList permits, through AllowedEndpointRpc; without,
 * a URL the user gave. A signed request is addressed to the URL's origin, the only place it is
 * sent, with the challenge that origin issued (pov_blobChallenge).
 */
export function rpcBlobSource(url: string, allow?: EndpointAllowList): RemoteBlobSource {
  const client = allow ? new AllowedEndpointRpc(url, allow) : new JsonRpcClient({ url, retries: 1, timeoutMs: 30_000 })
  return {
    name: url,
    kind: 'rpc',
    async fetch(hash, maxBytes, auth) {
      const parts: Uint8Array[] = []
      let offset = 0
      let total = -1
      if (allow) await allow.resolve(url) // refused endpoints are reported, and get nothing signed
      // Signed for this endpoint and a challenge it issued: usable nowhere else, and once.
      const challenge = auth ? await client.request<{ nonce: Hex } | null>('pov_blobChallenge', []).catch(() => null) : undefined
      if (auth && !challenge?.nonce) return undefined
      const signed = auth ? await auth(hash, { server: serverOfUrl(url), nonce: challenge!.nonce }) : undefined
      do {
        const r = await client.request<{ total: number; data: Hex } | null>('pov_getBlob', signed ? [hash, offset, RPC_BLOB_CHUNK, signed] : [hash, offset, RPC_BLOB_CHUNK]).catch(() => null)
        if (!r) return undefined
        if (total < 0) total = r.total
        if (total > maxBytes || r.total !== total) return undefined
        const chunk = hexToBytes(r.data)
        if (chunk.length === 0 && offset < total) return undefined
        parts.push(chunk)
        offset += chunk.length
      } while (offset < total)
      return concatBytes(...parts)
    },
  }
}

/**
 * Gets blobs by content hash: from the local store, else from the sources in turn (the network
 * first, then other nodes' RPC), checking every fetched blob against its hash before keeping it.
 * `povchain_worker_blob_fetches_total{source}` (local | p2p | rpc) and the matching byte counter
 * say where a node's blobs came from (the multi-node tests read them to see the p2p path used).
 */
export class BlobFetcher {
  private readonly logger: Logger
  private readonly fetches: Counter
  private readonly bytes: Counter

  constructor(
    private readonly opts: { store: BlobStore; sources: () => Promise<RemoteBlobSource[]>; maxBytes?: number },
    deps: { logger?: Logger; metrics?: Metrics } = {},
  ) {
    this.logger = (deps.logger ?? silentLogger).child({ component: 'blob-fetcher' })
    const m = deps.metrics ?? noopMetrics
    this.fetches = m.counter('povchain_worker_blob_fetches_total', 'Blobs the worker side read, by where they came from', ['source'])
    this.bytes = m.counter('povchain_worker_blob_fetched_bytes_total', 'Bytes of blobs the worker side read, by where they came from', ['source'])
  }

  /** `opts.auth`: sign requests for a paid asset's blob (sent to the sources that take it). */
  async get(hash: Hex, opts: { auth?: BlobAuth } = {}): Promise<Uint8Array> {
    const h = hash.toLowerCase() as Hex
    const { store } = this.opts
    if (await store.has(h)) {
      const local = await store.get(h)
      this.fetches.inc({ source: 'local' })
      this.bytes.inc({ source: 'local' }, local.length)
      return local
    }
    const max = this.opts.maxBytes ?? 256 * 1024 * 1024
    const misses: string[] = []
    for (const source of await this.opts.sources()) {
      const bytes = await source.fetch(h, max, opts.auth).catch((e: Error) => e)
      if (!(bytes instanceof Uint8Array)) {
        misses.push(`${source.name}: ${bytes ? bytes.message : 'not there'}`)
        continue
      }
      if (contentHash(bytes) !== h) {
        this.logger.warn({ hash: h, source: source.name }, 'a source served a blob that does not match its hash')
        misses.push(`${source.name}: wrong bytes`)
        continue
      }
      await store.put(bytes)
      this.fetches.inc({ source: source.kind })
      this.bytes.inc({ source: source.kind }, bytes.length)
      if (misses.length) this.logger.info({ hash: h, source: source.name, bytes: bytes.length, misses }, 'blob fetched from a fallback source')
      else this.logger.debug({ hash: h, source: source.name, bytes: bytes.length }, 'blob fetched')
      return bytes
    }
    throw new JobError('BLOB_UNAVAILABLE', `blob ${h} is neither here nor at any known source${misses.length ? ` (${misses.join('; ')})` : ''}`)
  }
}
