/**
 * Issue 17, "browser to localhost": what a web page can do to a node on 127.0.0.1.
 * - a cross-origin "simple" POST (text/plain, a form, no type) carries no preflight: refused
 *   with 415 before the body is read, so an eth_sendTransaction inside never runs;
 * - DNS rebinding (the attacker's name re-pointed at 127.0.0.1): the request carries
 *   `Host: attacker.example` and is refused with 403 "invalid host specified", on POST, GET
 *   /metrics and the WebSocket upgrade; IP literals and --http.vhosts names pass;
 * - CORS and WS Origin are closed by default; the preflight of a JSON POST gets no allow header;
 * - namespaces: admin, debug and account signing are not served by default (-32601 as Geth),
 *   over HTTP and WS; --http.api / --ws.api choose; a typo in them stops the start.
 */
import http from 'node:http'
import t from 'tap'
import { defaultRpcOptions, startRpcServers } from '../index.js'
import { FixtureBackend } from './FixtureBackend.js'
import { startHarness, WsClient } from './helpers.js'

const SEND = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{ from: '0x7e5f4552091a69125d5dfcb7b8c2659029395bdf', to: '0x000000000000000000000000000000000000dead', value: '0x1' }] })
const CHAIN_ID = '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'

/** A raw request with the headers a browser (or a rebinding page) would send; node:http lets us set Host. */
function raw(url: string, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: opts.method ?? 'POST', path: opts.path ?? '/', headers: opts.headers ?? {} }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** The rpc/ defaults (what a node outside --dev serves), not the harness's opened ones. */
const CLOSED = { corsOrigins: defaultRpcOptions.corsOrigins, wsOrigins: defaultRpcOptions.wsOrigins, httpApi: defaultRpcOptions.httpApi, wsApi: defaultRpcOptions.wsApi }

t.test('a cross-origin simple POST never reaches a method, even with every namespace open', async (t) => {
  const backend = new FixtureBackend()
  let sent = 0
  const send = backend.sendTransaction.bind(backend)
  backend.sendTransaction = async (req) => {
    sent++
    return send(req)
  }
  const h = await startHarness({}, backend)
  t.teardown(() => h.close())
  for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', '']) {
    const headers: Record<string, string> = { origin: 'http://attacker.example' }
    if (type) headers['content-type'] = type
    const r = await raw(h.url, { headers, body: SEND })
    t.equal(r.status, 415, `Content-Type '${type || '(none)'}' → 415`)
    t.match(JSON.parse(r.text).error.message, /invalid content type, only application\/json is supported/)
  }
  t.equal(sent, 0, 'no transaction was sent by any of them')
  for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8']) {
    const r = await raw(h.url, { headers: { 'content-type': type }, body: SEND })
    t.equal(r.status, 200, `'${type}' is served`)
    t.ok(JSON.parse(r.text).result, 'and the call runs')
  }
  t.equal(sent, 3)
})

t.test('DNS rebinding: a Host that is not an IP or a --http.vhosts name is refused (HTTP and WS)', async (t) => {
  const h = await startHarness({ vhosts: defaultRpcOptions.vhosts })
  t.teardown(() => h.close())
  const port = new URL(h.url).port
  const post = (host: string) => raw(h.url, { headers: { host, 'content-type': 'application/json' }, body: CHAIN_ID })
  for (const host of [`attacker.example:${port}`, 'attacker.example', `LOCALHOST.attacker.example:${port}`, `localhost.:${port}`]) {
    const r = await post(host)
    t.equal(r.status, 403, `Host ${host} → 403`)
    t.equal(r.text, 'invalid host specified\n')
  }
  t.equal((await raw(h.url, { method: 'GET', path: '/metrics', headers: { host: 'attacker.example' } })).status, 403, 'GET endpoints too')
  for (const host of [`localhost:${port}`, 'LocalHost', `127.0.0.1:${port}`, `[::1]:${port}`, '10.1.2.3', '::1']) {
    const r = await post(host)
    t.equal(r.status, 200, `Host ${host} is served`)
    t.equal(JSON.parse(r.text).result, '0x7a69')
  }
  for (const url of [h.wsUrl, h.url.replace('http', 'ws')]) {
    const evil = new WsClient(url, { host: `attacker.example:${port}` })
    await t.rejects(evil.open(), /403/, `WS upgrade on ${url} with a foreign Host → 403`)
    const ok = new WsClient(url, { host: `localhost:${port}` })
    await ok.open()
    t.equal((await ok.call('eth_chainId')).result, '0x7a69', 'localhost upgrades')
    ok.close()
  }

  const named = await startHarness({ vhosts: ['node.internal'] })
  t.teardown(() => named.close())
  t.equal((await raw(named.url, { headers: { host: 'node.internal:80', 'content-type': 'application/json' }, body: CHAIN_ID })).status, 200, 'a configured name passes')
  t.equal((await raw(named.url, { headers: { host: 'localhost', 'content-type': 'application/json' }, body: CHAIN_ID })).status, 403, 'localhost only when listed')
  const any = await startHarness({ vhosts: ['*'] })
  t.teardown(() => any.close())
  t.equal((await raw(any.url, { headers: { host: 'whatever.example', 'content-type': 'application/json' }, body: CHAIN_ID })).status, 200, "'*' allows every name")
})

