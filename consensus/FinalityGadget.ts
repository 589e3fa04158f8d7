import { attestationSigner, type Attestation, type UnsignedAttestation } from '../chain/Attestation.js'
import type { BlockHeader } from '../chain/Header.js'
import { MAX_ATTESTATIONS } from '../chain/Header.js'
import { bytesToHex, equalBytes, hexToBytes } from '../common/bytes.js'
import { ConsensusError } from './errors.js'
import { FinalityTracker } from './Finality.js'
import { checkVotesFor, VOTE_DEPTH } from './HeaderVotes.js'
import { finalityVote } from './SignedVote.js'
import type { WeightedValidator } from './WeightedLeaderSchedule.js'

const hex = bytesToHex

/**
 * The node's side of finality: feeds blocks and signed votes (from headers and from gossip)
 * into the FinalityTracker (Finality.ts: more than 2/3 of an epoch's weight on a link justifies
 * its target; a justified block with a justified child through that link is final), keeps the
 * valid votes for each block so the next producer can put them in its header, and answers
 * fork choice (never leave the finalized block; start from the highest justified one).
 *
 * Weights are per validator set (EpochSet.key: an epoch on one branch), registered by the
 * chain service before the blocks that name them. Votes by validators outside the sets of
 * their target are refused before anything else looks at them: they count nothing, are not
 * relayed, and cannot be turned into slashing reports against people who never had a bond.
 */
export type VoteVerdict = 'accept' | 'ignore' | 'reject'

export class FinalityGadget {
  private tracker: FinalityTracker
  private readonly weights = new Map<string, Map<string, bigint>>()
  static readonly MAX_SETS = 512
  private readonly votes = new Map<string, Map<string, Attestation>>()
  /**
   * For each target, each validator's vote for it and the imported blocks whose headers carried
   * it: a producer need not carry it again on a branch that contains one of those blocks.
   */
  private readonly carried = new Map<string, Map<string, string[]>>()
  /** Heights of the targets of votes kept in `votes`, for pruning. */
  private readonly voteHeights = new Map<string, bigint>()
  /** Each validator's vote per target height (recent heights): a different second one is a double vote. */
  private readonly byHeight = new Map<string, Attestation>()
  private doubleVoteListener?: (a: Attestation, b: Attestation) => void
  /**
   * Each validator's recent links (source → target), newest last, for the other FFG offence: a
   * vote whose link strictly surrounds another of the same validator (s1 < s2 < t2 < t1), which
   * could finalize two conflicting blocks as surely as a double vote.
   */
  private readonly links = new Map<string, Attestation[]>()
  private surroundVoteListener?: (outer: Attestation, inner: Attestation) => void
  static readonly LINKS_PER_VALIDATOR = 64
  static readonly MAX_VALIDATORS_TRACKED = 4096
  /**
   * Votes for blocks not seen yet (gossip can outrun the block), replayed when the block is
   * added. Bounded: a validator signing votes for made-up blocks cannot grow it without limit.
   */
  private readonly early = new Map<string, Attestation[]>()
  private earlyCount = 0
  static readonly MAX_EARLY_VOTES = 4096

  constructor(
    private readonly chainId: bigint,
    root: { hash: Uint8Array; height: bigint },
  ) {
    this.tracker = new FinalityTracker({ hash: hex(root.hash), height: root.height }, (key) => this.weights.get(key) ?? new Map())
  }

  get finalized(): { hash: Uint8Array; height: bigint } {
    const f = this.tracker.finalized
    return { hash: hexToBytes(f.hash), height: f.height }
  }

  get justified(): { hash: Uint8Array; height: bigint } {
    const j = this.tracker.justified
    return { hash: hexToBytes(j.hash), height: j.height }
  }

  knows(hash: Uint8Array): boolean {
    return this.tracker.has(hex(hash))
  }

  isJustified(hash: Uint8Array): boolean {
    return this.tracker.isJustified(hex(hash))
  }

  isFinalized(hash: Uint8Array): boolean {
    return this.tracker.isFinalized(hex(hash))
  }

  /** False for a block that does not descend from the finalized one: fork choice may never go there. */
  allowed(hash: Uint8Array): boolean {
    return this.tracker.allowedHead(hex(hash))
  }

  hasSet(key: string): boolean {
    return this.weights.has(key)
  }

  /** Registers a validator set's weights under its key (the engine's EpochSet.key). */
  setWeights(key: string, validators: readonly WeightedValidator[]): void {
    if (this.weights.has(key)) return
    this.weights.set(key, new Map(validators.map((v) => [hex(v.address), v.weight])))
    // Bounded: a set older than hundreds of keys belongs to blocks long pruned below finality.
    if (this.weights.size > FinalityGadget.MAX_SETS) this.weights.delete(this.weights.keys().next().value!)
  }

  /** The validator's weight in the set of `hash`'s epoch (0 if the block is unknown or it is no member). */
  weightAt(hash: Uint8Array, validator: Uint8Array): bigint {
    const set = this.tracker.block(hex(hash))?.sets[0]
    return set === undefined ? 0n : (this.weights.get(set)?.get(hex(validator)) ?? 0n)
  }

