import t from 'tap'
import fc from 'fast-check'
import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '../../common/bytes.js'
import { silentLogger } from '../../common/logger.js'
import { noopMetrics } from '../../common/metrics.js'
import { createChainCommon } from '../ChainCommon.js'
import { TxPool, TxPoolError, type TxDropReason, type TxPoolOptions } from '../txpool/index.js'
import { MemoryPoolState, signedTx, testKey, type TestKey } from '../../test/helpers/txpoolTestkit.js'

// Random operation sequences against a model of the chain; the pool's invariants are checked
// after every step. Limits are tiny so that eviction, truncation and expiry happen often.

const common = createChainCommon(31337n)
const KEYS: TestKey[] = Array.from({ length: 5 }, (_, i) => testKey(100 + i))
const LIMITS: Partial<TxPoolOptions> = {
  accountSlots: 2,
  globalSlots: 6,
  accountQueue: 3,
  globalQueue: 5,
  lifetimeMs: 10_000,
  priceBumpPercent: 10,
  minTip: 1n,
}
const RICH = 10n ** 12n

// --- independent re-statements of the rules under test -------------------------------------

const fees = (tx: TypedTransaction) =>
  'maxFeePerGas' in tx ? { feeCap: tx.maxFeePerGas, tip: tx.maxPriorityFeePerGas } : { feeCap: tx.gasPrice, tip: tx.gasPrice }

function effTip(tx: TypedTransaction, baseFee: bigint): bigint {
  const { feeCap, tip } = fees(tx)
  return feeCap - baseFee < tip ? feeCap - baseFee : tip
}

/** Geth's price order: effective tip, fee cap, tip. */
function priceCmp(a: TypedTransaction, b: TypedTransaction, baseFee: bigint): number {
  const ka = [effTip(a, baseFee), fees(a).feeCap, fees(a).tip]
  const kb = [effTip(b, baseFee), fees(b).feeCap, fees(b).tip]
  for (let i = 0; i < 3; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1
  return 0
}

function bumpOk(old: TypedTransaction, next: TypedTransaction): boolean {
  const o = fees(old)
  const n = fees(next)
  return n.feeCap * 100n >= o.feeCap * 110n - ((o.feeCap * 110n) % 100n) && n.tip * 100n >= o.tip * 110n - ((o.tip * 110n) % 100n) && n.feeCap > o.feeCap && n.tip > o.tip
}

const cost = (tx: TypedTransaction) => tx.gasLimit * fees(tx).feeCap + tx.value
const senderOf = (tx: TypedTransaction) => bytesToHex(tx.getSenderAddress().bytes)
const hashOf = (tx: TypedTransaction) => bytesToHex(tx.hash())

// --- operations --------------------------------------------------------------------------

type Op =
  | { kind: 'add'; who: number; dn: number; type: 0 | 2; feeCap: number; tip: number; value: number; gas: 0 | 1 }
  | { kind: 'mine'; max: number; baseFee: number; gasLimit: 0 | 1 }
  | { kind: 'reorg'; depth: number }
  | { kind: 'external'; who: number; dn: number; balance: number }
  | { kind: 'time'; ms: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      who: fc.nat(KEYS.length - 1),
      dn: fc.integer({ min: -1, max: 7 }),
      type: fc.constantFrom<0 | 2>(0, 2),
      feeCap: fc.integer({ min: 1, max: 30 }),
      tip: fc.integer({ min: 0, max: 30 }),
      value: fc.constantFrom(0, 1, 1000),
      gas: fc.constantFrom<0 | 1>(0, 0, 0, 1),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('mine' as const),
      max: fc.nat(5),
      baseFee: fc.nat(12),
      gasLimit: fc.constantFrom<0 | 1>(0, 0, 0, 0, 1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reorg' as const), depth: fc.integer({ min: 1, max: 3 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('external' as const),
      who: fc.nat(KEYS.length - 1),
      dn: fc.nat(3),
      balance: fc.constantFrom(0, 1, 2),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.constantFrom(1000, 4000, 11_000) }) },
)

