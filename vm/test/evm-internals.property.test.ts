import fc from 'fast-check'
import t from 'tap'
import { Address } from '@ethereumjs/util'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { installJumpAnalysisCache, jumpAnalysisStats, originalJumpAnalysis, type InterpreterLike } from '../JumpAnalysisCache.js'
import { MLOAD, MSTORE, fastMload, fastMstore, installMemoryWordOps, originalWordOps, type WordOpState } from '../MemoryWordOps.js'
import { WorldState } from '../WorldState.js'

/*
 * The replaced @ethereumjs/evm internals (vm/JumpAnalysisCache.ts, vm/MemoryWordOps.ts) give
 * exactly what the originals give, on random code and random words, and are what a VM of the
 * node runs.
 */

const evmModule = (file: string) => import(import.meta.resolve('@ethereumjs/evm').replace(/index\.([cm]?[jt]s)$/, `${file}.$1`))

t.test('the node installs both into the VMs it builds', async (t) => {
  const { openChainDB } = await import('../../chain/Database.js')
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = mkdtempSync(join(tmpdir(), 'povchain-evmint-'))
  const db = await openChainDB(join(dir, 'db'))
  t.teardown(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const state = new WorldState(db, createChainCommon(31337n, { nativeCrypto: false }), { canonicalHash: async () => undefined })
  const vm = await state.genesisVM()
  const map = (vm.evm as unknown as { _opcodeMap: { opHandler: unknown }[] })._opcodeMap
  t.equal(map[MSTORE]!.opHandler, fastMstore)
  t.equal(map[MLOAD]!.opHandler, fastMload)
  t.ok(originalJumpAnalysis(), 'jump analysis replaced')
  // A loop (JUMP) run twice: the second run reuses the analysis and returns the same.
  const code = Uint8Array.from(Buffer.from('600a5b600190038060025760005260206000f3', 'hex'))
  const to = new Address(new Uint8Array(20).fill(0x42))
  await vm.stateManager.putCode(to, code)
  const before = jumpAnalysisStats().hits
  const a = await vm.evm.runCall({ to, gasLimit: 100_000n })
  const b = await vm.evm.runCall({ to, gasLimit: 100_000n })
  t.equal(a.execResult.exceptionError, undefined)
  t.equal(a.execResult.returnValue.length, 32, 'the loop ran to its RETURN')
  t.same(b.execResult.returnValue, a.execResult.returnValue)
  t.equal(b.execResult.executionGasUsed, a.execResult.executionGasUsed)
  t.ok(jumpAnalysisStats().hits > before, 'the second run hit the cache')
})

t.test('cached jump analysis = the original, on random code', async (t) => {
  await installJumpAnalysisCache()
  const original = originalJumpAnalysis()!
  const { Interpreter } = (await evmModule('interpreter')) as { Interpreter: { prototype: InterpreterLike } }
  const ops = Array.from({ length: 256 }, (_, i) => ({ opcodeInfo: { code: i } }))
  const interp = (eip8024: boolean): InterpreterLike =>
    Object.assign(Object.create(Interpreter.prototype), { common: { isActivatedEIP: (n: number) => eip8024 && n === 8024 }, lookupOpInfo: (op: number) => ops[op] })
  // Bytes biased to PUSHn (incl. PUSH32 truncated at the end), JUMPDEST and EIP-8024's DUPN/SWAPN/EXCHANGE.
  const arbByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x5b, 0x60, 0x61, 0x7f, 0x56, 0x57, 0xe6, 0xe7, 0xe8))
  const shape = (r: { jumps: Uint8Array; pushes: Record<number, bigint>; opcodesCached: unknown[] }) => ({
    jumps: Array.from(r.jumps),
    pushes: Object.entries(r.pushes).map(([k, v]) => `${k}:${v}`),
    starts: Object.keys(r.opcodesCached).join(','),
    ops: r.opcodesCached.filter(() => true),
  })
  fc.assert(
    fc.property(fc.array(arbByte, { maxLength: 200 }), fc.boolean(), (bytes, eip8024) => {
      const code = Uint8Array.from(bytes)
      const i = interp(eip8024)
      const want = shape(original.call(i, code))
      // Twice: the first fills the cache, the second is served from it (a copy of the code: by bytes).
      const first = shape(i._getValidJumpDestinations(code))
      const second = shape(i._getValidJumpDestinations(code.slice()))
      const w = JSON.stringify(want, (_k, v) => (typeof v === 'bigint' ? String(v) : v))
      for (const got of [first, second])
        if (JSON.stringify(got, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) !== w || got.ops.some((o, k) => o !== want.ops[k])) throw new Error(`analysis differs for ${Buffer.from(code).toString('hex')}`)
      return true
    }),
    { numRuns: 300 },
  )
  t.pass('300 random codes analysed alike')
})

