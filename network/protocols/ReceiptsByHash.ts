import type { PeerId } from '@libp2p/interface'
import { encodeStoredReceipts } from '../../chain/Receipt.js'
import type { ChainAccess } from '../ChainAccess.js'
import { NetworkError } from '../errors.js'
import { HashesRequest, MAX_HASHES_PER_REQUEST, ReceiptsResponse } from '../Protobuf.js'
import type { ProtocolHandler, ReqResp } from '../ReqResp.js'

/** receipts_by_hash: each block's receipts (stored encoding), stopping at an unknown block or 8 MiB. */
export const RECEIPTS_BY_HASH = 'receipts_by_hash'
export const MAX_RECEIPTS_RESPONSE_BYTES = 8 * 1024 * 1024

export function receiptsByHashHandler(chain: ChainAccess): ProtocolHandler {
  return {
    name: RECEIPTS_BY_HASH,
    maxRequestBytes: MAX_HASHES_PER_REQUEST * 34 + 16,
    cost: (req) => Math.max(1, Math.ceil(HashesRequest.decode(req).hashes.length / 32)),
    async handle(req) {
      const { hashes } = HashesRequest.decode(req)
      const receipts: Uint8Array[] = []
      let size = 0
      for (const h of hashes) {
        const r = await chain.getReceipts(h)
        if (!r) break
        const enc = encodeStoredReceipts(r)
        if (size + enc.length > MAX_RECEIPTS_RESPONSE_BYTES && receipts.length > 0) break
        receipts.push(enc)
        size += enc.length
      }
      return ReceiptsResponse.encode({ receipts })
    },
  }
}

export async function requestReceipts(rr: ReqResp, peer: PeerId, hashes: Uint8Array[]): Promise<Uint8Array[]> {
  if (hashes.length < 1 || hashes.length > MAX_HASHES_PER_REQUEST) throw new NetworkError('BAD_REQUEST', `${hashes.length} hashes`)
  const body = await rr.request(peer, RECEIPTS_BY_HASH, HashesRequest.encode({ hashes }), { maxResponseBytes: 3 * MAX_RECEIPTS_RESPONSE_BYTES })
  const { receipts } = ReceiptsResponse.decode(body)
  if (receipts.length > hashes.length) throw new NetworkError('BAD_RESPONSE', `asked for ${hashes.length} receipts, got ${receipts.length}`)
  return receipts
}
