import { getAddress, hashMessage, isAddress, recoverAddress, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import type { BlobRequester } from '../../network/Protobuf.js'
import { AssetError } from './AssetError.js'

/**
 * A signed blob request: who asks for a paid asset's blob, so that the serving node can check
 * on chain that this account may have it (paid the download, holds a grant, owns it, or works
 * on a job that uses it). The requester signs, as an EIP-191 personal message (so a wallet or a
 * node's `eth_sign` can sign it too), the text
 *
 *   povchain blob request v2
 *   chain <chain id, decimal>
 *   blob <content hash, 0x-hex lowercase>
 *   server <the one node it is addressed to: p2p:<libp2p peer id> | http(s)://host[:port]>
 *   nonce <the server's challenge, 0x-hex lowercase | none>
 *   expires <unix seconds>
 *   job <job id, 0x-hex lowercase | none>
 *
 * The chain id stops replays on another chain, the hash on another blob, the expiry (at most
 * MAX_BLOB_REQUEST_VALIDITY_SEC ahead) bounds how long it lives, and the server makes it a
 * request to one node only: a node serves only requests addressed to itself (its peer id, which
 * libp2p authenticates, or one of its own HTTP origins, see AssetNodeService). Whoever receives
 * a request — a peer asked for a blob, an endpoint registered by anyone — is the only node that
 * can use it, and it could serve the blob itself. Over HTTP the request also signs a one-time
 * challenge of that server (pov_blobChallenge, BlobChallenges): each chunk is read once per
 * request, so a request read off a proxy or a log opens nothing either. (v1 named no server:
 * every endpoint a worker asked collected a bearer token for five minutes, issue 17.)
 */
export interface SignedBlobRequest {
  requester: Address
  chainId: bigint
  hash: Hex
  /** The node it is addressed to: `p2p:<peer id>` or an HTTP origin (serverOfPeer / serverOfUrl). */
  server: string
  /** The server's one-time challenge (HTTP; p2p requests carry none: the peer id is authenticated). */
  nonce?: Hex
  /** Unix seconds after which the request is refused. */
  expiry: number
  /** The job on whose behalf a worker, verifier or client asks (its participants may read the job's assets). */
  jobId?: Hex
  /** 65 bytes r ‖ s ‖ v. */
  signature: Hex
}

/** Longest a signed request may be valid for. */
export const MAX_BLOB_REQUEST_VALIDITY_SEC = 3600
/** How long the clients' requests are valid for. */
export const BLOB_REQUEST_VALIDITY_SEC = 300

export type BlobRequestFields = Omit<SignedBlobRequest, 'signature' | 'requester'>

/** The server name of a libp2p peer (its peer id, which the connection authenticates). */
export function serverOfPeer(peerId: string): string {
  return `p2p:${peerId}`
}

/** The server name of an HTTP endpoint: its origin (scheme, host, port; lowercase, default ports dropped). */
export function serverOfUrl(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw refuse(`${url} is no URL`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw refuse(`${url}: only http and https endpoints serve blobs`)
  return u.origin
}

const HASH32 = /^0x[0-9a-fA-F]{64}$/
const SERVER = /^(p2p:[1-9A-HJ-NP-Za-km-z]{1,128}|https?:\/\/[!-~]{1,200})$/

/** The text the requester signs (see SignedBlobRequest). */
export function blobRequestMessage(r: BlobRequestFields): string {
  // One line per field: a server name with a line break would forge the lines after it.
  if (!SERVER.test(r.server)) throw refuse(`the blob request names no valid server (${JSON.stringify(r.server.slice(0, 80))}): p2p:<peer id> or an http(s) origin`)
  if (r.nonce !== undefined && !HASH32.test(r.nonce)) throw refuse('the blob request\'s nonce must be 32 bytes of 0x-hex')
  return `povchain blob request v2\nchain ${r.chainId.toString(10)}\nblob ${r.hash.toLowerCase()}\nserver ${r.server}\nnonce ${r.nonce ? r.nonce.toLowerCase() : 'none'}\nexpires ${r.expiry}\njob ${r.jobId ? r.jobId.toLowerCase() : 'none'}`
}

/** Signs with a local private key. */
export async function signBlobRequest(key: Uint8Array, r: BlobRequestFields): Promise<SignedBlobRequest> {
  const account = privateKeyToAccount(bytesToHex(key) as Hex)
  const signature = await account.signMessage({ message: blobRequestMessage(r) })
  return { ...r, requester: account.address, signature }
}

/** Signs through anything that makes EIP-191 personal signatures (a node's eth_sign, the node's accounts). */
export async function signBlobRequestWith(requester: Address, sign: (message: string) => Promise<Hex>, r: BlobRequestFields): Promise<SignedBlobRequest> {
  return { ...r, requester: getAddress(requester), signature: await sign(blobRequestMessage(r)) }
}

/** The node a request is for: its server name and, over HTTP, the challenge it issued. */
export interface BlobServer {
  server: string
  nonce?: Hex
}

/** A request for `hash`, addressed to `to` (a server name, serverOfPeer / serverOfUrl, or one with its challenge), valid for `validitySec` from now. */
export function blobRequestFields(chainId: bigint, hash: Hex, to: string | BlobServer, jobId?: Hex, validitySec = BLOB_REQUEST_VALIDITY_SEC, nowSec = Math.floor(Date.now() / 1000)): BlobRequestFields {
  const { server, nonce } = typeof to === 'string' ? { server: to, nonce: undefined } : to
  return { chainId, hash: hash.toLowerCase() as Hex, server, ...(nonce ? { nonce: nonce.toLowerCase() as Hex } : {}), expiry: nowSec + validitySec, ...(jobId ? { jobId: jobId.toLowerCase() as Hex } : {}) }
}

function refuse(message: string): AssetError {
  return new AssetError('DOWNLOAD_AUTH', message, { rpcCode: -32602 })
}

/**
 * Checks a signed request for `hash` on chain `chainId` at `nowSec`, at the node whose server
 * names are `servers`, and returns the requester it proves; throws ASSET_DOWNLOAD_AUTH when it
 * is for another chain, blob or server, expired, valid for too long, or not signed by the
 * requester it names.
 */
export async function verifyBlobRequest(r: SignedBlobRequest, expect: { chainId: bigint; hash: Hex; servers: readonly string[]; nowSec?: number }): Promise<Address> {
  const now = expect.nowSec ?? Math.floor(Date.now() / 1000)
  if (r.chainId !== expect.chainId) throw refuse(`the blob request is signed for chain ${r.chainId}, this is chain ${expect.chainId}`)
  if (r.hash.toLowerCase() !== expect.hash.toLowerCase()) throw refuse(`the blob request is signed for blob ${r.hash}, not ${expect.hash}`)
  if (!expect.servers.includes(r.server)) throw refuse(`the blob request is addressed to ${r.server}, not to this node (${expect.servers.join(', ') || 'no server name yet'}): a request is served only by the node it is signed for; sign one for this node`)
  if (!Number.isSafeInteger(r.expiry) || r.expiry < now) throw refuse(`the blob request expired at ${r.expiry} (now ${now}); sign a fresh one`)
  if (r.expiry > now + MAX_BLOB_REQUEST_VALIDITY_SEC) throw refuse(`the blob request is valid until ${r.expiry}, more than ${MAX_BLOB_REQUEST_VALIDITY_SEC} s ahead`)
  const signer = await blobRequestSigner(r)
  if (typeof signer !== 'string') throw refuse(`the blob request's signature is malformed: ${signer.error}`)
  if (signer.toLowerCase() !== r.requester.toLowerCase()) throw refuse(`the blob request is not signed by ${r.requester} for ${r.server} (a request signed for another node does not verify here)`)
  return getAddress(r.requester)
}

/** The account that signed the request's fields, or why the signature does not recover. */
export async function blobRequestSigner(r: SignedBlobRequest): Promise<Address | { error: string }> {
  try {
    const message = blobRequestMessage(r)
    return await recoverAddress({ hash: hashMessage(message), signature: r.signature })
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]! }
  }
}

