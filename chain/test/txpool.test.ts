import t, { type Test } from 'tap'
import { createTx, type TypedTransaction } from '@ethereumjs/tx'
import { encode as rlpEncode } from '@ethereumjs/rlp'
import { bigintToBytes, bytesToHex, concatBytes } from '../../common/bytes.js'
import { silentLogger } from '../../common/logger.js'
import { noopMetrics } from '../../common/metrics.js'
import { createChainCommon } from '../ChainCommon.js'
import { decodePoolTransaction, TxPool, TxPoolError, type TxDropReason, type TxPoolOptions } from '../txpool/index.js'
import { MemoryPoolState, signedTx, testKey, type TestTxFields } from '../../test/helpers/txpoolTestkit.js'

const common = createChainCommon(31337n)
const GWEI = 1_000_000_000n
const ETHER = 10n ** 18n
const A = testKey(0)
const B = testKey(1)
const C = testKey(2)

function setup(opts: Partial<TxPoolOptions> = {}, extra: { now?: () => number; state?: MemoryPoolState } = {}) {
  const state = extra.state ?? new MemoryPoolState()
  for (const k of [A, B, C]) if (!state.balances.has(bytesToHex(k.address))) state.set(k.address, { balance: 100n * ETHER })
  const pool = new TxPool(opts, {
    common,
    state,
    logger: silentLogger,
    metrics: noopMetrics,
    now: extra.now,
    head: { baseFeePerGas: GWEI, gasLimit: 30_000_000n },
  })
  const pending: TypedTransaction[] = []
  const dropped: [TypedTransaction, TxDropReason][] = []
  pool.onPending((tx) => pending.push(tx))
  pool.onDropped((tx, r) => dropped.push([tx, r]))
  return { pool, state, pending, dropped }
}

const tx = (key = A, f: Partial<TestTxFields> = {}) => signedTx(common, key, { nonce: 0n, feeCap: 2n * GWEI, tip: GWEI, ...f })

async function rejects(t: Test, p: Promise<unknown>, code: string, message: string | RegExp) {
  try {
    await p
    t.fail(`expected ${code}`)
  } catch (e) {
    t.ok(e instanceof TxPoolError, `TxPoolError (${(e as Error).message})`)
    t.equal((e as TxPoolError).code, code)
    if (typeof message === 'string') t.equal((e as Error).message, message)
    else t.match((e as Error).message, message)
  }
}

t.test('pending, queued, promotion and events', async (t) => {
  const { pool, pending } = setup()
  const t0 = tx(A, { nonce: 0n })
  const t2 = tx(A, { nonce: 2n })
  const t1 = tx(A, { nonce: 1n })
  t.same(await pool.add(t0), { hash: t0.hash(), status: 'pending' })
  t.equal((await pool.add(t2)).status, 'queued', 'a future nonce is queued, not an error')
  t.same(pool.status(), { pending: 1, queued: 1 })
  t.equal(await pool.pendingNonce(A.address), 1n)
  t.equal((await pool.add(t1)).status, 'pending')
  t.same(pool.status(), { pending: 3, queued: 0 }, 'filling the gap promotes nonce 2')
  t.equal(await pool.pendingNonce(A.address), 3n)
  t.equal(await pool.pendingNonce(B.address), 0n, 'unknown sender: the state nonce')
  t.same(pending.map((x) => x.nonce), [0n, 1n, 2n], 'onPending fires on add and on promotion')
  t.equal(pool.get(t1.hash()), t1, 'the pool hands back the very object it was given')
  const content = pool.content()
  t.same([...content.pending.keys()], [bytesToHex(A.address)])
  t.same(content.pending.get(bytesToHex(A.address)), [t0, t1, t2])
  t.equal(content.queued.size, 0)
  t.equal(pool.size, 3)
})

t.test('already known', async (t) => {
  const { pool } = setup()
  const x = tx()
  await pool.add(x)
  await rejects(t, pool.add(x), 'TXPOOL_ALREADY_KNOWN', 'already known')
  // A distinct object with the same bytes is the same tx.
  await rejects(t, pool.add(createTx(x.toJSON(), { common }) as TypedTransaction), 'TXPOOL_ALREADY_KNOWN', 'already known')
})

