import protobuf from 'protobufjs'
import { NetworkError } from './errors.js'
import { PROTO_SCHEMA } from './proto/schema.generated.js'

/**
 * Typed encoders and decoders of the messages in `proto/*.proto` (loaded from the generated
 * JSON descriptor). Decoding is strict beyond protobuf itself: fixed-size fields must have
 * their size, lists and strings their limits — a message that breaks them is a
 * NetworkError('BAD_MESSAGE'), which the caller turns into a lower score for the sender.
 * 64-bit integers are `bigint` here.
 */
const root = protobuf.Root.fromJSON(PROTO_SCHEMA as protobuf.INamespace)
const type = (name: string) => root.lookupType(`povchain.network.${name}`)

export const MAX_HEADERS_PER_REQUEST = 256
export const MAX_HASHES_PER_REQUEST = 128
export const MAX_BLOB_CHUNK = 1024 * 1024
const U64_MAX = (1n << 64n) - 1n

function bad(what: string): never {
  throw new NetworkError('BAD_MESSAGE', what)
}

type Long = { toString(): string }
function u64(v: unknown, field: string): bigint {
  if (v === undefined || v === null) return 0n
  const n = typeof v === 'number' ? BigInt(v) : BigInt((v as Long).toString())
  if (n < 0n || n > U64_MAX) bad(`${field} out of range`)
  return n
}
/**
 * A count or length: carried as uint64 so that a value past 2^32 reads as itself and is refused
 * here (as uint32, protobufjs would keep its low 32 bits: 2^32+5 would be served as 5).
 */
function smallUint(v: unknown, field: string, min: number, max: number): number {
  const n = u64(v, field)
  if (n < BigInt(min) || n > BigInt(max)) bad(`${field} ${n} not in ${min}…${max}`)
  return Number(n)
}
function bytes(v: unknown, field: string, opts: { len?: number; max?: number; optional?: boolean } = {}): Uint8Array {
  const b = v instanceof Uint8Array ? v : new Uint8Array(0)
  if (opts.len !== undefined && !(opts.optional && b.length === 0) && b.length !== opts.len) bad(`${field} must be ${opts.len} bytes, got ${b.length}`)
  if (opts.max !== undefined && b.length > opts.max) bad(`${field} longer than ${opts.max} bytes`)
  return b
}
function str(v: unknown, field: string, max: number): string {
  const s = typeof v === 'string' ? v : ''
  if (s.length > max) bad(`${field} longer than ${max} characters`)
  return s
}
function list<T>(v: unknown, field: string, max: number, each: (x: unknown, i: number) => T): T[] {
  const a = Array.isArray(v) ? v : []
  if (a.length > max) bad(`${field}: more than ${max} items`)
  return a.map(each)
}

function codec<T>(name: string, toPlain: (m: T) => Record<string, unknown>, fromPlain: (o: Record<string, unknown>) => T) {
  const t = type(name)
  return {
    name,
    encode(m: T): Uint8Array {
      return t.encode(t.fromObject(toPlain(m))).finish()
    },
    decode(buf: Uint8Array): T {
      let o: Record<string, unknown>
      try {
        o = t.decode(buf) as unknown as Record<string, unknown>
      } catch (e) {
        throw new NetworkError('BAD_MESSAGE', `${name}: malformed protobuf (${(e as Error).message})`)
      }
      return fromPlain(o)
    },
  }
}
export type Codec<T> = ReturnType<typeof codec<T>>

// ---------------------------------------------------------------- status

export interface StatusMessage {
  chainId: bigint
  genesisHash: Uint8Array
  headNumber: bigint
  headHash: Uint8Array
  finalizedNumber: bigint
  finalizedHash: Uint8Array
  client: string
}