t.test('MLOAD and MSTORE = the originals, on random words and offsets', async (t) => {
  await installMemoryWordOps()
  const orig = originalWordOps()!
  const { Memory } = (await evmModule('memory')) as { Memory: new () => WordOpState['memory'] }
  const { Stack } = (await evmModule('stack')) as { Stack: new () => WordOpState['stack'] }
  const arbWord = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), fc.constantFrom(0n, 1n, (1n << 256n) - 1n, 1n << 255n, (1n << 64n) - 1n))
  // Offsets near the ends of Memory's 8 KiB containers too: reads and writes that grow it.
  const arbOffset = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 8150, max: 8200 }), fc.integer({ min: 16_360, max: 16_420 }))
  fc.assert(
    fc.property(fc.array(fc.tuple(arbWord, arbOffset, arbOffset), { minLength: 1, maxLength: 8 }), (writes) => {
      const run = (mstore: typeof fastMstore, mload: typeof fastMload) => {
        const s = { stack: new Stack(), memory: new Memory() }
        const loaded: bigint[] = []
        for (const [w, off, readAt] of writes) {
          s.stack.push(w)
          s.stack.push(BigInt(off))
          mstore(s)
          s.stack.push(BigInt(readAt))
          mload(s)
          loaded.push(s.stack.pop())
          // the word just written, read back
          s.stack.push(BigInt(off))
          mload(s)
          loaded.push(s.stack.pop())
        }
        const size = (s.memory as unknown as { _store: Uint8Array })._store.length
        return { size, mem: Buffer.from(s.memory.read(0, 16_480)).toString('hex'), loaded: loaded.map(String) }
      }
      const got = JSON.stringify(run(fastMstore, fastMload))
      const want = JSON.stringify(run(orig.mstore, orig.mload))
      if (got !== want) throw new Error(`MSTORE/MLOAD differ: ${got} vs ${want}`)
      return true
    }),
    { numRuns: 300 },
  )
  t.pass('300 random write/read sequences alike')
})

t.test('opcode lists are shared only between equal opcode tables, and identity hits see in-place writes', async (t) => {
  await installJumpAnalysisCache()
  const original = originalJumpAnalysis()!
  const { Interpreter } = (await evmModule('interpreter')) as { Interpreter: { prototype: InterpreterLike } }
  const handlers = Array.from({ length: 8 }, (_, i) => () => i)
  type Entry = { opcodeInfo: Record<string, unknown>; opHandler: unknown; gasHandler: unknown }
  // A table as getOpcodesForHF builds one: fresh (frozen) objects per EVM.
  const table = (mutate?: { op: number; field: 'fee' | 'name' | 'isAsync' | 'opHandler' | 'gasHandler' }): Entry[] =>
    Array.from({ length: 256 }, (_, code) => {
      const info = { code, name: `OP${code}`, fullName: `OP${code}`, fee: code % 7, feeBigInt: BigInt(code % 7), isAsync: code % 5 === 0, dynamicGas: false, isInvalid: false }
      const e: Entry = { opcodeInfo: info, opHandler: handlers[code % 8], gasHandler: undefined }
      if (mutate?.op === code) {
        if (mutate.field === 'fee') Object.assign(info, { fee: info.fee + 1, feeBigInt: info.feeBigInt + 1n })
        else if (mutate.field === 'name') info.name = 'RENAMED'
        else if (mutate.field === 'isAsync') info.isAsync = !info.isAsync
        else if (mutate.field === 'opHandler') e.opHandler = handlers[(code + 1) % 8]
        else e.gasHandler = handlers[0]
      }
      Object.freeze(info)
      return e
    })
  const interp = (ops: Entry[]): InterpreterLike =>
    Object.assign(Object.create(Interpreter.prototype), { common: { isActivatedEIP: () => false }, _evm: { _opcodeMap: ops }, lookupOpInfo: (op: number) => ops[op] })
  const handlerId = (h: unknown) => (h === undefined ? -1 : handlers.indexOf(h as () => number))
  const describe = (e: Entry) => JSON.stringify({ ...e.opcodeInfo, feeBigInt: String(e.opcodeInfo.feeBigInt), h: handlerId(e.opHandler), g: handlerId(e.gasHandler) })
  const arbMutation = fc.option(fc.record({ op: fc.integer({ min: 0, max: 255 }), field: fc.constantFrom('fee' as const, 'name' as const, 'isAsync' as const, 'opHandler' as const, 'gasHandler' as const) }), { nil: undefined, freq: 2 })
  let shared = 0
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 120 }), fc.array(arbMutation, { minLength: 2, maxLength: 6 }), (code, mutations) => {
      for (const m of mutations) {
        const ops = table(m)
        const i = interp(ops)
        const { hits, opListsBuilt } = jumpAnalysisStats()
        const got = i._getValidJumpDestinations(code)
        if (jumpAnalysisStats().hits > hits && jumpAnalysisStats().opListsBuilt === opListsBuilt) shared++
        const want = original.call(i, code)
        // The plain path's opcode objects are this EVM's own; the shared list may hold another
        // EVM's, which must be equal in every field and handler.
        if (Object.keys(got.opcodesCached).join() !== Object.keys(want.opcodesCached).join()) throw new Error('instruction starts differ')
        for (const k of Object.keys(want.opcodesCached)) {
          const a = got.opcodesCached[Number(k)] as Entry
          const b = want.opcodesCached[Number(k)] as Entry
          if (describe(a) !== describe(b)) throw new Error(`opcode at ${k} differs: ${describe(a)} vs ${describe(b)} (mutation ${JSON.stringify(m)})`)
        }
      }
      return true
    }),
    { numRuns: 300 },
  )
  t.ok(shared > 100, `opcode lists were reused across equal tables (${shared} times) and never across different ones`)

  // The identity level: the same array hits without re-keying; a write into it is seen.
  const ops = table()
  const i = interp(ops)
  const code = Uint8Array.from([0x60, 0x01, 0x5b, 0x60, 0x02, 0x56])
  i._getValidJumpDestinations(code)
  const hits = jumpAnalysisStats().identityHits
  i._getValidJumpDestinations(code)
  t.equal(jumpAnalysisStats().identityHits, hits + 1, 'the same array is found by identity')
  code[0] = 0x5b // PUSH1 0x01 becomes JUMPDEST ADD: a new jump destination at 0
  const after = i._getValidJumpDestinations(code)
  t.same(Array.from(after.jumps), Array.from(original.call(i, code).jumps), 'an array written in place gets the analysis of its new bytes')
})
