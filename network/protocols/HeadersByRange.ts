import type { PeerId } from '@libp2p/interface'
import { BlockHeader } from '../../chain/Header.js'
import type { ChainAccess } from '../ChainAccess.js'
import { NetworkError } from '../errors.js'
import { HeadersByRangeRequest, HeadersResponse, MAX_HEADERS_PER_REQUEST } from '../Protobuf.js'
import type { ProtocolHandler, ReqResp } from '../ReqResp.js'

/** headers_by_range: canonical headers [start, start+count), stopping at the head or 2 MiB. */
export const HEADERS_BY_RANGE = 'headers_by_range'
export const MAX_HEADERS_RESPONSE_BYTES = 2 * 1024 * 1024

export function headersByRangeHandler(chain: ChainAccess): ProtocolHandler {
  return {
    name: HEADERS_BY_RANGE,
    maxRequestBytes: 64,
    cost: (req) => Math.max(1, Math.ceil(HeadersByRangeRequest.decode(req).count / 64)),
    async handle(req) {
      const { start, count } = HeadersByRangeRequest.decode(req)
      const headers: Uint8Array[] = []
      let size = 0
      for (let n = start; n < start + BigInt(count); n++) {
        const h = await chain.canonicalHeader(n)
        if (!h) break
        const enc = h.encode()
        if (size + enc.length > MAX_HEADERS_RESPONSE_BYTES && headers.length > 0) break
        headers.push(enc)
        size += enc.length
      }
      return HeadersResponse.encode({ headers })
    },
  }
}

/**
 * Asks `peer` for its canonical headers from `start` and checks what comes back: ascending
 * numbers from `start`, each the parent of the next, at most `count`. A response that breaks
 * this is the peer's fault (BAD_RESPONSE).
 */
export async function requestHeaders(rr: ReqResp, peer: PeerId, start: bigint, count: number): Promise<BlockHeader[]> {
  if (count < 1 || count > MAX_HEADERS_PER_REQUEST) throw new NetworkError('BAD_REQUEST', `header count ${count} out of range`)
  const body = await rr.request(peer, HEADERS_BY_RANGE, HeadersByRangeRequest.encode({ start, count }), { maxResponseBytes: MAX_HEADERS_RESPONSE_BYTES + 64 * 1024 })
  const { headers: raw } = HeadersResponse.decode(body)
  if (raw.length > count) throw new NetworkError('BAD_RESPONSE', `asked for ${count} headers, got ${raw.length}`)
  const headers: BlockHeader[] = []
  for (const [i, r] of raw.entries()) {
    let h: BlockHeader
    try {
      h = BlockHeader.decode(r)
    } catch (e) {
      throw new NetworkError('BAD_RESPONSE', `header ${i}: ${(e as Error).message}`)
    }
    if (h.number !== start + BigInt(i)) throw new NetworkError('BAD_RESPONSE', `header ${i} has number ${h.number}, expected ${start + BigInt(i)}`)
    const prev = headers[i - 1]
    if (prev && !equal(h.parentHash, prev.hash())) throw new NetworkError('BAD_RESPONSE', `header ${h.number} does not link to ${prev.number}`)
    headers.push(h)
  }
  return headers
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