export const Status = codec<StatusMessage>(
  'Status',
  (m) => ({ ...m, chainId: m.chainId.toString(), headNumber: m.headNumber.toString(), finalizedNumber: m.finalizedNumber.toString() }),
  (o) => ({
    chainId: u64(o.chainId, 'status.chainId'),
    genesisHash: bytes(o.genesisHash, 'status.genesisHash', { len: 32 }),
    headNumber: u64(o.headNumber, 'status.headNumber'),
    headHash: bytes(o.headHash, 'status.headHash', { len: 32 }),
    finalizedNumber: u64(o.finalizedNumber, 'status.finalizedNumber'),
    finalizedHash: bytes(o.finalizedHash, 'status.finalizedHash', { len: 32, optional: true }),
    client: str(o.client, 'status.client', 64),
  }),
)

// ---------------------------------------------------------------- gossip

export const GossipTransaction = codec<{ raw: Uint8Array }>(
  'GossipTransaction',
  (m) => m,
  (o) => ({ raw: bytes(o.raw, 'tx.raw') }),
)

export const GossipBlock = codec<{ block: Uint8Array }>(
  'GossipBlock',
  (m) => m,
  (o) => ({ block: bytes(o.block, 'block.block') }),
)

/** Field for field chain/Attestation.ts (kept structural: network/ imports chain/ only for encodings). */
export interface AttestationMessage {
  sourceHash: Uint8Array
  sourceHeight: bigint
  targetHash: Uint8Array
  targetHeight: bigint
  validator: Uint8Array
  signature: Uint8Array
}

export const GossipAttestation = codec<AttestationMessage>(
  'GossipAttestation',
  (m) => ({ ...m, sourceHeight: m.sourceHeight.toString(), targetHeight: m.targetHeight.toString() }),
  (o) => ({
    sourceHash: bytes(o.sourceHash, 'attestation.sourceHash', { len: 32 }),
    sourceHeight: u64(o.sourceHeight, 'attestation.sourceHeight'),
    targetHash: bytes(o.targetHash, 'attestation.targetHash', { len: 32 }),
    targetHeight: u64(o.targetHeight, 'attestation.targetHeight'),
    validator: bytes(o.validator, 'attestation.validator', { len: 20 }),
    signature: bytes(o.signature, 'attestation.signature', { len: 65 }),
  }),
)

export interface JobAnnouncementMessage {
  jobId: Uint8Array
  specHash: Uint8Array
  client: Uint8Array
  workload: string
  deadline: bigint
  price: Uint8Array
  signature: Uint8Array
}
export interface WorkerReadinessMessage {
  worker: Uint8Array
  workloads: string[]
  capacity: number
  timestamp: bigint
  signature: Uint8Array
}
export interface VerificationVoteMessage {
  sessionId: Uint8Array
  verifier: Uint8Array
  accept: boolean
  resultHash: Uint8Array
  signature: Uint8Array
}
export type ComputeMessageData =
  | { kind: 'job'; job: JobAnnouncementMessage }
  | { kind: 'worker'; worker: WorkerReadinessMessage }
  | { kind: 'vote'; vote: VerificationVoteMessage }

const sig = (v: unknown, f: string) => bytes(v, f, { len: 65, optional: true })

