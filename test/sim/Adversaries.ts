import { signAttestation, type Attestation } from '../../chain/Attestation.js'
import type { Block } from '../../chain/Block.js'
import type { BlockHeader } from '../../chain/Header.js'
import { keccak256 } from '../../chain/keccak.js'
import { privateKeyToAddress } from '../../chain/Seal.js'
import { bytesToHex, concatBytes, equalBytes, u64ToBytes } from '../../common/bytes.js'
import type { Producer } from '../../consensus/ChainService.js'
import type { WorkReceiptView } from '../../consensus/PovContracts.js'
import { forgeBlock } from './Forge.js'
import type { Peer } from './Peer.js'
import type { Rng } from './Rng.js'

const hex = bytesToHex

/**
 * The adversary library: each strategy is a byzantine node's behaviour on top of a real chain
 * of its own (it imports what it receives like everyone, so it sees what honest nodes see) and
 * the Forge (blocks on any parent, for any slot). Scenario-level adversaries — a partition that
 * heals, a node joining late from genesis — are SimConfig fields (Simulation.ts).
 */
export const ADVERSARIES = ['equivocator', 'future-slots', 'withholder', 'epoch-forker', 'receipt-namer', 'vote-spammer'] as const
export type AdversaryName = (typeof ADVERSARIES)[number]
/** Every attack the library can mount, including the two that are network / membership events. */
export const ATTACKS = [...ADVERSARIES, 'partition', 'late-joiner'] as const
export type AttackName = (typeof ATTACKS)[number]

export interface AdversaryContext {
  rng: Rng
  slotSeconds: number
  slotsPerEpoch: bigint
  maxFutureSeconds: number
  receiptWindowBlocks: bigint
  wallMs(): number
  slotStartMs(slot: bigint): number
  /** Runs `fn` at virtual wall time `ms` (at once if that is now). */
  at(ms: number, fn: () => Promise<void>): void
  others(id: string): string[]
  /** Honest nodes (validators and observers) online now, in id order. */
  honest(): Peer[]
  sideOf(id: string): 'A' | 'B'
  partitionActive(): boolean
  /** Registers a block this adversary made (for ancestry and attribution in the checks). */
  forged(p: Peer, b: Block, note: string): void
}

export interface Adversary {
  readonly name: AdversaryName
  /** The finding of issue 11 this strategy was written to exhibit (undefined: none expected). */
  readonly finding?: number
  /** Whether the node keeps the honest SlotProducer / Attester besides its attack. */
  readonly produces: boolean
  readonly attests: boolean
  /** Whether the node holds a validator key (genesis weight); the vote spammer does not. */
  readonly validator: boolean
  /** Where its own work orders go (default: everyone, through the network). */
  workRecipients?(p: Peer, ctx: AdversaryContext): string[] | undefined
  /** Where the blocks its honest SlotProducer makes go (default: everyone). */
  route?(p: Peer, ctx: AdversaryContext): string[] | undefined
  /** At every slot start, after the honest nodes' first tick. */
  onSlot?(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void>
}

function me(p: Peer): Producer {
  return p.key!
}

async function publish(p: Peer, ctx: AdversaryContext, b: Block, note: string, to?: string[], importLocally = false): Promise<void> {
  ctx.forged(p, b, note)
  if (importLocally) await p.importOne(b, p.id)
  p.broadcast({ kind: 'block', bytes: b.encode() }, to)
}

/** Equivocator: as leader it seals two blocks for its slot, each to one half of the network (one node gets both), and votes for both. */
export class Equivocator implements Adversary {
  readonly name = 'equivocator' as const
  readonly produces = false
  readonly attests = true
  readonly validator = true

  async onSlot(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void> {
    const head = p.chain.head()
    if (head.slot >= slot) return
    const engine = p.sc.freshEngine()
    const ranking = await engine.ranking(head, slot).catch(() => [])
    if (!ranking[0] || !equalBytes(ranking[0], me(p).address)) return
    const a = await forgeBlock(p, { parent: head, slot, extraData: new TextEncoder().encode('A'), engine })
    const b = await forgeBlock(p, { parent: head, slot, extraData: new TextEncoder().encode('B'), engine })
    const others = ctx.others(p.id)
    const both = others.length > 0 ? others[ctx.rng.int(0, others.length - 1)]! : undefined
    const sideA = others.filter((id) => id !== both && ctx.rng.chance(0.5))
    const sideB = others.filter((id) => id !== both && !sideA.includes(id))
    await publish(p, ctx, a, `equivocation A slot ${slot}`, both ? [...sideA, both] : sideA, true)
    await publish(p, ctx, b, `equivocation B slot ${slot}`, both ? [...sideB, both] : sideB)
    // Its Attester votes for A (its head); it signs a vote for B at the same height too.
    if (p.chain.finality.knows(a.hash())) {
      const v = p.chain.finality.voteFor(me(p).address, a.header)
      const vb = signAttestation({ ...v, targetHash: b.hash(), targetHeight: b.number }, p.sc.genesis.chainId, me(p).key)
      p.publishVote(vb, both ? [...sideB, both] : sideB)
    }
  }
}

/** Future-slot publisher: at slot s it publishes its block for a later slot s + k it leads (within the header clock allowance), so the chain's head jumps past s + 1 … s + k − 1. */
export class FutureSlots implements Adversary {
  readonly name = 'future-slots' as const
  readonly finding = 3
  readonly produces = true
  readonly attests = true
  readonly validator = true
  private pendingUntil = -1n