const signed = new Map<string, TypedTransaction>()
function makeTx(key: TestKey, nonce: bigint, op: Extract<Op, { kind: 'add' }>): TypedTransaction {
  const id = `${bytesToHex(key.address)}/${nonce}/${op.type}/${op.feeCap}/${op.tip}/${op.value}/${op.gas}`
  let tx = signed.get(id)
  if (!tx) {
    // ethereumjs refuses tip > fee cap at construction, so clamp (the pool's own check is an example test).
    const tip = BigInt(Math.min(op.tip, op.feeCap))
    tx = signedTx(common, key, {
      nonce,
      type: op.type,
      feeCap: BigInt(op.feeCap),
      tip,
      value: BigInt(op.value),
      gasLimit: op.gas ? 30_000n : 21_000n,
    })
    signed.set(id, tx)
  }
  return tx
}

// --- the model and the checks --------------------------------------------------------------

interface Block {
  txs: TypedTransaction[]
  before: MemoryPoolState
  head: { baseFeePerGas: bigint; gasLimit: bigint }
}

/** How often each outcome happened over the whole run, to show the sequences reach the interesting paths. */
const tally = new Map<string, number>()
const count = (k: string) => tally.set(k, (tally.get(k) ?? 0) + 1)

class World {
  now = 1_000_000
  state = new MemoryPoolState()
  head = { baseFeePerGas: 0n, gasLimit: 1_000_000n }
  blocks: Block[] = []
  /** Every tx the pool accepted and has not reported dropped, with when it was added. */
  live = new Map<string, { tx: TypedTransaction; addedAt: number }>()
  drops: { tx: TypedTransaction; reason: TxDropReason }[] = []
  pendingEvents: TypedTransaction[] = []
  pool: TxPool

  constructor(balances: bigint[]) {
    KEYS.forEach((k, i) => this.state.set(k.address, { balance: balances[i]! }))
    this.pool = new TxPool(LIMITS, {
      common,
      state: this.state,
      logger: silentLogger,
      metrics: noopMetrics,
      now: () => this.now,
      head: this.head,
    })
    this.pool.onDropped((tx, reason) => this.drops.push({ tx, reason }))
    this.pool.onPending((tx) => this.pendingEvents.push(tx))
  }

  nonceOf(sender: string): bigint {
    return this.state.nonces.get(sender) ?? 0n
  }

  balanceOf(sender: string): bigint {
    return this.state.balances.get(sender) ?? 0n
  }

  /** The pool's tx of this sender and nonce, if any. */
  slot(sender: string, nonce: bigint): TypedTransaction | undefined {
    const c = this.pool.content()
    return [...(c.pending.get(sender) ?? []), ...(c.queued.get(sender) ?? [])].find((x) => x.nonce === nonce)
  }

  /** Applies the drops reported during one step to the model, returning them with their arrival time. */
  takeDrops(): { tx: TypedTransaction; reason: TxDropReason; addedAt: number }[] {
    const d = this.drops
    this.drops = []
    return d.map(({ tx, reason }) => {
      count(`drop:${reason}`)
      const entry = this.live.get(hashOf(tx))
      if (!entry) throw new Error(`dropped a tx the model did not hold: ${hashOf(tx)}`)
      this.live.delete(hashOf(tx))
      return { tx, reason, addedAt: entry.addedAt }
    })
  }

  async checkInvariants(): Promise<void> {
    const { pending, queued } = this.pool.content()
    const status = this.pool.status()
    let nPending = 0
    let nQueued = 0
    const seen = new Set<string>()
    for (const [sender, list] of pending) {
      nPending += list.length
      const base = this.nonceOf(sender)
      list.forEach((tx, i) => {
        if (tx.nonce !== base + BigInt(i)) throw new Error(`${sender}: pending nonces not contiguous from ${base}`)
      })
    }
    for (const [sender, list] of queued) {
      nQueued += list.length
      if (list.length > LIMITS.accountQueue!) throw new Error(`${sender}: ${list.length} queued > accountQueue`)
      const pendingEnd = this.nonceOf(sender) + BigInt(pending.get(sender)?.length ?? 0)
      let prev = -1n
      for (const tx of list) {
        if (tx.nonce <= pendingEnd) throw new Error(`${sender}: queued nonce ${tx.nonce} is executable (pending end ${pendingEnd})`)
        if (tx.nonce <= prev) throw new Error(`${sender}: queued not in nonce order`)
        prev = tx.nonce
      }
    }
    for (const list of [...pending.values(), ...queued.values()])
      for (const tx of list) {
        const h = hashOf(tx)
        if (seen.has(h)) throw new Error(`duplicate ${h}`)
        seen.add(h)
        if (this.pool.get(tx.hash()) !== tx) throw new Error('get() does not return the pooled object')
        if (senderOf(tx) === undefined) throw new Error('no sender')
      }
    if (status.pending !== nPending || status.queued !== nQueued) throw new Error(`status ${JSON.stringify(status)} != content ${nPending}/${nQueued}`)
    if (this.pool.size !== seen.size) throw new Error('size != content')
    if (nPending > LIMITS.globalSlots!) throw new Error(`pending ${nPending} > globalSlots`)
    if (nQueued > LIMITS.globalQueue!) throw new Error(`queued ${nQueued} > globalQueue`)
    // No tx lost or invented: the pool holds exactly what it accepted minus what it reported dropped.
    if (seen.size !== this.live.size || [...this.live.keys()].some((h) => !seen.has(h)))
      throw new Error(`pool (${seen.size}) and model (${this.live.size}) disagree on the set of txs`)
    for (const k of KEYS) {
      const s = bytesToHex(k.address)
      const expect = this.nonceOf(s) + BigInt(pending.get(s)?.length ?? 0)
      const got = await this.pool.pendingNonce(k.address)
      if (got !== expect) throw new Error(`pendingNonce ${got} != ${expect}`)
    }
  }

