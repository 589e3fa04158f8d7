import fc from 'fast-check'
import t from 'tap'
import { bytesToHex } from '../../common/bytes.js'
import * as P from '../HexParams.js'
import { qty } from '../Formatters.js'
import { RpcError } from '../RpcErrors.js'

const rejects = (fn: () => unknown): boolean => {
  try {
    fn()
    return false
  } catch (e) {
    return e instanceof RpcError && e.rpcCode === -32602 && /^invalid argument \d/.test(e.message)
  }
}

t.test('quantities round-trip', async (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), (n) => {
      return P.quantity(qty(n), 0) === n
    }),
  )
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (n) => P.blockNumberOrTag(qty(n), 0) === n))
  t.equal(P.quantity('0xABCdef', 0), 0xabcdefn)
})

t.test('malformed quantities are rejected with -32602', async (t) => {
  for (const bad of ['', '0x', '0x01', '0x00', '1', 'x1', '0xg', '0x 1', ' 0x1', '0x1 ', '-0x1', 12, null, true, {}, [], '0x' + '1'.repeat(65)]) {
    t.ok(rejects(() => P.quantity(bad, 0)), JSON.stringify(bad))
  }
  t.throws(() => P.quantity('0x01', 1, 'gas'), { message: 'invalid argument 1: gas: hex number with leading zero digits' })
  t.throws(() => P.quantity('12', 0), { message: 'invalid argument 0: hex string without 0x prefix' })
  t.throws(() => P.quantity('0x', 0), { message: 'invalid argument 0: hex string "0x"' })
  t.ok(rejects(() => P.blockNumberOrTag('0x' + '1'.repeat(17), 0)), 'block numbers are 64-bit')
  // arbitrary strings that are not canonical quantities
  fc.assert(
    fc.property(fc.string(), (s) => {
      const ok = /^0x(0|[1-9a-fA-F][0-9a-fA-F]{0,63})$/.test(s)
      return ok ? P.quantity(s, 0) === BigInt(s) : rejects(() => P.quantity(s, 0))
    }),
  )
})

t.test('data round-trips and must be even-length hex', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      const h = bytesToHex(b)
      const back = P.data(h, 0)
      return bytesToHex(back) === h && bytesToHex(P.data(h.toUpperCase().replace('0X', '0x'), 0)) === h
    }),
  )
  fc.assert(fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (b) => bytesToHex(P.address(bytesToHex(b), 0)) === bytesToHex(b)))
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (b) => bytesToHex(P.hash32(bytesToHex(b), 0)) === bytesToHex(b)))
  for (const bad of ['0x1', '0xzz', 'abcd', '0x12 ', 12, null, '0x1g']) t.ok(rejects(() => P.data(bad, 0)), JSON.stringify(bad))
  t.equal(P.data('0x', 0).length, 0)
  fc.assert(
    fc.property(fc.string(), (s) => {
      const ok = /^0x([0-9a-fA-F]{2})*$/.test(s)
      return ok ? P.data(s, 0).length === (s.length - 2) / 2 : rejects(() => P.data(s, 0))
    }),
  )
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      const h = bytesToHex(b)
      return b.length === 20 ? P.address(h, 0).length === 20 : rejects(() => P.address(h, 0))
    }),
  )
  t.throws(() => P.address('0x1234', 0), { message: 'invalid argument 0: hex string has length 4, want 40' })
})

t.test('storage words are left-padded', async (t) => {
  t.same([...P.word('0x1', 0)].slice(-2), [0, 1])
  t.same([...P.word('0x0102', 0)].slice(-2), [1, 2])
  t.equal(P.word('0x', 0).length, 32)
  t.ok(rejects(() => P.word('0x' + '1'.repeat(65), 0)))
})

t.test('block refs', async (t) => {
  t.equal(P.blockRef(undefined, 1), 'latest')
  for (const tag of ['latest', 'earliest', 'pending', 'safe', 'finalized']) t.equal(P.blockRef(tag, 1), tag)
  t.equal(P.blockRef('0x10', 1), 16n)
  const h = '0x' + 'ab'.repeat(32)
  t.same(P.blockRef(h, 1), { hash: P.hash32(h, 0) })
  t.same(P.blockRef({ blockHash: h, requireCanonical: true }, 1), { hash: P.hash32(h, 0), requireCanonical: true })
  t.equal(P.blockRef({ blockNumber: '0x5' }, 1), 5n)
  t.equal(P.blockRef({ blockNumber: 'safe' }, 1), 'safe')
  t.ok(rejects(() => P.blockRef({ blockNumber: '0x5', blockHash: h }, 1)))
  t.ok(rejects(() => P.blockRef({}, 1)))
  t.ok(rejects(() => P.blockRef('newest', 1)))
  t.ok(rejects(() => P.blockRef(5, 1)))
})

t.test('call requests', async (t) => {
  const r = P.callRequest(
    {
      from: '0x' + '11'.repeat(20),
      to: null,
      gas: '0x5208',
      maxFeePerGas: '0x2',
      maxPriorityFeePerGas: '0x1',
      value: '0x0',
      input: '0xabcd',
      data: '0xabcd',
      type: '0x2',
      accessList: [{ address: '0x' + '22'.repeat(20), storageKeys: ['0x' + '00'.repeat(32)] }],
      authorizationList: [{ chainId: '0x1', address: '0x' + '33'.repeat(20), nonce: '0x0', yParity: '0x1', r: '0x1', s: '0x2' }],
    },
    0,
  )
  t.equal(r.to, undefined)
  t.equal(r.gas, 21000n)
  t.equal(r.type, 2)
  t.same([...r.data!], [0xab, 0xcd])
  t.equal(r.accessList![0]!.storageKeys.length, 1)
  t.equal(r.authorizationList![0]!.yParity, 1)
  t.throws(() => P.callRequest({ input: '0x01', data: '0x02' }, 0), { message: /both "data" and "input"/ })
  t.throws(() => P.callRequest({ gasPrice: '0x1', maxFeePerGas: '0x1' }, 0), { message: /both gasPrice and/ })
  t.throws(() => P.callRequest({ gas: '0x01' }, 0), { message: 'invalid argument 0: gas: hex number with leading zero digits' })
  t.throws(() => P.callRequest('0x', 0), { message: 'invalid argument 0: expected an object' })
  t.same([...P.callRequest({ data: '0x01' }, 0).data!], [1], 'legacy "data" accepted')
})

t.test('state overrides', async (t) => {
  const a = '0x' + 'Aa'.repeat(20)
  const o = P.stateOverrides({ [a]: { balance: '0x10', nonce: '0x1', code: '0x6000', stateDiff: { '0x1': '0x2' } } }, 2)!
  const ov = o.get(a.toLowerCase())!
  t.equal(ov.balance, 16n)
  t.equal(ov.nonce, 1n)
  t.equal(ov.stateDiff!.get(1n), 2n)
  t.throws(() => P.stateOverrides({ [a]: { state: {}, stateDiff: {} } }, 2), { message: /has both 'state' and 'stateDiff'/ })
  t.throws(() => P.stateOverrides({ '0x12': {} }, 2), { message: /invalid argument 2/ })
  t.equal(P.stateOverrides(undefined, 2), undefined)
})
