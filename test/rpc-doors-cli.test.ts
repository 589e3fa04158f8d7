/**
 * The browser/namespace doors through the command line (issue 17): `povchain node --dev` says
 * what it opens and serves signing; `--http.api`, `--ws.api`, `--http.vhosts` and
 * `--http.corsdomain` given on the command line reach the servers and win over --dev; a typo
 * in a namespace stops the node with a message naming it.
 */
import http from 'node:http'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { WebSocket } from 'ws'
import { DEV_KEYS, ROOT, rpcRaw, startNodeProcess, tempDir } from './helpers/devnode.js'
import { privateKeyToAddress } from 'viem/accounts'

const from = privateKeyToAddress(DEV_KEYS[0] as `0x${string}`)

function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/', headers }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

function wsCall(url: string, method: string): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.on('error', reject)
    ws.on('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [] })))
    ws.on('message', (d) => {
      ws.close()
      resolve(JSON.parse(d.toString()))
    })
  })
}

t.test('--dev opens signing, CORS and every namespace, and says so', async (t) => {
  const tmp = tempDir()
  t.teardown(tmp.cleanup)
  const n = await startNodeProcess({ datadir: tmp.dir, timeoutMs: 90_000 })
  t.teardown(() => n.stop())
  t.match(n.output(), /--dev opens the JSON-RPC ports to browsers of any origin/, 'the warning is logged')
  t.match((await rpcRaw(n.httpUrl, 'eth_sendTransaction', [{ from, to: from, value: '0x1' }])).result, /^0x[0-9a-f]{64}$/, 'eth_sendTransaction is served')
  t.notOk((await rpcRaw(n.httpUrl, 'admin_nodeInfo')).error, 'admin_ is served')
  const cors = await post(n.httpUrl, { origin: 'http://dapp.test', 'content-type': 'application/json' }, '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}')
  t.equal(cors.headers['access-control-allow-origin'], '*', 'CORS open to any page')
  const plain = await post(n.httpUrl, { origin: 'http://dapp.test', 'content-type': 'text/plain' }, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{ from, to: from, value: '0x1' }] }))
  t.equal(plain.status, 415, 'but a text/plain POST is still refused')
  const rebound = await post(n.httpUrl, { host: 'attacker.example', 'content-type': 'application/json' }, '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}')
  t.equal(rebound.status, 403, 'and so is a rebound host name')
})

t.test('flags reach the servers and win over --dev', async (t) => {
  const tmp = tempDir()
  t.teardown(tmp.cleanup)
  const n = await startNodeProcess({ datadir: tmp.dir, args: ['--http.api', 'eth,net,web3', '--ws.api', 'eth,admin', '--http.vhosts', 'node.test', '--http.corsdomain', 'http://wallet.test'], timeoutMs: 90_000 })
  t.teardown(() => n.stop())
  const send = await rpcRaw(n.httpUrl, 'eth_sendTransaction', [{ from, to: from, value: '0x1' }])
  t.same(send.error, { code: -32601, message: 'the method eth_sendTransaction does not exist/is not available' }, 'signing off over HTTP')
  t.equal((await rpcRaw(n.httpUrl, 'admin_nodeInfo')).error?.code, -32601, 'admin off over HTTP')
  t.notOk((await wsCall(n.wsUrl, 'admin_nodeInfo')).error, 'admin on over WS (--ws.api eth,admin)')
  const json = { 'content-type': 'application/json' }
  const body = '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'
  t.equal((await post(n.httpUrl, { ...json, host: 'node.test:8545' }, body)).status, 200, '--http.vhosts name served')
  t.equal((await post(n.httpUrl, { ...json, host: 'localhost' }, body)).status, 403, 'localhost no longer listed')
  const cors = await post(n.httpUrl, { ...json, origin: 'http://evil.test' }, body)
  t.equal(cors.headers['access-control-allow-origin'], undefined, '--http.corsdomain replaces --dev\'s *')
  t.equal((await post(n.httpUrl, { ...json, origin: 'http://wallet.test' }, body)).headers['access-control-allow-origin'], 'http://wallet.test')
})

t.test('a typo in --http.api stops the node with the known namespaces', async (t) => {
  const tmp = tempDir()
  t.teardown(tmp.cleanup)
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'cli.ts'), 'node', '--dev', '--datadir', tmp.dir, '--http.port', '0', '--ws.port', '0', '--http.api', 'eth,amdin'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } })
  t.equal(r.status, 1, 'exit code 1')
  t.match(r.stderr + r.stdout, /--http\.api: unknown namespace amdin \(known: .*admin/, 'names the typo and the known ones')
})