/** Whether the request is signed by the account it names (whatever else is wrong with it). */
export async function blobRequestSignatureValid(r: SignedBlobRequest): Promise<boolean> {
  const signer = await blobRequestSigner(r)
  return typeof signer === 'string' && signer.toLowerCase() === r.requester.toLowerCase()
}

/**
 * The form network/'s blob_by_hash carries: the hash is the request's own and the server is the
 * peer that receives it (so it is not sent: the receiver puts in its own peer id, and a request
 * signed for another peer does not verify).
 */
export function blobRequestToWire(r: SignedBlobRequest): BlobRequester {
  return { account: hexToBytes(r.requester), chainId: r.chainId, expiry: BigInt(r.expiry), jobId: r.jobId ? hexToBytes(r.jobId) : new Uint8Array(0), signature: hexToBytes(r.signature) }
}

/** A blob_by_hash requester (shape checked by network/) received by `server` (serverOfPeer of this node) as the request for `hash` it signs. */
export function blobRequestFromWire(w: BlobRequester, hash: Hex, server: string): SignedBlobRequest {
  return {
    requester: getAddress(bytesToHex(w.account)),
    chainId: w.chainId,
    hash: hash.toLowerCase() as Hex,
    server,
    // Beyond 2^53 it is no unix time: refused as an expiry too far ahead.
    expiry: w.expiry > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(w.expiry),
    ...(w.jobId.length ? { jobId: bytesToHex(w.jobId) as Hex } : {}),
    signature: bytesToHex(w.signature) as Hex,
  }
}

