import { ConsensusError } from './errors.js'
import { VOTE_DEPTH } from './HeaderVotes.js'

/**
 * Justification and finality (issue 5), Casper-FFG style with every block a checkpoint and
 * the block height as its coordinate:
 *
 * - A vote is a validator's signed link source → target: `target` is the head it sees,
 *   `source` the highest justified ancestor of that head in its view.
 * - Genesis is justified. A block T is **justified** when one link S → T, whose source S is a
 *   justified ancestor of T, was voted by more than 2/3 of the weight of *each* set T names:
 *   the set of T's epoch and the set of the epoch before it on T's branch. Sets change every
 *   epoch (weights decay, receipts arrive); asking both the outgoing and the incoming set
 *   keeps two supermajorities of consecutive epochs intersecting in more than 1/3 of a set,
 *   which is what the argument below needs (consensus/README.md, "Finality across sets").
 * - A justified block S whose direct child C (height S+1) is justified through the link S → C
 *   is **final**. (That is the "a justified block with a justified child"; requiring
 *   the link to come from S is what makes the proof go through.)
 * - Honest validators never vote two targets at one height (double vote) and never cast a
 *   link that surrounds or is surrounded by one of their own (s1 < s2 < t2 < t1). Both are
 *   slashable (SlashingEvidence). With honest votes = increasing target heights and
 *   non-decreasing sources (fork choice starts at the highest justified block), honest
 *   validators never break either rule. Then two conflicting final blocks need more than 1/3
 *   of the weight to have broken one: safety holds while byzantine weight < 1/3.
 * - Fork choice (`chooseHead`) starts at the highest justified block that descends from the
 *   finalized one and never leaves the finalized block (`allowedHead`).
 *
 * Pure bookkeeping: hashes are opaque strings (hex), signatures are checked by the caller.
 */
export interface FinalityBlock {
  hash: string
  parent: string
  height: bigint
  /** Keys of the validator sets whose supermajority a link to this block needs (its epoch's, then the previous epoch's). */
  sets: readonly string[]
}

export interface Vote {
  validator: string
  source: string
  sourceHeight: bigint
  target: string
  targetHeight: bigint
}

export type WeightsOf = (setKey: string) => ReadonlyMap<string, bigint>

interface Link {
  source: string
  target: string
  voters: Set<string>
  /** Voted weight per set the target names. */
  weight: Map<string, bigint>
  supermajority: boolean
}

export class FinalityTracker {
  private readonly blocks = new Map<string, FinalityBlock>()
  private readonly children = new Map<string, string[]>()
  private readonly justifiedSet = new Set<string>()
  private readonly links = new Map<string, Link>()
  private readonly linksBySource = new Map<string, Link[]>()
  /** For each justified block (genesis excepted), the source of the link that justified it. */
  private readonly justifiedBy = new Map<string, string>()
  /** Votes naming targets we have not seen yet, replayed when blocks arrive. */
  private pending: Vote[] = []
  private finalizedHash: string
  private highestJustified: string
  /** Finalizations this tracker refused because they conflicted with its finalized block. */
  readonly conflicts: { finalized: string; refused: string }[] = []

  constructor(
    genesis: { hash: string; height?: bigint },
    private readonly weightsOf: WeightsOf,
    /** false keeps every branch (the simulator's split-brain adversary votes on both sides after one finalized). */
    private readonly pruneBelowFinalized = true,
  ) {
    const g: FinalityBlock = { hash: genesis.hash, parent: '', height: genesis.height ?? 0n, sets: [] }
    this.blocks.set(g.hash, g)
    this.justifiedSet.add(g.hash)
    this.finalizedHash = g.hash
    this.highestJustified = g.hash
  }

  get finalized(): FinalityBlock {
    return this.blocks.get(this.finalizedHash)!
  }

  get justified(): FinalityBlock {
    return this.blocks.get(this.highestJustified)!
  }

  has(hash: string): boolean {
    return this.blocks.has(hash)
  }

  block(hash: string): FinalityBlock | undefined {
    return this.blocks.get(hash)
  }

  isJustified(hash: string): boolean {
    return this.justifiedSet.has(hash)
  }

  /** The justified block whose link justified `hash` (undefined for genesis, the root, or a block not justified). */
  justifiedFrom(hash: string): FinalityBlock | undefined {
    const s = this.justifiedBy.get(hash)
    return s === undefined ? undefined : this.blocks.get(s)
  }

  /** Final: on the finalized block's chain at or below it. */
  isFinalized(hash: string): boolean {
    const b = this.blocks.get(hash)
    return b !== undefined && b.height <= this.finalized.height && this.isAncestor(hash, this.finalizedHash)
  }

