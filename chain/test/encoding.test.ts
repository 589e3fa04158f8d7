import t from 'tap'
import fc from 'fast-check'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { createTx } from '@ethereumjs/tx'
import { BlockHeader, type HeaderData } from '../Header.js'
import { bytes, headerArb, u64 } from './arbitraries.js'
import { Block, decodeTransaction } from '../Block.js'
import { decodePoolTransaction, TxPoolError } from '../txpool/index.js'
import { createChainCommon, loadNativeEcrecover, nobleEcrecover } from '../ChainCommon.js'
import { decodeStoredReceipts, encodeStoredReceipts, logsBloom, bloomMayContain, type TxReceipt } from '../Receipt.js'
import { recoverSealer, sealHeader } from '../Seal.js'
import { privateKeyToAddress } from '../Signing.js'
import { ChainError } from '../errors.js'
import { equalBytes } from '../../common/bytes.js'

t.test('header RLP round-trips and the hash is stable', async (t) => {
  fc.assert(
    fc.property(headerArb, (data) => {
      const h = new BlockHeader(data)
      const d = BlockHeader.decode(h.encode())
      return equalBytes(d.encode(), h.encode()) && equalBytes(d.hash(), h.hash()) && d.number === h.number && d.attestations.length === h.attestations.length
    }),
    { numRuns: 300 },
  )
})

t.test('every header field is covered by the hash and all but the seal by the seal hash', async (t) => {
  const base = fc.sample(headerArb, { numRuns: 1, seed: 7 })[0]!
  const h = new BlockHeader({ ...base, seal: new Uint8Array(65).fill(1) })
  const flip = (b: Uint8Array) => {
    const c = b.slice()
    c[0] = c[0]! ^ 1
    return c
  }
  for (const k of Object.keys(base) as (keyof HeaderData)[]) {
    const v = h[k]
    let changed: Partial<HeaderData>
    if (v instanceof Uint8Array) {
      if (v.length === 0) continue
      changed = { [k]: flip(v) }
    } else if (typeof v === 'bigint') {
      if (k === 'gasUsed') changed = { gasUsed: v === 0n ? (h.gasLimit > 0n ? 1n : 0n) : v - 1n }
      else if (k === 'gasLimit') changed = { gasLimit: v + 1n < 1n << 64n ? v + 1n : v - 1n }
      else changed = { [k]: v === 0n ? 1n : v - 1n }
      if (changed[k] === v) continue
    } else continue
    const h2 = h.with(changed)
    t.notSame(h2.hash(), h.hash(), `${k} changes the hash`)
    if (k === 'seal') t.same(h2.unsealedHash(), h.unsealedHash(), 'the seal is not under the seal hash')
    else t.notSame(h2.unsealedHash(), h.unsealedHash(), `${k} changes the seal hash`)
  }
})

t.test('malformed headers are rejected with a ChainError naming the field', async (t) => {
  const h = new BlockHeader(fc.sample(headerArb, { numRuns: 1, seed: 3 })[0]!)
  const enc = h.encode()
  t.throws(() => BlockHeader.decode(enc.subarray(0, enc.length - 3)), ChainError)
  t.throws(() => BlockHeader.decode(new Uint8Array([0xc0])), /expected 21 fields/)
  t.throws(() => new BlockHeader({ ...h.toData(), vanity: new Uint8Array(33) }), /vanity/)
  t.throws(() => new BlockHeader({ ...h.toData(), seal: new Uint8Array(64) }), /seal/)
  // Random bytes never crash the decoder with anything but a ChainError.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      try {
        BlockHeader.decode(b)
      } catch (e) {
        return e instanceof ChainError
      }
      return true
    }),
    { numRuns: 500 },
  )
})

