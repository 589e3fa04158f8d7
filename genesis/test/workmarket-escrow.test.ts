/**
 * Property: over random sequences of job posts, honest and dishonest sessions, random
 * (accepting, rejecting, silent) verifiers, expiries, cancellations, double finalisations and
 * refunds, bond top-ups and exits, the WorkMarket's money moves exactly as a small TypeScript
 * model of its accounting says — every address's balance and the market's buckets (escrow,
 * bonds, fund, credits) to the wei after every step. Hence escrow is never paid twice and never
 * lost. The contract's random draws (who works, who verifies: made by the system call
 * DRAW_DELAY blocks after the act that called for them) are read from its events; the model
 * decides everything that moves coins.
 */
import t from 'tap'
import fc from 'fast-check'
import { keccak256, toHex, type Address, type Hex } from 'viem'
import { addr, ETHER, fakeCommitment, MARKET, MarketHarness, type TxOutcome } from './workmarketHarness.js'

t.setTimeout(600_000) // 20 random markets; every reject is re-checked by a panel (two rounds)
const SPEC = keccak256(toHex('escrow-spec'))
const BPS = 10_000n
const CLIENTS = [addr(201), addr(202), addr(203)]
const WORKERS = [addr(1), addr(2), addr(3), addr(4), addr(5)]

type Op =
  | { kind: 'post'; client: number; price: bigint; verifiers: number }
  | { kind: 'work'; pick: number; votes: number[]; seed: number }
  | { kind: 'expire'; pick: number }
  | { kind: 'abandon'; pick: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'again'; pick: number }
  | { kind: 'bond'; worker: number; amount: bigint }
  | { kind: 'exit'; worker: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('post' as const), client: fc.nat(2), price: fc.bigInt({ min: ETHER / 1000n, max: 3n * ETHER }), verifiers: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('work' as const), pick: fc.nat(), votes: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 6, maxLength: 6 }), seed: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abandon' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('again' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bond' as const), worker: fc.nat(4), amount: fc.bigInt({ min: 1n, max: 2n * ETHER }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('exit' as const), worker: fc.nat(4) }) },
)

interface MJob {
  client: Address
  price: bigint
  status: 'open' | 'running' | 'accepted' | 'refunded'
  attempts: number
  session?: Hex
}
interface MSession {
  job: Hex
  worker: Address
  status: 'assigned' | 'final'
}

/** The model: balances and buckets, moved by the rules of WorkMarket.sol (see its comments). */
class Model {
  balance = new Map<Address, bigint>()
  bond = new Map<Address, bigint>()
  registered = new Set<Address>()
  escrow = 0n
  fund = 0n
  jobs = new Map<Hex, MJob>()
  sessions = new Map<Hex, MSession>()
  finished: Hex[] = []
  constructor(readonly cfg: ReturnType<typeof MarketHarness.defaultConfig>) {}

  bal(a: Address) {
    return this.balance.get(a) ?? 0n
  }
  move(a: Address, d: bigint) {
    this.balance.set(a, this.bal(a) + d)
  }
  get bonds() {
    let s = 0n
    for (const b of this.bond.values()) s += b
    return s
  }
  cut(a: Address, amount: bigint): bigint {
    const b = this.bond.get(a) ?? 0n
    const c = amount > b ? b : amount
    this.bond.set(a, b - c)
    return c
  }
  refund(jobId: Hex) {
    count('refunded')
    const j = this.jobs.get(jobId)!
    j.status = 'refunded'
    this.escrow -= j.price
    this.move(j.client, j.price)
  }
  /** Applies the JobAssigned events of the draws an outcome's blocks made. */
  assigned(r: TxOutcome) {
    for (const a of r.events.filter((e) => e.eventName === 'JobAssigned')) {
      const jobId = a.args.jobId as Hex
      const j = this.jobs.get(jobId)!
      j.status = 'running'
      j.attempts++
      j.session = a.args.sessionId as Hex
      this.sessions.set(j.session, { job: jobId, worker: a.args.worker as Address, status: 'assigned' })
    }
  }
  reopenOrRefund(jobId: Hex) {
    const j = this.jobs.get(jobId)!
    if (j.attempts < this.cfg.maxAttempts) j.status = 'open'
    else this.refund(jobId)
  }
  pending(a: Address): boolean {
    for (const s of this.sessions.values()) if (s.worker === a && s.status !== 'final') return true
    return false
  }
}

