import { getAddress, isAddress, type Address, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { isHash32 } from '../../compute/ContentHash.js'
import { decodeJson, jobSpecHash } from '../../compute/spec/JobSpec.js'
import { validateJobSpec } from '../../compute/workloads/WorkloadRegistry.js'
import type { BlobStore } from '../../compute/worker/BlobStore.js'
import { loadJobInputs } from '../../compute/worker/JobInputs.js'
import { badParams, JobError } from './JobError.js'
import { jobUnits } from './JobEstimate.js'
import { jobVerification } from './JobVerification.js'
import type { MarketJob, MarketReceipt, MarketSession, MarketWorker, WorkMarketReader } from './WorkMarketReader.js'
import { withArity, type ExtraMethod } from '../../rpc/RpcBackend.js'


/** Largest blob pov_putBlob accepts and the largest chunk pov_getBlob returns. */
export const RPC_BLOB_CHUNK = 1024 * 1024

const q = (n: bigint | number) => `0x${BigInt(n).toString(16)}`

/** pov_estimateJob's `units` option: a positive integer (number, decimal or 0x-hex string), or absent. */
function statedUnits(v: unknown): bigint | undefined {
  if (v === undefined || v === null) return undefined
  let n: bigint
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v)
  else if (typeof v === 'string' && /^(0x[0-9a-fA-F]{1,16}|[0-9]{1,19})$/.test(v)) n = BigInt(v)
  else throw badParams('units must be a positive integer (a number or a decimal or 0x-hex string)')
  if (n < 1n || n > (1n << 63n) - 1n) throw badParams('units must be a positive integer below 2^63')
  return n
}

export function jobJson(j: MarketJob, sessions: Hex[] = []) {
  return {
    jobId: j.jobId,
    client: j.client,
    status: j.status,
    control: j.control,
    specHash: j.specHash,
    workloadId: j.workloadId,
    price: q(j.price),
    deadline: q(j.deadline),
    maxDuration: q(j.maxDuration),
    units: q(j.units),
    verifiers: j.verifiers,
    mode: j.mode,
    replicas: j.replicas,
    epsilon: q(j.epsilon ?? 0n),
    image: j.image,
    attempts: j.attempts,
    postedAt: q(j.postedAt),
    rated: j.rated,
    session: j.session,
    sessions,
  }
}

export function sessionJson(s: MarketSession, receipt?: MarketReceipt, job?: MarketJob) {
  const c = s.result
  return {
    sessionId: s.sessionId,
    jobId: s.jobId,
    worker: s.worker,
    status: s.status,
    // What the work is worth: the receipt's value once final, the job's price before.
    value: q(receipt ? receipt.value : (job?.price ?? 0n)),
    protocolFee: receipt ? q(receipt.protocolFee) : undefined,
    trap: s.trap,
    round: s.round,
    assignedAt: q(s.assignedAt),
    commitBy: q(s.commitBy),
    committedAt: q(s.committedAt),
    commitBlock: q(s.commitBlock),
    finalizedAt: q(s.finalizedAt),
    commitment:
      s.status === 'assigned' || s.status === 'sealed'
        ? null
        : {
            commitment: c.commitment,
            resultHash: c.resultHash,
            checkpointRoot: c.checkpointRoot,
            checkpointCount: q(c.checkpointCount),
            checkpointInterval: q(c.checkpointInterval),
            totalSteps: q(c.totalSteps),
            metricsHash: c.metricsHash,
            manifest: c.manifest,
          },
    randomness: s.randomness,
    verifiers: s.verifiers,
    votesBy: q(s.votesBy),
    revealBy: q(s.revealBy),
  }
}

export function receiptJson(r: MarketReceipt) {
  return {
    jobId: r.jobId,
    sessionId: r.sessionId,
    worker: r.worker,
    client: r.client,
    value: q(r.value),
    protocolFee: q(r.protocolFee),
    workloadId: r.workloadId,
    block: q(r.blockNumber),
    timestamp: q(r.timestamp),
    status: r.status,
    control: r.control,
    mode: r.mode,
  }
}

