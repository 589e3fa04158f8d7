import { randomBytes, randomInt } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { encodePacked, keccak256, type Address, type Hex } from 'viem'
import type { Logger } from '../../common/logger.js'
import type { Metrics } from '../../common/metrics.js'
import type { BlobStore } from '../../compute/worker/BlobStore.js'
import type { AssignedJob, ComputeWorker, JobOutcome, JobSource } from '../../compute/worker/ComputeWorker.js'
import type { SessionStore } from '../../compute/worker/SessionStore.js'
import { decodeJson, type JobSpec } from '../../compute/spec/JobSpec.js'
import { samplesDue } from '../../compute/verify/SamplingPolicy.js'
import { ASSET_REGISTRY_ADDRESS } from '../../genesis/AssetRegistryGenesis.js'
import { AssetRegistryReader, encodeRegistryCall } from '../assets/AssetRegistryReader.js'
import type { MarketChain } from '../client/MarketChain.js'
import { verificationCost } from '../client/JobEstimate.js'
import { encodeMarketCall, type MarketJob, type MarketSession, type WorkMarketReader } from '../client/WorkMarketReader.js'
import { metricKey } from '../client/JobVerification.js'
import { bytesToHex } from '../../common/bytes.js'
import { toleranceReveal } from './ToleranceMetric.js'
import { PollLoop } from '../PollLoop.js'
import { applyCheat, type WorkerCheat } from './Cheats.js'
import { NO_SEGMENT_NAMED, type SessionVerifier, type SessionVerdict } from './SessionVerifier.js'
import { VoteBook } from './VoteBook.js'
import { ReplicaBook } from './ReplicaBook.js'

export interface MarketWorkerOptions {
  address: Address
  /** Bond sent with the registration. */
  bond: bigint
  /** Compute units per second (compute bench). */
  capacity: bigint
  slots: number
  /** Where this node serves blobs (its RPC URL until the network layer carries them). */
  endpoint: string
  /** Force built-in workloads onto this runtime (docker: the node's built image). */
  runtime: 'embedded' | 'docker'
  /** WorkMarket OFFERS bits it declares (setOffers): what it runs besides the embedded runtime. */
  offers?: number
  /**
   * Its GPUs as the draw compares them (setGpus): how many, and the memory of the smallest (MiB).
   * Undefined: none announced (GPU jobs asking for a count are not drawn for it).
   */
  gpus?: { count: number; memoryMb: number }
  /** The least it works for, wei per compute unit (setUnitPrice); undefined: leave the chain's. */
  minUnitPrice?: bigint
  /** Directory for this identity's state (vote salts). */
  stateDir: string
  pollMs?: number
  /** Tests only: a verifier that votes accept without checking. */
  lazyVerifier?: boolean
  /** Tests only: a dishonest worker. */
  cheat?: WorkerCheat
  /**
   * An identity of the control issuer (--worker.trap-rate): with this probability a session of a
   * client job it is drawn for becomes a hidden trap — a forged segment, the commitment sealed
   * with trapSeal(sessionId, salt), opened with the issuer's key once the votes are committed.
   */
  trapRate?: number
  /**
   * This identity's public key (64 bytes x ‖ y, hex) to publish in the AssetRegistry
   * (`setPublicKey`) at registration unless it is there already, so asset owners can seal job
   * grants to it. Undefined when the node does not hold the private key.
   */
  publicKey?: Hex
}

/** Thrown while a closed input's grant has not arrived: retried, never held against anyone. */
const GRANT_PENDING = 'ASSET_GRANT_PENDING'
const isGrantPending = (e: unknown) => (e as { code?: string }).code === GRANT_PENDING

const nowSec = () => BigInt(Math.floor(Date.now() / 1000))
const ZERO32 = `0x${'00'.repeat(32)}` as Hex

/**
 * One worker identity of the node in the work market: registers with its bond, runs the
 * sessions the contract assigns it (as compute's JobSource), commits them, verifies the
 * sessions it is drawn for with commit-reveal votes, finalises what is due, and asks for a
 * draw of open jobs nobody took when it has a free slot. The market draws workers and
 * verifiers itself (WorkMarket.onBlock, a few blocks after the act), so nothing here chooses or
 * sees a draw before it is made. All of it is re-derived from the chain (dutiesOf) on every
 * tick, so a restart resumes: an assigned session is run again (deterministic work gives the
 * same commitment), votes are revealed from the saved salts.
 *
 * Every transaction is first run as a call on the pending block; one that would revert is not
 * sent. The refusal is logged once (at info, with the contract's reason) and the same
 * transaction is not tried again for a while (2 s, doubling to a minute), so a worker that
 * cannot take an open job sends nothing rather than a reverted transaction per tick.
 */
