import type { PeerId } from '@libp2p/interface'
import type { ChainAccess } from '../ChainAccess.js'
import { NetworkError } from '../errors.js'
import { BodiesResponse, HashesRequest, MAX_HASHES_PER_REQUEST } from '../Protobuf.js'
import type { ProtocolHandler, ReqResp } from '../ReqResp.js'

/** bodies_by_hash: block bodies in request order, stopping at an unknown block or 8 MiB. */
export const BODIES_BY_HASH = 'bodies_by_hash'
export const MAX_BODIES_RESPONSE_BYTES = 8 * 1024 * 1024
/** One body may exceed the soft limit (it is always sent whole); this bounds what we read. */
const MAX_BODIES_READ = 24 * 1024 * 1024

export function bodiesByHashHandler(chain: ChainAccess): ProtocolHandler {
  return {
    name: BODIES_BY_HASH,
    maxRequestBytes: MAX_HASHES_PER_REQUEST * 34 + 16,
    cost: (req) => Math.max(1, Math.ceil(HashesRequest.decode(req).hashes.length / 32)),
    async handle(req) {
      const { hashes } = HashesRequest.decode(req)
      const bodies: Uint8Array[] = []
      let size = 0
      for (const h of hashes) {
        const b = await chain.getBlock(h)
        if (!b) break
        const enc = b.encodeBody()
        if (size + enc.length > MAX_BODIES_RESPONSE_BYTES && bodies.length > 0) break
        bodies.push(enc)
        size += enc.length
      }
      return BodiesResponse.encode({ bodies })
    },
  }
}

/** The bodies of `hashes` (a prefix of them when the peer stops early), as raw RLP. */
export async function requestBodies(rr: ReqResp, peer: PeerId, hashes: Uint8Array[]): Promise<Uint8Array[]> {
  if (hashes.length < 1 || hashes.length > MAX_HASHES_PER_REQUEST) throw new NetworkError('BAD_REQUEST', `${hashes.length} hashes`)
  const body = await rr.request(peer, BODIES_BY_HASH, HashesRequest.encode({ hashes }), { maxResponseBytes: MAX_BODIES_READ })
  const { bodies } = BodiesResponse.decode(body)
  if (bodies.length > hashes.length) throw new NetworkError('BAD_RESPONSE', `asked for ${hashes.length} bodies, got ${bodies.length}`)
  return bodies
}
