import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'
import type { Logger } from '../common/logger.js'
import type { Metrics } from '../common/metrics.js'
import { NetworkError } from './errors.js'
import type { PeerAction, PeerScorer } from './PeerScorer.js'
import { Response, ResponseCode } from './Protobuf.js'
import type { RateLimiter } from './RateLimiter.js'

/**
 * Request/response over libp2p streams: one stream per request. The requester writes one
 * length-prefixed protobuf request and closes its write side; the responder answers with one
 * length-prefixed `Response` (code, message, body) and closes. Both sides bound what they
 * read (`maxRequestBytes`, `maxResponseBytes`) and how long they wait (`timeoutMs`); the
 * responder charges the peer's rate limit before doing any work.
 */
export const PROTOCOL_PREFIX = '/povchain/req'
export const protocolId = (name: string) => `${PROTOCOL_PREFIX}/${name}/1`

export interface HandlerContext {
  peer: string
  peerId: PeerId
  /**
   * Runs `fn` once the response has been written and the stream closed (or failed): what would
   * end the connection — a ban — must wait for it, or the peer never reads why.
   */
  afterResponse(fn: () => void): void
}

export interface ProtocolHandler {
  name: string
  maxRequestBytes: number
  /** Rate-limit tokens this request costs (default 1); may throw BAD_MESSAGE. */
  cost?(request: Uint8Array): number
  /**
   * Returns the encoded response body; throws NetworkError('BAD_MESSAGE') for a bad request,
   * 'UNAVAILABLE' for what it does not hold, 'FORBIDDEN' for what it holds but will not give this
   * requester (answered FORBIDDEN, not scored: an honest peer may ask for what it may not have),
   * 'BAD_SIGNATURE' for a request signed by someone else than it claims (FORBIDDEN, and scored).
   */
  handle(request: Uint8Array, ctx: HandlerContext): Promise<Uint8Array>
}

export interface RequestOptions {
  maxResponseBytes: number
  timeoutMs?: number
}

export class ReqResp {
  private readonly log: Logger
  private readonly m
  readonly timeoutMs: number
  /** What this node serves, in registration order: name and request size limit (the p2p fuzz covers each). */
  readonly registered: { name: string; maxRequestBytes: number }[] = []