export class MarketWorker implements JobSource {
  readonly address: Address
  private readonly log: Logger
  private readonly votes: VoteBook
  private readonly traps: TrapBook
  private readonly replicaBook: ReplicaBook
  private imagesCheckedAt = 0
  /** Replica sessions whose run failed: run again after this time (they cannot be abandoned). */
  private readonly retryAt = new Map<Hex, number>()
  private readonly queue: Hex[] = []
  private readonly inFlight = new Set<Hex>()
  private readonly verdicts = new Map<string, SessionVerdict>()
  private readonly verifyFailures = new Map<Hex, number>()
  private readonly grantWaitLogged = new Set<Hex>()
  /** Replica jobs this worker released a session of: settled by it too while they run (see releaseReplica). */
  private readonly releasedJobs = new Set<Hex>()
  private readonly loop: PollLoop
  /** Transactions a pending-block call refused: not tried again before `until`. */
  private readonly refused = new Map<string, { until: number; backoffMs: number; reason: string }>()
  private registered = false
  /** When the registration was last read (a displaced worker must notice within seconds). */
  private registrationCheckedAt = 0
  /** A full registry refused us: register is not tried again before this time. */
  private registerRetryAt = 0
  /** The eviction (its time) already reported in the log. */
  private evictionLogged = 0n
  private readonly counters

  constructor(
    private readonly opts: MarketWorkerOptions,
    private readonly d: {
      chain: MarketChain
      market: WorkMarketReader
      blobs: BlobStore
      sessions: SessionStore
      compute: ComputeWorker
      verifier: SessionVerifier
      /** Marks work-market blobs this identity produced, so no asset claim gates them (market/assets/BlobAccessPolicy.ts). */
      protectBlobs?: (hashes: string[]) => void
      /** The control issuer's account, which opens this identity's hidden traps (with trapRate). */
      issuerChain?: MarketChain
      /**
       * The sha256 digests (0x-hex) of the container images this worker's engine holds, announced
       * with setImages so that only jobs it can run are drawn for it (re-read every minute).
       */
      images?: () => Promise<Hex[]>
      /**
       * Makes a container job's image present before the run (pulled on assignment from the
       * spec's registry or --worker.pull-from, progress and time logged); throws when it cannot.
       */
      prepareImage?: (ref: string) => Promise<void>
      logger: Logger
      metrics: Metrics
    },
  ) {
    this.address = opts.address
    this.log = d.logger.child({ component: 'market-worker', worker: opts.address })
    this.votes = new VoteBook(join(opts.stateDir, 'votes.json'))
    this.loop = new PollLoop({ tick: () => this.tick(), intervalMs: opts.pollMs ?? 250, logger: this.log, failMessage: 'market tick failed' })
    this.traps = new TrapBook(join(opts.stateDir, 'traps.json'))
    this.replicaBook = new ReplicaBook(join(opts.stateDir, 'replicas.json'))
    this.counters = d.metrics.counter('povchain_market_actions_total', 'Transactions the node sent to the work market', ['action'])
  }

  async start(): Promise<void> {
    await this.ensureRegistered()
    this.d.compute.start(this)
    this.loop.start()
  }

  async stop(): Promise<void> {
    await this.loop.stop()
    await this.d.compute.stop()
  }

  /** Checks with a call on the pending block (throws the revert), then sends and waits. */
  private async send(action: string, data: Hex, value?: bigint) {
    await this.d.chain.check(this.d.market.address, data, value === undefined ? {} : { value })
    this.counters.inc({ action })
    return this.d.chain.send(this.d.market.address, data, value === undefined ? {} : { value })
  }

  /**
   * Sends unless a call on the pending block says it would revert (another node did it first,
   * nobody can be drawn, …): then nothing is sent, the reason is logged once, and the same
   * transaction waits out a back-off (2 s, doubling to 60 s) before it is checked again.
   */
  private async trySend(action: string, data: Hex): Promise<boolean> {
    const key = `${action}:${data}`
    const prev = this.refused.get(key)
    if (prev && Date.now() < prev.until) return false
    try {
      await this.d.chain.check(this.d.market.address, data)
    } catch (e) {
      const reason = (e as Error).message
      const backoffMs = Math.min(60_000, (prev?.backoffMs ?? 1_000) * 2)
      if (prev?.reason !== reason) this.log.info({ action, reason, retryInMs: backoffMs }, 'not sending a market transaction that would revert')
      this.refused.set(key, { until: Date.now() + backoffMs, backoffMs, reason })
      if (this.refused.size > 1024) this.refused.delete(this.refused.keys().next().value!)
      return false
    }
    this.refused.delete(key)
    try {
      await this.send(action, data)
      return true
    } catch (e) {
      this.log.debug({ action, err: (e as Error).message }, 'market transaction refused')
      return false
    }
  }

