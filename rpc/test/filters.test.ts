import t from 'tap'
import { bytesToHex } from '../../common/bytes.js'
import { makeTx } from './FixtureBackend.js'
import { sleep, startHarness } from './helpers.js'

const addr = (i: number) => new Uint8Array(20).fill(i)
const topic = (i: number) => new Uint8Array(32).fill(i)

t.test('polling filters', async (t) => {
  const h = await startHarness({ filterTimeoutMs: 60_000 })
  t.teardown(() => h.close())
  const b = h.backend

  t.test('block filter', async (t) => {
    const id = await h.result('eth_newBlockFilter')
    t.match(id, /^0x[1-9a-f][0-9a-f]{0,31}$/, 'a QUANTITY: no leading zeros')
    t.same(await h.result('eth_getFilterChanges', [id]), [])
    const b1 = b.addBlock({})
    const b2 = b.addBlock({})
    t.same(await h.result('eth_getFilterChanges', [id]), [bytesToHex(b1.hash()), bytesToHex(b2.hash())])
    t.same(await h.result('eth_getFilterChanges', [id]), [])
    t.equal(await h.result('eth_uninstallFilter', [id]), true)
    t.equal(await h.result('eth_uninstallFilter', [id]), false)
    t.same((await h.call('eth_getFilterChanges', [id])).error, { code: -32000, message: 'filter not found' })
  })

  t.test('filter ids are QUANTITYs and found however a client pads them', async (t) => {
    for (let i = 0; i < 64; i++) {
      const id = (await h.result('eth_newBlockFilter')) as string
      t.ok(/^0x[1-9a-f][0-9a-f]{0,31}$/.test(id), `no leading zero: ${id}`)
      const padded = '0x' + id.slice(2).padStart(32, '0').toUpperCase()
      t.equal(await h.result('eth_uninstallFilter', [padded]), true, 'found through its zero-padded, upper-case form')
    }
  })

  t.test('a log filter whose range is inverted is refused like eth_getLogs', async (t) => {
    for (const m of ['eth_newFilter', 'eth_getLogs']) t.same((await h.call(m, [{ fromBlock: '0x5', toBlock: '0x2' }])).error, { code: -32000, message: 'invalid block range params' }, m)
    t.match(await h.result('eth_newFilter', [{ fromBlock: '0x2', toBlock: '0x2' }]), /^0x/, 'a one-block range is fine')
  })

  t.test('pending transaction filter', async (t) => {
    const id = await h.result('eth_newPendingTransactionFilter')
    const tx = makeTx('1559', 40)
    b.addPoolTx(tx)
    t.same(await h.result('eth_getFilterChanges', [id]), [bytesToHex(tx.hash())])
    await h.result('eth_uninstallFilter', [id])
    b.pool.clear()
  })

  t.test('log filter with criteria, getFilterLogs, removed logs on reorg', async (t) => {
    const start = b.head().number
    const id = await h.result('eth_newFilter', [{ fromBlock: '0x0', address: [bytesToHex(addr(1)), bytesToHex(addr(2))], topics: [null, [bytesToHex(topic(7)), bytesToHex(topic(8))]] }])
    const hit = { address: addr(1), topics: [topic(1), topic(8)], data: Uint8Array.of(1) }
    const missTopic = { address: addr(1), topics: [topic(1), topic(9)], data: new Uint8Array() }
    const missShort = { address: addr(2), topics: [topic(1)], data: new Uint8Array() }
    const missAddr = { address: addr(3), topics: [topic(1), topic(7)], data: new Uint8Array() }
    const blk = b.addBlock({ txs: [makeTx('legacy', 50), makeTx('legacy', 51)], logs: [[missTopic, hit], [missShort, missAddr, hit]] })
    const changes = await h.result('eth_getFilterChanges', [id])
    t.equal(changes.length, 2)
    t.same(changes.map((l: any) => l.logIndex), ['0x1', '0x4'])
    t.same(changes.map((l: any) => l.transactionIndex), ['0x0', '0x1'])
    t.ok(changes.every((l: any) => l.removed === false && l.blockHash === bytesToHex(blk.hash())))
    t.equal((await h.result('eth_getFilterLogs', [id])).length, 2)
    // reorg: the block leaves the canonical chain, a sibling without matching logs replaces it
    b.rewindTo(start)
    b.addBlock({ extra: 1 })
    const after = await h.result('eth_getFilterChanges', [id])
    t.equal(after.length, 2)
    t.ok(after.every((l: any) => l.removed === true))
    t.same(await h.result('eth_getFilterLogs', [id]), [])
    // getFilterLogs on a non-log filter is "filter not found" (Geth)
    const bf = await h.result('eth_newBlockFilter')
    t.same((await h.call('eth_getFilterLogs', [bf])).error, { code: -32000, message: 'filter not found' })
  })

  t.test('log filter ranges bound what it collects', async (t) => {
    const next = b.head().number + 1n
    const id = await h.result('eth_newFilter', [{ fromBlock: '0x' + (next + 1n).toString(16), toBlock: '0x' + (next + 1n).toString(16) }])
    const log = { address: addr(4), topics: [], data: new Uint8Array() }
    b.addBlock({ txs: [makeTx('legacy', 60)], logs: [[log]] })
    b.addBlock({ txs: [makeTx('legacy', 61)], logs: [[log]] })
    b.addBlock({ txs: [makeTx('legacy', 62)], logs: [[log]] })
    const got = await h.result('eth_getFilterChanges', [id])
    t.same(got.map((l: any) => l.blockNumber), ['0x' + (next + 1n).toString(16)])
  })

})

t.test('filters expire when not polled', async (t) => {
  const h = await startHarness({ filterTimeoutMs: 600 })
  t.teardown(() => h.close())
  const polled = await h.result('eth_newBlockFilter')
  const idle = await h.result('eth_newBlockFilter')
  for (let i = 0; i < 6; i++) {
    await sleep(150)
    await h.result('eth_getFilterChanges', [polled])
  }
  t.same((await h.call('eth_getFilterChanges', [idle])).error, { code: -32000, message: 'filter not found' })
  t.same(await h.result('eth_getFilterChanges', [polled]), [])
  t.same((await h.call('eth_getFilterChanges', ['0x1234'])).error, { code: -32000, message: 'filter not found' })
  t.same((await h.call('eth_getFilterChanges', [])).error?.code, -32602)
})

t.test('filter count limit', async (t) => {
  const h = await startHarness({ maxFilters: 3 })
  t.teardown(() => h.close())
  for (let i = 0; i < 3; i++) await h.result('eth_newBlockFilter')
  t.same((await h.call('eth_newBlockFilter')).error, { code: -32005, message: 'too many filters (max 3)' })
})