  constructor(
    private readonly libp2p: Libp2p,
    opts: { timeoutMs: number },
    private readonly deps: { scorer: PeerScorer; limiter: RateLimiter; logger: Logger; metrics: Metrics },
  ) {
    this.timeoutMs = opts.timeoutMs
    this.log = deps.logger.child({ component: 'reqresp' })
    this.m = {
      served: deps.metrics.counter('povchain_network_reqresp_served_total', 'Requests served, by protocol and result', ['protocol', 'result']),
      requested: deps.metrics.counter('povchain_network_reqresp_requests_total', 'Requests sent, by protocol and result', ['protocol', 'result']),
      seconds: deps.metrics.histogram('povchain_network_reqresp_seconds', 'Time from request to response', ['protocol'], [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
    }
  }

  private penalize(peer: string, action: PeerAction, reason: string): void {
    this.deps.scorer.apply(peer, action, reason)
  }

  async register(h: ProtocolHandler): Promise<void> {
    this.registered.push({ name: h.name, maxRequestBytes: h.maxRequestBytes })
    await this.libp2p.handle(protocolId(h.name), (stream, connection) => this.serve(h, stream, connection.remotePeer), {
      // Sync keeps up to 4 batches in flight, each a headers request and up to 4 bodies
      // requests, possibly all to one peer; the rate limiter bounds the work, not this.
      maxInboundStreams: 64,
      maxOutboundStreams: 64,
    })
  }

  private async serve(h: ProtocolHandler, stream: Stream, peerId: PeerId): Promise<void> {
    const peer = peerId.toString()
    const signal = AbortSignal.timeout(this.timeoutMs)
    const onAbort = () => stream.abort(new NetworkError('TIMEOUT', 'request not received in time'))
    signal.addEventListener('abort', onAbort, { once: true })
    let result = 'ok'
    const after: (() => void)[] = []
    try {
      let request: Uint8Array | undefined
      try {
        for await (const frame of lp.decode(stream, { maxDataLength: h.maxRequestBytes })) {
          request = frame.subarray()
          break
        }
      } catch (e) {
        if (signal.aborted) {
          // Slow, not malformed: a peer paused or starved mid-request (SIGSTOP, swap) sends the
          // rest late. Scored as malformed, two such stalls banned an honest node (F1).
          result = 'timeout'
          this.penalize(peer, 'timeout', `${h.name}: request not received in time`)
        } else {
          result = 'malformed'
          this.penalize(peer, 'malformed', `${h.name}: unreadable request (${(e as Error).message})`)
        }
        stream.abort(e as Error)
        return
      }
      if (request === undefined) {
        result = 'empty'
        stream.abort(new NetworkError('BAD_MESSAGE', 'no request'))
        return
      }
      // Scores that may ban (and a ban closes the connection) count once the answer is out, so
      // the peer reads why it was refused.
      const later = (p: string, action: PeerAction, reason: string) => after.push(() => this.penalize(p, action, reason))
      let response: { code: ResponseCode; message: string; body: Uint8Array }
      try {
        const cost = h.cost?.(request) ?? 1
        if (!this.deps.limiter.tryTake(peer, h.name, cost)) {
          result = 'rate-limited'
          later(peer, 'rate-limited', `${h.name}: over the rate limit`)
          response = { code: ResponseCode.RATE_LIMITED, message: 'rate limited', body: new Uint8Array(0) }
        } else response = { code: ResponseCode.OK, message: '', body: await h.handle(request, { peer, peerId, afterResponse: (fn) => after.push(fn) }) }
      } catch (e) {
        if (e instanceof NetworkError && e.code === 'NETWORK_BAD_MESSAGE') {
          result = 'invalid'
          later(peer, 'malformed', `${h.name}: ${e.message}`)
          response = { code: ResponseCode.INVALID_REQUEST, message: e.message.slice(0, 500), body: new Uint8Array(0) }
        } else if (e instanceof NetworkError && (e.code === 'NETWORK_FORBIDDEN' || e.code === 'NETWORK_BAD_SIGNATURE')) {
          result = e.code === 'NETWORK_FORBIDDEN' ? 'forbidden' : 'bad-signature'
          if (e.code === 'NETWORK_BAD_SIGNATURE') later(peer, 'invalid-signature', `${h.name}: ${e.message}`)
          response = { code: ResponseCode.FORBIDDEN, message: e.message.slice(0, 500), body: new Uint8Array(0) }
        } else if (e instanceof NetworkError && e.code === 'NETWORK_UNAVAILABLE') {
          result = 'unavailable'
          response = { code: ResponseCode.UNAVAILABLE, message: e.message.slice(0, 500), body: new Uint8Array(0) }
        } else {
          result = 'error'
          this.log.warn({ protocol: h.name, peer, err: (e as Error).message }, 'request handler failed')
          response = { code: ResponseCode.SERVER_ERROR, message: 'internal error', body: new Uint8Array(0) }
        }
      }
      await send(stream, lp.encode.single(Response.encode(response)).subarray(), signal)
      await stream.close({ signal })
    } catch (e) {
      result = result === 'ok' ? 'failed' : result
      this.log.debug({ protocol: h.name, peer, err: (e as Error).message }, 'serving a request failed')
      stream.abort(e as Error)
    } finally {
      signal.removeEventListener('abort', onAbort)
      this.m.served.inc({ protocol: h.name, result })
      for (const fn of after) fn()
    }
  }

  /**
   * Sends `request` on protocol `name` to `peer` and returns the OK response's body. Throws a
   * NetworkError: TIMEOUT, RATE_LIMITED, FORBIDDEN (the peer holds it but refuses us; the message
   * says why), REFUSED (the peer answered with another error),
   * BAD_RESPONSE (unreadable or oversized answer) or DIAL (no stream).
   */
  async request(peer: PeerId, name: string, request: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs
    const signal = AbortSignal.timeout(timeoutMs)
    const stopTimer = this.m.seconds.startTimer({ protocol: name })
    const peerStr = peer.toString()
    let result = 'ok'
    let stream: Stream | undefined
    let answered = false
    try {
      try {
        stream = await this.libp2p.dialProtocol(peer, protocolId(name), { signal })
      } catch (e) {
        result = signal.aborted ? 'timeout' : 'dial'
        throw signal.aborted
          ? new NetworkError('TIMEOUT', `${name}: no stream to ${peerStr} within ${timeoutMs} ms`)
          : new NetworkError('DIAL', `${name}: cannot open a stream to ${peerStr}: ${(e as Error).message}`, { cause: e })
      }
      const s = stream
      const onAbort = () => s.abort(new NetworkError('TIMEOUT', `${name}: no response within ${timeoutMs} ms`))
      signal.addEventListener('abort', onAbort, { once: true })
      let frame: Uint8Array | undefined
      try {
        await send(s, lp.encode.single(request).subarray(), signal)
        await s.close({ signal })
        for await (const f of lp.decode(s, { maxDataLength: opts.maxResponseBytes + 1024 })) {
          frame = f.subarray()
          break
        }
      } catch (e) {
        if (signal.aborted) {
          result = 'timeout'
          this.penalize(peerStr, 'timeout', `${name}: timed out`)
          throw new NetworkError('TIMEOUT', `${name}: no response from ${peerStr} within ${timeoutMs} ms`)
        }
        result = 'bad-response'
        this.penalize(peerStr, 'malformed', `${name}: unreadable response (${(e as Error).message})`)
        throw new NetworkError('BAD_RESPONSE', `${name}: unreadable response from ${peerStr}: ${(e as Error).message}`, { cause: e })
      } finally {
        signal.removeEventListener('abort', onAbort)
      }
      if (frame === undefined) {
        result = 'no-response'
        throw new NetworkError('BAD_RESPONSE', `${name}: ${peerStr} closed the stream without answering`)
      }
      let res
      try {
        res = Response.decode(frame)
      } catch (e) {
        result = 'bad-response'
        this.penalize(peerStr, 'malformed', `${name}: ${(e as Error).message}`)
        throw new NetworkError('BAD_RESPONSE', `${name}: ${(e as Error).message}`)
      }
      if (res.code === ResponseCode.RATE_LIMITED) {
        result = 'rate-limited'
        throw new NetworkError('RATE_LIMITED', `${name}: ${peerStr} rate-limited us`)
      }
      if (res.code === ResponseCode.FORBIDDEN) {
        result = 'forbidden'
        throw new NetworkError('FORBIDDEN', `${name}: ${peerStr} refused: ${res.message}`)
      }
      if (res.code !== ResponseCode.OK) {
        result = 'refused'
        throw new NetworkError('REFUSED', `${name}: ${peerStr} answered ${ResponseCode[res.code] ?? `code ${res.code}`}: ${res.message}`)
      }
      if (res.body.length > opts.maxResponseBytes) {
        result = 'bad-response'
        this.penalize(peerStr, 'malformed', `${name}: oversized response`)
        throw new NetworkError('BAD_RESPONSE', `${name}: response of ${res.body.length} bytes exceeds ${opts.maxResponseBytes}`)
      }
      answered = true
      return res.body
    } finally {
      stopTimer()
      this.m.requested.inc({ protocol: name, result })
      // After an answer the responder closes its side and the stream ends by itself; after a
      // failure it is reset so that a responder that keeps it open holds nothing of ours.
      if (!answered && stream && stream.status === 'open') stream.abort(new NetworkError('ABORTED', `${name}: request failed`))
    }
  }
}

async function send(stream: Stream, data: Uint8Array, signal: AbortSignal): Promise<void> {
  if (!stream.send(data)) await stream.onDrain({ signal })
}