  /**
   * Registers (or updates the declared capacity, slots and endpoint) unless the chain already
   * says so. A full registry admits us only by displacing its weakest idle worker (bond × rating
   * + 10 %): when our bond does not, the refusal is logged with the bond that would, and it is
   * tried again every minute. A worker that was displaced logs by whom and why, once.
   */
  async ensureRegistered(): Promise<void> {
    this.registrationCheckedAt = Date.now()
    const w = await this.d.market.worker(this.address)
    if (!w.registered) {
      if (this.registered || w.registeredAt > 0n) await this.reportEviction()
      this.registered = false
      if (Date.now() < this.registerRetryAt) return
      try {
        await this.send('register', encodeMarketCall('register', [this.opts.capacity, this.opts.slots, this.opts.endpoint]), this.opts.bond)
      } catch (e) {
        if (!/RegistryFull/.test((e as Error).message)) throw e
        this.registerRetryAt = Date.now() + 60_000
        this.log.warn({ bond: this.opts.bond.toString(), err: (e as Error).message }, 'not registered as a worker: the registry is full and this bond does not displace anyone (tried again every minute)')
        return
      }
      this.log.info({ bond: this.opts.bond.toString(), capacity: this.opts.capacity.toString(), slots: this.opts.slots, endpoint: this.opts.endpoint }, 'registered as a worker (one session at a time until timely accepted work earns more slots)')
    } else if (w.endpoint !== this.opts.endpoint || w.capacity !== this.opts.capacity || w.slots !== this.opts.slots) {
      await this.send('update', encodeMarketCall('updateWorker', [this.opts.capacity, this.opts.slots, this.opts.endpoint]))
    }
    // What it can run besides the embedded runtime: it is drawn only for jobs that need no more.
    const offers = this.opts.offers ?? 0
    if (Number(w.registered ? w.offers : 0) !== offers) {
      await this.send('set-offers', encodeMarketCall('setOffers', [offers]))
      this.log.info({ offers }, 'declared what this worker runs besides the embedded runtime')
    }
    if (this.opts.minUnitPrice !== undefined && (w.registered ? (w.minUnitPrice ?? 0n) : 0n) !== this.opts.minUnitPrice) {
      await this.send('set-unit-price', encodeMarketCall('setUnitPrice', [this.opts.minUnitPrice]))
      this.log.info({ minUnitPrice: this.opts.minUnitPrice.toString() }, 'declared the least this worker works for (wei per compute unit)')
    }
    const gpus = this.opts.gpus
    if (gpus) {
      const have = await this.d.market.gpusOf(this.address)
      if (have.count !== gpus.count || have.memoryMb !== gpus.memoryMb) {
        await this.send('set-gpus', encodeMarketCall('setGpus', [gpus.count, gpus.memoryMb]))
        this.log.info(gpus, 'announced this worker\'s GPUs (count, memory of the smallest): GPU jobs needing more are not drawn for it')
      }
    }
    this.registered = true
    await this.announceImages()
    await this.ensurePublicKey()
  }

  /** Logs (once per eviction) that a newcomer displaced this worker from the full registry, and what re-entry takes. */
  private async reportEviction(): Promise<void> {
    const e = await this.d.market.evictionOf(this.address)
    if (e.at === 0n || e.at === this.evictionLogged) return
    this.evictionLogged = e.at
    const need = await this.d.market.bondToEnter(this.address)
    this.log.warn(
      { by: e.by, at: e.at.toString(), bondCredited: e.bond.toString(), ourStanding: e.standing.toString(), theirStanding: e.newcomerStanding.toString(), bondToEnter: need.toString() },
      'displaced from the full worker registry: a newcomer bonded more (bond × rating over ours by 10 %); our whole bond was credited and is withdrawn; registering again needs bondToEnter',
    )
  }

