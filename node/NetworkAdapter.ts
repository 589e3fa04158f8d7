import { genTransactionsTrieRoot } from '@ethereumjs/block'
import type { TypedTransaction } from '@ethereumjs/tx'
import { Block, decodeBody } from '../chain/Block.js'
import type { BlockStore } from '../chain/BlockStore.js'
import type { Common } from '../chain/ChainCommon.js'
import type { BlockHeader } from '../chain/Header.js'
import { decodePoolTransaction, type TxPool } from '../chain/txpool/index.js'
import { TxPoolError } from '../chain/txpool/errors.js'
import { bytesToHex, equalBytes, hexToBytes } from '../common/bytes.js'
import type { ChainService } from '../consensus/ChainService.js'
import type { HeaderValidator } from '../consensus/HeaderValidator.js'
import type { BlobStore } from '../compute/worker/BlobStore.js'
import { sharedImageArchives } from '../compute/runtime/ImageStore.js'
import type { BlobProvider, BlobRefusal, ChainAccess, ImageArchiveProvider, ImportOutcome, PrecheckOutcome, TxOutcome } from '../network/ChainAccess.js'
import type { BlobAccessDecision } from '../market/assets/BlobAccessPolicy.js'
import { blobRequestFromWire, blobRequestSignatureValid, serverOfPeer, type SignedBlobRequest } from '../market/assets/DownloadAuth.js'
import { NodeError } from './errors.js'

/** Pool refusals that say nothing bad about the peer that relayed the transaction. */
const BENIGN_TX = new Set([
  'TXPOOL_ALREADY_KNOWN',
  'TXPOOL_NONCE_TOO_LOW',
  'TXPOOL_INSUFFICIENT_FUNDS',
  'TXPOOL_UNDERPRICED',
  'TXPOOL_REPLACEMENT_UNDERPRICED',
  'TXPOOL_ACCOUNT_LIMIT',
  'TXPOOL_FULL',
  'TXPOOL_GAS_LIMIT',
  'TXPOOL_FEE_CAP_EXCEEDED',
])

/** network/'s view of the chain (ChainAccess), over the chain service, the store and the pool. */
export class NetworkAdapter implements ChainAccess {
  constructor(
    readonly chainId: bigint,
    readonly genesisHash: Uint8Array,
    private readonly d: { store: BlockStore; chain: ChainService; validator: HeaderValidator; pool: TxPool; common: Common },
  ) {}

  head(): BlockHeader {
    return this.d.store.head()
  }

  finalized(): { number: bigint; hash: Uint8Array } | undefined {
    const h = this.d.store.finalized()
    if (!h) return undefined
    if (!this.fin || !equalBytes(this.fin.hash, h)) {
      // Headers are read asynchronously; until then the previous finalized block is reported.
      void this.d.store.getHeader(h).then((hdr) => hdr && (this.fin = { number: hdr.number, hash: h }))
    }
    return this.fin
  }
  private fin?: { number: bigint; hash: Uint8Array }

  getHeader(hash: Uint8Array) {
    return this.d.store.getHeader(hash)
  }
  canonicalHeader(n: bigint) {
    return this.d.store.canonicalHeader(n)
  }
  getBlock(hash: Uint8Array) {
    return this.d.store.getBlock(hash)
  }
  getReceipts(hash: Uint8Array) {
    return this.d.store.getReceipts(hash)
  }

  decodeBlock(bytes: Uint8Array): Block {
    return Block.decode(bytes, this.d.common)
  }

  async assembleBlock(header: BlockHeader, body: Uint8Array): Promise<Block> {
    const txs: TypedTransaction[] = decodeBody(body, this.d.common)
    const root = await genTransactionsTrieRoot(txs)
    if (!equalBytes(root, header.transactionsRoot))
      throw new NodeError('BODY_MISMATCH', `body of block ${header.number} does not match its transactions root`)
    return new Block(header, txs)
  }

  precheckHeader(header: BlockHeader): string | undefined {
    try {
      // The clock check is left to import: a header ahead of our clock is not the peer's fault.
      this.d.validator.validateAlone(header, 2 ** 52)
      return undefined
    } catch (e) {
      return (e as Error).message
    }
  }

  async precheckBlock(block: Block): Promise<PrecheckOutcome> {
    const h = block.header
    const now = Date.now() / 1000
    const refusal = (e: unknown): PrecheckOutcome => {
      const code = (e as { code?: string }).code ?? ''
      if (code === 'CONSENSUS_FUTURE_BLOCK') return { status: 'future' }
      if (code === 'CONSENSUS_UNKNOWN_PARENT') return { status: 'unknown-parent' }
      if (code === 'CONSENSUS_CONFLICTS_FINALIZED') return { status: 'stale', reason: (e as Error).message }
      if (code.startsWith('CONSENSUS_') || code.startsWith('CHAIN_')) return { status: 'invalid', reason: (e as Error).message }
      throw e
    }
    try {
      this.d.validator.validateAlone(h, now)
    } catch (e) {
      return refusal(e)
    }
    const root = await genTransactionsTrieRoot(block.transactions)
    if (!equalBytes(root, h.transactionsRoot)) return { status: 'invalid', reason: `body of block ${block.number} does not match its transactions root` }
    const parent = await this.d.store.getHeader(h.parentHash)
    if (!parent) return { status: 'unknown-parent' }
    try {
      await this.d.chain.verifyHeader(h, parent, now)
    } catch (e) {
      return refusal(e)
    }
    return { status: 'ok' }
  }

