import { decodeErrorResult, decodeFunctionResult, encodeFunctionData, type Abi, type Address, type Hex } from 'viem'
import { WORK_MARKET_ADDRESS, workMarketAbi } from '../../genesis/WorkMarketGenesis.js'
import { roundedUpCoins } from '../../common/CoinAmount.js'
import { JobError } from './JobError.js'

/** WorkMarket.JobStatus / SessionStatus, by their Solidity order. */
export const JOB_STATUS = ['none', 'open', 'running', 'accepted', 'refunded'] as const
export const SESSION_STATUS = ['none', 'assigned', 'committed', 'accepted', 'rejected', 'expired', 'sealed', 'revealed'] as const
/** WorkMarket.VerificationMode, by its Solidity order (the spec's `verification.mode`). */
export const VERIFICATION_MODE = ['reexecution', 'redundant', 'tolerance'] as const
export type JobStatus = (typeof JOB_STATUS)[number]
export type SessionStatus = (typeof SESSION_STATUS)[number]
export type VerificationModeName = (typeof VERIFICATION_MODE)[number]

/** A replica job's rounds (WorkMarket.getReplicas). */
export interface MarketReplicas {
  round: number
  /** Index in `sessions` where the current round starts. */
  roundStart: number
  commitBy: bigint
  /** When the current round's last seal arrived (0n until then): reveals open. */
  sealedAt: bigint
  revealBy: bigint
  /** A scheduled escalation draw (0n: none). */
  drawBlock: bigint
  sessions: Hex[]
}

export interface MarketJob {
  jobId: Hex
  client: Address
  status: JobStatus
  control: boolean
  rated: boolean
  verifiers: number
  attempts: number
  deadline: bigint
  maxDuration: bigint
  units: bigint
  postedAt: bigint
  /** While open: the block whose randomness draws its worker (0n: none scheduled). */
  drawBlock: bigint
  /** OFFERS bits a worker must offer to be drawn for it. */
  needs: number
  price: bigint
  specHash: Hex
  workloadId: Hex
  sealedAnswer: Hex
  controlSalt: Hex
  session: Hex
  mode: VerificationModeName
  /** Redundant/Tolerance: k, the replicas of round 0 (0 for re-execution). */
  replicas: number
  /** Tolerance: the agreement bound, in nano-units of the metric. */
  epsilon: bigint
  /** sha256 digest of the pinned image (zero: none). */
  image: Hex
}

export interface MarketCommitment {
  checkpointInterval: bigint
  totalSteps: bigint
  checkpointCount: bigint
  checkpointRoot: Hex
  resultHash: Hex
  metricsHash: Hex
  manifest: Hex
  /** Random, or a hidden trap's trapSeal(sessionId, salt). */
  seal: Hex
  commitment: Hex
}

export interface MarketSession {
  sessionId: Hex
  jobId: Hex
  worker: Address
  status: SessionStatus
  trap: boolean
  round: number
  assignedAt: bigint
  commitBy: bigint
  committedAt: bigint
  commitBlock: bigint
  selectedBlock: bigint
  votesBy: bigint
  revealBy: bigint
  finalizedAt: bigint
  /** The block whose randomness draws the next round's verifiers (0n: none scheduled). */
  drawBlock: bigint
  randomness: Hex
  result: MarketCommitment
  verifiers: Address[]
  /** Round 0's verifiers after a tie (judged with round 1's). */
  previous: Address[]
}

export interface MarketWorker {
  address: Address
  registered: boolean
  slots: number
  running: number
  rating: number
  pending: number
  /** OFFERS bits: what it runs besides the embedded runtime. */
  offers: number
  capacity: bigint
  registeredAt: bigint
  exitAt: bigint
  bond: bigint
  successes: number
  failures: number
  controlsPassed: number
  controlsFailed: number
  verifications: number
  verifierFaults: number
  clientRatings: number
  clientStars: number
  endpoint: string
  /** The least it works for, wei per compute unit (0n: any). */
  minUnitPrice: bigint
  /** Bond held for its pending votes (what a wrong vote on each can cost). */
  locked: bigint
  /** Timely accepted sessions, halved by each undelivered one: its slots grow with it. */
  timely: number
  /** Compute units per second × 1000, measured over its accepted sessions (0n: none yet). */
  measuredCapacity: bigint
}

