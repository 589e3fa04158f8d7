import { getAddress, type Address, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import type { Logger } from '../../common/logger.js'
import { noopMetrics, type Counter, type Metrics } from '../../common/metrics.js'
import { openKey, sealKey } from '../../compute/KeySeal.js'
import { ASSET_REGISTRY_ADDRESS } from '../../genesis/AssetRegistryGenesis.js'
import type { RpcBackend } from '../../rpc/RpcBackend.js'
import { BackendMarketChain, backendCaller, type MarketChain } from '../client/MarketChain.js'
import { WorkMarketReader } from '../client/WorkMarketReader.js'
import { AssetRegistryReader, encodeRegistryCall } from './AssetRegistryReader.js'
import { PollLoop } from '../PollLoop.js'
import { RegistryLogScanner } from './RegistryLogScanner.js'

/** An open `JobGrantRequested(id, jobId, grantee)`: the job's worker or one of its verifiers. */
interface PendingRequest {
  id: string
  jobId: Hex
  grantee: Address
  tries: number
  /** Re-queued by a key rotation: sealed again only while the job still runs. */
  rotated?: boolean
}

/** A job grant this node fulfilled: sealed again under the new key when the asset's key rotates while the job runs. */
interface AnsweredGrant {
  id: string
  jobId: Hex
  grantee: Address
}

interface ResponderState {
  pending: PendingRequest[]
  answered?: AnsweredGrant[]
}

export interface JobGrantResponderOptions {
  /** Private keys of the asset owners this node answers for, by lowercase address (accounts the node holds unlocked). */
  keys: Map<string, Uint8Array>
  /** State file (cursor, open requests): `<datadir>/assets/job-grants.json`. */
  stateFile: string
  pollMs?: number
  /** Answer the requests of a job's verifiers too, not only its workers' (default true; `--assets.no-verifier-grants`: false). */
  grantVerifiers?: boolean
  /** Attempts before an unanswerable request is dropped (one per tick). */
  maxTries?: number
}

type Outcome = 'done' | 'wait' | 'retry'

/** Fulfilled grants remembered for re-sealing after a key rotation (the oldest are forgotten first: their jobs are the likeliest to be over). */
const MAX_ANSWERED = 4096

/**
 * The owner's node side of job grants (genesis/contracts/AssetRegistry.md, "Jobs of the
 * WorkMarket"): watches `JobGrantRequested(id, jobId, grantee)` — the registry records one for a
 * job's worker and for each verifier drawn for its session — and, for an asset whose owner's key
 * this node holds, once the request is still open on chain (`jobGrantOf(id, jobId, grantee)`) and
 * the grantee published its key (`publicKeyOf`), opens the content key from the owner's own
 * sealed grant and sends `fulfilJobGrant(id, jobId, grantee, sealKey(key, grantee))`. The grant
 * is for that job only: no standing grant is made, so there is nothing to revoke later. When the
 * asset's key rotates (`KeyRotated`, issue 17), the grants it sealed for jobs still running are
 * sealed again under the new key (the old ones open nothing current).
 *
 * Restart-safe: the cursor and the open requests are saved after each tick, and every answer
 * re-reads the contract first (a request already fulfilled is skipped). Bad data (unknown asset,
 * a key that does not open, a malformed public key) is logged and dropped; nothing here throws
 * into the node.
 */
export class JobGrantResponder {
  private readonly scanner: RegistryLogScanner<ResponderState>
  private readonly registry: AssetRegistryReader
  private readonly market: WorkMarketReader
  private readonly chains = new Map<string, MarketChain>()
  private readonly log: Logger
  private readonly actions: Counter
  private readonly waitingLogged = new Set<string>()
  private readonly loop: PollLoop

  constructor(
    private readonly opts: JobGrantResponderOptions,
    private readonly d: { backend: RpcBackend; logger: Logger; metrics?: Metrics },
  ) {
    this.scanner = new RegistryLogScanner<ResponderState>({ file: opts.stateFile, events: ['JobGrantRequested', 'KeyRotated'], initial: { pending: [], answered: [] } }, d.backend)
    // A state file of an older version may hold other entries: keep only well-formed requests.
    this.scanner.state = { pending: (this.scanner.state.pending ?? []).filter((p) => typeof p.grantee === 'string'), answered: this.scanner.state.answered ?? [] }
    this.registry = new AssetRegistryReader(backendCaller(d.backend))
    this.market = new WorkMarketReader(backendCaller(d.backend))
    this.log = d.logger.child({ component: 'job-grant-responder' })
    this.loop = new PollLoop({ tick: () => this.tick(), intervalMs: opts.pollMs ?? 500, logger: this.log, failMessage: 'job grant tick failed' })
    this.actions = (d.metrics ?? noopMetrics).counter('povchain_asset_job_grants_total', 'Job grant requests this node answered for asset owners, by outcome', ['outcome'])
  }

  get owners(): Address[] {
    return [...this.opts.keys.keys()].map((a) => getAddress(a))
  }

  start(): void {
    this.log.info({ owners: this.owners, from: this.scanner.scannedTo.toString() }, 'answering job grant requests for these owners')
    this.loop.start()
  }

  async stop(): Promise<void> {
    await this.loop.stop()
    this.scanner.save(true)
  }

  private chain(owner: Address): MarketChain {
    const k = owner.toLowerCase()
    let c = this.chains.get(k)
    if (!c) this.chains.set(k, (c = new BackendMarketChain(this.d.backend, getAddress(owner))))
    return c
  }

  /** One pass: new events, then every open request. Exposed for tests. */
  async tick(): Promise<void> {
    const st = this.scanner.state
    for (const e of await this.scanner.scan()) {
      if (e.name === 'KeyRotated') {
        await this.requeueRotated(String(e.args.id as bigint))
        continue
      }
      const id = String(e.args.id as bigint)
      const jobId = (e.args.jobId as Hex).toLowerCase() as Hex
      const grantee = getAddress(e.args.grantee as string)
      if (!st.pending.some((p) => p.id === id && p.jobId === jobId && p.grantee === grantee)) st.pending.push({ id, jobId, grantee, tries: 0 })
    }
    this.scanner.save()
    const keep: PendingRequest[] = []
    for (const p of st.pending) {
      if (this.loop.stopped) {
        keep.push(p)
        continue
      }
      const outcome = await this.answer(p).catch((e: Error): Outcome => {
        this.log.warn({ asset: p.id, jobId: p.jobId, grantee: p.grantee, err: e.message }, 'answering a job grant request failed; will retry')
        return 'retry'
      })
      if (outcome === 'done') continue
      p.tries++
      if (p.tries < (this.opts.maxTries ?? 600)) keep.push(p)
      else {
        this.actions.inc({ outcome: 'given-up' })
        this.log.warn({ asset: p.id, jobId: p.jobId, grantee: p.grantee }, 'job grant request given up after too many attempts')
      }
    }
    st.pending = keep
    this.scanner.save()
  }

  /**
   * A key rotation of asset `id` ended the job grants this node sealed: those of jobs still
   * running go back to the open requests (sealed again under the new key), the others are forgotten.
   */
  private async requeueRotated(id: string): Promise<void> {
    const st = this.scanner.state
    const keep: AnsweredGrant[] = []
    for (const g of st.answered ?? []) {
      if (g.id !== id) {
        keep.push(g)
        continue
      }
      if ((await this.market.job(g.jobId))?.status !== 'running') continue
      if (!st.pending.some((p) => p.id === g.id && p.jobId === g.jobId && p.grantee === g.grantee)) st.pending.push({ ...g, tries: 0, rotated: true })
      this.log.info({ asset: id, jobId: g.jobId, grantee: g.grantee }, 'content key rotated while the job runs: sealing the new key to its participant')
    }
    st.answered = keep
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

  /** Whether `who` worked on job `jobId` (the worker of one of its sessions), as opposed to verifying it. */
  private async workedOn(jobId: Hex, who: Address): Promise<boolean> {
    for (const sid of await this.market.sessionsOfJob(jobId)) if ((await this.market.session(sid))?.worker.toLowerCase() === who.toLowerCase()) return true
    return false
  }

  /** done: fulfilled or nothing to do; wait: the grantee has not published its key yet; retry: a transient failure. */
  private async answer(p: PendingRequest): Promise<Outcome> {
    const id = BigInt(p.id)
    const a = await this.registry.asset(id)
    if (!a || !this.opts.keys.has(a.owner.toLowerCase())) return 'done' // not ours (or unknown): another node answers
    if (a.access !== 'closed') return 'done'
    const tag = { asset: p.id, jobId: p.jobId, grantee: p.grantee, owner: a.owner }
    const g = await this.registry.jobGrantOf(id, p.jobId, p.grantee)
    if (g.grantee.toLowerCase() !== p.grantee.toLowerCase()) {
      this.log.debug(tag, 'job grant request no longer on record')
      return 'done'
    }
    if (g.fulfilled) return 'done'
    if (p.rotated && (await this.market.job(p.jobId))?.status !== 'running') return 'done' // the job ended meanwhile
    if (this.opts.grantVerifiers === false && !(await this.workedOn(p.jobId, p.grantee))) {
      this.log.info(tag, "a verifier's job grant request left unanswered (--assets.no-verifier-grants)")
      return 'done'
    }
    const pub = await this.registry.publicKeyOf(p.grantee)
    if (pub === '0x') {
      const k = `${p.id}:${p.jobId}:${p.grantee}`
      if (!this.waitingLogged.has(k)) {
        this.waitingLogged.add(k)
        this.log.info(tag, 'job grant requested, waiting for the grantee to publish its public key (setPublicKey)')
      }
      return 'wait'
    }
    const key = await this.contentKey(id, a.owner)
    const sealed = key && this.sealTo(key, pub, p.grantee)
    if (!sealed) {
      this.actions.inc({ outcome: 'unanswerable' })
      return 'done'
    }
    const r = await this.chain(a.owner).send(ASSET_REGISTRY_ADDRESS, encodeRegistryCall('fulfilJobGrant', [id, p.jobId, p.grantee, sealed]))
    this.actions.inc({ outcome: 'fulfilled' })
    // Remembered for a key rotation while the job runs (forgotten at the next rotation once the job is final).
    const answered = (this.scanner.state.answered ??= [])
    if (!answered.some((x) => x.id === p.id && x.jobId === p.jobId && x.grantee === p.grantee)) answered.push({ id: p.id, jobId: p.jobId, grantee: p.grantee })
    if (answered.length > MAX_ANSWERED) answered.splice(0, answered.length - MAX_ANSWERED)
    this.log.info({ ...tag, tx: r.hash, block: r.blockNumber.toString() }, 'job grant fulfilled: content key sealed to the grantee for this job only')
    return 'done'
  }
}