t.test('CORS and WS Origin are closed by default', async (t) => {
  const h = await startHarness({ ...CLOSED })
  t.teardown(() => h.close())
  const pre = await raw(h.url, { method: 'OPTIONS', headers: { origin: 'http://attacker.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } })
  t.equal(pre.headers['access-control-allow-origin'], undefined, 'the preflight of a JSON POST allows no origin, so the browser never sends it')
  const post = await raw(h.url, { headers: { origin: 'http://attacker.example', 'content-type': 'application/json' }, body: CHAIN_ID })
  t.equal(post.headers['access-control-allow-origin'], undefined, 'and no response is readable cross-origin')
  const browser = new WsClient(h.wsUrl, { origin: 'http://attacker.example' })
  await t.rejects(browser.open(), /403/, 'a browser page cannot open the WebSocket')
  const tool = new WsClient(h.wsUrl)
  await tool.open()
  t.equal((await tool.call('eth_chainId')).result, '0x7a69', 'a client without Origin (not a browser) can')
  tool.close()
})

t.test('namespaces: admin, debug and account signing are off by default, on when named', async (t) => {
  const h = await startHarness({ ...CLOSED })
  t.teardown(() => h.close())
  const ws = new WsClient(h.wsUrl)
  await ws.open()
  t.teardown(() => ws.close())
  const calls: [string, unknown[]][] = [
    ['eth_sendTransaction', [{ from: '0x7e5f4552091a69125d5dfcb7b8c2659029395bdf' }]],
    ['eth_sign', ['0x7e5f4552091a69125d5dfcb7b8c2659029395bdf', '0x00']],
    ['eth_signTransaction', [{ from: '0x7e5f4552091a69125d5dfcb7b8c2659029395bdf' }]],
    ['eth_signTypedData_v4', ['0x7e5f4552091a69125d5dfcb7b8c2659029395bdf', {}]],
    ['personal_sign', ['0x00', '0x7e5f4552091a69125d5dfcb7b8c2659029395bdf']],
    ['admin_peers', []],
    ['admin_nodeInfo', []],
    ['debug_getRawHeader', ['latest']],
  ]
  for (const [method, params] of calls) {
    for (const [name, r] of [['HTTP', await h.call(method, params)], ['WS', await ws.call(method, params)]] as const) {
      t.same(r.error, { code: -32601, message: `the method ${method} does not exist/is not available` }, `${method} over ${name}: -32601 like Geth`)
    }
  }
  for (const m of ['eth_chainId', 'net_version', 'web3_clientVersion', 'txpool_status', 'eth_accounts']) t.notOk((await h.call(m)).error, `${m} is served`)
  t.notOk((await ws.call('eth_blockNumber')).error, 'WS serves eth_ too')

  const admin = await startHarness({ ...CLOSED, httpApi: ['eth', 'admin'], wsApi: ['eth', 'personal'] })
  t.teardown(() => admin.close())
  t.notOk((await admin.call('admin_nodeInfo')).error, '--http.api eth,admin serves admin_')
  t.equal((await admin.call('net_version')).error?.code, -32601, '… and only what it names')
  t.equal((await admin.call('eth_sendTransaction', [{ from: '0x7e5f4552091a69125d5dfcb7b8c2659029395bdf' }])).error?.code, -32601, 'signing stays off over HTTP')
  const aws = new WsClient(admin.wsUrl)
  await aws.open()
  t.match((await aws.call('eth_sendTransaction', [{ from: '0x7e5f4552091a69125d5dfcb7b8c2659029395bdf' }])).result, /^0x/, '--ws.api …,personal serves signing over WS')
  t.equal((await aws.call('admin_nodeInfo')).error?.code, -32601)
  aws.close()
})

t.test('an unknown namespace in --http.api / --ws.api stops the start with a message that names it', async (t) => {
  const base = { httpAddr: '127.0.0.1', httpPort: 0, wsAddr: '127.0.0.1', wsPort: 0 }
  await t.rejects(startRpcServers({ ...base, httpApi: ['eth', 'amdin'] }, { backend: new FixtureBackend() }), { name: 'UnknownApiNamespaceError', message: /--http\.api: unknown namespace amdin \(known: .*admin.*personal/ })
  await t.rejects(startRpcServers({ ...base, wsApi: ['eht'] }, { backend: new FixtureBackend() }), { message: /--ws\.api: unknown namespace eht/ })
})