  async onSlot(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void> {
    if (slot <= this.pendingUntil) return
    const head = p.chain.head()
    const engine = p.sc.freshEngine()
    const ahead = BigInt(Math.floor(ctx.maxFutureSeconds / ctx.slotSeconds))
    for (let k = 2n; k <= ahead; k++) {
      const t = slot + k
      if (t <= head.slot) continue
      if (ctx.slotStartMs(t) > ctx.wallMs() + ctx.maxFutureSeconds * 1000) break
      const ranking = await engine.ranking(head, t).catch(() => [])
      if (!ranking[0] || !equalBytes(ranking[0], me(p).address)) continue
      const b = await forgeBlock(p, { parent: head, slot: t, engine })
      await publish(p, ctx, b, `future block for slot ${t} published at slot ${slot}`, undefined, true)
      this.pendingUntil = t
      return
    }
  }
}

/** Withholder: as leader it extends a private branch and releases it a few slots later. */
export class Withholder implements Adversary {
  readonly name = 'withholder' as const
  readonly produces = false
  readonly attests = true
  readonly validator = true
  private tip?: BlockHeader
  private withheld: Block[] = []
  private releaseAt = 0n

  async onSlot(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void> {
    if (this.withheld.length > 0 && slot >= this.releaseAt) {
      for (const b of this.withheld) p.broadcast({ kind: 'block', bytes: b.encode() })
      this.withheld = []
      this.tip = undefined
    }
    const base = this.tip ?? p.chain.head()
    if (base.slot >= slot) return
    const engine = p.sc.freshEngine()
    const ranking = await engine.ranking(base, slot).catch(() => [])
    if (!ranking[0] || !equalBytes(ranking[0], me(p).address)) return
    const b = await forgeBlock(p, { parent: base, slot, engine })
    ctx.forged(p, b, `withheld, slot ${slot}`)
    await p.importOne(b, p.id)
    if (this.withheld.length === 0) this.releaseAt = slot + BigInt(ctx.rng.int(2, 6))
    this.withheld.push(b)
    this.tip = b.header
  }
}

/**
 * Forker at epoch boundaries: at the start of epoch e it builds on B, the last block of its
 * canonical chain before epoch e − 1, a block in epoch e — a branch on which epoch e − 1 never
 * happened, so ValidatorSet.epochTransition(e − 1) never ran and validatorsAt(e) is still the
 * older snapshot, while B is also the anchor of epoch e on the canonical branch. It publishes
 * the block at the first instant its rank allows, to everyone.
 */
export class EpochForker implements Adversary {
  readonly name = 'epoch-forker' as const
  readonly finding = 2
  readonly produces = true
  readonly attests = true
  readonly validator = true

  async onSlot(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void> {
    const spe = ctx.slotsPerEpoch
    const e = slot / spe
    if (slot !== e * spe || e < 3n) return
    const anchor = await p.canonicalBefore((e - 1n) * spe)
    if (anchor.number === 0n) return
    const engine = p.sc.freshEngine()
    for (let t = slot; t < (e + 1n) * spe; t++) {
      const ts = await engine.earliestTimestamp(me(p).address, anchor, t).catch(() => undefined)
      if (ts === undefined) continue
      const b = await forgeBlock(p, { parent: anchor, slot: t, timestamp: ts, engine })
      ctx.at(Number(ts) * 1000, () => publish(p, ctx, b, `skips epoch ${e - 1n}: slot ${t} on block ${anchor.number} (slot ${anchor.slot})`))
      return
    }
  }
}

/**
 * Receipt-namer across branches (needs a partition): its work orders reach side A only, so its
 * new receipts exist on A's branch and not on B's. It names such a receipt R first in a block
 * on A (A's nodes verify it and remember R), then in a block on B's tip, which it sends to
 * everyone (it bridges the partition and serves B's blocks to A's nodes that ask).
 */
export class ReceiptNamer implements Adversary {
  readonly name = 'receipt-namer' as const
  readonly finding = 1
  readonly produces = true
  readonly attests = true
  readonly validator = true
  private readonly namedOnA = new Set<string>()
  private readonly crossed = new Set<string>()

  workRecipients(p: Peer, ctx: AdversaryContext): string[] {
    return ctx.others(p.id).filter((id) => ctx.sideOf(id) === 'A')
  }

