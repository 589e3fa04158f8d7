/**
 * How the node serves the explorer next to JSON-RPC, and what a hostile page can do with it:
 * - the node's own page may open the WebSocket without --ws.origins, and only it: an upgrade
 *   from another port, another name, https, or a rebinding name (refused by --http.vhosts
 *   first) gets 403, as does the page's own origin when the explorer is off;
 * - files come from memory only: an encoded `..` reads nothing from disk;
 * - a browser's GET / is redirected, a JSON-RPC client's GET / and POST / are unchanged, and a
 *   text/plain POST is still 415;
 * - every page carries a CSP that allows only the node's own scripts and RPC endpoints.
 */
import http from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ExplorerSite } from '../explorer/ExplorerSite.js'
import { defaultRpcOptions, startRpcServers, type RpcServersHandle } from '../rpc/index.js'
import { FixtureBackend } from '../rpc/test/FixtureBackend.js'

function request(url: string, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers ?? {} }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** A browser's WebSocket handshake with the given Origin and Host; resolves to the HTTP status (101 = opened). */
function upgrade(wsUrl: string, origin: string, host?: string): Promise<number> {
  const u = new URL(wsUrl)
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname,
      port: u.port,
      path: '/',
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', origin, host: host ?? u.host },
    })
    req.on('upgrade', (_res, socket) => {
      socket.destroy()
      resolve(101)
    })
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode!)
    })
    req.on('error', reject)
    req.end()
  })
}

// What a node outside --dev serves: closed CORS and WS origins.
const CLOSED = { corsOrigins: defaultRpcOptions.corsOrigins, wsOrigins: defaultRpcOptions.wsOrigins, vhosts: ['localhost'] }

async function serve(t: { teardown(fn: () => unknown): void }, pages: boolean): Promise<RpcServersHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'povchain-explorer-site-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>')
  writeFileSync(join(dir, 'app.js'), 'console.log(1)')
  const site = new ExplorerSite({ chainId: 1, contracts: [] }, dir)
  const handle = await startRpcServers({ ...CLOSED, httpAddr: '127.0.0.1', httpPort: 0, wsAddr: '127.0.0.1', wsPort: 0, ...(pages ? { pages: site } : {}) }, { backend: new FixtureBackend() })
  t.teardown(() => handle.close())
  return handle
}

t.test("only the node's own page opens the WebSocket without --ws.origins", async (t) => {
  const h = await serve(t, true)
  const httpPort = Number(new URL(h.httpUrl!).port)
  const wsPort = Number(new URL(h.wsUrl!).port)
  t.equal(await upgrade(h.wsUrl!, `http://127.0.0.1:${httpPort}`), 101, 'the explorer page (same name, the HTTP port)')
  t.equal(await upgrade(h.wsUrl!, `http://localhost:${httpPort}`, `localhost:${wsPort}`), 101, 'reached as localhost (a --http.vhosts name)')
  t.equal(await upgrade(h.wsUrl!, `http://127.0.0.1:${httpPort + 1}`), 403, 'a page on another port of the same host')
  t.equal(await upgrade(h.wsUrl!, `http://localhost:${httpPort}`), 403, 'a page whose name differs from the Host it connects to')
  t.equal(await upgrade(h.wsUrl!, `https://127.0.0.1:${httpPort}`), 403, 'https is not the node page')
  t.equal(await upgrade(h.wsUrl!, `http://attacker.example:${httpPort}`, `attacker.example:${wsPort}`), 403, 'DNS rebinding: its name is refused first')
  t.equal(await upgrade(h.wsUrl!, 'null'), 403, 'an opaque origin (sandboxed frame, file:)')
  t.equal(await upgrade(h.wsUrl!, `http://127.0.0.1:${httpPort}/x`), 403, 'an origin with a path is no origin')
})

t.test('with the explorer off, its origin is an ordinary one again', async (t) => {
  const h = await serve(t, false)
  const httpPort = Number(new URL(h.httpUrl!).port)
  t.equal(await upgrade(h.wsUrl!, `http://127.0.0.1:${httpPort}`), 403)
  const r = await request(h.httpUrl!, { path: '/', headers: { accept: 'text/html' } })
  t.equal(r.status, 200, 'no redirect')
  t.equal((await request(h.httpUrl!, { path: '/explorer/' })).status, 404)
})

t.test('pages, files and JSON-RPC side by side', async (t) => {
  const h = await serve(t, true)
  const wsPort = Number(new URL(h.wsUrl!).port)
  const browserRoot = await request(h.httpUrl!, { path: '/', headers: { accept: 'text/html,application/xhtml+xml' } })
  t.equal(browserRoot.status, 302)
  t.equal(browserRoot.headers.location, '/explorer/')
  const clientRoot = await request(h.httpUrl!, { path: '/' })
  t.equal(clientRoot.status, 200)
  t.match(clientRoot.text, /POST JSON-RPC/)
  const post = await request(h.httpUrl!, { method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' })
  t.match(JSON.parse(post.text), { id: 1, result: /^0x/ })
  t.equal((await request(h.httpUrl!, { method: 'POST', path: '/', headers: { 'content-type': 'text/plain' }, body: '{}' })).status, 415)
  t.equal((await request(h.httpUrl!, { method: 'POST', path: '/explorer/', headers: { 'content-type': 'text/plain' }, body: '{}' })).status, 415, 'a POST to a page path is JSON-RPC, with its checks')

  const page = await request(h.httpUrl!, { path: '/explorer/' })
  t.equal(page.status, 200)
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  t.equal(page.headers['x-frame-options'], 'DENY')
  const csp = String(page.headers['content-security-policy'])
  t.match(csp, "default-src 'none'")
  t.match(csp, "script-src 'self'")
  t.match(csp, `connect-src 'self' ws://127.0.0.1:${wsPort}`)
  t.notMatch(csp, /unsafe-inline|unsafe-eval|\*/, 'no inline or eval scripts, no wildcard')
  t.equal((await request(h.httpUrl!, { path: '/explorer/app.js' })).headers['content-type'], 'text/javascript; charset=utf-8')
  t.equal((await request(h.httpUrl!, { path: '/explorer' })).status, 301)
  const cfg = JSON.parse((await request(h.httpUrl!, { path: '/explorer/config.json', headers: { host: `localhost:${new URL(h.httpUrl!).port}` } })).text)
  t.match(cfg, { rpcPath: '/', wsUrl: `ws://localhost:${wsPort}`, chainId: 1 })
  const head = await request(h.httpUrl!, { method: 'HEAD', path: '/explorer/app.js' })
  t.equal(head.status, 200)
  t.equal(head.text, '')

  for (const path of ['/explorer/%2e%2e/%2e%2e/package.json', '/explorer/..%2f..%2fpackage.json', '/explorer/%2fetc%2fpasswd', '/explorer/nothing.js']) {
    const r = await request(h.httpUrl!, { path })
    t.equal(r.status, 404, `${path}: not found`)
    t.notMatch(r.text, /povchain|root:/)
  }
  t.equal((await request(h.httpUrl!, { path: '/explorer/', headers: { host: 'attacker.example' } })).status, 403, 'the Host check covers the pages')
})