export function workerJson(w: MarketWorker) {
  return {
    address: w.address,
    registered: w.registered,
    bond: q(w.bond),
    capacity: q(w.capacity),
    slots: w.slots,
    running: w.running,
    pending: w.pending,
    rating: w.rating,
    exitAt: q(w.exitAt),
    endpoint: w.endpoint,
    offers: w.offers,
    minUnitPrice: q(w.minUnitPrice ?? 0n),
    successes: w.successes,
    failures: w.failures,
    controlsPassed: w.controlsPassed,
    controlsFailed: w.controlsFailed,
    verifications: w.verifications,
    verifierFaults: w.verifierFaults,
    clientRatings: w.clientRatings,
    averageStars: w.clientRatings ? w.clientStars / w.clientRatings : null,
    /** Bond held for pending votes; timely accepted sessions (slots grow with them); measured units/s × 1000. */
    locked: q(w.locked ?? 0n),
    timely: w.timely ?? 0,
    measuredCapacity: q(w.measuredCapacity ?? 0n),
  }
}

const hash32 = (v: unknown, what: string): Hex => {
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(v)) throw badParams(`${what} must be a 32-byte 0x-hex hash`)
  return v.toLowerCase() as Hex
}
const address = (v: unknown, what: string): Address => {
  if (typeof v !== 'string' || !isAddress(v, { strict: false })) throw badParams(`${what} must be an address`)
  return getAddress(v)
}

/**
 * The pov_ methods of the work market: jobs, sessions, receipts, workers, estimates, and the
 * node's blob store (how clients upload specs and datasets and download results, and how
 * workers exchange checkpoints until they do it over the network's blob protocol).
 */
