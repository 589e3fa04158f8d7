/**
 * The protobuf messages of network/proto: every message round-trips (fast-check over the
 * field domains), the committed schema is what the .proto files compile to, and malformed or
 * out-of-limit input is a NetworkError('BAD_MESSAGE') — never a crash or a half-read object.
 */
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import t, { type Test } from 'tap'
import { NetworkError } from '../errors.js'
import {
  BlobRequest,
  BlobResponse,
  BodiesResponse,
  ComputeMessage,
  GossipAttestation,
  GossipBlock,
  GossipTransaction,
  HashesRequest,
  HeadersByRangeRequest,
  HeadersResponse,
  ImageArchivesRequest,
  ImageArchivesResponse,
  MAX_BLOB_CHUNK,
  MAX_IMAGE_ARCHIVES,
  MAX_HASHES_PER_REQUEST,
  MAX_HEADERS_PER_REQUEST,
  ReceiptsResponse,
  Response,
  ResponseCode,
  Status,
  type Codec,
  type ComputeMessageData,
} from '../Protobuf.js'
import { generateSchemaSource, PROTO_DIR } from '../proto/generate.js'

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const someBytes = (max = 200) => fc.uint8Array({ maxLength: max })
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const str = (max: number) => fc.string({ maxLength: max })

/** Normalises Buffers to Uint8Arrays so decoded and original compare equal. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Uint8Array.from(v)
  if (Array.isArray(v)) return v.map(plain)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  return v
}

function roundTrip<T>(t: Test, name: string, codec: Codec<T>, arb: fc.Arbitrary<T>): void {
  fc.assert(
    fc.property(arb, (m) => isDeepStrictEqual(plain(codec.decode(codec.encode(m))), plain(m))),
    { numRuns: 200 },
  )
  t.pass(`${name} round-trips`)
}

t.test('the committed schema is what the .proto files compile to', async (t) => {
  t.equal(readFileSync(join(PROTO_DIR, 'schema.generated.ts'), 'utf8'), generateSchemaSource(), 'run `npx tsx network/proto/generate.ts` after editing a .proto file')
})

t.test('every message round-trips', async (t) => {
  roundTrip(
    t,
    'Status',
    Status,
    fc.record({ chainId: u64, genesisHash: bytes(32), headNumber: u64, headHash: bytes(32), finalizedNumber: u64, finalizedHash: fc.oneof(bytes(32), bytes(0)), client: str(64) }),
  )
  roundTrip(t, 'GossipTransaction', GossipTransaction, fc.record({ raw: someBytes() }))
  roundTrip(t, 'GossipBlock', GossipBlock, fc.record({ block: someBytes(2000) }))
  roundTrip(t, 'GossipAttestation', GossipAttestation, fc.record({ sourceHash: bytes(32), sourceHeight: u64, targetHash: bytes(32), targetHeight: u64, validator: bytes(20), signature: bytes(65) }))
  const sig = fc.oneof(bytes(65), bytes(0))
  roundTrip<ComputeMessageData>(
    t,
    'ComputeMessage',
    ComputeMessage,
    fc.oneof(
      fc.record({
        kind: fc.constant('job' as const),
        job: fc.record({ jobId: bytes(32), specHash: bytes(32), client: bytes(20), workload: str(128), deadline: u64, price: someBytes(32), signature: sig }),
      }),
      fc.record({
        kind: fc.constant('worker' as const),
        worker: fc.record({ worker: bytes(20), workloads: fc.array(str(128), { maxLength: 32 }), capacity: fc.nat({ max: 2 ** 32 - 1 }), timestamp: u64, signature: sig }),
      }),
      fc.record({ kind: fc.constant('vote' as const), vote: fc.record({ sessionId: bytes(32), verifier: bytes(20), accept: fc.boolean(), resultHash: bytes(32), signature: sig }) }),
    ),
  )
  roundTrip(t, 'Response', Response, fc.record({ code: fc.constantFrom(...[0, 1, 2, 3, 4, 5] as ResponseCode[]), message: str(512), body: someBytes(500) }))
  roundTrip(t, 'HeadersByRangeRequest', HeadersByRangeRequest, fc.record({ start: u64, count: fc.integer({ min: 1, max: MAX_HEADERS_PER_REQUEST }) }))
  roundTrip(t, 'HeadersResponse', HeadersResponse, fc.record({ headers: fc.array(someBytes(50), { maxLength: 20 }) }))
  roundTrip(t, 'HashesRequest', HashesRequest, fc.record({ hashes: fc.array(bytes(32), { minLength: 1, maxLength: MAX_HASHES_PER_REQUEST }) }))
  roundTrip(t, 'BodiesResponse', BodiesResponse, fc.record({ bodies: fc.array(someBytes(50), { maxLength: 20 }) }))
  roundTrip(t, 'ReceiptsResponse', ReceiptsResponse, fc.record({ receipts: fc.array(someBytes(50), { maxLength: 20 }) }))
  roundTrip(t, 'BlobRequest', BlobRequest, fc.record({ hash: bytes(32), offset: u64, length: fc.integer({ min: 1, max: MAX_BLOB_CHUNK }) }))
  const requester = fc.record({ account: bytes(20), chainId: u64, expiry: u64, jobId: fc.oneof(bytes(0), bytes(32)), signature: bytes(65) })
  roundTrip(t, 'BlobRequest with a requester', BlobRequest, fc.record({ hash: bytes(32), offset: u64, length: fc.integer({ min: 1, max: MAX_BLOB_CHUNK }), requester }))
  roundTrip(t, 'BlobResponse', BlobResponse, fc.record({ total: u64, data: someBytes(300) }))
  roundTrip(t, 'ImageArchivesRequest', ImageArchivesRequest, fc.record({ digests: fc.array(bytes(32), { maxLength: MAX_IMAGE_ARCHIVES }) }))
  roundTrip(t, 'ImageArchivesResponse', ImageArchivesResponse, fc.record({ images: fc.array(fc.record({ digest: bytes(32), archive: bytes(32), size: u64 }), { maxLength: MAX_IMAGE_ARCHIVES }) }))
})

const codecs: Codec<unknown>[] = [
  Status,
  GossipTransaction,
  GossipBlock,
  GossipAttestation,
  ComputeMessage,
  Response,
  HeadersByRangeRequest,
  HeadersResponse,
  HashesRequest,
  BodiesResponse,
  ReceiptsResponse,
  BlobRequest,
  BlobResponse,
  ImageArchivesRequest,
  ImageArchivesResponse,
] as Codec<unknown>[]

t.test('arbitrary bytes decode to a valid message or a BAD_MESSAGE, nothing else', async (t) => {
  let rejected = 0
  let decoded = 0
  fc.assert(
    fc.property(fc.constantFrom(...codecs), fc.uint8Array({ maxLength: 300 }), (codec, raw) => {
      try {
        codec.decode(raw)
        decoded++
      } catch (e) {
        if (!(e instanceof NetworkError) || e.code !== 'NETWORK_BAD_MESSAGE') throw e
        rejected++
      }
    }),
    { numRuns: 3000 },
  )
  t.ok(rejected > 0 && decoded > 0, `${decoded} decoded, ${rejected} rejected as BAD_MESSAGE`)
})

t.test('limits and sizes are enforced on decode', async (t) => {
  const bad = (f: () => unknown, what: string) => t.throws(f, { code: 'NETWORK_BAD_MESSAGE' }, what)
  const d32 = new Uint8Array(32)
  bad(() => ImageArchivesRequest.decode(ImageArchivesRequest.encode({ digests: Array.from({ length: MAX_IMAGE_ARCHIVES + 1 }, () => d32) })), 'image_archives: 33 digests')
  bad(() => ImageArchivesRequest.decode(ImageArchivesRequest.encode({ digests: [new Uint8Array(31)] })), 'image_archives: a 31-byte digest')
  bad(() => ImageArchivesResponse.decode(ImageArchivesResponse.encode({ images: [{ digest: d32, archive: new Uint8Array(20), size: 1n }] })), 'image_archives: a 20-byte archive hash')
  const status = { chainId: 1n, genesisHash: new Uint8Array(32), headNumber: 0n, headHash: new Uint8Array(32), finalizedNumber: 0n, finalizedHash: new Uint8Array(0), client: 'x' }
  bad(() => Status.decode(Status.encode({ ...status, genesisHash: new Uint8Array(31) })), 'a 31-byte genesis hash')
  bad(() => Status.decode(Status.encode({ ...status, client: 'x'.repeat(65) })), 'an overlong client name')
  bad(() => HeadersByRangeRequest.decode(HeadersByRangeRequest.encode({ start: 0n, count: MAX_HEADERS_PER_REQUEST + 1 })), 'too many headers')
  bad(() => HeadersByRangeRequest.decode(HeadersByRangeRequest.encode({ start: 0n, count: 0 })), 'zero headers')
  bad(() => HashesRequest.decode(HashesRequest.encode({ hashes: Array.from({ length: MAX_HASHES_PER_REQUEST + 1 }, () => new Uint8Array(32)) })), 'too many hashes')
  bad(() => HashesRequest.decode(HashesRequest.encode({ hashes: [] })), 'no hashes')
  bad(() => BlobRequest.decode(BlobRequest.encode({ hash: new Uint8Array(32), offset: 0n, length: MAX_BLOB_CHUNK + 1 })), 'an oversized blob chunk')
  const requester = { account: new Uint8Array(20), chainId: 1n, expiry: 1n, jobId: new Uint8Array(0), signature: new Uint8Array(65) }
  const blobReq = { hash: new Uint8Array(32), offset: 0n, length: 1 }
  bad(() => BlobRequest.decode(BlobRequest.encode({ ...blobReq, requester: { ...requester, account: new Uint8Array(21) } })), "a 21-byte requester account")
  bad(() => BlobRequest.decode(BlobRequest.encode({ ...blobReq, requester: { ...requester, signature: new Uint8Array(64) } })), 'a 64-byte requester signature')
  bad(() => BlobRequest.decode(BlobRequest.encode({ ...blobReq, requester: { ...requester, jobId: new Uint8Array(31) } })), 'a 31-byte job id')
  t.notOk('requester' in BlobRequest.decode(BlobRequest.encode(blobReq)), 'a request without a requester (as older nodes send) decodes without one')
  t.equal(Response.decode(Response.encode({ code: 9 as ResponseCode, message: 'later', body: new Uint8Array(0) })).code, 9, 'a code added by a later version decodes (a refusal, not a malformed answer)')
  bad(() => ComputeMessage.decode(new Uint8Array(0)), 'an empty compute message')
  const vote = { sourceHash: new Uint8Array(32), sourceHeight: 1n, targetHash: new Uint8Array(32), targetHeight: 2n, validator: new Uint8Array(20), signature: new Uint8Array(65) }
  bad(() => GossipAttestation.decode(GossipAttestation.encode({ ...vote, validator: new Uint8Array(19) })), 'a 19-byte validator')
  bad(() => GossipAttestation.decode(GossipAttestation.encode({ ...vote, targetHash: new Uint8Array(31) })), 'a 31-byte target hash')
})
