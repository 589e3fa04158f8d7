/**
 * The JSON-RPC fuzz campaign against a dev node in its own process: generated requests over
 * HTTP (batches of 100, with malformed bodies between) and over WebSocket (single frames,
 * broken frames), an honest wallet using the node throughout, the node's heap (after forced
 * GC, over its inspector) and RSS before and after. Every reply is judged (ReplyCheck.ts);
 * the figures are what `npm run fuzz:rpc` prints and what test/rpc-fuzz.test.ts asserts.
 */
import fc from 'fast-check'
import WebSocket from 'ws'
import { HonestClient, type HonestFigures } from './HonestClient.js'
import { NodeInspector, rssOf } from './NodeInspector.js'
import { checkReply, replyKind } from './ReplyCheck.js'
import { malformedBodyArbitrary, requestArbitrary, toJson, type FuzzRequest, type MethodArity } from './requests.js'

export interface FuzzTarget {
  httpUrl: string
  wsUrl: string
  pid: number
  chainId: bigint
  /** Key of a funded account the fuzzer never names (the honest wallet's). */
  honestKey: string
  alive(): boolean
  output(): string
}

export interface FuzzOptions {
  requests: number
  seed: number
  /** Share of the requests sent over WebSocket, 0..1. */
  wsShare?: number
  log?: (line: string) => void
}

export interface FuzzReport {
  requests: number
  http: number
  ws: number
  seconds: number
  seed: number
  methods: number
  /** Replies by error code ('result' for results), all transports. */
  byCode: Record<string, number>
  /** Replies that were malformed, of the wrong code, or missing: the first 50, and how many. */
  wrong: string[]
  wrongCount: number
  heapMiB: { before: number; after: number }
  rssMiB: { before: number; peak: number; after: number }
  honest: HonestFigures
  alive: boolean
  /** Error-level lines and crash traces in the node's output. */
  nodeErrors: string[]
  /** The node's answers to an oversized body, an oversized batch and a text/plain POST. */
  limits: Record<string, string>
}

const BATCH = 100
const MiB = 2 ** 20

export async function runRpcFuzz(target: FuzzTarget, methods: MethodArity[], o: FuzzOptions): Promise<FuzzReport> {
  const log = o.log ?? (() => {})
  const byCode = new Map<string, number>()
  const wrong: string[] = []
  let wrongCount = 0
  const fault = (s: string) => {
    wrongCount++
    if (wrong.length < 50) wrong.push(s)
  }
  const count = (k: string) => byCode.set(k, (byCode.get(k) ?? 0) + 1)
  const inspector = await NodeInspector.connect(target.output())
  const heapBefore = await inspector.heapAfterGc()
  const rssBefore = rssOf(target.pid)
  let rssPeak = rssBefore
  const sampler = setInterval(() => {
    if (target.alive()) rssPeak = Math.max(rssPeak, rssOf(target.pid))
  }, 500)
  const honest = new HonestClient(target.httpUrl, target.honestKey, target.chainId)
  honest.start()

  const req = requestArbitrary(methods)
  const body = malformedBodyArbitrary()
  const wsTotal = Math.floor(o.requests * (o.wsShare ?? 0.1))
  const httpTotal = o.requests - wsTotal
  const started = performance.now()
  let http = 0
  let seed = o.seed
  let batchNo = 0
  const post = async (text: string, contentType = 'application/json') => {
    const r = await fetch(target.httpUrl, { method: 'POST', headers: { 'content-type': contentType }, body: text })
    return { status: r.status, text: await r.text() }
  }
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text)
    } catch {
      return undefined
    }
  }
  try {
    while (http < httpTotal && target.alive()) {
      batchNo++
      if (batchNo % 10 === 0) {
        // A malformed body on its own, every tenth request: one reply, with id null.
        const b = fc.sample(body, { numRuns: 1, seed: seed++ })[0]!
        const r = await post(b.text)
        const reply = parse(r.text)
        const why = checkReply(reply, b.oracle, null)
        if (why) fault(`HTTP body (${b.what}) ${JSON.stringify(b.text.slice(0, 60))}: ${why}`)
        count(replyKind(reply))
        http++
        continue
      }
      const n = Math.min(BATCH, httpTotal - http)
      const reqs = fc.sample(req, { numRuns: n, seed: seed++ })
      const r = await post(toJson(reqs.map((x) => x.value)))
      http += n
      judgeBatch(reqs, r.status, r.text, parse, fault, count)
      if (batchNo % 100 === 1) log(`rpc-fuzz: ${http} HTTP requests, ${wrongCount} wrong, ${Math.round((performance.now() - started) / 1000)} s`)
    }
    const ws = await wsPhase(target, req, body, wsTotal, o.seed + 1_000_000, fault, count, log)
    const limits = await limitChecks(target, post, parse, fault)
    const seconds = (performance.now() - started) / 1000
    const honestFigures = await honest.stop()
    clearInterval(sampler)
    const alive = target.alive()
    const heapAfter = alive ? await inspector.heapAfterGc() : NaN
    const rssAfter = alive ? rssOf(target.pid) : NaN
    inspector.close()
    const nodeErrors = target
      .output()
      .split('\n')
      .filter((l) => /"level":(50|60)|"level":"(error|fatal)"|Unhandled|uncaught|FATAL|Error: /i.test(l))
      .slice(0, 20)
    return {
      requests: http + ws,
      http,
      ws,
      seconds: Math.round(seconds * 10) / 10,
      seed: o.seed,
      methods: methods.length,
      byCode: Object.fromEntries([...byCode].sort((a, b) => b[1] - a[1])),
      wrong,
      wrongCount,
      heapMiB: { before: round(heapBefore / MiB), after: round(heapAfter / MiB) },
      rssMiB: { before: round(rssBefore / MiB), peak: round(rssPeak / MiB), after: round(rssAfter / MiB) },
      honest: honestFigures,
      alive,
      nodeErrors,
      limits,
    }
  } finally {
    clearInterval(sampler)
    await honest.stop()
  }
}