  /** Its ordinary blocks stay on side A while the partition lasts: the two branches must stay apart. */
  route(p: Peer, ctx: AdversaryContext): string[] | undefined {
    return ctx.partitionActive() ? this.workRecipients(p, ctx) : undefined
  }

  private async tipOf(p: Peer, ctx: AdversaryContext, side: 'A' | 'B'): Promise<BlockHeader | undefined> {
    let best: BlockHeader | undefined
    for (const h of ctx.honest()) {
      if (ctx.sideOf(h.id) !== side) continue
      const head = h.chain.head()
      // The adversary builds only on what it holds itself.
      const mine = await p.sc.store.getHeader(head.hash())
      if (mine && (!best || mine.number > best.number)) best = mine
    }
    return best
  }

  async onSlot(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void> {
    if (!ctx.partitionActive()) return
    const tipA = await this.tipOf(p, ctx, 'A')
    const tipB = await this.tipOf(p, ctx, 'B')
    if (!tipA || !tipB || equalBytes(tipA.hash(), tipB.hash())) return
    const onlyOnA: WorkReceiptView[] = []
    for (const r of await p.sc.contracts.recentReceipts(tipA.stateRoot, me(p).address, 32))
      if (r.blockNumber > 0n && !(await p.sc.contracts.receipt(tipB.stateRoot, r.sessionId))) onlyOnA.push(r)
    const engine = p.sc.freshEngine()
    for (const r of onlyOnA) {
      const sid = hex(r.sessionId)
      if (!this.namedOnA.has(sid)) {
        if (tipA.number + 1n < r.blockNumber + 2n) continue
        const ts = await engine.earliestTimestamp(me(p).address, tipA, slot).catch(() => undefined)
        if (ts === undefined || tipA.slot >= slot) return
        const b = await forgeBlock(p, { parent: tipA, slot, timestamp: ts, receipt: r, engine })
        this.namedOnA.add(sid)
        const sideA = ctx.others(p.id).filter((id) => ctx.sideOf(id) === 'A')
        ctx.at(Number(ts) * 1000, () => publish(p, ctx, b, `names its receipt ${sid.slice(0, 10)} (block ${r.blockNumber}, side A only) on side A`, sideA))
        return
      }
      if (this.crossed.has(sid)) continue
      if (tipB.number + 1n < r.blockNumber + 2n || tipB.number + 1n - r.blockNumber > ctx.receiptWindowBlocks) continue
      const ts = await engine.earliestTimestamp(me(p).address, tipB, slot).catch(() => undefined)
      if (ts === undefined || tipB.slot >= slot) return
      const b = await forgeBlock(p, { parent: tipB, slot, timestamp: ts, receipt: r, engine })
      this.crossed.add(sid)
      ctx.at(Number(ts) * 1000, () => publish(p, ctx, b, `names receipt ${sid.slice(0, 10)} of side A on side B`))
      return
    }
  }
}

/**
 * Vote spammer: a node with no bond and no weight, holding throwaway keys. Every slot each key
 * signs a vote for the spammer's head, alternating an ordinary link with one from genesis that
 * surrounds its previous vote; all go to everyone.
 */
export class VoteSpammer implements Adversary {
  readonly name = 'vote-spammer' as const
  readonly finding = 5
  readonly produces = false
  readonly attests = false
  readonly validator = false
  readonly keys: Producer[]
  private turn = 0

  constructor(seed: number, count = 4) {
    this.keys = Array.from({ length: count }, (_, i) => {
      const key = keccak256(concatBytes(new TextEncoder().encode('povchain/sim-spam-key'), u64ToBytes(BigInt(seed >>> 0)), u64ToBytes(BigInt(i))))
      return { key, address: privateKeyToAddress(key) }
    })
  }

  async onSlot(p: Peer): Promise<void> {
    const head = p.chain.head()
    if (head.number < 2n || !p.chain.finality.knows(head.hash())) return
    const chainId = p.sc.genesis.chainId
    const genesis = p.sc.genesis.block.header
    this.turn++
    for (const k of this.keys) {
      const v = p.chain.finality.voteFor(k.address, head)
      const link = this.turn % 2 === 0 && v.sourceHeight > 0n ? { ...v, sourceHash: genesis.hash(), sourceHeight: 0n } : v
      const a: Attestation = signAttestation(link, chainId, k.key)
      p.publishVote(a)
    }
  }
}

export function makeAdversary(name: AdversaryName, seed: number): Adversary {
  switch (name) {
    case 'equivocator':
      return new Equivocator()
    case 'future-slots':
      return new FutureSlots()
    case 'withholder':
      return new Withholder()
    case 'epoch-forker':
      return new EpochForker()
    case 'receipt-namer':
      return new ReceiptNamer()
    case 'vote-spammer':
      return new VoteSpammer(seed)
  }
}