  /** Declares the images this engine holds (setImages) when they differ from what the chain says; at most once a minute. */
  private async announceImages(): Promise<void> {
    if (!this.d.images || Date.now() - this.imagesCheckedAt < 60_000) return
    this.imagesCheckedAt = Date.now()
    try {
      const have = [...new Set((await this.d.images()).map((x) => x.toLowerCase() as Hex))].slice(0, 32)
      const onChain = (await this.d.market.imagesOf(this.address)).map((x) => x.toLowerCase())
      if (have.length === onChain.length && have.every((x) => onChain.includes(x))) return
      await this.send('set-images', encodeMarketCall('setImages', [have]))
      this.log.info({ images: have }, 'announced the container images this worker holds (jobs pinning others are not drawn for it)')
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'could not announce the container images')
    }
  }

  /** Publishes the identity's public key in the AssetRegistry unless it is there (a chain without the registry: nothing to do). */
  private async ensurePublicKey(): Promise<void> {
    const pub = this.opts.publicKey
    if (!pub) return
    try {
      const have = await new AssetRegistryReader(this.d.chain).publicKeyOf(this.address).catch((e: { code?: string }) => {
        if (e.code === 'ASSET_NO_REGISTRY') return undefined
        throw e
      })
      if (have === undefined || have.toLowerCase() === pub.toLowerCase()) return
      this.counters.inc({ action: 'set-public-key' })
      await this.d.chain.send(ASSET_REGISTRY_ADDRESS, encodeRegistryCall('setPublicKey', [pub]))
      this.log.info({ publicKey: pub }, 'published the public key in the asset registry (owners seal job grants to it)')
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'could not publish the public key in the asset registry; owners cannot seal job grants to this worker')
    }
  }

  // ------------------------------------------------------------------ JobSource (compute)

  async next(): Promise<AssignedJob | null> {
    const sid = this.queue.shift()
    if (!sid) return null
    try {
      const s = await this.d.market.session(sid)
      const job = s && (await this.d.market.job(s.jobId))
      if (!s || !job || s.status !== 'assigned') {
        this.inFlight.delete(sid)
        return null
      }
      const { spec, inputs } = await this.d.verifier.jobInputs(job, this.address)
      // Nobody could verify it: the market's re-execution replays built-in workloads, not an image.
      if (job.mode === 'reexecution' && spec.runtime.type === 'docker') throw new Error('a container job posted for re-execution cannot be verified (post it in redundant or tolerance mode)')
      // More segments than the market judges: commitResult would revert (TooManySegments) after the whole run; give it up now.
      if (job.mode === 'reexecution') verificationCost(spec, inputs)
      if (job.mode !== 'reexecution') {
        const why = await this.cannotRun(job, spec)
        if (why) {
          await this.releaseReplica(sid, why)
          this.inFlight.delete(sid)
          return null
        }
      }
      this.log.info({ sessionId: sid, jobId: s.jobId, spec: job.specHash, mode: job.mode, runtime: spec.runtime.type === 'docker' ? 'docker' : this.opts.runtime === 'docker' ? 'docker' : 'embedded' }, 'running assigned session')
      return { jobId: sid, spec, inputs, ...(this.opts.runtime === 'docker' ? { runtime: 'docker' as const } : {}) }
    } catch (e) {
      if (isGrantPending(e)) {
        // Put back by the next tick while the commit time allows; the owner's node answers within blocks.
        if (!this.grantWaitLogged.has(sid)) this.log.info({ sessionId: sid, err: (e as Error).message }, 'waiting for the job grant of a closed input')
        this.grantWaitLogged.add(sid)
        this.inFlight.delete(sid)
        return null
      }
      this.log.warn({ sessionId: sid, err: (e as Error).message }, 'cannot start the session; giving it up')
      await this.trySend('abandon', encodeMarketCall('abandon', [sid]))
      this.inFlight.delete(sid)
      return null
    }
  }

  /**
   * Why this worker cannot deliver a replica session it was drawn for, checked before it runs:
   * the tolerance metric the contract will read is not the spec's, or the image cannot be fetched
   * (pulled here, on assignment, so that the run does not start without it). Undefined: it can.
   */
  private async cannotRun(job: MarketJob, spec: JobSpec): Promise<string | undefined> {
    if (spec.verification.mode === 'tolerance') {
      const onChain = (await this.d.market.read<Hex>('replicaMetricKey', [job.jobId])).toLowerCase()
      let want: string
      try {
        want = metricKey(spec.verification.metric).toLowerCase()
      } catch (e) {
        return (e as Error).message
      }
      if (onChain !== want) return `the job's on-chain metric key ${onChain} is not the spec's metric ${spec.verification.metric}: no replica could reveal it`
    }
    if (spec.runtime.type === 'docker' && this.d.prepareImage) {
      try {
        await this.d.prepareImage(spec.runtime.image)
      } catch (e) {
        return `image ${spec.runtime.image} could not be fetched: ${(e as Error).message}`
      }
    }
    return undefined
  }

  async report(outcome: JobOutcome): Promise<void> {
    const sid = outcome.jobId as Hex
    try {
      if (outcome.status === 'failed') {
        // Stopped mid-run (shutdown): leave the session assigned; the restarted node runs it again.
        if (this.loop.stopped || outcome.code === 'COMPUTE_CANCELLED') return
        const s = await this.d.market.session(sid)
        const job = s && (await this.d.market.job(s.jobId))
        if (job && job.mode !== 'reexecution') {
          // A replica cannot be abandoned (its round would wait for it): try again while the commit time allows.
          this.log.warn({ sessionId: sid, code: outcome.code, reason: outcome.reason }, 'replica run failed; running it again in 5 s while its commit time allows')
          this.retryAt.set(sid, Date.now() + 5_000)
          return
        }
        this.log.warn({ sessionId: sid, code: outcome.code, reason: outcome.reason }, 'session failed; giving it up')
        await this.trySend('abandon', encodeMarketCall('abandon', [sid]))
        return
      }
      let result = outcome.result
      // Random: what a hidden trap's seal looks like to everyone but its worker (WorkMarket.openTrap).
      let seal = `0x${randomBytes(32).toString('hex')}` as Hex
      const s = (await this.d.market.session(sid))!
      const job = (await this.d.market.job(s.jobId))!
      const replica = job.mode !== 'reexecution'
      // Hidden traps test verifiers; a replica job has none (its replicas check each other).
      const trap = !replica && this.opts.trapRate !== undefined && this.d.issuerChain !== undefined && randomInt(1_000_000) < this.opts.trapRate * 1_000_000
      if (this.opts.cheat || trap) {
        const { spec, inputs } = await this.d.verifier.jobInputs(job, this.address)
        if (trap && !job.control) {
          result = applyCheat('fake-segment', spec, inputs, result)
          const salt = `0x${randomBytes(32).toString('hex')}` as Hex
          this.traps.put(sid, salt) // before the commitment: a restart must still be able to open it
          seal = trapSeal(sid, salt)
          this.log.info({ sessionId: sid }, 'committing a hidden trap (a forged segment, sealed for the issuer)')
        } else if (this.opts.cheat) {
          result = applyCheat(this.opts.cheat, spec, inputs, result)
          this.log.warn({ sessionId: sid, cheat: this.opts.cheat }, 'committing a dishonest session (test)')
        }
        await this.d.sessions.save(spec, result)
      }
      const c = result.commitment
      const manifest = (await this.d.blobs.getRef(`session-${c.commitment.slice(2)}`))?.trim() as Hex | undefined
      if (!manifest) throw new Error(`no session record for commitment ${c.commitment}`)
      // Before the commitment makes their hashes public: no asset claim may gate the blobs verifiers need.
      if (this.d.protectBlobs) {
        const rec = decodeJson(await this.d.blobs.get(manifest), 'session record') as { checkpointBlobs?: string[]; result?: string }
        this.d.protectBlobs([manifest, ...(rec.checkpointBlobs ?? []), ...(rec.result ? [rec.result] : [])])
      }
      const commitment = {
        checkpointInterval: BigInt(c.checkpointInterval),
        totalSteps: BigInt(c.totalSteps),
        checkpointCount: BigInt(c.checkpointCount),
        checkpointRoot: c.checkpointRoot,
        resultHash: c.resultHash,
        metricsHash: c.metricsHash,
        manifest,
        seal,
        commitment: c.commitment,
      }
      if (replica) {
        await this.sealReplica(sid, job, commitment, result.metrics as unknown as Record<string, unknown>)
        return
      }
      await this.send('commit', encodeMarketCall('commitResult', [sid, commitment]))
      this.log.info({ sessionId: sid, commitment: c.commitment, resultHash: c.resultHash }, 'session committed')
    } catch (e) {
      this.log.warn({ sessionId: sid, err: (e as Error).message }, 'committing the session failed')
    } finally {
      this.inFlight.delete(sid)
    }
  }

  // ------------------------------------------------------------------ replica jobs (redundant, tolerance)

  /**
   * Seals a replica result: keccak of (session, commitment, metric, salt) goes on chain now; the
   * fields, the metric and the salt are saved first and shown once every replica of the round
   * has sealed (revealReplica), so no replica can copy another's result.
   */
  private async sealReplica(sid: Hex, job: MarketJob, commitment: MarketSession['result'], metrics: Record<string, unknown>): Promise<void> {
    let metric = 0n
    let shown: Hex | undefined
    if (job.mode === 'tolerance') {
      const name = parseSpecMetricName(await this.d.verifier.jobInputs(job, this.address).then((x) => x.spec.verification))
      let reveal
      try {
        // The metric as the contract will read it from these very bytes (their keccak is the committed metricsHash).
        reveal = toleranceReveal(metrics as never, name)
      } catch (e) {
        // A sealed metric it could not reveal would cost slashBps: say so now instead.
        await this.releaseReplica(sid, `the result cannot be revealed: ${(e as Error).message}`)
        return
      }
      metric = reveal.nano
      shown = bytesToHex(reveal.metrics) as Hex
    }
    const salt = `0x${randomBytes(32).toString('hex')}` as Hex
    this.replicaBook.put(sid, { commitment, metric: metric.toString(), ...(shown ? { metrics: shown } : {}), salt })
    const hash = await this.d.market.replicaSealHash(sid, commitment.commitment, metric, salt)
    await this.send('seal-replica', encodeMarketCall('commitReplica', [sid, hash]))
    this.log.info({ sessionId: sid, jobId: job.jobId, mode: job.mode, commitment: commitment.commitment, resultHash: commitment.resultHash, metric: metric.toString() }, 'replica result sealed')
  }

  /**
   * Gives a replica session back before its commit time (WorkMarket.releaseReplica: what an
   * abandon costs — rating, and faultPenalty × the share of the commit window held, so the sooner
   * the cheaper) when this worker cannot deliver it — its image could not be fetched, the job's
   * metric cannot be revealed. Silence would cost the whole faultPenalty instead.
   */
  private async releaseReplica(sid: Hex, why: string): Promise<void> {
    this.log.warn({ sessionId: sid, why }, 'releasing the replica session before its commit time (costs a share of faultPenalty by the time held; silence would cost all of it)')
    if (await this.trySend('release-replica', encodeMarketCall('releaseReplica', [sid]))) {
      this.log.info({ sessionId: sid }, 'replica session released')
      // Settled by whoever holds the job's other replicas; when all of them released, nobody does: we do.
      const s = await this.d.market.session(sid)
      if (s) this.releasedJobs.add(s.jobId)
    }
  }

  /** A sealed replica: reveal once the round's seals are in; a revealed one: settle once the round is over. */
  private async replicaDuty(s: MarketSession): Promise<void> {
    const r = await this.d.market.replicas(s.jobId)
    const now = nowSec()
    if (s.status === 'sealed' && r.sessions.slice(r.roundStart).includes(s.sessionId) && (r.sealedAt !== 0n || now > r.commitBy) && now <= r.revealBy) {
      const rec = this.replicaBook.get(s.sessionId)
      if (!rec) {
        this.log.error({ sessionId: s.sessionId }, 'a sealed replica result without its record: it cannot be revealed')
        return
      }
      const c = rec.commitment
      const commitment = { ...c, checkpointInterval: BigInt(c.checkpointInterval), totalSteps: BigInt(c.totalSteps), checkpointCount: BigInt(c.checkpointCount) }
      if (await this.trySend('reveal-replica', encodeMarketCall('revealReplica', [s.sessionId, commitment, BigInt(rec.metric), rec.metrics ?? '0x', rec.salt])))
        this.log.info({ sessionId: s.sessionId, jobId: s.jobId }, 'replica result revealed')
      return
    }
    await this.settleIfOver(s.jobId)
  }

  /** Settles a replica job whose round is over: every replica revealed or released, or the reveal time passed. */
  private async settleIfOver(jobId: Hex): Promise<void> {
    const r = await this.d.market.replicas(jobId)
    if (r.drawBlock !== 0n) return
    let over = nowSec() > r.revealBy
    if (!over) {
      over = true
      for (const sid of r.sessions.slice(r.roundStart)) if (!['revealed', 'expired'].includes((await this.d.market.session(sid))?.status ?? '')) over = false
    }
    if (over && (await this.trySend('settle-replicas', encodeMarketCall('settleReplicas', [jobId])))) {
      const j = await this.d.market.job(jobId)
      this.log.info({ jobId, status: j?.status }, j?.status === 'running' ? 'replicas disagreed: more are drawn' : 'replica job settled')
    }
  }

  // ------------------------------------------------------------------ the tick

  private async tick(): Promise<void> {
    // Re-read every few seconds: a newcomer may have displaced us from a full registry.
    if (!this.registered || Date.now() - this.registrationCheckedAt > 5_000) await this.ensureRegistered()
    const { working, verifying } = await this.d.market.duties(this.address)
    for (const sid of working) {
      const s = await this.d.market.session(sid)
      if (!s) continue
      if (s.status === 'assigned') {
        if (!this.inFlight.has(sid) && nowSec() < s.commitBy && (this.retryAt.get(sid) ?? 0) <= Date.now()) {
          this.retryAt.delete(sid)
          this.inFlight.add(sid)
          this.queue.push(sid)
        }
      } else if (s.status === 'sealed' || s.status === 'revealed') {
        await this.replicaDuty(s)
      } else if (s.status === 'committed') {
        // The market draws the verifiers itself; only when its draw found nobody eligible (and
        // none is scheduled) ask for another — checked first, so nothing is sent while nobody could be drawn.
        if (s.verifiers.length === 0) {
          if (s.drawBlock === 0n) await this.trySend('open-verification', encodeMarketCall('openVerification', [sid]))
        } else {
          await this.maybeOpenTrap(s)
          await this.maybeFinalize(s)
        }
      }
    }
    for (const sid of verifying) await this.verifyDuty(sid)
    for (const jobId of this.releasedJobs) {
      if ((await this.d.market.job(jobId))?.status !== 'running') this.releasedJobs.delete(jobId)
      else await this.settleIfOver(jobId)
    }
    if (this.registered) {
      await this.takeOpenJob(working.length)
      await this.announceImages()
    }
    if ((await this.d.market.read<bigint>('credits', [this.address])) > 0n) await this.trySend('withdraw', encodeMarketCall('withdraw'))
  }

  /** Open jobs whose draw found nobody free: ask for another draw (the market picks who works, maybe not us). */
  private async takeOpenJob(working: number): Promise<void> {
    // The slots the market grants (earned by timely accepted work), not the declared ones.
    if (working >= Number(await this.d.market.read<bigint>('slotsOf', [this.address]))) return
    const open = await this.d.market.openJobs()
    for (const jobId of open.slice(0, 3)) {
      const j = await this.d.market.job(jobId)
      if (!j || j.client === this.address || j.drawBlock !== 0n) continue
      if (await this.trySend('assign', encodeMarketCall('assign', [jobId]))) return
    }
  }

  private async allVotes(s: MarketSession): Promise<{ committed: boolean; revealed: boolean }> {
    let committed = true
    let revealed = true
    for (const v of s.verifiers) {
      const vote = await this.d.market.vote(s.sessionId, v)
      if (vote.hash === ZERO32) committed = false
      if (vote.verdict === 'none') revealed = false
    }
    return { committed, revealed }
  }

  /** Our hidden trap, once every vote is committed (or the vote window closed): the issuer opens it. */
  private async maybeOpenTrap(s: MarketSession): Promise<void> {
    const salt = this.traps.get(s.sessionId)
    const issuer = this.d.issuerChain
    if (!salt || !issuer || s.trap) return
    if (!(nowSec() > s.votesBy || (await this.allVotes(s)).committed)) return
    const data = encodeMarketCall('openTrap', [s.sessionId, salt])
    try {
      await issuer.check(this.d.market.address, data)
      this.counters.inc({ action: 'open-trap' })
      await issuer.send(this.d.market.address, data)
      this.traps.delete(s.sessionId)
      this.log.info({ sessionId: s.sessionId }, 'hidden trap opened')
    } catch (e) {
      this.log.debug({ sessionId: s.sessionId, err: (e as Error).message }, 'openTrap refused')
    }
  }

  private async maybeFinalize(s: MarketSession): Promise<void> {
    if (nowSec() > s.revealBy || (await this.allVotes(s)).revealed) await this.trySend('finalize', encodeMarketCall('finalize', [s.sessionId]))
  }

  private async verifyDuty(sid: Hex): Promise<void> {
    const s = await this.d.market.session(sid)
    if (!s || s.status !== 'committed' || !s.verifiers.includes(this.address)) return
    const mine = await this.d.market.vote(sid, this.address)
    if (mine.hash === ZERO32) {
      if (nowSec() > s.votesBy) return
      const key = `${sid}:${s.round}`
      let verdict = this.verdicts.get(key)
      if (!verdict) {
        const job = (await this.d.market.job(s.jobId))!
        try {
          verdict = this.opts.lazyVerifier ? lazyAccept(s) : await this.d.verifier.verify(s, job, this.address)
        } catch (e) {
          if (isGrantPending(e)) {
            // No grant of a closed input (yet): not the worker's fault — wait; no vote rather than a wrong one.
            if (!this.grantWaitLogged.has(sid)) this.log.info({ sessionId: sid, err: (e as Error).message }, 'verification waits for a grant of a closed input')
            this.grantWaitLogged.add(sid)
            return
          }
          // The worker's blobs may not be reachable yet: retry a few ticks, then count it against the worker.
          const n = (this.verifyFailures.get(sid) ?? 0) + 1
          this.verifyFailures.set(sid, n)
          this.log.warn({ sessionId: sid, attempt: n, err: (e as Error).message }, 'verification could not run')
          if (n < 20) return
          verdict = { accept: false, reason: `checkpoints unavailable: ${(e as Error).message}` }
        }
        this.verdicts.set(key, verdict)
      }
      const salt = `0x${randomBytes(32).toString('hex')}` as Hex
      const finding = verdict.finding
      this.votes.put(sid, { round: s.round, accept: verdict.accept, salt, reason: verdict.reason, ...(finding ? { finding } : {}) })
      // Every forged segment found is named (findingsHash), so a colluding accepter whose sample held any is not excused.
      const hash = finding?.segments
        ? await this.d.market.findingsHash(sid, s.round, this.address, verdict.accept, finding.segments, finding.samples, salt)
        : finding
        ? await this.d.market.findingHash(sid, s.round, this.address, verdict.accept, finding.segment, finding.samples, salt)
        : await this.d.market.voteHash(sid, s.round, this.address, verdict.accept, salt)
      if (await this.trySend('commit-vote', encodeMarketCall('commitVote', [sid, hash])))
        this.log.info({ sessionId: sid, accept: verdict.accept, reason: verdict.reason }, 'vote committed')
      return
    }
    if (mine.verdict === 'none') {
      const rec = this.votes.get(sid, s.round)
      if (!rec) {
        this.log.error({ sessionId: sid }, 'a committed vote without its salt: it cannot be revealed')
        return
      }
      const now = nowSec()
      if (now > s.revealBy) return
      if (now > s.votesBy || (await this.allVotes(s)).committed) {
        const call = rec.finding?.segments
          ? encodeMarketCall('revealFindings', [sid, rec.accept, rec.finding.segments, rec.finding.samples, rec.salt])
          : rec.finding
          ? encodeMarketCall('revealFinding', [sid, rec.accept, rec.finding.segment, rec.finding.samples, rec.salt])
          : encodeMarketCall('revealVote', [sid, rec.accept, rec.salt])
        if (await this.trySend('reveal-vote', call)) this.log.info({ sessionId: sid, accept: rec.accept, ...(rec.finding ?? {}) }, 'vote revealed')
      }
      return
    }
    await this.maybeFinalize(s)
  }
}

