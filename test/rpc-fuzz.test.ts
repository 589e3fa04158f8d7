/**
 * JSON-RPC fuzz (issue 17): every method the dev node serves, called with generated parameters
 * — random JSON, hex of every length and parity, quantities past 2^256, block tags and hashes,
 * transaction and filter objects with random fields — in batches over HTTP, plus malformed
 * bodies and batches. What must hold:
 * - every request gets a JSON-RPC answer with its id: a result or an error, never the generic
 *   -32603 "internal error" (that code means a handler threw something nobody expected);
 * - the node keeps serving (eth_blockNumber after every batch), honest requests keep working,
 *   and memory comes back near where it started.
 * POVCHAIN_FUZZ_REQUESTS sets the count (default 20,000; the README's figure is 10^5).
 */
import fc from 'fast-check'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import WebSocket from 'ws'
import { startInProcessNode, waitFor } from './helpers/devnode.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const TOTAL = Number(process.env.POVCHAIN_FUZZ_REQUESTS ?? 20_000)
const BATCH = 100
// Methods whose generated calls would only measure our patience, not our parser.
const SKIP = new Set(['debug_traceBlockByNumber', 'debug_traceBlockByHash'])

const hexDigits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: min, maxLength: max })
const hexString = fc.oneof(
  hexDigits(0, 130).map((s) => `0x${s}`),
  fc.constantFrom(40, 64).chain((n) => hexDigits(n, n)).map((s) => `0x${s}`),
  hexDigits(1, 70),
  fc.constant('0x'),
  fc.constant('0X1'),
)
const quantity = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 300n) }).map((n) => `0x${n.toString(16)}`),
  fc.constantFrom('0x0', '0x00', '0x', '-0x1', '0x1g', '0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', '1e400'),
  fc.integer({ min: -5, max: 1 << 30 }),
  fc.double(),
)
const tag = fc.constantFrom('latest', 'earliest', 'pending', 'safe', 'finalized', 'LATEST', '', 'head')
const scalar = fc.oneof(fc.constant(null), fc.boolean(), fc.string({ maxLength: 40 }), hexString, quantity, tag)
const txObject = fc.record(
  {
    from: fc.oneof(hexString, scalar),
    to: fc.oneof(hexString, scalar),
    gas: quantity,
    gasPrice: quantity,
    maxFeePerGas: quantity,
    maxPriorityFeePerGas: quantity,
    value: quantity,
    data: hexString,
    input: hexString,
    nonce: quantity,
    type: fc.oneof(quantity, fc.constantFrom('0x0', '0x1', '0x2', '0x3', '0x4', '0x7f')),
    chainId: quantity,
    accessList: fc.oneof(scalar, fc.array(fc.record({ address: hexString, storageKeys: fc.oneof(scalar, fc.array(hexString, { maxLength: 3 })) }, { requiredKeys: [] }), { maxLength: 3 })),
    authorizationList: fc.oneof(scalar, fc.array(fc.record({ chainId: quantity, address: hexString, nonce: quantity, yParity: quantity, r: quantity, s: quantity }, { requiredKeys: [] }), { maxLength: 2 })),
    blobVersionedHashes: fc.oneof(scalar, fc.array(hexString, { maxLength: 2 })),
  },
  { requiredKeys: [] },
)
const filterObject = fc.record(
  {
    fromBlock: fc.oneof(quantity, tag, scalar),
    toBlock: fc.oneof(quantity, tag, scalar),
    address: fc.oneof(hexString, fc.array(hexString, { maxLength: 3 }), scalar),
    topics: fc.oneof(scalar, fc.array(fc.oneof(hexString, fc.constant(null), fc.array(hexString, { maxLength: 2 })), { maxLength: 5 })),
    blockHash: hexString,
  },
  { requiredKeys: [] },
)
// Well-formed values, so that generated calls also get past the parameter checks and into the
// state, the EVM, the logs and the pool: dev accounts, the predeploys, system contracts.
const knownAddress = fc.constantFrom(
  '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  '0xcA11bde05977b3631167028862bE2a173976CA11',
  '0x4e59b44847b379578588920cA78FbF26c0B4956C',
  '0x0000000000000000000000000000000000000B00',
  '0x0000000000000000000000000000000000000A00',
  '0x0000000000000000000000000000000000000001',
  '0x0000000000000000000000000000000000000000',
)
const smallQuantity = fc.bigInt({ min: 0n, max: 1n << 40n }).map((n) => `0x${n.toString(16)}`)
const plausible: fc.Arbitrary<unknown> = fc.oneof(
  knownAddress,
  smallQuantity,
  tag,
  hexDigits(64, 64).map((s) => `0x${s}`),
  fc.record({ from: knownAddress, to: knownAddress, data: fc.oneof(hexDigits(8, 8), hexDigits(0, 200).filter((x) => x.length % 2 === 0)).map((x) => `0x${x}`), value: smallQuantity, gas: smallQuantity }, { requiredKeys: [] }),
  fc.record({ fromBlock: fc.oneof(tag, smallQuantity), toBlock: fc.oneof(tag, smallQuantity), address: knownAddress, topics: fc.array(fc.oneof(fc.constant(null), hexDigits(64, 64).map((x) => `0x${x}`)), { maxLength: 3 }) }, { requiredKeys: [] }),
)
const param: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: plausible },
  { weight: 4, arbitrary: scalar },
  { weight: 2, arbitrary: txObject },
  { weight: 1, arbitrary: filterObject },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(hexString, fc.record({ balance: quantity, nonce: quantity, code: hexString, state: fc.dictionary(hexString, hexString, { maxKeys: 2 }), stateDiff: fc.dictionary(hexString, hexString, { maxKeys: 2 }) }, { requiredKeys: [] }), { maxKeys: 2 }) },
)
const params = fc.oneof({ weight: 5, arbitrary: fc.array(param, { maxLength: 4 }) }, { weight: 4, arbitrary: fc.array(plausible, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 1, arbitrary: fc.constant(undefined) })

interface Reply {
  jsonrpc?: string
  id?: unknown
  result?: unknown
  error?: { code: number; message: string }
}

async function post(url: string, body: string): Promise<{ status: number; json: unknown }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const text = await r.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = { unparsable: text.slice(0, 200) }
  }
  return { status: r.status, json }
}

