import { decode as rlpDecode, encode as rlpEncode } from '@ethereumjs/rlp'
import { createTx, type TypedTransaction } from '@ethereumjs/tx'
import fc from 'fast-check'
import { Block, decodeBody } from '../../chain/Block.js'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { BlockHeader } from '../../chain/Header.js'
import { decodeStoredReceipts, encodeStoredReceipts, type TxReceipt } from '../../chain/Receipt.js'
import { decodePoolTransaction } from '../../chain/txpool/decode.js'
import { headerArb } from '../../chain/test/arbitraries.js'
import { PovError } from '../../common/errors.js'
import * as pb from '../../network/Protobuf.js'

/**
 * The decoders the node runs on bytes from peers and RPC clients, each as a fuzz target:
 * `run` decodes and checks the round trip; the only error it may let out is one the node
 * raises on purpose (`PovError`: ChainError, NetworkError, TxPoolError), which the callers turn
 * into a refusal and a score. Anything else — a TypeError, a RangeError, a plain Error from a
 * library that no one wrapped — is a finding, as is a round trip that gives other bytes.
 */
export interface FuzzTarget {
  name: string
  /** Where the node calls it with untrusted bytes (for the README and the report). */
  entry: string
  run(input: Uint8Array): void
  /** Valid encodings to start from (the committed corpus adds the inputs fuzzing found). */
  seeds(): Uint8Array[]
  /** An error the decoder may throw on bad input (else it is a finding). */
  expected(e: unknown): boolean
}

/** A property the decoder broke (round trip): always a finding. */
export class RoundTripMismatch extends Error {}

const common = createChainCommon(31337n)
const povError = (e: unknown) => e instanceof PovError

function sameBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length || a.some((x, i) => x !== b[i]))
    throw new RoundTripMismatch(`${what}: re-encoding gives ${b.length} bytes that differ from the ${a.length} decoded`)
}

function sampleTxs(): TypedTransaction[] {
  const key = new Uint8Array(32).fill(9)
  const to = new Uint8Array(20).fill(2)
  return [
    createTx({ type: 0, nonce: 0n, gasPrice: 10n, gasLimit: 21000n, to, value: 1n }, { common }).sign(key),
    createTx({ type: 0, nonce: 7n, gasPrice: 1n, gasLimit: 90000n, data: new Uint8Array([0x60, 0x00, 0x60, 0x00]) }, { common }).sign(key),
    createTx({ type: 1, nonce: 1n, gasPrice: 10n, gasLimit: 30000n, to, accessList: [[to, [new Uint8Array(32)]]] as never, chainId: 31337n }, { common }).sign(key),
    createTx({ type: 2, nonce: 2n, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, gasLimit: 21000n, to, value: 5n, chainId: 31337n }, { common }).sign(key),
    createTx(
      {
        type: 4,
        nonce: 3n,
        maxFeePerGas: 10n,
        maxPriorityFeePerGas: 1n,
        gasLimit: 100000n,
        to,
        chainId: 31337n,
        authorizationList: [{ chainId: '0x7a69', address: `0x${'33'.repeat(20)}`, nonce: '0x5', yParity: '0x1', r: `0x${'11'.repeat(32)}`, s: `0x${'22'.repeat(32)}` }] as never,
      },
      { common },
    ).sign(key),
  ] as TypedTransaction[]
}

function sampleHeaders(): BlockHeader[] {
  return fc.sample(headerArb, { numRuns: 4, seed: 5 }).map((h) => new BlockHeader(h))
}

function sampleReceipts(): TxReceipt[] {
  const b = (n: number, v: number) => new Uint8Array(n).fill(v)
  return [
    { transactionHash: b(32, 1), txType: 2, status: 1, cumulativeGasUsed: 21000n, gasUsed: 21000n, effectiveGasPrice: 7n, from: b(20, 2), to: b(20, 3), logs: [] },
    {
      transactionHash: b(32, 4),
      txType: 0,
      status: 0,
      cumulativeGasUsed: 90000n,
      gasUsed: 69000n,
      effectiveGasPrice: 1n,
      from: b(20, 5),
      contractAddress: b(20, 6),
      logs: [{ address: b(20, 6), topics: [b(32, 7), b(32, 8)], data: Uint8Array.of(1, 2, 3) }],
    },
  ]
}

