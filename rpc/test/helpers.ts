import { WebSocket } from 'ws'
import type { Counter, Gauge, Histogram, Labels, Metrics } from '../../common/metrics.js'
import { startRpcServers, type RpcServersHandle } from '../index.js'
import type { RpcOptions } from '../RpcOptions.js'
import { FixtureBackend } from './FixtureBackend.js'

/** Metrics that remember counter values, keyed `name{k=v,...}`. */
export class RecordingMetrics implements Metrics {
  readonly values = new Map<string, number>()
  private key(name: string, labels?: Labels) {
    if (!labels) return name
    return `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort().join(',')}}`
  }
  counter(name: string): Counter {
    return { inc: (labels, value = 1) => this.values.set(this.key(name, labels), (this.values.get(this.key(name, labels)) ?? 0) + value) }
  }
  gauge(name: string): Gauge {
    return {
      set: (value, labels) => this.values.set(this.key(name, labels), value),
      inc: (labels, value = 1) => this.values.set(this.key(name, labels), (this.values.get(this.key(name, labels)) ?? 0) + value),
      dec: (labels, value = 1) => this.values.set(this.key(name, labels), (this.values.get(this.key(name, labels)) ?? 0) - value),
    }
  }
  histogram(name: string): Histogram {
    return {
      observe: (_v, labels) => this.values.set(this.key(name + '_count', labels), (this.values.get(this.key(name + '_count', labels)) ?? 0) + 1),
      startTimer: () => () => {},
    }
  }
  get(key: string): number {
    return this.values.get(key) ?? 0
  }
}

export interface Harness {
  backend: FixtureBackend
  handle: RpcServersHandle
  metrics: RecordingMetrics
  url: string
  wsUrl: string
  /** POSTs raw text; returns status, headers and body text. */
  post(body: string, headers?: Record<string, string>): Promise<{ status: number; text: string; headers: Headers }>
  /** One JSON-RPC call; returns the parsed response object. */
  call(method: string, params?: unknown[]): Promise<{ result?: any; error?: { code: number; message: string; data?: unknown } }>
  result(method: string, params?: unknown[]): Promise<any>
  close(): Promise<void>
}

let nextId = 1

/** The harness is opened like --dev (every namespace, any origin) unless `opts` says otherwise. */
export async function startHarness(opts: Partial<RpcOptions> = {}, backend = new FixtureBackend()): Promise<Harness> {
  const metrics = new RecordingMetrics()
  const open: Partial<RpcOptions> = { corsOrigins: ['*'], wsOrigins: ['*'], httpApi: ['*'], wsApi: ['*'] }
  const handle = await startRpcServers({ httpAddr: '127.0.0.1', httpPort: 0, wsAddr: '127.0.0.1', wsPort: 0, ...open, ...opts }, { backend, metrics })
  const url = handle.httpUrl!
  const post = async (body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } })
    return { status: res.status, text: await res.text(), headers: res.headers }
  }
  const call = async (method: string, params: unknown[] = []) => {
    const r = await post(JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }))
    return JSON.parse(r.text)
  }
  return {
    backend,
    handle,
    metrics,
    url,
    wsUrl: handle.wsUrl!,
    post,
    call,
    async result(method, params) {
      const r = await call(method, params)
      if (r.error) throw new Error(`${method}: ${r.error.code} ${r.error.message}`)
      return r.result
    },
    close: () => handle.close(),
  }
}

/** A WebSocket JSON-RPC client that queues what it receives. */
export class WsClient {
  readonly ws: WebSocket
  private readonly inbox: any[] = []
  private waiters: { pred: (m: any) => boolean; resolve: (m: any) => void }[] = []
  closed: Promise<{ code: number }>
  private id = 1

  constructor(url: string, headers?: Record<string, string>) {
    this.ws = new WebSocket(url, headers ? { headers } : undefined)
    this.ws.on('message', (d) => {
      const m = JSON.parse(d.toString())
      const w = this.waiters.find((x) => x.pred(m))
      if (w) {
        this.waiters = this.waiters.filter((x) => x !== w)
        w.resolve(m)
      } else this.inbox.push(m)
    })
    this.closed = new Promise((resolve) => this.ws.on('close', (code) => resolve({ code })))
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
    })
  }

  next(pred: (m: any) => boolean = () => true, timeoutMs = 3000): Promise<any> {
    const i = this.inbox.findIndex(pred)
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0])
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a WS message')), timeoutMs)
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(t)
          resolve(m)
        },
      })
    })
  }

  /** Everything received so far that matches (drains it). */
  drain(pred: (m: any) => boolean = () => true): any[] {
    const out = this.inbox.filter(pred)
    for (const m of out) this.inbox.splice(this.inbox.indexOf(m), 1)
    return out
  }

  async call(method: string, params: unknown[] = []): Promise<any> {
    const id = this.id++
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }))
    return this.next((m) => m.id === id)
  }

  sendRaw(text: string): void {
    this.ws.send(text)
  }

  notifications(sub: string): (m: any) => boolean {
    return (m) => m.method === 'eth_subscription' && m.params?.subscription === sub
  }

  close(): void {
    this.ws.close()
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