/** Why a worker last left the registry without asking (WorkMarket.evictionOf; by = 0x0: never). */
export interface MarketEviction {
  by: Address
  at: bigint
  /** The bond credited to it (withdraw()). */
  bond: bigint
  /** Its bond × rating then, and the newcomer's. */
  standing: bigint
  newcomerStanding: bigint
}

/** What the draws make of a worker now (WorkMarket.drawWeight, slotsOf, freeBondOf). */
export interface MarketDrawStanding {
  /** bond × rating (0 while leaving or under-bonded) and the registry's sum. */
  weight: bigint
  total: bigint
  /** Sessions it may run at once (earned by timely accepted work, at most what it declared). */
  slots: number
  /** Bond not held for pending votes: a verifier draw weighs it and needs verifierStake(price). */
  freeBond: bigint
}

export interface MarketReceipt {
  jobId: Hex
  sessionId: Hex
  worker: Address
  client: Address
  value: bigint
  protocolFee: bigint
  workloadId: Hex
  blockNumber: bigint
  timestamp: bigint
  status: SessionStatus
  control: boolean
  /** The mode that verified it (consensus weighs receipts by it). */
  mode: VerificationModeName
}

export interface MarketVote {
  hash: Hex
  verdict: 'none' | 'accept' | 'reject'
}

/** Runs a read (eth_call) against the market; reverts come back as thrown errors. */
export interface MarketCaller {
  call(to: Address, data: Hex): Promise<Hex>
}

let abi: Abi | undefined
/** The WorkMarket ABI (compiled artifacts). */
export function marketAbi(): Abi {
  return (abi ??= workMarketAbi())
}

export function encodeMarketCall(functionName: string, args: readonly unknown[] = []): Hex {
  return encodeFunctionData({ abi: marketAbi(), functionName, args } as never)
}

/** What the common refusals mean for the person who sent the call (the enum arguments by name). */
const REVERT_MEANINGS: Record<string, (args: readonly unknown[]) => string> = {
  WrongJobStatus: ([s]) => {
    const name = JOB_STATUS[Number(s)] ?? `#${String(s)}`
    const why: Record<string, string> = {
      none: 'there is no such job (check the job id)',
      open: 'it is still waiting for a worker',
      running: 'a worker is on it or its result is being verified',
      accepted: 'it is finished and paid; nothing more can be done with it',
      refunded: 'it was refunded; nothing more can be done with it',
    }
    return `the job is ${name}: ${why[name] ?? 'not in a state that allows this'}`
  },
  WrongSessionStatus: ([s]) => `the session is ${SESSION_STATUS[Number(s)] ?? `#${String(s)}`}, not in a state that allows this`,
  RegistryFull: ([need]) =>
    BigInt(need as bigint) === 2n ** 256n - 1n
      ? 'the worker registry is full and every worker in it has pending work: nobody can be displaced now, try again later'
      : `the worker registry is full: a bond of at least ${roundedUpCoins(BigInt(need as bigint))} coins at your rating displaces its weakest idle worker (bond × rating + 10 %; set --worker.bond)`,
}


/** `WorkMarket: WrongJobStatus(3) — the job is accepted: …` from revert data, or undefined when it is not one of ours. */
export function describeRevert(data: Hex | undefined): string | undefined {
  if (!data || data === '0x') return undefined
  try {
    const e = decodeErrorResult({ abi: marketAbi(), data })
    const args = (e.args ?? []).map((a) => (typeof a === 'bigint' ? a.toString() : String(a)))
    const meaning = REVERT_MEANINGS[e.errorName]?.(e.args ?? [])
    return `WorkMarket: ${e.errorName}(${args.join(', ')})${meaning ? ` — ${meaning}` : ''}`
  } catch {
    return undefined
  }
}