t.test('generated parameters for every method never reach an unexpected error, and the node keeps serving', async (t) => {
  const n = await startInProcessNode()
  t.teardown(() => n.stop())
  const table = (n.node as unknown as { rpc: { dispatcher: { methods: Map<string, unknown> } } }).rpc.dispatcher.methods
  const methods = [...table.keys()].filter((m) => !SKIP.has(m)).sort()
  t.ok(methods.length > 60, `${methods.length} methods under test`)
  const call = fc.record({ method: fc.constantFrom(...methods), params })
  const internal: string[] = []
  const seen = new Map<number, number>()
  let sent = 0
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  const started = performance.now()
  let seed = Number(process.env.POVCHAIN_FUZZ_SEED ?? 7)
  while (sent < TOTAL) {
    const calls = fc.sample(call, { numRuns: BATCH, seed: seed++ })
    const batch = calls.map((c, i) => ({ jsonrpc: '2.0', id: sent + i, method: c.method, ...(c.params === undefined ? {} : { params: c.params }) }))
    const body = JSON.stringify(batch, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))
    const { json } = await post(n.httpUrl, body)
    if (!Array.isArray(json)) {
      t.fail(`a batch got no array back: ${JSON.stringify(json).slice(0, 300)}`)
      break
    }
    const byId = new Map((json as Reply[]).map((r) => [r.id, r]))
    for (const req of batch) {
      const r = byId.get(req.id)
      if (!r || r.jsonrpc !== '2.0' || (r.result === undefined && r.error === undefined)) {
        internal.push(`${req.method} ${JSON.stringify(req.params)?.slice(0, 300)} → no answer`)
        continue
      }
      if (r.error) {
        seen.set(r.error.code, (seen.get(r.error.code) ?? 0) + 1)
        if (r.error.code === -32603) internal.push(`${req.method} ${JSON.stringify(req.params)?.slice(0, 300)} → ${r.error.message}`)
      }
    }
    sent += BATCH
    const alive = await post(n.httpUrl, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }))
    if (!(alive.json as Reply).result) {
      t.fail(`the node stopped answering after ${sent} requests`)
      break
    }
  }
  const seconds = (performance.now() - started) / 1000
  t.same(internal.slice(0, 20), [], `no request among ${sent} got an internal error (${internal.length} did)`)
  t.comment(`fuzz: ${sent} requests over ${methods.length} methods in ${seconds.toFixed(1)} s; error codes ${[...seen].sort((a, b) => b[1] - a[1]).map(([c, k]) => `${c}×${k}`).join(', ')}`)

  // Malformed bodies and batches.
  const bodies = ['', '{', '[', '[]', 'null', '1', '"x"', '{"jsonrpc":"2.0"}', '[1,2,3]', '[{"id":1}]', '{"jsonrpc":"2.0","id":{},"method":"eth_chainId"}', '{"jsonrpc":"2.0","id":1,"method":1}', '{"jsonrpc":"1.0","id":1,"method":"eth_chainId"}', '\u0000\u0001', '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":{"a":1}}', `[${'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},'.repeat(2000)}{}]`]
  for (const b of bodies) {
    const r = await post(n.httpUrl, b)
    const replies = Array.isArray(r.json) ? (r.json as Reply[]) : [r.json as Reply]
    t.notOk(replies.some((x) => x?.error?.code === -32603), `malformed body ${JSON.stringify(b.slice(0, 60))} gets no internal error (${r.status})`)
  }
  const chainId = await post(n.httpUrl, JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'eth_chainId', params: [] }))
  t.equal((chainId.json as Reply).result, '0x7a69', 'an honest request is answered after the fuzz')
  gc()
  const grown = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20
  t.ok(grown < 64, `the heap after the fuzz is ${grown.toFixed(1)} MiB above the start (node and fuzzer share the process)`)

  // The same calls and broken frames over WebSocket: every text frame gets an answer or is
  // dropped with the connection, and a fresh connection is served after.
  const ws = new WebSocket(n.wsUrl)
  await new Promise((res, rej) => ws.once('open', res).once('error', rej))
  const answers: Reply[] = []
  ws.on('message', (m) => {
    try {
      const j = JSON.parse(m.toString()) as Reply | Reply[]
      answers.push(...(Array.isArray(j) ? j : [j]))
    } catch {
      answers.push({ error: { code: 0, message: 'unparsable answer' } })
    }
  })
  const wsCalls = fc.sample(call, { numRuns: 2000, seed: 99 })
  wsCalls.forEach((c, i) => ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: c.method, ...(c.params === undefined ? {} : { params: c.params }) })))
  for (const frame of ['', '{', '[]', 'null', '\u0000', '{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["nope"]}', '{"jsonrpc":"2.0","id":1,"method":"eth_unsubscribe","params":[{}]}']) ws.send(frame)
  ws.send(Buffer.from([0xff, 0xfe, 0x00]), { binary: true })
  await waitFor(() => answers.length >= 2000 || ws.readyState !== WebSocket.OPEN, 'WebSocket answers', 60_000, 50)
  t.notOk(answers.some((a) => a.error?.code === -32603), `no WebSocket answer among ${answers.length} is an internal error`)
  ws.terminate()
  const again = new WebSocket(n.wsUrl)
  await new Promise((res, rej) => again.once('open', res).once('error', rej))
  const reply = new Promise<Reply>((res) => again.once('message', (m) => res(JSON.parse(m.toString()) as Reply)))
  again.send(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'eth_chainId', params: [] }))
  t.equal((await reply).result, '0x7a69', 'a new WebSocket connection is served after the fuzz')
  again.terminate()
})
