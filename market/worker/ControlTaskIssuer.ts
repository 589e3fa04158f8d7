import { randomBytes, randomInt } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Address, type Hex } from 'viem'
import type { Logger } from '../../common/logger.js'
import type { Metrics } from '../../common/metrics.js'
import { bundledDatasets } from '../../compute/data/BundledDatasets.js'
import { executeJob } from '../../compute/execution/JobExecution.js'
import { encodeJobSpec, jobSpecHash, type JobSpec } from '../../compute/spec/JobSpec.js'
import type { BlobStore } from '../../compute/worker/BlobStore.js'
import type { SessionStore } from '../../compute/worker/SessionStore.js'
import { computeUnits, workloadId } from '../client/JobEstimate.js'
import type { MarketChain } from '../client/MarketChain.js'
import { encodeMarketCall, type WorkMarketReader } from '../client/WorkMarketReader.js'
import { applyCheat } from './Cheats.js'

export interface ControlTaskIssuerOptions {
  /** The genesis controlIssuer (an account this node holds unlocked). */
  address: Address
  stateDir: string
  /** Post a control task once no client job has waited for this long (ms); 0: only on request. */
  idleMs: number
  /** What the protocol pays for one control task (wei). */
  price: bigint
  /** When the fund cannot pay a task, the issuer adds this much of its own (dev); 0: never. */
  fundTopUp: bigint
  /** Epochs of the control spec (Iris MLP): small, so that honest miners earn cheaply. */
  epochs: number
  /** Every n-th issued task is a trap (a planted wrong result for verifiers); 0: none. */
  trapEvery: number
  pollMs: number
}

interface Issued {
  kind: 'control' | 'trap'
  jobId: Hex
  sessionId?: Hex
  salt?: Hex
}

const ZERO32 = `0x${'00'.repeat(32)}` as Hex
const nowSec = () => BigInt(Math.floor(Date.now() / 1000))

/**
 * The protocol's side of honesty checks. Control tasks: a small job whose answer the issuer
 * computed first, posted with only a sealed answer and paid from the protocol fund while client
 * demand is low (so honest miners earn receipts from the first day); once the worker committed,
 * the issuer opens the seal and the answer decides. Traps: a session with a result the issuer
 * knows is wrong, planted for verifiers; those that accept it lose bond and rating.
 */
export class ControlTaskIssuer {
  private readonly opts: ControlTaskIssuerOptions
  private readonly log: Logger
  private issued: Issued[]
  private count = 0
  private lastPost = Date.now()
  private timer?: NodeJS.Timeout
  private ticking?: Promise<void>
  private stopped = false

  constructor(
    opts: Partial<ControlTaskIssuerOptions> & { address: Address; stateDir: string },
    private readonly d: { chain: MarketChain; market: WorkMarketReader; blobs: BlobStore; sessions: SessionStore; logger: Logger; metrics: Metrics },
  ) {
    this.opts = { idleMs: 60_000, price: 10n ** 16n, fundTopUp: 0n, epochs: 20, trapEvery: 0, pollMs: 500, ...opts }
    this.log = d.logger.child({ component: 'control-issuer' })
    try {
      this.issued = JSON.parse(readFileSync(this.file, 'utf8')) as Issued[]
    } catch {
      this.issued = []
    }
  }

  private get file() {
    return join(this.opts.stateDir, 'issued.json')
  }

