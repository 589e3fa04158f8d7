/**
 * Bad input over real HTTP and WebSocket against a node process: malformed transactions,
 * invalid JSON and JSON-RPC shapes, unknown methods, bad params, huge bodies, batches over
 * the limit, a 1000-request mixed batch, deeply nested JSON, pool rejections (nonce too low,
 * insufficient funds, replacement underpriced), future nonces (queued, mined once the gap
 * fills), eth_getLogs range limits. Each gets its error while the node keeps serving; the
 * error counters show up in GET /metrics.
 */
import { Transaction, Wallet, getAddress, hexlify, keccak256, randomBytes } from 'ethers'
import t, { type Test } from 'tap'
import http from 'node:http'
import WebSocket from 'ws'
import { CHAIN_ID, DEV_KEYS, hex, rpc, rpcRaw, startNodeProcess, tempDir, waitFor, type RpcResponse } from './helpers/devnode.js'

const LOGS_MAX_RANGE = 5

const tmp = tempDir('povchain-badinput-')
t.teardown(tmp.cleanup)
const node = await startNodeProcess({ datadir: tmp.dir, args: ['--rpc.logs-max-range', String(LOGS_MAX_RANGE)] })
t.teardown(() => node.kill())
const url = node.httpUrl

const ws = new WebSocket(node.wsUrl)
await new Promise<void>((resolve, reject) => {
  ws.once('open', () => resolve())
  ws.once('error', reject)
})
t.teardown(() => ws.close())
let wsId = 1_000_000
const wsWaiting = new Map<unknown, (v: unknown) => void>()
let wsUnmatched: unknown[] = []
ws.on('message', (data) => {
  const msg = JSON.parse(data.toString()) as unknown
  const id = Array.isArray(msg) ? (msg[0] as { id: unknown } | undefined)?.id : (msg as { id: unknown }).id
  const w = wsWaiting.get(id)
  if (w) {
    wsWaiting.delete(id)
    w(msg)
  } else wsUnmatched.push(msg)
})
/** Sends raw text over the WS connection; resolves with the next reply carrying `id` (null-id replies in arrival order). */
function wsSendText(text: string, id: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no WS reply for id ${JSON.stringify(id)}`)), 10_000)
    if (id === null) {
      // Replies with id null cannot be told apart: take the first unmatched one to arrive.
      const poll = setInterval(() => {
        if (wsUnmatched.length) {
          clearInterval(poll)
          clearTimeout(timer)
          resolve(wsUnmatched.shift())
        }
      }, 5)
    } else
      wsWaiting.set(id, (v) => {
        clearTimeout(timer)
        resolve(v)
      })
    ws.send(text)
  })
}
async function wsCall(method: string, params: unknown[]): Promise<RpcResponse> {
  const id = wsId++
  return (await wsSendText(JSON.stringify({ jsonrpc: '2.0', id, method, params }), id)) as RpcResponse
}

async function post(body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })
  return { status: res.status, text: await res.text() }
}

/**
 * POSTs with node:http and returns the response even when the server answers (and closes)
 * before the upload is finished, as it does for bodies over the limit.
 */
function postRaw(body: Buffer, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let answered = false
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      answered = true
      let text = ''
      const done = () => resolve({ status: res.statusCode ?? 0, text })
      res.on('data', (c: Buffer) => (text += c.toString()))
      res.on('end', done)
      res.on('close', done)
      res.on('error', done)
    })
    // The server closes after answering, so the upload may fail with EPIPE/ECONNRESET around
    // the answer; only fail when no answer arrived at all.
    req.on('error', (e) => setTimeout(() => answered || reject(e), 3000))
    // Write in chunks so the answer can arrive mid-upload.
    let off = 0
    const step = () => {
      while (off < body.length) {
        const chunk = body.subarray(off, off + 256 * 1024)
        off += chunk.length
        if (!req.write(chunk)) return void req.once('drain', step)
      }
      req.end()
    }
    step()
  })
}

/** The node still answers over HTTP and WS and its process is alive. */
async function stillServing(t: Test, what: string) {
  t.ok(node.alive(), `${what}: process alive`)
  const r = await rpcRaw<string>(url, 'eth_blockNumber')
  t.match(r.result, /^0x[0-9a-f]+$/, `${what}: eth_blockNumber over HTTP`)
  if (ws.readyState === WebSocket.OPEN) t.match((await wsCall('eth_blockNumber', [])).result, /^0x/, `${what}: eth_blockNumber over WS`)
}

const funder = new Wallet(DEV_KEYS[1]!)
const gasPrice = BigInt(await rpc<string>(url, 'eth_gasPrice'))
const randomAddress = () => getAddress(hexlify(randomBytes(20)))

async function sendRaw(raw: string, via: 'http' | 'ws' = 'http'): Promise<RpcResponse<string>> {
  return via === 'http' ? rpcRaw<string>(url, 'eth_sendRawTransaction', [raw]) : ((await wsCall('eth_sendRawTransaction', [raw])) as RpcResponse<string>)
}

t.test('malformed raw transactions', async (t) => {
  const nonce = Number(await rpc<string>(url, 'eth_getTransactionCount', [funder.address, 'pending']))
  const good = await funder.signTransaction({ type: 2, chainId: CHAIN_ID, nonce, to: randomAddress(), value: 1n, gasLimit: 21000n, maxFeePerGas: gasPrice * 2n, maxPriorityFeePerGas: 1n })
  const otherChain = await funder.signTransaction({ type: 2, chainId: 1n, nonce, to: randomAddress(), value: 1n, gasLimit: 21000n, maxFeePerGas: gasPrice * 2n, maxPriorityFeePerGas: 1n })
  const otherChainLegacy = await funder.signTransaction({ type: 0, chainId: 1n, nonce, to: randomAddress(), value: 1n, gasLimit: 21000n, gasPrice: gasPrice * 2n })
  // Bad signature: s = 0 (no sender can be recovered).
  const unsigned = Transaction.from(good)
  const badSig = Transaction.from({ ...unsigned.toJSON(), signature: { r: unsigned.signature!.r, s: `0x${'00'.repeat(31)}01`, yParity: unsigned.signature!.yParity } } as never).serialized
  // A blob transaction (type 3): the type byte and a plausible body.
  const blob = `0x03${good.slice(4)}`
  const cases: { name: string; raw: string; code: number; message: RegExp }[] = [
    { name: 'garbage bytes', raw: '0xdeadbeef', code: -32000, message: /./ },
    { name: 'truncated RLP', raw: good.slice(0, good.length - 20), code: -32000, message: /./ },
    { name: 'empty', raw: '0x', code: -32000, message: /too short|empty/ },
    { name: 'unknown type byte', raw: `0x05${good.slice(4)}`, code: -32000, message: /not supported/ },
    { name: 'wrong chain id (1559)', raw: otherChain, code: -32000, message: /^invalid chain id/ },
    { name: 'wrong chain id (legacy EIP-155)', raw: otherChainLegacy, code: -32000, message: /^invalid chain id/ },
    { name: 'bad signature (s = 1, low r/s ok but sender unrecoverable or different)', raw: badSig, code: -32000, message: /invalid sender|signature|insufficient funds/ },
    { name: 'bad signature (r out of range)', raw: rawWithSig(unsigned), code: -32000, message: /invalid sender|signature|invalid transaction/ },
    { name: 'unsupported type 3 blob', raw: blob, code: -32000, message: /^transaction type not supported/ },
    { name: 'not hex', raw: '0xzz', code: -32602, message: /./ },
    { name: 'odd-length hex', raw: '0x123', code: -32602, message: /./ },
  ]
  for (const via of ['http', 'ws'] as const)
    for (const c of cases) {
      const r = await sendRaw(c.raw, via)
      t.equal(r.error?.code, c.code, `${via} ${c.name}: code ${c.code} (${r.error?.message})`)
      t.match(r.error?.message ?? '', c.message, `${via} ${c.name}: message`)
    }
  await stillServing(t, 'after malformed txs')
  // The good one is still accepted afterwards.
  const ok = await sendRaw(good)
  t.ok(ok.result, `the valid tx is accepted (${ok.error?.message ?? ''})`)
  await waitFor(async () => (await rpcRaw(url, 'eth_getTransactionReceipt', [ok.result])).result, 'receipt')
})

/**
 * Encodes a type-2 transaction by hand, for what ethers refuses to build: with `key` it is
 * signed properly (e.g. a tip above the fee cap), without it the signature is r = 2^256-1
 * (out of range), s = 0x11…11.
 */
function rawWithSig(tx: Transaction, opts: { tip?: bigint; key?: string } = {}): string {
  const enc = (b: Uint8Array): Uint8Array => {
    if (b.length === 1 && b[0]! < 0x80) return b
    if (b.length < 56) return Uint8Array.of(0x80 + b.length, ...b)
    const l = beBytes(BigInt(b.length))
    return Uint8Array.of(0xb7 + l.length, ...l, ...b)
  }
  const list = (items: Uint8Array[]): Uint8Array => {
    const body = Buffer.concat(items)
    if (body.length < 56) return Uint8Array.of(0xc0 + body.length, ...body)
    const l = beBytes(BigInt(body.length))
    return Uint8Array.of(0xf7 + l.length, ...l, ...body)
  }
  const int = (n: bigint) => enc(beBytes(n))
  const bytes = (h: string) => enc(Buffer.from(h.replace(/^0x/, ''), 'hex'))
  const fields = [
    int(tx.chainId),
    int(BigInt(tx.nonce)),
    int(opts.tip ?? tx.maxPriorityFeePerGas!),
    int(tx.maxFeePerGas!),
    int(tx.gasLimit),
    bytes(tx.to!),
    int(tx.value),
    bytes(tx.data),
    list([]),
  ]
  let sig = { yParity: 0, r: `0x${'ff'.repeat(32)}`, s: `0x${'11'.repeat(32)}` }
  if (opts.key) {
    const s = new Wallet(opts.key).signingKey.sign(keccak256(Uint8Array.of(0x02, ...list(fields))))
    sig = { yParity: s.yParity, r: s.r, s: s.s }
  }
  const payload = list([...fields, int(BigInt(sig.yParity)), int(BigInt(sig.r)), int(BigInt(sig.s))])
  return `0x02${Buffer.from(payload).toString('hex')}`
}
function beBytes(n: bigint): Uint8Array {
  if (n === 0n) return new Uint8Array(0)
  let h = n.toString(16)
  if (h.length % 2) h = `0${h}`
  return Buffer.from(h, 'hex')
}

t.test('invalid JSON, wrong shapes, unknown methods', async (t) => {
  const parse = await post('{"jsonrpc":"2.0","id":1,"method":')
  t.equal(parse.status, 200)
  t.equal(JSON.parse(parse.text).error.code, -32700, 'HTTP: invalid JSON → -32700')
  t.equal(JSON.parse(parse.text).id, null)
  t.equal(((await wsSendText('{not json', null)) as RpcResponse).error?.code, -32700, 'WS: invalid JSON → -32700')

  const shapes: [string, unknown][] = [
    ['jsonrpc 1.0', { jsonrpc: '1.0', id: 1, method: 'eth_blockNumber' }],
    ['no jsonrpc', { id: 2, method: 'eth_blockNumber' }],
    ['no method', { jsonrpc: '2.0', id: 3 }],
    ['numeric method', { jsonrpc: '2.0', id: 4, method: 42 }],
    ['object id', { jsonrpc: '2.0', id: { a: 1 }, method: 'eth_blockNumber' }],
    ['a number', 42],
    ['a string', 'eth_blockNumber'],
    ['null', null],
    ['empty batch', []],
  ]
  for (const [name, body] of shapes) {
    const r = await post(JSON.stringify(body))
    const j = JSON.parse(r.text) as RpcResponse
    t.equal(j.error?.code, -32600, `HTTP ${name} → -32600`)
    const w = (await wsSendText(JSON.stringify(body), (body as { id?: unknown } | null)?.id !== undefined && typeof (body as { id: unknown }).id === 'number' ? (body as { id: number }).id : null)) as RpcResponse
    t.equal(w.error?.code, -32600, `WS ${name} → -32600`)
  }
  // A batch of non-objects: one -32600 per element.
  const batch = JSON.parse((await post('[1,2,3]')).text) as RpcResponse[]
  t.equal(batch.length, 3)
  t.ok(batch.every((e) => e.error?.code === -32600))

  for (const method of ['eth_doesNotExist', 'personal_unlockAccount', '', 'ETH_BLOCKNUMBER']) {
    t.equal((await rpcRaw(url, method)).error?.code, -32601, `HTTP unknown method ${JSON.stringify(method)} → -32601`)
    t.equal((await wsCall(method, [])).error?.code, -32601, `WS unknown method ${JSON.stringify(method)} → -32601`)
  }
  // Notifications (no id) get no reply, even when wrong.
  const note = await post(JSON.stringify({ jsonrpc: '2.0', method: 'eth_doesNotExist' }))
  t.equal(note.text, '', 'notification → empty reply')
  // Other HTTP verbs and paths.
  t.equal((await fetch(url, { method: 'PUT', body: '{}' })).status, 405)
  t.equal((await fetch(`${url}/nope`)).status, 404)
  t.equal((await fetch(`${url}/health`)).status, 200)
  await stillServing(t, 'after bad shapes')
})

t.test('bad params → -32602', async (t) => {
  const addr = funder.address
  const cases: [string, unknown[]][] = [
    ['eth_getBalance', ['xyz', 'latest']],
    ['eth_getBalance', ['0x1234', 'latest']],
    ['eth_getBalance', [`${addr}00`, 'latest']],
    ['eth_getBalance', [addr, 'newest']],
    ['eth_getBalance', [addr, '0xzz']],
    ['eth_getBalance', []],
    ['eth_getBalance', [addr, 'latest', 'extra']],
    ['eth_getBlockByNumber', ['0x', false]],
    ['eth_getBlockByNumber', ['0x01', false]],
    ['eth_getBlockByNumber', [1, false]],
    ['eth_getBlockByNumber', ['latest', 'yes']],
    ['eth_getBlockByHash', ['0x1234', false]],
    ['eth_getTransactionByHash', [`0x${'ab'.repeat(31)}`]],
    ['eth_getStorageAt', [addr, `0x${'1'.repeat(70)}`, 'latest']],
    ['eth_call', ['not an object', 'latest']],
    ['eth_call', [{ to: '0x12', data: '0x' }, 'latest']],
    ['eth_call', [{ to: addr, data: '0xabc' }, 'latest']],
    ['eth_call', [{ to: addr, value: '0x-1' }, 'latest']],
    ['eth_call', [{ to: addr, gas: `0x${'f'.repeat(70)}` }, 'latest']],
    ['eth_getLogs', [{ fromBlock: 'first' }]],
    ['eth_getLogs', [{ topics: ['0x12'] }]],
    ['eth_getLogs', [{ address: 'nope' }]],
    ['eth_feeHistory', ['0x5', 'latest', 'p50']],
    ['eth_sendRawTransaction', []],
    ['eth_sendRawTransaction', [42]],
    ['web3_sha3', ['hello']],
  ]
  for (const [method, params] of cases) {
    const h = await rpcRaw(url, method, params)
    t.equal(h.error?.code, -32602, `HTTP ${method}(${JSON.stringify(params).slice(0, 60)}) → -32602 (${h.error?.message ?? JSON.stringify(h.result)})`)
  }
  for (const [method, params] of cases.slice(0, 8)) {
    const w = await wsCall(method, params)
    t.equal(w.error?.code, -32602, `WS ${method}(${JSON.stringify(params).slice(0, 60)}) → -32602`)
  }
  t.equal((await rpcRaw(url, 'eth_subscribe', ['newHeads'])).error?.code, -32601, 'eth_subscribe over HTTP → -32601 notifications not supported (Geth ≥ 1.11)')
  t.equal((await wsCall('eth_subscribe', [])).error?.code, -32602, 'WS eth_subscribe without a kind → -32602')
  t.equal((await wsCall('eth_subscribe', ['nope'])).error?.code, -32601, 'WS eth_subscribe of an unknown kind → -32601 (Geth: no such subscription)')
  // params as an object is not supported (positional only).
  const r = JSON.parse((await post(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'eth_getBalance', params: { address: addr } }))).text) as RpcResponse
  t.equal(r.error?.code, -32602, 'named params → -32602')
  await stillServing(t, 'after bad params')
})

t.test('huge bodies, oversized and mixed batches, deep nesting', async (t) => {
  const big = Buffer.alloc(6 * 1024 * 1024, 0x20)
  big.write('{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":["')
  // Through fetch (undici, what ethers and viem use in Node): a clear 413, not "fetch failed".
  const r = await post(big)
  t.equal(r.status, 413, `HTTP body > 5 MiB → 413 (${r.text.slice(0, 120)})`)
  t.match(r.text, /too large/)
  t.equal(JSON.parse(r.text).error.code, -32600)
  // node:http with a declared length, and a chunked upload without one.
  const declared = await postRaw(big, { 'content-length': String(big.length) })
  t.equal(declared.status, 413, 'node:http, declared length → 413')
  const chunked = await postRaw(big, { 'transfer-encoding': 'chunked' })
  t.equal(chunked.status, 413, 'chunked body > 5 MiB → 413')
  await stillServing(t, 'after a huge HTTP body')

  // Over WS a message above the limit closes that connection (1009); others are unaffected.
  const big2 = new WebSocket(node.wsUrl)
  await new Promise((res, rej) => {
    big2.once('open', res)
    big2.once('error', rej)
  })
  const closed = new Promise<number>((res) => big2.once('close', (code) => res(code)))
  big2.on('error', () => {})
  big2.send(big)
  t.equal(await closed, 1009, 'WS message > 5 MiB → close 1009 (message too big)')
  await stillServing(t, 'after a huge WS message')

  // Batch over the limit (1000).
  const over = Array.from({ length: 1001 }, (_, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'eth_blockNumber' }))
  const o = JSON.parse((await post(JSON.stringify(over))).text) as RpcResponse[]
  t.equal(o.length, 1, 'one error for the whole batch')
  t.equal(o[0]!.error?.code, -32600)
  t.match(o[0]!.error?.message, /batch too large/)
  const ow = (await wsSendText(JSON.stringify(over), 1)) as RpcResponse[]
  t.match(ow[0]!.error?.message, /batch too large/, 'WS: batch too large')

  // A batch of exactly 1000 mixed requests: answers in order, notifications skipped.
  const mixed: unknown[] = []
  const expect = new Map<number, 'ok' | number>()
  for (let i = 0; i < 1000; i++) {
    const id = i + 1
    switch (i % 8) {
      case 0:
        mixed.push({ jsonrpc: '2.0', id, method: 'eth_blockNumber' })
        expect.set(id, 'ok')
        break
      case 1:
        mixed.push({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: [funder.address, 'latest'] })
        expect.set(id, 'ok')
        break
      case 2:
        mixed.push({ jsonrpc: '2.0', id, method: 'eth_nope' })
        expect.set(id, -32601)
        break
      case 3:
        mixed.push({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: ['bad'] })
        expect.set(id, -32602)
        break
      case 4:
        mixed.push({ jsonrpc: '2.0', method: 'eth_blockNumber' }) // notification
        break
      case 5:
        mixed.push({ jsonrpc: '1.0', id, method: 'eth_chainId' })
        expect.set(id, -32600)
        break
      case 6:
        mixed.push({ jsonrpc: '2.0', id: `s${id}`, method: 'eth_chainId' })
        break
      case 7:
        mixed.push({ jsonrpc: '2.0', id, method: 'eth_call', params: [{ to: funder.address, data: '0x' }, 'latest'] })
        expect.set(id, 'ok')
        break
    }
  }
  for (const [name, send] of [
    ['HTTP', async () => JSON.parse((await post(JSON.stringify(mixed))).text) as RpcResponse[]],
    ['WS', async () => (await wsSendText(JSON.stringify(mixed), 1)) as RpcResponse[]],
  ] as const) {
    const out = await send()
    t.equal(out.length, 1000 - 125, `${name}: ${out.length} replies (125 notifications unanswered)`)
    let bad = 0
    for (const rsp of out) {
      if (typeof rsp.id === 'string') {
        if (rsp.result !== '0x7a69') bad++
        continue
      }
      const e = expect.get(rsp.id as number)
      if (e === 'ok' ? rsp.error !== undefined : rsp.error?.code !== e) bad++
    }
    t.equal(bad, 0, `${name}: every reply has the expected result or error`)
    const ids = out.map((x) => x.id)
    t.same(ids, mixed.filter((m) => (m as { id?: unknown }).id !== undefined).map((m) => (m as { id: unknown }).id), `${name}: replies in request order`)
  }

  // Deeply nested JSON: as a body, as params, as a batch element.
  const depth = 100_000
  for (const [name, text] of [
    ['nested arrays body', '['.repeat(depth) + ']'.repeat(depth)],
    ['nested objects in params', `{"jsonrpc":"2.0","id":7,"method":"eth_call","params":[{"to":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}]}`],
    ['nested arrays in params', `{"jsonrpc":"2.0","id":8,"method":"eth_getBalance","params":[${'['.repeat(depth)}${']'.repeat(depth)}]}`],
    ['unterminated nesting', '['.repeat(depth)],
  ] as const) {
    const h = await post(text)
    t.equal(h.status, 200, `${name}: HTTP 200`)
    const j = JSON.parse(h.text) as RpcResponse | RpcResponse[]
    const err = Array.isArray(j) ? j[0]!.error : j.error
    t.ok(err && [-32700, -32600, -32602].includes(err.code), `${name}: ${err?.code} ${err?.message}`)
  }
  await stillServing(t, 'after deep nesting')
})

t.test('pool rejections: nonce too low, insufficient funds, replacement underpriced, fee cap', async (t) => {
  const w = new Wallet(DEV_KEYS[2]!)
  const tx = (nonce: number, extra: Record<string, unknown> = {}) =>
    w.signTransaction({ type: 2, chainId: CHAIN_ID, nonce, to: randomAddress(), value: 1n, gasLimit: 21000n, maxFeePerGas: gasPrice * 2n, maxPriorityFeePerGas: 1n, ...extra })
  const first = await rpc<string>(url, 'eth_sendRawTransaction', [await tx(0)])
  await waitFor(async () => (await rpcRaw(url, 'eth_getTransactionReceipt', [first])).result, 'first mined')
  const low = await sendRaw(await tx(0))
  t.equal(low.error?.code, -32000)
  t.match(low.error?.message, /^nonce too low/, `nonce too low (${low.error?.message})`)
  const lowWs = await sendRaw(await tx(0, { value: 2n }), 'ws')
  t.match(lowWs.error?.message, /^nonce too low/, 'WS: nonce too low')

  const poor = Wallet.createRandom()
  const broke = await sendRaw(await poor.signTransaction({ type: 2, chainId: CHAIN_ID, nonce: 0, to: randomAddress(), value: 1n, gasLimit: 21000n, maxFeePerGas: gasPrice * 2n, maxPriorityFeePerGas: 1n }))
  t.equal(broke.error?.code, -32000)
  t.match(broke.error?.message, /^insufficient funds for gas \* price \+ value/, `insufficient funds (${broke.error?.message})`)
  const tooMuch = await sendRaw(await tx(1, { value: 10n ** 24n }))
  t.match(tooMuch.error?.message, /^insufficient funds/, 'value above the balance')

  // Already known: the same queued tx twice.
  const queued = await tx(5)
  const q1 = await sendRaw(queued)
  t.ok(q1.result, 'future nonce accepted (queued)')
  const q2 = await sendRaw(queued)
  t.match(q2.error?.message, /already known/, 'resubmitting → already known')
  // Replacement of the queued tx with the same price → underpriced; +10% → replaces.
  const same = await sendRaw(await tx(5, { value: 2n }))
  t.equal(same.error?.code, -32000)
  t.match(same.error?.message, /^replacement transaction underpriced/, `replacement underpriced (${same.error?.message})`)
  const bumped = await sendRaw(await tx(5, { value: 3n, maxFeePerGas: (gasPrice * 2n * 111n) / 100n, maxPriorityFeePerGas: 2n }))
  t.ok(bumped.result, `a ≥10% bump replaces (${bumped.error?.message ?? ''})`)

  // Intrinsic gas, gas above the block limit, tip above fee cap.
  const lowGas = await sendRaw(await tx(1, { gasLimit: 20000n }))
  t.match(lowGas.error?.message, /^intrinsic gas too low/, 'intrinsic gas too low')
  const hugeGas = await sendRaw(await tx(1, { gasLimit: 1_000_000_000n }))
  t.match(hugeGas.error?.message, /^exceeds block gas limit/, 'exceeds block gas limit')
  const tipAbove = await sendRaw(rawWithTipAboveCap(await tx(1)))
  t.equal(tipAbove.error?.code, -32000, `tip above fee cap (${tipAbove.error?.message})`)
  await stillServing(t, 'after pool rejections')
  futureState = { wallet: w, replacedBy: bumped.result!, replaced: q1.result! }
})

let futureState: { wallet: Wallet; replacedBy: string; replaced: string } | undefined

/** ethers refuses to sign a tip above the fee cap; build one by hand from a good tx. */
function rawWithTipAboveCap(good: string): string {
  const g = Transaction.from(good)
  return rawWithSig(g, { tip: g.maxFeePerGas! + 1n, key: DEV_KEYS[2]! })
}

t.test('a future nonce is queued (even in automine) and mined once the gap fills', async (t) => {
  const { wallet: w, replacedBy, replaced } = futureState!
  const next = Number(await rpc<string>(url, 'eth_getTransactionCount', [w.address, 'latest']))
  t.equal(next, 1)
  const content = await rpc<{ pending: Record<string, Record<string, unknown>>; queued: Record<string, Record<string, { hash: string }>> }>(url, 'txpool_content')
  const mine = Object.entries(content.queued).find(([a]) => a.toLowerCase() === w.address.toLowerCase())?.[1]
  t.ok(mine?.['5'], 'nonce 5 is in txpool_content.queued')
  t.equal(mine?.['5']?.hash, replacedBy, 'the replacement is what is queued')
  const status = await rpc<{ queued: string }>(url, 'txpool_status')
  t.ok(Number(status.queued) >= 1, 'txpool_status counts it')
  const pendingTx = await rpc<{ blockHash: string | null } | null>(url, 'eth_getTransactionByHash', [replacedBy])
  t.ok(pendingTx, 'a queued tx is visible by hash')
  t.equal(pendingTx?.blockHash ?? null, null)
  const head = Number(await rpc<string>(url, 'eth_blockNumber'))
  t.equal(Number(await rpc<string>(url, 'eth_blockNumber')), head, 'no block mined for the queued tx')

  // Fill nonces 1..4: everything becomes executable and is mined, nonce 5 included.
  const hashes: string[] = []
  for (let n = 1; n <= 4; n++)
    hashes.push(await rpc<string>(url, 'eth_sendRawTransaction', [await w.signTransaction({ type: 2, chainId: CHAIN_ID, nonce: n, to: randomAddress(), value: 1n, gasLimit: 21000n, maxFeePerGas: gasPrice * 2n, maxPriorityFeePerGas: 1n })]))
  const r5 = await waitFor(async () => (await rpcRaw<{ status: string; blockNumber: string } | null>(url, 'eth_getTransactionReceipt', [replacedBy])).result, 'queued tx mined after the gap filled')
  t.equal(r5.status, '0x1')
  for (const h of hashes) t.ok((await rpcRaw(url, 'eth_getTransactionReceipt', [h])).result, `gap tx ${h.slice(0, 10)} mined`)
  t.equal((await rpcRaw(url, 'eth_getTransactionReceipt', [replaced])).result, null, 'the replaced tx never mined')
  t.equal(Number(await rpc<string>(url, 'eth_getTransactionCount', [w.address, 'latest'])), 6)
  await stillServing(t, 'after the queue drained')
})

t.test('eth_getLogs range too large; unknown filters', async (t) => {
  // Make sure there are more blocks than the range limit.
  const w = new Wallet(DEV_KEYS[3]!)
  let nonce = Number(await rpc<string>(url, 'eth_getTransactionCount', [w.address, 'pending']))
  while (Number(await rpc<string>(url, 'eth_blockNumber')) < LOGS_MAX_RANGE + 2) {
    const h = await rpc<string>(url, 'eth_sendRawTransaction', [await w.signTransaction({ type: 2, chainId: CHAIN_ID, nonce: nonce++, to: randomAddress(), value: 1n, gasLimit: 21000n, maxFeePerGas: gasPrice * 2n, maxPriorityFeePerGas: 1n })])
    await waitFor(async () => (await rpcRaw(url, 'eth_getTransactionReceipt', [h])).result, 'mined')
  }
  const r = await rpcRaw(url, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }])
  t.equal(r.error?.code, -32005, `range too large → -32005 (${r.error?.message})`)
  t.match(r.error?.message, /range/)
  const rw = await wsCall('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }])
  t.equal(rw.error?.code, -32005, 'WS: range too large')
  t.same((await rpcRaw(url, 'eth_getLogs', [{ fromBlock: hex(1), toBlock: hex(LOGS_MAX_RANGE) }])).result, [], 'a range within the limit works')
  const inverted = await rpcRaw(url, 'eth_getLogs', [{ fromBlock: '0x5', toBlock: '0x2' }])
  t.ok(inverted.error, `inverted range → error (${inverted.error?.message})`)
  const bad = await rpcRaw(url, 'eth_getFilterChanges', ['0xdeadbeef'])
  t.equal(bad.error?.code, -32000)
  t.match(bad.error?.message, /filter not found/)
  const unsub = await wsCall('eth_unsubscribe', ['0x1234'])
  t.ok(unsub.error || unsub.result === false, 'unsubscribing an unknown id')
  await stillServing(t, 'after log limits')
})

t.test('error counters in GET /metrics', async (t) => {
  const res = await fetch(`${url}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /text\/plain/)
  const text = await res.text()
  const value = (re: RegExp) => {
    let sum = 0
    for (const line of text.split('\n')) if (re.test(line)) sum += Number(line.split(' ').at(-1))
    return sum
  }
  t.ok(value(/^povchain_rpc_bad_requests_total\{reason="parse"\}/) >= 2, 'parse errors counted')
  t.ok(value(/^povchain_rpc_bad_requests_total\{reason="body_too_large"\}/) >= 2, 'too-large bodies counted')
  t.ok(value(/^povchain_rpc_bad_requests_total\{reason="batch_too_large"\}/) >= 2, 'oversized batches counted')
  t.ok(value(/^povchain_rpc_bad_requests_total\{reason="bad_shape"\}/) >= 1, 'bad shapes counted')
  t.ok(value(/^povchain_rpc_errors_total\{.*code="-32601"/) >= 8, 'method-not-found counted')
  t.ok(value(/^povchain_rpc_errors_total\{method="eth_getBalance",code="-32602"\}/) >= 1, 'invalid params by method')
  t.ok(value(/^povchain_rpc_errors_total\{method="eth_sendRawTransaction",code="-32000"\}/) >= 10, 'tx rejections counted')
  t.ok(value(/^povchain_rpc_requests_total\{method="eth_blockNumber"\}/) > 10, 'requests counted')
  t.notOk(/method="ETH_BLOCKNUMBER"|method="personal_unlockAccount"/.test(text), 'unknown method names collapse into one label')
  await stillServing(t, 'at the end')
  const exit = await node.stop()
  t.equal(exit.code, 0, 'and it still shuts down cleanly')
})
