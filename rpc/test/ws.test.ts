import t from 'tap'
import { bytesToHex } from '../../common/bytes.js'
import { makeTx } from './FixtureBackend.js'
import { sleep, startHarness, WsClient } from './helpers.js'

const addr = (i: number) => new Uint8Array(20).fill(i)
const topic = (i: number) => new Uint8Array(32).fill(i)

t.test('WebSocket JSON-RPC and subscriptions', async (t) => {
  const h = await startHarness({ wsMaxSubscriptions: 5, maxBodyBytes: 32 * 1024 })
  t.teardown(() => h.close())
  const b = h.backend
  const c = new WsClient(h.wsUrl)
  await c.open()
  t.teardown(() => c.close())

  t.test('plain calls, batches and errors over WS', async (t) => {
    t.same(await c.call('eth_chainId'), { jsonrpc: '2.0', id: 1, result: '0x7a69' })
    c.sendRaw('{oops')
    t.same(await c.next((m) => m.error?.code === -32700), { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })
    c.sendRaw(JSON.stringify([{ jsonrpc: '2.0', id: 'a', method: 'net_version' }, { jsonrpc: '2.0', method: 'net_version' }]))
    t.same(await c.next(Array.isArray), [{ jsonrpc: '2.0', id: 'a', result: '31337' }])
    t.equal((await c.call('foo_bar')).error.code, -32601)
  })

  t.test('newHeads', async (t) => {
    const sub = (await c.call('eth_subscribe', ['newHeads'])).result
    t.match(sub, /^0x[1-9a-f][0-9a-f]{0,31}$/)
    const blk = b.addBlock({})
    const n = await c.next(c.notifications(sub))
    t.equal(n.jsonrpc, '2.0')
    t.equal(n.params.result.hash, bytesToHex(blk.hash()))
    t.equal(n.params.result.number, '0x' + blk.number.toString(16))
    for (const k of ['parentHash', 'miner', 'stateRoot', 'logsBloom', 'baseFeePerGas', 'slot', 'producer', 'jobId', 'sessionId', 'workloadId', 'vrfOutput', 'vrfProof', 'attestations', 'seal'])
      t.ok(k in n.params.result, k)
    t.same((await c.call('eth_unsubscribe', [sub])).result, true)
    t.same((await c.call('eth_unsubscribe', [sub])).result, false)
    b.addBlock({})
    await sleep(50)
    t.same(c.drain(c.notifications(sub)), [])
  })

  t.test('logs with address/topic filters and removed logs on reorg', async (t) => {
    const sub = (await c.call('eth_subscribe', ['logs', { address: bytesToHex(addr(1)), topics: [[bytesToHex(topic(1)), bytesToHex(topic(2))]] }])).result
    const all = (await c.call('eth_subscribe', ['logs'])).result
    const keep = b.head().number
    const hit1 = { address: addr(1), topics: [topic(2)], data: Uint8Array.of(1) }
    const miss = { address: addr(1), topics: [topic(3)], data: new Uint8Array() }
    const hit2 = { address: addr(1), topics: [topic(1), topic(5)], data: Uint8Array.of(2) }
    b.addBlock({ txs: [makeTx('1559', 70), makeTx('1559', 71)], logs: [[hit1, miss], [hit2]] })
    const a = await c.next(c.notifications(sub))
    const bb = await c.next(c.notifications(sub))
    t.same([a.params.result.data, bb.params.result.data], ['0x01', '0x02'])
    t.same([a.params.result.logIndex, bb.params.result.logIndex], ['0x0', '0x2'])
    t.equal(a.params.result.removed, false)
    for (let i = 0; i < 3; i++) await c.next(c.notifications(all))
    b.rewindTo(keep)
    const r1 = await c.next(c.notifications(sub))
    const r2 = await c.next(c.notifications(sub))
    t.equal(r1.params.result.removed, true)
    t.equal(r2.params.result.removed, true)
    await c.call('eth_unsubscribe', [sub])
    await c.call('eth_unsubscribe', [all])
    c.drain()
  })

  t.test('newPendingTransactions: hashes and full objects', async (t) => {
    const hashes = (await c.call('eth_subscribe', ['newPendingTransactions'])).result
    const full = (await c.call('eth_subscribe', ['newPendingTransactions', true])).result
    const tx = makeTx('1559', 80)
    b.addPoolTx(tx)
    t.equal((await c.next(c.notifications(hashes))).params.result, bytesToHex(tx.hash()))
    const f = (await c.next(c.notifications(full))).params.result
    t.equal(f.hash, bytesToHex(tx.hash()))
    t.equal(f.blockHash, null)
    await c.call('eth_unsubscribe', [hashes])
    await c.call('eth_unsubscribe', [full])
    b.pool.clear()
  })

  t.test('subscription errors and limits', async (t) => {
    t.same((await c.call('eth_subscribe', ['syncingz'])).error, { code: -32601, message: 'no "syncingz" subscription in eth namespace' })
    t.equal((await c.call('eth_subscribe', [])).error.code, -32602)
    t.equal((await c.call('eth_subscribe', ['logs', { address: '0x12' }])).error.code, -32602)
    t.equal((await c.call('eth_subscribe', ['newPendingTransactions', 'yes'])).error.code, -32602)
    const ids = []
    for (let i = 0; i < 5; i++) ids.push((await c.call('eth_subscribe', ['newHeads'])).result)
    t.equal((await c.call('eth_subscribe', ['newHeads'])).error.code, -32005)
    for (const id of ids) await c.call('eth_unsubscribe', [id])
    t.equal((await c.call('eth_subscribe', ['newHeads'])).error, undefined)
  })

  t.test('a subscription reply precedes its first notification', async (t) => {
    const c2 = new WsClient(h.wsUrl)
    await c2.open()
    const order: string[] = []
    c2.ws.on('message', (d) => {
      const m = JSON.parse(d.toString())
      order.push(m.method === 'eth_subscription' ? 'note' : 'reply')
    })
    c2.sendRaw(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }))
    // blocks keep landing, some while the reply is still on its way
    const timer = setInterval(() => b.addBlock({}), 1)
    await c2.next((m) => m.method === 'eth_subscription').finally(() => clearInterval(timer))
    t.same(order.slice(0, 2), ['reply', 'note'])
    c2.close()
  })

  t.test('oversized WS message closes that connection only', async (t) => {
    const c3 = new WsClient(h.wsUrl)
    await c3.open()
    c3.sendRaw(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: ['x'.repeat(64 * 1024)] }))
    t.equal((await c3.closed).code, 1009)
    t.same((await c.call('eth_chainId')).result, '0x7a69')
  })

  t.test('closing a connection drops its subscriptions', async (t) => {
    const c4 = new WsClient(h.wsUrl)
    await c4.open()
    await c4.call('eth_subscribe', ['newHeads'])
    const before = h.metrics.get('povchain_rpc_subscriptions')
    c4.close()
    await c4.closed
    await sleep(20)
    t.equal(h.metrics.get('povchain_rpc_subscriptions'), before - 1)
  })
})