  /** True if the validator's vote for `hash` would count (a member of a set the block names). */
  votesFor(hash: Uint8Array, validator: Uint8Array): boolean {
    const b = this.tracker.block(hex(hash))
    return b !== undefined && this.tracker.isMember(b, hex(validator))
  }

  /** Blocks, links and waiting votes held (memory checks). */
  size(): { blocks: number; links: number; pending: number; early: number; votes: number; sets: number } {
    return { ...this.tracker.size(), early: this.earlyCount, votes: this.votes.size, sets: this.weights.size }
  }

  /**
   * A header's attestations for its parent must be by distinct members of the parent's sets
   * (its epoch's and the one before), correctly signed (HeaderVotes.checkVotesFor; a header may
   * also carry votes for recent ancestors: HeaderVotes.checkHeaderVotes). Throws ConsensusError.
   */
  checkHeaderAttestations(h: BlockHeader, parent: BlockHeader, parentMembers: readonly WeightedValidator[]): void {
    checkVotesFor(h, parent, h.attestations, parentMembers, this.chainId)
  }

  /** Adds a stored block (naming its sets, registered before) and counts the votes its header carries (checked by checkHeaderAttestations). */
  addBlock(h: BlockHeader, sets: readonly string[]): void {
    const hash = hex(h.hash())
    if (this.tracker.has(hash)) return
    if (!this.tracker.has(hex(h.parentHash))) return // below the finalized root: irrelevant to finality
    this.tracker.addBlock({ hash, parent: hex(h.parentHash), height: h.number, sets })
    for (const a of h.attestations) {
      this.count(a)
      const target = hex(a.targetHash)
      const byWho = this.carried.get(target) ?? new Map<string, string[]>()
      this.carried.set(target, byWho)
      const carriers = byWho.get(hex(a.validator)) ?? []
      // A few carriers are enough: more only on branches that pruning will drop.
      if (carriers.length < 4) byWho.set(hex(a.validator), [...carriers, hash])
    }
    const waiting = this.early.get(hash)
    if (waiting) {
      this.early.delete(hash)
      this.earlyCount -= waiting.length
      const b = this.tracker.block(hash)!
      for (const a of waiting) if (this.tracker.isMember(b, hex(a.validator))) this.count(a)
    }
  }

  /** True if `who` has weight in one of the most recently registered sets (a vote for a block not seen yet may be theirs). */
  private recentMember(who: string): boolean {
    const keys = [...this.weights.keys()].slice(-8)
    return keys.some((k) => (this.weights.get(k)!.get(who) ?? 0n) > 0n)
  }

  /**
   * A vote from gossip (or this node's own). 'reject': malformed, signed by someone else than
   * it claims, or by a validator outside its target's sets (the sender may be penalised);
   * 'ignore': it can never count here (below finality, or for an unknown block from nobody we
   * know as a validator) — not relayed; 'accept': counted, or kept until its block arrives.
   * Membership is checked before double-vote and surround detection, so votes of keys that
   * never had a bond never become slashing reports.
   */
  addAttestation(a: Attestation): VoteVerdict {
    if (a.sourceHeight >= a.targetHeight) return 'reject'
    let signer: Uint8Array
    try {
      signer = attestationSigner(a, this.chainId)
    } catch {
      return 'reject'
    }
    if (!equalBytes(signer, a.validator)) return 'reject'
    const target = hex(a.targetHash)
    const who = hex(a.validator)
    const block = this.tracker.block(target)
    if (!block) {
      if (a.targetHeight <= this.tracker.finalized.height) return 'ignore'
      if (!this.recentMember(who)) return 'ignore'
      if (this.earlyCount >= FinalityGadget.MAX_EARLY_VOTES) {
        const [oldest, list] = this.early.entries().next().value!
        this.early.delete(oldest)
        this.earlyCount -= list.length
      }
      const list = this.early.get(target) ?? []
      if (list.length < 1024) {
        list.push(a)
        this.early.set(target, list)
        this.earlyCount++
      }
      return 'accept'
    }
    if (!this.tracker.isMember(block, who)) return 'reject'
    this.count(a)
    return 'accept'
  }

  onDoubleVote(l: (a: Attestation, b: Attestation) => void): void {
    this.doubleVoteListener = l
  }

  /** Called with (outer, inner) when a validator's vote surrounds, or is surrounded by, one of its recent votes. */
  onSurroundVote(l: (outer: Attestation, inner: Attestation) => void): void {
    this.surroundVoteListener = l
  }