  addBlock(b: FinalityBlock): void {
    if (this.blocks.has(b.hash)) return
    const parent = this.blocks.get(b.parent)
    if (!parent) throw new ConsensusError('UNKNOWN_PARENT', `block ${b.hash} has unknown parent ${b.parent}`)
    if (b.height !== parent.height + 1n) throw new ConsensusError('BAD_HEIGHT', `block ${b.hash} at ${b.height} over parent at ${parent.height}`)
    this.blocks.set(b.hash, b)
    const cs = this.children.get(b.parent)
    if (cs) cs.push(b.hash)
    else this.children.set(b.parent, [b.hash])
    if (this.pending.length > 0) {
      const waiting = this.pending
      this.pending = []
      // Every block of the finalized chain is known, so an unknown target at or below the
      // finalized height is off that chain and can never count: drop it, or made-up targets
      // pile up and are replayed on every block (found by the simulator).
      const floor = this.finalized.height
      for (const v of waiting) if (v.targetHeight > floor || this.blocks.has(v.target)) this.addVote(v)
    }
  }

  /** Counts a vote; returns false if it can never count (malformed link), true otherwise. */
  addVote(v: Vote): boolean {
    if (v.targetHeight <= v.sourceHeight) return false
    const t = this.blocks.get(v.target)
    const s = this.blocks.get(v.source)
    if (!t) {
      this.pending.push(v)
      return true
    }
    // A known block's ancestors are all known: an unknown source is no ancestor of the target.
    if (!s) return false
    if (t.height !== v.targetHeight || s.height !== v.sourceHeight || !this.isAncestor(v.source, v.target)) return false
    if (!this.isMember(t, v.validator)) return false
    const key = `${v.source}>${v.target}`
    let link = this.links.get(key)
    if (!link) {
      link = { source: v.source, target: v.target, voters: new Set(), weight: new Map(), supermajority: false }
      this.links.set(key, link)
      const bySource = this.linksBySource.get(v.source)
      if (bySource) bySource.push(link)
      else this.linksBySource.set(v.source, [link])
    }
    if (link.voters.has(v.validator)) return true
    link.voters.add(v.validator)
    for (const set of t.sets) {
      const w = this.weightsOf(set).get(v.validator)
      if (w) link.weight.set(set, (link.weight.get(set) ?? 0n) + w)
    }
    this.check(link)
    return true
  }

  /** True if `validator` has weight in a set that `b` names (only then does its vote count). */
  isMember(b: FinalityBlock, validator: string): boolean {
    return b.sets.some((set) => (this.weightsOf(set).get(validator) ?? 0n) > 0n)
  }

  private totalWeight(set: string): bigint {
    let sum = 0n
    for (const w of this.weightsOf(set).values()) sum += w
    return sum
  }

  /** More than 2/3 of every set the target names (an empty set never justifies). */
  private isSupermajority(link: Link, target: FinalityBlock): boolean {
    if (target.sets.length === 0) return false
    for (const set of target.sets) {
      const total = this.totalWeight(set)
      if (total === 0n || 3n * (link.weight.get(set) ?? 0n) <= 2n * total) return false
    }
    return true
  }

  private check(first: Link): void {
    const work = [first]
    while (work.length > 0) {
      const link = work.pop()!
      if (link.supermajority || !this.justifiedSet.has(link.source)) continue
      const target = this.blocks.get(link.target)
      if (!target || !this.isSupermajority(link, target)) continue
      link.supermajority = true
      const source = this.blocks.get(link.source)!
      if (target.height === source.height + 1n) this.finalize(source)
      if (!this.justifiedSet.has(target.hash)) {
        this.justifiedSet.add(target.hash)
        this.justifiedBy.set(target.hash, link.source)
        const hj = this.blocks.get(this.highestJustified)!
        if (target.height > hj.height || (target.height === hj.height && target.hash < hj.hash)) this.highestJustified = target.hash
        work.push(...(this.linksBySource.get(target.hash) ?? []))
      }
    }
  }

  private finalize(b: FinalityBlock): void {
    if (b.height <= this.finalized.height) {
      if (!this.isAncestor(b.hash, this.finalizedHash)) this.conflicts.push({ finalized: this.finalizedHash, refused: b.hash })
      return
    }
    if (!this.isAncestor(this.finalizedHash, b.hash)) {
      this.conflicts.push({ finalized: this.finalizedHash, refused: b.hash })
      if (this.conflicts.length > 64) this.conflicts.shift()
      return
    }
    this.finalizedHash = b.hash
    if (this.pruneBelowFinalized) this.prune()
  }