t.test('nonce too low', async (t) => {
  const state = new MemoryPoolState().set(A.address, { nonce: 3n, balance: ETHER })
  const { pool } = setup({}, { state })
  const e = rejects(t, pool.add(tx(A, { nonce: 1n })), 'TXPOOL_NONCE_TOO_LOW', 'nonce too low: next nonce 3, tx nonce 1')
  await e
})

t.test('insufficient funds', async (t) => {
  const state = new MemoryPoolState().set(A.address, { balance: 21_000n * 2n * GWEI + 5n })
  const { pool } = setup({}, { state })
  await rejects(
    t,
    pool.add(tx(A, { value: 10n })),
    'TXPOOL_INSUFFICIENT_FUNDS',
    `insufficient funds for gas * price + value: balance ${42_000n * GWEI + 5n}, tx cost ${42_000n * GWEI + 10n}, overshot 5`,
  )
  await pool.add(tx(A, { value: 5n }))
  // Geth's cumulative check: the second tx does not fit next to the first.
  await rejects(
    t,
    pool.add(tx(A, { nonce: 1n, value: 0n })),
    'TXPOOL_INSUFFICIENT_FUNDS',
    /^insufficient funds for gas \* price \+ value: balance \d+, queued cost \d+, tx cost \d+, overshot \d+$/,
  )
})

t.test('replacement needs a 10% bump of fee cap and tip', async (t) => {
  const { pool, dropped, pending } = setup()
  const old = tx(A, { feeCap: 100n * GWEI, tip: 10n * GWEI })
  await pool.add(old)
  await rejects(t, pool.add(tx(A, { feeCap: 109n * GWEI, tip: 20n * GWEI })), 'TXPOOL_REPLACEMENT_UNDERPRICED', 'replacement transaction underpriced')
  await rejects(t, pool.add(tx(A, { feeCap: 200n * GWEI, tip: 10n * GWEI + 1n })), 'TXPOOL_REPLACEMENT_UNDERPRICED', 'replacement transaction underpriced')
  const next = tx(A, { feeCap: 110n * GWEI, tip: 11n * GWEI })
  t.equal((await pool.add(next)).status, 'pending')
  t.equal(pool.get(old.hash()), undefined)
  t.equal(pool.get(next.hash()), next)
  t.same(dropped, [[old, 'replaced']])
  t.equal(pending.at(-1), next, 'a replaced pending tx is announced again')
  t.equal(pool.size, 1)
  // Wei-level prices must still rise strictly (integer 10% of 1 wei is 0).
  const low = tx(B, { feeCap: 1n, tip: 1n })
  await pool.add(low, { source: 'remote' })
  await rejects(t, pool.add(tx(B, { feeCap: 1n, tip: 1n, value: 1n })), 'TXPOOL_REPLACEMENT_UNDERPRICED', 'replacement transaction underpriced')
  t.equal((await pool.add(tx(B, { feeCap: 2n, tip: 2n }))).status, 'pending')
})

t.test('chain id', async (t) => {
  const { pool } = setup()
  const other = createChainCommon(1n)
  await rejects(t, pool.add(signedTx(other, A, { nonce: 0n, feeCap: GWEI, tip: GWEI })), 'TXPOOL_INVALID_CHAIN_ID', 'invalid chain id')
  await rejects(t, pool.add(signedTx(other, A, { nonce: 0n, type: 0, feeCap: GWEI })), 'TXPOOL_INVALID_CHAIN_ID', 'invalid chain id')
  await rejects(t, pool.add(signedTx(other, A, { nonce: 0n, type: 1, feeCap: GWEI })), 'TXPOOL_INVALID_CHAIN_ID', 'invalid chain id')
  // Our own chain in all three encodings is fine.
  await pool.add(signedTx(common, A, { nonce: 0n, type: 0, feeCap: 2n * GWEI }))
  await pool.add(signedTx(common, A, { nonce: 1n, type: 1, feeCap: 2n * GWEI }))
  await pool.add(signedTx(common, A, { nonce: 2n, type: 2, feeCap: 2n * GWEI }))
  // A pre-EIP-155 legacy tx has no chain id; Geth's pool accepts it.
  const unprotected = createTx({ nonce: 0n, gasPrice: 2n * GWEI, gasLimit: 21_000n, to: new Uint8Array(20).fill(0x22) }, { common: createChainCommonNoEip155() }).sign(B.privateKey) as TypedTransaction
  t.ok(unprotected.v === 27n || unprotected.v === 28n, 'v is 27/28')
  t.equal((await pool.add(unprotected)).status, 'pending')
})

