/**
 * Block execution takes each receipt's bloom from runTx (which computes it anyway) for the
 * block bloom and the receipts trie, instead of hashing every log twice more. Property: the
 * roots and blooms are those of the plain path (`logsBloom` of each receipt's logs, and
 * `receiptsTrieRoot` computing them itself), on blocks of random logs, failed transactions
 * and transactions without logs.
 */
import fc from 'fast-check'
import t from 'tap'
import { createTx } from '@ethereumjs/tx'
import { Bloom } from '@ethereumjs/vm'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { logsBloom, orBloom, type Log } from '../../chain/Receipt.js'
import { noopMetrics } from '../../common/metrics.js'
import { silentLogger } from '../../common/logger.js'
import { common, KEYS, openTestChain } from '../../test/fixtures/TestChain.js'
import { BlockExecutor, receiptsTrieRoot, type ExecutionEnv } from '../BlockExecutor.js'

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const arbLog = fc.record({ address: bytes(20), topics: fc.array(bytes(32), { maxLength: 4 }), data: fc.uint8Array({ maxLength: 40 }) })

t.test("runTx's per-transaction bloom = logsBloom, on random logs", async (t) => {
  for (const c of [common, createChainCommon(common.chainId(), { nativeCrypto: false })]) {
    fc.assert(
      fc.property(fc.array(arbLog, { maxLength: 6 }), (logs: Log[]) => {
        // As runTx's txLogsBloom builds it: the address, then each topic.
        const b = new Bloom(undefined, c)
        for (const l of logs) {
          b.add(l.address)
          for (const topic of l.topics) b.add(topic)
        }
        return Buffer.from(b.bitvector).equals(logsBloom(logs))
      }),
      { numRuns: 500 },
    )
  }
  t.pass('500 random log lists alike, with native and with JS keccak')
})

/** Runtime code that logs with k topics: topics are calldata words 0..k-1, the data the rest. */
function logger(k: number): Uint8Array {
  const code = [0x36, 0x60, 0x00, 0x60, 0x00, 0x37] // CALLDATACOPY(0, 0, CALLDATASIZE)
  for (let j = k - 1; j >= 0; j--) code.push(0x60, 32 * j, 0x51) // MLOAD(32 j): topic j
  code.push(0x60, 32 * k, 0x36, 0x03) // size = CALLDATASIZE - 32 k
  code.push(0x60, 32 * k, 0xa0 + k, 0x00) // LOGk(32 k, size, topics…); STOP
  return Uint8Array.from(code)
}
function initcode(runtime: Uint8Array): Uint8Array {
  const prefix = [0x60, runtime.length, 0x60, 12, 0x60, 0x00, 0x39, 0x60, runtime.length, 0x60, 0x00, 0xf3]
  return Uint8Array.from([...prefix, ...runtime])
}

t.test('executed blocks of random logs: block bloom and receipts root = the plain path', async (t) => {
  const c = await openTestChain()
  t.teardown(() => c.destroy())
  const g = c.store.head()
  const executor = new BlockExecutor(c.state, common, { logger: silentLogger, metrics: noopMetrics })
  const fee = { maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n, chainId: common.chainId(), type: 2 as const }
  const env = (number: bigint): ExecutionEnv => ({
    number, timestamp: g.timestamp + 40n * number, gasLimit: g.gasLimit, baseFeePerGas: g.baseFeePerGas,
    coinbase: new Uint8Array(20).fill(0xc0), mixHash: new Uint8Array(32).fill(Number(number)),
  })
  const deploys = [0, 1, 2, 3, 4].map((k) => createTx({ ...fee, nonce: BigInt(k), data: initcode(logger(k)), gasLimit: 200_000n }, { common }).sign(KEYS[0]!))
  const first = await executor.execute(g.stateRoot, env(1n), deploys)
  // Keep block 1's state readable (as the block store's batch would) for the blocks built on it.
  c.state.trieDb.written(first.stateKeys)
  const loggers = first.receipts.map((r) => r.contractAddress!)
  t.equal(loggers.length, 5, 'five log contracts deployed')
  t.equal((await executor.execute(first.stateRoot, env(2n), [createTx({ ...fee, nonce: 5n, to: loggers[2], data: new Uint8Array(64).fill(9), gasLimit: 100_000n }, { common }).sign(KEYS[0]!)])).receipts[0]!.logs[0]!.topics.length, 2, 'a logger logs its topics')
  c.state.invalidateHead()

  const arbCall = fc.record({
    key: fc.integer({ min: 1, max: 5 }),
    k: fc.integer({ min: 0, max: 4 }),
    topics: fc.array(bytes(32), { minLength: 4, maxLength: 4 }),
    data: fc.uint8Array({ maxLength: 48 }),
    // calldata shorter than the topics: the LOG's size underflows to ~2²⁵⁶, it runs out of gas and
    // the transaction fails (status 0, no logs)
    fail: fc.boolean(),
  })
  let runs = 0
  let logsSeen = 0
  let failed = 0
  await fc.assert(
    fc.asyncProperty(fc.array(arbCall, { maxLength: 12 }), async (calls) => {
      const nonces = new Map<number, bigint>()
      const txs = calls.map((call) => {
        const nonce = nonces.get(call.key) ?? 0n
        nonces.set(call.key, nonce + 1n)
        const k = call.fail ? Math.max(call.k, 1) : call.k
        const data = call.fail ? call.data.slice(0, 31) : Uint8Array.from([...call.topics.slice(0, k).flatMap((x) => [...x]), ...call.data])
        return createTx({ ...fee, nonce, to: loggers[k], data, gasLimit: 200_000n }, { common }).sign(KEYS[call.key]!)
      })
      const out = await executor.execute(first.stateRoot, env(2n), txs)
      c.state.invalidateHead()
      const plainBloom = new Uint8Array(256)
      for (const r of out.receipts) orBloom(plainBloom, logsBloom(r.logs))
      if (!Buffer.from(out.logsBloom).equals(plainBloom)) throw new Error('block bloom differs from the plain path')
      const plainRoot = await receiptsTrieRoot(out.receipts, common)
      if (!Buffer.from(out.receiptsRoot).equals(plainRoot)) throw new Error('receipts root differs from the plain path')
      runs++
      for (const r of out.receipts) {
        logsSeen += r.logs.length
        if (r.status === 0) failed++
      }
      return true
    }),
    { numRuns: 40 },
  )
  t.equal(runs, 40, '40 random blocks: same block bloom and receipts root as the plain path')
  t.ok(logsSeen > 40 && failed > 10, `the blocks held ${logsSeen} logs and ${failed} failed transactions`)
})
