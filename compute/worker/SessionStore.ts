import { ComputeError } from '../ComputeError.js'
import { isHash32, type Hash32 } from '../ContentHash.js'
import { canonicalJsonBytes } from '../data/CanonicalJson.js'
import type { JobResult } from '../execution/JobExecution.js'
import { decodeJson, encodeJobSpec, type JobSpec } from '../spec/JobSpec.js'
import { merkleProof } from '../verify/CheckpointMerkle.js'
import type { CheckpointSource } from '../verify/ReexecutionVerifier.js'
import { parseCommitment, type SessionCommitment } from '../verify/SessionCommitment.js'
import { validateJobSpec } from '../workloads/WorkloadRegistry.js'
import type { BlobStore } from './BlobStore.js'

/** What a worker keeps of a session so it can answer verifiers: everything by content hash. */
export interface SessionRecord {
  format: 'povchain-session'
  version: 1
  commitment: SessionCommitment
  spec: Hash32
  checkpoints: Hash32[]
  /** Blob hashes of the checkpoint states, index-aligned with `checkpoints`. */
  checkpointBlobs: Hash32[]
  result: Hash32
  metrics: Record<string, unknown>
}

export class SessionStore {
  constructor(private readonly blobs: BlobStore) {}

  async save(spec: JobSpec, r: JobResult): Promise<SessionRecord> {
    const specBlob = await this.blobs.put(encodeJobSpec(spec))
    const checkpointBlobs: Hash32[] = []
    for (const c of r.checkpoints) checkpointBlobs.push(await this.blobs.put(c.state))
    const result = await this.blobs.put(r.result)
    const record: SessionRecord = {
      format: 'povchain-session',
      version: 1,
      commitment: r.commitment,
      spec: specBlob,
      checkpoints: r.checkpoints.map((c) => c.hash),
      checkpointBlobs,
      result,
      metrics: r.metrics,
    }
    const recordHash = await this.blobs.put(canonicalJsonBytes(record))
    await this.blobs.setRef(`session-${r.commitment.commitment.slice(2)}`, recordHash)
    return record
  }

  async load(commitment: Hash32): Promise<SessionRecord> {
    if (!isHash32(commitment)) throw new ComputeError('COMPUTE_VERIFY_INPUT', `not a commitment hash: ${String(commitment).slice(0, 80)}`)
    const ref = await this.blobs.getRef(`session-${commitment.slice(2)}`)
    if (!ref || !isHash32(ref)) throw new ComputeError('COMPUTE_BLOB_NOT_FOUND', `no session with commitment ${commitment} in ${this.blobs.dir}`)
    const rec = decodeJson(await this.blobs.get(ref), 'session record') as SessionRecord
    parseCommitment(rec.commitment)
    if (rec.commitment.commitment !== commitment) throw new ComputeError('COMPUTE_BLOB_CORRUPT', `session record ${ref} is for another commitment`)
    return rec
  }

  async spec(rec: SessionRecord): Promise<JobSpec> {
    return validateJobSpec(decodeJson(await this.blobs.get(rec.spec), 'stored spec'))
  }

  /** Serves checkpoints with Merkle proofs from the store (the worker's side of verification). */
  checkpointSource(rec: SessionRecord): CheckpointSource {
    return {
      checkpoint: async (index: number) => {
        const hash = rec.checkpoints[index]
        const blob = rec.checkpointBlobs[index]
        if (!hash || !blob) throw new ComputeError('COMPUTE_BLOB_NOT_FOUND', `session has no checkpoint ${index}`)
        return { hash, state: await this.blobs.get(blob), proof: merkleProof(rec.checkpoints, index) }
      },
    }
  }
}
