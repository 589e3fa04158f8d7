import { getAddress, type Address, type Hex } from 'viem'
import { hexToBytes } from '../../common/bytes.js'
import type { Logger } from '../../common/logger.js'
import { decryptBlob } from '../../compute/AssetCipher.js'
import { contentHash } from '../../compute/ContentHash.js'
import { openKey } from '../../compute/KeySeal.js'
import { ASSET_REGISTRY_ADDRESS } from '../../genesis/AssetRegistryGenesis.js'
import { AssetError } from '../assets/AssetError.js'
import { decodeMetadataUri } from '../assets/AssetMetadata.js'
import type { AssetRegistryReader, RegisteredAsset } from '../assets/AssetRegistryReader.js'
import { encodeRegistryCall } from '../assets/AssetRegistryReader.js'
import { downloadIsGated } from '../assets/BlobAccessPolicy.js'
import { blobRequestFields, blobRequestToJson, signBlobRequest } from '../assets/DownloadAuth.js'
import type { MarketChain } from '../client/MarketChain.js'
import type { MarketJob, WorkMarketReader } from '../client/WorkMarketReader.js'
import type { BlobAuth, BlobFetcher } from './BlobFetcher.js'

const ZERO = '0x0000000000000000000000000000000000000000'

/**
 * The inputs of a job that uses registered assets (AssetRegistry `jobUseOf(jobId)`), as one of
 * this node's identities may read them. The spec names its dataset and model by the hash of the
 * bytes the workload reads:
 * - a free or paid asset is that blob: fetched as usual (local store, peers, other nodes' RPC),
 *   with a signed request naming the job for a paid one;
 * - a closed asset's metadata carries that hash as `plaintextHash`: the encrypted blob (its
 *   on-chain contentHash) is fetched and checked, decrypted with the identity's job grant for
 *   this job (`jobGrantOf(id, jobId, me)`: the session's worker or a verifier drawn for it) or
 *   a standing grant (`grantOf`: the owner's own sealed key, or one the owner gave by hand), and
 *   the plaintext checked against the hash. A participant of the running session without a
 *   request on record asks once (`requestJobGrants` records the worker's and the drawn
 *   verifiers') and ASSET_GRANT_PENDING is thrown: the caller retries later (the owner's node
 *   answers within a few blocks).
 * The plaintext is never put in the blob store (the store is served to peers); it stays in a
 * small in-memory cache for the re-runs and verifications of the same node.
 */
export class JobAssetInputs {
  private readonly plain = new Map<string, Uint8Array>()
  private readonly requested = new Set<string>()
  private readonly log: Logger

  constructor(
    private readonly d: {
      registry: AssetRegistryReader
      market: WorkMarketReader
      fetcher: BlobFetcher
      /** Private keys of this node's identities, by lowercase address. */
      keys: Map<string, Uint8Array>
      /** Sends from one of this node's identities. */
      chainFor: (who: Address) => MarketChain
      chainId: bigint
      logger: Logger
      cacheEntries?: number
    },
  ) {
    this.log = d.logger.child({ component: 'job-asset-inputs' })
  }

  private auth(me: Address | undefined, jobId: Hex): BlobAuth | undefined {
    const key = me && this.d.keys.get(me.toLowerCase())
    if (!key) return undefined
    return async (hash, to) => blobRequestToJson(await signBlobRequest(key, blobRequestFields(this.d.chainId, hash, to, jobId)))
  }

  private remember(slot: string, bytes: Uint8Array): Uint8Array {
    this.plain.set(slot, bytes)
    while (this.plain.size > (this.d.cacheEntries ?? 4)) this.plain.delete(this.plain.keys().next().value!)
    return bytes
  }

  /** The job's assets (empty when the job links none, or the chain has no registry). */
  private async assetsOf(jobId: Hex): Promise<RegisteredAsset[]> {
    const use = await this.d.registry.jobUse(jobId).catch(() => undefined)
    if (!use || use.client === ZERO) return []
    const out: RegisteredAsset[] = []
    for (const id of use.ids) {
      const a = await this.d.registry.asset(id)
      if (a) out.push(a)
    }
    return out
  }

