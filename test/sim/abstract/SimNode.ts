import { bytesToHex, concatBytes, u64ToBytes } from '../../../common/bytes.js'
import { keccak256 } from '../../../chain/keccak.js'
import { FinalityTracker, type Vote } from '../../../consensus/Finality.js'
import { epochOf, epochSeed, nextMix, vrfInput, WeightedLeaderSchedule } from '../../../consensus/WeightedLeaderSchedule.js'
import { does, type Behaviour } from './Byzantine.js'
import type { EpochWeights } from './EpochWeights.js'
import { voteConflict, type SimEvidence, type SimKeys } from './Evidence.js'
import type { Receipt, ReceiptBook } from './ReceiptBook.js'
import type { SlashingLedger } from './SlashingLedger.js'

/**
 * One validator of the consensus simulator: the real leader schedule, finality and fork choice
 * of consensus/ over an abstract block tree (no transactions, no EVM). Headers name a work
 * receipt that receivers check against the shared ReceiptBook; equivocations are caught,
 * judged by the real SlashingEvidence checks (Evidence.ts), gossiped and included in blocks.
 */
export interface SimBlock {
  hash: string
  parent: string
  height: bigint
  slot: bigint
  producer: string
  /** The rank the producer claims (0 = leader); receivers recompute it. */
  rank: number
  mix: Uint8Array
  jobId: string
  sessionId: string
  /** Votes the producer knew for the parent and its recent ancestors: attestations in the header, so whoever syncs the chain learns its justification. */
  votes: readonly Vote[]
  /** Slashing evidence carried as transactions of this block. */
  evidence: readonly SimEvidence[]
}

/** What travels on the wire. */
export type SimMessage =
  | { kind: 'block'; block: SimBlock; votes: Vote[] }
  | { kind: 'vote'; vote: Vote }
  | { kind: 'want'; hash: string }
  | { kind: 'evidence'; evidence: SimEvidence }

export interface SimParams {
  slotsPerEpoch: bigint
  slotMs: number
  genesisSeed: Uint8Array
  maxBackups: number
  /** Negative controls only: honest nodes skip a duty, so the property checks must catch it (sim.test.ts). */
  sabotage?: 'no-receipt-check' | 'no-evidence'
}

const VOTES_IN_BLOCK_DEPTH = 8
/** Blocks served for one `want`: the asked block and its ancestors. */
const SYNC_BATCH = 32

export const GENESIS: SimBlock = {
  hash: 'genesis',
  parent: '',
  height: 0n,
  slot: 0n,
  producer: '',
  rank: 0,
  mix: new Uint8Array(32),
  jobId: '',
  sessionId: '',
  votes: [],
  evidence: [],
}

/** Everything a node needs from the simulator. */
export interface SimContext {
  params: SimParams
  weights: EpochWeights
  receipts: ReceiptBook
  ledger: SlashingLedger
  keys: SimKeys
  peers: readonly string[]
  /** Every block made so far by anyone: only read for ancestry of blocks this node already holds. */
  registry: ReadonlyMap<string, SimBlock>
  now(): number
  send(from: string, to: string, m: SimMessage): void
  /** The partition side of a node (what a split-brain adversary uses to keep the sides apart). */
  sideOf(id: string): 'A' | 'B'
  /** Pure functions of public data, shared by all nodes: epoch seed by (parent, epoch), schedule by seed. */
  cache: { seeds: Map<string, Uint8Array>; schedules: Map<string, WeightedLeaderSchedule> }
  /** Evidence against `offender` went into a block an honest node accepted. */
  onInclusion(offender: string): void
}

export type RejectReason = 'future-slot' | 'bad-slot' | 'not-eligible' | 'bad-receipt' | 'bad-evidence'