t.test('WS on its own port and on the HTTP port; connection and origin limits', async (t) => {
  const h = await startHarness({ wsMaxConnections: 2, wsOrigins: ['http://ok.test'] })
  t.teardown(() => h.close())
  t.not(new URL(h.wsUrl).port, new URL(h.url).port)
  const onHttp = new WsClient(h.url.replace('http', 'ws'))
  await onHttp.open()
  t.same((await onHttp.call('eth_chainId')).result, '0x7a69')
  const second = new WsClient(h.wsUrl, { origin: 'http://ok.test' })
  await second.open()
  const third = new WsClient(h.wsUrl)
  await t.rejects(third.open(), /503/)
  second.close()
  await second.closed
  await sleep(20)
  const evil = new WsClient(h.wsUrl, { origin: 'http://evil.test' })
  await t.rejects(evil.open(), /403/)
  onHttp.close()
  const plain = await fetch(h.wsUrl.replace('ws', 'http'))
  t.equal(plain.status, 426)
})

t.test('shared port when WS and HTTP addresses are equal', async (t) => {
  const probe = await startHarness({ ws: false })
  const port = Number(new URL(probe.url).port)
  await probe.close()
  const h = await startHarness({ httpPort: port, wsPort: port })
  t.teardown(() => h.close())
  t.equal(h.wsUrl, h.url.replace('http', 'ws'))
  const c = new WsClient(h.wsUrl)
  await c.open()
  t.same((await c.call('eth_blockNumber')).result, '0x0')
  c.close()
})
