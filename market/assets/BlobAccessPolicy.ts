import type { Address, Hex } from 'viem'
import type { Logger } from '../../common/logger.js'
import { silentLogger } from '../../common/logger.js'
import { bundledDatasets } from '../../compute/data/BundledDatasets.js'
import type { WorkMarketReader } from '../client/WorkMarketReader.js'
import type { AssetRegistryReader, RegisteredAsset } from './AssetRegistryReader.js'
import { verifyBlobRequest, type SignedBlobRequest } from './DownloadAuth.js'
import { isProtocolBlob } from './ProtocolBlob.js'

let bundledHashes: Set<string> | undefined
const bundled = () => (bundledHashes ??= new Set(bundledDatasets().map((b) => b.hash.toLowerCase())))

/** Why a blob is not served. */
export type BlobRefusal = 'removed' | 'auth-required' | 'not-entitled'

export type BlobAccessDecision = { serve: true; requester?: Address } | { serve: false; reason: BlobRefusal; message: string }

/** Whether serving an asset's blob needs a paying (or otherwise entitled) requester. */
export function downloadIsGated(a: Pick<RegisteredAsset, 'access' | 'pricePerDownload'>): boolean {
  // Paid: the plaintext is what is sold. Closed: the blob is ciphertext, useless without a
  // grant, so only a download price of its own gates it.
  return a.access === 'paid' || (a.access === 'closed' && a.pricePerDownload > 0n)
}

/**
 * What this node serves of its blob store, by the asset registry (genesis/contracts/AssetRegistry.md):
 * - a blob that is no asset's content (specs, checkpoints, bundled data) or the content of a
 *   free asset, or of a closed asset without a download price (ciphertext): to anyone;
 * - the content of a **removed** asset (and of no live one): only to the participants of a job
 *   that linked it before the removal (such a job still completes), named in a signed request;
 * - the content of a paid asset (or a closed one with a download price): to a requester that
 *   proves its account with a SignedBlobRequest and owns the asset, paid its download
 *   (`downloads(id, requester) > 0`, see `payDownload`), holds a standing grant, or — naming the
 *   job in the request — is the client, the current worker, a verifier of the current session,
 *   or the job-grant holder of a job that links the asset (`jobUseOf`). The request must be
 *   addressed to this node (`servers`): one signed for another node is refused.
 * The same signed request travels in pov_getBlob (4th parameter) and in the network's
 * blob_by_hash (its requester field, node/NetworkAdapter.ts's blobProvider); without one a peer
 * gets only what needs none.
 * Decisions about a hash are cached for `cacheMs` (a blob is read chunk by chunk).
 */
export class BlobAccessPolicy {
  private readonly byHash = new Map<string, bigint[]>()
  private indexed = 0n
  private indexing: Promise<void> = Promise.resolve()
  private readonly cache = new Map<string, { at: number; assets: RegisteredAsset[] }>()
  private readonly log: Logger

  constructor(
    private readonly d: {
      /** Bound once the node's backend exists (the network starts first). */
      registry: () => AssetRegistryReader | undefined
      market: () => WorkMarketReader | undefined
      chainId: bigint
      /** This node's server names (DownloadAuth's serverOfPeer / serverOfUrl): a request addressed elsewhere is refused. */
      servers: () => readonly string[]
      /** The blob's bytes when this node holds it (to recognise work-market data, see ProtocolBlob). */
      readBlob?: (hash: Hex) => Promise<Uint8Array | undefined>
      logger?: Logger
      cacheMs?: number
    },
  ) {
    this.log = (d.logger ?? silentLogger).child({ component: 'blob-access' })
  }

  /** The assets whose content is `hash` (fresh access and prices, cached briefly). */
  async assetsOf(hash: Hex): Promise<RegisteredAsset[]> {
    const reg = this.d.registry()
    if (!reg) return []
    const h = hash.toLowerCase()
    const hit = this.cache.get(h)
    if (hit && Date.now() - hit.at < (this.d.cacheMs ?? 1000)) return hit.assets
    // One indexing pass at a time (concurrent reads would index an id twice).
    this.indexing = this.indexing.then(() => this.indexNew(reg)).catch(() => undefined)
    await this.indexing
    const assets: RegisteredAsset[] = []
    for (const id of this.byHash.get(h) ?? []) {
      const a = await reg.asset(id)
      if (a) assets.push(a)
    }
    this.cache.set(h, { at: Date.now(), assets })
    return assets
  }

  /** Adds the assets published since the last pass: contentHash never changes after publish, so the index only grows. */
  private async indexNew(reg: AssetRegistryReader): Promise<void> {
    const count = await reg.count().catch(() => 0n)
    for (let id = this.indexed + 1n; id <= count; id++) {
      const a = await reg.asset(id)
      if (!a) continue
      const k = a.contentHash.toLowerCase()
      this.byHash.set(k, [...(this.byHash.get(k) ?? []), id])
      this.indexed = id
    }
  }

  /** Forgets cached decisions (after an access change the node saw). */
  invalidate(hash?: Hex): void {
    if (hash) this.cache.delete(hash.toLowerCase())
    else this.cache.clear()
  }