export function marketRpcMethods(d: {
  market: WorkMarketReader
  blobs: BlobStore
  /** Who may read which blob (market/assets/AssetNodeService.ts): throws when this read is refused. */
  blobAccess?: { checkRpcRead(hash: Hex, offset: number, length: number, auth: unknown): Promise<void>; challenge(): { nonce: Hex; expires: number } }
}): Record<string, ExtraMethod> {
  const { market, blobs } = d
  return withArity({
    pov_getJob: async ([id]) => {
      const jobId = hash32(id, 'jobId')
      const j = await market.job(jobId)
      return j ? jobJson(j, await market.sessionsOfJob(jobId)) : null
    },
    pov_getSession: async ([id]) => {
      const sid = hash32(id, 'sessionId')
      const s = await market.session(sid)
      if (!s) return null
      return sessionJson(s, await market.receipt(sid), await market.job(s.jobId))
    },
    pov_getReceipts: async ([who]) => (await market.receiptsOf(address(who, 'address'))).map(receiptJson),
    pov_getWorker: async ([who]) => {
      const w = await market.worker(address(who, 'address'))
      return w.registered || w.registeredAt > 0n ? workerJson(w) : null
    },
    pov_getWorkers: async () => Promise.all((await market.workers()).map(async (a) => workerJson(await market.worker(a)))),
    /** pov_listJobs({client?}): a client's jobs, or the open jobs. */
    pov_listJobs: async ([filter]) => {
      if (filter !== undefined && filter !== null && (typeof filter !== 'object' || Array.isArray(filter))) throw badParams('the filter must be an object { client? }')
      const f = (filter ?? {}) as { client?: unknown }
      const ids = f.client !== undefined ? await market.jobsOf(address(f.client, 'client')) : await market.openJobs()
      const out = []
      for (const id of ids) {
        const j = await market.job(id)
        if (j) out.push(jobJson(j))
      }
      return out
    },
    /**
     * pov_estimateJob(spec, {units?}): compute units of the spec and its price at recent prices
     * per unit — `price` what the job costs in its verification mode (once per replica),
     * `replicaPrice` one run's. `units` (a positive integer or hex quantity) states the units of an
     * image's own workload, which this node cannot count (as `job estimate --units`); a built-in
     * workload's are counted from its steps unless stated.
     */
    pov_estimateJob: async ([specJson, options]) => {
      if (typeof specJson !== 'object' || specJson === null) throw badParams('spec must be a job spec object')
      if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) throw badParams('options must be an object {units?}')
      const stated = statedUnits((options as { units?: unknown } | null | undefined)?.units)
      let spec
      let mode
      try {
        spec = validateJobSpec(specJson)
        mode = jobVerification(spec)
      } catch (e) {
        throw badParams((e as Error).message)
      }
      let units: bigint
      try {
        units = jobUnits(spec, await loadJobInputs(blobs, spec), stated)
      } catch (e) {
        if (e instanceof JobError && e.code === 'JOB_UNITS') throw badParams(e.message.replace('--units N', 'the units option ({"units": N})'))
        throw e
      }
      const [unitPrice, replicaPrice] = await Promise.all([market.unitPrice(), market.estimatePrice(units)])
      const price = replicaPrice * BigInt(mode.replicas)
      const workers = await market.workers()
      // Seconds at the first worker's measured speed (units/s × 1000), else at what it declared.
      let milliCapacity = 0n
      for (const a of workers) {
        if (milliCapacity > 0n) break
        const w = await market.worker(a)
        milliCapacity = (w.measuredCapacity ?? 0n) > 0n ? w.measuredCapacity : w.capacity * 1000n
      }
      const capacity = milliCapacity
      return { specHash: jobSpecHash(spec), units: q(units), unitPrice: q(unitPrice), mode: spec.verification.mode, replicas: mode.replicas, replicaPrice: q(replicaPrice), price: q(price), workers: workers.length, seconds: capacity > 0n ? (Number(units) * 1000) / Number(capacity) : null }
    },
    /**
     * pov_getBlob(hash, offset?, length?, auth?): {total, data} of a blob this node holds, or null.
     * A paid asset's blob needs `auth`, a signed blob request (market/assets/DownloadAuth.ts)
     * addressed to this node's origin, with a challenge from pov_blobChallenge; it reads each
     * chunk (offset) once.
     */
    pov_getBlob: async ([h, offset, length, auth]) => {
      const hash = hash32(h, 'hash')
      if (!(await blobs.has(hash))) return null
      const from = offset === undefined ? 0 : Number(offset)
      const len = Math.min(RPC_BLOB_CHUNK, length === undefined ? RPC_BLOB_CHUNK : Number(length))
      if (!Number.isSafeInteger(from) || from < 0 || !Number.isSafeInteger(len) || len < 0) throw badParams('offset and length must be non-negative integers')
      await d.blobAccess?.checkRpcRead(hash, from, len, auth)
      const bytes = await blobs.get(hash)
      return { total: bytes.length, data: bytesToHex(bytes.subarray(from, from + len)) }
    },
    /**
     * pov_blobChallenge(): {nonce, expires}, a one-time nonce of this node for a signed blob
     * request over pov_getBlob (valid 300 s; market/assets/BlobChallenges.ts).
     */
    pov_blobChallenge: async () => {
      if (!d.blobAccess) throw badParams('this node serves no gated blobs: pov_getBlob needs no signed request')
      return d.blobAccess.challenge()
    },
    /** pov_putBlob(data): stores a blob (≤ 1 MiB per call) and returns its content hash. */
    pov_putBlob: async ([data]) => {
      if (typeof data !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(data)) throw badParams('data must be 0x-hex bytes')
      const bytes = hexToBytes(data)
      if (bytes.length > RPC_BLOB_CHUNK) throw badParams(`blob larger than ${RPC_BLOB_CHUNK} bytes`)
      return blobs.put(bytes)
    },
  }, {
    pov_getJob: [1, 1],
    pov_getSession: [1, 1],
    pov_getReceipts: [1, 1],
    pov_getWorker: [1, 1],
    pov_getWorkers: [0, 0],
    pov_listJobs: [0, 1],
    pov_estimateJob: [1, 2],
    pov_getBlob: [1, 4],
    pov_blobChallenge: [0, 0],
    pov_putBlob: [1, 1],
  })
}

/** Decodes a spec blob (canonical JSON) and checks it hashes to `specHash`. */
export function parseSpecBlob(bytes: Uint8Array, specHash: Hex) {
  const spec = validateJobSpec(decodeJson(bytes, 'spec blob'))
  if (!isHash32(specHash) || jobSpecHash(spec) !== specHash) throw new JobError('SPEC_MISMATCH', `the spec blob does not hash to ${specHash}`)
  return spec
}