export const ComputeMessage = codec<ComputeMessageData>(
  'ComputeMessage',
  (m) => {
    switch (m.kind) {
      case 'job':
        return { job: { ...m.job, deadline: m.job.deadline.toString() } }
      case 'worker':
        return { worker: { ...m.worker, timestamp: m.worker.timestamp.toString() } }
      case 'vote':
        return { vote: m.vote }
    }
  },
  (o) => {
    const kind = o.kind ?? (o.job ? 'job' : o.worker ? 'worker' : o.vote ? 'vote' : undefined)
    if (kind === 'job') {
      const j = o.job as Record<string, unknown>
      return {
        kind,
        job: {
          jobId: bytes(j.jobId, 'job.jobId', { len: 32 }),
          specHash: bytes(j.specHash, 'job.specHash', { len: 32 }),
          client: bytes(j.client, 'job.client', { len: 20 }),
          workload: str(j.workload, 'job.workload', 128),
          deadline: u64(j.deadline, 'job.deadline'),
          price: bytes(j.price, 'job.price', { max: 32 }),
          signature: sig(j.signature, 'job.signature'),
        },
      }
    }
    if (kind === 'worker') {
      const w = o.worker as Record<string, unknown>
      return {
        kind,
        worker: {
          worker: bytes(w.worker, 'worker.worker', { len: 20 }),
          workloads: list(w.workloads, 'worker.workloads', 32, (x) => str(x, 'worker.workloads[]', 128)),
          capacity: smallUint(w.capacity, 'worker.capacity', 0, 0xffff_ffff),
          timestamp: u64(w.timestamp, 'worker.timestamp'),
          signature: sig(w.signature, 'worker.signature'),
        },
      }
    }
    if (kind === 'vote') {
      const v = o.vote as Record<string, unknown>
      return {
        kind,
        vote: {
          sessionId: bytes(v.sessionId, 'vote.sessionId', { len: 32 }),
          verifier: bytes(v.verifier, 'vote.verifier', { len: 20 }),
          accept: Boolean(v.accept),
          resultHash: bytes(v.resultHash, 'vote.resultHash', { len: 32 }),
          signature: sig(v.signature, 'vote.signature'),
        },
      }
    }
    return bad('compute message: none of job, worker, vote is set')
  },
)

// ---------------------------------------------------------------- request/response

export enum ResponseCode {
  OK = 0,
  INVALID_REQUEST = 1,
  SERVER_ERROR = 2,
  RATE_LIMITED = 3,
  UNAVAILABLE = 4,
  /** Held, but not served to this requester (blob_by_hash: a paid asset's blob; the message says why). */
  FORBIDDEN = 5,
}

export interface ResponseMessage {
  code: ResponseCode
  message: string
  body: Uint8Array
}

export const Response = codec<ResponseMessage>(
  'Response',
  (m) => ({ ...m }),
  (o) => {
    const code = Number(o.code ?? 0)
    // A code added by a later version is a refusal we cannot name, not a malformed answer.
    if (!Number.isSafeInteger(code) || code < 0) bad(`response code ${code} unknown`)
    return { code, message: str(o.message, 'response.message', 512), body: bytes(o.body, 'response.body') }
  },
)

export const HeadersByRangeRequest = codec<{ start: bigint; count: number }>(
  'HeadersByRangeRequest',
  (m) => ({ start: m.start.toString(), count: m.count }),
  (o) => {
    const count = smallUint(o.count, 'headers request: count', 1, MAX_HEADERS_PER_REQUEST)
    return { start: u64(o.start, 'headers.start'), count }
  },
)

export const HeadersResponse = codec<{ headers: Uint8Array[] }>(
  'HeadersResponse',
  (m) => m,
  (o) => ({ headers: list(o.headers, 'headers', MAX_HEADERS_PER_REQUEST, (x, i) => bytes(x, `headers[${i}]`)) }),
)

export const HashesRequest = codec<{ hashes: Uint8Array[] }>(
  'HashesRequest',
  (m) => m,
  (o) => {
    const hashes = list(o.hashes, 'hashes', MAX_HASHES_PER_REQUEST, (x, i) => bytes(x, `hashes[${i}]`, { len: 32 }))
    if (hashes.length === 0) bad('hashes request is empty')
    return { hashes }
  },
)

export const BodiesResponse = codec<{ bodies: Uint8Array[] }>(
  'BodiesResponse',
  (m) => m,
  (o) => ({ bodies: list(o.bodies, 'bodies', MAX_HASHES_PER_REQUEST, (x, i) => bytes(x, `bodies[${i}]`)) }),
)