  async add(op: Extract<Op, { kind: 'add' }>): Promise<void> {
    const key = KEYS[op.who]!
    const sender = bytesToHex(key.address)
    const stateNonce = this.nonceOf(sender)
    const nonce = stateNonce + BigInt(op.dn)
    if (nonce < 0n) return
    const tx = makeTx(key, nonce, op)
    const before = this.slot(sender, nonce)
    const known = this.live.has(hashOf(tx))
    this.pendingEvents = []
    let error: TxPoolError | undefined
    try {
      const r = await this.pool.add(tx)
      this.live.set(hashOf(tx), { tx, addedAt: this.now })
      if (r.status === 'pending' && !this.pendingEvents.includes(tx)) throw new Error('pending tx not announced')
    } catch (e) {
      if (!(e instanceof TxPoolError)) throw e
      error = e
    }
    const drops = this.takeDrops()
    count(error ? `reject:${error.reason}` : 'accepted')
    if (known) {
      if (error?.reason !== 'already known') throw new Error(`known tx: ${error?.message ?? 'accepted'}`)
      return
    }
    // Stateless checks come first (as in Geth), then the nonce.
    if (tx.gasLimit > this.head.gasLimit) {
      if (error?.reason !== 'exceeds block gas limit') throw new Error(`over block gas: ${error?.message ?? 'accepted'}`)
    } else if (fees(tx).tip < LIMITS.minTip!) {
      if (error?.reason !== 'transaction underpriced') throw new Error(`tip below minimum: ${error?.message ?? 'accepted'}`)
    } else if (nonce < stateNonce && error?.reason !== 'nonce too low') throw new Error(`low nonce: ${error?.message ?? 'accepted'}`)
    if (before && before !== tx) {
      // A replacement is accepted iff it bumps both prices by ≥ 10%.
      const ok = bumpOk(before, tx)
      if (!error && !ok) throw new Error('accepted a replacement without a 10% bump')
      if (error?.reason === 'replacement transaction underpriced' && ok) throw new Error('refused a sufficient bump')
      if (!error && !drops.some((d) => d.tx === before && d.reason === 'replaced')) throw new Error('replaced tx not reported')
    }
    if (error && drops.length > 0) throw new Error(`a refused add dropped ${drops.length} txs (${error.message})`)
    const promoted = this.pendingEvents
    for (const d of drops) {
      if (d.reason === 'replaced') {
        if (d.tx !== before) throw new Error('replaced the wrong tx')
      } else if (d.reason === 'evicted') {
        // Never evict a tx to admit one that pays no more.
        const admitted = [tx, ...promoted]
        if (!admitted.some((a) => priceCmp(d.tx, a, this.head.baseFeePerGas) < 0))
          throw new Error('evicted a tx for a cheaper one')
      } else if (d.reason === 'truncated') {
        if (senderOf(d.tx) !== sender) throw new Error('an add truncated another sender')
      } else if (d.reason === 'expired') {
        if (this.now - d.addedAt < LIMITS.lifetimeMs!) throw new Error('expired too early')
      } else throw new Error(`unexpected drop reason on add: ${d.reason}`)
    }
  }