  /** Whether a blob may be served to a requester that names no account. */
  async servesAnonymously(hash: Hex): Promise<boolean> {
    return (await this.decide(hash)).serve
  }

  async decide(hash: Hex, request?: SignedBlobRequest): Promise<BlobAccessDecision> {
    // Anyone may publish any hash: a dataset every node ships stays served whatever is claimed of it.
    if (bundled().has(hash.toLowerCase())) return { serve: true }
    const assets = await this.assetsOf(hash)
    if (assets.length === 0) return { serve: true }
    if (await this.isProtocolData(hash)) return { serve: true }
    const live = assets.filter((a) => a.access !== 'removed')
    if (live.length === 0) {
      // A job that linked the asset before its removal still completes: its participants may read it.
      const job = request?.jobId ? await this.d.market()?.job(request.jobId) : undefined
      if (request?.jobId && job?.status === 'running') {
        const requester = await verifyBlobRequest(request, { chainId: this.d.chainId, hash, servers: this.d.servers() })
        for (const a of assets) if (await this.jobParticipant(a, requester, request.jobId)) return { serve: true, requester }
      }
      return { serve: false, reason: 'removed', message: `blob ${hash} is the content of removed asset ${assets.map((a) => a.id).join(', ')}: this node no longer serves it` }
    }
    const gated = live.filter(downloadIsGated)
    if (gated.length < live.length) return { serve: true }
    const ids = gated.map((a) => a.id).join(', ')
    if (!request) return { serve: false, reason: 'auth-required', message: `blob ${hash} is the content of paid asset ${ids}: send a signed blob request (pov_getBlob's 4th parameter; \`povchain asset fetch\` does it) from an account that paid the download (payDownload) or may use it` }
    const requester = await verifyBlobRequest(request, { chainId: this.d.chainId, hash, servers: this.d.servers() })
    for (const a of gated) if (await this.entitled(a, requester, request.jobId)) return { serve: true, requester }
    return { serve: false, reason: 'not-entitled', message: `${requester} has not paid the download of asset ${ids} (payDownload), holds no grant of it and works on no job that uses it${request.jobId ? ` (job ${request.jobId})` : ''}` }
  }

  private readonly protocol = new Map<string, boolean>()

  /** Marks blobs as work-market data this node produced (its sessions' checkpoints, results): never gated. */
  protect(hashes: Iterable<string>): void {
    for (const h of hashes) this.protocol.set(h.toLowerCase(), true)
  }

  /** Whether a blob was marked with protect() (or recognised as work-market data). */
  isProtected(hash: string): boolean {
    return this.protocol.get(hash.toLowerCase()) === true
  }

  /** The blobs marked with protect() (to persist them). */
  protectedHashes(): string[] {
    return [...this.protocol].filter(([, v]) => v).map(([h]) => h)
  }

  /** A job spec or session record someone published as an asset: served whatever the asset says (remembered). */
  private async isProtocolData(hash: Hex): Promise<boolean> {
    const h = hash.toLowerCase()
    let known = this.protocol.get(h)
    if (known === undefined) {
      const bytes = await this.d.readBlob?.(hash).catch(() => undefined)
      if (!bytes) return false
      known = isProtocolBlob(bytes)
      this.protocol.set(h, known)
      if (known) this.log.warn({ hash: h }, 'an asset claims a job spec or session record: served regardless')
    }
    return known
  }

  private async entitled(a: RegisteredAsset, who: Address, jobId: Hex | undefined): Promise<boolean> {
    const reg = this.d.registry()!
    const me = who.toLowerCase()
    if (a.owner.toLowerCase() === me) return true
    if ((await reg.read<bigint>('downloads', [a.id, who])) > 0n) return true
    if (a.access === 'closed' && (await reg.grantOf(a.id, who)) !== '0x') return true
    return jobId !== undefined && (await this.jobParticipant(a, who, jobId))
  }

  /** Whether `who` is the client, holds a job grant request of job `jobId` (which links asset `a`), or is the worker or a verifier of its running session. */
  private async jobParticipant(a: RegisteredAsset, who: Address, jobId: Hex): Promise<boolean> {
    const reg = this.d.registry()!
    const me = who.toLowerCase()
    const use = await reg.jobUse(jobId)
    if (!use.ids.includes(a.id)) return false
    if (use.client.toLowerCase() === me) return true
    // A job grant request on record for `who` (worker or drawn verifier, of any round of the job).
    const grant = await reg.jobGrantOf(a.id, jobId, who)
    if (grant.grantee.toLowerCase() === me) return true
    const market = this.d.market()
    const job = market && (await market.job(jobId))
    const session = job && job.status === 'running' ? await market.session(job.session) : undefined
    if (!session) return false
    const ok = session.worker.toLowerCase() === me || session.verifiers.some((v) => v.toLowerCase() === me)
    if (ok) this.log.debug({ asset: a.id.toString(), requester: who, jobId }, 'a participant of a job that uses the asset reads its blob')
    return ok
  }
}