const round = (x: number) => Math.round(x * 10) / 10

/** Replies of a batch come in request order, notifications skipped (Geth and povchain alike). */
function judgeBatch(reqs: FuzzRequest[], status: number, text: string, parse: (t: string) => unknown, fault: (s: string) => void, count: (k: string) => void): void {
  const answered = reqs.filter((r) => r.oracle.kind !== 'none')
  if (answered.length === 0) {
    if (text !== '') fault(`a batch of notifications got ${JSON.stringify(text.slice(0, 80))}`)
    return
  }
  const replies = parse(text)
  if (status !== 200 || !Array.isArray(replies)) {
    fault(`a batch got HTTP ${status} ${JSON.stringify(text.slice(0, 200))}`)
    return
  }
  if (replies.length !== answered.length) fault(`a batch of ${reqs.length} (${answered.length} calls) got ${replies.length} replies`)
  answered.forEach((r, i) => {
    const reply = replies[i]
    count(replyKind(reply))
    const why = checkReply(reply, r.oracle, expectedId(r.value))
    if (why) fault(`${toJson(r.value).slice(0, 240)}: ${why}`)
  })
}

/** The id a reply must carry: the request's when it is a valid id, else null. */
function expectedId(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null
  const id = (v as { id?: unknown }).id
  return typeof id === 'string' || typeof id === 'number' || id === null ? id : null
}

/**
 * The same requests over one WebSocket, one frame each with a unique numeric id (replies come
 * in any order), in windows of 200; malformed text frames and binary garbage between, whose
 * replies carry id null and are counted.
 */
