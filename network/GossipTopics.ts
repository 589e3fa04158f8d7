import { TopicValidatorResult, type GossipSub, type GossipsubMessage, type GossipsubOpts } from '@libp2p/gossipsub'
import type { Block } from '../chain/Block.js'
import { verifyAttestation } from '../chain/Attestation.js'
import { computeMessageFault } from './ComputeMessageAuth.js'
import { bytesToHex } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import type { ChainAccess, ImportOutcome } from './ChainAccess.js'
import type { PeerScorer } from './PeerScorer.js'
import {
  ComputeMessage,
  GossipAttestation,
  GossipBlock,
  GossipTransaction,
  type AttestationMessage,
  type ComputeMessageData,
} from './Protobuf.js'
import type { RateLimiter } from './RateLimiter.js'
import { GossipValidationQueue, type GossipQueueLimits } from './GossipValidationQueue.js'

/**
 * The gossip topics, `/povchain/<network>/<name>/1` where `<network>` is the chain id and the
 * first bytes of the genesis hash (so chains never share a mesh):
 *
 * | name           | message (proto/)   | validated by                                        |
 * |----------------|--------------------|-----------------------------------------------------|
 * | transactions   | GossipTransaction  | the pool (signature, chain id, nonce, balance, fee) |
 * | blocks         | GossipBlock        | header rules, seal, slot, body root; then imported  |
 * | attestations   | GossipAttestation  | shape, signature by the named validator; then the   |
 * |                |                    | check consensus plugs in (membership, slashing)     |
 * | compute        | ComputeMessage     | shape, signature by the named account, freshness    |
 * |                |                    | (ComputeMessageAuth); then a plugged-in check        |
 *
 * Validation is asynchronous (gossipsub `asyncValidation`): a message is forwarded only after
 * it was accepted here. Reject (invalid) lowers the sender's gossipsub score and ours;
 * Ignore (duplicate, stale, unknown parent) neither forwards nor punishes.
 */
export const TOPIC_NAMES = ['transactions', 'blocks', 'attestations', 'compute'] as const
export type TopicName = (typeof TOPIC_NAMES)[number]

export const MAX_GOSSIP_BYTES = 10 * 1024 * 1024

export function networkId(chainId: bigint, genesisHash: Uint8Array): string {
  return `${chainId}-${bytesToHex(genesisHash).slice(2, 18)}`
}

export function topicName(network: string, name: TopicName): string {
  return `/povchain/${network}/${name}/1`
}

/** Gossipsub settings: unsigned messages identified by content hash, validated before forwarding. */
export function gossipsubOptions(): Partial<GossipsubOpts> {
  return {
    globalSignaturePolicy: 'StrictNoSign',
    asyncValidation: true,
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    emitSelf: false,
    maxInboundDataLength: MAX_GOSSIP_BYTES,
    // Small networks: keep the mesh dense so a block reaches everyone in one or two hops.
    D: 6,
    Dlo: 3,
    Dhi: 12,
    heartbeatInterval: 700,
  }
}

export type Verdict = 'accept' | 'ignore' | 'reject'
export type MessageCheck<T> = (msg: T, peer: string) => Verdict | Promise<Verdict>

export interface GossipEvents {
  /** A gossiped block was imported or refused (for sync and metrics). */
  onBlock?(peer: string, block: Block, outcome: ImportOutcome): void
  /** A gossiped block could not be decoded to the point of knowing it (peer scored already). */
  onBadBlock?(peer: string): void
}

const RESULT: Record<Verdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
}

