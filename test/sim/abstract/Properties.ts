import type { Vote } from '../../../consensus/Finality.js'
import { voteConflict } from './Evidence.js'
import type { SimResult } from './Simulator.js'
import { GENESIS, type SimBlock, type SimNode } from './SimNode.js'

/**
 * The properties issue 5 asks of the simulator, each checked on a finished run from the
 * record the nodes kept — independently of the code paths that enforce them — plus the
 * measurements the README reports.
 */
export const PROPERTIES = ['safety', 'liveness', 'receipts', 'slashing', 'noWorkNoBlock'] as const
export type Property = (typeof PROPERTIES)[number]

export interface Violation {
  property: Property
  message: string
}

export interface Measurements {
  /** Per (honest node, final block produced at or after `goodFrom`): slots from the block's slot start to when the node saw it final. */
  timeToFinality: number[]
  /** Slots from the partition's heal until every honest node finalized past everything final at the heal (undefined: no partition, or never). */
  recoveryAfterHeal?: number
  /** Slots from detecting an equivocation to the evidence's inclusion. */
  slashDelays: number[]
  /** Blocks honest nodes refused because of their receipt (fakes, stale, someone else's). */
  rejectedReceipts: number
  /** Blocks honest nodes refused because the producer was not eligible for the slot (e.g. a faker without weight). */
  rejectedIneligible: number
  finalHeight: number
  backupSlots: number
}

export interface CheckOptions {
  /** Slot the network became good (after the partition heals and losses stop); liveness and time to finality are judged from here. */
  goodFrom?: number
  /** Evidence that reached an honest node at slot d must be included by slot max(d, goodFrom) + this. */
  slashBound?: number
  /** Every honest node's finality may lag its head by at most this many blocks at the end. */
  maxFinalityLag?: number
  /** Skip the liveness property (scenarios built to stop finality, like ≥ 1/3 split-brain). */
  noLiveness?: boolean
}

function isAncestor(blocks: ReadonlyMap<string, SimBlock>, a: string, b: string): boolean {
  const A = blocks.get(a)!
  let B = blocks.get(b)
  while (B && B.height > A.height) B = blocks.get(B.parent)
  return B?.hash === a
}

function canonical(n: SimNode): SimBlock[] {
  const out: SimBlock[] = []
  for (let b = n.head(); b.hash !== GENESIS.hash; b = n.blockAt(b.parent)!) out.push(b)
  return out
}

/** 1. No two conflicting finalized blocks, and no honest node ever moved its finalized block off its chain. */
export function checkSafety(r: SimResult): string | undefined {
  const all = new Set<string>()
  for (const n of r.honest) {
    if (n.tracker.conflicts.length > 0) return `${n.id} refused a finalization conflicting with its own (${n.tracker.conflicts[0]!.refused} vs ${n.tracker.conflicts[0]!.finalized})`
    const h = n.finalizedHistory
    for (let i = 1; i < h.length; i++) if (!isAncestor(r.blocks, h[i - 1]!, h[i]!)) return `${n.id} reverted finalized ${h[i - 1]} for ${h[i]}`
    for (const x of h) all.add(x)
  }
  const sorted = [...all].sort((a, b) => Number(r.blocks.get(a)!.height - r.blocks.get(b)!.height))
  const top = sorted[sorted.length - 1]!
  for (const x of sorted) if (!isAncestor(r.blocks, x, top)) return `finalized ${x} conflicts with finalized ${top}`
  return undefined
}

/** 2. Liveness: after `goodFrom`, every honest node finalizes past what anyone had final then, and keeps finality close to its head. */
function checkLiveness(r: SimResult, goodFrom: number, maxLag: number): string | undefined {
  const atGood = Math.max(...r.honest.map((n) => Number(r.finalizedHeights.get(n.id)![goodFrom - 1] ?? 0n)))
  for (const n of r.honest) {
    const fin = r.finalizedHeights.get(n.id)!.at(-1)!
    const head = r.headHeights.get(n.id)!.at(-1)!
    if (Number(fin) <= atGood) return `${n.id} finalized nothing after slot ${goodFrom} (at ${fin}, ${atGood} then)`
    if (head - fin > BigInt(maxLag)) return `${n.id} finality lags its head by ${head - fin} blocks`
  }
  return undefined
}

function recovery(r: SimResult, heal: number): number | undefined {
  const atHeal = Math.max(...r.honest.map((n) => Number(r.finalizedHeights.get(n.id)![heal - 1] ?? 0n)))
  for (let s = heal; s <= r.cfg.slots; s++) if (r.honest.every((n) => Number(r.finalizedHeights.get(n.id)![s - 1]!) > atHeal)) return s - heal
  return undefined
}

/** 3 and 5. Every block on an honest node's canonical chain names a receipt of its producer that was accepted, final and young at the block's slot. */
function checkCanonicalReceipts(r: SimResult): { receipts?: string; noWorkNoBlock?: string } {
  for (const n of r.honest) {
    for (const b of canonical(n)) {
      const c = r.receipts.check(b.producer, b.jobId, b.sessionId, Number(b.slot))
      if (!c.ok) return { receipts: `${n.id}'s canonical block ${b.hash} at slot ${b.slot} by ${b.producer}: ${c.reason}` }
      if (!r.receipts.bestFor(b.producer, Number(b.slot))) return { noWorkNoBlock: `${b.producer} had no usable receipt at slot ${b.slot} yet ${b.hash} is canonical at ${n.id}` }
      if (r.weights.of(b.slot / r.weights.slotsPerEpoch).get(b.producer) === 0n)
        return { noWorkNoBlock: `${b.producer} had no weight in the epoch of slot ${b.slot} yet ${b.hash} is canonical at ${n.id}` }
    }
  }
  return {}
}

