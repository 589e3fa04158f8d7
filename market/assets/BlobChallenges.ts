import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { AssetError } from './AssetError.js'

/** How long a challenge may be signed and used for. */
export const BLOB_CHALLENGE_TTL_SEC = 300
/** Downloads (challenges in use) the book tracks at once; beyond, new ones wait for old ones to expire. */
export const MAX_CHALLENGES_IN_USE = 10_000
/** Chunks one challenge reads (4,096 chunks of 1 MiB: any blob a node serves). */
export const MAX_READS_PER_CHALLENGE = 4_096

const refuse = (message: string) => new AssetError('DOWNLOAD_AUTH', message, { rpcCode: -32602 })

/**
 * One-time server challenges for signed blob requests over HTTP (pov_blobChallenge): the
 * requester signs the nonce with the request, so a request read off the wire, a proxy or a log
 * reads no chunk the first reader already read. A nonce is `issued (8 bytes) ‖ random (8) ‖
 * HMAC(secret, both)[:16]`: issuing keeps no state (a flood of challenges costs nothing), a
 * nonce is this node's and fresh (≤ BLOB_CHALLENGE_TTL_SEC) without a lookup, and only the
 * nonces in use are remembered — each with the offsets it read, until it expires. The book is
 * bounded (MAX_CHALLENGES_IN_USE × MAX_READS_PER_CHALLENGE); a full book refuses new nonces
 * (fail closed: never forget a nonce that could still be replayed). A restart forgets the
 * secret: outstanding nonces are refused, and clients ask for new ones.
 */
export class BlobChallenges {
  private readonly secret = randomBytes(32)
  private readonly used = new Map<string, { expires: number; offsets: Set<number> }>()

  constructor(private readonly now: () => number = () => Math.floor(Date.now() / 1000)) {}

  /** A fresh nonce, valid until `expires` (unix seconds). */
  issue(): { nonce: Hex; expires: number } {
    const issued = this.now()
    const head = Buffer.alloc(16)
    head.writeBigUInt64BE(BigInt(issued), 0)
    randomBytes(8).copy(head, 8)
    return { nonce: bytesToHex(Buffer.concat([head, this.mac(head)])) as Hex, expires: issued + BLOB_CHALLENGE_TTL_SEC }
  }

  private mac(head: Uint8Array): Buffer {
    return createHmac('sha256', this.secret).update(head).digest().subarray(0, 16)
  }

  /** Throws ASSET_DOWNLOAD_AUTH unless `nonce` was issued here and is still fresh. */
  check(nonce: Hex | undefined): void {
    if (!nonce) throw refuse('a signed blob request over HTTP must carry a challenge of this node: ask pov_blobChallenge and sign its nonce')
    const b = hexToBytes(nonce)
    if (b.length !== 32 || !timingSafeEqual(this.mac(b.subarray(0, 16)), b.subarray(16))) throw refuse(`the blob request's challenge ${nonce.slice(0, 18)}… was not issued by this node (or before it restarted): ask pov_blobChallenge for a new one`)
    const issued = Number(Buffer.from(b.subarray(0, 8)).readBigUInt64BE(0))
    if (issued + BLOB_CHALLENGE_TTL_SEC < this.now() || issued > this.now() + 5) throw refuse(`the blob request's challenge expired (issued at ${issued}, valid ${BLOB_CHALLENGE_TTL_SEC} s): ask pov_blobChallenge for a new one`)
  }

  /**
   * Records that `nonce` (checked) reads the chunk at `offset`; throws ASSET_DOWNLOAD_AUTH when
   * it already did (a replay) or the book is full.
   */
  consume(nonce: Hex, offset: number): void {
    const now = this.now()
    const key = nonce.toLowerCase()
    let entry = this.used.get(key)
    if (!entry) {
      if (this.used.size >= MAX_CHALLENGES_IN_USE) this.sweep(now)
      if (this.used.size >= MAX_CHALLENGES_IN_USE) throw refuse(`this node tracks ${MAX_CHALLENGES_IN_USE} downloads at once: retry within ${BLOB_CHALLENGE_TTL_SEC} s`)
      const issued = Number(Buffer.from(hexToBytes(nonce).subarray(0, 8)).readBigUInt64BE(0))
      this.used.set(key, (entry = { expires: issued + BLOB_CHALLENGE_TTL_SEC, offsets: new Set() }))
    }
    if (entry.offsets.has(offset)) throw refuse(`this signed blob request already read offset ${offset}: a request (its challenge) reads each chunk once; sign a new one with a fresh pov_blobChallenge`)
    if (entry.offsets.size >= MAX_READS_PER_CHALLENGE) throw refuse(`a challenge reads at most ${MAX_READS_PER_CHALLENGE} chunks: ask pov_blobChallenge for a new one`)
    entry.offsets.add(offset)
  }

  /** Nonces in use (for tests and metrics). */
  get size(): number {
    return this.used.size
  }

  private sweep(now: number): void {
    for (const [k, e] of this.used) if (e.expires < now) this.used.delete(k)
  }
}