function createChainCommonNoEip155() {
  // Signing before Spurious Dragon gives v = 27/28.
  const c = createChainCommon(31337n)
  c.setHardfork('homestead')
  return c
}

t.test('decodePoolTransaction maps construction failures to Geth messages', async (t) => {
  const foreign = signedTx(createChainCommon(1n), A, { nonce: 0n })
  t.throws(() => decodePoolTransaction(foreign.serialize(), common), { code: 'TXPOOL_INVALID_CHAIN_ID', message: 'invalid chain id' })
  const foreignLegacy = signedTx(createChainCommon(1n), A, { nonce: 0n, type: 0 })
  t.throws(() => decodePoolTransaction(foreignLegacy.serialize(), common), { code: 'TXPOOL_INVALID_CHAIN_ID' })
  t.throws(() => decodePoolTransaction(Uint8Array.of(3, 0xc0), common), {
    code: 'TXPOOL_TYPE_NOT_SUPPORTED',
    message: 'transaction type not supported: tx type 3 not supported by this pool',
  })
  const inverted = concatBytes(Uint8Array.of(2), rlpEncode([31337n, 0n, 2n, 1n, 21000n, new Uint8Array(20), 0n, new Uint8Array(), [], 0n, 1n, 1n].map((x) => (typeof x === 'bigint' ? bigintToBytes(x) : x))))
  t.throws(() => decodePoolTransaction(inverted, common), { code: 'TXPOOL_TIP_ABOVE_FEE_CAP', message: 'max priority fee per gas higher than max fee per gas' })
  const bigInit = createTx(
    { type: 2, nonce: 0n, data: new Uint8Array(49_153), gasLimit: 29_000_000n, maxFeePerGas: GWEI, maxPriorityFeePerGas: GWEI },
    { common, allowUnlimitedInitCodeSize: true },
  ).sign(A.privateKey)
  t.throws(() => decodePoolTransaction(bigInit.serialize(), common), { code: 'TXPOOL_MAX_INITCODE_SIZE', message: 'max initcode size exceeded: code size 49153, limit 49152' })
  t.throws(() => decodePoolTransaction(Uint8Array.of(2, 0xc0), common), { code: 'CHAIN_BAD_TX' }, 'other garbage: the ChainError of decodeTransaction')
  const ours = signedTx(common, A, { nonce: 4n })
  t.same(decodePoolTransaction(ours.serialize(), common).hash(), ours.hash())
})

t.test('gas checks: intrinsic, EIP-7623 floor, block gas limit', async (t) => {
  const { pool } = setup()
  await rejects(t, pool.add(tx(A, { gasLimit: 20_999n })), 'TXPOOL_INTRINSIC_GAS', 'intrinsic gas too low: gas 20999, minimum needed 21000')
  // 100 non-zero bytes: intrinsic 21000 + 1600 = 22600, Prague floor 21000 + 10 * 400 = 25000.
  const data = new Uint8Array(100).fill(1)
  await rejects(t, pool.add(tx(A, { data, gasLimit: 22_600n })), 'TXPOOL_FLOOR_DATA_GAS', 'insufficient gas for floor data gas cost: gas 22600, minimum needed 25000')
  t.equal((await pool.add(tx(A, { data, gasLimit: 25_000n }))).status, 'pending')
  await rejects(t, pool.add(tx(B, { gasLimit: 30_000_001n })), 'TXPOOL_GAS_LIMIT', 'exceeds block gas limit')
})

