import { randomBytes, randomInt } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeAbiParameters, encodePacked, keccak256, type Address, type Hex } from 'viem'
import type { Logger } from '../../common/logger.js'
import type { Metrics } from '../../common/metrics.js'
import { executeJob } from '../../compute/execution/JobExecution.js'
import { encodeJobSpec, jobSpecHash, type JobSpec } from '../../compute/spec/JobSpec.js'
import type { BlobStore } from '../../compute/worker/BlobStore.js'
import { computeUnits, verifierCount, workloadId } from '../client/JobEstimate.js'
import type { MarketChain } from '../client/MarketChain.js'
import { encodeMarketCall, type WorkMarketReader } from '../client/WorkMarketReader.js'
import { randomControlSpec } from './ControlTaskSpecs.js'

export interface ControlTaskIssuerOptions {
  /** The genesis controlIssuer (an account this node holds unlocked): registers seals, bonds, opens traps. */
  address: Address
  /**
   * The issuer's client identities (unlocked accounts, funded like any client, never by the
   * issuer's account): each control task is posted by one of them, in turn, through postJob.
   */
  clients: Address[]
  stateDir: string
  /** Mean time between two control tasks (ms, drawn uniformly in [½, 1½] of it); 0: only on request. */
  intervalMs: number
  /** Tasks prepared (run, sealed) at once: their seals go out in one registerSeals, the posts spread over time. */
  batch: number
  /** Random dummy seals registered with each batch. */
  dummies: number
  /** When the fund cannot reimburse a task, the issuer adds this much of its own (dev); 0: never. */
  fundTopUp: bigint
  pollMs: number
}

/** A control task: prepared (sealed, not posted), posted (waiting for its votes), or opened. */
interface Issued {
  jobId: Hex
  client: Address
  spec: JobSpec
  answer: Hex
  salt: Hex
  /** Unix ms after which it may be posted. */
  postAt: number
  state: 'sealed' | 'posted' | 'opened'
}

const nowSec = () => BigInt(Math.floor(Date.now() / 1000))
const random32 = () => `0x${randomBytes(32).toString('hex')}` as Hex

/** WorkMarket.controlSeal: keccak("povchain/control-answer/v2" ‖ 0x00 ‖ jobId ‖ answer ‖ salt). */
export function controlSeal(jobId: Hex, answer: Hex, salt: Hex): Hex {
  return keccak256(encodePacked(['string', 'uint8', 'bytes32', 'bytes32', 'bytes32'], ['povchain/control-answer/v2', 0, jobId, answer, salt]))
}

/** WorkMarket._newJob's id: keccak(abi.encode(chainid, client, specHash, client's job nonce)). */
export function jobIdOf(chainId: bigint, client: Address, specHash: Hex, nonce: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: 'uint256' }, { type: 'address' }, { type: 'bytes32' }, { type: 'uint256' }], [chainId, client, specHash, nonce]))
}

/**
 * The protocol's control tasks, posted so that nothing tells them from a client's job until the
 * votes are in (genesis/contracts/WorkMarket.md, "Control tasks"). For a batch of tasks the
 * issuer draws varied specs (ControlTaskSpecs), runs each to know its answer, assigns each to
 * one of its client identities in turn and computes the job id that identity's next post will
 * get; it registers the seals controlSeal(jobId, answer, salt) in one transaction mixed with
 * dummies, then has each identity post its job with postJob at a random later time, exactly as
 * `povchain job submit` would (estimated price, deadline, maxDuration). Once the job's votes are
 * committed the identity opens the seal (openControl) and is reimbursed by the fund. The
 * issuer keeps at least the market's issuerMinBond bonded: a panel that refutes its answer
 * takes half of it.
 */
export class ControlTaskIssuer {
  private readonly opts: ControlTaskIssuerOptions
  private readonly log: Logger
  private issued: Issued[]
  private next = 0
  private nextBatchAt = Date.now()
  private timer?: NodeJS.Timeout
  private ticking?: Promise<void>
  private stopped = false

