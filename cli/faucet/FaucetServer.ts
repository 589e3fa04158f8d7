import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getAddress, isAddress, type Address } from 'viem'
import { roundedCoins } from '../../common/CoinAmount.js'
import type { Logger } from '../../common/logger.js'
import { DripLimiter } from './DripLimiter.js'
import { faucetPage } from './FaucetPage.js'
import { FaucetError, type FaucetSender } from './FaucetSender.js'

export interface FaucetServerOptions {
  host: string
  port: number
  windowMs: number
  perIp: number
  /** Take the client's IP from X-Forwarded-For (only behind a reverse proxy that sets it). */
  trustProxy: boolean
}

/** Largest request body the faucet reads: an address in JSON is under 100 bytes. */
const MAX_BODY = 1024

/**
 * `povchain faucet`'s HTTP side: `GET /` the page, `POST /api/drip` `{"address":"0x…"}` →
 * `{"hash","amount","to"}` (429 with Retry-After when a limit is hit, 503 when the faucet is
 * dry), `GET /api/info` what it gives and holds. JSON bodies only and no CORS, so a foreign
 * page cannot spend its limits from visitors' browsers.
 */
export class FaucetServer {
  private server?: Server
  private readonly limiter: DripLimiter

  constructor(
    private readonly sender: FaucetSender,
    private readonly opts: FaucetServerOptions,
    private readonly log: Logger,
  ) {
    this.limiter = new DripLimiter({ windowMs: opts.windowMs, perIp: opts.perIp })
  }

  async start(): Promise<string> {
    const chainId = await this.sender.chain()
    const page = faucetPage({ chainId, amount: `${roundedCoins(this.sender.amount)} coins`, window: humanWindow(this.opts.windowMs), address: this.sender.address })
    this.server = createServer((req, res) => {
      this.handle(req, res, page, chainId).catch((e: Error) => {
        this.log.error({ err: e.message }, 'faucet request failed')
        if (!res.headersSent) reply(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } })
      })
    })
    this.server.requestTimeout = 10_000
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject)
      this.server!.listen(this.opts.port, this.opts.host, () => resolve())
    })
    const a = this.server.address() as AddressInfo
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/`
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    this.server?.closeAllConnections()
  }

  private async handle(req: IncomingMessage, res: ServerResponse, page: string, chainId: number): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'", 'x-frame-options': 'DENY' })
      res.end(page)
      return
    }
    if (req.method === 'GET' && path === '/api/info') {
      reply(res, 200, { chainId, address: this.sender.address, amount: this.sender.amount.toString(), balance: (await this.sender.balance()).toString(), windowSeconds: this.opts.windowMs / 1000, perIp: this.opts.perIp })
      return
    }
    if (path !== '/api/drip') return reply(res, 404, { error: { code: 'NOT_FOUND', message: `no ${path} here: GET / or POST /api/drip` } })
    if (req.method !== 'POST') return reply(res, 405, { error: { code: 'METHOD', message: 'POST a JSON body {"address":"0x…"}' } })
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
      return reply(res, 415, { error: { code: 'CONTENT_TYPE', message: 'send Content-Type: application/json' } })
    const body = await readBody(req)
    if (body === undefined) return reply(res, 413, { error: { code: 'TOO_LARGE', message: `the body is over ${MAX_BODY} bytes` } })
    let address: unknown
    try {
      address = (JSON.parse(body) as { address?: unknown }).address
    } catch {
      return reply(res, 400, { error: { code: 'BAD_JSON', message: 'the body is not JSON: send {"address":"0x…"}' } })
    }
    if (typeof address !== 'string' || !isAddress(address, { strict: false }))
      return reply(res, 400, { error: { code: 'BAD_ADDRESS', message: 'address must be a 0x-prefixed 20-byte hex address' } })
    const to: Address = getAddress(address)
    const ip = this.clientIp(req)
    const refused = this.limiter.take(to, ip)
    if (refused) {
      res.setHeader('retry-after', String(refused.retryAfterSeconds))
      const who = refused.reason === 'address' ? `${to} was sent coins` : 'your network sent too many requests'
      return reply(res, 429, { error: { code: 'RATE_LIMITED', message: `${who} recently: try again in ${humanWindow(refused.retryAfterSeconds * 1000)}` } })
    }
    try {
      const hash = await this.sender.drip(to)
      this.log.info({ to, hash, ip }, 'faucet sent coins')
      reply(res, 200, { hash, to, amount: `${roundedCoins(this.sender.amount)} coins`, wei: this.sender.amount.toString() })
    } catch (e) {
      this.limiter.release(to, ip)
      const err = e as FaucetError
      this.log.warn({ to, err: err.message }, 'faucet could not send')
      reply(res, err instanceof FaucetError && err.code === 'EMPTY' ? 503 : 502, { error: { code: err instanceof FaucetError ? err.code : 'INTERNAL', message: err.message } })
    }
  }

  private clientIp(req: IncomingMessage): string {
    const forwarded = this.opts.trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]!.trim() : ''
    return forwarded || req.socket.remoteAddress || 'unknown'
  }
}

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    size += (c as Buffer).length
    if (size > MAX_BODY) return undefined
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export function humanWindow(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000))
  if (s % 86400 === 0) return `${s / 86400} day${s === 86400 ? '' : 's'}`
  if (s >= 3600) return `${Math.round(s / 360) / 10} h`
  if (s >= 60) return `${Math.round(s / 6) / 10} min`
  return `${s} s`
}