async function check(h: MarketHarness, m: Model, what: string) {
  const books = await h.checkBooks()
  const want = { escrow: m.escrow, bonds: m.bonds, fund: m.fund, credits: 0n }
  const got = { escrow: books.escrow, bonds: books.bonds, fund: books.fund, credits: books.credits }
  if (JSON.stringify(got, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) !== JSON.stringify(want, (_, v) => (typeof v === 'bigint' ? v.toString() : v)))
    throw new Error(`${what}: buckets ${JSON.stringify(got, (_, v) => String(v))} != model ${JSON.stringify(want, (_, v) => String(v))}`)
  for (const a of [...CLIENTS, ...WORKERS]) {
    const b = await h.balance(a)
    if (b !== m.bal(a)) throw new Error(`${what}: balance of ${a} is ${b}, the model says ${m.bal(a)}`)
  }
  if ((await h.totalCoins()) !== h.minted) throw new Error(`${what}: coins not conserved`)
}

/** What the runs exercised (printed, so a property that tests nothing shows). */
const seen = new Map<string, number>()
const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1)

const pickOf = <T>(xs: T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined)

async function run(ops: Op[]) {
  const h = await MarketHarness.deploy({ fund: 10n * ETHER })
  const m = new Model(h.config)
  m.fund = 10n * ETHER
  for (const c of CLIENTS) {
    await h.give(c, 1000n * ETHER)
    m.move(c, 1000n * ETHER)
  }
  for (const [i, w] of WORKERS.entries()) {
    const bond = ETHER + BigInt(i) * (ETHER / 2n)
    await h.give(w, 100n * ETHER)
    m.move(w, 100n * ETHER)
    await h.must(w, 'register', [50n * BigInt(i + 1), 1, ''], bond)
    m.move(w, -bond)
    m.bond.set(w, bond)
    m.registered.add(w)
  }
  await check(h, m, 'setup')

  for (const op of ops) {
    const label = JSON.stringify(op, (_, v) => (typeof v === 'bigint' ? v.toString() : v))
    switch (op.kind) {
      case 'post': {
        const c = CLIENTS[op.client]!
        const r = await h.must(c, 'postJob', [SPEC, SPEC, h.timestamp + 1_000_000n, 600n, 10n, op.verifiers], op.price)
        const jobId = MarketHarness.event(r, 'JobPosted').jobId as Hex
        m.move(c, -op.price)
        m.escrow += op.price
        m.jobs.set(jobId, { client: c, price: op.price, status: 'open', attempts: 0 })
        break
      }
      case 'work': {
        const live = [...m.sessions.entries()].filter(([, s]) => s.status === 'assigned')
        const chosen = pickOf(live, op.pick)
        if (!chosen) break
        const [sid, s] = chosen
        const j = m.jobs.get(s.job)!
        const { commitBy } = await h.read<{ commitBy: bigint }>('getSession', [sid])
        if (h.timestamp > commitBy) {
          // Too late (the clock moved on): the commitment must be refused, and the session expires.
          const late = await h.tx(s.worker, 'commitResult', [sid, fakeCommitment(SPEC, op.seed)])
          if (late.error !== 'CommitTooLate') throw new Error(`${label}: late commit gave ${late.error ?? 'ok'}`)
          await h.must(MARKET, 'expire', [sid])
          m.fund += m.cut(s.worker, m.cfg.faultPenalty)
          s.status = 'final'
          m.finished.push(sid)
          m.reopenOrRefund(s.job)
          break
        }
        await h.must(s.worker, 'commitResult', [sid, fakeCommitment(SPEC, op.seed)])
        /** Round 0's panel after a tie: judged with round 1's against the final outcome. */
        let previous: { v: Address; vote: boolean | undefined }[] = []
        for (let round = 0; ; round++) {
          const open = await h.mine()
          m.assigned(open)
          const sel = open.events.find((e) => e.eventName === 'VerifiersSelected' && e.args.sessionId === sid)
          if (!sel) {
            if (!open.events.some((e) => e.eventName === 'NoVerifierDrawn')) throw new Error(`${label}: no verifier draw`)
            // Nobody can verify: the session waits for its deadline (left committed; it keeps its bond locked).
            s.status = 'final'
            m.sessions.delete(sid)
            m.finished.push(sid)
            j.status = 'running'
            break
          }
          const verifiers = sel.args.verifiers as Address[]
          // 0,1 → accept; 2,3 → reject; 4,5 → silent
          const verdict = (i: number) => (op.votes[(i + round) % 6]! < 2 ? true : op.votes[(i + round) % 6]! < 4 ? false : undefined)
          const salt = keccak256(toHex(`s${round}`))
          for (const [i, v] of verifiers.entries()) {
            const vv = verdict(i)
            if (vv === undefined) continue
            await h.must(v, 'commitVote', [sid, await h.verdictHash(sid, round, v, vv, salt)])
          }
          const sess = await h.read<{ votesBy: bigint; revealBy: bigint }>('getSession', [sid])
          const silent = verifiers.some((_, i) => verdict(i) === undefined)
          if (silent) h.advance(sess.votesBy - h.timestamp + 1n)
          for (const [i, v] of verifiers.entries()) {
            const vv = verdict(i)
            if (vv !== undefined) await h.mustRevealVerdict(v, sid, vv, salt)
          }
          if (silent) h.advance(sess.revealBy - h.timestamp + 1n)
          const fin = await h.must(MARKET, 'finalize', [sid])
          const restarted = fin.events.some((e) => e.eventName === 'VerificationRestarted')
          // Model of finalize: a round 0 with any reject (the fraud-proof rule: a tie, a split, a
          // lone or unanimous reject) goes to round 1 (round 0 judged with it) when someone fresh
          // can be drawn; otherwise a strict
          // majority decides, and a tie rejects; a round without votes is drawn again,
          // then expires. Silent verifiers lose faultPenalty, votes against the outcome the price.
          let acc = 0
          let rej = 0
          const panel = verifiers.map((v, i) => ({ v, vote: verdict(i) }))
          for (const p of panel) if (p.vote === true) acc++
          else if (p.vote === false) rej++
          const last = round + 1 >= 2
          const judge = (list: typeof panel, truth: boolean | undefined) => {
            for (const p of list) {
              if (p.vote === undefined) m.fund += m.cut(p.v, m.cfg.faultPenalty)
              else if (truth !== undefined && p.vote !== truth) m.fund += m.cut(p.v, j.price > m.cfg.faultPenalty ? j.price : m.cfg.faultPenalty)
            }
          }
          if (rej > 0 && !last && restarted) {
            count(acc === rej ? 'tie' : acc > 0 ? 'split' : 'reject to panel')
            previous = panel
            continue // a larger panel decides, and judges this one
          }
          if (acc === 0 && rej === 0) {
            count('no votes')
            judge(panel, undefined)
            if (!last) continue
            judge(previous, undefined)
            s.status = 'final'
            m.reopenOrRefund(s.job)
            break
          }
          const truth = acc > rej
          count(truth ? 'accepted' : acc === rej ? 'last-round tie' : 'rejected')
          judge(panel, truth)
          judge(previous, truth)
          const winners = [...panel, ...previous].filter((p) => p.vote === truth).map((p) => p.v)
          s.status = 'final'
          if (truth) {
            const vfee = (j.price * BigInt(m.cfg.verifierFeeBps)) / BPS
            const pfee = (j.price * BigInt(m.cfg.protocolFeeBps)) / BPS
            const each = vfee / BigInt(winners.length)
            m.escrow -= j.price
            m.fund += pfee + (vfee - each * BigInt(winners.length))
            m.move(s.worker, j.price - vfee - pfee)
            for (const v of winners) m.move(v, each)
            j.status = 'accepted'
          } else {
            const cut = m.cut(s.worker, ((m.bond.get(s.worker) ?? 0n) * BigInt(m.cfg.slashBps)) / BPS)
            const each = cut / 2n / BigInt(winners.length)
            m.fund += cut - each * BigInt(winners.length)
            for (const v of winners) m.move(v, each)
            m.reopenOrRefund(s.job)
          }
          m.finished.push(sid)
          break
        }
        break
      }
      case 'expire':
      case 'abandon': {
        const live = [...m.sessions.entries()].filter(([, s]) => s.status === 'assigned')
        const chosen = pickOf(live, op.pick)
        if (!chosen) break
        const [sid, s] = chosen
        const { commitBy, assignedAt } = await h.read<{ commitBy: bigint; assignedAt: bigint }>('getSession', [sid])
        if (op.kind === 'abandon' && h.timestamp > commitBy) {
          // Too late to give it up without the penalty: only expire remains.
          const late = await h.tx(s.worker, 'abandon', [sid])
          if (late.error !== 'CommitTooLate') throw new Error(`${label}: late abandon gave ${late.error ?? 'ok'}`)
          await h.must(MARKET, 'expire', [sid])
          m.fund += m.cut(s.worker, m.cfg.faultPenalty)
        } else if (op.kind === 'expire') {
          h.advance(601n)
          await h.must(MARKET, 'expire', [sid])
          m.fund += m.cut(s.worker, m.cfg.faultPenalty)
        } else {
          // faultPenalty × the share of the commit window held (this block's timestamp), rounded up.
          const window = commitBy > assignedAt ? commitBy - assignedAt : 1n
          const held = h.timestamp - assignedAt < window ? h.timestamp - assignedAt : window
          await h.must(s.worker, 'abandon', [sid])
          if (held > 0n) m.fund += m.cut(s.worker, (m.cfg.faultPenalty * held + window - 1n) / window)
        }
        s.status = 'final'
        m.finished.push(sid)
        m.reopenOrRefund(s.job)
        break
      }
      case 'cancel': {
        const open = [...m.jobs.entries()].filter(([, j]) => j.status === 'open')
        const chosen = pickOf(open, op.pick)
        if (!chosen) break
        await h.must(chosen[1].client, 'cancel', [chosen[0]])
        m.refund(chosen[0])
        break
      }
      case 'again': {
        // Finalising, refunding or cancelling what is already final must revert and move nothing.
        const sid = pickOf(m.finished, op.pick)
        if (sid) {
          const r = await h.tx(MARKET, 'finalize', [sid])
          if (r.ok) throw new Error(`${label}: finalize of a final session succeeded`)
        }
        const done = [...m.jobs.entries()].filter(([, j]) => j.status === 'accepted' || j.status === 'refunded')
        const j = pickOf(done, op.pick)
        if (j) {
          if ((await h.tx(j[1].client, 'cancel', [j[0]])).ok) throw new Error(`${label}: cancel of a final job succeeded`)
          if ((await h.tx(MARKET, 'refund', [j[0]])).ok) throw new Error(`${label}: refund of a final job succeeded`)
        }
        break
      }
      case 'bond': {
        const w = WORKERS[op.worker]!
        const r = await h.tx(w, 'addBond', [], op.amount)
        if (m.registered.has(w) !== r.ok) throw new Error(`${label}: addBond ok=${r.ok} but registered=${m.registered.has(w)}`)
        if (r.ok) {
          m.move(w, -op.amount)
          m.bond.set(w, m.bond.get(w)! + op.amount)
        }
        break
      }
      case 'exit': {
        const w = WORKERS[op.worker]!
        if (!m.registered.has(w)) break
        await h.tx(w, 'requestExit')
        h.advance(h.config.unbondDelay + 1n)
        const r = await h.tx(w, 'withdrawBond')
        // Sessions nobody could verify keep the bond locked too (the model dropped them).
        const locked = m.pending(w) || (await h.read<{ pending: number }>('getWorker', [w])).pending > 0
        if (r.ok === locked) throw new Error(`${label}: withdrawBond ok=${r.ok} with pending work ${locked}`)
        count(r.ok ? 'bond withdrawn' : 'bond locked')
        if (r.ok) {
          m.move(w, m.bond.get(w)!)
          m.bond.set(w, 0n)
          m.registered.delete(w)
        }
        break
      }
    }
    // Seal the blocks until every draw called for is made (the system call's events).
    m.assigned(await h.mine())
    await check(h, m, label)
  }
}

t.test('property: the market moves coins exactly as the accounting model says (escrow never paid twice or lost)', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 25 }), run), { numRuns: Number(process.env.WORKMARKET_RUNS ?? 20), endOnFailure: true })
  t.comment(`exercised: ${[...seen].map(([k, v]) => `${k} ${v}`).join(', ')}`)
  t.ok((seen.get('accepted') ?? 0) > 0 && (seen.get('rejected') ?? 0) > 0 && (seen.get('refunded') ?? 0) > 0, 'accepts, rejects and refunds happened')
})