export class SimNode {
  readonly tracker: FinalityTracker
  private readonly known = new Map<string, SimBlock>([[GENESIS.hash, GENESIS]])
  private readonly orphans = new Map<string, SimBlock>()
  private readonly rejected = new Set<string>()
  /** Missing ancestors asked for, and when: at most one request per slot each. */
  private readonly wanted = new Map<string, number>()
  private readonly votesByTarget = new Map<string, Vote[]>()
  private readonly voteKeys = new Set<string>()
  private readonly voteObjects = new WeakSet<Vote>()
  private readonly producedAt = new Map<string, SimBlock>()
  private readonly votesBy = new Map<string, Vote[]>()
  private lastTargetHeight = 0n
  private lastProducedSlot = 0n
  private readonly ownVotes: Vote[] = []
  private readonly splitVoted = new Set<string>()
  /** Every finalized block this node has moved to, in order. */
  readonly finalizedHistory: string[] = [GENESIS.hash]
  /** When (ms) each block became final in this node's view. */
  readonly finalAt = new Map<string, number>([[GENESIS.hash, 0]])
  /** Offenders this node holds verified evidence against, and when (ms) it got it. */
  readonly evidence = new Map<string, number>()
  private readonly pendingEvidence = new Map<string, SimEvidence>()
  /** What reached this node, with arrival times (ms): the record Properties scans independently. */
  readonly acceptedAt = new Map<string, number>()
  readonly votesSeen: { vote: Vote; at: number }[] = []
  readonly rejections = new Map<RejectReason, number>()

  constructor(
    readonly id: string,
    readonly behaviour: Behaviour,
    private readonly ctx: SimContext,
  ) {
    this.tracker = new FinalityTracker({ hash: GENESIS.hash }, (set) => ctx.weights.of(BigInt(set)), !does(behaviour, 'split-brain'))
  }

  private get nowSlot(): bigint {
    return BigInt(Math.floor(this.ctx.now() / this.ctx.params.slotMs))
  }

  // ——— schedule along a branch ———

  private seedOnBranch(parent: string, epoch: bigint): Uint8Array {
    const key = `${parent}|${epoch}`
    const hit = this.ctx.cache.seeds.get(key)
    if (hit) return hit
    const spe = this.ctx.params.slotsPerEpoch
    const seed = epochSeed(epoch, this.ctx.params.genesisSeed, (e) => {
      // The mix of the last block of epoch e on this branch (genesis if there is none).
      let b = this.ctx.registry.get(parent) ?? GENESIS
      while (b.hash !== GENESIS.hash && b.slot >= (e + 1n) * spe) b = this.ctx.registry.get(b.parent)!
      return b.mix
    })
    this.ctx.cache.seeds.set(key, seed)
    return seed
  }

  schedule(parent: string, slot: bigint): { seed: Uint8Array; s: WeightedLeaderSchedule } {
    const epoch = epochOf(slot, this.ctx.params.slotsPerEpoch)
    const seed = this.seedOnBranch(parent, epoch)
    // The seed names its epoch, so it also keys the epoch's weights.
    const k = bytesToHex(seed)
    let s = this.ctx.cache.schedules.get(k)
    if (!s) {
      s = new WeightedLeaderSchedule({
        validators: [...this.ctx.weights.of(epoch)].map(([id, weight]) => ({ address: new TextEncoder().encode(id), weight })),
        seed,
        maxBackups: this.ctx.params.maxBackups,
      })
      this.ctx.cache.schedules.set(k, s)
    }
    return { seed, s }
  }

  private rankOf(producer: string, parent: string, slot: bigint): number | undefined {
    return this.schedule(parent, slot).s.rank(new TextEncoder().encode(producer), slot)
  }

  // ——— receiving ———

  receive(from: string, m: SimMessage): void {
    if (m.kind === 'block') {
      this.onBlock(from, m.block)
      for (const v of m.votes) this.onVote(v)
    } else if (m.kind === 'vote') this.onVote(m.vote)
    else if (m.kind === 'evidence') this.onEvidence(m.evidence, true)
    else if (!does(this.behaviour, 'split-brain')) {
      // Range sync: the block asked for and its ancestors, oldest first, as a node's sync serves a batch.
      const batch: SimBlock[] = []
      for (let b = this.known.get(m.hash); b && b.hash !== GENESIS.hash && batch.length < SYNC_BATCH; b = this.known.get(b.parent)) batch.unshift(b)
      for (const b of batch) this.ctx.send(this.id, from, { kind: 'block', block: b, votes: this.votesFor(b.hash) })
    }
  }