t.test('size limits', async (t) => {
  const { pool } = setup()
  await rejects(t, pool.add(tx(A, { data: new Uint8Array(131_072), gasLimit: 29_000_000n })), 'TXPOOL_OVERSIZED_DATA', /^oversized data: transaction size \d+, limit 131072$/)
  await rejects(
    t,
    pool.add(
      createTx(
        { type: 2, nonce: 0n, data: new Uint8Array(49_153), gasLimit: 29_000_000n, maxFeePerGas: GWEI, maxPriorityFeePerGas: GWEI },
        { common, allowUnlimitedInitCodeSize: true },
      ).sign(A.privateKey) as TypedTransaction,
    ),
    'TXPOOL_MAX_INITCODE_SIZE',
    'max initcode size exceeded: code size 49153, limit 49152',
  )
})

t.test('fee checks: tip above fee cap, minimum tip, tx fee cap', async (t) => {
  const { pool } = setup({ minTip: 2n })
  // ethereumjs refuses to build such a tx; a stand-in shows the pool's own check (decode maps ethereumjs' refusal).
  const inverted = Object.create(tx(A, { feeCap: GWEI, tip: GWEI }), { maxPriorityFeePerGas: { value: GWEI + 1n } }) as TypedTransaction
  await rejects(t, pool.add(inverted), 'TXPOOL_TIP_ABOVE_FEE_CAP', 'max priority fee per gas higher than max fee per gas')
  await rejects(t, pool.add(tx(A, { feeCap: GWEI, tip: 1n })), 'TXPOOL_UNDERPRICED', 'transaction underpriced: gas tip cap 1, minimum needed 2')
  const costly = tx(A, { feeCap: 100_000n * GWEI, tip: GWEI }) // 21000 * 1e14 = 2.1 ether
  await rejects(t, pool.add(costly), 'TXPOOL_FEE_CAP_EXCEEDED', 'tx fee (2.10 ether) exceeds the configured cap (1.00 ether)')
  t.equal((await pool.add(costly, { source: 'remote' })).status, 'pending', 'the fee cap guards local submissions only, as in Geth')
  const { pool: uncapped } = setup({ txFeeCap: 0n })
  t.equal((await uncapped.add(costly)).status, 'pending', 'txFeeCap 0 disables the cap')
})

t.test('invalid sender, unsupported type', async (t) => {
  const { pool } = setup()
  const unsigned = createTx({ nonce: 0n, maxFeePerGas: GWEI, gasLimit: 21_000n, type: 2 }, { common }) as TypedTransaction
  await rejects(t, pool.add(unsigned), 'TXPOOL_INVALID_SENDER', 'invalid sender')
  const json = tx(A).toJSON()
  const bad = createTx({ ...json, r: 2n ** 256n - 1n, s: 1n }, { common }) as TypedTransaction
  await rejects(t, pool.add(bad), 'TXPOOL_INVALID_SENDER', 'invalid sender')
  // A blob tx cannot even be built without KZG here; a stand-in with type 3 is enough for the check.
  const blob = Object.create(tx(A), { type: { value: 3 } }) as TypedTransaction
  await rejects(t, pool.add(blob), 'TXPOOL_TYPE_NOT_SUPPORTED', 'transaction type not supported: tx type 3 not supported by this pool')
  t.equal(pool.size, 0)
})

t.test('global pending limit: evict the cheapest, never for a cheaper tx', async (t) => {
  const { pool, dropped } = setup({ globalSlots: 2, accountSlots: 1 })
  const a0 = tx(A, { feeCap: 10n * GWEI, tip: 3n * GWEI })
  const b0 = tx(B, { feeCap: 10n * GWEI, tip: 5n * GWEI })
  await pool.add(a0)
  await pool.add(b0)
  await rejects(t, pool.add(tx(C, { feeCap: 10n * GWEI, tip: 3n * GWEI })), 'TXPOOL_UNDERPRICED', 'transaction underpriced')
  await rejects(t, pool.add(tx(C, { feeCap: 10n * GWEI, tip: 2n * GWEI })), 'TXPOOL_UNDERPRICED', 'transaction underpriced')
  const c0 = tx(C, { feeCap: 10n * GWEI, tip: 4n * GWEI })
  t.equal((await pool.add(c0)).status, 'pending')
  t.same(dropped, [[a0, 'evicted']], 'the cheapest went')
  // Only C's own tx is cheaper than C's next one; a sender never evicts itself.
  const { pool: solo } = setup({ globalSlots: 2 })
  await solo.add(tx(A, { nonce: 0n }))
  await solo.add(tx(A, { nonce: 1n }))
  await rejects(t, solo.add(tx(A, { nonce: 2n, feeCap: 9n * GWEI })), 'TXPOOL_FULL', 'txpool is full')
})