  async importBlock(block: Block): Promise<ImportOutcome> {
    try {
      return { status: await this.d.chain.importBlock(block) }
    } catch (e) {
      const code = (e as { code?: string }).code ?? ''
      if (code === 'CONSENSUS_UNKNOWN_PARENT') return { status: 'unknown-parent' }
      if (code === 'CONSENSUS_FUTURE_BLOCK') return { status: 'future' }
      if (code === 'CONSENSUS_CONFLICTS_FINALIZED') return { status: 'stale', reason: (e as Error).message }
      if (code.startsWith('CONSENSUS_') || code.startsWith('CHAIN_')) return { status: 'invalid', reason: (e as Error).message }
      throw e
    }
  }

  async addTransaction(raw: Uint8Array): Promise<TxOutcome> {
    let tx: TypedTransaction
    try {
      tx = decodePoolTransaction(raw, this.d.common)
    } catch (e) {
      return { status: 'invalid', reason: (e as Error).message }
    }
    try {
      await this.d.pool.add(tx, { source: 'remote' })
      return { status: 'added' }
    } catch (e) {
      if (e instanceof TxPoolError && BENIGN_TX.has(e.code)) return { status: 'ignored', reason: e.message }
      if (e instanceof TxPoolError) return { status: 'invalid', reason: e.message }
      throw e
    }
  }

  onNewHead(l: (block: Block) => void): () => void {
    return this.d.chain.onNewHead((b) => l(b))
  }
}

/**
 * Who may have a blob, by the signed request a peer sent with it (market/assets/BlobAccessPolicy.ts,
 * through AssetNodeService.decidePeerRead). May throw ASSET_DOWNLOAD_AUTH for a request that does
 * not verify.
 */
export type PeerBlobAccess = (hash: `0x${string}`, request?: SignedBlobRequest) => Promise<BlobAccessDecision>

/** How long a "serve" decision for one signed request is reused (a blob is read chunk by chunk). */
const SERVE_DECISION_MS = 5_000

/** Blobs above this are served by range from their file rather than read, hashed and cached whole. */
const LARGE_BLOB_BYTES = 8 * 1024 * 1024

/**
 * compute/'s blob store as network/'s BlobProvider (whole blob read per chunk, last one cached).
 * With `access`, a blob is served to a peer only as the access policy decides for the signed
 * requester its request carried (none: only what needs none); a refusal names its reason, and a
 * request whose signature is not the named account's is flagged for the peer's score. `self`: this
 * node's peer id, the server every request it receives is read as addressed to.
 */
export function blobProvider(store: BlobStore, access?: PeerBlobAccess, self: () => string = () => ''): BlobProvider {
  let last: { hex: string; data: Uint8Array } | undefined
  const served = new Map<string, number>()
  const refusal = async (hex: `0x${string}`, request: SignedBlobRequest | undefined): Promise<BlobRefusal | undefined> => {
    // Every field, not the signature alone: a decision is reused only for the very request it was made for.
    const key = request ? `${hex}:${request.requester}:${request.chainId}:${request.expiry}:${request.jobId ?? ''}:${request.signature}` : `${hex}:`
    const at = served.get(key)
    if (at !== undefined && Date.now() - at < SERVE_DECISION_MS && (!request || request.expiry * 1000 > Date.now())) return undefined
    let d: BlobAccessDecision
    try {
      d = await access!(hex, request)
    } catch (e) {
      if ((e as { code?: string }).code === 'ASSET_DOWNLOAD_AUTH' && request) {
        const badSignature = !(await blobRequestSignatureValid(request))
        return { refused: badSignature ? 'bad-signature' : 'bad-request', message: (e as Error).message, ...(badSignature ? { badSignature } : {}) }
      }
      return { refused: 'check-failed', message: `could not check who may have blob ${hex} (${(e as Error).message.split('\n')[0]}); try again later` }
    }
    if (!d.serve) return { refused: d.reason, message: d.message }
    if (served.size >= 256) served.clear()
    served.set(key, Date.now())
    return undefined
  }
  return {
    async read(hash, offset, length, ctx) {
      const hex = bytesToHex(hash)
      // A blob not held is simply not here (the fetcher asks elsewhere), whoever asks.
      if (last?.hex !== hex && !(await store.has(hex))) return undefined
      if (access) {
        // Read as addressed to this node: a request signed for another peer does not verify.
        const no = await refusal(hex, ctx?.requester ? blobRequestFromWire(ctx.requester, hex, serverOfPeer(self())) : undefined)
        if (no) return no
      }
      if (last?.hex !== hex) {
        const size = await store.size(hex)
        if (size === undefined) return undefined
        // A large blob (an image archive) by range from its file: re-hashing it whole for each
        // chunk took longer than the peer's request timeout; the fetcher checks the whole's hash.
        if (size > LARGE_BLOB_BYTES) return store.readRange(hex, offset, length)
        last = { hex, data: await store.get(hex) }
      }
      return { total: last.data.length, data: last.data.subarray(offset, offset + length) }
    },
  }
}

/**
 * compute/'s image index as network/'s ImageArchiveProvider: the images whose `docker save`
 * archives the blob store holds (`compute image share`, or loaded from peers), by digest.
 */
export function imageArchiveProvider(store: BlobStore): ImageArchiveProvider {
  return {
    async imageArchives(digests) {
      const wanted = new Set(digests.map((d) => `sha256:${bytesToHex(d).slice(2)}`))
      return (await sharedImageArchives(store))
        .filter((r) => r.digest.startsWith('sha256:') && (wanted.size === 0 || wanted.has(r.digest)))
        .map((r) => ({ digest: hexToBytes(`0x${r.digest.slice('sha256:'.length)}`), archive: hexToBytes(r.archive), size: r.size }))
    },
  }
}
