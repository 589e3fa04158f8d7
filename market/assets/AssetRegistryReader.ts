import { decodeErrorResult, decodeFunctionResult, encodeFunctionData, type Abi, type Address, type Hex } from 'viem'
import { hexToBytes } from '../../common/bytes.js'
import { ASSET_REGISTRY_ADDRESS, assetRegistryAbi } from '../../genesis/AssetRegistryGenesis.js'
import { WorkMarketReader, type MarketCaller } from '../client/WorkMarketReader.js'
import { AssetError } from './AssetError.js'

/** AssetRegistry.Kind / Access, by their Solidity order. */
export const ASSET_KINDS = ['model', 'dataset'] as const
export const ASSET_ACCESS = ['free', 'paid', 'closed', 'removed'] as const
export type AssetKind = (typeof ASSET_KINDS)[number]
export type AssetAccess = (typeof ASSET_ACCESS)[number]

export interface RegisteredAsset {
  id: bigint
  owner: Address
  kind: AssetKind
  access: AssetAccess
  contentHash: Hex
  metadataHash: Hex
  uri: string
  size: bigint
  publishedAt: bigint
  usage: bigint
  ratingCount: number
  ratingSum: number
  pricePerUse: bigint
  pricePerDownload: bigint
  /** The content key's version (closed assets: 0 at publish, +1 per `rotateKey`). */
  keyVersion: number
}

export interface AssetScore {
  /** Bayesian average of the stars × 1e6 (prior: PRIOR_WEIGHT votes of PRIOR_MEAN). */
  ratingScore: bigint
  /** ratingScore × (1 + ⌊log2(1 + usage)⌋): what rewards rank by. */
  score: bigint
  priorMean: bigint
  priorWeight: bigint
  scale: bigint
}

/** AssetRegistry.Rule, by its Solidity order. */
export const BOUNTY_RULES = ['first', 'best'] as const
export type BountyRule = (typeof BOUNTY_RULES)[number]

export interface BountySubmission {
  index: number
  modelId: bigint
  submitter: Address
  evaluated: boolean
  /** Accuracy in ppm, once evaluated. */
  metric: bigint
  /** The last evaluation job linked (the evaluated one once `evaluated`); zero hash: none. */
  jobId: Hex
}

export interface RegisteredBounty {
  id: bigint
  client: Address
  datasetId: bigint
  /** The dataset hash evaluation specs name (the held-out data as workers read it). */
  inputHash: Hex
  /** Passing: accuracy ≥ threshold ppm. */
  threshold: bigint
  rule: BountyRule
  /** Last block for submissions; evaluations until deadline + evaluationWindow. */
  deadline: bigint
  prize: bigint
  settled: boolean
  /** The winning (rule First: paid; rule Best: best so far) submission's index. */
  winner: number | undefined
  bestMetric: bigint
  submissions: BountySubmission[]
}

/** A job grant: one participant's (worker or verifier) sealed content key for one job only. */
export interface JobGrant {
  /** The grantee on record; the zero address when no request was recorded for it. */
  grantee: Address
  /** The same address, under the name callers that read the job's worker grant use (the asset CLI). */
  worker: Address
  fulfilled: boolean
  sealedKey: Hex
}

const ZERO_ADDRESS: Address = '0x0000000000000000000000000000000000000000'

let abi: Abi | undefined
export function registryAbi(): Abi {
  return (abi ??= assetRegistryAbi())
}

export function encodeRegistryCall(functionName: string, args: readonly unknown[] = []): Hex {
  return encodeFunctionData({ abi: registryAbi(), functionName, args } as never)
}

/** `AssetRegistry: NoGrant(3, 0x…)` from revert data, or undefined when it is not one of the registry's errors. */
export function describeRegistryRevert(data: Hex | undefined): string | undefined {
  if (!data || data === '0x') return undefined
  try {
    const e = decodeErrorResult({ abi: registryAbi(), data })
    const args = (e.args ?? []).map((a) => (typeof a === 'bigint' ? a.toString() : String(a)))
    return `AssetRegistry: ${e.errorName}(${args.join(', ')})`
  } catch {
    return undefined
  }
}

/**
 * The system call consensus makes at every epoch turn when genesis places the registry at
 * `address` (consensus/ProofOfValueEngine `epochCalls`): AssetRegistry.distributeRewards() from
 * SYSTEM_ADDRESS. It never reverts and pays each ended period once, so repeating it is harmless.
 */
export function distributeRewardsSystemCall(address: Uint8Array): { to: Uint8Array; data: Uint8Array; label: string } {
  return { to: address, data: hexToBytes(encodeRegistryCall('distributeRewards')), label: 'AssetRegistry.distributeRewards()' }
}

const pick = <T extends readonly string[]>(names: T, n: unknown): T[number] => names[Number(n)] ?? names[0]!

/** Typed reads of the AssetRegistry system contract (over any eth_call path). */
export class AssetRegistryReader {
  constructor(
    readonly caller: MarketCaller,
    readonly address: Address = ASSET_REGISTRY_ADDRESS,
  ) {}

  async read<T>(functionName: string, args: readonly unknown[] = []): Promise<T> {
    const data = await this.caller.call(this.address, encodeRegistryCall(functionName, args))
    if (data === '0x') throw new AssetError('NO_REGISTRY', `no AssetRegistry at ${this.address} (is it in this chain's genesis?)`)
    return decodeFunctionResult({ abi: registryAbi(), functionName, data } as never) as T
  }

  async count(): Promise<bigint> {
    return this.read<bigint>('assetCount')
  }

