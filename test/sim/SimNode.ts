import { bytesToHex, concatBytes, u64ToBytes } from '../../common/bytes.js'
import { keccak256 } from '../../chain/keccak.js'
import { FinalityTracker, type Vote } from '../../consensus/Finality.js'
import { epochOf, epochSeed, nextMix, vrfInput, WeightedLeaderSchedule } from '../../consensus/WeightedLeaderSchedule.js'

/**
 * One validator of the consensus simulator: the leader schedule, finality and fork choice of
 * consensus/ over an abstract block tree (no transactions, no EVM, no signatures — the sim is
 * about the protocol's messages, not their cryptography).
 */
export interface SimBlock {
  hash: string
  parent: string
  height: bigint
  slot: bigint
  producer: string
  rank: number
  mix: Uint8Array
  /** Votes the producer knew for the parent and its recent ancestors: attestations in the header, so whoever syncs the chain learns its justification. */
  votes: readonly Vote[]
}

/** What travels on the wire. Blocks carry the votes their sender knows for them and their recent ancestors (attestations in headers). */
export type SimMessage = { kind: 'block'; block: SimBlock; votes: Vote[] } | { kind: 'vote'; vote: Vote } | { kind: 'want'; hash: string }

export interface SimParams {
  slotsPerEpoch: bigint
  genesisSeed: Uint8Array
  maxBackups: number
  weights: ReadonlyMap<string, bigint>
}

export type Behaviour = 'honest' | 'byzantine'

const VOTES_IN_BLOCK_DEPTH = 8

export const GENESIS: SimBlock = { hash: 'genesis', parent: '', height: 0n, slot: 0n, producer: '', rank: 0, mix: new Uint8Array(32), votes: [] }

/** Everything a node needs from the simulator. */
export interface SimContext {
  params: SimParams
  send(from: string, to: string, m: SimMessage): void
  peers: readonly string[]
  /** Every block made so far by anyone: only read for ancestry of blocks this node already holds. */
  registry: ReadonlyMap<string, SimBlock>
}

export class SimNode {
  readonly tracker: FinalityTracker
  private readonly known = new Map<string, SimBlock>([[GENESIS.hash, GENESIS]])
  private readonly orphans = new Map<string, SimBlock>()
  private readonly votesByTarget = new Map<string, Vote[]>()
  private readonly voteKeys = new Set<string>()
  private readonly producedAt = new Map<string, string>()
  private readonly votedAt = new Map<string, string>()
  private lastTargetHeight = 0n
  private lastProducedSlot = 0n
  /** Every finalized block this node has moved to, in order. */
  readonly finalizedHistory: string[] = [GENESIS.hash]
  /** Validators this node holds equivocation evidence against. */
  readonly evidence = new Set<string>()
  private readonly schedules = new Map<string, WeightedLeaderSchedule>()

  constructor(
    readonly id: string,
    readonly behaviour: Behaviour,
    private readonly ctx: SimContext,
  ) {
    this.tracker = new FinalityTracker({ hash: GENESIS.hash }, () => ctx.params.weights)
  }

  // ——— schedule along a branch ———

  private seedOnBranch(parent: string, epoch: bigint): Uint8Array {
    const spe = this.ctx.params.slotsPerEpoch
    return epochSeed(epoch, this.ctx.params.genesisSeed, (e) => {
      // The mix of the last block of epoch e on this branch (genesis if there is none).
      let b = this.ctx.registry.get(parent) ?? GENESIS
      while (b.hash !== GENESIS.hash && b.slot >= (e + 1n) * spe) b = this.ctx.registry.get(b.parent)!
      return b.mix
    })
  }

