import { join } from 'node:path'
import { decodeAttestation, encodeAttestation, type Attestation } from '../../chain/Attestation.js'
import { Block, decodeTransaction } from '../../chain/Block.js'
import type { BlockHeader } from '../../chain/Header.js'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import type { Logger } from '../../common/logger.js'
import type { Equivocation, Producer } from '../../consensus/ChainService.js'
import { Attester } from '../../node/Attester.js'
import { SlotProducer } from '../../node/SlotProducer.js'
import { openSimChain, type SimChain, type SimGenesis } from './SimChain.js'

const hex = bytesToHex

/** What travels between sim nodes: encoded bytes, so every node decodes its own copy. */
export type Msg =
  | { kind: 'block'; bytes: Uint8Array }
  | { kind: 'vote'; bytes: Uint8Array }
  | { kind: 'tx'; bytes: Uint8Array }
  /** Ask for a block and its ancestors (the answer is a batch of up to SYNC_BATCH, oldest first). */
  | { kind: 'want'; hash: Uint8Array }
  /** Range sync from genesis: canonical blocks from `from` on (a joining node). */
  | { kind: 'range'; from: bigint }
  | { kind: 'blocks'; list: Uint8Array[]; head?: bigint }

export type Role = 'honest' | 'byzantine' | 'observer'

/** How an import ended, as the simulator records it (one per node and block; a later acceptance overrides a wait). */
export type Outcome = { ok: true; status: 'head' | 'side' | 'known' | 'local' } | { ok: false; code: string; message: string }

/** What a node needs of the simulator. */
export interface PeerContext {
  /** Virtual wall clock, ms since the epoch. */
  wallMs(): number
  send(from: string, to: string, m: Msg): void
  /** Every other node currently online. */
  others(id: string): string[]
  onVerdict(p: Peer, b: Block, o: Outcome): void
  onProduced(p: Peer, b: Block): void
  onEquivocation(p: Peer, e: Equivocation): void
  onVote(p: Peer, a: Attestation, accepted: boolean): void
}

const SYNC_BATCH = 32
const RANGE_BATCH = 64
const MAX_ORPHANS = 512
/** Rejections that depend on when or in which order a node saw a block, not on the block. */
export const WAIT_CODES = new Set(['CONSENSUS_UNKNOWN_PARENT', 'CONSENSUS_FUTURE_BLOCK'])

interface Ticking {
  tick(): void
  idle: Promise<void>
}

/** The node's log as the SlotProducer writes it: why it did not produce. */
export interface Complaint {
  wallMs: number
  msg: string
  fields: Record<string, unknown>
}