/** The JSON form at the RPC edge (pov_getBlob's 4th parameter). */
export interface BlobRequestJson {
  requester: string
  chainId: string
  hash: string
  server: string
  nonce?: string
  expiry: number
  jobId?: string
  signature: string
}

export function blobRequestToJson(r: SignedBlobRequest): BlobRequestJson {
  return { requester: r.requester, chainId: `0x${r.chainId.toString(16)}`, hash: r.hash, server: r.server, ...(r.nonce ? { nonce: r.nonce } : {}), expiry: r.expiry, ...(r.jobId ? { jobId: r.jobId } : {}), signature: r.signature }
}

/** Parses pov_getBlob's auth parameter; ASSET_DOWNLOAD_AUTH (invalid params) when malformed. */
export function blobRequestFromJson(v: unknown): SignedBlobRequest {
  if (typeof v !== 'object' || v === null) throw refuse('auth must be a signed blob request {requester, chainId, hash, server, nonce?, expiry, jobId?, signature}')
  const o = v as Record<string, unknown>
  if (typeof o.requester !== 'string' || !isAddress(o.requester, { strict: false })) throw refuse('auth.requester must be an address')
  if (typeof o.chainId !== 'string' || !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(o.chainId)) throw refuse('auth.chainId must be a quantity')
  if (typeof o.hash !== 'string' || !HASH32.test(o.hash)) throw refuse('auth.hash must be a 32-byte hash')
  if (typeof o.server !== 'string' || !SERVER.test(o.server)) throw refuse('auth.server must name the node the request is addressed to: its HTTP origin (e.g. https://node.example:8545) or p2p:<peer id>')
  if (o.nonce !== undefined && (typeof o.nonce !== 'string' || !HASH32.test(o.nonce))) throw refuse('auth.nonce must be the 32-byte challenge pov_blobChallenge gave')
  if (typeof o.expiry !== 'number' || !Number.isSafeInteger(o.expiry)) throw refuse('auth.expiry must be unix seconds')
  if (o.jobId !== undefined && (typeof o.jobId !== 'string' || !HASH32.test(o.jobId))) throw refuse('auth.jobId must be a 32-byte job id')
  if (typeof o.signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(o.signature)) throw refuse('auth.signature must be 65 bytes of 0x-hex')
  return {
    requester: getAddress(o.requester),
    chainId: BigInt(o.chainId),
    hash: o.hash.toLowerCase() as Hex,
    server: o.server,
    ...(o.nonce ? { nonce: (o.nonce as string).toLowerCase() as Hex } : {}),
    expiry: o.expiry,
    ...(o.jobId ? { jobId: (o.jobId as string).toLowerCase() as Hex } : {}),
    signature: o.signature as Hex,
  }
}