export class GossipTopics {
  readonly topics: Record<TopicName, string>
  private readonly log: Logger
  private readonly m
  /** Blocks accepted for forwarding whose import is queued or running. */
  /** Gossiped blocks being imported, by hash: a child waits for its parent's import before its checks. */
  private readonly importing = new Map<string, Promise<void>>()
  private attestationCheck: MessageCheck<AttestationMessage> = () => 'accept'
  private computeCheck: MessageCheck<ComputeMessageData> = () => 'accept'
  private readonly attestationListeners: ((a: AttestationMessage, peer: string) => void)[] = []
  private readonly computeListeners: ((c: ComputeMessageData, peer: string) => void)[] = []
  private readonly onMessage = (e: CustomEvent<GossipsubMessage>) => this.handle(e.detail)
  /** Messages wait here, per peer, for their validation (GossipValidationQueue: why). */
  readonly queue: GossipValidationQueue

  constructor(
    private readonly pubsub: GossipSub,
    private readonly chain: ChainAccess,
    private readonly deps: { scorer: PeerScorer; limiter: RateLimiter; events: GossipEvents; logger: Logger; metrics: Metrics; now?: () => number; queue?: Partial<GossipQueueLimits> },
  ) {
    this.queue = new GossipValidationQueue(deps.queue)
    const net = networkId(chain.chainId, chain.genesisHash)
    this.topics = Object.fromEntries(TOPIC_NAMES.map((n) => [n, topicName(net, n)])) as Record<TopicName, string>
    this.log = deps.logger.child({ component: 'gossip' })
    this.m = {
      received: deps.metrics.counter('povchain_network_gossip_received_total', 'Gossip messages received, by topic and verdict', ['topic', 'verdict']),
      published: deps.metrics.counter('povchain_network_gossip_published_total', 'Gossip messages published, by topic', ['topic']),
      overLimit: deps.metrics.counter('povchain_network_gossip_over_limit_total', 'Gossip messages dropped over a peer\'s rate limit', ['topic']),
      queueFull: deps.metrics.counter('povchain_network_gossip_queue_full_total', 'Gossip messages dropped because their peer already had its most waiting for validation', ['topic']),
      stale: deps.metrics.counter('povchain_network_gossip_stale_blocks_total', 'Gossiped blocks on a branch that leaves our finalized block (ignored, not scored)'),
      validation: deps.metrics.histogram('povchain_network_gossip_validation_seconds', 'Time to validate one gossip message', ['topic'], [0.001, 0.005, 0.02, 0.05, 0.1, 0.25, 1, 5]),
    }
  }

  start(): void {
    this.pubsub.addEventListener('gossipsub:message', this.onMessage)
    for (const t of Object.values(this.topics)) this.pubsub.subscribe(t)
  }

  stop(): void {
    this.queue.stop()
    this.pubsub.removeEventListener('gossipsub:message', this.onMessage)
    for (const t of Object.values(this.topics)) {
      try {
        this.pubsub.unsubscribe(t)
      } catch {
        // already stopped
      }
    }
  }

  /** Consensus (attestations) and compute plug their validation in here. */
  setAttestationCheck(check: MessageCheck<AttestationMessage>): void {
    this.attestationCheck = check
  }
  setComputeCheck(check: MessageCheck<ComputeMessageData>): void {
    this.computeCheck = check
  }
  onAttestation(l: (a: AttestationMessage, peer: string) => void): void {
    this.attestationListeners.push(l)
  }
  onCompute(l: (c: ComputeMessageData, peer: string) => void): void {
    this.computeListeners.push(l)
  }

  publishBlock(block: Block): Promise<number> {
    return this.publish('blocks', GossipBlock.encode({ block: block.encode() }))
  }
  publishTransaction(raw: Uint8Array): Promise<number> {
    return this.publish('transactions', GossipTransaction.encode({ raw }))
  }
  publishAttestation(a: AttestationMessage): Promise<number> {
    return this.publish('attestations', GossipAttestation.encode(a))
  }
  publishCompute(c: ComputeMessageData): Promise<number> {
    return this.publish('compute', ComputeMessage.encode(c))
  }

