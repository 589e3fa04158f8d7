import { noise } from '@chainsafe/libp2p-noise'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import { NetworkError } from './errors.js'
import type { PeerScorer } from './PeerScorer.js'

/** Options of the libp2p host; each is one `--p2p.*` flag. */
export interface P2PHostOptions {
  /** --p2p.addr: interface to listen on (0.0.0.0 so other machines can reach the node). */
  listenAddr: string
  /** --p2p.port: TCP port (0 = any free port). */
  port: number
  /** --bootnodes: multiaddrs with /p2p/<peer id>, dialled at start and whenever they drop. */
  bootnodes: string[]
  /** --p2p.mdns: find peers on the local network by multicast DNS. */
  mdns: boolean
  /** --maxpeers: most connections kept; beyond it libp2p prunes and we stop dialling. */
  maxPeers: number
  /** false with --nodiscover: dial only the bootnodes, not peers learned by mDNS or from peers. */
  discovery: boolean
  /** How often (ms) missing bootnodes are redialled and the peer count topped up. */
  maintainIntervalMs: number
}

export type HostServices = { identify: unknown; ping: unknown; pubsub: GossipSub }

/**
 * The libp2p node: TCP, Noise, Yamux, identify, ping and gossipsub, identity from the node
 * key, a connection gater that refuses banned peers, and a maintenance loop that keeps the
 * bootnodes (and, with discovery, other known peers) connected up to the peer limit.
 */
export class P2PHost {
  private timer?: NodeJS.Timeout
  private readonly log: Logger
  private readonly bootPeers: { id: PeerId; addr: Multiaddr }[]
  private stopped = false
  /** Peers whose dial or handshake failed: not redialled before `until` (doubling, at most 5 min). */
  private readonly backoff = new Map<string, { until: number; failures: number }>()

  private constructor(
    readonly libp2p: Libp2p<HostServices>,
    private readonly opts: P2PHostOptions,
    private readonly scorer: PeerScorer,
    logger: Logger,
    bootPeers: { id: PeerId; addr: Multiaddr }[],
  ) {
    this.log = logger
    this.bootPeers = bootPeers
  }

  static async create(
    opts: P2PHostOptions,
    deps: { privateKey: PrivateKey; scorer: PeerScorer; gossip: Partial<GossipsubOpts>; logger: Logger; metrics: Metrics },
  ): Promise<P2PHost> {
    const log = deps.logger.child({ component: 'p2p' })
    const bootPeers = opts.bootnodes.map((s) => parseBootnode(s))
    const banned = (p: PeerId) => deps.scorer.isBanned(p.toString())
    const discovery = []
    if (opts.mdns && opts.discovery) discovery.push(mdns({ interval: 5_000 }))
    if (bootPeers.length) discovery.push(bootstrap({ list: bootPeers.map((b) => b.addr.toString()), timeout: 0 }))
    const libp2p = await createLibp2p<HostServices>({
      privateKey: deps.privateKey,
      addresses: { listen: [`/ip4/${opts.listenAddr}/tcp/${opts.port}`] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      peerDiscovery: discovery,
      connectionManager: {
        maxConnections: Math.max(1, opts.maxPeers),
        // Every node of a local devnet dials from 127.0.0.1: do not count them as one flooding host.
        inboundConnectionThreshold: 100,
        dialTimeout: 5_000,
        reconnectRetries: 0,
      },
      connectionGater: {
        denyDialPeer: banned,
        denyInboundEncryptedConnection: banned,
        denyOutboundEncryptedConnection: banned,
      },
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub(deps.gossip),
      },
    })
    const host = new P2PHost(libp2p, opts, deps.scorer, log, bootPeers)
    deps.scorer.onBan((peer, reason) => {
      log.warn({ peer, reason }, 'peer banned')
      const conns = libp2p.getConnections().filter((c) => c.remotePeer.toString() === peer)
      for (const c of conns) c.close().catch(() => c.abort(new Error('banned')))
    })
    libp2p.addEventListener('peer:discovery', (e) => {
      if (!host.opts.discovery || host.stopped) return
      if (libp2p.getConnections().length >= host.opts.maxPeers) return
      if (!host.canDial(e.detail.id.toString())) return
      libp2p.dial(e.detail.id).catch((err: Error) => log.debug({ peer: e.detail.id.toString(), err: err.message }, 'dial to a discovered peer failed'))
    })
    return host
  }

  get peerId(): string {
    return this.libp2p.peerId.toString()
  }

  /** The addresses others can dial, each with /p2p/<peer id>. */
  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((m) => m.toString())
  }

  start(): void {
    this.maintain()
    this.timer = setInterval(() => this.maintain(), this.opts.maintainIntervalMs)
    this.timer.unref()
  }

  /** A dial or handshake with `peer` failed: wait before dialling it again. */
  noteFailure(peer: string): void {
    const failures = (this.backoff.get(peer)?.failures ?? 0) + 1
    this.backoff.set(peer, { failures, until: Date.now() + Math.min(300_000, 1_000 * 2 ** Math.min(failures - 1, 9)) })
  }

  noteSuccess(peer: string): void {
    this.backoff.delete(peer)
  }

  private canDial(peer: string): boolean {
    if (peer === this.peerId || this.scorer.isBanned(peer)) return false
    const b = this.backoff.get(peer)
    return !b || b.until <= Date.now()
  }

  /** Redials missing bootnodes, then (with discovery) known peers, up to the peer limit. */
  private maintain(): void {
    if (this.stopped) return
    const connected = new Set(this.libp2p.getConnections().map((c) => c.remotePeer.toString()))
    let room = this.opts.maxPeers - connected.size
    for (const b of this.bootPeers) {
      if (room <= 0) return
      const id = b.id.toString()
      if (connected.has(id) || !this.canDial(id)) continue
      room--
      this.libp2p.dial(b.addr, { signal: AbortSignal.timeout(5_000) }).catch((e: Error) => {
        this.noteFailure(id)
        this.log.debug({ bootnode: b.addr.toString(), err: e.message }, 'bootnode dial failed')
      })
    }
    if (!this.opts.discovery || room <= 0) return
    void this.libp2p.peerStore
      .all({ limit: 64 })
      .then((peers) => {
        for (const p of peers) {
          if (room <= 0 || this.stopped) return
          const id = p.id.toString()
          if (connected.has(id) || p.addresses.length === 0 || !this.canDial(id)) continue
          room--
          this.libp2p.dial(p.id, { signal: AbortSignal.timeout(5_000) }).catch(() => this.noteFailure(id))
        }
      })
      .catch(() => {})
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    await this.libp2p.stop()
  }
}

/** Parses a bootnode multiaddr, which must name the peer (`…/p2p/<peer id>`). */
export function parseBootnode(s: string): { id: PeerId; addr: Multiaddr } {
  let addr: Multiaddr
  try {
    addr = multiaddr(s)
  } catch (e) {
    throw new NetworkError('BAD_BOOTNODE', `bootnode ${s} is not a multiaddr: ${(e as Error).message}`)
  }
  const id = addr.getComponents().find((c) => c.name === 'p2p')?.value
  if (!id) throw new NetworkError('BAD_BOOTNODE', `bootnode ${s} has no /p2p/<peer id> part`)
  try {
    return { id: peerIdFromString(id), addr }
  } catch (e) {
    throw new NetworkError('BAD_BOOTNODE', `bootnode ${s}: bad peer id: ${(e as Error).message}`)
  }
}
