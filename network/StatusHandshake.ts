import type { PeerId } from '@libp2p/interface'
import { bytesToHex } from '../common/bytes.js'
import type { ChainAccess } from './ChainAccess.js'
import { Status, type StatusMessage } from './Protobuf.js'
import type { ProtocolHandler, ReqResp } from './ReqResp.js'

/**
 * The status exchange every connection starts with (and repeats now and then to learn the
 * peer's head): the requester sends its Status, the responder answers with its own, and
 * each side checks the other's chain id and genesis. A peer on another chain is dropped
 * with the reason logged; a compatible one becomes ready for sync and gossip.
 */
export const STATUS = 'status'

export function localStatus(chain: ChainAccess, client: string): StatusMessage {
  const head = chain.head()
  const fin = chain.finalized()
  return {
    chainId: chain.chainId,
    genesisHash: chain.genesisHash,
    headNumber: head.number,
    headHash: head.hash(),
    finalizedNumber: fin?.number ?? 0n,
    finalizedHash: fin?.hash ?? new Uint8Array(0),
    client,
  }
}

/** Why a peer with status `remote` cannot be ours, or undefined when it can. */
export function incompatibility(chain: ChainAccess, remote: StatusMessage): string | undefined {
  if (remote.chainId !== chain.chainId) return `chain id ${remote.chainId}, ours is ${chain.chainId}`
  if (bytesToHex(remote.genesisHash) !== bytesToHex(chain.genesisHash))
    return `genesis ${bytesToHex(remote.genesisHash).slice(0, 18)}…, ours is ${bytesToHex(chain.genesisHash).slice(0, 18)}…`
  return undefined
}

export function statusHandler(chain: ChainAccess, client: string, onStatus: (peer: PeerId, s: StatusMessage) => void): ProtocolHandler {
  return {
    name: STATUS,
    maxRequestBytes: 512,
    async handle(req, { peerId, afterResponse }) {
      const remote = Status.decode(req)
      // Answer first, so an incompatible peer also learns why it is being dropped: the check
      // (which may ban, and a ban closes the connection) runs once the answer is written.
      afterResponse(() => onStatus(peerId, remote))
      return Status.encode(localStatus(chain, client))
    },
  }
}

export async function exchangeStatus(rr: ReqResp, peer: PeerId, chain: ChainAccess, client: string, timeoutMs?: number): Promise<StatusMessage> {
  const body = await rr.request(peer, STATUS, Status.encode(localStatus(chain, client)), { maxResponseBytes: 512, timeoutMs })
  return Status.decode(body)
}