const status = <T extends readonly string[]>(names: T, n: unknown): T[number] => names[Number(n)] ?? names[0]!

/** Typed reads of the WorkMarket system contract. */
export class WorkMarketReader {
  constructor(
    private readonly caller: MarketCaller,
    readonly address: Address = WORK_MARKET_ADDRESS,
  ) {}

  async read<T>(functionName: string, args: readonly unknown[] = []): Promise<T> {
    const data = await this.caller.call(this.address, encodeMarketCall(functionName, args))
    if (data === '0x') throw new JobError('NO_MARKET', `no WorkMarket at ${this.address} (is it in this chain's genesis?)`)
    return decodeFunctionResult({ abi: marketAbi(), functionName, data } as never) as T
  }

  async job(jobId: Hex): Promise<MarketJob | undefined> {
    const j = await this.read<Record<string, unknown>>('getJob', [jobId])
    if (Number(j.status) === 0) return undefined
    return { ...(j as unknown as MarketJob), jobId, status: status(JOB_STATUS, j.status), mode: status(VERIFICATION_MODE, j.mode) }
  }

  async replicas(jobId: Hex): Promise<MarketReplicas> {
    const [round, roundStart, commitBy, sealedAt, revealBy, drawBlock, sessions] = await this.read<readonly [number, number, bigint, bigint, bigint, bigint, readonly Hex[]]>('getReplicas', [jobId])
    return { round: Number(round), roundStart: Number(roundStart), commitBy, sealedAt, revealBy, drawBlock, sessions: [...sessions] }
  }

  /** The GPUs a worker announced (setGpus): how many, and the memory of the smallest (MiB). */
  async gpusOf(worker: Address): Promise<{ count: number; memoryMb: number }> {
    const [count, memoryMb] = await this.read<readonly [number, number]>('gpusOf', [worker])
    return { count: Number(count), memoryMb: Number(memoryMb) }
  }

  async imagesOf(worker: Address): Promise<Hex[]> {
    return [...(await this.read<Hex[]>('imagesOf', [worker]))]
  }

  replicaSealHash(sessionId: Hex, commitment: Hex, metric: bigint, salt: Hex): Promise<Hex> {
    return this.read<Hex>('replicaSealHash', [sessionId, commitment, metric, salt])
  }

  async session(sessionId: Hex): Promise<MarketSession | undefined> {
    const s = await this.read<Record<string, unknown>>('getSession', [sessionId])
    if (Number(s.status) === 0) return undefined
    return { ...(s as unknown as MarketSession), sessionId, status: status(SESSION_STATUS, s.status), verifiers: [...(s.verifiers as Address[])], previous: [...((s.previous as Address[]) ?? [])] }
  }

  async vote(sessionId: Hex, verifier: Address): Promise<MarketVote> {
    const v = await this.read<{ hash: Hex; verdict: number }>('getVote', [sessionId, verifier])
    return { hash: v.hash, verdict: (['none', 'accept', 'reject'] as const)[Number(v.verdict)] ?? 'none' }
  }

  async worker(address: Address): Promise<MarketWorker> {
    const w = await this.read<Record<string, unknown>>('getWorker', [address])
    const rating = await this.read<number>('ratingOf', [address])
    return { ...(w as unknown as MarketWorker), address, rating: Number(rating) }
  }

  evictionOf(address: Address): Promise<MarketEviction> {
    return this.read<MarketEviction>('evictionOf', [address])
  }

  /** The least bond `who` registers with now (max uint256: nobody can be displaced now). */
  bondToEnter(who: Address): Promise<bigint> {
    return this.read<bigint>('bondToEnter', [who])
  }

