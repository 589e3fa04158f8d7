import type { Rng } from '../Rng.js'

/**
 * The work receipts of the simulated chain: each accepted session of a validator, with the
 * slot at which it was accepted and the credit it earns. These are on-chain facts every node
 * reads the same way, so the book is shared. Weight follows the ValidatorSet rule of issue 5:
 *
 *   credit        = the protocol's part of the job fee (fee · protocolBps / 10 000)
 *   live weight   = min(cap, Σ credit · (window − age) / window) over receipts with age < window
 *
 * A header may name a receipt when it is owned by the producer, final (accepted in genesis or
 * at least `confirmSlots` before the block's slot) and younger than the window.
 */
export interface Receipt {
  jobId: string
  sessionId: string
  owner: string
  /** Slot of the block that accepted the session (0 = genesis receipt). */
  acceptedAt: number
  fee: bigint
  credit: bigint
}

export interface ReceiptRules {
  /** Receipts older than this many slots earn nothing and may not be named. */
  window: number
  cap: bigint
  confirmSlots: number
  protocolBps: bigint
}

export const DEFAULT_RULES: ReceiptRules = { window: 32, cap: 1000n, confirmSlots: 2, protocolBps: 500n }

export type ReceiptCheck = { ok: true; receipt: Receipt } | { ok: false; reason: string }

export class ReceiptBook {
  private readonly bySession = new Map<string, Receipt>()
  private readonly byOwner = new Map<string, Receipt[]>()

  constructor(readonly rules: ReceiptRules = DEFAULT_RULES) {}

  add(owner: string, acceptedAt: number, fee: bigint): Receipt {
    const n = this.bySession.size
    const r: Receipt = { jobId: `job${n}`, sessionId: `session${n}:${owner}`, owner, acceptedAt, fee, credit: (fee * this.rules.protocolBps) / 10_000n }
    this.bySession.set(r.sessionId, r)
    const list = this.byOwner.get(owner)
    if (list) list.push(r)
    else this.byOwner.set(owner, [r])
    return r
  }

  receiptsOf(owner: string): readonly Receipt[] {
    return this.byOwner.get(owner) ?? []
  }

  all(): IterableIterator<Receipt> {
    return this.bySession.values()
  }

  /** Live weight of `owner` from receipts accepted at or before `slot`. */
  liveWeight(owner: string, slot: number): bigint {
    const w = BigInt(this.rules.window)
    let sum = 0n
    for (const r of this.receiptsOf(owner)) {
      const age = slot - r.acceptedAt
      if (age < 0 || age >= this.rules.window) continue
      sum += (r.credit * (w - BigInt(age))) / w
    }
    return sum < this.rules.cap ? sum : this.rules.cap
  }

  private usable(r: Receipt, slot: number): string | undefined {
    if (r.acceptedAt !== 0 && r.acceptedAt + this.rules.confirmSlots > slot) return `receipt ${r.sessionId} accepted at slot ${r.acceptedAt} is not final at slot ${slot}`
    if (slot - r.acceptedAt >= this.rules.window) return `receipt ${r.sessionId} accepted at slot ${r.acceptedAt} is older than the window at slot ${slot}`
    return undefined
  }

  /** The header check: (jobId, sessionId) names an accepted receipt of `producer`, final and inside the window at `slot`. */
  check(producer: string, jobId: string, sessionId: string, slot: number): ReceiptCheck {
    const r = this.bySession.get(sessionId)
    if (!r || r.jobId !== jobId) return { ok: false, reason: `no accepted receipt for job ${jobId} session ${sessionId}` }
    if (r.owner !== producer) return { ok: false, reason: `receipt ${sessionId} belongs to ${r.owner}, not ${producer}` }
    const bad = this.usable(r, slot)
    return bad ? { ok: false, reason: bad } : { ok: true, receipt: r }
  }

  /** What an honest producer names: its newest receipt that is final and inside the window. */
  bestFor(owner: string, slot: number): Receipt | undefined {
    const list = this.receiptsOf(owner)
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.acceptedAt <= slot && this.usable(list[i]!, slot) === undefined) return list[i]
    return undefined
  }

  /** The newest receipt accepted by `slot`, usable or not (what a careless node names). */
  newestFor(owner: string, slot: number): Receipt | undefined {
    return this.receiptsOf(owner).filter((r) => r.acceptedAt <= slot).at(-1)
  }
}

export interface ReceiptPlan {
  /** Validators that earn receipts all run long. */
  workers: readonly string[]
  /** Validators whose work stops at this slot: their receipts expire and their weight decays to zero. */
  stopsAt?: ReadonlyMap<string, number>
  slots: number
  /** Every worker earns the same (equal weights), for scenarios that need exact fractions. */
  equal?: boolean
}

/**
 * Seeded receipts: a genesis receipt per worker (bootstrap; it keeps the full cap for half the
 * window), then accepted sessions every few slots with seeded fees. Each worker's pace is
 * drawn once, so weights differ between validators and drift over time.
 */
export function plantReceipts(book: ReceiptBook, rng: Rng, plan: ReceiptPlan): void {
  const cap = book.rules.cap
  const bps = book.rules.protocolBps
  for (const owner of plan.workers) {
    book.add(owner, 0, (2n * cap * 10_000n) / bps)
    const stop = plan.stopsAt?.get(owner) ?? Infinity
    const [lo, hi] = plan.equal ? [4, 4] : [rng.int(3, 6), rng.int(8, 20)]
    for (let s = rng.int(1, hi); s < plan.slots && s < stop; s += plan.equal ? 4 : rng.int(lo, hi)) {
      const fee = plan.equal ? 8_000n : BigInt(rng.int(2_000, 12_000))
      book.add(owner, s, fee)
    }
  }
}
