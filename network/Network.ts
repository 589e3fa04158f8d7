import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Block } from '../chain/Block.js'
import { bytesToHex } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import type { BlobProvider, ChainAccess, ImageArchiveProvider } from './ChainAccess.js'
import { NetworkError } from './errors.js'
import { gossipsubOptions, GossipTopics, networkId, TOPIC_NAMES, topicName, type MessageCheck } from './GossipTopics.js'
import { gossipsubMetrics } from './GossipsubMetrics.js'
import { P2PHost, type P2PHostOptions } from './P2PHost.js'
import { PeerScorer, type PeerScorerOptions } from './PeerScorer.js'
import type { AttestationMessage, BlobRequester, StatusMessage } from './Protobuf.js'
import { blobByHashHandler, fetchBlob } from './protocols/BlobByHash.js'
import { imageArchivesHandler, requestImageArchives } from './protocols/ImageArchives.js'
import { bodiesByHashHandler } from './protocols/BodiesByHash.js'
import { headersByRangeHandler } from './protocols/HeadersByRange.js'
import { receiptsByHashHandler } from './protocols/ReceiptsByHash.js'
import { RateLimiter, type RateLimit } from './RateLimiter.js'
import { ReqResp } from './ReqResp.js'
import { exchangeStatus, incompatibility, statusHandler } from './StatusHandshake.js'
import { bootnodeIPs, gossipScoreOptions } from './GossipScoring.js'
import { SyncProgress, type ProgressMode } from './SyncProgress.js'
import { SyncService, type SyncOptions, type SyncState } from './SyncService.js'
import { DEFAULT_GOSSIP_QUEUE_LIMITS, type GossipQueueLimits } from './GossipValidationQueue.js'

export interface NetworkOptions extends P2PHostOptions {
  /** Client name sent in the status message. */
  clientName: string
  /** Deadline of one request/response exchange (ms). */
  requestTimeoutMs: number
  /** How often each peer's status (head) is asked again (ms). */
  statusIntervalMs: number
  /** How long a peer on another chain is kept away (ms). */
  wrongChainBanMs: number
  progress: ProgressMode
  scorer: Partial<PeerScorerOptions>
  rateLimits: Record<string, RateLimit>
  /** How many gossip messages (and bytes) a peer may have waiting for validation; see GossipValidationQueue. */
  gossipQueue: Partial<GossipQueueLimits>
  sync: Partial<SyncOptions>
}

/** Requests per second (and burst) a peer may make of us, per protocol; gossip messages per topic. */
/** How long a peer found on another chain may still have its status request answered before the ban. */
const WRONG_CHAIN_GRACE_MS = 1_000

export const DEFAULT_RATE_LIMITS: Record<string, RateLimit> = {
  status: { perSecond: 2, burst: 10 },
  headers_by_range: { perSecond: 50, burst: 200 },
  bodies_by_hash: { perSecond: 50, burst: 200 },
  receipts_by_hash: { perSecond: 20, burst: 50 },
  blob_by_hash: { perSecond: 20, burst: 40 },
  image_archives: { perSecond: 2, burst: 10 },
  'gossip/transactions': { perSecond: 2000, burst: 10000 },
  'gossip/blocks': { perSecond: 20, burst: 50 },
  'gossip/attestations': { perSecond: 200, burst: 1000 },
  'gossip/compute': { perSecond: 50, burst: 200 },
}

export const DEFAULT_NETWORK_OPTIONS: NetworkOptions = {
  listenAddr: '0.0.0.0',
  port: 30333,
  bootnodes: [],
  mdns: false,
  maxPeers: 50,
  discovery: true,
  maintainIntervalMs: 5_000,
  clientName: 'povchain',
  requestTimeoutMs: 10_000,
  statusIntervalMs: 10_000,
  wrongChainBanMs: 5 * 60_000,
  progress: 'auto',
  scorer: {},
  rateLimits: DEFAULT_RATE_LIMITS,
  gossipQueue: {},
  sync: {},
}

/** One connected, compatible peer (admin_peers). */
export interface PeerSummary {
  id: string
  client: string
  remoteAddress: string
  direction: 'inbound' | 'outbound'
  headNumber: bigint
  headHash: Uint8Array
  score: number
  connectedAt: number
}

