/**
 * Where gossip messages wait for validation: one queue per sending peer, served round-robin,
 * validations started in slices of at most `sliceMs` of synchronous work per turn of the event
 * loop, at most `concurrency` in flight.
 *
 * Why: gossipsub hands us every message of the frames it has buffered at once, and validating
 * one (decoding, a signature, a trie root) is synchronous CPU up to its first I/O. Started all
 * together, 9,500 messages a fuzzer wrote in one burst ran as one 3 s stretch of microtasks: no
 * timer, no socket read in between — the producer missed its slots and the honest peer's block
 * waited behind the whole burst. Here timers and I/O run between two slices, and a peer's backlog
 * delays only that peer: the honest peer's next
 * message is the next one served whatever an attacker has queued.
 *
 * Each peer's queue is bounded (messages and bytes); past the bound its messages are dropped
 * before any work (the caller ignores them: not forwarded, not scored — an honest relay may
 * burst), so what a peer can make us hold is bounded too.
 */
export interface GossipQueueLimits {
  /** Messages one peer may have waiting. */
  maxPerPeer: number
  /** Bytes of message data one peer may have waiting. */
  maxBytesPerPeer: number
  /** Validations running at once (they await the chain's I/O: too few and a busy loop starves throughput). */
  concurrency: number
  /** Milliseconds of validations started in one turn of the event loop before timers and I/O run. */
  sliceMs: number
}

export const DEFAULT_GOSSIP_QUEUE_LIMITS: GossipQueueLimits = { maxPerPeer: 1024, maxBytesPerPeer: 16 << 20, concurrency: 64, sliceMs: 10 }

interface Job {
  bytes: number
  run: () => Promise<void>
}

export class GossipValidationQueue {
  /** Peers with waiting messages, in serving order: the one served last goes to the back. */
  private readonly queues = new Map<string, { jobs: Job[]; bytes: number }>()
  private inFlight = 0
  private scheduled = false
  private stopped = false

  private readonly limits: GossipQueueLimits

  constructor(limits: Partial<GossipQueueLimits> = {}) {
    this.limits = { ...DEFAULT_GOSSIP_QUEUE_LIMITS, ...limits }
  }

  /** Queues `run` for `peer`; false (and nothing queued) when that peer's queue is full. */
  push(peer: string, bytes: number, run: () => Promise<void>): boolean {
    if (this.stopped) return false
    let q = this.queues.get(peer)
    if (q && (q.jobs.length >= this.limits.maxPerPeer || q.bytes + bytes > this.limits.maxBytesPerPeer)) return false
    if (!q) this.queues.set(peer, (q = { jobs: [], bytes: 0 }))
    q.jobs.push({ bytes, run })
    q.bytes += bytes
    this.pump()
    return true
  }

  /** Messages waiting (not yet started), all peers. */
  get waiting(): number {
    let n = 0
    for (const q of this.queues.values()) n += q.jobs.length
    return n
  }

  /** Peers with messages waiting: per-peer state lives only while a peer has a backlog. */
  get peersWaiting(): number {
    return this.queues.size
  }

  /** Drops what waits; running validations finish. */
  stop(): void {
    this.stopped = true
    this.queues.clear()
  }

  private pump(): void {
    if (this.scheduled || this.stopped || this.inFlight >= this.limits.concurrency || this.queues.size === 0) return
    this.scheduled = true
    setImmediate(() => this.startNext())
  }

  /** Starts validations round-robin for up to `sliceMs` of their synchronous work, then yields the turn. */
  private startNext(): void {
    this.scheduled = false
    const sliceEnd = performance.now() + this.limits.sliceMs
    do {
      const first = this.queues.entries().next()
      if (first.done || this.stopped) return
      const [peer, q] = first.value
      const job = q.jobs.shift()!
      q.bytes -= job.bytes
      this.queues.delete(peer)
      if (q.jobs.length > 0) this.queues.set(peer, q) // to the back: round-robin
      this.inFlight++
      job
        .run()
        .catch(() => {}) // the job reports its own failures
        .finally(() => {
          this.inFlight--
          this.pump()
        })
    } while (this.inFlight < this.limits.concurrency && performance.now() < sliceEnd)
    this.pump()
  }
}
