import { getAddress, isAddress, type Address, type Hex } from 'viem'
import { WorkMarketReader, type MarketJob, type MarketSession } from '../client/WorkMarketReader.js'
import { badAssetParams } from './AssetError.js'
import { ASSET_ACCESS, ASSET_KINDS, type AssetRegistryReader, type AssetScore, type RegisteredAsset, type RegisteredBounty } from './AssetRegistryReader.js'
import { withArity, type ExtraMethod } from '../../rpc/RpcBackend.js'


const q = (n: bigint | number) => `0x${BigInt(n).toString(16)}`
/** Most assets one pov_listAssets page returns. */
export const MAX_ASSET_PAGE = 100

/**
 * An asset as pov_ methods show it. Client ratings use the same fields as a worker's in
 * pov_getWorker (`clientRatings`, `averageStars`), so wallets show both alike.
 */
export function assetJson(a: RegisteredAsset, s?: AssetScore) {
  return {
    id: q(a.id),
    owner: a.owner,
    kind: a.kind,
    mode: a.access,
    contentHash: a.contentHash,
    metadataHash: a.metadataHash,
    uri: a.uri,
    size: q(a.size),
    publishedAt: q(a.publishedAt),
    usage: q(a.usage),
    clientRatings: a.ratingCount,
    averageStars: a.ratingCount ? a.ratingSum / a.ratingCount : null,
    pricePerUse: q(a.pricePerUse),
    pricePerDownload: q(a.pricePerDownload),
    keyVersion: a.keyVersion,
    ...(s ? { score: q(s.score), ratingScore: q(s.ratingScore) } : {}),
  }
}

export function scoreJson(a: RegisteredAsset, s: AssetScore) {
  return {
    id: q(a.id),
    usage: q(a.usage),
    clientRatings: a.ratingCount,
    averageStars: a.ratingCount ? a.ratingSum / a.ratingCount : null,
    ratingScore: q(s.ratingScore),
    score: q(s.score),
    /** ratingScore = (priorWeight·priorMean + Σstars)·scale / (priorWeight + n); score = ratingScore·(1 + ⌊log2(1 + usage)⌋). */
    formula: { priorMean: Number(s.priorMean), priorWeight: Number(s.priorWeight), scale: q(s.scale) },
  }
}

const NO_JOB = `0x${'0'.repeat(64)}`

/**
 * A bounty as pov_getBounty shows it: its terms, state, and each submission with its
 * evaluation job (status, session, worker, the committed metricsHash) and, once evaluated, the
 * metric (accuracy in ppm, and as a fraction).
 */
export function bountyJson(b: RegisteredBounty, evaluationWindow: bigint, jobs: Map<string, { job: MarketJob; session?: MarketSession }>) {
  return {
    id: q(b.id),
    client: b.client,
    datasetId: q(b.datasetId),
    inputHash: b.inputHash,
    threshold: q(b.threshold),
    thresholdAccuracy: Number(b.threshold) / 1e6,
    rule: b.rule,
    deadline: q(b.deadline),
    evaluationClosesAt: q(b.deadline + evaluationWindow),
    prize: q(b.prize),
    settled: b.settled,
    state: b.settled ? (b.winner !== undefined ? 'won' : 'refunded') : 'open',
    winner: b.winner ?? null,
    bestMetric: b.winner !== undefined ? q(b.bestMetric) : null,
    submissions: b.submissions.map((s) => {
      const j = s.jobId === NO_JOB ? undefined : jobs.get(s.jobId)
      return {
        index: s.index,
        modelId: q(s.modelId),
        submitter: s.submitter,
        evaluated: s.evaluated,
        metric: s.evaluated ? q(s.metric) : null,
        accuracy: s.evaluated ? Number(s.metric) / 1e6 : null,
        passed: s.evaluated ? s.metric >= b.threshold : null,
        jobId: s.jobId === NO_JOB ? null : s.jobId,
        job: j
          ? {
              status: j.job.status,
              client: j.job.client,
              session: j.job.session,
              worker: j.session?.worker ?? null,
              sessionStatus: j.session?.status ?? null,
              metricsHash: j.session && j.session.result.commitment !== NO_JOB ? j.session.result.metricsHash : null,
              manifest: j.session && j.session.result.commitment !== NO_JOB ? j.session.result.manifest : null,
            }
          : null,
      }
    }),
  }
}

const assetId = (v: unknown): bigint => {
  try {
    if ((typeof v === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) || (typeof v === 'number' && Number.isSafeInteger(v))) {
      const id = BigInt(v)
      if (id > 0n) return id
    }
  } catch {}
  throw badAssetParams('id must be a positive integer (number, decimal or 0x-hex string)')
}

