import { getAddress, type Address, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import type { Logger } from '../../common/logger.js'
import { noopMetrics, type Counter, type Metrics } from '../../common/metrics.js'
import { openKey, sealKey } from '../../compute/KeySeal.js'
import { ASSET_REGISTRY_ADDRESS } from '../../genesis/AssetRegistryGenesis.js'
import type { RpcBackend } from '../../rpc/RpcBackend.js'
import { BackendMarketChain, backendCaller, type MarketChain } from '../jobs/MarketChain.js'
import { WorkMarketReader } from '../jobs/WorkMarketReader.js'
import { AssetRegistryReader, encodeRegistryCall } from './AssetRegistryReader.js'
import { RegistryLogScanner } from './RegistryLogScanner.js'

interface PendingRequest {
  id: string
  jobId: Hex
  worker: Address
  tries: number
}

/** A job of one of our closed assets whose verifiers get a temporary standing grant. */
interface WatchedJob {
  id: string
  jobId: Hex
  /** Grants this node made to the job's verifiers (revoked when the job is final, if still ours). */
  granted: { verifier: Address; sealed: Hex }[]
}

interface ResponderState {
  pending: PendingRequest[]
  watched: WatchedJob[]
}

export interface JobGrantResponderOptions {
  /** Private keys of the asset owners this node answers for, by lowercase address (accounts the node holds unlocked). */
  keys: Map<string, Uint8Array>
  /** State file (cursor, open requests, verifier grants): `<datadir>/assets/job-grants.json`. */
  stateFile: string
  pollMs?: number
  /** Give the verifiers of a job that uses our closed asset a standing grant while the job runs (default true). */
  grantVerifiers?: boolean
  /** Attempts before an unanswerable request is dropped (one per tick). */
  maxTries?: number
}

/**
 * The owner's node side of job grants (genesis/contracts/AssetRegistry.md, "Jobs of the
 * WorkMarket"): watches `JobGrantRequested(id, jobId, worker)`; for an asset whose owner's key
 * this node holds, once the request is still open on chain (`jobGrantOf`) and the worker
 * published its key (`publicKeyOf`), opens the content key from the owner's own sealed grant
 * and sends `fulfilJobGrant(id, jobId, sealKey(key, worker))`.
 *
 * Verifiers: the registry records job grants for the session's worker only, yet verifiers
 * re-execute the work on the same data. The only path the contract offers is a standing grant,
 * so while a job of ours runs this node grants its drawn verifiers (`grant`) and revokes those
 * grants once the job is final (only grants it made and that were not replaced since).
 *
 * Restart-safe: the cursor, the open requests and the verifier grants are saved after each
 * tick, and every action re-reads the contract first (a request already fulfilled is skipped).
 * Bad data (unknown asset, a key that does not open, a malformed public key) is logged and
 * dropped; nothing here throws into the node.
 */
export class JobGrantResponder {
  private readonly scanner: RegistryLogScanner<ResponderState>
  private readonly registry: AssetRegistryReader
  private readonly market: WorkMarketReader
  private readonly chains = new Map<string, MarketChain>()
  private readonly log: Logger
  private readonly actions: Counter
  private readonly waitingLogged = new Set<string>()
  private timer?: NodeJS.Timeout
  private ticking?: Promise<void>
  private stopped = false

  constructor(
    private readonly opts: JobGrantResponderOptions,
    private readonly d: { backend: RpcBackend; logger: Logger; metrics?: Metrics },
  ) {
    this.scanner = new RegistryLogScanner<ResponderState>({ file: opts.stateFile, events: ['JobGrantRequested'], initial: { pending: [], watched: [] } }, d.backend)
    this.registry = new AssetRegistryReader(backendCaller(d.backend))
    this.market = new WorkMarketReader(backendCaller(d.backend))
    this.log = d.logger.child({ component: 'job-grant-responder' })
    this.actions = (d.metrics ?? noopMetrics).counter('povchain_asset_job_grants_total', 'Job grant requests this node answered for asset owners, by outcome', ['outcome'])
  }

  get owners(): Address[] {
    return [...this.opts.keys.keys()].map((a) => getAddress(a))
  }

  start(): void {
    this.log.info({ owners: this.owners, from: this.scanner.scannedTo.toString() }, 'answering job grant requests for these owners')
    const loop = () => {
      if (this.stopped) return
      this.ticking = this.tick()
        .catch((e: Error) => this.log.warn({ err: e.message }, 'job grant tick failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.opts.pollMs ?? 500)
        })
    }
    loop()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.ticking
  }

  private chain(owner: Address): MarketChain {
    const k = owner.toLowerCase()
    let c = this.chains.get(k)
    if (!c) this.chains.set(k, (c = new BackendMarketChain(this.d.backend, getAddress(owner))))
    return c
  }

  /** One pass: new events, then every open request and watched job. Exposed for tests. */
  async tick(): Promise<void> {
    const st = this.scanner.state
    for (const e of await this.scanner.scan()) {
      const id = String(e.args.id as bigint)
      const jobId = (e.args.jobId as Hex).toLowerCase() as Hex
      const worker = getAddress(e.args.worker as string)
      if (!st.pending.some((p) => p.id === id && p.jobId === jobId && p.worker === worker)) st.pending.push({ id, jobId, worker, tries: 0 })
    }
    this.scanner.save()
    const keep: PendingRequest[] = []
    for (const p of st.pending) {
      if (this.stopped) {
        keep.push(p)
        continue
      }
      const outcome = await this.answer(p).catch((e: Error) => {
        this.log.warn({ asset: p.id, jobId: p.jobId, worker: p.worker, err: e.message }, 'answering a job grant request failed; will retry')
        return 'retry' as const
      })
      if (outcome === 'retry' || outcome === 'wait') {
        p.tries++
        if (p.tries < (this.opts.maxTries ?? 600)) keep.push(p)
        else {
          this.actions.inc({ outcome: 'given-up' })
          this.log.warn({ asset: p.id, jobId: p.jobId, worker: p.worker }, 'job grant request given up after too many attempts')
        }
      }
    }
    st.pending = keep
    this.scanner.save()
    if (this.opts.grantVerifiers !== false) {
      const still: WatchedJob[] = []
      for (const w of st.watched) if (this.stopped || !(await this.serveVerifiers(w).catch((e: Error) => (this.log.warn({ asset: w.id, jobId: w.jobId, err: e.message }, 'verifier grants failed; will retry'), false)))) still.push(w)
      st.watched = still
      this.scanner.save()
    }
  }

  /** The owner's content key of a closed asset, or undefined (logged) when this node cannot open it. */
  private async contentKey(id: bigint, owner: Address): Promise<Uint8Array | undefined> {
    const own = await this.registry.grantOf(id, owner)
    if (own === '0x') {
      this.log.warn({ asset: id.toString(), owner }, 'the owner holds no sealed content key of its closed asset (not registered with `asset register --mode closed`?): cannot grant')
      return undefined
    }
    try {
      return openKey(hexToBytes(own), this.opts.keys.get(owner.toLowerCase())!)
    } catch (e) {
      this.log.warn({ asset: id.toString(), owner, err: (e as Error).message }, "the owner's sealed content key does not open with its key: cannot grant")
      return undefined
    }
  }

  private sealTo(contentKey: Uint8Array, pub: Hex, who: Address): Hex | undefined {
    try {
      return bytesToHex(sealKey(contentKey, hexToBytes(pub))) as Hex
    } catch (e) {
      this.log.warn({ grantee: who, err: (e as Error).message }, 'the published public key is unusable')
      return undefined
    }
  }

  /** done: fulfilled or nothing to do; wait: the worker has not published its key yet; retry: a transient failure. */
  private async answer(p: PendingRequest): Promise<'done' | 'wait' | 'retry'> {
    const id = BigInt(p.id)
    const a = await this.registry.asset(id)
    if (!a || !this.opts.keys.has(a.owner.toLowerCase())) return 'done' // not ours (or unknown): another node answers
    if (a.access !== 'closed') return 'done'
    const tag = { asset: p.id, jobId: p.jobId, worker: p.worker, owner: a.owner }
    if (!this.scanner.state.watched.some((w) => w.id === p.id && w.jobId === p.jobId)) this.scanner.state.watched.push({ id: p.id, jobId: p.jobId, granted: [] })
    const g = await this.registry.jobGrantOf(id, p.jobId)
    if (g.worker.toLowerCase() !== p.worker.toLowerCase()) {
      this.log.debug(tag, 'job grant request superseded (the job was reassigned or its grant ended)')
      return 'done'
    }
    if (g.fulfilled) return 'done'
    const pub = await this.registry.publicKeyOf(p.worker)
    if (pub === '0x') {
      const k = `${p.id}:${p.jobId}:${p.worker}`
      if (!this.waitingLogged.has(k)) {
        this.waitingLogged.add(k)
        this.log.info(tag, 'job grant requested, waiting for the worker to publish its public key (setPublicKey)')
      }
      return 'wait'
    }
    const key = await this.contentKey(id, a.owner)
    const sealed = key && this.sealTo(key, pub, p.worker)
    if (!sealed) {
      this.actions.inc({ outcome: 'unanswerable' })
      return 'done'
    }
    const r = await this.chain(a.owner).send(ASSET_REGISTRY_ADDRESS, encodeRegistryCall('fulfilJobGrant', [id, p.jobId, sealed]))
    this.actions.inc({ outcome: 'fulfilled' })
    this.log.info({ ...tag, tx: r.hash, block: r.blockNumber.toString() }, 'job grant fulfilled: content key sealed to the worker')
    return 'done'
  }

  /** Grants the running job's verifiers; revokes our grants once it is final. True when the job needs no more watching. */
  private async serveVerifiers(w: WatchedJob): Promise<boolean> {
    const id = BigInt(w.id)
    const a = await this.registry.asset(id)
    const owner = a && this.opts.keys.has(a.owner.toLowerCase()) ? a.owner : undefined
    const job = await this.market.job(w.jobId)
    if (!owner || !a || a.access !== 'closed' || !job || job.status !== 'running') {
      for (const g of w.granted) {
        if (!owner) break // transferred away: the grant management moved with the token
        if ((await this.registry.grantOf(id, g.verifier)).toLowerCase() !== g.sealed.toLowerCase()) continue
        await this.chain(owner).send(ASSET_REGISTRY_ADDRESS, encodeRegistryCall('revoke', [id, g.verifier]))
        this.actions.inc({ outcome: 'verifier-revoked' })
        this.log.info({ asset: w.id, jobId: w.jobId, verifier: g.verifier }, "job final: revoked the verifier's temporary grant")
      }
      return true
    }
    const s = await this.market.session(job.session)
    if (!s || s.status !== 'committed') return false
    let key: Uint8Array | undefined
    for (const v of s.verifiers) {
      if (w.granted.some((g) => g.verifier.toLowerCase() === v.toLowerCase()) || v.toLowerCase() === owner.toLowerCase()) continue
      if ((await this.registry.grantOf(id, v)) !== '0x') continue // a standing grant of the owner's own: leave it
      const pub = await this.registry.publicKeyOf(v)
      if (pub === '0x') continue
      key ??= await this.contentKey(id, owner)
      if (!key) return false
      const sealed = this.sealTo(key, pub, v)
      if (!sealed) continue
      // Recorded before sending: a crash after the send still revokes it later.
      w.granted.push({ verifier: getAddress(v), sealed })
      this.scanner.save()
      const r = await this.chain(owner).send(ASSET_REGISTRY_ADDRESS, encodeRegistryCall('grant', [id, v, sealed]))
      this.actions.inc({ outcome: 'verifier-granted' })
      this.log.info({ asset: w.id, jobId: w.jobId, verifier: v, tx: r.hash }, 'granted a verifier of the job the content key while the job runs')
    }
    return false
  }
}
