import type { PeerId } from '@libp2p/interface'
import type { Block } from '../chain/Block.js'
import type { BlockHeader } from '../chain/Header.js'
import { equalBytes, hexToBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import type { ChainAccess } from './ChainAccess.js'
import { NetworkError } from './errors.js'
import type { PeerScorer } from './PeerScorer.js'
import { requestBodies } from './protocols/BodiesByHash.js'
import { requestHeaders } from './protocols/HeadersByRange.js'
import type { ReqResp } from './ReqResp.js'
import type { SyncProgress } from './SyncProgress.js'

/** Root of an empty transaction trie: such a block's body is the empty list and is not downloaded. */
const EMPTY_TRIE_ROOT = hexToBytes('0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421')
const EMPTY_BODY = new Uint8Array([0xc0])

export interface SyncOptions {
  /** Blocks per batch (one headers request, bodies split across peers). */
  batchSize: number
  /** Bodies per request. */
  bodiesPerRequest: number
  /** Batches downloaded ahead of the one being imported. */
  maxInflightBatches: number
  /** A peer this many blocks ahead starts a sync (1: any). */
  minLead: number
}

export const DEFAULT_SYNC_OPTIONS: SyncOptions = { batchSize: 128, bodiesPerRequest: 32, maxInflightBatches: 4, minLead: 1 }

export interface SyncState {
  startingBlock: bigint
  currentBlock: bigint
  highestBlock: bigint
}

interface PeerHead {
  id: PeerId
  number: bigint
  hash: Uint8Array
}

class RestartSync extends Error {}

/**
 * Catches the node up with its peers and keeps it there. A peer ahead of us (by its status,
 * or a gossiped block whose parent we lack) starts a run: find the highest block we share
 * with the best peer, then download headers from that peer in batches and bodies from all
 * peers that have them, several batches ahead, and import block by block through the chain
 * (which validates, executes and applies fork choice — so a longer branch from another peer
 * reorganises us like any block would). Wrong answers cost the peer its score; the run
 * restarts with what is left. After a run the node follows gossip.
 */
export class SyncService {
  readonly options: SyncOptions
  private readonly peers = new Map<string, PeerHead>()
  private running?: Promise<void>
  private state: SyncState | undefined
  private stopped = false
  private rr = 0
  private readonly log: Logger
  private readonly m

  constructor(
    options: Partial<SyncOptions>,
    private readonly deps: { chain: ChainAccess; reqresp: ReqResp; scorer: PeerScorer; progress: SyncProgress; logger: Logger; metrics: Metrics },
  ) {
    this.options = { ...DEFAULT_SYNC_OPTIONS, ...options }
    this.log = deps.logger.child({ component: 'sync' })
    this.m = {
      imported: deps.metrics.counter('povchain_network_sync_blocks_total', 'Blocks imported by sync'),
      runs: deps.metrics.counter('povchain_network_sync_runs_total', 'Sync runs, by result', ['result']),
      target: deps.metrics.gauge('povchain_network_sync_target', 'Highest head a peer announced'),
    }
  }

  /** Records a peer's head (from its status or a block it sent) and syncs if it is ahead. */
  notePeerHead(id: PeerId, number: bigint, hash: Uint8Array): void {
    const key = id.toString()
    const cur = this.peers.get(key)
    if (!cur || number > cur.number || (number === cur.number && !equalBytes(hash, cur.hash))) this.peers.set(key, { id, number, hash })
    if (this.state && number > this.state.highestBlock) {
      this.state.highestBlock = number
      this.deps.progress.setTarget(number)
    }
    this.m.target.set(Number(this.bestPeer()?.number ?? 0n))
    this.maybeSync()
  }

  removePeer(id: string): void {
    this.peers.delete(id)
  }

  peerHead(id: string): bigint | undefined {
    return this.peers.get(id)?.number
  }

  /** eth_syncing: the run in progress, or false. */
  syncing(): SyncState | false {
    if (!this.state) return false
    return { ...this.state, currentBlock: this.deps.chain.head().number }
  }

  /** Whether some peer is ahead of us by more than `slack` blocks (block producers wait while so). */
  isBehind(slack = 1n): boolean {
    const best = this.bestPeer()
    return best !== undefined && best.number > this.deps.chain.head().number + slack
  }

  private bestPeer(): PeerHead | undefined {
    let best: PeerHead | undefined
    for (const p of this.peers.values()) {
      if (this.deps.scorer.isBanned(p.id.toString())) continue
      if (!best || p.number > best.number) best = p
    }
    return best
  }

  maybeSync(): void {
    if (this.running || this.stopped) return
    const best = this.bestPeer()
    if (!best || best.number < this.deps.chain.head().number + BigInt(this.options.minLead)) return
    this.running = this.run().finally(() => (this.running = undefined))
  }

  /** Resolves when no run is in progress. */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  /** No new runs or batches from now on. */
  halt(): void {
    this.stopped = true
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.running?.catch(() => {})
  }

  private async run(): Promise<void> {
    const { chain, progress } = this.deps
    this.state = { startingBlock: chain.head().number, currentBlock: chain.head().number, highestBlock: this.bestPeer()?.number ?? 0n }
    let result = 'done'
    try {
      for (let attempt = 0; attempt < 20 && !this.stopped; attempt++) {
        const target = this.bestPeer()
        if (!target || target.number <= chain.head().number) break
        try {
          await this.syncFrom(target)
        } catch (e) {
          if (e instanceof RestartSync) {
            this.log.debug({ reason: e.message }, 'sync restarts')
          } else {
            this.log.info({ peer: target.id.toString(), err: (e as Error).message }, 'sync from peer failed; trying again')
            // Forget what the peer claimed until its next status: another peer may be best now,
            // and a peer that cannot serve its announced head must not hold producers back.
            this.peers.delete(target.id.toString())
            await sleep(200)
          }
          result = 'retried'
        }
      }
    } finally {
      const s = progress.done()
      if (s.blocks > 0) this.log.debug({ ...s }, 'sync run ended')
      this.m.runs.inc({ result })
      this.state = undefined
    }
  }

  private async syncFrom(target: PeerHead): Promise<void> {
    const { chain, progress, scorer } = this.deps
    const ancestor = await this.findAncestor(target)
    const to = target.number
    let next = ancestor.number + 1n
    let expectedParent = ancestor.hash
    progress.begin(chain.head().number, to)
    const inflight: Promise<Block[]>[] = []
    const schedule = () => {
      while (inflight.length < this.options.maxInflightBatches && next <= to && !this.stopped) {
        const count = Number(to - next + 1n < BigInt(this.options.batchSize) ? to - next + 1n : BigInt(this.options.batchSize))
        const p = this.fetchBatch(target, next, count)
        p.catch(() => {}) // awaited in order below
        inflight.push(p)
        next += BigInt(count)
      }
    }
    schedule()
    while (inflight.length && !this.stopped) {
      const blocks = await inflight.shift()!
      schedule()
      for (const b of blocks) {
        if (this.stopped) return
        if (!equalBytes(b.header.parentHash, expectedParent)) throw new RestartSync(`block ${b.number} does not follow the previous batch (the peer's chain moved)`)
        const out = await chain.importBlock(b)
        if (out.status === 'invalid') {
          scorer.apply(target.id.toString(), 'invalid-block', `synced block ${b.number}: ${out.reason}`)
          throw new NetworkError('BAD_RESPONSE', `block ${b.number} from ${target.id} is invalid: ${out.reason}`)
        }
        if (out.status === 'unknown-parent') throw new RestartSync(`parent of ${b.number} unknown`)
        if (out.status === 'future') throw new NetworkError('FUTURE', `block ${b.number} is ahead of our clock; waiting`)
        this.m.imported.inc()
        expectedParent = b.hash()
        progress.update(b.number)
      }
    }
  }

  /** The highest block of the peer's canonical chain that we also have (genesis at worst). */
  private async findAncestor(target: PeerHead): Promise<{ number: bigint; hash: Uint8Array }> {
    const { chain } = this.deps
    let n = chain.head().number < target.number ? chain.head().number : target.number
    let window = 8n
    for (;;) {
      const start = n - window + 1n > 0n ? n - window + 1n : 0n
      const headers = await requestHeaders(this.deps.reqresp, target.id, start, Number(n - start + 1n))
      if (headers.length === 0) {
        this.deps.scorer.apply(target.id.toString(), 'bad-response', `announced head ${target.number} but has no headers at ${start}…${n}`)
        throw new NetworkError('BAD_RESPONSE', `${target.id} has no headers at ${start}…${n} though it announced ${target.number}`)
      }
      for (let i = headers.length - 1; i >= 0; i--) {
        const h = headers[i]!
        if (await chain.getHeader(h.hash())) return { number: h.number, hash: h.hash() }
      }
      if (start === 0n) throw new NetworkError('BAD_RESPONSE', `${target.id} shares no block with us, not even genesis`)
      n = start - 1n
      window = window * 4n > 256n ? 256n : window * 4n
    }
  }

  /** Headers [start, start+count) from the target, bodies from whoever has them. */
  private async fetchBatch(target: PeerHead, start: bigint, count: number): Promise<Block[]> {
    const { chain, scorer, reqresp } = this.deps
    const headers: BlockHeader[] = []
    while (headers.length < count) {
      const got = await requestHeaders(reqresp, target.id, start + BigInt(headers.length), count - headers.length)
      if (got.length === 0) {
        // An honest peer can always serve up to the head it announced (heads never shrink).
        scorer.apply(target.id.toString(), 'bad-response', `announced head ${target.number} but has no header ${start + BigInt(headers.length)}`)
        throw new NetworkError('BAD_RESPONSE', `${target.id} returned no headers from ${start + BigInt(headers.length)}`)
      }
      const prev = headers[headers.length - 1]
      if (prev && !equalBytes(got[0]!.parentHash, prev.hash())) throw new RestartSync('headers changed between requests')
      headers.push(...got)
    }
    // Before downloading bodies, check the seals of the batch's ends: the headers link by
    // parent hash, so a peer cannot hand us a fabricated run without an eligible producer's
    // seal on its tip. Every header is checked in full on import anyway; checking all here
    // too would recover each seal twice.
    const ends = headers.length > 1 ? [headers[0]!, headers[headers.length - 1]!] : headers
    for (const h of ends) {
      const bad = chain.precheckHeader(h)
      if (bad) {
        scorer.apply(target.id.toString(), 'invalid-block', `header ${h.number}: ${bad}`)
        throw new NetworkError('BAD_RESPONSE', `header ${h.number} from ${target.id}: ${bad}`)
      }
    }
    const blocks: (Block | undefined)[] = new Array(headers.length)
    const missing: number[] = []
    for (const [i, h] of headers.entries()) {
      if (equalBytes(h.transactionsRoot, EMPTY_TRIE_ROOT)) blocks[i] = await chain.assembleBlock(h, EMPTY_BODY)
      else missing.push(i)
    }
    const chunks: number[][] = []
    for (let i = 0; i < missing.length; i += this.options.bodiesPerRequest) chunks.push(missing.slice(i, i + this.options.bodiesPerRequest))
    await Promise.all(chunks.map((c) => this.fetchBodies(target, headers, c, blocks)))
    return blocks as Block[]
  }

  private async fetchBodies(target: PeerHead, headers: BlockHeader[], idx: number[], out: (Block | undefined)[]): Promise<void> {
    const { chain, scorer, reqresp } = this.deps
    let todo = idx
    const tried = new Set<string>()
    for (let attempt = 0; todo.length && attempt < 6; attempt++) {
      const maxNumber = headers[todo[todo.length - 1]!]!.number
      const peer = this.pickBodyPeer(maxNumber, tried) ?? target
      tried.add(peer.id.toString())
      let bodies: Uint8Array[]
      try {
        bodies = await requestBodies(reqresp, peer.id, todo.map((i) => headers[i]!.hash()))
      } catch (e) {
        this.log.debug({ peer: peer.id.toString(), err: (e as Error).message }, 'bodies request failed')
        continue
      }
      let done = 0
      for (const [k, body] of bodies.entries()) {
        const i = todo[k]!
        try {
          out[i] = await chain.assembleBlock(headers[i]!, body)
          done++
        } catch (e) {
          scorer.apply(peer.id.toString(), 'bad-response', `body of ${headers[i]!.number}: ${(e as Error).message}`)
          break
        }
      }
      if (done > 0) scorer.apply(peer.id.toString(), 'useful')
      todo = todo.slice(done)
    }
    if (todo.length) throw new NetworkError('BAD_RESPONSE', `no peer served the bodies of ${todo.length} blocks from ${headers[todo[0]!]!.number}`)
  }

  /** Round robin over peers whose head is at least `number` and not yet tried for this chunk. */
  private pickBodyPeer(number: bigint, tried: Set<string>): PeerHead | undefined {
    const candidates = [...this.peers.values()].filter((p) => p.number >= number && !tried.has(p.id.toString()) && !this.deps.scorer.isBanned(p.id.toString()))
    if (!candidates.length) return undefined
    return candidates[this.rr++ % candidates.length]
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