  /** The asset, or undefined when no asset has that id. */
  async asset(id: bigint): Promise<RegisteredAsset | undefined> {
    if (id < 1n || id > (await this.count())) return undefined
    const [[a, owner, uri], keyVersion] = await Promise.all([this.read<readonly [Record<string, unknown>, Address, string]>('getAsset', [id]), this.read<number>('keyVersion', [id])])
    return {
      id,
      owner,
      uri,
      kind: pick(ASSET_KINDS, a.kind),
      access: pick(ASSET_ACCESS, a.access),
      contentHash: a.contentHash as Hex,
      metadataHash: a.metadataHash as Hex,
      size: a.size as bigint,
      publishedAt: a.publishedAt as bigint,
      usage: a.usage as bigint,
      ratingCount: Number(a.ratingCount),
      ratingSum: Number(a.ratingSum),
      pricePerUse: a.pricePerUse as bigint,
      pricePerDownload: a.pricePerDownload as bigint,
      keyVersion: Number(keyVersion),
    }
  }

  /** The closed asset whose key rotation made `hash` its content (the latest such; undefined: none). */
  async rotatedAssetOf(hash: Hex): Promise<bigint | undefined> {
    const id = await this.read<bigint>('rotatedAssetOf', [hash])
    return id === 0n ? undefined : id
  }

  async score(id: bigint): Promise<AssetScore> {
    const [ratingScore, score, priorMean, priorWeight, scale] = await Promise.all([
      this.read<bigint>('ratingScore', [id]),
      this.read<bigint>('score', [id]),
      this.read<bigint>('PRIOR_MEAN'),
      this.read<bigint>('PRIOR_WEIGHT'),
      this.read<bigint>('SCORE_SCALE'),
    ])
    return { ratingScore, score, priorMean, priorWeight, scale }
  }

  useFee(id: bigint, client: Address): Promise<bigint> {
    return this.read<bigint>('useFee', [id, client])
  }

  grantOf(id: bigint, grantee: Address): Promise<Hex> {
    return this.read<Hex>('grantOf', [id, grantee])
  }

  /**
   * The job grant of `grantee` for job `jobId` on asset `id` (AssetRegistry `jobGrantOf`); without
   * a grantee, that of the job's worker (its current session's, or the accepted one's).
   */
  async jobGrantOf(id: bigint, jobId: Hex, grantee?: Address): Promise<JobGrant> {
    const who = grantee ?? (await this.jobWorker(jobId))
    if (!who) return { grantee: ZERO_ADDRESS, worker: ZERO_ADDRESS, fulfilled: false, sealedKey: '0x' }
    const g = await this.read<{ grantee: Address; fulfilled: boolean; sealedKey: Hex }>('jobGrantOf', [id, jobId, who])
    return { grantee: g.grantee, worker: g.grantee, fulfilled: g.fulfilled, sealedKey: g.sealedKey }
  }

  /** The worker of the job's current (or accepted) session, read from the WorkMarket; undefined before any assignment. */
  private async jobWorker(jobId: Hex): Promise<Address | undefined> {
    const market = new WorkMarketReader(this.caller)
    const job = await market.job(jobId)
    const session = job ? await market.session(job.session) : undefined // undefined for a job never assigned
    return session?.worker
  }

  publicKeyOf(a: Address): Promise<Hex> {
    return this.read<Hex>('publicKeyOf', [a])
  }

  credits(a: Address): Promise<bigint> {
    return this.read<bigint>('credits', [a])
  }

  async jobUse(jobId: Hex): Promise<{ client: Address; settled: boolean; ids: bigint[]; fees: bigint[] }> {
    const u = await this.read<{ client: Address; settled: boolean; ids: readonly bigint[]; fees: readonly bigint[] }>('jobUseOf', [jobId])
    return { client: u.client, settled: u.settled, ids: [...u.ids], fees: [...u.fees] }
  }

  async topFree(kind: AssetKind): Promise<bigint[]> {
    return (await this.read<readonly bigint[]>('topFree', [ASSET_KINDS.indexOf(kind)])).filter((x) => x !== 0n)
  }

  /** The bounty with its submissions, or undefined when no bounty has that id. */
  async bounty(id: bigint): Promise<RegisteredBounty | undefined> {
    if (id < 1n || id > (await this.read<bigint>('bountyCount'))) return undefined
    const [b, subs] = await this.read<readonly [Record<string, unknown>, readonly Record<string, unknown>[]]>('getBounty', [id])
    const winner = Number(b.winner)
    return {
      id,
      client: b.client as Address,
      datasetId: b.datasetId as bigint,
      inputHash: b.inputHash as Hex,
      threshold: b.threshold as bigint,
      rule: pick(BOUNTY_RULES, b.rule),
      deadline: BigInt(b.deadline as bigint),
      prize: BigInt(b.prize as bigint),
      settled: b.settled as boolean,
      winner: winner > 0 ? winner - 1 : undefined,
      bestMetric: b.bestMetric as bigint,
      submissions: subs.map((x, index) => ({ index, modelId: x.modelId as bigint, submitter: x.submitter as Address, evaluated: x.evaluated as boolean, metric: x.metric as bigint, jobId: x.jobId as Hex })),
    }
  }

  async period(): Promise<{ current: bigint; blocks: bigint; rewardPerPeriod: bigint; rewardFund: bigint }> {
    const [current, blocks, rewardPerPeriod, rewardFund] = await Promise.all([this.read<bigint>('currentPeriod'), this.read<bigint>('periodBlocks'), this.read<bigint>('rewardPerPeriod'), this.read<bigint>('rewardFund')])
    return { current, blocks, rewardPerPeriod, rewardFund }
  }
}