async function wsPhase(target: FuzzTarget, req: fc.Arbitrary<FuzzRequest>, body: fc.Arbitrary<{ text: string; oracle: FuzzRequest['oracle'] }>, total: number, seed: number, fault: (s: string) => void, count: (k: string) => void, log: (l: string) => void): Promise<number> {
  if (total === 0) return 0
  const ws = new WebSocket(target.wsUrl)
  await new Promise((res, rej) => ws.once('open', res).once('error', rej))
  const waiting = new Map<number, FuzzRequest>()
  let nullReplies = 0
  let nullExpected = 0
  let wakeUp = () => {}
  ws.on('message', (m) => {
    let j: unknown
    try {
      j = JSON.parse(m.toString())
    } catch {
      fault(`WebSocket: an unparsable reply ${JSON.stringify(m.toString().slice(0, 80))}`)
      return
    }
    for (const reply of Array.isArray(j) ? j : [j]) {
      count(replyKind(reply))
      const id = (reply as { id?: unknown }).id
      if (id === null) {
        nullReplies++
        const why = checkReply(reply, { kind: 'any', why: 'WebSocket malformed frame' }, null)
        if (why) fault(`WebSocket malformed frame: ${why}`)
        const code = (reply as { error?: { code?: number } }).error?.code
        if (code !== -32700 && code !== -32600) fault(`WebSocket malformed frame answered with ${code}`)
      } else {
        const r = typeof id === 'number' ? waiting.get(id) : undefined
        if (!r) {
          fault(`WebSocket: a reply with unknown id ${JSON.stringify(id)}`)
          continue
        }
        waiting.delete(id as number)
        const why = checkReply(reply, r.oracle, id)
        if (why) fault(`WebSocket ${toJson(r.value).slice(0, 240)}: ${why}`)
      }
    }
    if (waiting.size === 0 && nullReplies >= nullExpected) wakeUp()
  })
  let sent = 0
  let nextId = 1
  const started = performance.now()
  while (sent < total && target.alive() && ws.readyState === WebSocket.OPEN) {
    const n = Math.min(200, total - sent)
    const reqs = fc.sample(req, { numRuns: n, seed: seed++ })
    const done = new Promise<void>((res) => (wakeUp = res))
    for (const r of reqs) {
      if (r.oracle.kind === 'none') {
        ws.send(toJson(r.value))
        continue
      }
      if (expectedId(r.value) === null) {
        // Answered with id null: counted, not matched.
        nullExpected++
        ws.send(toJson(r.value))
        continue
      }
      const id = nextId++
      waiting.set(id, r)
      ws.send(toJson({ ...(r.value as object), id }))
    }
    for (const b of fc.sample(body, { numRuns: 5, seed: seed++ })) {
      nullExpected++
      ws.send(b.text)
    }
    nullExpected++
    ws.send(Buffer.from([0xff, 0xfe, 0x00, 0x7b]), { binary: true })
    sent += n + 6
    const timeout = new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 60_000).unref())
    if ((await Promise.race([done, timeout])) === 'timeout') {
      fault(`WebSocket: ${waiting.size} requests unanswered after 60 s`)
      break
    }
    if ((sent / 206) % 50 < 1) log(`rpc-fuzz: ${sent} WebSocket frames, ${Math.round((performance.now() - started) / 1000)} s`)
  }
  if (nullReplies !== nullExpected) fault(`WebSocket: ${nullExpected} malformed frames, ${nullReplies} replies with id null`)
  ws.terminate()
  // A fresh connection is served.
  const again = new WebSocket(target.wsUrl)
  await new Promise((res, rej) => again.once('open', res).once('error', rej))
  const reply = new Promise<string>((res) => again.once('message', (m) => res(m.toString())))
  again.send(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'eth_chainId', params: [] }))
  const j = JSON.parse(await reply) as { result?: string }
  if (j.result !== `0x${target.chainId.toString(16)}`) fault(`a new WebSocket connection after the fuzz got ${JSON.stringify(j)}`)
  again.terminate()
  return sent
}

/** The transport limits, once each: they answer with an HTTP status and a JSON-RPC error. */
async function limitChecks(target: FuzzTarget, post: (t: string, ct?: string) => Promise<{ status: number; text: string }>, parse: (t: string) => unknown, fault: (s: string) => void): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const expect = async (what: string, p: Promise<{ status: number; text: string }>, status: number, code: number, inArray: boolean) => {
    const r = await p
    const j = parse(r.text)
    const reply = inArray && Array.isArray(j) ? j[0] : j
    const got = (reply as { error?: { code?: number } } | undefined)?.error?.code
    out[what] = `HTTP ${r.status}, ${got}`
    if (r.status !== status || got !== code || (inArray && !Array.isArray(j))) fault(`${what}: HTTP ${r.status} ${r.text.slice(0, 120)}, want ${status} and ${code}`)
  }
  const one = { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }
  await expect('body over 5 MiB', post(`[${JSON.stringify(one)},${'1,'.repeat(3 * 2 ** 20)}1]`), 413, -32600, false)
  await expect('batch of 1,001', post(JSON.stringify(Array.from({ length: 1001 }, () => one))), 200, -32600, true)
  await expect('text/plain POST', post(JSON.stringify(one), 'text/plain'), 415, -32600, false)
  return out
}