  /** Builds a block from best(), checking its order, then moves the pool to it. */
  async mine(op: Extract<Op, { kind: 'mine' }>): Promise<void> {
    const baseFee = this.head.baseFeePerGas
    const { pending } = this.pool.content()
    // Independent model of the lanes best() should serve.
    const lanes = new Map<string, TypedTransaction[]>()
    for (const [s, list] of pending) {
      const cut = list.findIndex((x) => fees(x).feeCap < baseFee)
      const lane = cut < 0 ? list : list.slice(0, cut)
      if (lane.length) lanes.set(s, [...lane])
    }
    const it = this.pool.best(baseFee)
    const next = this.state.clone()
    const included: TypedTransaction[] = []
    for (let x = it.next(); x; x = it.next()) {
      const s = senderOf(x)
      const lane = lanes.get(s)
      if (!lane || lane[0] !== x) throw new Error('best() broke nonce order or yielded a skipped/unpayable tx')
      for (const [o, l] of lanes)
        if (o !== s && effTip(l[0]!, baseFee) > effTip(x, baseFee)) throw new Error('best() yielded a tx below another head')
      lane.shift()
      if (lane.length === 0) lanes.delete(s)
      if (included.length >= op.max) break
      const bal = next.balances.get(s) ?? 0n
      if ((next.nonces.get(s) ?? 0n) !== x.nonce) throw new Error('best() yielded a tx whose nonce is not the next one')
      if (bal < cost(x)) {
        it.skipSender(x.getSenderAddress().bytes)
        lanes.delete(s)
        continue
      }
      next.set(x.getSenderAddress().bytes, { nonce: x.nonce + 1n, balance: bal - x.gasLimit * (baseFee + effTip(x, baseFee)) - x.value })
      included.push(x)
    }
    const head = { baseFeePerGas: BigInt(op.baseFee), gasLimit: op.gasLimit ? 25_000n : 1_000_000n }
    await this.newHead(head, next, included, [])
    for (const x of included) if (this.pool.has(x.hash())) throw new Error('an included tx is still pooled')
  }

  async newHead(head: Block['head'], next: MemoryPoolState, included: TypedTransaction[], removed: TypedTransaction[]) {
    this.blocks.push({ txs: included, before: this.state, head: this.head })
    await this.setHead(head, next, removed)
  }

  async setHead(head: Block['head'], next: MemoryPoolState, removed: TypedTransaction[]): Promise<void> {
    const prevQueued = new Set<string>()
    for (const list of this.pool.content().queued.values()) for (const x of list) prevQueued.add(hashOf(x))
    this.state = next
    this.head = head
    await this.pool.setHead(head, next, removed)
    // Re-injected txs are the only ones that may appear on a head change.
    for (const x of removed) if (this.pool.has(x.hash()) && !this.live.has(hashOf(x))) this.live.set(hashOf(x), { tx: x, addedAt: this.now })
    for (const d of this.takeDrops()) {
      const s = senderOf(d.tx)
      const nonce = this.nonceOf(s)
      switch (d.reason) {
        case 'included':
          if (d.tx.nonce >= nonce) throw new Error('dropped as included above the state nonce')
          break
        case 'invalid':
          if (cost(d.tx) <= this.balanceOf(s) && d.tx.gasLimit <= head.gasLimit) throw new Error('dropped as invalid while affordable')
          break
        case 'expired':
          if (!prevQueued.has(hashOf(d.tx)) && d.tx.nonce < nonce) throw new Error('expired a tx that was not queued')
          break
        case 'truncated':
        case 'evicted':
          break // limits are re-checked by checkInvariants
        default:
          throw new Error(`unexpected drop reason on a new head: ${d.reason}`)
      }
    }
  }

  async reorg(op: Extract<Op, { kind: 'reorg' }>): Promise<void> {
    if (this.blocks.length === 0) return
    const popped = this.blocks.splice(Math.max(0, this.blocks.length - op.depth))
    const removed = popped.flatMap((b) => b.txs)
    const base = popped[0]!
    // The new branch is empty: the state and head before the first removed block.
    await this.setHead(base.head, base.before, removed)
    for (const x of removed) {
      if (this.pool.has(x.hash())) continue
      const s = senderOf(x)
      const other = this.slot(s, x.nonce)
      const st = this.pool.status()
      const c = this.pool.content()
      const own = [...(c.pending.get(s) ?? []), ...(c.queued.get(s) ?? [])]
      const full = st.pending >= LIMITS.globalSlots! || st.queued >= LIMITS.globalQueue! || (c.queued.get(s)?.length ?? 0) >= LIMITS.accountQueue!
      const broke = own.reduce((a, y) => a + cost(y), cost(x)) > this.balanceOf(s)
      const gapped = x.nonce < this.nonceOf(s)
      if (!other && !full && !broke && !gapped && x.gasLimit <= base.head.gasLimit)
        throw new Error(`reorg lost ${hashOf(x)} with room to keep it`)
    }
  }