/**
 * A lazy verifier's vote (a test behaviour): accept without re-executing. It declares the round's
 * samplesDue, the best a lazy verifier can do — WorkMarket refuses an accept without a declared
 * sample (AcceptNeedsSample) and counts an accept only for the sample it declares — and so it
 * answers for that sample when a panel proves a segment in it forged.
 */
function lazyAccept(s: MarketSession): SessionVerdict {
  const samples = samplesDue(Number(s.result.checkpointCount) - 1, s.verifiers.length)
  return { accept: true, reason: 'lazy: not checked (test)', finding: { segment: NO_SEGMENT_NAMED, samples, segments: [] } }
}

/** WorkMarket.trapSeal: keccak("povchain/trap/v1" ‖ 0x00 ‖ sessionId ‖ salt). */
export function trapSeal(sessionId: Hex, salt: Hex): Hex {
  return keccak256(encodePacked(['string', 'uint8', 'bytes32', 'bytes32'], ['povchain/trap/v1', 0, sessionId, salt]))
}

/** The salts of this identity's hidden traps not yet opened, on disk before the commitment (a restart can open them). */
class TrapBook {
  private readonly salts: Record<string, Hex>

  constructor(private readonly file: string) {
    this.salts = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, Hex>) : {}
  }

  get(sessionId: Hex): Hex | undefined {
    return this.salts[sessionId.toLowerCase()]
  }

  put(sessionId: Hex, salt: Hex): void {
    this.salts[sessionId.toLowerCase()] = salt
    this.save()
  }

  delete(sessionId: Hex): void {
    delete this.salts[sessionId.toLowerCase()]
    this.save()
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true })
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.salts))
    renameSync(`${this.file}.tmp`, this.file)
  }
}

/** The metric a tolerance policy compares. */
function parseSpecMetricName(v: { mode: string; metric?: string }): string {
  return v.mode === 'tolerance' && v.metric ? v.metric : 'testLoss'
}