  /** The bytes of input `hash` of `job` for identity `me` (see the class comment). */
  async input(hash: Hex, job: MarketJob, me?: Address): Promise<Uint8Array> {
    const h = hash.toLowerCase() as Hex
    // Per identity: each reads with its own grant (the worker's job grant is not the verifier's).
    const slot = `${(me ?? 'none').toLowerCase()}:${h}`
    const cached = this.plain.get(slot)
    if (cached) return cached
    const assets = await this.assetsOf(job.jobId)
    const direct = assets.find((a) => a.contentHash.toLowerCase() === h)
    if (direct) return this.d.fetcher.get(h, downloadIsGated(direct) ? { ...this.authOpt(me, job.jobId) } : {})
    for (const a of assets) {
      let meta
      try {
        meta = decodeMetadataUri(a.uri, a.metadataHash)
      } catch {
        continue
      }
      if (!meta || meta.encryption !== 'PVA1' || meta.plaintextHash?.toLowerCase() !== h) continue
      return this.remember(slot, await this.decrypt(a, h, job, me))
    }
    return this.d.fetcher.get(h)
  }

  private authOpt(me: Address | undefined, jobId: Hex): { auth?: BlobAuth } {
    const auth = this.auth(me, jobId)
    return auth ? { auth } : {}
  }

  private async sealedKeyFor(a: RegisteredAsset, job: MarketJob, me: Address): Promise<Hex | undefined> {
    const g = await this.d.registry.jobGrantOf(a.id, job.jobId, me)
    if (g.fulfilled && g.sealedKey !== '0x') return g.sealedKey
    const standing = await this.d.registry.grantOf(a.id, me)
    if (standing !== '0x') return standing
    if (g.grantee !== ZERO) return undefined // requested: the owner's node has yet to answer
    // A participant of the running session (its worker, or a verifier drawn for it) without a
    // request on record: ask (anyone may; the registry records every participant's at once).
    const s = job.status === 'running' ? await this.d.market.session(job.session) : undefined
    const who = me.toLowerCase()
    const role = !s ? undefined : s.worker.toLowerCase() === who ? 'worker' : s.verifiers.some((v) => v.toLowerCase() === who) ? 'verifier' : undefined
    const k = `${job.jobId}:${who}`
    if (role && !this.requested.has(k)) {
      this.requested.add(k)
      try {
        await this.d.chainFor(me).send(ASSET_REGISTRY_ADDRESS, encodeRegistryCall('requestJobGrants', [job.jobId]))
        this.log.info({ jobId: job.jobId, asset: a.id.toString(), identity: me, role }, 'requested the job grants of the closed assets this job uses')
      } catch (e) {
        this.requested.delete(k)
        this.log.warn({ jobId: job.jobId, identity: me, role, err: (e as Error).message }, 'requestJobGrants failed; will retry')
      }
    }
    return undefined
  }

  private async decrypt(a: RegisteredAsset, h: Hex, job: MarketJob, me: Address | undefined): Promise<Uint8Array> {
    const tag = `closed asset ${a.id} (input ${h} of job ${job.jobId})`
    if (!me) throw new AssetError('NO_GRANT', `${tag}: no identity of this node to read it with`)
    const key = this.d.keys.get(me.toLowerCase())
    if (!key) throw new AssetError('NO_KEY', `${tag}: this node does not hold the private key of ${getAddress(me)} (needed to open its grant)`)
    const sealed = await this.sealedKeyFor(a, job, me)
    if (!sealed) throw new AssetError('GRANT_PENDING', `${tag}: ${getAddress(me)} holds no grant of it for this job yet (waiting for the owner ${a.owner} to answer the job grant request)`)
    const cipher = await this.d.fetcher.get(a.contentHash, this.authOpt(me, job.jobId))
    let bytes: Uint8Array
    try {
      bytes = decryptBlob(openKey(hexToBytes(sealed), key), cipher)
    } catch (e) {
      throw new AssetError('DECRYPT', `${tag}: ${(e as Error).message}`, { cause: e })
    }
    if (contentHash(bytes) !== h) throw new AssetError('PLAINTEXT_MISMATCH', `${tag}: the decrypted bytes hash to ${contentHash(bytes)}, the spec names ${h}`)
    this.log.info({ asset: a.id.toString(), jobId: job.jobId, identity: me, bytes: bytes.length }, 'decrypted a closed asset for a job')
    return bytes
  }
}
