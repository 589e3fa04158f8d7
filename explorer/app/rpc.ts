/** The node's JSON-RPC, from the page: same-origin POSTs (application/json) and its WebSocket. */

export interface ExplorerConfig {
  rpcPath: string
  wsUrl: string | null
  chainId: number
  contracts: { name: string; address: string; abi: readonly unknown[] }[]
}

export class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`${method}: ${message}`)
  }
}

type Call = { method: string; params: unknown[] }

let nextId = 1

/** JSON-RPC over HTTP; `batch` sends several calls in one request (one round trip per page). */
export class Rpc {
  constructor(private readonly path: string) {}

  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    const [r] = await this.batchSettled<T>([{ method, params }])
    if (r!.error) throw r!.error
    return r!.result as T
  }

  /** Many calls in one POST; each throws its own error. */
  async batch<T extends unknown[]>(calls: Call[]): Promise<T> {
    const rs = await this.batchSettled(calls)
    return rs.map((r) => {
      if (r.error) throw r.error
      return r.result
    }) as T
  }

  /** Many calls in one POST; an error is returned in place, not thrown. */
  async batchSettled<T = unknown>(calls: Call[]): Promise<{ result?: T; error?: RpcError }[]> {
    if (!calls.length) return []
    const ids = calls.map(() => nextId++)
    const body = JSON.stringify(calls.map((c, i) => ({ jsonrpc: '2.0', id: ids[i], method: c.method, params: c.params })))
    const res = await fetch(this.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    if (!res.ok) throw new Error(`the node answered HTTP ${res.status}`)
    const out = (await res.json()) as { id: number; result?: T; error?: { code: number; message: string; data?: unknown } }[]
    const byId = new Map(out.map((r) => [r.id, r]))
    return calls.map((c, i) => {
      const r = byId.get(ids[i]!)
      if (!r) return { error: new RpcError(c.method, -32603, 'no answer') }
      if (r.error) return { error: new RpcError(c.method, r.error.code, r.error.message, r.error.data) }
      return { result: r.result }
    })
  }
}

export interface HeadListener {
  (head: { number: string; hash: string }): void
}

/**
 * New heads, live: `eth_subscribe newHeads` on the node's WebSocket; when that cannot be opened
 * (WS off, a proxy in between) the head is polled every 2 s instead. `status` reports which.
 */
export class LiveHeads {
  private listeners = new Set<HeadListener>()
  private ws?: WebSocket
  private poll?: ReturnType<typeof setInterval>
  private lastHash = ''
  mode: 'ws' | 'poll' | 'connecting' = 'connecting'
  onMode?: (mode: LiveHeads['mode']) => void

  constructor(
    private readonly rpc: Rpc,
    private readonly wsUrl: string | null,
  ) {
    this.connect()
  }

  subscribe(l: HeadListener): () => void {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }

  private emit(h: { number: string; hash: string }): void {
    if (h.hash === this.lastHash) return
    this.lastHash = h.hash
    for (const l of this.listeners) l(h)
  }

  private setMode(m: LiveHeads['mode']): void {
    this.mode = m
    this.onMode?.(m)
  }

  private connect(): void {
    if (!this.wsUrl) return this.startPolling()
    let opened = false
    const ws = new WebSocket(this.wsUrl)
    this.ws = ws
    ws.onopen = () => {
      opened = true
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }))
      this.setMode('ws')
    }
    ws.onmessage = (ev) => {
      const m = JSON.parse(String(ev.data)) as { method?: string; params?: { result?: { number: string; hash: string } } }
      if (m.method === 'eth_subscription' && m.params?.result) this.emit(m.params.result)
    }
    ws.onclose = () => {
      this.ws = undefined
      // Reconnect after a drop; fall back to polling when it never opened.
      if (opened) setTimeout(() => this.connect(), 2000)
      else this.startPolling()
    }
  }

  private startPolling(): void {
    this.setMode('poll')
    if (this.poll) return
    this.poll = setInterval(() => {
      this.rpc.call<{ number: string; hash: string }>('eth_getBlockByNumber', ['latest', false]).then((b) => this.emit(b), () => {})
    }, 2000)
  }
}
