import { encodeAbiParameters, encodeFunctionData, keccak256, type Hex } from 'viem'
import { contentHash } from '../../compute/ContentHash.js'
import { canonicalJsonBytes } from '../../compute/data/CanonicalJson.js'
import { decodeJson, encodeJobSpec, jobSpecHash, type JobSpec } from '../../compute/spec/JobSpec.js'
import { decodeModel } from '../../compute/workloads/MlpInferWorkload.js'
import { validateJobSpec } from '../../compute/workloads/WorkloadRegistry.js'
import { WORK_MARKET_ADDRESS, workMarketAbi } from '../../genesis/WorkMarketGenesis.js'
import { verifierCount, workloadId } from '../client/JobEstimate.js'
import { WorkMarketReader } from '../client/WorkMarketReader.js'
import { decodeMetadataUri } from './AssetMetadata.js'
import type { AssetClient } from './AssetClient.js'
import { AssetError } from './AssetError.js'
import { describeRegistryRevert, encodeRegistryCall, type RegisteredBounty } from './AssetRegistryReader.js'

/** Largest model blob read to size an evaluation job. */
const MAX_MODEL_BYTES = 64 * 1024 * 1024

/**
 * The inference spec that evaluates bounty submission `model` (its blob hash) on the bounty's
 * held-out input: the `mlp-infer@1` workload, embedded runtime, every segment re-executed by one verifier.
 * AssetRegistry.linkEvaluation checks these very fields in the spec's canonical JSON.
 */
export function evaluationSpec(modelHash: Hex, inputHash: Hex, o: { batchSize?: number; timeoutSec?: number; verifiers?: number } = {}): JobSpec {
  return validateJobSpec({
    version: 1,
    kind: 'infer',
    runtime: { type: 'embedded' },
    workload: { id: 'mlp-infer', version: 1 },
    dataset: inputHash.toLowerCase(),
    model: modelHash.toLowerCase(),
    params: { batchSize: o.batchSize ?? 64 },
    seed: 0,
    checkpointInterval: 1,
    // every segment re-executed by each verifier (samples are capped at the segment count): what linkEvaluation requires
    verification: { mode: 'reexecution', samples: 10_000, verifiers: o.verifiers ?? 1 },
    resources: { cpus: 1, memoryMb: 256, gpus: 0, timeoutSec: o.timeoutSec ?? 300 },
  })
}

/**
 * Compute units of the evaluation, estimated without the held-out data (the submitter cannot
 * read it): the model's multiply-adds per row × an upper bound of the rows (the dataset's
 * plaintext bytes over 2 per value), at least 1.
 */
async function estimateUnits(c: AssetClient, b: RegisteredBounty, model: { id: bigint; contentHash: Hex; access: string }): Promise<bigint> {
  const ds = await c.registry.asset(b.datasetId)
  const meta = ds ? decodeMetadataUri(ds.uri, ds.metadataHash) : undefined
  const size = BigInt(meta?.size ?? Number(ds?.size ?? 0n))
  let sizes: number[]
  try {
    const auth = model.access === 'paid' ? await c.signBlobRequest(model.contentHash) : undefined
    sizes = decodeModel(await c.getBlob(model.contentHash, MAX_MODEL_BYTES, auth)).sizes
  } catch {
    return 1n // not readable here: the smallest job; the price can be raised with --price
  }
  let macs = 0n
  for (let i = 0; i + 1 < sizes.length; i++) macs += BigInt(sizes[i]!) * BigInt(sizes[i + 1]!)
  const rows = size / (2n * BigInt(sizes[0]! + 1)) + 1n
  const units = (macs * rows + 999_999n) / 1_000_000n
  return units > 0n ? units : 1n
}

/**
 * Posts the WorkMarket job that evaluates submission `index` of bounty `b` and links it
 * (`linkEvaluation`) in two transactions signed back to back: the market assigns a worker
 * when the job is posted, and the worker needs the link (its job grant of the closed
 * held-out dataset follows from it). The job id is known in advance:
 * keccak256(abi.encode(chainid, client, specHash, jobNonce(client))).
 */