interface ReadyPeer {
  id: PeerId
  status: StatusMessage
  connectedAt: number
}

/**
 * The network layer as the node sees it: start/stop, the peer set, sync state, and
 * publishing. Inside: the libp2p host, the status handshake, gossip topics,
 * request/response handlers, sync, peer scoring and rate limits.
 */
export class Network {
  readonly options: NetworkOptions
  readonly scorer: PeerScorer
  readonly limiter: RateLimiter
  host!: P2PHost
  reqresp!: ReqResp
  gossip!: GossipTopics
  sync!: SyncService
  private readonly ready = new Map<string, ReadyPeer>()
  /** Peers found on another chain, banned once their own status request is answered (or after a grace). */
  private readonly wrongChainPending = new Map<string, NodeJS.Timeout>()
  private statusTimer?: NodeJS.Timeout
  private unsubHead?: () => void
  private stopped = false
  private readonly log: Logger
  private readonly m

  constructor(
    options: Partial<NetworkOptions>,
    private readonly deps: { chain: ChainAccess; blobs?: BlobProvider; images?: ImageArchiveProvider; privateKey: PrivateKey; logger: Logger; metrics: Metrics },
  ) {
    this.options = { ...DEFAULT_NETWORK_OPTIONS, ...options, rateLimits: { ...DEFAULT_RATE_LIMITS, ...options.rateLimits } }
    this.log = deps.logger.child({ component: 'network' })
    this.scorer = new PeerScorer(this.options.scorer)
    this.limiter = new RateLimiter(this.options.rateLimits)
    this.m = {
      peers: deps.metrics.gauge('povchain_network_peers', 'Connected peers that passed the status handshake', [], () => this.ready.size),
      dropped: deps.metrics.counter('povchain_network_peers_dropped_total', 'Peers disconnected by us, by reason', ['reason']),
    }
  }

  get peerId(): string {
    return this.host.peerId
  }

