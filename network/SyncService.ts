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
  /** The finalized block its last status named. */
  finalized?: { number: bigint; hash: Uint8Array }
  /**
   * Its finalized block is at a height we have but is not on our canonical chain: we are on a
   * branch its validators left, however long ours is. Sync from it whatever its height.
   */
  offBranch?: boolean
}

class RestartSync extends Error {}

/** The peer's chain leaves our finalized block: nothing to sync from it, and not its fault. */
class StaleBranch extends Error {}

/**
 * How long a peer whose chain left our finalized block is not a sync target nor counted as
 * "ahead" (which holds producers back): long enough for it to sync to us, short enough that a
 * peer that has done so soon serves again.
 */
const STALE_PEER_MS = 30_000
/**
 * How long the claims of a peer that could not serve them (its head, its finalized block) do
 * not hold producers back (it stays a sync target: the failure may have been passing). Without
 * it, a peer repeating a claim in each status and answering nothing (timeouts alone never ban)
 * held producers back for a request timeout every time.
 */
const FAILED_PEER_MS = 60_000

/**
 * Catches the node up with its peers and keeps it there. A peer ahead of us (by its status,
 * or a gossiped block whose parent we lack) starts a run: find the highest block we share
 * with the best peer, then download headers from that peer in batches and bodies from all
 * peers that have them, several batches ahead, and import block by block through the chain
 * (which validates, executes and applies fork choice — so a longer branch from another peer
 * reorganises us like any block would). Wrong answers cost the peer its score; the run
 * restarts with what is left. A peer whose chain leaves our finalized block is left aside for
 * a while, unscored (it is behind, not lying). After a run the node follows gossip.
 */
export class SyncService {
  readonly options: SyncOptions
  private readonly peers = new Map<string, PeerHead>()
  /** Peers on a branch that leaves our finalized block: neither targets nor "ahead", until when. */
  private readonly setAside = new Map<string, number>()
  /** Peers whose last claim failed: their claims do not hold producers back, until when. */
  private readonly failed = new Map<string, number>()
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

  /**
   * Records a peer's head (from its status or a block it sent) and syncs if it is ahead: higher,
   * or (from a status) finalized on a block our canonical chain does not hold.
   */
  notePeerHead(id: PeerId, number: bigint, hash: Uint8Array, finalized?: { number: bigint; hash: Uint8Array }): void {
    const key = id.toString()
    const cur = this.peers.get(key)
    if (!cur || number > cur.number || (number === cur.number && !equalBytes(hash, cur.hash)) || finalized) {
      this.peers.set(key, { id, number, hash, finalized: finalized ?? cur?.finalized, offBranch: cur?.offBranch })
    }
    if (this.state && number > this.state.highestBlock) {
      this.state.highestBlock = number
      this.deps.progress.setTarget(number)
    }
    this.m.target.set(Number(this.bestPeer()?.number ?? 0n))
    if (finalized) void this.checkBranch(key).then(() => this.maybeSync())
    else this.maybeSync()
  }

  /** Whether the peer's finalized block, at a height we have, is off our canonical chain. */
  private async checkBranch(key: string): Promise<void> {
    const p = this.peers.get(key)
    const fin = p?.finalized
    if (!p || !fin || fin.number === 0n) return
    const ours = fin.number <= this.deps.chain.head().number ? await this.deps.chain.canonicalHeader(fin.number).catch(() => undefined) : undefined
    p.offBranch = ours !== undefined && !equalBytes(ours.hash(), fin.hash)
  }

  removePeer(id: string): void {
    this.peers.delete(id)
    this.setAside.delete(id)
    this.failed.delete(id)
  }

  private isSetAside(id: string, map = this.setAside): boolean {
    const until = map.get(id)
    if (until === undefined) return false
    if (until > Date.now()) return true
    map.delete(id)
    return false
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
    const best = this.bestPeer(true)
    return best !== undefined && (best.offBranch === true || best.number > this.deps.chain.head().number + slack)
  }