t.test('accounts above accountSlots are evicted from first', async (t) => {
  const { pool, dropped } = setup({ globalSlots: 4, accountSlots: 2 })
  const a = [0n, 1n, 2n].map((n) => tx(A, { nonce: n, feeCap: 10n * GWEI, tip: 5n * GWEI }))
  for (const x of a) await pool.add(x)
  const b0 = tx(B, { feeCap: 10n * GWEI, tip: 2n * GWEI })
  await pool.add(b0)
  await pool.add(tx(C, { feeCap: 10n * GWEI, tip: 6n * GWEI }))
  t.same(dropped, [[a[2], 'evicted']], 'A is over its 2 slots: its last tx goes although B pays less')
})

t.test('promotions that overflow the pending limit are truncated, never at a better payer\'s cost', async (t) => {
  const { pool, dropped } = setup({ globalSlots: 2, accountSlots: 1 })
  const a0 = tx(A, { nonce: 0n, feeCap: 10n * GWEI, tip: 5n * GWEI })
  const a2 = tx(A, { nonce: 2n, feeCap: 10n * GWEI, tip: 9n * GWEI })
  const b0 = tx(B, { nonce: 0n, feeCap: 10n * GWEI, tip: 2n * GWEI })
  for (const x of [a0, a2, b0]) await pool.add(x)
  t.same(pool.status(), { pending: 2, queued: 1 })
  const a1 = tx(A, { nonce: 1n, feeCap: 10n * GWEI, tip: 6n * GWEI })
  t.equal((await pool.add(a1)).status, 'pending')
  t.same(dropped, [[b0, 'evicted'], [a2, 'truncated']], 'a1 evicts the cheaper b0; a2 has nobody left to displace but A itself')
  t.same(pool.status(), { pending: 2, queued: 0 })
})

t.test('a head that promotes past the limits truncates the cheapest of the biggest senders', async (t) => {
  const { pool, state, dropped } = setup({ globalSlots: 2, accountSlots: 1 })
  const a = [0n, 2n, 3n].map((n) => tx(A, { nonce: n, feeCap: 10n * GWEI, tip: (5n + n) * GWEI }))
  const b0 = tx(B, { nonce: 0n, feeCap: 10n * GWEI, tip: 1n * GWEI })
  for (const x of [...a, b0]) await pool.add(x)
  t.same(pool.status(), { pending: 2, queued: 2 })
  await pool.setHead({ baseFeePerGas: GWEI, gasLimit: 30_000_000n }, state.clone().set(A.address, { nonce: 2n }))
  t.same(dropped, [[a[0], 'included'], [a[2], 'truncated']], 'A is over its slot: its last tx goes, although B pays less')
  t.same(pool.content().pending.get(bytesToHex(A.address)), [a[1]])
  t.same(pool.status(), { pending: 2, queued: 0 })
})