  constructor(
    opts: Partial<ControlTaskIssuerOptions> & { address: Address; clients: Address[]; stateDir: string },
    private readonly d: {
      chain: MarketChain
      /** The chain of one of the client identities (sends as it). */
      clientChain: (client: Address) => MarketChain
      market: WorkMarketReader
      blobs: BlobStore
      chainId: bigint
      logger: Logger
      metrics: Metrics
    },
  ) {
    this.opts = { intervalMs: 60_000, batch: 3, dummies: 3, fundTopUp: 0n, pollMs: 500, ...opts }
    if (!this.opts.clients.length) throw new Error('the control issuer needs at least one client identity')
    this.log = d.logger.child({ component: 'control-issuer' })
    try {
      this.issued = JSON.parse(readFileSync(this.file, 'utf8')) as Issued[]
      // A task whose direct post was cut short by a restart is posted by the tick.
      for (const x of this.issued) if (x.state === 'sealed' && x.postAt === Number.MAX_SAFE_INTEGER) x.postAt = 0
    } catch {
      this.issued = []
    }
    this.next = randomInt(this.opts.clients.length)
  }

  private get file() {
    return join(this.opts.stateDir, 'control-tasks.json')
  }

  private save(): void {
    mkdirSync(this.opts.stateDir, { recursive: true })
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.issued))
    renameSync(`${this.file}.tmp`, this.file)
  }

  async start(): Promise<void> {
    await this.ensureBond()
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

  /** Bonds up to the market's issuerMinBond: no claim (control answer, trap) opens below it. */
  async ensureBond(): Promise<void> {
    const [bond, min] = await Promise.all([this.d.market.read<bigint>('issuerBond'), this.d.market.read<bigint>('issuerMinBond')])
    if (bond >= min) return
    await this.d.chain.send(this.d.market.address, encodeMarketCall('bondIssuer'), { value: min - bond })
    this.log.info({ bond: min.toString() }, 'control issuer bonded')
  }

  private async ensureFund(amount: bigint): Promise<void> {
    const [, , fund] = await this.d.market.read<bigint[]>('accounting')
    if (fund! >= amount || this.opts.fundTopUp === 0n) return
    await this.d.chain.send(this.d.market.address, encodeMarketCall('fundProtocol'), { value: this.opts.fundTopUp > amount ? this.opts.fundTopUp : amount })
  }

  /**
   * Prepares `n` control tasks: runs each spec, assigns identities in turn, registers their
   * seals among dummies. The posts follow over the next interval (postAt), or at once when
   * `now`. Returns their job ids.
   */
  async prepare(n = this.opts.batch, now = false): Promise<Hex[]> {
    const nonces = new Map<Address, bigint>()
    const batch: Issued[] = []
    for (let i = 0; i < n; i++) {
      const client = this.opts.clients[this.next++ % this.opts.clients.length]!
      // A client's later tasks in this batch take its following nonces (they are posted in order).
      const pending = this.issued.filter((x) => x.client === client && x.state === 'sealed').length + batch.filter((x) => x.client === client).length
      if (!nonces.has(client)) nonces.set(client, await this.d.market.read<bigint>('jobNonce', [client]))
      const { spec, inputs } = randomControlSpec()
      await this.d.blobs.put(encodeJobSpec(spec))
      if (inputs.dataset) await this.d.blobs.put(inputs.dataset)
      const answer = executeJob(spec, inputs).resultHash as Hex
      const jobId = jobIdOf(this.d.chainId, client, jobSpecHash(spec) as Hex, nonces.get(client)! + BigInt(pending))
      const spread = this.opts.intervalMs * n
      // `now`: the caller posts it itself, the tick must not.
      batch.push({ jobId, client, spec, answer, salt: random32(), postAt: now ? Number.MAX_SAFE_INTEGER : Date.now() + (spread > 0 ? randomInt(spread) : 0), state: 'sealed' })
    }
    const seals = [...batch.map((x) => controlSeal(x.jobId, x.answer, x.salt)), ...Array.from({ length: this.opts.dummies }, random32)].sort()
    // Saved before the seals go out: a restart must still post and open them.
    this.issued.push(...batch.sort((a, b) => a.postAt - b.postAt))
    this.save()
    try {
      await this.sendChecked(this.d.chain, encodeMarketCall('registerSeals', [seals]))
    } catch (e) {
      // Unregistered seals open nothing: these tasks must not be posted.
      this.issued = this.issued.filter((x) => !batch.includes(x))
      this.save()
      throw e
    }
    this.log.info({ tasks: n, seals: seals.length }, 'control seals registered')
    return batch.map((x) => x.jobId)
  }

  /** Prepares one task and posts it now (tests, `--worker.control-tasks 0`); returns its job id. */
  async postControlTask(): Promise<Hex> {
    const [jobId] = await this.prepare(1, true)
    const it = this.issued.find((x) => x.jobId === jobId)!
    await this.post(it)
    return jobId!
  }

  /** Posts a sealed task from its identity, as `job submit` would. */
  private async post(it: Issued): Promise<void> {
    const units = computeUnits(it.spec, it.spec.dataset ? { dataset: (await this.d.blobs.get(it.spec.dataset))! } : {})
    const price = await this.d.market.estimatePrice(units)
    if (!(await this.withinBudget(price))) {
      // Opening it would be refused (ControlBudgetExceeded): wait for the next period.
      it.postAt = Date.now() + this.opts.intervalMs
      this.log.info({ jobId: it.jobId }, 'control budget of this period spent: the task waits')
      return
    }
    await this.ensureFund(price)
    const chain = this.d.clientChain(it.client)
    const head = await chain.head()
    const now = head.timestamp > nowSec() ? head.timestamp : nowSec()
    const r = await chain.send(
      this.d.market.address,
      encodeMarketCall('postJob', [jobSpecHash(it.spec), workloadId(it.spec), now + 3600n, BigInt(it.spec.resources.timeoutSec) + 60n, units, verifierCount(it.spec)]),
      { value: price },
    )
    const posted = r.logs.find((l) => l.address.toLowerCase() === this.d.market.address.toLowerCase())?.topics[1] as Hex | undefined
    it.state = 'posted'
    this.save()
    if (posted !== it.jobId) this.log.warn({ expected: it.jobId, posted }, 'the control task got another job id (its identity posted elsewhere): it stays an ordinary job')
    else this.log.info({ jobId: it.jobId, client: it.client, workload: it.spec.workload.id, price: price.toString() }, 'control task posted')
  }

  /** Whether the fund may still reimburse `price` this period (WorkMarket.openControl's budget). */
  private async withinBudget(price: bigint): Promise<boolean> {
    const [budget, spent, start, period] = await Promise.all(['controlBudget', 'controlSpent', 'controlPeriodStart', 'controlPeriod'].map((f) => this.d.market.read<bigint>(f)))
    if (nowSec() >= start! + period!) return price <= budget!
    return spent! + price <= budget!
  }

  /** Sends only what a call on the pending block accepts (a refusal throws, nothing is sent). */
  private async sendChecked(chain: MarketChain, data: Hex) {
    await chain.check(this.d.market.address, data)
    return chain.send(this.d.market.address, data)
  }

  private async tick(): Promise<void> {
    const done = new Set<Issued>()
    let changed = false
    const posting = new Set<Address>()
    // A copy: postControlTask may add to the list while this tick awaits.
    for (const it of [...this.issued]) {
      if (it.state === 'sealed') {
        // One identity posts its tasks in nonce order.
        if (Date.now() >= it.postAt && !posting.has(it.client)) await this.post(it).catch((e: Error) => this.log.warn({ jobId: it.jobId, err: e.message }, 'control task not posted'))
        posting.add(it.client)
        continue
      }
      const job = await this.d.market.job(it.jobId)
      if (!job || job.status === 'accepted' || job.status === 'refunded') {
        done.add(it)
        continue
      }
      if (it.state === 'opened' || job.control) continue
      // The market refuses until the session's votes are committed: ask it each tick.
      const data = encodeMarketCall('openControl', [it.jobId, it.answer, it.salt])
      try {
        await this.sendChecked(this.d.clientChain(it.client), data)
        it.state = 'opened'
        changed = true
        this.log.info({ jobId: it.jobId }, 'control task opened')
      } catch (e) {
        this.log.debug({ jobId: it.jobId, err: (e as Error).message }, 'openControl refused')
      }
    }
    if (done.size) this.issued = this.issued.filter((x) => !done.has(x))
    if (changed || done.size) this.save()
    if (this.opts.intervalMs > 0 && Date.now() >= this.nextBatchAt && !this.issued.some((x) => x.state === 'sealed')) {
      this.nextBatchAt = Date.now() + this.opts.intervalMs * this.opts.batch
      await this.prepare()
    }
  }
}