  /** Publishes raw bytes on a topic (tests use it to play a misbehaving peer). */
  async publish(name: TopicName, data: Uint8Array): Promise<number> {
    try {
      const r = await this.pubsub.publish(this.topics[name], data)
      this.m.published.inc({ topic: name })
      return r.recipients.length
    } catch (e) {
      this.log.debug({ topic: name, err: (e as Error).message }, 'publish failed')
      return 0
    }
  }

  /** Cheap checks now (topic, ban, rate); the validation waits its turn in the peer's queue. */
  private handle({ msg, msgId, propagationSource }: GossipsubMessage): void {
    const peer = propagationSource.toString()
    const name = (Object.keys(this.topics) as TopicName[]).find((n) => this.topics[n] === msg.topic)
    if (!name) return this.report(msgId, peer, 'unknown', 'reject')
    if (this.deps.scorer.isBanned(peer)) return this.report(msgId, peer, name, 'ignore')
    if (!this.deps.limiter.tryTake(peer, `gossip/${name}`)) {
      // Dropped, not punished: a busy honest peer relays bursts it did not create.
      this.m.overLimit.inc({ topic: name })
      return this.report(msgId, peer, name, 'ignore')
    }
    const queued = this.queue.push(peer, msg.data.length, async () => {
      let verdict: Verdict = 'ignore'
      const stop = this.m.validation.startTimer({ topic: name })
      try {
        // Banned while it waited: nothing more of it is read.
        verdict = this.deps.scorer.isBanned(peer) ? 'ignore' : await this.validate(name, msg.data, peer)
      } catch (e) {
        this.log.warn({ topic: name, peer, err: (e as Error).message }, 'gossip validation failed')
        verdict = 'ignore'
      } finally {
        stop()
      }
      this.report(msgId, peer, name, verdict)
    })
    if (!queued) {
      // Dropped, not punished, as over the rate: what a peer makes us hold stays bounded.
      this.m.queueFull.inc({ topic: name })
      this.report(msgId, peer, name, 'ignore')
    }
  }

  private report(msgId: string, peer: string, topic: string, verdict: Verdict): void {
    this.m.received.inc({ topic, verdict })
    try {
      // On the implementation, not on the GossipSub interface.
      ;(this.pubsub as unknown as { reportMessageValidationResult(id: string, from: string, r: TopicValidatorResult): void }).reportMessageValidationResult(
        msgId,
        peer,
        RESULT[verdict],
      )
    } catch {
      // stopped meanwhile
    }
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now()
  }

  private malformed(peer: string, what: string): Verdict {
    this.deps.scorer.apply(peer, 'malformed', what)
    return 'reject'
  }

  /**
   * A block is forwarded once it passed everything but execution (ChainAccess.precheckBlock:
   * seal, its slot has started, body against the transactions root, and against its parent the
   * producer's eligibility for the slot, backup delay, VRF, work receipt and votes); it is then
   * imported. One hop costs a signature, a VRF check and a trie root, not a block execution.
   * A block that leaves our finalized block is ignored without score (ChainAccess 'stale').
   * A block whose parent is still being imported waits for it, then is checked. A block that
   * fails a rule, or execution after passing them, costs the sending peer score.
   */
  private async validateBlock(block: Block, peer: string): Promise<Verdict> {
    const hash = bytesToHex(block.hash())
    if (this.importing.has(hash) || (await this.chain.getHeader(block.hash()))) return 'ignore'
    const parentImport = this.importing.get(bytesToHex(block.header.parentHash))
    if (parentImport) await parentImport
    const pre = await this.chain.precheckBlock(block)
    if (pre.status === 'invalid') {
      this.deps.scorer.apply(peer, 'invalid-block', `gossip block ${block.number}: ${pre.reason}`)
      return 'reject'
    }
    if (pre.status === 'future') return 'ignore'
    if (pre.status === 'stale') {
      // Not forwarded (no node that shares our finality wants it) and not scored: a node that
      // was paused or cut off builds such blocks honestly, and banning it would keep it cut off.
      this.m.stale.inc()
      this.log.debug({ peer, number: Number(block.number), reason: pre.reason }, 'stale gossip block ignored')
      return 'ignore'
    }
    if (pre.status === 'unknown-parent') {
      this.deps.events.onBlock?.(peer, block, { status: 'unknown-parent' })
      return 'ignore'
    }
    if (this.importing.has(hash)) return 'ignore' // the same block arrived twice while we checked it
    const done = this.chain
      .importBlock(block)
      .then((outcome) => {
        this.deps.events.onBlock?.(peer, block, outcome)
        if (outcome.status === 'head' || outcome.status === 'side') this.deps.scorer.apply(peer, 'useful')
        if (outcome.status === 'invalid') {
          this.deps.scorer.apply(peer, 'invalid-block', `gossip block ${block.number} failed execution: ${outcome.reason}`)
          this.log.warn({ number: Number(block.number), hash, producer: bytesToHex(block.header.producer), reason: outcome.reason }, 'gossiped block failed execution')
        }
      })
      .catch((e: Error) => this.log.error({ number: Number(block.number), err: e.message }, 'importing a gossiped block failed'))
      .finally(() => this.importing.delete(hash))
    this.importing.set(hash, done)
    return 'accept'
  }