t.test('queue limits', async (t) => {
  const { pool, dropped } = setup({ accountQueue: 2, globalQueue: 3 })
  await pool.add(tx(A, { nonce: 5n }))
  await pool.add(tx(A, { nonce: 7n }))
  await rejects(t, pool.add(tx(A, { nonce: 9n })), 'TXPOOL_ACCOUNT_LIMIT', 'account limit exceeded: pooled 2 txs')
  const a3 = tx(A, { nonce: 3n })
  t.equal((await pool.add(a3)).status, 'queued')
  t.equal(dropped.length, 1)
  t.equal(dropped[0]![0].nonce, 7n, 'a lower nonce displaces the highest queued one')
  t.equal(dropped[0]![1], 'truncated')
  await pool.add(tx(B, { nonce: 1n, feeCap: 10n * GWEI, tip: 2n * GWEI }))
  t.same(pool.status(), { pending: 0, queued: 3 })
  await rejects(t, pool.add(tx(C, { nonce: 1n, feeCap: 2n * GWEI, tip: GWEI })), 'TXPOOL_UNDERPRICED', 'transaction underpriced')
  await pool.add(tx(C, { nonce: 1n, feeCap: 20n * GWEI, tip: 10n * GWEI }))
  t.same(pool.status(), { pending: 0, queued: 3 })
  t.equal(dropped.at(-1)![1], 'evicted')
})

t.test('new head: included txs leave, gaps close, unaffordable txs leave', async (t) => {
  const { pool, state, dropped, pending } = setup()
  const a = [0n, 1n, 2n, 4n].map((n) => tx(A, { nonce: n }))
  for (const x of a) await pool.add(x)
  t.same(pool.status(), { pending: 3, queued: 1 })
  // A block included nonces 0..3 (3 came from elsewhere).
  const next = state.clone().set(A.address, { nonce: 4n })
  pending.length = 0
  await pool.setHead({ baseFeePerGas: GWEI, gasLimit: 30_000_000n }, next)
  t.same(pool.status(), { pending: 1, queued: 0 })
  t.same(pending, [a[3]], 'the promoted tx is announced')
  t.same(dropped.map(([x, r]) => [x.nonce, r]), [[0n, 'included'], [1n, 'included'], [2n, 'included']])
  t.equal(await pool.pendingNonce(A.address), 5n)
  // B's balance drops below its first tx's cost: it is dropped and the rest demoted.
  for (const n of [0n, 1n, 2n]) await pool.add(tx(B, { nonce: n, value: n === 0n ? 50n * ETHER : 0n }))
  const poorer = next.clone().set(B.address, { balance: 10n * ETHER })
  await pool.setHead({ baseFeePerGas: GWEI, gasLimit: 30_000_000n }, poorer)
  t.same(pool.content().queued.get(bytesToHex(B.address))?.map((x) => x.nonce), [1n, 2n])
  t.equal(pool.content().pending.get(bytesToHex(B.address)), undefined)
  t.equal(dropped.at(-1)![1], 'invalid')
  // A lower block gas limit drops txs that no longer fit.
  await pool.add(tx(C, { gasLimit: 1_000_000n }))
  await pool.setHead({ baseFeePerGas: GWEI, gasLimit: 500_000n }, poorer)
  t.equal(pool.content().pending.get(bytesToHex(C.address)), undefined)
})

t.test('reorg re-injects the txs of removed blocks', async (t) => {
  const { pool, state } = setup()
  const a0 = tx(A, { nonce: 0n })
  const a1 = tx(A, { nonce: 1n })
  const b0 = tx(B, { nonce: 0n })
  for (const x of [a0, a1, b0]) await pool.add(x)
  const head = { baseFeePerGas: GWEI, gasLimit: 30_000_000n }
  const mined = state.clone().set(A.address, { nonce: 2n }).set(B.address, { nonce: 1n })
  await pool.setHead(head, mined)
  t.equal(pool.size, 0)
  // The block is orphaned; the new branch included only b0.
  const fork = state.clone().set(B.address, { nonce: 1n })
  await pool.setHead(head, fork, [a1, b0, a0])
  t.same(pool.content().pending.get(bytesToHex(A.address)), [a0, a1], 'same objects, nonce order')
  t.equal(pool.get(b0.hash()), undefined, 'b0 is on the new branch: not re-injected')
  t.same(pool.status(), { pending: 2, queued: 0 })
})

