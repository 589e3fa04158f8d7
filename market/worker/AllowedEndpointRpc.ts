import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { JobError } from '../client/JobError.js'
import type { EndpointAllowList } from './EndpointAllowList.js'

/** A pov_getBlob answer is a 1 MiB chunk as hex: 2 MiB and some. */
const MAX_RESPONSE_BYTES = 3 * 1024 * 1024

/**
 * JSON-RPC to a registered worker endpoint that the allow-list permits (EndpointAllowList): the
 * name is resolved and checked first, and the connection goes to that checked address (the
 * socket's lookup answers with it), so a DNS server that answers a public address to the check
 * and 127.0.0.1 to the connection reaches nothing; TLS still verifies the certificate for the
 * name. Redirects are answers like any other (not JSON-RPC, so nothing): a request, signed for
 * this endpoint, never goes anywhere else. Answers larger than 3 MiB are cut off.
 */
export class AllowedEndpointRpc {
  private nextId = 1

  constructor(
    readonly url: string,
    private readonly allow: EndpointAllowList,
    private readonly timeoutMs = 30_000,
  ) {}

  async request<T>(method: string, params: unknown[]): Promise<T> {
    const target = await this.allow.resolve(this.url)
    const pinned: LookupFunction = (_host, opts, cb) => {
      if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }])
      else cb(null, target.address, target.family)
    }
    const body = JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params })
    const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(
        target.url,
        { method: 'POST', lookup: pinned, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: this.timeoutMs },
        (r: IncomingMessage) => {
          const parts: Buffer[] = []
          let size = 0
          r.on('data', (c: Buffer) => {
            size += c.length
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(new JobError('ENDPOINT_ANSWER', `${this.url} answered more than ${MAX_RESPONSE_BYTES} bytes`))
              return
            }
            parts.push(c)
          })
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }))
          r.on('error', reject)
        },
      )
      req.on('timeout', () => req.destroy(new JobError('ENDPOINT_ANSWER', `${this.url} did not answer within ${this.timeoutMs} ms`)))
      req.on('error', reject)
      req.end(body)
    })
    if (res.status < 200 || res.status >= 300) throw new JobError('ENDPOINT_ANSWER', `${this.url} answered HTTP ${res.status}${res.status >= 300 && res.status < 400 ? ' (a redirect: not followed)' : ''}`)
    let parsed: { result?: T; error?: { message?: string } }
    try {
      parsed = JSON.parse(res.text) as typeof parsed
    } catch {
      throw new JobError('ENDPOINT_ANSWER', `${this.url} answered no JSON`)
    }
    if (parsed.error) throw new JobError('ENDPOINT_ANSWER', `${method} at ${this.url}: ${String(parsed.error.message ?? 'error')}`)
    return parsed.result as T
  }
}