  private checkSurround(a: Attestation): void {
    const who = hex(a.validator)
    let mine = this.links.get(who)
    if (!mine) {
      if (this.links.size >= FinalityGadget.MAX_VALIDATORS_TRACKED) this.links.delete(this.links.keys().next().value!)
      mine = []
      this.links.set(who, mine)
    }
    // One pair is enough evidence for a new vote; reporting every nested pair would only repeat the slash.
    const nested = mine.find((p) => (p.sourceHeight < a.sourceHeight && a.targetHeight < p.targetHeight) || (a.sourceHeight < p.sourceHeight && p.targetHeight < a.targetHeight))
    if (nested) {
      if (nested.sourceHeight < a.sourceHeight) this.surroundVoteListener?.(nested, a)
      else this.surroundVoteListener?.(a, nested)
    }
    if (mine.some((p) => p.sourceHeight === a.sourceHeight && p.targetHeight === a.targetHeight && equalBytes(p.targetHash, a.targetHash))) return
    mine.push(a)
    if (mine.length > FinalityGadget.LINKS_PER_VALIDATOR) mine.shift()
  }

  private count(a: Attestation): void {
    const slotKey = `${a.targetHeight}:${hex(a.validator)}`
    const prior = this.byHeight.get(slotKey)
    if (!prior) {
      this.byHeight.set(slotKey, a)
      if (this.byHeight.size > 16384) this.byHeight.delete(this.byHeight.keys().next().value!)
    } else if (!equalBytes(prior.targetHash, a.targetHash)) this.doubleVoteListener?.(prior, a)
    this.checkSurround(a)
    const target = hex(a.targetHash)
    let byValidator = this.votes.get(target)
    if (!byValidator) {
      byValidator = new Map()
      this.votes.set(target, byValidator)
      this.voteHeights.set(target, a.targetHeight)
    }
    const who = hex(a.validator)
    if (!byValidator.has(who)) byValidator.set(who, a)
    this.tracker.addVote(finalityVote(a))
    this.prune()
  }

  private prune(): void {
    if (this.votes.size <= 256) return
    const floor = this.tracker.finalized.height - 64n
    for (const [t, height] of this.voteHeights) {
      if (height < floor) {
        this.votes.delete(t)
        this.carried.delete(t)
        this.voteHeights.delete(t)
      }
    }
  }

  /** The votes for `parentHash` to carry in the next header (valid, counted, one per member of the parent's sets). */
  attestationsFor(parentHash: Uint8Array, parentMembers: readonly WeightedValidator[]): Attestation[] {
    const members = new Set<string>(parentMembers.filter((v) => v.weight > 0n).map((v) => hex(v.address)))
    const out: Attestation[] = []
    for (const [who, a] of this.votes.get(hex(parentHash)) ?? []) {
      if (members.has(who)) out.push(a)
      if (out.length >= MAX_ATTESTATIONS) break
    }
    return out
  }

  /**
   * What a producer puts in its header: the votes for the parent, and the votes behind every
   * justification on the parent's branch at most VOTE_DEPTH back that no imported header has
   * carried yet — this node's highest justified block on the branch, the block whose link
   * justified it, and so on down. A node that missed a justification at gossip (a partition,
   * a lost vote) then learns the whole chain of them from the blocks, in order, and votes from
   * the same source as everyone else; carrying only the highest one is not enough when two
   * justifications in a row happened off chain (the simulator's seed 106: "J").
   * Only members of each target's sets; at most MAX_ATTESTATIONS.
   */
  headerVotes(parent: BlockHeader, parentMembers: readonly WeightedValidator[]): Attestation[] {
    if (parent.number === 0n) return []
    const out = this.attestationsFor(parent.hash(), parentMembers)
    const parentHash = hex(parent.hash())
    if (!this.tracker.has(parentHash)) return out
    // The highest justified block below the parent on its branch: the parent's own justifying
    // source if the parent is justified (its votes are in `out` already), else its nearest justified ancestor.
    let b = this.tracker.isJustified(parentHash) ? this.tracker.justifiedFrom(parentHash) : this.tracker.block(this.tracker.voteFor('', parentHash).source)
    for (; b && b.height > 0n && parent.number - b.height <= VOTE_DEPTH && out.length < MAX_ATTESTATIONS; b = this.tracker.justifiedFrom(b.hash)) {
      const done = this.carried.get(b.hash)
      for (const [who, a] of this.votes.get(b.hash) ?? []) {
        if (out.length >= MAX_ATTESTATIONS) break
        const onBranch = done?.get(who)?.some((c) => this.tracker.isAncestor(c, parentHash)) ?? false
        if (!onBranch && this.tracker.isMember(b, who)) out.push(a)
      }
    }
    return out
  }

  /** The vote an honest validator casts for `head`: source = its highest justified ancestor. */
  voteFor(validator: Uint8Array, head: BlockHeader): UnsignedAttestation {
    const v = this.tracker.voteFor(hex(validator), hex(head.hash()))
    return { sourceHash: hexToBytes(v.source), sourceHeight: v.sourceHeight, targetHash: head.hash(), targetHeight: head.number, validator }
  }

  /** True if `ancestor` is `hash` or one of its ancestors (both known to finality). */
  isAncestor(ancestor: string, hash: string): boolean {
    return this.tracker.isAncestor(ancestor, hash)
  }

  /** Fork choice from the highest justified block; `preference` breaks ties (1 for in-turn blocks). */
  chooseHead(preference: (hash: string) => number): Uint8Array {
    return hexToBytes(this.tracker.chooseHead(preference))
  }
}
