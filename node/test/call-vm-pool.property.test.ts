import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { Account, Address } from '@ethereumjs/util'
import type { VM } from '@ethereumjs/vm'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { openChainDB } from '../../chain/Database.js'
import { fixtureHeader } from '../../chain/test/headerFixture.js'
import { bigintToFixedBytes, bytesToHex } from '../../common/bytes.js'
import type { CallRequest, StateOverrides } from '../../rpc/RpcBackend.js'
import { WorldState } from '../../vm/WorldState.js'
import { CallRunner } from '../CallRunner.js'

/*
 * eth_call and eth_estimateGas on pooled call VMs (reused across calls, trie reads remembered
 * per root) answer exactly as a fresh VM per call does, whatever earlier calls wrote, overrode
 * or cleared.
 */

const z = (n: number, fill = 0) => new Uint8Array(n).fill(fill)
const A = (i: number) => z(20, i)
const WATCHED = A(0xaa)

// returns slot0 + slot1 + balance(0xaa…aa) as read on entry; then writes slot0 (the sum) and slot1 = 1.
const COUNTER = Uint8Array.from(
  Buffer.from('600054' + '600154' + '01' + '73' + 'aa'.repeat(20) + '31' + '01' + '80600055' + '6001600155' + '600052' + '60206000f3', 'hex'),
)

t.test('pooled call VMs answer as fresh VMs do', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'povchain-callpool-'))
  const db = await openChainDB(join(dir, 'db'))
  t.teardown(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const common = createChainCommon(31337n, { nativeCrypto: false })
  const state = new WorldState(db, common, { canonicalHash: async () => undefined })
  // State: two counter contracts with storage, a watched account with a balance.
  const vm = await state.genesisVM()
  const sm = vm.stateManager
  for (const [i, s0, s1] of [[1, 5n, 7n], [2, 0n, 9n]] as const) {
    await sm.putAccount(new Address(A(i)), new Account(1n, 0n))
    await sm.putCode(new Address(A(i)), COUNTER)
    if (s0) await sm.putStorage(new Address(A(i)), bigintToFixedBytes(0n, 32), bigintToFixedBytes(s0, 32))
    await sm.putStorage(new Address(A(i)), bigintToFixedBytes(1n, 32), bigintToFixedBytes(s1, 32))
  }
  await sm.putAccount(new Address(WATCHED), new Account(0n, 1000n))
  await sm.checkpoint()
  await sm.commit()
  const root = await sm.getStateRoot()
  const header = fixtureHeader({ stateRoot: root, timestamp: 1_700_000_000n })
  const pooled = new CallRunner(state, common, 50_000_000n)
  // The reference: a brand-new VM at the root for every request, as before the pool.
  const fresh = {
    async withCallVM<T>(r: Uint8Array, fn: (vm: VM) => Promise<T>): Promise<T> {
      const v = await state.scratchVM(r)
      await v.stateManager.checkpoint()
      try {
        return await fn(v)
      } finally {
        await v.stateManager.revert()
      }
    },
  }
  const reference = new CallRunner(fresh as unknown as WorldState, common, 50_000_000n)

  const arbOverride = fc.oneof(
    fc.constant(undefined),
    fc.record({ slot: fc.constantFrom(0n, 1n), value: fc.bigInt({ min: 0n, max: 50n }) }).map(({ slot, value }) => ({ stateDiff: new Map([[slot, value]]) })),
    fc.bigInt({ min: 0n, max: 50n }).map((v) => ({ state: new Map([[1n, v]]) })),
    fc.constant({ state: new Map<bigint, bigint>() }),
    fc.bigInt({ min: 0n, max: 5000n }).map((balance) => ({ balance, watched: true })),
  )
  const arbRequest = fc.record({
    to: fc.constantFrom(1, 2, 3),
    override: arbOverride,
    overrideTarget: fc.constantFrom(1, 2),
    estimate: fc.boolean(),
    // The watched account as the sender (it exists: its balance and nonce are read, then edited
    // by the call) with a value: a pool that handed out the remembered account itself, not a
    // copy, would show a later call the balance an earlier one spent.
    from: fc.constantFrom(0x77, 0xaa),
    value: fc.constantFrom(0n, 1n, 300n),
  })
  const show = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? bytesToHex(v) : v))
  await fc.assert(
    fc.asyncProperty(fc.array(arbRequest, { minLength: 1, maxLength: 6 }), async (reqs) => {
      for (const r of reqs) {
        const req: CallRequest = { to: A(r.to), from: A(r.from), value: r.value, data: new Uint8Array() }
        let overrides: StateOverrides | undefined
        if (r.override) {
          const { watched, ...o } = r.override as { watched?: boolean }
          overrides = new Map([[bytesToHex(watched ? WATCHED : A(r.overrideTarget)), o]])
        }
        const run = (c: CallRunner) => (r.estimate ? c.estimateGas(req, header, overrides) : c.call(req, header, overrides)).then(show, (e: Error) => `error ${e.message}`)
        // Concurrent pooled calls each get their own VM; run two at once to exercise that.
        const [a, b] = await Promise.all([run(pooled), run(pooled)])
        const want = await run(reference)
        if (a !== want || b !== want) throw new Error(`pooled ${a} / ${b}, fresh ${want} for ${show(r)}`)
      }
      return true
    }),
    { numRuns: 60 },
  )
  // The plain call still sees the root's values after all of that: 5 + 7 + 1000.
  const res = await pooled.call({ to: A(1), data: new Uint8Array() }, header)
  t.equal(BigInt(bytesToHex(res.returnValue)), 1012n)
})
