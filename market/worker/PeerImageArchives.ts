import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import type { Hash32 } from '../../compute/ContentHash.js'
import type { PeerImageArchive } from '../../compute/runtime/ImageStore.js'

/** What the finder needs of network/'s Network: its image_archives question to every ready peer. */
export interface ImageArchiveAsker {
  imageArchives(digests?: Uint8Array[]): Promise<{ peer: string; digest: Uint8Array; archive: Uint8Array; size: bigint }[]>
}

/**
 * compute's ImageStore `findArchives` over the network: which connected peers share the image
 * with manifest digest `sha256:…`, and under which archive hash. Their word only: ImageStore
 * checks every archive before it loads it.
 */
export function peerImageArchiveFinder(net: ImageArchiveAsker): (digest: string) => Promise<PeerImageArchive[]> {
  return async (digest) => {
    const want = digest.toLowerCase()
    const answers = await net.imageArchives([hexToBytes(`0x${want.slice('sha256:'.length)}`)])
    return answers
      .filter((e) => `sha256:${bytesToHex(e.digest).slice(2)}` === want)
      .map((e) => ({ peer: e.peer, archive: bytesToHex(e.archive) as Hash32, size: Number(e.size) }))
  }
}
