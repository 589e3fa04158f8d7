import type { PeerId } from '@libp2p/interface'
import type { ImageArchiveProvider } from '../ChainAccess.js'
import { ImageArchivesRequest, ImageArchivesResponse, MAX_IMAGE_ARCHIVES, type ImageArchiveEntry } from '../Protobuf.js'
import type { ProtocolHandler, ReqResp } from '../ReqResp.js'
import { NetworkError } from '../errors.js'

/**
 * image_archives: which container images (by OCI manifest digest) a peer shares as archives in its
 * blob store, with each archive's content hash and size. A worker missing the image a job pins asks
 * its peers here, then fetches the archive with blob_by_hash. Nothing here is trusted: the archive's
 * keccak is checked by the blob download and its manifest digest by compute's ImageStore before
 * `docker load`.
 */
export const IMAGE_ARCHIVES = 'image_archives'

/** 32 digests of 32 bytes with their tags and lengths, with room to spare. */
export const MAX_IMAGE_ARCHIVES_REQUEST_BYTES = MAX_IMAGE_ARCHIVES * 34 + 16
const MAX_IMAGE_ARCHIVES_RESPONSE_BYTES = MAX_IMAGE_ARCHIVES * 90 + 64

export function imageArchivesHandler(images: ImageArchiveProvider): ProtocolHandler {
  return {
    name: IMAGE_ARCHIVES,
    maxRequestBytes: MAX_IMAGE_ARCHIVES_REQUEST_BYTES,
    cost: () => 1,
    async handle(req) {
      const { digests } = ImageArchivesRequest.decode(req)
      const wanted = new Set(digests.map((d) => Buffer.from(d).toString('hex')))
      const held = await images.imageArchives(digests)
      const out = held
        .filter((e) => wanted.size === 0 || wanted.has(Buffer.from(e.digest).toString('hex')))
        .slice(0, MAX_IMAGE_ARCHIVES)
        .map((e) => ({ digest: e.digest, archive: e.archive, size: BigInt(e.size) }))
      return ImageArchivesResponse.encode({ images: out })
    },
  }
}

/** Asks one peer which of `digests` it shares (all it shares when empty). */
export async function requestImageArchives(rr: ReqResp, peer: PeerId, digests: Uint8Array[]): Promise<ImageArchiveEntry[]> {
  if (digests.length > MAX_IMAGE_ARCHIVES) throw new NetworkError('BAD_REQUEST', `${digests.length} digests (at most ${MAX_IMAGE_ARCHIVES})`)
  const body = await rr.request(peer, IMAGE_ARCHIVES, ImageArchivesRequest.encode({ digests }), { maxResponseBytes: MAX_IMAGE_ARCHIVES_RESPONSE_BYTES })
  return ImageArchivesResponse.decode(body).images
}