  private reject(b: SimBlock, why: RejectReason): void {
    this.rejected.add(b.hash)
    this.rejections.set(why, (this.rejections.get(why) ?? 0) + 1)
  }

  /** Header checks, in the order a node runs them; undefined when the block is valid on its parent. */
  private invalid(b: SimBlock, parent: SimBlock): RejectReason | undefined {
    if (b.slot <= parent.slot || b.height !== parent.height + 1n) return 'bad-slot'
    if (this.rankOf(b.producer, b.parent, b.slot) !== b.rank) return 'not-eligible'
    if (this.ctx.params.sabotage !== 'no-receipt-check' && !this.ctx.receipts.check(b.producer, b.jobId, b.sessionId, Number(b.slot)).ok) return 'bad-receipt'
    for (const ev of b.evidence) if (!this.ctx.keys.judge(ev).ok) return 'bad-evidence'
    return undefined
  }

  private onBlock(from: string, b: SimBlock): void {
    if (this.known.has(b.hash) || this.orphans.has(b.hash) || this.rejected.has(b.hash)) return
    if (b.slot > this.nowSlot) return this.reject(b, 'future-slot')
    if (!this.known.has(b.parent)) {
      this.orphans.set(b.hash, b)
      // Ask for the oldest missing ancestor we know of.
      let root = b
      while (this.orphans.has(root.parent)) root = this.orphans.get(root.parent)!
      const asked = this.wanted.get(root.parent)
      if (asked === undefined || this.ctx.now() - asked >= this.ctx.params.slotMs) {
        this.wanted.set(root.parent, this.ctx.now())
        this.ctx.send(this.id, from, { kind: 'want', hash: root.parent })
      }
      return
    }
    const why = this.invalid(b, this.known.get(b.parent)!)
    if (why) return this.reject(b, why)
    this.known.set(b.hash, b)
    this.acceptedAt.set(b.hash, this.ctx.now())
    const key = `${b.slot}:${b.producer}`
    const prior = this.producedAt.get(key)
    if (prior !== undefined && prior.hash !== b.hash) this.onEvidence({ kind: 'double-production', a: prior, b }, false)
    else this.producedAt.set(key, b)
    if (this.behaviour.honest) for (const ev of b.evidence) this.included(ev)
    // The tracker forgets branches below or beside the finalized block (consensus/Finality.ts prune):
    // a block on one of them can never count again, as in FinalityGadget.addBlock.
    if (this.tracker.has(b.parent)) this.tracker.addBlock({ hash: b.hash, parent: b.parent, height: b.height, sets: [String(epochOf(b.slot, this.ctx.params.slotsPerEpoch))] })
    this.noteFinality()
    for (const v of b.votes) this.onVote(v)
    // Gossip: relay each new block once, so an equivocator's two blocks both reach everyone.
    if (b.producer !== this.id && !does(this.behaviour, 'split-brain')) this.broadcast({ kind: 'block', block: b, votes: [] })
    for (const [h, o] of [...this.orphans]) {
      if (o.parent === b.hash) {
        this.orphans.delete(h)
        this.onBlock(from, o)
      }
    }
  }

  private included(ev: SimEvidence): void {
    const j = this.ctx.keys.judge(ev)
    if (j.ok) {
      this.pendingEvidence.delete(j.offender)
      this.ctx.onInclusion(j.offender)
    }
  }

  private onVote(v: Vote): void {
    // Votes travel as shared objects: most repeats are the same object, cheaper to spot than by key.
    if (this.voteObjects.has(v)) return
    this.voteObjects.add(v)
    const key = `${v.validator}:${v.source}>${v.target}`
    if (this.voteKeys.has(key)) return
    this.voteKeys.add(key)
    this.votesSeen.push({ vote: v, at: this.ctx.now() })
    const list = this.votesByTarget.get(v.target)
    if (list) list.push(v)
    else this.votesByTarget.set(v.target, [v])
    const mine = this.votesBy.get(v.validator) ?? []
    if (!this.evidence.has(v.validator)) {
      for (const p of mine) {
        const kind = voteConflict(p, v)
        if (kind) {
          this.onEvidence({ kind, a: p, b: v }, false)
          break
        }
      }
    }
    mine.push(v)
    this.votesBy.set(v.validator, mine)
    this.tracker.addVote(v)
    this.noteFinality()
  }

