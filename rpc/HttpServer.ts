import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from '../common/logger.js'
import type { CallContext, JsonRpcDispatcher } from './JsonRpcDispatcher.js'
import { isJsonContentType } from './JsonContentType.js'
import { HostPolicy } from './HostPolicy.js'
import { OriginPolicy } from './OriginPolicy.js'
import type { PageHandler } from './PageHandler.js'
import type { RpcBackend } from './RpcBackend.js'
import { RpcCode } from './RpcErrors.js'
import type { RpcMetrics } from './RpcMetrics.js'
import type { RpcOptions } from './RpcOptions.js'

export interface HttpServerDeps {
  dispatcher: JsonRpcDispatcher
  backend: RpcBackend
  metrics: RpcMetrics
  logger: Logger
  /** WebSocket upgrades on the HTTP port, when WS is enabled. */
  upgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void
  /** The port WebSocket JSON-RPC listens on once started (for pages that connect to it). */
  wsPort?: () => number | undefined
}

const HTTP_CTX: CallContext = Object.freeze({})
const JSON_TYPE = 'application/json'
/** How long the rest of an over-limit upload is read and dropped before the socket is cut. */
const LINGER_MS = 10_000

function jsonError(code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } })
}

/**
 * JSON-RPC over HTTP POST on plain node:http, plus GET /health and GET /metrics. Keep-alive
 * is generous (clients pool sockets; closing one as a client reuses it loses the request).
 */
export class HttpServer {
  readonly server: http.Server
  private readonly cors: OriginPolicy
  private readonly hosts: HostPolicy