  async drawStanding(address: Address): Promise<MarketDrawStanding> {
    const [[weight, total], slots, freeBond] = await Promise.all([
      this.read<readonly [bigint, bigint]>('drawWeight', [address]),
      this.read<bigint>('slotsOf', [address]),
      this.read<bigint>('freeBondOf', [address]),
    ])
    return { weight, total, slots: Number(slots), freeBond }
  }

  /** The free bond a verifier needs to be drawn for a job of `price`. */
  verifierStake(price: bigint): Promise<bigint> {
    return this.read<bigint>('verifierStake', [price])
  }

  async workers(): Promise<Address[]> {
    return [...(await this.read<Address[]>('workers'))]
  }

  async receipt(sessionId: Hex): Promise<MarketReceipt | undefined> {
    const r = await this.read<Record<string, unknown>>('getReceipt', [sessionId])
    if (Number(r.status) === 0) return undefined
    return { ...(r as unknown as MarketReceipt), status: status(SESSION_STATUS, r.status), mode: status(VERIFICATION_MODE, r.mode) }
  }

  async receiptsOf(worker: Address, offset = 0n, limit = 1000n): Promise<MarketReceipt[]> {
    const rs = await this.read<Record<string, unknown>[]>('receiptsOf', [worker, offset, limit])
    return rs.map((r) => ({ ...(r as unknown as MarketReceipt), status: status(SESSION_STATUS, r.status), mode: status(VERIFICATION_MODE, r.mode) }))
  }

  async duties(node: Address): Promise<{ working: Hex[]; verifying: Hex[] }> {
    const [working, verifying] = await this.read<[Hex[], Hex[]]>('dutiesOf', [node])
    return { working: [...working], verifying: [...verifying] }
  }

  async openJobs(): Promise<Hex[]> {
    return [...(await this.read<Hex[]>('openJobs'))]
  }

  async jobsOf(client: Address): Promise<Hex[]> {
    return [...(await this.read<Hex[]>('jobsOf', [client]))]
  }

  async sessionsOfJob(jobId: Hex): Promise<Hex[]> {
    return [...(await this.read<Hex[]>('sessionsOfJob', [jobId]))]
  }

  verifierSeed(sessionId: Hex, verifier: Address): Promise<Hex> {
    return this.read<Hex>('verifierSeed', [sessionId, verifier])
  }

  /** WorkMarket.findingsHash: a vote naming every segment a reject found forged (ascending; none for an accept) and the declared sample size. */
  findingsHash(sessionId: Hex, round: number, verifier: Address, accept: boolean, segments: readonly number[], samples: number, salt: Hex): Promise<Hex> {
    return this.read<Hex>('findingsHash', [sessionId, round, verifier, accept, segments, samples, salt])
  }

  /** WorkMarket.findingHash: a vote with the segment a reject names (NO_SEGMENT_NAMED: none) and the declared sample size. */
  findingHash(sessionId: Hex, round: number, verifier: Address, accept: boolean, segment: number, samples: number, salt: Hex): Promise<Hex> {
    return this.read<Hex>('findingHash', [sessionId, round, verifier, accept, segment, samples, salt])
  }

  /** The segments round 0's rejects named: a round-1 panel member re-executes each. */
  async claimedSegments(sessionId: Hex): Promise<number[]> {
    return (await this.read<readonly bigint[]>('claimedSegments', [sessionId])).map(Number)
  }

  voteHash(sessionId: Hex, round: number, verifier: Address, accept: boolean, salt: Hex): Promise<Hex> {
    return this.read<Hex>('voteHash', [sessionId, round, verifier, accept, salt])
  }

  estimatePrice(units: bigint): Promise<bigint> {
    return this.read<bigint>('estimatePrice', [units])
  }

  unitPrice(): Promise<bigint> {
    return this.read<bigint>('unitPrice')
  }

  config(): Promise<{ minBond: bigint; minJobPrice: bigint; voteWindow: bigint; revealWindow: bigint; controlIssuer: Address; maxAttempts: number; defaultUnitPrice: bigint; faultPenalty: bigint; verifierBondRatio: number }> {
    return this.read('config')
  }
}