  /** Verified evidence (the real checks) becomes pending for inclusion and is gossiped once. */
  private onEvidence(ev: SimEvidence, fromWire: boolean): void {
    if (!this.behaviour.honest || this.ctx.params.sabotage === 'no-evidence') return
    const j = this.ctx.keys.judge(ev)
    if (!j.ok) {
      if (!fromWire) throw new Error(`${this.id} built evidence the real check refuses: ${j.reason}`)
      return
    }
    if (this.evidence.has(j.offender)) return
    this.evidence.set(j.offender, this.ctx.now())
    if (!this.ctx.ledger.isSlashed(j.offender)) this.pendingEvidence.set(j.offender, ev)
    this.broadcast({ kind: 'evidence', evidence: ev })
  }

  private noteFinality(): void {
    const f = this.tracker.finalized.hash
    const last = this.finalizedHistory[this.finalizedHistory.length - 1]!
    if (last === f) return
    this.finalizedHistory.push(f)
    const now = this.ctx.now()
    for (let h: string | undefined = f; h !== undefined && !this.finalAt.has(h); h = this.known.get(h)?.parent) this.finalAt.set(h, now)
  }

  /**
   * Votes sent along with a block: those for it and its recent ancestors, plus those behind
   * the sender's highest justified block. The latter carry justification to a node that lost
   * those votes — without them its votes keep an older source and, split from the rest, no
   * link reaches 2/3 again (found by the simulator).
   */
  private votesFor(hash: string): Vote[] {
    const out = new Set<Vote>()
    for (const start of [hash, this.tracker.justified.hash]) {
      let h: string | undefined = start
      for (let i = 0; i <= VOTES_IN_BLOCK_DEPTH && h && h !== GENESIS.hash; i++) {
        for (const v of this.votesByTarget.get(h) ?? []) out.add(v)
        h = this.known.get(h)?.parent
      }
    }
    return [...out]
  }

  private broadcast(m: SimMessage): void {
    for (const p of this.ctx.peers) if (p !== this.id) this.ctx.send(this.id, p, m)
  }

  // ——— acting ———

  head(): SimBlock {
    return this.known.get(this.tracker.chooseHead((h) => (this.known.get(h)?.rank === 0 ? 1 : 0)))!
  }

  /** The receipt this node names in a header at `slot` (honest: its newest usable one). */
  private receiptFor(slot: bigint): Pick<Receipt, 'jobId' | 'sessionId'> | undefined {
    const s = Number(slot)
    if (does(this.behaviour, 'fake-receipt')) {
      // Alternate between someone else's receipt and one that was never accepted.
      const other = this.ctx.peers.find((p) => p !== this.id && this.ctx.receipts.bestFor(p, s))
      if (slot % 2n === 0n && other) return this.ctx.receipts.bestFor(other, s)
      return { jobId: `job-fake-${this.id}-${slot}`, sessionId: `session-fake-${this.id}-${slot}` }
    }
    if (does(this.behaviour, 'stale-receipt')) return this.ctx.receipts.newestFor(this.id, s)
    return this.ctx.receipts.bestFor(this.id, s)
  }