  /**
   * Forgets what fork choice and header votes can no longer use: blocks more than VOTE_DEPTH
   * below the finalized one and branches that do not contain that block, with their links and
   * votes. The VOTE_DEPTH blocks under the finalized one stay because a producer carries the
   * votes behind the justifications there to nodes that missed them (FinalityGadget.headerVotes):
   * pruning at the finalized block left a node that missed the first justification unable to
   * ever learn it (npm run sim -- --seed 101). Memory stays proportional to the unfinalized part
   * of the tree plus VOTE_DEPTH blocks, however long the node runs.
   */
  private prune(): void {
    let root = this.blocks.get(this.finalizedHash)!
    for (let parent = this.blocks.get(root.parent); parent && this.finalized.height - parent.height <= VOTE_DEPTH; parent = this.blocks.get(root.parent)) root = parent
    const keep = new Set<string>([root.hash])
    const stack = [root.hash]
    while (stack.length > 0) for (const c of this.children.get(stack.pop()!) ?? []) keep.add(c) && stack.push(c)
    if (keep.size === this.blocks.size) return
    for (const h of this.blocks.keys()) if (!keep.has(h)) this.blocks.delete(h)
    for (const h of this.children.keys()) if (!keep.has(h)) this.children.delete(h)
    for (const h of this.justifiedSet) if (!keep.has(h)) this.justifiedSet.delete(h)
    for (const h of this.justifiedBy.keys()) if (!keep.has(h)) this.justifiedBy.delete(h)
    for (const [k, l] of this.links) if (!keep.has(l.target) || !keep.has(l.source)) this.links.delete(k)
    for (const [h, ls] of this.linksBySource) {
      if (!keep.has(h)) this.linksBySource.delete(h)
      else this.linksBySource.set(h, ls.filter((l) => keep.has(l.target)))
    }
    const floor = this.finalized.height
    this.pending = this.pending.filter((v) => v.targetHeight > floor)
    if (!keep.has(this.highestJustified)) this.highestJustified = this.finalizedHash
  }

  /** Blocks, links and waiting votes held (for memory checks). */
  size(): { blocks: number; links: number; pending: number } {
    return { blocks: this.blocks.size, links: this.links.size, pending: this.pending.length }
  }

  /** True if `ancestor` is `hash` or one of its ancestors (both known). */
  isAncestor(ancestor: string, hash: string): boolean {
    const a = this.blocks.get(ancestor)
    let b = this.blocks.get(hash)
    if (!a) return false
    while (b && b.height > a.height) b = this.blocks.get(b.parent)
    return b !== undefined && b.hash === a.hash
  }

  /** Fork choice may only settle on blocks that contain the finalized block. */
  allowedHead(hash: string): boolean {
    return this.isAncestor(this.finalizedHash, hash)
  }

  /**
   * The head: from the highest justified block that descends from the finalized one, follow
   * the child whose subtree reaches highest; ties go to the larger `preference` (e.g. 1 for
   * in-turn blocks), then to the smaller hash.
   */
  chooseHead(preference: (hash: string) => number = () => 0): string {
    let start = this.highestJustified
    if (!this.allowedHead(start)) start = this.finalizedHash
    const depth = new Map<string, bigint>()
    const reach = (h: string): bigint => {
      const known = depth.get(h)
      if (known !== undefined) return known
      // Iterative post-order so long chains do not blow the stack.
      const stack: [string, boolean][] = [[h, false]]
      while (stack.length > 0) {
        const [x, done] = stack.pop()!
        const cs = this.children.get(x) ?? []
        if (done) {
          let best = this.blocks.get(x)!.height
          for (const c of cs) if (depth.get(c)! > best) best = depth.get(c)!
          depth.set(x, best)
        } else {
          stack.push([x, true])
          for (const c of cs) if (!depth.has(c)) stack.push([c, false])
        }
      }
      return depth.get(h)!
    }
    let head = start
    for (;;) {
      const cs = this.children.get(head)
      if (!cs || cs.length === 0) return head
      let best = cs[0]!
      for (const c of cs.slice(1)) {
        const dc = reach(c)
        const db = reach(best)
        if (dc > db || (dc === db && (preference(c) > preference(best) || (preference(c) === preference(best) && c < best)))) best = c
      }
      head = best
    }
  }

  /** The vote an honest validator casts for `head`: source = highest justified ancestor in this view. */
  voteFor(validator: string, head: string): Vote {
    let s = this.blocks.get(head)
    if (!s) throw new ConsensusError('UNKNOWN_BLOCK', `cannot vote for unknown block ${head}`)
    const target = s
    s = this.blocks.get(s.parent)
    while (s && !this.justifiedSet.has(s.hash)) s = this.blocks.get(s.parent)
    if (!s) throw new ConsensusError('UNKNOWN_BLOCK', `no justified ancestor of ${head}`)
    return { validator, source: s.hash, sourceHeight: s.height, target: target.hash, targetHeight: target.height }
  }
}