const rlp: FuzzTarget = {
  name: 'rlp',
  entry: '@ethereumjs/rlp decode, under every chain/ decoder (headers, blocks, bodies, receipts, extraData)',
  run(input) {
    // decode(empty) is the empty string, by the library's choice; every chain/ caller then
    // wants a list or a sized field and refuses it, so it is no finding.
    if (input.length === 0) return
    const tree = rlpDecode(input)
    sameBytes(input, rlpEncode(tree), 'rlp')
  },
  // The library's own refusals (EthereumJSError "invalid RLP…"); chain/ wraps them in ChainError.
  expected: (e) => e instanceof Error && e.constructor.name === 'EthereumJSError' && /^invalid RLP/.test(e.message),
  seeds: () => [rlpEncode([]), rlpEncode([new Uint8Array(60), [Uint8Array.of(1)], Uint8Array.of(0x7f)]), ...sampleHeaders().slice(0, 1).map((h) => h.encode())],
}

const transaction: FuzzTarget = {
  name: 'transaction',
  entry: 'chain/txpool/decode.ts decodePoolTransaction (gossip `transactions`, eth_sendRawTransaction)',
  run(input) {
    const tx = decodePoolTransaction(input, common)
    sameBytes(input, tx.serialize(), 'transaction')
    tx.hash()
  },
  expected: povError,
  seeds: () => sampleTxs().map((t) => t.serialize()),
}

const header: FuzzTarget = {
  name: 'header',
  entry: 'chain/Header.ts BlockHeader.decode (headers_by_range answers in sync)',
  run(input) {
    const h = BlockHeader.decode(input)
    sameBytes(input, h.encode(), 'header')
    h.unsealedHash()
  },
  expected: povError,
  seeds: () => sampleHeaders().map((h) => h.encode()),
}

const block: FuzzTarget = {
  name: 'block',
  entry: 'chain/Block.ts Block.decode (gossip `blocks`, via node/NetworkAdapter.decodeBlock)',
  run(input) {
    const b = Block.decode(input, common)
    sameBytes(input, b.encode(), 'block')
  },
  expected: povError,
  seeds: () => {
    const [h1, h2] = sampleHeaders()
    const txs = sampleTxs()
    return [new Block(h1!, txs).encode(), new Block(h2!, []).encode(), new Block(h1!, txs.slice(0, 1)).encode()]
  },
}

const body: FuzzTarget = {
  name: 'body',
  entry: 'chain/Block.ts decodeBody (bodies_by_hash answers in sync, via NetworkAdapter)',
  run(input) {
    const txs = decodeBody(input, common)
    sameBytes(input, rlpEncode(txs.map((t) => t.serialize())), 'body')
  },
  expected: povError,
  seeds: () => {
    const txs = sampleTxs()
    return [rlpEncode(txs.map((t) => t.serialize())), rlpEncode([])]
  },
}

const receipts: FuzzTarget = {
  name: 'receipts',
  entry: 'chain/Receipt.ts decodeStoredReceipts (receipts_by_hash answers, the block store)',
  run(input) {
    sameBytes(input, encodeStoredReceipts(decodeStoredReceipts(input)), 'receipts')
  },
  expected: povError,
  seeds: () => [encodeStoredReceipts(sampleReceipts()), encodeStoredReceipts([])],
}

/**
 * Every protobuf message of network/Protobuf.ts: the first byte picks the codec (one target, so
 * one corpus and one coverage map share protobufjs's reader), the rest is the message.
 */
const CODECS: pb.Codec<any>[] = [
  pb.Status,
  pb.GossipTransaction,
  pb.GossipBlock,
  pb.GossipAttestation,
  pb.ComputeMessage,
  pb.Response,
  pb.HeadersByRangeRequest,
  pb.HeadersResponse,
  pb.HashesRequest,
  pb.BodiesResponse,
  pb.ReceiptsResponse,
  pb.BlobRequest,
  pb.BlobResponse,
]