/** Equivocations that reached an honest node, found by brute force over what it accepted: offender → slot the second conflicting message arrived. */
function equivocationsSeen(r: SimResult, n: SimNode): Map<string, number> {
  const seen = new Map<string, number>()
  const note = (who: string, at: number) => {
    const slot = Math.floor(at / r.slotMs)
    if (!seen.has(who) || seen.get(who)! > slot) seen.set(who, slot)
  }
  const bySlot = new Map<string, { hash: string; at: number }>()
  for (const [hash, at] of n.acceptedAt) {
    const b = r.blocks.get(hash)!
    const k = `${b.producer}:${b.slot}`
    const prior = bySlot.get(k)
    if (prior) note(b.producer, Math.max(at, prior.at))
    else bySlot.set(k, { hash, at })
  }
  const byValidator = new Map<string, { vote: Vote; at: number }[]>()
  for (const s of n.votesSeen) {
    const list = byValidator.get(s.vote.validator) ?? []
    for (const p of list) if (voteConflict(p.vote, s.vote)) note(s.vote.validator, Math.max(p.at, s.at))
    list.push(s)
    byValidator.set(s.vote.validator, list)
  }
  return seen
}

/** 4. Every equivocation that reached an honest node is slashed within the bound, the offender has no weight from the next epoch, and nobody honest is slashed. */
function checkSlashing(r: SimResult, goodFrom: number, bound: number, delays: number[]): string | undefined {
  for (const [who] of r.ledger.includedAt) if (!r.byzantine.includes(who)) return `honest ${who} was slashed`
  const firstSeen = new Map<string, number>()
  for (const n of r.honest)
    for (const [who, slot] of equivocationsSeen(r, n)) if (!firstSeen.has(who) || firstSeen.get(who)! > slot) firstSeen.set(who, slot)
  for (const [who, seen] of firstSeen) {
    if (!r.byzantine.includes(who)) return `honest ${who} equivocated`
    const at = r.ledger.includedAt.get(who)
    const deadline = Math.max(seen, goodFrom) + bound
    if (at === undefined) {
      if (deadline <= r.cfg.slots) return `${who}'s equivocation reached an honest node at slot ${seen} and was never slashed`
      continue
    }
    if (at > deadline) return `${who}'s equivocation reached an honest node at slot ${seen}, slashed only at ${at} (bound ${deadline})`
    delays.push(Math.max(0, at - seen))
    // Out of the next snapshot: slashed in epoch L, no weight from L+2 (as the contract), and no canonical block from then on.
    const spe = r.weights.slotsPerEpoch
    const zeroFrom = Number(r.ledger.firstZeroEpoch(at))
    for (let e = zeroFrom; BigInt(e) * spe <= BigInt(r.cfg.slots); e++)
      if (r.weights.of(BigInt(e)).get(who) !== 0n) return `${who} slashed at slot ${at} still has weight in epoch ${e}`
    for (const n of r.honest)
      for (const b of canonical(n)) if (b.producer === who && b.slot >= BigInt(zeroFrom) * spe) return `slashed ${who} produced canonical ${b.hash} at slot ${b.slot}`
  }
  return undefined
}

function measureFinality(r: SimResult, goodFrom: number): number[] {
  const out: number[] = []
  for (const n of r.honest)
    for (const [hash, at] of n.finalAt) {
      const b = r.blocks.get(hash)!
      if (hash === GENESIS.hash || Number(b.slot) < goodFrom) continue
      out.push((at - Number(b.slot) * r.slotMs) / r.slotMs)
    }
  return out
}

export function checkProperties(r: SimResult, opts: CheckOptions = {}): { violations: Violation[]; measurements: Measurements } {
  const heal = r.cfg.partition && r.cfg.partition.toSlot > r.cfg.partition.fromSlot ? r.cfg.partition.toSlot : undefined
  const goodFrom = Math.max(1, opts.goodFrom ?? Math.max(heal ?? 1, r.cfg.gstSlot ?? (r.cfg.dropRate ? Infinity : 1)))
  const violations: Violation[] = []
  const add = (property: Property, message: string | undefined) => message && violations.push({ property, message })
  add('safety', checkSafety(r))
  if (!opts.noLiveness && goodFrom < r.cfg.slots) add('liveness', checkLiveness(r, goodFrom, opts.maxFinalityLag ?? 12))
  const rc = checkCanonicalReceipts(r)
  add('receipts', rc.receipts)
  add('noWorkNoBlock', rc.noWorkNoBlock)
  const slashDelays: number[] = []
  add('slashing', checkSlashing(r, goodFrom, opts.slashBound ?? 2 * Number(r.weights.slotsPerEpoch), slashDelays))
  const count = (k: 'bad-receipt' | 'not-eligible') => r.honest.reduce((s, n) => s + (n.rejections.get(k) ?? 0), 0)
  return {
    violations,
    measurements: {
      timeToFinality: measureFinality(r, goodFrom),
      recoveryAfterHeal: heal === undefined ? undefined : recovery(r, heal),
      slashDelays,
      rejectedReceipts: count('bad-receipt'),
      rejectedIneligible: count('not-eligible'),
      finalHeight: Math.min(...r.honest.map((n) => Number(n.tracker.finalized.height))),
      backupSlots: r.backupSlots,
    },
  }
}

export function quantile(xs: readonly number[], q: number): number | undefined {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}
