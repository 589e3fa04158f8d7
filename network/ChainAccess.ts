import type { Block } from '../chain/Block.js'
import type { BlockHeader } from '../chain/Header.js'
import type { TxReceipt } from '../chain/Receipt.js'
import type { BlobRequester } from './Protobuf.js'

/** Where a block offered by a peer went (the node maps consensus errors onto these). */
export type ImportOutcome =
  | { status: 'head' | 'side' | 'known' }
  /** The parent is not stored yet: sync first. Not the sender's fault. */
  | { status: 'unknown-parent' }
  /** Timestamp ahead of the local clock: maybe our clock. Not scored. */
  | { status: 'future' }
  /**
   * On a branch that leaves our finalized block. Finality is each node's own view: an honest
   * node that was paused, partitioned or slow can build on such a branch without breaking a
   * rule, so this is not the sender's fault and never costs score (it cannot be flooded
   * either: every such block still carries an eligible producer's seal).
   */
  | { status: 'stale'; reason: string }
  /** Broke a rule: the sender is at fault. */
  | { status: 'invalid'; reason: string }

/** Where a transaction offered by a peer went. */
export type TxOutcome =
  | { status: 'added' }
  /** Known, underpriced, nonce too low, pool full… — not forwarded, not the sender's fault. */
  | { status: 'ignored'; reason: string }
  /** Malformed, bad signature, another chain: the sender is at fault. */
  | { status: 'invalid'; reason: string }

/**
 * Everything the network needs of the chain. node/ implements it over the chain service,
 * the block store and the pool, so network/ depends on chain types only (not on consensus
 * or vm).
 */
export type PrecheckOutcome = { status: 'ok' } | { status: 'future' } | { status: 'unknown-parent' } | { status: 'stale'; reason: string } | { status: 'invalid'; reason: string }

export interface ChainAccess {
  readonly chainId: bigint
  readonly genesisHash: Uint8Array
  head(): BlockHeader
  /** The finalized block, when consensus has one. */
  finalized(): { number: bigint; hash: Uint8Array } | undefined
  getHeader(hash: Uint8Array): Promise<BlockHeader | undefined>
  canonicalHeader(number: bigint): Promise<BlockHeader | undefined>
  getBlock(hash: Uint8Array): Promise<Block | undefined>
  getReceipts(hash: Uint8Array): Promise<TxReceipt[] | undefined>
  /** Decodes a block (RLP of [header, body]) — the node knows the chain's transaction rules. */
  decodeBlock(bytes: Uint8Array): Block
  /** Builds a block from a header and a body (RLP list of transactions); throws if the body is not the header's. */
  assembleBlock(header: BlockHeader, body: Uint8Array): Promise<Block>
  /** Cheap checks of a header alone (seal, producer, slot; not the clock) before anything is downloaded for it. */
  precheckHeader(header: BlockHeader): string | undefined
  /**
   * What a gossiped block must pass before it is forwarded: the header alone (seal, clock:
   * its slot has started), the body against the header's transactions root, and — its parent
   * known — every consensus rule but execution (producer eligible for the slot with its
   * backup delay, VRF, mix, work receipt, votes). 'unknown-parent': the parent is not stored
   * yet, so eligibility cannot be judged; 'future': the slot has not started (not the peer's
   * fault, not forwarded).
   */
  precheckBlock(block: Block): Promise<PrecheckOutcome>
  importBlock(block: Block): Promise<ImportOutcome>
  addTransaction(raw: Uint8Array): Promise<TxOutcome>
  /** Calls `l` for each block that becomes canonical; returns an unsubscribe. */
  onNewHead(l: (block: Block) => void): () => void
}

/** Who asks for a blob: the peer, and the signed requester its request carried (not yet verified). */
export interface BlobReadContext {
  peer: string
  requester?: BlobRequester
}

/**
 * A blob the node holds but will not serve to this requester; `reason` labels the metrics,
 * `message` is sent to the peer. `badSignature`: the requester's signature is not the account's
 * it names (the peer is scored down, as for other bad input; a refusal alone is not its fault).
 */
export interface BlobRefusal {
  refused: string
  message: string
  badSignature?: boolean
}

/** Content-addressed blobs the node serves to peers (compute/'s BlobStore, adapted by node/). */
export interface BlobProvider {
  /**
   * Size and bytes [offset, offset+length) of the blob, undefined if not held, or a refusal
   * when the node serves it only to entitled requesters (node/ checks `ctx.requester`).
   */
  read(hash: Uint8Array, offset: number, length: number, ctx?: BlobReadContext): Promise<{ total: number; data: Uint8Array } | BlobRefusal | undefined>
}

/** One shared image: OCI manifest digest (sha256, 32 bytes), keccak hash and size of its archive blob. */
export interface SharedImageArchive {
  digest: Uint8Array
  archive: Uint8Array
  size: number
}

/**
 * The container images the node shares as archives in its blob store (compute's ImageStore
 * index, adapted by node/): served on image_archives; the archives themselves on blob_by_hash.
 */
export interface ImageArchiveProvider {
  /** The archives of these digests that the node holds (all it shares, at most 32, when `digests` is empty). */
  imageArchives(digests: Uint8Array[]): Promise<SharedImageArchive[]>
}