  async external(op: Extract<Op, { kind: 'external' }>): Promise<void> {
    // A block from elsewhere: the sender's nonce moves on and/or its balance changes.
    const key = KEYS[op.who]!
    const s = bytesToHex(key.address)
    const next = this.state.clone()
    const balance = [0n, 50_000n, RICH][op.balance]!
    next.set(key.address, { nonce: this.nonceOf(s) + BigInt(op.dn), balance })
    await this.newHead(this.head, next, [], [])
  }

  async time(op: Extract<Op, { kind: 'time' }>): Promise<void> {
    const queuedBefore = new Set<string>()
    for (const list of this.pool.content().queued.values()) for (const x of list) queuedBefore.add(hashOf(x))
    this.now += op.ms
    this.pool.evictExpired()
    for (const d of this.takeDrops()) {
      if (d.reason !== 'expired' || !queuedBefore.has(hashOf(d.tx))) throw new Error(`time dropped ${d.reason}`)
    }
  }
}

t.test('random operation sequences keep the pool invariants', async (t) => {
  const balanceArb = fc.array(fc.constantFrom(RICH, RICH, RICH, 200_000n, 700_000n), { minLength: KEYS.length, maxLength: KEYS.length })
  let steps = 0
  await fc.assert(
    fc.asyncProperty(balanceArb, fc.array(opArb, { minLength: 5, maxLength: 45 }), async (balances, ops) => {
      const w = new World(balances)
      for (const op of ops) {
        await w[op.kind](op as never)
        await w.checkInvariants()
        steps++
      }
    }),
    { numRuns: 150, seed: Number(process.env.TXPOOL_SEED ?? Date.now() % 2 ** 31) },
  )
  t.ok(steps > 0, `${steps} steps checked`)
  t.comment([...tally].sort().map(([k, v]) => `${k}=${v}`).join(' '))
  // (truncation is rarer; txpool.test.ts has examples of it)
  for (const k of ['drop:included', 'drop:replaced', 'drop:evicted', 'drop:expired', 'drop:invalid', 'reject:replacement transaction underpriced', 'reject:transaction underpriced'])
    t.ok((tally.get(k) ?? 0) > 0, `reached ${k}`)
})

t.test('a same-nonce replacement is accepted iff both fee cap and tip rise by at least 10%', async (t) => {
  const key = KEYS[0]!
  const feeArb = fc.record({ feeCap: fc.integer({ min: 1, max: 400 }), tip: fc.integer({ min: 1, max: 400 }) }).map((f) => ({ feeCap: f.feeCap, tip: Math.min(f.tip, f.feeCap) }))
  await fc.assert(
    fc.asyncProperty(feeArb, feeArb, fc.constantFrom<0 | 2>(0, 2), fc.constantFrom<0 | 2>(0, 2), async (a, b, ta, tb) => {
      const state = new MemoryPoolState().set(key.address, { balance: RICH })
      const pool = new TxPool({}, { common, state, logger: silentLogger, metrics: noopMetrics })
      const old = signedTx(common, key, { nonce: 0n, type: ta, feeCap: BigInt(a.feeCap), tip: BigInt(a.tip) })
      const next = signedTx(common, key, { nonce: 0n, type: tb, feeCap: BigInt(b.feeCap), tip: BigInt(b.tip), value: 1n })
      await pool.add(old)
      const expected = bumpOk(old, next)
      try {
        await pool.add(next)
        if (!expected) throw new Error('accepted')
        if (pool.get(old.hash()) || pool.get(next.hash()) !== next || pool.size !== 1) throw new Error('not replaced')
      } catch (e) {
        if (expected) throw e
        if ((e as Error).message !== 'replacement transaction underpriced') throw e
        if (pool.get(old.hash()) !== old) throw new Error('old tx lost')
      }
    }),
    { numRuns: 150 },
  )
  t.pass('replacement rule holds')
})
