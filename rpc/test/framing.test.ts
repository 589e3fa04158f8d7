import http from 'node:http'
import t from 'tap'
import { startHarness } from './helpers.js'

t.test('HTTP framing', async (t) => {
  const h = await startHarness({ maxBodyBytes: 64 * 1024, maxBatchLength: 20 })
  t.teardown(() => h.close())

  t.test('single call', async (t) => {
    const r = await h.post('{"jsonrpc":"2.0","id":7,"method":"eth_chainId","params":[]}')
    t.equal(r.status, 200)
    t.match(r.headers.get('content-type'), /application\/json/)
    t.same(JSON.parse(r.text), { jsonrpc: '2.0', id: 7, result: '0x7a69' })
    // string ids and missing params
    t.same(JSON.parse((await h.post('{"jsonrpc":"2.0","id":"abc","method":"net_version"}')).text), { jsonrpc: '2.0', id: 'abc', result: '31337' })
    t.same(JSON.parse((await h.post('{"jsonrpc":"2.0","id":null,"method":"net_version"}')).text).id, null)
  })

  t.test('batch keeps order, notifications get no reply', async (t) => {
    const r = await h.post(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
        { jsonrpc: '2.0', method: 'eth_blockNumber' },
        { jsonrpc: '2.0', id: 2, method: 'nope_nope' },
        { jsonrpc: '2.0', id: 3, method: 'net_version' },
      ]),
    )
    const body = JSON.parse(r.text)
    t.same(
      body.map((x: any) => x.id),
      [1, 2, 3],
    )
    t.equal(body[1].error.code, -32601)
    t.equal(body[1].error.message, 'the method nope_nope does not exist/is not available')
  })

  t.test('only notifications → empty body', async (t) => {
    const r = await h.post(JSON.stringify([{ jsonrpc: '2.0', method: 'eth_chainId' }, { jsonrpc: '2.0', method: 'nope' }]))
    t.equal(r.status, 200)
    t.equal(r.text, '')
    const single = await h.post(JSON.stringify({ jsonrpc: '2.0', method: 'eth_chainId' }))
    t.equal(single.text, '')
  })

  t.test('parse errors', async (t) => {
    for (const bad of ['{', '', 'nul', '{"jsonrpc":"2.0",', '\u0000\u0001', '[1,2', '{"a":1}}']) {
      const r = await h.post(bad)
      t.equal(r.status, 200, JSON.stringify(bad))
      t.same(JSON.parse(r.text), { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })
    }
    t.ok(h.metrics.get('povchain_rpc_bad_requests_total{reason=parse}') >= 7)
  })

  t.test('invalid request shapes', async (t) => {
    const cases: [string, unknown][] = [
      ['1', null],
      ['"x"', null],
      ['null', null],
      ['true', null],
      ['{"id":1,"method":"eth_chainId"}', 1],
      ['{"jsonrpc":"1.0","id":2,"method":"eth_chainId"}', 2],
      ['{"jsonrpc":"2.0","id":3}', 3],
      ['{"jsonrpc":"2.0","id":4,"method":5}', 4],
      ['{"jsonrpc":"2.0","id":{"a":1},"method":"eth_chainId"}', null],
      ['{"jsonrpc":"2.0","id":[1],"method":"eth_chainId"}', null],
      ['{"jsonrpc":"2.0","id":true,"method":"eth_chainId"}', null],
      ['{"jsonrpc":"2.0","method":5}', null],
    ]
    for (const [body, id] of cases) {
      const r = JSON.parse((await h.post(body)).text)
      t.same(r, { jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request' } }, body)
    }
    const batch = JSON.parse((await h.post('[1, [], {"jsonrpc":"2.0","id":9,"method":"eth_chainId"}, "x"]')).text)
    t.same(
      batch.map((x: any) => x.error?.code ?? x.result),
      [-32600, -32600, '0x7a69', -32600],
    )
  })

  t.test('empty and oversized batches', async (t) => {
    t.same(JSON.parse((await h.post('[]')).text), { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'empty batch' } })
    const long = Array.from({ length: 21 }, (_, i) => ({ jsonrpc: '2.0', id: i + 100, method: 'eth_chainId' }))
    const r = JSON.parse((await h.post(JSON.stringify(long))).text)
    t.equal(r.length, 1)
    t.equal(r[0].id, 100)
    t.equal(r[0].error.code, -32600)
    t.match(r[0].error.message, /batch too large \(21 > 20\)/)
  })

  t.test('deeply nested JSON is answered, not a crash', async (t) => {
    const depth = 20_000
    const deep = '['.repeat(depth) + ']'.repeat(depth)
    const r = await h.post(deep)
    t.equal(r.status, 200)
    const body = JSON.parse(r.text)
    t.ok(Array.isArray(body) ? body[0].error.code === -32600 : body.error.code === -32700)
    const deepParams = `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[${'['.repeat(depth)}${']'.repeat(depth)}]}`
    t.equal(JSON.parse((await h.post(deepParams)).text).error.code, -32602)
  })

  t.test('bad params and too many params', async (t) => {
    let r = await h.call('eth_getBalance', ['0x1234'])
    t.equal(r.error!.code, -32602)
    t.equal(r.error!.message, 'invalid argument 0: hex string has length 4, want 40')
    r = await h.call('eth_getBalance', [])
    t.equal(r.error!.message, 'missing value for required argument 0')
    r = await h.call('eth_chainId', [1])
    t.equal(r.error!.message, 'too many arguments, want at most 0')
    const obj = JSON.parse((await h.post('{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":{"a":1}}')).text)
    t.same(obj.error, { code: -32602, message: 'non-array args' })
  })

  t.test('oversized bodies → 413 with a JSON-RPC error, server keeps serving', async (t) => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: ['x'.repeat(100 * 1024)] })
    const r = await h.post(big)
    t.equal(r.status, 413)
    const e = JSON.parse(r.text)
    t.equal(e.error.code, -32600)
    t.match(e.error.message, /too large/)
    // chunked upload without content-length
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(h.url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode!, body }))
      })
      req.on('error', reject)
      for (let i = 0; i < 20; i++) req.write('x'.repeat(8 * 1024))
      req.end()
    })
    t.equal(chunked.status, 413)
    t.match(JSON.parse(chunked.body).error.message, /too large/)
    t.equal(await h.result('eth_chainId'), '0x7a69')
    t.ok(h.metrics.get('povchain_rpc_bad_requests_total{reason=body_too_large}') >= 2)
  })

  t.test('unexpected backend failures → -32603 without leaking details', async (t) => {
    h.backend.explodeOn = 'getBalance'
    const r = await h.call('eth_getBalance', ['0x' + '11'.repeat(20), 'latest'])
    h.backend.explodeOn = undefined
    t.same(r.error, { code: -32603, message: 'internal error' })
    t.equal(await h.result('eth_getBalance', ['0x' + '11'.repeat(20), 'latest']), '0x0')
  })

  t.test('tx pool rejections → -32000 with the pool message', async (t) => {
    const r = await h.call('eth_sendRawTransaction', ['0x02f86b'])
    t.same(r.error, { code: -32000, message: 'nonce too low: next nonce 5, tx nonce 0' })
    t.same((await h.call('eth_sendRawTransaction', ['0x'])).error?.code, -32000)
    t.same((await h.call('eth_sendRawTransaction', ['0x0'])).error?.code, -32602)
  })

  t.test('metrics count requests and errors by method and code', async (t) => {
    await h.call('eth_chainId')
    await h.call('foo_bar')
    t.ok(h.metrics.get('povchain_rpc_requests_total{method=eth_chainId}') >= 1)
    t.ok(h.metrics.get('povchain_rpc_request_duration_seconds_count{method=eth_chainId}') >= 1)
    t.ok(h.metrics.get('povchain_rpc_errors_total{code=-32601,method=unknown}') >= 1)
    t.ok(h.metrics.get('povchain_rpc_errors_total{code=-32602,method=eth_getBalance}') >= 1)
  })

  t.test('GET endpoints, CORS, other verbs', async (t) => {
    const health = await fetch(h.url + '/health')
    t.equal(health.status, 200)
    t.same(await health.json(), { status: 'ok', head: '0x0' })
    t.equal((await fetch(h.url + '/metrics')).status, 404, 'no metrics handler configured')
    const cors = await fetch(h.url, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', headers: { origin: 'http://dapp.test', 'content-type': 'application/json' } })
    t.equal(cors.headers.get('access-control-allow-origin'), '*')
    const pre = await fetch(h.url, { method: 'OPTIONS', headers: { origin: 'http://dapp.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } })
    t.equal(pre.status, 204)
    t.match(pre.headers.get('access-control-allow-methods'), /POST/)
    const put = await fetch(h.url, { method: 'PUT', body: '{}' })
    t.equal(put.status, 405)
    const head = h.backend.head
    h.backend.head = () => {
      throw new Error('no head yet')
    }
    t.equal((await fetch(h.url + '/health')).status, 500, 'a throwing backend is a 500, not a crash')
    h.backend.head = head
    t.equal((await fetch(h.url + '/health')).status, 200)
  })

  t.test('keep-alive timeouts are generous', async (t) => {
    const agent = new http.Agent({ keepAlive: true })
    const once = () =>
      new Promise<string>((resolve, reject) => {
        const req = http.request(h.url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          t.match(res.headers['keep-alive'], /timeout=65/)
          let b = ''
          res.on('data', (c) => (b += c))
          res.on('end', () => resolve(b))
        })
        req.on('error', reject)
        req.end('{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}')
      })
    await once()
    await once()
    agent.destroy()
  })
})

t.test('restricted CORS and metrics handler', async (t) => {
  const h = await startHarness({
    corsOrigins: ['http://good.test'],
    metricsHandler: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'povchain_up 1\n' }),
  })
  t.teardown(() => h.close())
  const good = await fetch(h.url, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', headers: { origin: 'http://good.test', 'content-type': 'application/json' } })
  t.equal(good.headers.get('access-control-allow-origin'), 'http://good.test')
  const bad = await fetch(h.url, { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', headers: { origin: 'http://evil.test', 'content-type': 'application/json' } })
  t.equal(bad.headers.get('access-control-allow-origin'), null)
  const m = await fetch(h.url + '/metrics')
  t.equal(m.status, 200)
  t.match(m.headers.get('content-type'), /text\/plain/)
  t.equal(await m.text(), 'povchain_up 1\n')
})

t.test('a storm of bad input leaves the server serving', async (t) => {
  const h = await startHarness({ maxBodyBytes: 16 * 1024 })
  t.teardown(() => h.close())
  const junk = ['{', '[]', '[{}]', '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xZZ"]}', 'x'.repeat(20 * 1024), '{"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[{"topics":[[1,2]]}]}']
  await Promise.all(Array.from({ length: 200 }, (_, i) => h.post(junk[i % junk.length]!).catch(() => undefined)))
  t.equal(await h.result('eth_chainId'), '0x7a69')
})