  /** A peer whose finality we lack first (the highest finalized), else the highest head. */
  private bestPeer(provenOnly = false): PeerHead | undefined {
    let best: PeerHead | undefined
    for (const p of this.peers.values()) {
      const id = p.id.toString()
      if (this.deps.scorer.isBanned(id) || this.isSetAside(id) || (provenOnly && this.isSetAside(id, this.failed))) continue
      if (!best) best = p
      else if (p.offBranch && !best.offBranch) best = p
      else if (p.offBranch && best.offBranch ? p.finalized!.number > best.finalized!.number : !best.offBranch && p.number > best.number) best = p
    }
    return best
  }

  private isAhead(p: PeerHead, minLead: bigint): boolean {
    return p.offBranch === true || p.number >= this.deps.chain.head().number + minLead
  }

  maybeSync(): void {
    if (this.running || this.stopped) return
    const best = this.bestPeer()
    if (!best || !this.isAhead(best, BigInt(this.options.minLead))) return
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
        if (!target || !this.isAhead(target, 1n)) break
        try {
          await this.syncFrom(target)
          if (target.offBranch) await this.afterOffBranchSync(target)
          this.failed.delete(target.id.toString())
        } catch (e) {
          if (e instanceof RestartSync) {
            this.log.debug({ reason: e.message }, 'sync restarts')
          } else if (e instanceof StaleBranch) {
            // A paused or cut-off honest node builds such a branch; it will sync to us. Banning
            // it (as an invalid block would) kept it cut off for good (finding F1).
            this.setAside.set(target.id.toString(), Date.now() + STALE_PEER_MS)
            this.log.info({ peer: target.id.toString(), head: Number(target.number), reason: e.message }, 'peer is on a branch that leaves our finalized block; not syncing from it for now')
          } else {
            this.log.info({ peer: target.id.toString(), err: (e as Error).message }, 'sync from peer failed; trying again')
            // Forget what the peer claimed: another peer may be best now, and a peer that cannot
            // serve its announced head must not hold producers back (nor by its next claims, for
            // FAILED_PEER_MS).
            this.peers.delete(target.id.toString())
            this.failed.set(target.id.toString(), Date.now() + FAILED_PEER_MS)
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

  /**
   * After syncing a peer's whole chain for its finality: its finalized block must now be among
   * ours (an honest peer serves the chain that holds it). Either fork choice moved us onto it,
   * or not yet (its votes still to come); both end the claim until its next status, so a claim
   * never holds producers back for longer than a run. A finalized block it never served was a
   * lie, scored like any wrong answer.
   */
  private async afterOffBranchSync(target: PeerHead): Promise<void> {
    const fin = target.finalized!
    target.offBranch = false
    if (!(await this.deps.chain.getHeader(fin.hash))) {
      this.deps.scorer.apply(target.id.toString(), 'bad-response', `named finalized block ${fin.number} but its chain does not hold it`)
      throw new NetworkError('BAD_RESPONSE', `${target.id} named a finalized block ${fin.number} its chain does not hold`)
    }
  }

  private async syncFrom(target: PeerHead): Promise<void> {
    const { chain, progress, scorer } = this.deps
    const ancestor = await this.findAncestor(target)
    const fin = chain.finalized()
    if (fin && ancestor.number < fin.number) throw new StaleBranch(`its chain and ours part at ${ancestor.number}, below our finalized block ${fin.number}`)
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
        if (out.status === 'stale') throw new StaleBranch(out.reason)
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
    const candidates = [...this.peers.values()].filter((p) => p.number >= number && !tried.has(p.id.toString()) && !this.deps.scorer.isBanned(p.id.toString()) && !this.isSetAside(p.id.toString()))
    if (!candidates.length) return undefined
    return candidates[this.rr++ % candidates.length]
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