  schedule(parent: string, slot: bigint): { seed: Uint8Array; s: WeightedLeaderSchedule } {
    const seed = this.seedOnBranch(parent, epochOf(slot, this.ctx.params.slotsPerEpoch))
    const k = bytesToHex(seed)
    let s = this.schedules.get(k)
    if (!s) {
      s = new WeightedLeaderSchedule({
        validators: [...this.ctx.params.weights].map(([id, weight]) => ({ address: new TextEncoder().encode(id), weight })),
        seed,
        maxBackups: this.ctx.params.maxBackups,
      })
      this.schedules.set(k, s)
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
    else {
      const b = this.known.get(m.hash)
      if (b) this.ctx.send(this.id, from, { kind: 'block', block: b, votes: this.votesFor(b.hash) })
    }
  }

  private onBlock(from: string, b: SimBlock): void {
    if (this.known.has(b.hash) || this.orphans.has(b.hash)) return
    if (!this.known.has(b.parent)) {
      this.orphans.set(b.hash, b)
      // Ask for the oldest missing ancestor we know of.
      let root = b
      while (this.orphans.has(root.parent)) root = this.orphans.get(root.parent)!
      this.ctx.send(this.id, from, { kind: 'want', hash: root.parent })
      return
    }
    const parent = this.known.get(b.parent)!
    if (b.slot <= parent.slot || b.height !== parent.height + 1n) return
    if (this.rankOf(b.producer, b.parent, b.slot) !== b.rank) return
    const key = `${b.slot}:${b.producer}`
    const prior = this.producedAt.get(key)
    if (prior !== undefined && prior !== b.hash) this.evidence.add(b.producer)
    else this.producedAt.set(key, b.hash)
    this.known.set(b.hash, b)
    this.tracker.addBlock({ hash: b.hash, parent: b.parent, height: b.height, epoch: epochOf(b.slot, this.ctx.params.slotsPerEpoch) })
    this.noteFinality()
    for (const v of b.votes) this.onVote(v)
    // Gossip: relay each new block once, so an equivocator's two blocks both reach everyone
    // and the fork choice's tie-break puts honest votes on the same one.
    if (b.producer !== this.id) this.broadcast({ kind: 'block', block: b, votes: [] })
    for (const [h, o] of [...this.orphans]) {
      if (o.parent === b.hash) {
        this.orphans.delete(h)
        this.onBlock(from, o)
      }
    }
  }

  private onVote(v: Vote): void {
    const key = `${v.validator}:${v.source}>${v.target}`
    if (this.voteKeys.has(key)) return
    this.voteKeys.add(key)
    const list = this.votesByTarget.get(v.target)
    if (list) list.push(v)
    else this.votesByTarget.set(v.target, [v])
    const hk = `${v.validator}:${v.targetHeight}`
    const prior = this.votedAt.get(hk)
    if (prior !== undefined && prior !== v.target) this.evidence.add(v.validator)
    else this.votedAt.set(hk, v.target)
    this.tracker.addVote(v)
    this.noteFinality()
  }

  private noteFinality(): void {
    const f = this.tracker.finalized.hash
    if (this.finalizedHistory[this.finalizedHistory.length - 1] !== f) this.finalizedHistory.push(f)
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

  /** Called at the slot start (rank 0) and after each backup delay (rank r). */
  maybeProduce(slot: bigint, rankTurn: number): SimBlock[] {
    const head = this.head()
    // Never a second block for a slot: after a reorg the same producer can hold another rank
    // on the new branch (another seed), and producing again would be slashable equivocation.
    if (head.slot >= slot || this.lastProducedSlot >= slot) return []
    const rank = this.rankOf(this.id, head.hash, slot)
    if (rank !== rankTurn) return []
    this.lastProducedSlot = slot
    const variants = this.behaviour === 'byzantine' && rank === 0 ? 2 : 1
    const { seed } = this.schedule(head.hash, slot)
    const included = this.votesFor(head.hash)
    const made: SimBlock[] = []
    for (let v = 0; v < variants; v++) {
      // Stand-in for the ECVRF output: unique per (producer, input), as ECVRF's is.
      const vrfOut = keccak256(concatBytes(new TextEncoder().encode(this.id), vrfInput(seed, slot)))
      const hash = bytesToHex(keccak256(concatBytes(new TextEncoder().encode(`${head.hash}|${this.id}|${v}`), u64ToBytes(slot)))).slice(0, 18)
      made.push({ hash, parent: head.hash, height: head.height + 1n, slot, producer: this.id, rank, mix: nextMix(head.mix, vrfOut), votes: included })
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

  /** Mid-slot: attest to the head (honest), or to every block at the head's height (byzantine). */
  attest(): Vote[] {
    const head = this.head()
    const votes: Vote[] = []
    if (this.behaviour === 'honest') {
      if (head.height <= this.lastTargetHeight || head.hash === GENESIS.hash) return []
      this.lastTargetHeight = head.height
      votes.push(this.tracker.voteFor(this.id, head.hash))
    } else {
      if (head.hash === GENESIS.hash) return []
      for (const b of this.known.values()) if (b.height === head.height) votes.push(this.tracker.voteFor(this.id, b.hash))
    }
    for (const v of votes) {
      this.onVote(v)
      this.broadcast({ kind: 'vote', vote: v })
    }
    return votes
  }

  hasBlock(hash: string): boolean {
    return this.known.has(hash)
  }
}