const protobuf: FuzzTarget = {
  name: 'protobuf',
  entry: 'network/Protobuf.ts codecs (every req/resp request and answer, every gossip topic, status)',
  run(input) {
    if (input.length === 0) return
    const codec = CODECS[input[0]! % CODECS.length]!
    const m = codec.decode(input.subarray(1))
    // Protobuf has many encodings of one message (field order, unknown fields, repeats), so
    // the property is on the value: what we encode decodes to what we decoded.
    const again = codec.decode(codec.encode(m))
    if (!deepEqual(m, again)) throw new RoundTripMismatch(`${codec.name}: decode(encode(m)) differs from m`)
  },
  expected: povError,
  seeds: () => {
    const b = (n: number, v: number) => new Uint8Array(n).fill(v)
    const sel = (c: pb.Codec<any>, bytes: Uint8Array) => Uint8Array.of(CODECS.indexOf(c), ...bytes)
    const tx = sampleTxs()[3]!.serialize()
    return [
      sel(pb.Status, pb.Status.encode({ chainId: 31337n, genesisHash: b(32, 1), headNumber: 9n, headHash: b(32, 2), finalizedNumber: 3n, finalizedHash: b(32, 3), client: 'povchain/0.1.0' })),
      sel(pb.GossipTransaction, pb.GossipTransaction.encode({ raw: tx })),
      sel(pb.GossipBlock, pb.GossipBlock.encode({ block: block.seeds()[1]! })),
      sel(pb.GossipAttestation, pb.GossipAttestation.encode({ sourceHash: b(32, 1), sourceHeight: 4n, targetHash: b(32, 2), targetHeight: 5n, validator: b(20, 3), signature: b(65, 4) })),
      sel(pb.ComputeMessage, pb.ComputeMessage.encode({ kind: 'job', job: { jobId: b(32, 1), specHash: b(32, 2), client: b(20, 3), workload: 'mlp-train', deadline: 99n, price: Uint8Array.of(1, 0), signature: b(65, 5) } })),
      sel(pb.ComputeMessage, pb.ComputeMessage.encode({ kind: 'worker', worker: { worker: b(20, 3), workloads: ['a', 'b'], capacity: 4, timestamp: 1700000000n, signature: b(65, 5) } })),
      sel(pb.ComputeMessage, pb.ComputeMessage.encode({ kind: 'vote', vote: { sessionId: b(32, 1), verifier: b(20, 2), accept: true, resultHash: b(32, 3), signature: b(65, 4) } })),
      sel(pb.Response, pb.Response.encode({ code: pb.ResponseCode.RATE_LIMITED, message: 'slow down', body: b(3, 1) })),
      sel(pb.HeadersByRangeRequest, pb.HeadersByRangeRequest.encode({ start: 100n, count: 64 })),
      sel(pb.HeadersResponse, pb.HeadersResponse.encode({ headers: [header.seeds()[0]!] })),
      sel(pb.HashesRequest, pb.HashesRequest.encode({ hashes: [b(32, 1), b(32, 2)] })),
      sel(pb.BodiesResponse, pb.BodiesResponse.encode({ bodies: [body.seeds()[0]!] })),
      sel(pb.ReceiptsResponse, pb.ReceiptsResponse.encode({ receipts: [receipts.seeds()[0]!] })),
      sel(pb.BlobRequest, pb.BlobRequest.encode({ hash: b(32, 1), offset: 0n, length: 262144, requester: { account: b(20, 2), chainId: 31337n, expiry: 1800000000n, jobId: b(32, 3), signature: b(65, 4) } })),
      sel(pb.BlobResponse, pb.BlobResponse.encode({ total: 1000n, data: b(100, 7) })),
    ]
  },
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array)
    return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i])
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).filter((k) => (a as any)[k] !== undefined)
    const kb = Object.keys(b).filter((k) => (b as any)[k] !== undefined)
    return ka.length === kb.length && ka.every((k) => deepEqual((a as any)[k], (b as any)[k]))
  }
  return a === b
}

export const TARGETS: readonly FuzzTarget[] = [rlp, transaction, header, block, body, receipts, protobuf]