  private save(): void {
    mkdirSync(this.opts.stateDir, { recursive: true })
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.issued))
    renameSync(`${this.file}.tmp`, this.file)
  }

  async start(): Promise<void> {
    const loop = () => {
      if (this.stopped) return
      this.ticking = this.tick()
        .catch((e: Error) => this.log.warn({ err: e.message }, 'issuer tick failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.opts.pollMs)
        })
    }
    loop()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.ticking
  }

  /** A fresh Iris spec (random seed) and its honest run: what only the issuer knows in advance. */
  private async freshTask(): Promise<{ spec: JobSpec; run: ReturnType<typeof executeJob>; inputs: { dataset: Uint8Array } }> {
    const iris = bundledDatasets().find((x) => x.name === 'iris')!
    await this.d.blobs.put(iris.bytes)
    const spec: JobSpec = {
      version: 1,
      kind: 'train',
      runtime: { type: 'embedded' },
      workload: { id: 'mlp-train', version: 1 },
      dataset: iris.hash,
      params: { layers: [8], activation: 'relu', epochs: this.opts.epochs, batchSize: 16, optimizer: { type: 'adam', learningRate: 0.01 }, testFraction: 0.2 },
      seed: randomInt(1, 2 ** 47),
      checkpointInterval: 16,
      verification: { mode: 'reexecution', samples: 2, verifiers: 1 },
      resources: { cpus: 1, memoryMb: 256, gpus: 0, timeoutSec: 300 },
    }
    await this.d.blobs.put(encodeJobSpec(spec))
    const inputs = { dataset: iris.bytes }
    return { spec, run: executeJob(spec, inputs), inputs }
  }

  private async ensureFund(amount: bigint): Promise<void> {
    const [, , fund] = await this.d.market.read<bigint[]>('accounting')
    if (fund! >= amount || this.opts.fundTopUp === 0n) return
    await this.d.chain.send(this.d.market.address, encodeMarketCall('fundProtocol'), { value: this.opts.fundTopUp > amount ? this.opts.fundTopUp : amount })
  }

  /** Posts one control task now; returns its job id. */
  async postControlTask(): Promise<Hex> {
    const { spec, run } = await this.freshTask()
    const salt = `0x${randomBytes(32).toString('hex')}` as Hex
    const sealed = await this.d.market.read<Hex>('sealAnswer', [run.resultHash, salt])
    await this.ensureFund(this.opts.price)
    const head = await this.d.chain.head()
    const now = head.timestamp > nowSec() ? head.timestamp : nowSec()
    const r = await this.d.chain.send(
      this.d.market.address,
      encodeMarketCall('postControlTask', [jobSpecHash(spec), workloadId(spec), now + 3600n, 600n, computeUnits(spec, { dataset: bundledDatasets()[0]!.bytes }), 1, this.opts.price, sealed]),
    )
    const jobId = r.logs[0]!.topics[1] as Hex
    this.issued.push({ kind: 'control', jobId, salt })
    this.save()
    this.lastPost = Date.now()
    this.count++
    this.log.info({ jobId, price: this.opts.price.toString() }, 'control task posted')
    return jobId
  }

  /** Plants a session whose result the issuer made wrong; returns its session id. */
  async plantTrap(verifiers = 1): Promise<Hex> {
    const { spec, run, inputs } = await this.freshTask()
    const forged = applyCheat('wrong-result', spec, inputs, run)
    await this.d.sessions.save(spec, forged)
    const c = forged.commitment
    const manifest = (await this.d.blobs.getRef(`session-${c.commitment.slice(2)}`))!.trim() as Hex
    await this.ensureFund(this.opts.price)
    const r = await this.d.chain.send(
      this.d.market.address,
      encodeMarketCall('plantTrap', [
        c.specHash,
        { checkpointInterval: BigInt(c.checkpointInterval), totalSteps: BigInt(c.totalSteps), checkpointCount: BigInt(c.checkpointCount), checkpointRoot: c.checkpointRoot, resultHash: c.resultHash, metricsHash: c.metricsHash, manifest, seal: `0x${randomBytes(32).toString('hex')}`, commitment: c.commitment },
        verifiers,
      ]),
    )
    const jobId = r.logs[0]!.topics[1] as Hex
    const sessionId = r.logs[0]!.topics[2] as Hex
    this.issued.push({ kind: 'trap', jobId, sessionId })
    this.save()
    this.count++
    this.log.info({ jobId, sessionId }, 'trap planted')
    return sessionId
  }

  /** Sends only what a call on the pending block accepts (a refusal throws, nothing is sent). */
  private async sendChecked(data: Hex) {
    await this.d.chain.check(this.d.market.address, data)
    return this.d.chain.send(this.d.market.address, data)
  }

  private async tick(): Promise<void> {
    const keep: Issued[] = []
    for (const it of this.issued) {
      const job = await this.d.market.job(it.jobId)
      if (!job || job.status === 'accepted' || job.status === 'refunded') continue
      keep.push(it)
      const s = await this.d.market.session(job.session)
      if (!s || s.status !== 'committed') continue
      if (it.kind === 'control' && job.controlSalt === ZERO32 && it.salt) {
        await this.sendChecked(encodeMarketCall('openControl', [it.jobId, it.salt])).catch((e: Error) => this.log.debug({ err: e.message }, 'openControl refused'))
      } else if (it.kind === 'trap') {
        // The market draws the trap's verifiers itself; ask again only when its draw found nobody.
        if (s.verifiers.length === 0) {
          if (s.drawBlock === 0n) await this.sendChecked(encodeMarketCall('openVerification', [s.sessionId])).catch(() => undefined)
        } else {
          let revealed = true
          for (const v of s.verifiers) if ((await this.d.market.vote(s.sessionId, v)).verdict === 'none') revealed = false
          if (revealed || nowSec() > s.revealBy) await this.sendChecked(encodeMarketCall('finalize', [s.sessionId])).catch(() => undefined)
        }
      }
    }
    if (keep.length !== this.issued.length) {
      this.issued = keep
      this.save()
    }
    if (this.opts.idleMs > 0 && keep.length === 0 && Date.now() - this.lastPost >= this.opts.idleMs && (await this.d.market.read<bigint>('openClientJobs')) === 0n) {
      if (this.opts.trapEvery > 0 && (this.count + 1) % this.opts.trapEvery === 0) await this.plantTrap()
      else await this.postControlTask()
    }
  }
}