t.test('seal: signed by the producer key, checked by recovery', async (t) => {
  fc.assert(
    fc.property(headerArb, fc.integer({ min: 1, max: 1000 }), (data, seed) => {
      const key = new Uint8Array(32).fill(seed % 255 || 1)
      const producer = privateKeyToAddress(key)
      const sealed = sealHeader(new BlockHeader({ ...data, producer, seal: new Uint8Array(0) }), 31337n, key)
      if (!equalBytes(recoverSealer(sealed, 31337n), producer)) return false
      // Tampering with any sealed field changes the recovered signer.
      const tampered = sealed.with({ timestamp: sealed.timestamp ^ 1n })
      let other: Uint8Array | undefined
      try {
        other = recoverSealer(tampered, 31337n)
      } catch {
        return true
      }
      return !equalBytes(other, producer)
    }),
    { numRuns: 40 },
  )
  t.throws(() => recoverSealer(new BlockHeader({ ...fc.sample(headerArb, { numRuns: 1 })[0]!, seal: new Uint8Array(0) }), 31337n), /not sealed/)
})

t.test('blocks with all four transaction types round-trip', async (t) => {
  const common = createChainCommon(31337n)
  const key = new Uint8Array(32).fill(9)
  const to = new Uint8Array(20).fill(2)
  const txs = [
    createTx({ type: 0, nonce: 0n, gasPrice: 10n, gasLimit: 21000n, to, value: 1n }, { common }).sign(key),
    createTx({ type: 1, nonce: 1n, gasPrice: 10n, gasLimit: 30000n, to, accessList: [[to, [new Uint8Array(32)]]] as never, chainId: 31337n }, { common }).sign(key),
    createTx({ type: 2, nonce: 2n, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, gasLimit: 21000n, to, chainId: 31337n }, { common }).sign(key),
    createTx(
      {
        type: 4,
        nonce: 3n,
        maxFeePerGas: 10n,
        maxPriorityFeePerGas: 1n,
        gasLimit: 100000n,
        to,
        chainId: 31337n,
        authorizationList: [{ chainId: '0x7a69', address: `0x${'33'.repeat(20)}`, nonce: '0x5', yParity: '0x1', r: `0x${'11'.repeat(32)}`, s: `0x${'22'.repeat(32)}` }] as never,
      },
      { common },
    ).sign(key),
  ]
  const header = new BlockHeader(fc.sample(headerArb, { numRuns: 1, seed: 11 })[0]!)
  const block = new Block(header, txs)
  const back = Block.decode(block.encode(), common)
  t.same(back.hash(), block.hash())
  t.same(back.transactions.map((x) => x.type), [0, 1, 2, 4])
  t.same(back.transactions.map((x) => x.hash()), txs.map((x) => x.hash()))
  t.same(back.transactions[3]!.getSenderAddress().bytes, txs[3]!.getSenderAddress().bytes)
  t.throws(() => Block.decode(new Block(header, [txs[0]!]).encode().subarray(0, 40), common), ChainError)
})

t.test('an unsigned transaction (empty v, r, s) is refused at decoding, alone and in a block', async (t) => {
  // Found by test/fuzz (target `transaction`): it decoded, and its hash() threw an untyped error.
  const common = createChainCommon(31337n)
  const to = new Uint8Array(20).fill(2)
  for (const unsigned of [
    createTx({ type: 0, nonce: 7n, gasPrice: 1n, gasLimit: 90000n, to }, { common }),
    createTx({ type: 2, nonce: 1n, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, gasLimit: 21000n, to, chainId: 31337n }, { common }),
  ]) {
    const raw = unsigned.serialize()
    t.throws(() => decodeTransaction(raw, common), { name: 'ChainError', code: 'CHAIN_BAD_TX', message: /not signed/ }, `type ${unsigned.type}`)
    t.throws(() => decodePoolTransaction(raw, common), new TxPoolError('INVALID_SENDER'), `type ${unsigned.type}: the pool says what Geth says`)
  }
  const header = new BlockHeader(fc.sample(headerArb, { numRuns: 1, seed: 3 })[0]!)
  const legacy = createTx({ type: 0, nonce: 7n, gasPrice: 1n, gasLimit: 90000n, to }, { common })
  t.throws(() => Block.decode(new Block(header, [legacy]).encode(), common), { code: 'CHAIN_BAD_TX' })
})

