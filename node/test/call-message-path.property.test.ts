import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { Account, Address } from '@ethereumjs/util'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { openChainDB } from '../../chain/Database.js'
import { fixtureHeader } from '../../chain/test/headerFixture.js'
import { bigintToFixedBytes, bytesToHex } from '../../common/bytes.js'
import type { CallRequest, StateOverrides } from '../../rpc/RpcBackend.js'
import { WorldState } from '../../vm/WorldState.js'
import { CallRunner } from '../CallRunner.js'

/*
 * eth_call and eth_estimateGas run plain calls (no fee fields, no access or authorization list)
 * as a bare EVM message instead of an @ethereumjs transaction. Random programs that observe
 * what runTx sets up (warm addresses and their gas, the sender's nonce bump through
 * EXTCODEHASH, GASPRICE, ORIGIN, refunds and the EIP-7623 floor in gas used, reverts, value
 * transfers, senders runTx rejects) must answer byte for byte as through runTx.
 */

const z = (n: number, fill = 0) => new Uint8Array(n).fill(fill)
const A = (i: number) => z(20, i)
const hx = (v: number, n: number) => v.toString(16).padStart(2 * n, '0')
const P1 = (v: number) => '60' + hx(v, 1)
const P2 = (v: number) => '61' + hx(v, 2)
const P20 = (a: Uint8Array) => '73' + Buffer.from(a).toString('hex')

const FUNDED = A(0x77)
const UNFUNDED = A(0x78)
const DELEGATED = A(0x79)
const OTHER = A(2) // a contract: runTx rejects it as a sender (EIP-3607)
const PROBE = A(1)
const observed = [PROBE, OTHER, FUNDED, UNFUNDED, A(0x55), A(1).map(() => 0).map((_, i) => (i === 19 ? 4 : 0)), A(0xc0)]

// A piece of code: what it leaves on the stack (0 or 1 word) is stored to memory by the builder.
const arbValue = fc.oneof(
  fc.constantFrom('5a', '33', '32', '3a', '34', '41', '48', '47', '36', '333f', '3331', '4131', '413f'),
  fc.integer({ min: 0, max: 3 }).map((s) => P1(s) + '54'),
  fc.integer({ min: 0, max: 3 }).map((s) => P1(s) + '5c'),
  fc.tuple(fc.constantFrom(...observed), fc.constantFrom('3f', '31', '3b')).map(([a, op]) => P20(a) + op + '5a' + '01'),
  fc.tuple(fc.constantFrom(...observed), fc.integer({ min: 0, max: 2 })).map(([a, v]) => '6000600060006000' + P1(v) + P20(a) + '5af1'),
  fc.constant('60206000600060006000' + P20(A(0).map((_, i) => (i === 19 ? 4 : 0))) + '5afa'),
)
const arbEffect = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 3 })).map(([v, s]) => P1(v) + P1(s) + '55'),
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 3 })).map(([v, s]) => P1(v) + P1(s) + '5d'),
  fc.constant('60006000a0'),
)
const arbProgram = fc
  .tuple(
    fc.array(fc.oneof({ arbitrary: arbValue.map((c) => ({ c, v: true })), weight: 3 }, arbEffect.map((c) => ({ c, v: false }))), { maxLength: 12 }),
    fc.constantFrom('return', 'revert', 'invalid', 'stop', 'selfdestruct'),
  )
  .map(([parts, end]) => {
    let code = ''
    let words = 0
    for (const p of parts) code += p.c + (p.v ? P2(32 * words++) + '52' : '')
    const size = P2(32 * words) + '6000'
    code += end === 'return' ? size + 'f3' : end === 'revert' ? size + 'fd' : end === 'invalid' ? 'fe' : end === 'stop' ? '00' : '33ff'
    return Uint8Array.from(Buffer.from(code, 'hex'))
  })

t.test('plain calls as EVM messages answer exactly as through runTx', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'povchain-callmsg-'))
  const db = await openChainDB(join(dir, 'db'))
  t.teardown(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const common = createChainCommon(31337n, { nativeCrypto: false })
  const state = new WorldState(db, common, { canonicalHash: async () => undefined })
  const vm = await state.genesisVM()
  const sm = vm.stateManager
  await sm.putAccount(new Address(FUNDED), new Account(3n, 10n ** 18n))
  await sm.putAccount(new Address(OTHER), new Account(1n, 5n))
  await sm.putCode(new Address(OTHER), Uint8Array.from(Buffer.from('6001600055' + '3360005260206000f3', 'hex')))
  await sm.putStorage(new Address(OTHER), bigintToFixedBytes(1n, 32), bigintToFixedBytes(7n, 32))
  await sm.putAccount(new Address(DELEGATED), new Account(1n, 10n ** 18n))
  await sm.putCode(new Address(DELEGATED), Uint8Array.from([0xef, 0x01, 0x00, ...OTHER]))
  await sm.putAccount(new Address(PROBE), new Account(1n, 100n))
  await sm.checkpoint()
  await sm.commit()
  const root = await sm.getStateRoot()
  const header = fixtureHeader({ stateRoot: root, timestamp: 1_700_000_000n })
  const fast = new CallRunner(state, common, 50_000_000n)
  const viaTx = new CallRunner(state, common, 50_000_000n)
  viaTx.plainMessage = false

  const arbRequest = fc.record({
    code: arbProgram,
    slots: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
    balance: fc.constantFrom(0n, 100n),
    from: fc.constantFrom<Uint8Array | undefined>(undefined, FUNDED, UNFUNDED, DELEGATED, OTHER),
    to: fc.constantFrom(PROBE, PROBE, PROBE, OTHER, A(0x55), A(0).map((_, i) => (i === 19 ? 4 : 0))),
    value: fc.constantFrom(0n, 0n, 1n, 10n ** 19n),
    // Mostly zero bytes: long zero calldata makes the EIP-7623 floor exceed the execution cost.
    data: fc.uint8Array({ maxLength: 600 }).map((d) => d.map((b) => (b < 200 ? 0 : b))),
    gas: fc.oneof(fc.constant(undefined), fc.bigInt({ min: 20_000n, max: 60_000n }), fc.bigInt({ min: 60_000n, max: 400_000n })),
    estimate: fc.boolean(),
  })
  const show = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? bytesToHex(v) : v))
  let plainSucceeded = 0
  await fc.assert(
    fc.asyncProperty(arbRequest, async (r) => {
      const req: CallRequest = { to: r.to, data: r.data }
      if (r.from) req.from = r.from
      if (r.value) req.value = r.value
      if (r.gas !== undefined) req.gas = r.gas
      const overrides: StateOverrides = new Map([
        [bytesToHex(PROBE), { code: r.code, balance: r.balance, state: new Map(r.slots.map((v, i) => [BigInt(i), BigInt(v)])) }],
      ])
      const run = (c: CallRunner) => (r.estimate ? c.estimateGas(req, header, overrides) : c.call(req, header, overrides)).then(show, (e: Error) => `error ${e.message}`)
      const got = await run(fast)
      const want = await run(viaTx)
      if (got !== want) throw new Error(`message path ${got}\nrunTx ${want}\nfor ${show(r)}`)
      if (!got.startsWith('error')) plainSucceeded++
      return true
    }),
    { numRuns: 400 },
  )
  t.ok(plainSucceeded > 100, `${plainSucceeded} of 400 requests ran (not all rejected)`)
  // The balanceOf shape the bench measures: both paths agree on the gas too.
  const req = { to: OTHER, data: z(36) }
  t.same(show(await fast.call(req, header)), show(await viaTx.call(req, header)))
})
