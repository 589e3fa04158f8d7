import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import type { Logger } from '../common/logger.js'
import type { CallContext, JsonRpcDispatcher } from './JsonRpcDispatcher.js'
import { HostPolicy } from './HostPolicy.js'
import { OriginPolicy } from './OriginPolicy.js'
import { isOwnPageOrigin } from './PageHandler.js'
import type { RpcMetrics } from './RpcMetrics.js'
import type { RpcOptions } from './RpcOptions.js'
import type { SubscriptionManager } from './SubscriptionManager.js'

export interface WsServerDeps {
  dispatcher: JsonRpcDispatcher
  subscriptions: SubscriptionManager
  metrics: RpcMetrics
  logger: Logger
  /** The HTTP server's port once listening: pages it served (RpcOptions.pages) may connect from its origin. */
  httpPort?: () => number | undefined
}

/** A client this far behind on reading its notifications is dropped rather than buffered forever. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024
const PING_INTERVAL_MS = 30_000

/**
 * JSON-RPC over WebSocket (the `ws` library): the same dispatcher as HTTP, plus eth_subscribe.
 * `handleUpgrade` serves upgrades from its own port and from the HTTP server's.
 */
export class WsServer {
  private readonly wss: WebSocketServer
  private readonly origins: OriginPolicy
  private readonly hosts: HostPolicy
  private server?: http.Server
  private pinger?: NodeJS.Timeout
  private readonly alive = new WeakMap<WebSocket, boolean>()

  constructor(
    private readonly opts: RpcOptions,
    private readonly deps: WsServerDeps,
  ) {
    this.origins = new OriginPolicy(opts.wsOrigins)
    this.hosts = new HostPolicy(opts.vhosts)
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxBodyBytes, perMessageDeflate: false, clientTracking: true })
    this.wss.on('connection', (ws) => this.onConnection(ws))
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS)
    this.pinger.unref()
  }

  readonly handleUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const reject = (status: number, text: string) => {
      this.deps.metrics.bad('ws_upgrade_rejected')
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    // Host first (DNS rebinding reaches a WS port by name too), then the browser's Origin.
    if (!this.hosts.accepts(req.headers.host)) return reject(403, 'Forbidden (invalid host specified)')
    const ownPage = this.opts.pages !== undefined && isOwnPageOrigin(req.headers.origin, req.headers.host, this.deps.httpPort?.())
    if (!ownPage && !this.origins.accepts(req.headers.origin)) return reject(403, 'Forbidden (origin not allowed by --ws.origins)')
    if (this.wss.clients.size >= this.opts.wsMaxConnections) return reject(503, 'Service Unavailable')
    socket.on('error', () => socket.destroy())
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req))
  }

  /** Listens on its own port (when not sharing the HTTP server). */
  async listen(): Promise<string> {
    const server = http.createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' })
      res.end('WebSocket JSON-RPC endpoint: connect with ws://\n')
    })
    server.on('upgrade', this.handleUpgrade)
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.opts.wsPort, this.opts.wsAddr, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const a = server.address() as AddressInfo
    return `ws://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
  }

  async close(): Promise<void> {
    if (this.pinger) clearInterval(this.pinger)
    for (const ws of this.wss.clients) ws.terminate()
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    if (this.server) {
      const s = this.server
      await new Promise<void>((resolve) => {
        s.close(() => resolve())
        s.closeAllConnections()
      })
    }
  }

  private ping(): void {
    for (const ws of this.wss.clients) {
      if (this.alive.get(ws) === false) {
        ws.terminate()
        continue
      }
      this.alive.set(ws, false)
      ws.ping()
    }
  }

  private onConnection(ws: WebSocket): void {
    const { metrics, logger, dispatcher } = this.deps
    metrics.wsConnections.inc()
    this.alive.set(ws, true)
    ws.on('pong', () => this.alive.set(ws, true))
    const send = (json: string) => {
      if (ws.readyState !== WebSocket.OPEN) return
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        logger.warn({ buffered: ws.bufferedAmount }, 'dropping a WebSocket client that does not read')
        ws.terminate()
        return
      }
      ws.send(json)
    }
    const subs = this.deps.subscriptions.connection(send)
    const ctx: CallContext = { subscriptions: subs }
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8')
      dispatcher.handleText(text, ctx).then(
        (reply) => {
          if (reply !== undefined) send(reply)
          subs.activate()
        },
        (err) => logger.error({ err }, 'WebSocket dispatch failed'),
      )
    })
    ws.on('error', (err: Error & { code?: string }) => {
      metrics.bad(err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'body_too_large' : 'ws_error')
      logger.debug({ err }, 'WebSocket error')
    })
    ws.on('close', () => {
      metrics.wsConnections.dec()
      subs.close()
    })
  }
}
