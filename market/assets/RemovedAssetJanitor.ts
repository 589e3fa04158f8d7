import type { Hex } from 'viem'
import type { Logger } from '../../common/logger.js'
import { noopMetrics, type Counter, type Metrics } from '../../common/metrics.js'
import { bundledDatasets } from '../../compute/data/BundledDatasets.js'
import type { BlobStore } from '../../compute/worker/BlobStore.js'
import type { RpcBackend } from '../../rpc/RpcBackend.js'
import { backendCaller } from '../client/MarketChain.js'
import { WorkMarketReader } from '../client/WorkMarketReader.js'
import { ASSET_ACCESS, AssetRegistryReader } from './AssetRegistryReader.js'
import { PollLoop } from '../PollLoop.js'
import { isProtocolBlob } from './ProtocolBlob.js'
import { RegistryLogScanner } from './RegistryLogScanner.js'

interface JanitorState {
  /** Jobs that linked each asset (JobAssetsLinked), by asset id: a running one pins the blob. */
  linked: Record<string, Hex[]>
  /** Removed assets whose blob is still kept for a running job. */
  deferred: string[]
}

/**
 * "Nodes drop their copies" (AssetRegistry.remove): when an asset's access becomes Removed
 * (`AccessChanged(id, Removed, …)`), the node deletes the asset's blob from its store — unless
 * another live asset has the same content, the blob is a dataset bundled with the node, or a job
 * that linked the asset before the removal is still open or running (such a job completes, so its
 * worker and verifiers may still need the blob: pinned until the job is final, then deleted). Serving is refused from the removal on
 * (BlobAccessPolicy) except to that job's participants. Cursor and pins live in
 * `<datadir>/assets/removed-assets.json`, so a restart neither forgets a pin nor a deletion.
 */
export class RemovedAssetJanitor {
  private readonly scanner: RegistryLogScanner<JanitorState>
  private readonly registry: AssetRegistryReader
  private readonly market: WorkMarketReader
  private readonly log: Logger
  private readonly dropped: Counter
  private readonly loop: PollLoop

  constructor(
    private readonly opts: { stateFile: string; pollMs?: number },
    private readonly d: {
      backend: RpcBackend
      blobs: BlobStore
      onDropped?: (hash: Hex) => void
      /** Blobs never dropped whatever an asset says (the node's own work-market data). */
      keep?: (hash: Hex) => boolean
      logger: Logger
      metrics?: Metrics
    },
  ) {
    this.scanner = new RegistryLogScanner<JanitorState>({ file: opts.stateFile, events: ['AccessChanged', 'JobAssetsLinked'], initial: { linked: {}, deferred: [] } }, d.backend)
    this.registry = new AssetRegistryReader(backendCaller(d.backend))
    this.market = new WorkMarketReader(backendCaller(d.backend))
    this.log = d.logger.child({ component: 'removed-assets' })
    this.loop = new PollLoop({ tick: () => this.tick(), intervalMs: opts.pollMs ?? 1000, logger: this.log, failMessage: 'removed-asset tick failed' })
    this.dropped = (d.metrics ?? noopMetrics).counter('povchain_asset_blobs_dropped_total', 'Blobs of removed assets this node deleted')
  }

  start(): void {
    this.loop.start()
  }

  async stop(): Promise<void> {
    await this.loop.stop()
    this.scanner.save(true)
  }

  /** One pass (exposed for tests): new events, then every removed asset not yet dropped. */
  async tick(): Promise<void> {
    const st = this.scanner.state
    for (const e of await this.scanner.scan()) {
      if (e.name === 'JobAssetsLinked') {
        for (const id of e.args.ids as readonly bigint[]) {
          const k = id.toString()
          st.linked[k] = [...(st.linked[k] ?? []), (e.args.jobId as Hex).toLowerCase() as Hex]
        }
      } else if (ASSET_ACCESS[Number(e.args.access)] === 'removed') {
        const k = (e.args.id as bigint).toString()
        if (!st.deferred.includes(k)) st.deferred.push(k)
      }
    }
    this.scanner.save()
    const still: string[] = []
    for (const k of st.deferred) if (!(await this.drop(BigInt(k)).catch((e: Error) => (this.log.warn({ asset: k, err: e.message }, 'dropping a removed asset failed; will retry'), false)))) still.push(k)
    st.deferred = still
    this.scanner.save()
  }

  /** True once the asset needs nothing more (blob deleted, or shared with a live asset). */
  private async drop(id: bigint): Promise<boolean> {
    const a = await this.registry.asset(id)
    if (!a || a.access !== 'removed') return true
    const st = this.scanner.state
    const running: Hex[] = []
    // Open jobs too: one linked before the removal is still assigned and completes.
    for (const jobId of st.linked[id.toString()] ?? []) {
      const status = (await this.market.job(jobId))?.status
      if (status === 'running' || status === 'open') running.push(jobId)
    }
    st.linked[id.toString()] = running
    if (running.length) {
      this.log.debug({ asset: id.toString(), jobs: running }, 'removed asset kept while jobs that use it run')
      return false
    }
    delete st.linked[id.toString()]
    const hash = a.contentHash.toLowerCase() as Hex
    if (bundledDatasets().some((b) => b.hash === hash)) {
      // Anyone may publish any hash: removing an "asset" must not take the node's bundled data with it.
      this.log.warn({ asset: id.toString(), hash }, 'removed asset names a dataset bundled with the node: kept')
      return true
    }
    for (let other = 1n, n = await this.registry.count(); other <= n; other++) {
      if (other === id) continue
      const b = await this.registry.asset(other)
      if (b && b.access !== 'removed' && b.contentHash.toLowerCase() === hash) {
        this.log.info({ asset: id.toString(), hash, sharedWith: other.toString() }, 'removed asset: its blob is also live asset content; kept')
        return true
      }
    }
    if (await this.d.blobs.has(hash)) {
      if (this.d.keep?.(hash) || isProtocolBlob(await this.d.blobs.get(hash))) {
        this.log.warn({ asset: id.toString(), hash }, 'removed asset names work-market data (a job spec, session record, checkpoint or result): kept')
        return true
      }
      await this.d.blobs.delete(hash)
      this.dropped.inc()
      this.log.info({ asset: id.toString(), hash }, 'removed asset: its blob was deleted from this node')
    }
    this.d.onDropped?.(hash)
    return true
  }
}