  async start(): Promise<void> {
    const { chain, logger, metrics } = this.deps
    const topicLabels = new Map(TOPIC_NAMES.map((n) => [topicName(networkId(chain.chainId, chain.genesisHash), n), n]))
    this.host = await P2PHost.create(this.options, {
      privateKey: this.deps.privateKey,
      scorer: this.scorer,
      gossip: { ...gossipsubOptions(), ...gossipScoreOptions({ allowIPs: bootnodeIPs(this.options.bootnodes) }), ...gossipsubMetrics(metrics, topicLabels) },
      logger,
      metrics,
    })
    const libp2p = this.host.libp2p
    this.reqresp = new ReqResp(libp2p, { timeoutMs: this.options.requestTimeoutMs }, { scorer: this.scorer, limiter: this.limiter, logger, metrics })
    this.sync = new SyncService(this.options.sync, {
      chain,
      reqresp: this.reqresp,
      scorer: this.scorer,
      progress: new SyncProgress(this.options.progress, logger.child({ component: 'sync' })),
      logger,
      metrics,
    })
    this.gossip = new GossipTopics(libp2p.services.pubsub, chain, {
      queue: { ...DEFAULT_GOSSIP_QUEUE_LIMITS, ...this.options.gossipQueue },
      scorer: this.scorer,
      limiter: this.limiter,
      logger,
      metrics,
      events: {
        onBlock: (peer, block, outcome) => {
          const p = this.ready.get(peer)
          if (!p) return
          if (outcome.status === 'unknown-parent' || outcome.status === 'head' || outcome.status === 'side') this.sync.notePeerHead(p.id, block.number, block.hash())
        },
      },
    })
    await this.reqresp.register(statusHandler(chain, this.options.clientName, (id, s) => this.onStatus(id.toString(), s, id, true)))
    await this.reqresp.register(headersByRangeHandler(chain))
    await this.reqresp.register(bodiesByHashHandler(chain))
    await this.reqresp.register(receiptsByHashHandler(chain))
    if (this.deps.blobs) await this.reqresp.register(blobByHashHandler(this.deps.blobs, metrics))
    if (this.deps.images) await this.reqresp.register(imageArchivesHandler(this.deps.images))

    libp2p.addEventListener('peer:connect', (e) => void this.handshake(e.detail))
    libp2p.addEventListener('peer:disconnect', (e) => this.onDisconnect(e.detail.toString()))
    this.gossip.start()
    this.host.start()
    this.statusTimer = setInterval(() => this.refreshStatuses(), this.options.statusIntervalMs)
    this.statusTimer.unref()
    this.log.info(
      { peerId: this.peerId, listen: this.host.multiaddrs(), network: networkId(chain.chainId, chain.genesisHash), bootnodes: this.options.bootnodes.length },
      `p2p listening on ${this.host.multiaddrs().find((a) => !a.startsWith('/ip4/127.') && !a.startsWith('/ip6/::1/')) ?? this.host.multiaddrs()[0] ?? '(nothing)'}`,
    )
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.statusTimer) clearInterval(this.statusTimer)
    for (const t of this.wrongChainPending.values()) clearTimeout(t)
    this.unsubHead?.()
    // Stop the sync loop from starting anything new, close the host (which aborts requests in
    // flight, so the loop ends at once), then wait for the loop: nothing is imported after stop.
    this.sync?.halt()
    this.gossip?.stop()
    await this.host?.stop()
    await this.sync?.stop()
  }

  private async handshake(id: PeerId, attempt = 0): Promise<void> {
    const key = id.toString()
    if (this.stopped || this.ready.has(key)) return
    try {
      const s = await exchangeStatus(this.reqresp, id, this.deps.chain, this.options.clientName, 5_000)
      this.onStatus(key, s, id)
    } catch (e) {
      if (this.stopped || this.ready.has(key)) return
      if (attempt < 2 && this.host.libp2p.getConnections(id).length > 0) {
        setTimeout(() => void this.handshake(id, attempt + 1), 500 * (attempt + 1)).unref()
        return
      }
      this.host.noteFailure(key)
      this.drop(id, 'status', `no status handshake: ${(e as Error).message}`, 'debug')
    }
  }

  /** `answered`: we have just answered this status (the peer has our reply), so a ban may close at once. */
  private onStatus(peer: string, s: StatusMessage, pid: PeerId, answered = false): void {
    if (this.stopped) return
    const why = incompatibility(this.deps.chain, s)
    if (why) {
      this.ready.delete(peer)
      const refuse = () => {
        this.wrongChainPending.delete(peer)
        if (this.stopped || this.scorer.isBanned(peer)) return
        this.scorer.ban(peer, `another chain: ${why}`, this.options.wrongChainBanMs)
        this.drop(pid, 'wrong-chain', `peer is on another chain: ${why}`)
      }
      if (answered) {
        clearTimeout(this.wrongChainPending.get(peer))
        refuse()
      } else if (!this.wrongChainPending.has(peer)) {
        // We learnt it from the answer to our request; the peer's own status request may be on
        // its way, and the ban would cut it off unanswered. Answering it bans at once (above).
        const timer = setTimeout(refuse, WRONG_CHAIN_GRACE_MS)
        timer.unref()
        this.wrongChainPending.set(peer, timer)
      }
      return
    }
    if (this.wrongChainPending.has(peer)) return
    if (this.host.libp2p.getConnections(pid).length === 0) return
    const known = this.ready.get(peer)
    if (known) known.status = s
    else {
      this.ready.set(peer, { id: pid, status: s, connectedAt: Date.now() })
      this.host.noteSuccess(peer)
      this.log.info({ peer, client: s.client, head: Number(s.headNumber), peers: this.ready.size }, 'peer connected')
    }
    this.sync.notePeerHead(pid, s.headNumber, s.headHash, { number: s.finalizedNumber, hash: s.finalizedHash })
  }

  private drop(id: PeerId, reason: string, message: string, level: 'warn' | 'debug' = 'warn'): void {
    this.m.dropped.inc({ reason })
    this.log[level]({ peer: id.toString(), reason: message }, 'dropping peer')
    this.ready.delete(id.toString())
    this.host.libp2p.hangUp(id).catch(() => {})
  }

  private onDisconnect(peer: string): void {
    if (this.ready.delete(peer)) this.log.info({ peer, peers: this.ready.size }, 'peer disconnected')
    this.sync?.removePeer(peer)
    this.limiter.forget(peer)
  }

  /** Asks every peer for its status now (the node calls it when it wakes from a stall). */
  refreshStatuses(): void {
    for (const p of this.ready.values())
      exchangeStatus(this.reqresp, p.id, this.deps.chain, this.options.clientName)
        .then((s) => this.onStatus(p.id.toString(), s, p.id))
        .catch((e: Error) => this.log.debug({ peer: p.id.toString(), err: e.message }, 'status refresh failed'))
    this.scorer.prune()
    this.limiter.prune()
  }

  // ------------------------------------------------------------------ node-facing surface

  multiaddrs(): string[] {
    return this.host.multiaddrs()
  }

  peers(): PeerSummary[] {
    const out: PeerSummary[] = []
    for (const [id, p] of this.ready) {
      const conn = this.host.libp2p.getConnections(p.id)[0]
      out.push({
        id,
        client: p.status.client,
        remoteAddress: conn?.remoteAddr.toString() ?? '',
        direction: conn?.direction ?? 'outbound',
        headNumber: this.sync.peerHead(id) ?? p.status.headNumber,
        headHash: p.status.headHash,
        score: Math.round(this.scorer.score(id) * 10) / 10,
        connectedAt: p.connectedAt,
      })
    }
    return out
  }

  peerCount(): number {
    return this.ready.size
  }

  syncing(): SyncState | false {
    return this.sync?.syncing() ?? false
  }

  /** True while a peer is known to be ahead of us (producers hold off). */
  isBehind(): boolean {
    return this.sync?.isBehind() ?? false
  }

  publishBlock(block: Block): Promise<number> {
    return this.gossip.publishBlock(block)
  }

  publishTransaction(raw: Uint8Array): Promise<number> {
    return this.gossip.publishTransaction(raw)
  }

  publishAttestation(a: AttestationMessage): Promise<number> {
    return this.gossip.publishAttestation(a)
  }

  /** Consensus checks each gossiped vote before it is forwarded (invalid → the sender's score drops). */
  setAttestationCheck(check: MessageCheck<AttestationMessage>): void {
    this.gossip.setAttestationCheck(check)
  }

  /**
   * Downloads a blob by content hash from the first ready peer that has it and serves it to us.
   * `requester`: a signed blob request for blobs served only to entitled accounts (paid assets);
   * as a function, made for each peer asked (by its peer id) — a request is signed for one
   * server, so the peers that do not serve the blob cannot replay it at one that does.
   * When every peer fails, the error says what each answered (a refusal's reason included).
   */
  async fetchBlob(hash: Uint8Array, maxBytes = 256 * 1024 * 1024, opts: { requester?: BlobRequester | ((peerId: string) => Promise<BlobRequester>) } = {}): Promise<Uint8Array> {
    const failures: Error[] = []
    for (const [peer, p] of this.ready) {
      try {
        const requester = typeof opts.requester === 'function' ? await opts.requester(peer) : opts.requester
        return await fetchBlob(this.reqresp, p.id, hash, { maxBytes, ...(requester ? { requester } : {}) })
      } catch (e) {
        failures.push(e as Error)
      }
    }
    if (failures.length === 0) throw new NetworkError('NO_PEERS', `no peer to fetch blob ${bytesToHex(hash)} from`)
    if (failures.length === 1) throw failures[0]
    // A refusal says more than "not held": report it under its own code.
    const first = failures.find((e) => (e as { code?: string }).code === 'NETWORK_FORBIDDEN') ?? failures[failures.length - 1]!
    throw new NetworkError((first as { code?: string }).code?.replace(/^NETWORK_/, '') ?? 'REFUSED', failures.map((e) => e.message).join('; '), { cause: first })
  }

  /**
   * Asks every ready peer which of these images (OCI manifest digests, 32 bytes; all it shares
   * when empty) it shares as an archive; a peer that does not answer (an older node, a timeout)
   * is left out. What peers say is their word: the archive is checked when fetched.
   */
  async imageArchives(digests: Uint8Array[] = []): Promise<{ peer: string; digest: Uint8Array; archive: Uint8Array; size: bigint }[]> {
    const answers = await Promise.all(
      [...this.ready].map(async ([peer, p]) => {
        try {
          return (await requestImageArchives(this.reqresp, p.id, digests)).map((e) => ({ peer, ...e }))
        } catch (e) {
          this.log.debug({ peer, err: (e as Error).message }, 'image_archives: no answer')
          return []
        }
      }),
    )
    return answers.flat()
  }
}