  /** Called at the slot start (rank 0) and after each backup delay (rank r). */
  maybeProduce(slot: bigint, rankTurn: number): SimBlock[] {
    if (does(this.behaviour, 'split-brain')) return []
    const head = this.head()
    // Never a second block for a slot: after a reorg the same producer can hold another rank
    // on the new branch (another seed), and producing again would be slashable equivocation.
    if (head.slot >= slot || this.lastProducedSlot >= slot) return []
    let rank = this.rankOf(this.id, head.hash, slot)
    // A faker without weight claims the lead anyway; receivers recompute the rank.
    if (rank === undefined && rankTurn === 0 && does(this.behaviour, 'fake-receipt')) rank = 0
    if (rank !== rankTurn) return []
    if (rank === 0 && does(this.behaviour, 'withhold')) return []
    const receipt = this.receiptFor(slot)
    if (!receipt) return []
    this.lastProducedSlot = slot
    const variants = rank === 0 && does(this.behaviour, 'double-produce') ? 2 : 1
    const { seed } = this.schedule(head.hash, slot)
    const included = this.votesFor(head.hash)
    const evidence = this.behaviour.honest ? [...this.pendingEvidence.entries()].filter(([o]) => !this.ctx.ledger.isSlashed(o)).map(([, e]) => e) : []
    const made: SimBlock[] = []
    for (let v = 0; v < variants; v++) {
      // Stand-in for the ECVRF output: unique per (producer, input), as ECVRF's is.
      const vrfOut = keccak256(concatBytes(new TextEncoder().encode(this.id), vrfInput(seed, slot)))
      const hash = bytesToHex(keccak256(concatBytes(new TextEncoder().encode(`${head.hash}|${this.id}|${v}`), u64ToBytes(slot)))).slice(0, 18)
      made.push({ hash, parent: head.hash, height: head.height + 1n, slot, producer: this.id, rank, mix: nextMix(head.mix, vrfOut), ...receipt, votes: included, evidence })
    }
    for (const b of made) this.onBlock(this.id, b)
    if (made.length === 1) this.broadcast({ kind: 'block', block: made[0]!, votes: this.votesFor(made[0]!.parent) })
    else {
      // Equivocation: each half of the network sees a different block for the slot.
      this.ctx.peers.forEach((p, i) => {
        if (p !== this.id) this.ctx.send(this.id, p, { kind: 'block', block: made[i % 2]!, votes: this.votesFor(head.hash) })
      })
    }
    return made
  }

  /** Mid-slot: attest to the head; byzantine strategies add conflicting votes. Returns every vote cast. */
  attest(): Vote[] {
    if (does(this.behaviour, 'split-brain')) return this.attestBothSides()
    const head = this.head()
    if (head.height <= this.lastTargetHeight || head.hash === GENESIS.hash) return []
    this.lastTargetHeight = head.height
    const honestVote = this.tracker.voteFor(this.id, head.hash)
    const votes = [honestVote]
    if (does(this.behaviour, 'double-vote')) {
      const sibling = [...this.known.values()].find((b) => b.height === head.height && b.hash !== head.hash)
      const target = sibling?.hash ?? `fake-${this.id}-${head.height}`
      votes.push({ ...honestVote, target })
    }
    if (does(this.behaviour, 'surround-vote')) {
      // A link from genesis over an earlier link with a higher source: s1 < s2 < t2 < t1.
      const inner = this.ownVotes.find((p) => p.sourceHeight > 0n && p.targetHeight < head.height)
      if (inner) votes.push({ validator: this.id, source: GENESIS.hash, sourceHeight: 0n, target: head.hash, targetHeight: head.height })
    }
    for (const v of votes) {
      this.ownVotes.push(v)
      this.onVote(v)
      this.broadcast({ kind: 'vote', vote: v })
    }
    return votes
  }

  /** Split-brain: a vote for every branch tip, sent only to the side that built it. */
  private attestBothSides(): Vote[] {
    const parents = new Set([...this.known.values()].map((b) => b.parent))
    const votes: Vote[] = []
    for (const tip of this.known.values()) {
      if (tip.hash === GENESIS.hash || parents.has(tip.hash) || this.splitVoted.has(tip.hash)) continue
      this.splitVoted.add(tip.hash)
      const v = this.tracker.voteFor(this.id, tip.hash)
      votes.push(v)
      this.onVote(v)
      const side = this.ctx.sideOf(tip.producer)
      for (const p of this.ctx.peers) if (p !== this.id && this.ctx.sideOf(p) === side) this.ctx.send(this.id, p, { kind: 'vote', vote: v })
    }
    return votes
  }

  hasBlock(hash: string): boolean {
    return this.known.has(hash)
  }

  blockAt(hash: string): SimBlock | undefined {
    return this.known.get(hash)
  }
}
