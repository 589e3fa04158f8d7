import t from 'tap'
import fc from 'fast-check'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { createTx, createTxFromRLP, LegacyTx, type TypedTransaction } from '@ethereumjs/tx'
import { createChainCommon } from '../ChainCommon.js'
import { plainSenderAddress } from '../SenderAddressMemo.js'

// The per-transaction sender memo (SenderAddressMemo) against @ethereumjs/tx's own
// getSenderAddress and against the address of the signing key computed here with noble: on
// signed transactions of every type the node accepts, as built and as decoded from the wire,
// frozen and unfrozen, over repeated calls, after a caller wrote into a returned address, and
// on signatures edited after a first call (unfrozen) or forged (frozen: same answer or same error).

const common = createChainCommon(31337n)
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const addressOfKey = (key: Uint8Array) => keccak_256(secp256k1.getPublicKey(key, false).subarray(1)).subarray(12)

const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => secp256k1.utils.isValidSecretKey(k))
const txArb = fc.record({
  type: fc.constantFrom(0, 1, 2, 4),
  nonce: fc.bigInt({ min: 0n, max: 2n ** 40n }),
  gasLimit: fc.bigInt({ min: 21_000n, max: 30_000_000n }),
  fee: fc.bigInt({ min: 1n, max: 10n ** 12n }),
  value: fc.bigInt({ min: 0n, max: 10n ** 24n }),
  to: fc.uint8Array({ minLength: 20, maxLength: 20 }),
  data: fc.uint8Array({ maxLength: 64 }),
})

type TxFields = typeof txArb extends fc.Arbitrary<infer R> ? R : never

function build(f: TxFields, key: Uint8Array, freeze: boolean): TypedTransaction {
  const base = { nonce: f.nonce, gasLimit: f.gasLimit, value: f.value, to: f.to, data: f.data }
  const fields =
    f.type === 0 ? { ...base, type: 0, gasPrice: f.fee }
    : f.type === 1 ? { ...base, type: 1, gasPrice: f.fee, chainId: 31337n, accessList: [[f.to, [new Uint8Array(32)]]] }
    : f.type === 2 ? { ...base, type: 2, maxFeePerGas: f.fee, maxPriorityFeePerGas: f.fee, chainId: 31337n }
    : {
        ...base,
        type: 4,
        maxFeePerGas: f.fee,
        maxPriorityFeePerGas: f.fee,
        chainId: 31337n,
        authorizationList: [{ chainId: '0x7a69', address: `0x${'33'.repeat(20)}`, nonce: '0x5', yParity: '0x1', r: `0x${'11'.repeat(32)}`, s: `0x${'22'.repeat(32)}` }],
      }
  return createTx(fields as never, { common, freeze }).sign(key)
}

t.test('memoised getSenderAddress equals @ethereumjs/tx and the signing key, decoded or built, frozen or not', async (t) => {
  let checked = 0
  fc.assert(
    fc.property(txArb, keyArb, fc.boolean(), (f, key, freeze) => {
      const want = hex(addressOfKey(key))
      const built = build(f, key, freeze)
      const decoded = createTxFromRLP(built.serialize(), { common })
      for (const tx of [built, decoded]) {
        if (hex(plainSenderAddress(tx).bytes) !== want) return false
        const first = tx.getSenderAddress()
        if (hex(first.bytes) !== want) return false
        first.bytes.fill(0xee) // a caller writing into its copy
        if (hex(tx.getSenderAddress().bytes) !== want) return false
        if (tx.getSenderAddress() === tx.getSenderAddress()) return false
        checked++
      }
      return true
    }),
    { numRuns: 300 },
  )
  t.ok(checked >= 600, `${checked} transactions checked`)
  t.ok(Object.isFrozen(createTxFromRLP(build(fc.sample(txArb, { numRuns: 1, seed: 3 })[0]!, new Uint8Array(32).fill(7), true).serialize(), { common })), 'decoded transactions are frozen, so the memo applies to them')
})

t.test('an unfrozen transaction whose signature is replaced after a first call answers with the new signer', async (t) => {
  fc.assert(
    fc.property(txArb, keyArb, keyArb, (f, k1, k2) => {
      fc.pre(hex(k1) !== hex(k2))
      const legacy = { ...f, type: 0 as const }
      const tx = build(legacy, k1, false) as LegacyTx
      if (hex(tx.getSenderAddress().bytes) !== hex(addressOfKey(k1))) return false
      const other = build(legacy, k2, false) as LegacyTx
      const writable = tx as unknown as { v: bigint; r: bigint; s: bigint }
      writable.v = other.v!
      writable.r = other.r!
      writable.s = other.s!
      return hex(tx.getSenderAddress().bytes) === hex(addressOfKey(k2)) && hex(plainSenderAddress(tx).bytes) === hex(addressOfKey(k2))
    }),
    { numRuns: 100 },
  )
  t.pass('checked')
})

t.test('forged signatures on decoded transactions: the same address or the same error as @ethereumjs/tx', async (t) => {
  let threw = 0
  let answered = 0
  fc.assert(
    fc.property(txArb, keyArb, fc.bigInt({ min: 1n, max: 2n ** 256n - 1n }), (f, key, r) => {
      const signed = build({ ...f, type: 0 as const }, key, true) as LegacyTx
      let tx: TypedTransaction
      try {
        tx = createTxFromRLP(createTx({ ...signed.toJSON(), type: 0, r, v: signed.v, s: signed.s } as never, { common }).serialize(), { common })
      } catch {
        return true // refused at decoding: no sender to ask for
      }
      const outcome = (fn: () => { bytes: Uint8Array }) => {
        try {
          return hex(fn().bytes)
        } catch (e) {
          return `error: ${(e as Error).message}`
        }
      }
      const memo = outcome(() => tx.getSenderAddress())
      const plain = outcome(() => plainSenderAddress(tx))
      if (memo.startsWith('error')) threw++
      else answered++
      return memo === plain && outcome(() => tx.getSenderAddress()) === plain
    }),
    { numRuns: 200 },
  )
  t.ok(answered > 0 && threw > 0, `${answered} forged signatures recovered some address, ${threw} threw`)
})