  private async validate(name: TopicName, data: Uint8Array, peer: string): Promise<Verdict> {
    switch (name) {
      case 'transactions': {
        let raw: Uint8Array
        try {
          raw = GossipTransaction.decode(data).raw
        } catch (e) {
          return this.malformed(peer, (e as Error).message)
        }
        const r = await this.chain.addTransaction(raw)
        if (r.status === 'added') return 'accept'
        if (r.status === 'ignored') return 'ignore'
        this.deps.scorer.apply(peer, 'invalid-tx', r.reason)
        return 'reject'
      }
      case 'blocks': {
        let block: Block
        try {
          block = this.chain.decodeBlock(GossipBlock.decode(data).block)
        } catch (e) {
          this.deps.events.onBadBlock?.(peer)
          return this.malformed(peer, `gossip block: ${(e as Error).message}`)
        }
        return this.validateBlock(block, peer)
      }
      case 'attestations': {
        let a: AttestationMessage
        try {
          a = GossipAttestation.decode(data)
        } catch (e) {
          return this.malformed(peer, (e as Error).message)
        }
        // Checked here whatever consensus plugs in: a vote not signed by the validator it names is never forwarded.
        if (!verifyAttestation(a, this.chain.chainId)) {
          this.deps.scorer.apply(peer, 'invalid-signature', `gossip vote not signed by ${bytesToHex(a.validator)}`)
          return 'reject'
        }
        const v = await this.attestationCheck(a, peer)
        if (v === 'accept') for (const l of this.attestationListeners) l(a, peer)
        if (v === 'reject') this.deps.scorer.apply(peer, 'invalid-vote', 'a vote that is badly signed or not by a member of its target block\'s validator sets')
        return v
      }
      case 'compute': {
        let c: ComputeMessageData
        try {
          c = ComputeMessage.decode(data)
        } catch (e) {
          return this.malformed(peer, (e as Error).message)
        }
        const fault = computeMessageFault(this.chain.chainId, c, BigInt(Math.floor(this.now() / 1000)))
        if (fault) {
          // Stale (a deadline passed, a clock apart) may be an honest relay's bad luck: dropped, not scored.
          if (fault.stale) return 'ignore'
          this.deps.scorer.apply(peer, 'invalid-signature', `gossip compute: ${fault.reason}`)
          return 'reject'
        }
        const v = await this.computeCheck(c, peer)
        if (v === 'accept') for (const l of this.computeListeners) l(c, peer)
        if (v === 'reject') this.deps.scorer.apply(peer, 'malformed', `gossip compute ${c.kind} message refused`)
        return v
      }
    }
  }
}