const oneOf = <T extends readonly string[]>(v: unknown, names: T, what: string): T[number] | undefined => {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || !names.includes(v)) throw badAssetParams(`${what} must be one of ${names.join(', ')}`)
  return v as T[number]
}

const count = (v: unknown, what: string, dflt: number): number => {
  if (v === undefined || v === null) return dflt
  // A decimal or 0x-hex string; anything else (BigInt('zz') throws a SyntaxError) is a bad parameter.
  const n = typeof v === 'string' ? (/^(0x[0-9a-fA-F]{1,14}|[0-9]{1,16})$/.test(v) ? Number(BigInt(v)) : NaN) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw badAssetParams(`${what} must be a non-negative integer`)
  return n
}

/** pov_getAsset, pov_listAssets, pov_getAssetScore, pov_getBounty: reads of the AssetRegistry system contract. */
export function assetRpcMethods(registry: AssetRegistryReader): Record<string, ExtraMethod> {
  const market = new WorkMarketReader(registry.caller)
  return withArity({
    /** pov_getBounty(id): the bounty, its submissions, their evaluation jobs and metrics, or null. */
    pov_getBounty: async ([id]) => {
      const b = await registry.bounty(assetId(id))
      if (!b) return null
      const jobs = new Map<string, { job: MarketJob; session?: MarketSession }>()
      for (const s of b.submissions) {
        if (s.jobId === NO_JOB) continue
        const job = await market.job(s.jobId as Hex)
        if (job) jobs.set(s.jobId, { job, ...(await market.session(job.session).then((x) => (x ? { session: x } : {}))) })
      }
      return bountyJson(b, await registry.read<bigint>('evaluationWindow'), jobs)
    },
    /** pov_getAsset(id): the asset with its score, or null. */
    pov_getAsset: async ([id]) => {
      const a = await registry.asset(assetId(id))
      return a ? assetJson(a, await registry.score(a.id)) : null
    },
    /** pov_getAssetScore(id): usage, client ratings, the Bayesian rating score and the ranking score, or null. */
    pov_getAssetScore: async ([id]) => {
      const a = await registry.asset(assetId(id))
      return a ? scoreJson(a, await registry.score(a.id)) : null
    },
    /**
     * pov_listAssets({kind?, mode?, owner?, sort?, offset?, limit?}): a page of assets matching the
     * filters, sorted by id (default), score, usage or new (latest first); `total` counts all matches.
     */
    pov_listAssets: async ([filter]) => {
      const f = (filter ?? {}) as Record<string, unknown>
      if (typeof f !== 'object') throw badAssetParams('the filter must be an object')
      const kind = oneOf(f.kind, ASSET_KINDS, 'kind')
      const mode = oneOf(f.mode, ASSET_ACCESS, 'mode')
      const sort = oneOf(f.sort, ['id', 'score', 'usage', 'new'] as const, 'sort') ?? 'id'
      let owner: Address | undefined
      if (f.owner !== undefined && f.owner !== null) {
        if (typeof f.owner !== 'string' || !isAddress(f.owner, { strict: false })) throw badAssetParams('owner must be an address')
        owner = getAddress(f.owner)
      }
      const offset = count(f.offset, 'offset', 0)
      const limit = Math.min(count(f.limit, 'limit', 20), MAX_ASSET_PAGE)
      const n = await registry.count()
      const rows: { a: RegisteredAsset; s: AssetScore }[] = []
      for (let id = 1n; id <= n; id++) {
        const a = (await registry.asset(id))!
        if ((kind && a.kind !== kind) || (mode && a.access !== mode) || (owner && a.owner !== owner)) continue
        rows.push({ a, s: await registry.score(id) })
      }
      const key = (r: { a: RegisteredAsset; s: AssetScore }) => (sort === 'score' ? r.s.score : sort === 'usage' ? r.a.usage : 0n)
      if (sort === 'new') rows.reverse()
      else if (sort !== 'id') rows.sort((x, y) => (key(y) > key(x) ? 1 : key(y) < key(x) ? -1 : x.a.id < y.a.id ? -1 : 1))
      return { total: rows.length, offset, assets: rows.slice(offset, offset + limit).map((r) => assetJson(r.a, r.s)) }
    },
  }, { pov_getBounty: [1, 1], pov_getAsset: [1, 1], pov_getAssetScore: [1, 1], pov_listAssets: [0, 1] })
}