t.test('stored receipts round-trip; bloom contains addresses and topics', async (t) => {
  const log = fc.record({ address: bytes(20), topics: fc.array(bytes(32), { maxLength: 4 }), data: fc.uint8Array({ maxLength: 100 }) })
  const receipt: fc.Arbitrary<TxReceipt> = fc.record({
    transactionHash: bytes(32),
    txType: fc.constantFrom(0, 1, 2, 4),
    status: fc.constantFrom(0 as const, 1 as const),
    cumulativeGasUsed: u64,
    gasUsed: u64,
    effectiveGasPrice: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
    from: bytes(20),
    to: fc.option(bytes(20), { nil: undefined }),
    contractAddress: fc.option(bytes(20), { nil: undefined }),
    logs: fc.array(log, { maxLength: 3 }),
  })
  fc.assert(
    fc.property(fc.array(receipt, { maxLength: 5 }), (rs) => {
      const back = decodeStoredReceipts(encodeStoredReceipts(rs))
      t.same(back, rs)
      for (const r of rs) {
        const bloom = logsBloom(r.logs)
        for (const l of r.logs) {
          if (!bloomMayContain(bloom, l.address)) return false
          for (const tp of l.topics) if (!bloomMayContain(bloom, tp)) return false
        }
      }
      return true
    }),
    { numRuns: 100 },
  )
})

t.test('native and noble sender recovery agree', async (t) => {
  const native = loadNativeEcrecover()
  if (!native) {
    t.comment('the secp256k1 addon did not load; only noble is in use')
    t.pass('nothing to compare')
    return
  }
  let checked = 0
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean(), (seed, msg, eip155) => {
      const key = seed
      if (!secp256k1.utils.isValidSecretKey(key)) return true
      const sig = secp256k1.sign(msg, key, { prehash: false, format: 'recovered' })
      const rec = BigInt(sig[0]!)
      const v = eip155 ? rec + 31337n * 2n + 35n : rec + 27n
      const chainId = eip155 ? 31337n : undefined
      const a = native(msg, v, sig.subarray(1, 33), sig.subarray(33, 65), chainId)
      const b = nobleEcrecover(msg, v, sig.subarray(1, 33), sig.subarray(33, 65), chainId)
      checked++
      return equalBytes(a, b) && equalBytes(a, secp256k1.getPublicKey(key, false).subarray(1))
    }),
    { numRuns: 200 },
  )
  t.ok(checked > 150, 'compared recoveries')
})

t.test('native and noble seal signatures are byte-identical and recover alike', async (t) => {
  const { nativeSecp256k1, nobleSecp256k1, secp } = await import('../Secp256k1.js')
  if (!nativeSecp256k1()) {
    t.comment('the secp256k1 addon did not load; only noble is in use')
    t.equal(secp(), nobleSecp256k1)
    return
  }
  const native = secp()
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (key, digest) => {
      if (!secp256k1.utils.isValidSecretKey(key)) return true
      const a = native.sign(digest, key)
      const b = nobleSecp256k1.sign(digest, key)
      return equalBytes(a, b) && equalBytes(native.recover(digest, a.subarray(0, 64), a[64]!), nobleSecp256k1.recover(digest, b.subarray(0, 64), b[64]!))
    }),
    { numRuns: 200 },
  )
})

t.test('native and noble keccak256 agree', async (t) => {
  const { nativeKeccak256, nobleKeccak256 } = await import('../keccak.js')
  if (!nativeKeccak256) {
    t.comment('the keccak addon did not load; only noble is in use')
    t.pass('nothing to compare')
    return
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (d) => equalBytes(nativeKeccak256(d), nobleKeccak256(d))), { numRuns: 500 })
})
