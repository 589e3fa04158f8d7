import fc from 'fast-check'
import t from 'tap'
import { bytesToHex } from '../../common/bytes.js'
import type { Log } from '../../chain/Receipt.js'
import { matchLog, parseCriteria } from '../LogQuery.js'
import { FixtureBackend, makeTx } from './FixtureBackend.js'
import { startHarness } from './helpers.js'

const addr = (i: number) => new Uint8Array(20).fill(i)
const topic = (i: number) => new Uint8Array(32).fill(i)
const hx = bytesToHex

/** The reference semantics, written plainly over hex strings. */
function naiveMatch(log: Log, address: string[] | undefined, topics: (string[] | null)[]): boolean {
  if (address && address.length > 0 && !address.includes(hx(log.address))) return false
  if (topics.length > log.topics.length) return false
  return topics.every((want, i) => want === null || want.includes(hx(log.topics[i]!)))
}

const arbLog = fc.record({
  address: fc.integer({ min: 1, max: 3 }).map(addr),
  topics: fc.array(fc.integer({ min: 1, max: 3 }).map(topic), { maxLength: 4 }),
  data: fc.constant(new Uint8Array()),
})
const arbTopicPos = fc.oneof(fc.constant(null), fc.array(fc.integer({ min: 1, max: 3 }).map((i) => hx(topic(i))), { minLength: 1, maxLength: 3 }))
const arbCriteria = fc.record({
  address: fc.option(fc.array(fc.integer({ min: 1, max: 3 }).map((i) => hx(addr(i))), { maxLength: 2 }), { nil: undefined }),
  topics: fc.array(arbTopicPos, { maxLength: 4 }),
})

t.test('matchLog agrees with the reference matcher (nulls, OR-lists, positions)', async () => {
  fc.assert(
    fc.property(arbLog, arbCriteria, (log, c) => {
      const parsed = parseCriteria({ address: c.address, topics: c.topics }, 0)
      return matchLog(log, parsed) === naiveMatch(log, c.address, c.topics)
    }),
    { numRuns: 2000 },
  )
})

t.test('eth_getLogs over a chain agrees with the reference matcher', async (t) => {
  const backend = new FixtureBackend()
  const all: { log: Log; block: number; txIndex: number; logIndex: number }[] = []
  const rnd = fc.sample(fc.array(fc.array(arbLog, { maxLength: 3 }), { minLength: 1, maxLength: 3 }), { numRuns: 12, seed: 42 })
  let nonce = 0
  rnd.forEach((perTx) => {
    const txs = perTx.map(() => makeTx('1559', nonce++))
    const b = backend.addBlock({ txs, logs: perTx })
    let li = 0
    perTx.forEach((logs, txIndex) => logs.forEach((log) => all.push({ log, block: Number(b.number), txIndex, logIndex: li++ })))
  })
  const h = await startHarness({}, backend)
  t.teardown(() => h.close())
  await fc.assert(
    fc.asyncProperty(arbCriteria, async (c) => {
      const got = await h.result('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest', address: c.address, topics: c.topics }])
      const want = all.filter((x) => naiveMatch(x.log, c.address, c.topics))
      return (
        got.length === want.length &&
        got.every(
          (g: any, i: number) =>
            g.blockNumber === '0x' + want[i]!.block.toString(16) &&
            g.logIndex === '0x' + want[i]!.logIndex.toString(16) &&
            g.transactionIndex === '0x' + want[i]!.txIndex.toString(16) &&
            g.address === hx(want[i]!.log.address) &&
            g.removed === false,
        )
      )
    }),
    { numRuns: 150 },
  )
  // a single address (not a list) and blockHash queries
  const blk = await h.result('eth_getBlockByNumber', ['0x1', false])
  const byHash = await h.result('eth_getLogs', [{ blockHash: blk.hash }])
  t.equal(byHash.length, all.filter((x) => x.block === 1).length)
  t.equal((await h.call('eth_getLogs', [{ blockHash: blk.hash, fromBlock: '0x1' }])).error?.code, -32602)
  t.same((await h.call('eth_getLogs', [{ blockHash: '0x' + '99'.repeat(32) }])).error, { code: -32000, message: 'unknown block' })
  const one = await h.result('eth_getLogs', [{ fromBlock: '0x0', address: hx(addr(1)) }])
  t.ok(one.every((l: any) => l.address === hx(addr(1))))
})

t.test('range and result limits', async (t) => {
  const backend = new FixtureBackend()
  const log = { address: addr(1), topics: [topic(1)], data: new Uint8Array() }
  for (let i = 0; i < 30; i++) backend.addBlock({ txs: [makeTx('legacy', i)], logs: [[log, log]] })
  const h = await startHarness({ logsMaxBlockRange: 10, logsMaxResults: 15 }, backend)
  t.teardown(() => h.close())
  t.same((await h.call('eth_getLogs', [{ fromBlock: '0x1', toBlock: '0xb' }])).error, { code: -32005, message: 'exceed maximum block range: 10' })
  t.equal((await h.result('eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x7' }])).length, 14)
  t.same((await h.call('eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x8' }])).error, { code: -32005, message: 'query returned more than 15 results' })
  t.same((await h.call('eth_getLogs', [{ fromBlock: '0x5', toBlock: '0x2' }])).error, { code: -32000, message: 'invalid block range params' })
  t.same(await h.result('eth_getLogs', [{ fromBlock: '0x100' }]), [], 'from beyond head → empty')
  t.equal((await h.result('eth_getLogs', [{ fromBlock: '0x1c', toBlock: '0x1000' }])).length, 6, 'to clamps at head')
  t.equal((await h.result('eth_getLogs', [{}])).length, 2, 'defaults to latest..latest')
  t.equal((await h.result('eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x9', address: hx(addr(2)) }])).length, 0, 'bloom skips')
  t.equal((await h.call('eth_getLogs', [{ topics: [null, null, null, null, null] }])).error?.code, -32602)
  t.equal((await h.call('eth_getLogs', [{ topics: ['0x12'] }])).error?.code, -32602)
  t.equal((await h.call('eth_getLogs', [{ address: ['0x12'] }])).error?.code, -32602)
  t.equal((await h.call('eth_getLogs', ['latest'])).error?.code, -32602)
})