export const ReceiptsResponse = codec<{ receipts: Uint8Array[] }>(
  'ReceiptsResponse',
  (m) => m,
  (o) => ({ receipts: list(o.receipts, 'receipts', MAX_HASHES_PER_REQUEST, (x, i) => bytes(x, `receipts[${i}]`)) }),
)

/**
 * Who asks for a blob (BlobRequest.requester): a signed blob request as market/assets/DownloadAuth.ts
 * defines it, without the hash (the request's). The network checks its shape only; the serving
 * node checks the signature and decides.
 */
export interface BlobRequester {
  /** 20-byte address of the signer. */
  account: Uint8Array
  chainId: bigint
  /** Unix seconds. */
  expiry: bigint
  /** 32 bytes, or empty: the job on whose behalf it asks. */
  jobId: Uint8Array
  /** 65 bytes r ‖ s ‖ v. */
  signature: Uint8Array
}

export interface BlobRequestMessage {
  hash: Uint8Array
  offset: bigint
  length: number
  requester?: BlobRequester
}

export const BlobRequest = codec<BlobRequestMessage>(
  'BlobRequest',
  (m) => ({
    hash: m.hash,
    offset: m.offset.toString(),
    length: m.length,
    ...(m.requester ? { requester: { account: m.requester.account, chainId: m.requester.chainId.toString(), expiry: m.requester.expiry.toString(), jobId: m.requester.jobId, signature: m.requester.signature } } : {}),
  }),
  (o) => {
    const length = smallUint(o.length, 'blob request: length', 1, MAX_BLOB_CHUNK)
    const out: BlobRequestMessage = { hash: bytes(o.hash, 'blob.hash', { len: 32 }), offset: u64(o.offset, 'blob.offset'), length }
    const r = o.requester as Record<string, unknown> | undefined | null
    if (r) {
      out.requester = {
        account: bytes(r.account, 'blob.requester.account', { len: 20 }),
        chainId: u64(r.chainId, 'blob.requester.chainId'),
        expiry: u64(r.expiry, 'blob.requester.expiry'),
        jobId: bytes(r.jobId, 'blob.requester.jobId', { len: 32, optional: true }),
        signature: bytes(r.signature, 'blob.requester.signature', { len: 65 }),
      }
    }
    return out
  },
)

export const BlobResponse = codec<{ total: bigint; data: Uint8Array }>(
  'BlobResponse',
  (m) => ({ total: m.total.toString(), data: m.data }),
  (o) => ({ total: u64(o.total, 'blob.total'), data: bytes(o.data, 'blob.data', { max: MAX_BLOB_CHUNK }) }),
)

// ---------------------------------------------------------------- image_archives

/** At most this many digests per request and images per answer. */
export const MAX_IMAGE_ARCHIVES = 32

/** One image a peer shares: its OCI manifest digest (sha256), the keccak hash and size of its archive blob. */
export interface ImageArchiveEntry {
  digest: Uint8Array
  archive: Uint8Array
  size: bigint
}

export const ImageArchivesRequest = codec<{ digests: Uint8Array[] }>(
  'ImageArchivesRequest',
  (m) => m,
  (o) => ({ digests: list(o.digests, 'digests', MAX_IMAGE_ARCHIVES, (x, i) => bytes(x, `digests[${i}]`, { len: 32 })) }),
)

export const ImageArchivesResponse = codec<{ images: ImageArchiveEntry[] }>(
  'ImageArchivesResponse',
  (m) => ({ images: m.images.map((e) => ({ digest: e.digest, archive: e.archive, size: e.size.toString() })) }),
  (o) => ({
    images: list(o.images, 'images', MAX_IMAGE_ARCHIVES, (x, i) => {
      const e = (x ?? {}) as Record<string, unknown>
      return { digest: bytes(e.digest, `images[${i}].digest`, { len: 32 }), archive: bytes(e.archive, `images[${i}].archive`, { len: 32 }), size: u64(e.size, `images[${i}].size`) }
    }),
  }),
)
