import { u64ToBytes } from '../../common/bytes.js'
import { contentHash, domainHash, hashBytes, isHash32, type Hash32 } from '../ContentHash.js'
import { ComputeError } from '../ComputeError.js'
import { canonicalJsonBytes } from '../data/CanonicalJson.js'
import type { WorkloadMetrics } from '../workloads/Workload.js'
import { merkleRoot } from './CheckpointMerkle.js'

/**
 * What a worker commits on chain for a session: the spec it ran, the Merkle root of its
 * checkpoint hashes (and how many there are), the result's content hash and the hash of its
 * final metrics. `commitment` is one hash binding all of them.
 */
export interface SessionCommitment {
  version: 1
  specHash: Hash32
  checkpointInterval: number
  totalSteps: number
  checkpointCount: number
  checkpointRoot: Hash32
  resultHash: Hash32
  metricsHash: Hash32
  commitment: Hash32
}

export function metricsHash(metrics: WorkloadMetrics): Hash32 {
  return contentHash(canonicalJsonBytes(metrics))
}

export function checkpointHash(state: Uint8Array): Hash32 {
  return domainHash('povchain/checkpoint/v1', state)
}

export function commitmentHash(c: Omit<SessionCommitment, 'commitment' | 'version'>): Hash32 {
  return domainHash(
    'povchain/session-commitment/v1',
    hashBytes(c.specHash),
    u64ToBytes(c.checkpointInterval),
    u64ToBytes(c.totalSteps),
    u64ToBytes(c.checkpointCount),
    hashBytes(c.checkpointRoot),
    hashBytes(c.resultHash),
    hashBytes(c.metricsHash),
  )
}

export function buildCommitment(args: {
  specHash: Hash32
  checkpointInterval: number
  totalSteps: number
  checkpoints: readonly Hash32[]
  resultHash: Hash32
  metricsHash: Hash32
}): SessionCommitment {
  const base = {
    specHash: args.specHash,
    checkpointInterval: args.checkpointInterval,
    totalSteps: args.totalSteps,
    checkpointCount: args.checkpoints.length,
    checkpointRoot: merkleRoot(args.checkpoints),
    resultHash: args.resultHash,
    metricsHash: args.metricsHash,
  }
  return { version: 1, ...base, commitment: commitmentHash(base) }
}

/** Parses a commitment from JSON and checks that `commitment` really binds the other fields. */
export function parseCommitment(v: unknown): SessionCommitment {
  const bad = (f: string, m: string) => new ComputeError('COMPUTE_VERIFY_INPUT', `invalid commitment: ${f}: ${m}`, { field: f })
  if (typeof v !== 'object' || v === null) throw bad('$', 'must be a JSON object')
  const c = v as Record<string, unknown>
  for (const f of ['specHash', 'checkpointRoot', 'resultHash', 'metricsHash', 'commitment']) if (!isHash32(c[f])) throw bad(f, 'must be a 32-byte hex hash')
  for (const f of ['checkpointInterval', 'totalSteps', 'checkpointCount']) {
    if (!Number.isSafeInteger(c[f]) || (c[f] as number) < 0) throw bad(f, 'must be a non-negative integer')
  }
  const parsed = c as unknown as SessionCommitment
  if (commitmentHash(parsed) !== parsed.commitment) throw bad('commitment', 'does not match the hash of the other fields')
  return { ...parsed, version: 1 }
}