function recordingLogger(into: Complaint[], now: () => number): Logger {
  const rec =
    (level: string) =>
    (a: string | Record<string, unknown>, b?: string): void => {
      if (level !== 'warn' && level !== 'error') return
      if (typeof a === 'string') into.push({ wallMs: now(), msg: a, fields: {} })
      else into.push({ wallMs: now(), msg: b ?? '', fields: a })
    }
  const l: Logger = { trace: rec('trace'), debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error'), child: () => l }
  return l
}

/**
 * One sim node: a real ChainService (SimChain.ts) with, for a validator, the node's real
 * SlotProducer on the virtual clock and its real Attester; gossip is a full mesh through the
 * simulated Network (no relaying), blocks with unknown parents are kept and their ancestors
 * asked for, and a node joining late syncs by range from genesis. Every import outcome is
 * reported to the simulator (the verdicts the properties compare).
 */
export class Peer {
  sc!: SimChain
  private producerLoop?: SlotProducer
  private attester?: Attester
  readonly complaints: Complaint[] = []
  /** Blocks waiting for their parent, by parent hash. */
  private readonly orphans = new Map<string, Map<string, { block: Block; from: string }>>()
  private orphanCount = 0
  /** Each waiting block's parent, by the block's hash. */
  private readonly orphanHashes = new Map<string, string>()
  /** Blocks refused for a reason that will not change (not retried). */
  private readonly bad = new Set<string>()
  private readonly asked = new Map<string, number>()
  syncing = false
  private syncFrom?: string
  online = false

  constructor(
    readonly id: string,
    readonly role: Role,
    private readonly ctx: PeerContext,
    readonly key?: Producer,
    readonly opts: { produce: boolean; attest: boolean; route?: () => string[] | undefined } = { produce: true, attest: true },
  ) {}

  get chain() {
    return this.sc.chain
  }

  async start(g: SimGenesis): Promise<void> {
    this.sc = await openSimChain(g)
    this.online = true
    const chain = this.sc.chain
    chain.onNewHead((block, _r, origin) => {
      if (origin !== 'local') return
      this.ctx.onProduced(this, block)
      this.broadcast({ kind: 'block', bytes: block.encode() }, this.opts.route?.())
    })
    chain.onEquivocation((e) => this.ctx.onEquivocation(this, e))
    if (this.key && this.opts.attest) {
      this.attester = new Attester(chain, this.key, g.chainId, { file: join(this.sc.dir, 'attester.json'), publish: (a) => this.publishVote(a) }, recordingLogger([], () => this.ctx.wallMs()))
      this.attester.start()
    }
    if (this.key && this.opts.produce) {
      this.producerLoop = new SlotProducer(
        chain,
        this.key,
        { isBehind: () => this.syncing, startupGraceMs: 0, tickMs: 100, now: () => this.ctx.wallMs() },
        recordingLogger(this.complaints, () => this.ctx.wallMs()),
      )
      const t = this.producerLoop as unknown as Ticking
      if (typeof t.tick !== 'function' || !('idle' in t))
        throw new Error('node/SlotProducer no longer has tick()/idle: the simulator drives it on virtual time through them (test/sim/Peer.ts)')
    }
  }

  async stop(): Promise<void> {
    this.online = false
    await this.settle()
    await this.sc.close()
  }

  /** Waits until every piece of work this node started (imports, votes and what they triggered) is done. */
  async settle(): Promise<void> {
    const att = () => (this.attester as unknown as { chainQueue?: Promise<void> } | undefined)?.chainQueue
    for (;;) {
      const a = att()
      await this.sc.chain.idle()
      if (a) await a
      await this.sc.chain.idle()
      if (a === att()) return
    }
  }

  /** The SlotProducer's clock check (node/SlotProducer.ts tick), run at a virtual instant. */
  async tick(): Promise<void> {
    if (!this.producerLoop || !this.online) return
    const t = this.producerLoop as unknown as Ticking
    t.tick()
    await t.idle
    await this.settle()
  }

  broadcast(m: Msg, only?: readonly string[]): void {
    for (const to of only ?? this.ctx.others(this.id)) this.ctx.send(this.id, to, m)
  }

  publishVote(a: Attestation, only?: readonly string[]): void {
    this.broadcast({ kind: 'vote', bytes: encodeAttestation(a) }, only)
  }

  private nowSeconds(): number {
    return Math.floor(this.ctx.wallMs() / 1000)
  }

  async receive(from: string, m: Msg): Promise<void> {
    if (!this.online) return
    switch (m.kind) {
      case 'block':
        await this.importOne(Block.decode(m.bytes, this.sc.genesis.common), from)
        break
      case 'blocks':
        for (const b of m.list) await this.importOne(Block.decode(b, this.sc.genesis.common), from)
        if (m.head !== undefined && this.syncing && from === this.syncFrom) {
          if (m.list.length > 0 && this.chain.head().number < m.head) this.ctx.send(this.id, from, { kind: 'range', from: this.chain.head().number + 1n })
          else this.syncing = false
        }
        break
      case 'vote': {
        const a = decodeAttestation(m.bytes)
        const ok = await this.chain.addAttestation(a)
        this.ctx.onVote(this, a, ok === 'accept')
        break
      }
      case 'tx':
        this.sc.pool.add(decodeTransaction(m.bytes, this.sc.genesis.common))
        break
      case 'want':
        await this.answerWant(from, m.hash)
        break
      case 'range': {
        const list: Uint8Array[] = []
        for (let n = m.from; n < m.from + BigInt(RANGE_BATCH); n++) {
          const h = await this.sc.store.canonicalHash(n)
          const b = h && (await this.sc.store.getBlock(h))
          if (!b) break
          list.push(b.encode())
        }
        this.ctx.send(this.id, from, { kind: 'blocks', list, head: this.chain.head().number })
        break
      }
    }
    await this.settle()
  }

  private async answerWant(from: string, hash: Uint8Array): Promise<void> {
    const out: Uint8Array[] = []
    let b = await this.sc.store.getBlock(hash)
    while (b && b.number > 0n && out.length < SYNC_BATCH) {
      out.push(b.encode())
      b = await this.sc.store.getBlock(b.header.parentHash)
    }
    if (out.length > 0) this.ctx.send(this.id, from, { kind: 'blocks', list: out.reverse() })
  }

  /** Joins late: sync from genesis by range from `peer`, not producing until caught up. */
  startSync(peer: string): void {
    this.syncing = true
    this.syncFrom = peer
    this.ctx.send(this.id, peer, { kind: 'range', from: this.chain.head().number + 1n })
  }

  /** Imports a block from a peer (or the node's own adversary logic) and reports the outcome. */
  async importOne(block: Block, from: string): Promise<Outcome> {
    const h = hex(block.hash())
    if (this.bad.has(h)) return { ok: false, code: 'KNOWN_BAD', message: 'refused before' }
    let o: Outcome
    try {
      const status = await this.chain.importBlock(block, this.nowSeconds())
      o = { ok: true, status }
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'ERROR'
      o = { ok: false, code, message: (e as Error).message }
      if (code === 'CONSENSUS_UNKNOWN_PARENT') this.keepOrphan(block, from)
      else if (!WAIT_CODES.has(code)) this.bad.add(h)
    }
    this.ctx.onVerdict(this, block, o)
    if (o.ok && o.status !== 'known') await this.releaseOrphans(h)
    return o
  }

  private keepOrphan(block: Block, from: string): void {
    const parent = hex(block.header.parentHash)
    let m = this.orphans.get(parent)
    if (!m) this.orphans.set(parent, (m = new Map()))
    if (!m.has(hex(block.hash()))) {
      m.set(hex(block.hash()), { block, from })
      this.orphanHashes.set(hex(block.hash()), parent)
      this.orphanCount++
    }
    while (this.orphanCount > MAX_ORPHANS) {
      const [k, first] = this.orphans.entries().next().value!
      this.orphans.delete(k)
      this.orphanCount -= first.size
      for (const x of first.keys()) this.orphanHashes.delete(x)
    }
    // Ask for the missing ancestor the waiting chain hangs from. Asking again (at most once a
    // second) matters: on a lossy link the first answer can be lost, and a node that only asked
    // for parents it had never asked for stayed behind for good (npm run sim -- --seed 119).
    let missing: string = parent
    for (let i = 0; this.orphanHashes.has(missing) && i < MAX_ORPHANS; i++) missing = this.orphanHashes.get(missing)!
    const now = this.ctx.wallMs()
    const last = this.asked.get(missing)
    if (last === undefined || now - last >= 1000) {
      this.asked.set(missing, now)
      if (this.asked.size > 1024) this.asked.delete(this.asked.keys().next().value!)
      this.ctx.send(this.id, from, { kind: 'want', hash: hexToBytes(missing) })
    }
  }

  private async releaseOrphans(parent: string): Promise<void> {
    const waiting = this.orphans.get(parent)
    if (!waiting) return
    this.orphans.delete(parent)
    this.orphanCount -= waiting.size
    for (const x of waiting.keys()) this.orphanHashes.delete(x)
    for (const { block, from } of waiting.values()) await this.importOne(block, from)
  }

  /** The newest block of this node's canonical chain whose slot is below `slot`. */
  async canonicalBefore(slot: bigint): Promise<BlockHeader> {
    let h = this.chain.head()
    while (h.slot >= slot && h.number > 0n) h = (await this.sc.store.getHeader(h.parentHash))!
    return h
  }
}