  constructor(
    private readonly opts: RpcOptions,
    private readonly deps: HttpServerDeps,
  ) {
    this.cors = new OriginPolicy(opts.corsOrigins)
    this.hosts = new HostPolicy(opts.vhosts)
    this.server = http.createServer((req, res) => {
      try {
        this.onRequest(req, res)
      } catch (err) {
        // A throw here would otherwise be an uncaught exception: answer and carry on.
        deps.logger.error({ err }, 'HTTP request handling failed')
        if (!res.headersSent) this.send(res, 500, jsonError(RpcCode.INTERNAL, 'internal error'))
        else res.destroy()
      }
    })
    this.server.keepAliveTimeout = 65_000
    this.server.headersTimeout = 66_000
    this.server.requestTimeout = 120_000
    if (deps.upgrade) this.server.on('upgrade', deps.upgrade)
    else this.server.on('upgrade', (_req, socket: Duplex) => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'))
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      deps.metrics.bad('http_client_error')
      if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
      else socket.destroy()
    })
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.opts.httpPort, this.opts.httpAddr, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    const a = this.server.address() as AddressInfo
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private send(res: http.ServerResponse, status: number, body: string, type = JSON_TYPE): void {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!this.hosts.accepts(req.headers.host)) {
      // Geth's answer, word for word; every verb (a rebinding page could read /metrics too).
      this.deps.metrics.bad('invalid_host')
      this.send(res, 403, 'invalid host specified\n', 'text/plain')
      return this.drainThenCut(req)
    }
    const allow = this.cors.allowOrigin(req.headers.origin)
    if (allow) {
      res.setHeader('access-control-allow-origin', allow)
      if (allow !== '*') res.setHeader('vary', 'Origin')
    }
    const method = req.method
    if (method === 'POST') return this.onPost(req, res)
    if (method === 'OPTIONS') {
      if (allow) {
        res.setHeader('access-control-allow-methods', 'POST, GET, OPTIONS')
        res.setHeader('access-control-allow-headers', req.headers['access-control-request-headers'] ?? 'content-type')
        res.setHeader('access-control-max-age', '600')
      }
      res.writeHead(204)
      res.end()
      return
    }
    if (method === 'GET' || method === 'HEAD') {
      const path = (req.url ?? '/').split('?')[0]
      if (path === '/health') {
        const body = JSON.stringify({ status: 'ok', head: `0x${this.deps.backend.head().number.toString(16)}` })
        return this.send(res, 200, body)
      }
      if (path === '/metrics' && this.opts.metricsHandler) {
        this.opts.metricsHandler().then(
          ({ contentType, body }) => this.send(res, 200, body, contentType),
          (err) => {
            this.deps.logger.error({ err }, 'metrics handler failed')
            this.send(res, 500, 'metrics unavailable\n', 'text/plain')
          },
        )
        return
      }
      const pages = this.opts.pages
      if (path === '/') {
        // Browsers (Accept: text/html) go to the pages; JSON-RPC clients still POST here.
        if (pages && /\btext\/html\b/.test(req.headers.accept ?? '')) {
          res.writeHead(302, { location: pages.home, 'content-length': 0 })
          res.end()
          return
        }
        return this.send(res, 200, 'povchain JSON-RPC: POST JSON-RPC 2.0 requests here\n', 'text/plain')
      }
      if (pages) return this.servePage(pages, path, req, res)
      return this.send(res, 404, 'not found\n', 'text/plain')
    }
    res.setHeader('allow', 'POST, GET, OPTIONS')
    this.send(res, 405, jsonError(RpcCode.INVALID_REQUEST, `method ${method} not allowed, use POST`))
  }

  private servePage(pages: PageHandler, path: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    const port = (this.server.address() as AddressInfo | null)?.port ?? this.opts.httpPort
    const page = pages.serve({ path, host: req.headers.host, httpPort: port, wsPort: this.deps.wsPort?.() })
    if (!page) return this.send(res, 404, 'not found\n', 'text/plain')
    const body = typeof page.body === 'string' ? Buffer.from(page.body, 'utf8') : page.body
    res.writeHead(page.status, { ...page.headers, 'content-length': body.byteLength })
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  /**
   * Answers 413 at once but reads and drops the rest of the upload instead of closing: closing
   * a socket the client is still writing to makes the kernel reset the connection, and the
   * client then loses the 413 (undici's fetch reports only "fetch failed"). Go's net/http
   * lingers the same way. A client still sending after LINGER_MS is cut off.
   */
  private tooLarge(req: http.IncomingMessage, res: http.ServerResponse, size: number | string): void {
    this.deps.metrics.bad('body_too_large')
    this.send(res, 413, jsonError(RpcCode.INVALID_REQUEST, `request body too large (${size} > ${this.opts.maxBodyBytes} bytes)`))
    this.drainThenCut(req)
  }

  /** Reads and drops the rest of a refused request; a client still sending after LINGER_MS is cut off. */
  private drainThenCut(req: http.IncomingMessage): void {
    req.resume()
    if (!req.complete) {
      const cut = setTimeout(() => req.socket.destroy(), LINGER_MS)
      cut.unref()
      const clear = () => clearTimeout(cut)
      req.once('end', clear)
      req.once('close', clear)
    }
  }

  private onPost(req: http.IncomingMessage, res: http.ServerResponse): void {
    // A page may POST text/plain or a form cross-origin without a CORS preflight; application/json
    // always needs one, which only --http.corsdomain origins pass. So nothing else is read.
    if (!isJsonContentType(req.headers['content-type'])) {
      this.deps.metrics.bad('content_type')
      this.send(res, 415, jsonError(RpcCode.INVALID_REQUEST, `invalid content type, only ${JSON_TYPE} is supported`))
      return this.drainThenCut(req)
    }
    const max = this.opts.maxBodyBytes
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > max) {
      this.tooLarge(req, res, declared)
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let rejected = false
    req.on('data', (chunk: Buffer) => {
      if (rejected) return
      size += chunk.length
      if (size > max) {
        rejected = true
        chunks.length = 0
        this.tooLarge(req, res, `>${max}`)
        return
      }
      chunks.push(chunk)
    })
    req.on('error', () => {
      rejected = true
    })
    req.on('end', () => {
      if (rejected) return
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8')
      this.deps.dispatcher.handleText(text, HTTP_CTX).then(
        (body) => {
          if (res.destroyed) return
          if (body === undefined) {
            res.writeHead(200, { 'content-length': 0 })
            res.end()
          } else this.send(res, 200, body)
        },
        (err) => {
          // The dispatcher answers every error itself; reaching here is a bug, not a crash.
          this.deps.logger.error({ err }, 'HTTP dispatch failed')
          if (!res.headersSent) this.send(res, 500, jsonError(RpcCode.INTERNAL, 'internal error'))
        },
      )
    })
  }
}
