import { BridgeError } from './BridgeError.js'

/** A JSON-RPC error answered by the endpoint (not a transport failure). */
export class JsonRpcError extends BridgeError {
  constructor(
    readonly method: string,
    readonly rpcCode: number,
    readonly rpcMessage: string,
    readonly data?: unknown,
  ) {
    super('RPC', `${method}: ${rpcMessage} (code ${rpcCode})`)
  }
}

export interface JsonRpcClientOptions {
  url: string
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number
  /** Retries of transport failures (connection refused, timeouts, 5xx), with backoff (default 3). */
  retries?: number
}

/**
 * A small Ethereum JSON-RPC client over fetch, for the source chain and for povchain. Transport
 * failures are retried (a node restarting must not kill a relay); answered errors are not.
 */
export class JsonRpcClient {
  private nextId = 1
  readonly url: string
  private readonly timeoutMs: number
  private readonly retries: number

  constructor(options: JsonRpcClientOptions) {
    this.url = options.url
    this.timeoutMs = options.timeoutMs ?? 30_000
    this.retries = options.retries ?? 3
  }

  async request<T>(method: string, params: unknown[] = []): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let res: Response
      try {
        res = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }),
          signal: AbortSignal.timeout(this.timeoutMs),
        })
        if (res.status >= 500 && attempt < this.retries) throw new Error(`HTTP ${res.status}`)
      } catch (e) {
        if (attempt >= this.retries) throw new BridgeError('RPC_UNREACHABLE', `${method} at ${this.url}: ${(e as Error).message}`, { cause: e })
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt))
        continue
      }
      let body: { result?: T; error?: { code: number; message: string; data?: unknown } }
      try {
        body = (await res.json()) as typeof body
      } catch (e) {
        throw new BridgeError('RPC_BAD_RESPONSE', `${method} at ${this.url}: HTTP ${res.status}, not JSON`, { cause: e })
      }
      if (body.error) throw new JsonRpcError(method, body.error.code, body.error.message, body.error.data)
      return body.result as T
    }
  }
}

/** Runs `fn` over `items` with at most `concurrency` in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return out
}