export async function postEvaluationJob(c: AssetClient, b: RegisteredBounty, index: number, o: { price?: bigint; units?: bigint; deadlineSec?: bigint } = {}) {
  const sub = b.submissions[index]
  if (!sub) throw new AssetError('NO_SUBMISSION', `bounty ${b.id} has no submission ${index} (it has ${b.submissions.length})`)
  const model = await c.registry.asset(sub.modelId)
  if (!model) throw new AssetError('NO_ASSET', `no model asset ${sub.modelId}`)
  const spec = evaluationSpec(model.contentHash, b.inputHash)
  const specBytes = encodeJobSpec(spec)
  const specHash = jobSpecHash(spec)
  await c.putBlob(specBytes)
  const units = o.units ?? (await estimateUnits(c, b, model))
  const marketAbi = workMarketAbi()
  const price = o.price ?? BigInt(await c.chain.call(WORK_MARKET_ADDRESS, encodeFunctionData({ abi: marketAbi, functionName: 'estimatePrice', args: [units] })))
  const rpc = c.chain.rpc
  const nonce = BigInt(await c.chain.call(WORK_MARKET_ADDRESS, encodeFunctionData({ abi: marketAbi, functionName: 'jobNonce', args: [c.from] })))
  const chainId = BigInt(await rpc.request<Hex>('eth_chainId'))
  const jobId = keccak256(encodeAbiParameters([{ type: 'uint256' }, { type: 'address' }, { type: 'bytes32' }, { type: 'uint256' }], [chainId, c.from, specHash, nonce]))
  const head = await c.chain.head()
  const now = BigInt(Math.floor(Date.now() / 1000))
  const deadline = (head.timestamp > now ? head.timestamp : now) + (o.deadlineSec ?? 3600n)
  const post = encodeFunctionData({ abi: marketAbi, functionName: 'postJob', args: [specHash, workloadId(spec), deadline, BigInt(spec.resources.timeoutSec) + 60n, units, verifierCount(spec)] })
  const link = encodeRegistryCall('linkEvaluation', [b.id, BigInt(index), jobId, `0x${Buffer.from(specBytes).toString('hex')}`])
  const [p, l] = await c.sendBackToBack([
    { to: WORK_MARKET_ADDRESS, data: post, value: price },
    { to: c.registry.address, data: link },
  ])
  if (!p!.ok) throw new AssetError('REVERTED', `postJob ${p!.hash} reverted (check the price and the deadline with \`povchain job estimate\`)`)
  if (!l!.ok) {
    const why = await rpc.request('eth_call', [{ from: c.from, to: c.registry.address, data: link }, 'latest']).then(
      () => undefined,
      (e: { data?: Hex }) => describeRegistryRevert(e.data),
    )
    throw new AssetError('REVERTED', `evaluation job ${jobId} was posted, but linkEvaluation ${l!.hash} reverted${why ? `: ${why}` : ''}`)
  }
  return { jobId, specHash, price, units, postTx: p!.hash, linkTx: l!.hash }
}

/**
 * The metrics document of an accepted evaluation job, exactly as its session committed it:
 * the accepted session's record (its `manifest` blob, served by the nodes) holds the metrics;
 * their canonical JSON must hash to the commitment's `metricsHash`, which is what
 * AssetRegistry.evaluate checks again on chain.
 */
export async function acceptedMetrics(c: AssetClient, jobId: Hex): Promise<{ bytes: Uint8Array; metrics: Record<string, unknown>; metricsHash: Hex; sessionId: Hex }> {
  const market = new WorkMarketReader(c.chain)
  const job = await market.job(jobId)
  if (!job) throw new AssetError('NO_JOB', `no WorkMarket job ${jobId}`)
  if (job.status !== 'accepted') throw new AssetError('JOB_NOT_ACCEPTED', `evaluation job ${jobId} is ${job.status}, not accepted yet (its verified session decides)`)
  const s = await market.session(job.session)
  if (!s) throw new AssetError('NO_JOB', `job ${jobId}: no session ${job.session}`)
  const record = decodeJson(await c.getBlob(s.result.manifest, 64 * 1024 * 1024), `session record ${s.result.manifest}`) as { metrics?: Record<string, unknown> }
  if (!record.metrics || typeof record.metrics !== 'object') throw new AssetError('NO_METRICS', `the session record ${s.result.manifest} of job ${jobId} holds no metrics`)
  const bytes = canonicalJsonBytes(record.metrics)
  if (contentHash(bytes) !== s.result.metricsHash) throw new AssetError('METRICS_MISMATCH', `the metrics in session record ${s.result.manifest} hash to ${contentHash(bytes)}, the accepted commitment says ${s.result.metricsHash}`)
  return { bytes, metrics: record.metrics, metricsHash: s.result.metricsHash, sessionId: job.session }
}