t.test('best(): effective tip order, nonce order, skipSender, fee cap below base fee', async (t) => {
  const { pool } = setup()
  const a0 = tx(A, { nonce: 0n, feeCap: 10n * GWEI, tip: 1n * GWEI })
  const a1 = tx(A, { nonce: 1n, feeCap: 10n * GWEI, tip: 9n * GWEI })
  const b0 = tx(B, { nonce: 0n, feeCap: 10n * GWEI, tip: 3n * GWEI })
  const b1 = tx(B, { nonce: 1n, feeCap: 10n * GWEI, tip: 2n * GWEI })
  const c0 = tx(C, { nonce: 0n, type: 0, feeCap: 5n * GWEI }) // legacy: tip = 5 - baseFee
  for (const x of [a0, a1, b0, b1, c0]) await pool.add(x)
  const drain = (it: ReturnType<typeof pool.best>) => {
    const out: TypedTransaction[] = []
    for (let x = it.next(); x; x = it.next()) out.push(x)
    return out
  }
  t.same(drain(pool.best(GWEI)), [c0, b0, b1, a0, a1], 'C pays 4, B 3 then 2, A 1 then 9')
  t.same(drain(pool.best(6n * GWEI)), [b0, b1, a0, a1], 'at base fee 6: C cannot pay; A and B tips are capped at 4')
  const it = pool.best(GWEI)
  t.equal(it.next(), c0)
  t.equal(it.next(), b0)
  it.skipSender(B.address)
  t.same(drain(it), [a0, a1], 'nothing more from B')
  t.same(drain(pool.best(11n * GWEI)), [], 'nobody can pay a base fee of 11')
})

t.test('queued txs expire after lifetimeMs', async (t) => {
  let now = 1_000_000
  const { pool, dropped } = setup({ lifetimeMs: 1000 }, { now: () => now })
  await pool.add(tx(A, { nonce: 0n }))
  await pool.add(tx(A, { nonce: 2n }))
  now += 999
  t.equal(pool.evictExpired(), 0)
  now += 1
  t.equal(pool.evictExpired(), 1)
  t.same(dropped.map(([x, r]) => [x.nonce, r]), [[2n, 'expired']])
  t.same(pool.status(), { pending: 1, queued: 0 }, 'pending txs do not expire')
  // Also on a new head, and lazily on add.
  await pool.add(tx(B, { nonce: 3n }))
  now += 5000
  await pool.add(tx(C, { nonce: 0n }))
  t.equal(pool.status().queued, 0)
})

t.test('listener failures do not break the pool', async (t) => {
  const { pool } = setup()
  pool.onPending(() => {
    throw new Error('boom')
  })
  const off = pool.onPending(() => t.pass('called'))
  await pool.add(tx(A))
  off()
  await pool.add(tx(A, { nonce: 1n }))
  t.equal(pool.size, 2)
})

t.test('concurrent adds and heads: nothing lost, nothing duplicated', async (t) => {
  const delay = () => new Promise<void>((r) => setTimeout(r, Math.floor(Math.random() * 3)))
  const state = new MemoryPoolState(delay)
  const keys = Array.from({ length: 8 }, (_, i) => testKey(10 + i))
  for (const k of keys) state.set(k.address, { balance: 100n * ETHER })
  const pool = new TxPool({}, { common, state, logger: silentLogger, metrics: noopMetrics })
  const txs = keys.flatMap((k) => [0n, 1n, 2n, 3n].map((n) => tx(k, { nonce: n })))
  const shuffled = [...txs].sort(() => Math.random() - 0.5)
  const head = { baseFeePerGas: GWEI, gasLimit: 30_000_000n }
  // Every tx twice, in parallel, with heads (same state) arriving in between.
  const results = await Promise.allSettled([
    ...shuffled.map((x) => pool.add(x)),
    pool.setHead(head, state.clone(delay)),
    ...shuffled.map((x) => pool.add(x)),
    pool.setHead(head, state.clone(delay)),
  ])
  const ok = results.filter((r) => r.status === 'fulfilled').length
  const known = results.filter((r) => r.status === 'rejected' && (r.reason as Error).message === 'already known').length
  t.equal(ok, txs.length + 2, 'each tx accepted exactly once (plus the two heads)')
  t.equal(known, txs.length, 'the second copy is already known')
  t.equal(pool.size, txs.length)
  t.same(pool.status(), { pending: txs.length, queued: 0 })
  for (const k of keys) t.equal(await pool.pendingNonce(k.address), 4n)
})
