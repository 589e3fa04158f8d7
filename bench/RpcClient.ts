import http from 'node:http'

export class RpcError extends Error {
  constructor(
    message: string,
    readonly code?: number,
    readonly staleSocket = false,
  ) {
    super(message)
  }
}

/**
 * A lean JSON-RPC client over keep-alive HTTP (cheaper per call than ethers' providers, so the
 * client takes as little of the machine's CPU from the node as possible).
 */
export class RpcClient {
  private readonly agent: http.Agent
  private readonly url: URL
  private id = 0
  calls = 0

  constructor(url: string, maxSockets = 64) {
    this.url = new URL(url)
    // Idle sockets are dropped before a typical server keep-alive timeout can race a reuse.
    this.agent = new http.Agent({ keepAlive: true, timeout: 3000, maxSockets })
  }

  private once<T>(method: string, params: unknown[], timeoutMs: number): Promise<T> {
    const body = JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params })
    this.calls++
    return new Promise<T>((resolve, reject) => {
      const req = http.request(
        this.url,
        { method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', (e) => reject(new RpcError(`${method}: ${e.message}`)))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let msg: { result?: unknown; error?: { code: number; message: string } }
            try {
              msg = JSON.parse(text)
            } catch {
              return reject(new RpcError(`${method}: HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)}`))
            }
            if (msg.error) return reject(new RpcError(`${method}: ${msg.error.code} ${msg.error.message}`, msg.error.code))
            if (!('result' in msg)) return reject(new RpcError(`${method}: malformed response ${text.slice(0, 200)}`))
            resolve(msg.result as T)
          })
        },
      )
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms`)))
      req.on('error', (e: NodeJS.ErrnoException) => {
        const stale = req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')
        reject(new RpcError(`${method}: ${e.message}`, undefined, stale))
      })
      req.end(body)
    })
  }

  async call<T = unknown>(method: string, params: unknown[] = [], timeoutMs = 30_000): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(method, params, timeoutMs)
      } catch (e) {
        // A reused keep-alive socket closed by the server: the request never arrived.
        if (e instanceof RpcError && e.staleSocket && attempt < 2) continue
        throw e
      }
    }
  }

  close(): void {
    this.agent.destroy()
  }
}

export const toQty = (x: bigint | number): string => `0x${x.toString(16)}`
export const fromQty = (x: unknown, what: string): bigint => {
  if (typeof x !== 'string' || !/^0x[0-9a-fA-F]+$/.test(x)) throw new RpcError(`${what}: expected a hex quantity, got ${JSON.stringify(x)}`)
  return BigInt(x)
}
