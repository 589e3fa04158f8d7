import type { Address, Hex } from 'viem'
import type { Logger } from '../../common/logger.js'
import type { Metrics } from '../../common/metrics.js'
import type { Hash32 } from '../../compute/ContentHash.js'
import { decodeJson } from '../../compute/spec/JobSpec.js'
import { merkleProof } from '../../compute/verify/CheckpointMerkle.js'
import { ReexecutionVerifier } from '../../compute/verify/ReexecutionVerifier.js'
import { DEFAULT_SAMPLING_POLICY, type SamplingPolicy } from '../../compute/verify/SamplingPolicy.js'
import type { SessionCommitment } from '../../compute/verify/SessionCommitment.js'
import type { WorkloadInputs } from '../../compute/workloads/Workload.js'
import type { SessionRecord } from '../../compute/worker/SessionStore.js'
import { parseSpecBlob } from '../client/MarketRpcMethods.js'
import type { MarketJob, MarketSession, WorkMarketReader } from '../client/WorkMarketReader.js'
import type { BlobFetcher } from './BlobFetcher.js'
import type { JobAssetInputs } from './JobAssetInputs.js'

export interface SessionVerdict {
  accept: boolean
  reason: string
  /**
   * What the vote reveals (revealFinding): the segment a reject names — only a segment whose
   * re-execution did not reproduce the committed checkpoint, a fraud claim a panel can re-check
   * (NO_SEGMENT_NAMED for a fault of the whole session) — and how many segments of the seeded
   * order were sampled. Absent when nothing was re-executed.
   */
  finding?: { segment: number; samples: number; segments?: number[] }
}

/** WorkMarket.MAX_NAMED: the most segments one revealFindings names (the lowest). */
export const MAX_NAMED_SEGMENTS = 32

/** WorkMarket.NO_SEGMENT: a reject that names no segment, or an accept. */
export const NO_SEGMENT_NAMED = 0xffff_ffff

/** Evidence that names a segment a panel re-executes: the replay of a sampled segment went wrong. */
const SEGMENT_REASONS = new Set(['segment-mismatch', 'bad-checkpoint'])

/**
 * A verifier's check of one committed session of a re-execution job (redundancy and tolerance
 * jobs have no verifiers: WorkMarket compares their replicas; a container job is never
 * re-executed): fetch the spec, the inputs and the worker's
 * session record (the committed `manifest`), then re-execute the segments drawn for this
 * verifier (compute's ReexecutionVerifier, seeded by the market's verifierSeed) from the
 * worker's checkpoints, each checked against the committed Merkle root. How many segments is
 * policy: the spec's samples, its own target, this node's floor (`sampling`, by default
 * DEFAULT_SAMPLING_POLICY) and the market's per-session bound for the round's verifier count
 * (samplesDue = WorkMarket.samplesDue), whichever needs most.
 */
export class SessionVerifier {
  private readonly verifier: ReexecutionVerifier

  constructor(
    private readonly d: { market: WorkMarketReader; fetcher: BlobFetcher; logger: Logger; metrics: Metrics; sampling?: SamplingPolicy; assets?: JobAssetInputs },
  ) {
    this.verifier = new ReexecutionVerifier({ policy: d.sampling ?? DEFAULT_SAMPLING_POLICY }, { logger: d.logger, metrics: d.metrics })
  }

  /**
   * Loads the job's spec and inputs (used by workers too), as identity `me` may read them: a
   * closed asset the job uses is decrypted with `me`'s job grant for this job — a verifier asks
   * for its own (`requestJobGrants` records the drawn verifiers') — through JobAssetInputs,
   * which throws ASSET_GRANT_PENDING while the owner's node has not answered yet.
   */
  async jobInputs(job: MarketJob, me?: Address): Promise<{ spec: ReturnType<typeof parseSpecBlob>; inputs: WorkloadInputs }> {
    const spec = parseSpecBlob(await this.d.fetcher.get(job.specHash), job.specHash)
    const inputs: WorkloadInputs = {}
    const input = (h: Hex) => (this.d.assets ? this.d.assets.input(h, job, me) : this.d.fetcher.get(h))
    if (spec.dataset) inputs.dataset = await input(spec.dataset as Hex)
    if (spec.model) inputs.model = await input(spec.model as Hex)
    return { spec, inputs }
  }

  async verify(session: MarketSession, job: MarketJob, me: Address): Promise<SessionVerdict> {
    if (job.mode !== 'reexecution') return { accept: false, reason: `a ${job.mode} job has no verifiers: its replicas are compared by the contract` }
    const { spec, inputs } = await this.jobInputs(job, me)
    // Re-execution replays the built-in workloads in JavaScript; it says nothing about what an image computes.
    if (spec.runtime.type === 'docker') return { accept: false, reason: 'a container job cannot be verified by re-execution; it must be posted in redundant or tolerance mode' }
    const c = session.result
    const commitment: SessionCommitment = {
      version: 1,
      specHash: job.specHash as Hash32,
      checkpointInterval: Number(c.checkpointInterval),
      totalSteps: Number(c.totalSteps),
      checkpointCount: Number(c.checkpointCount),
      checkpointRoot: c.checkpointRoot as Hash32,
      resultHash: c.resultHash as Hash32,
      metricsHash: c.metricsHash as Hash32,
      commitment: c.commitment as Hash32,
    }
    const record = decodeJson(await this.d.fetcher.get(c.manifest), 'session record') as SessionRecord
    if (record.format !== 'povchain-session' || !Array.isArray(record.checkpoints) || !Array.isArray(record.checkpointBlobs) || record.checkpoints.length !== record.checkpointBlobs.length)
      return { accept: false, reason: 'the committed manifest is not a session record' }
    const randomness = await this.d.market.verifierSeed(session.sessionId, me)
    // A round-1 panel member re-executes every segment round 0's rejects named, then its own sample.
    const claims = session.round > 0 ? await this.d.market.claimedSegments(session.sessionId) : []
    const report = await this.verifier.verify({
      spec,
      inputs,
      commitment,
      randomness,
      claims,
      // The market judges a missed forgery by the sample its round's size requires (samplesDue).
      verifiers: session.verifiers.length,
      source: {
        checkpoint: async (index: number) => {
          const hash = record.checkpoints[index]
          const blob = record.checkpointBlobs[index]
          if (!hash || !blob) throw new Error(`the record has no checkpoint ${index}`)
          return { hash, state: await this.d.fetcher.get(blob as Hex), proof: merkleProof(record.checkpoints, index) }
        },
      },
    })
    const claimed = report.claimed.length ? `claimed ${report.claimed.join(', ')} and ` : ''
    if (report.verdict === 'accept') return { accept: true, reason: `re-executed ${claimed}segments ${report.segments.join(', ')} of ${report.segmentCount}`, finding: { segment: NO_SEGMENT_NAMED, samples: report.samples, segments: [] } }
    const e = report.evidence!
    const named = SEGMENT_REASONS.has(e.reason) && e.segment >= 0 && e.segment < report.segmentCount ? e.segment : NO_SEGMENT_NAMED
    // Every segment found forged (ascending, the lowest MAX_NAMED), not only the first: WorkMarket.revealFindings.
    const segments = named === NO_SEGMENT_NAMED ? [] : report.forged.slice(0, MAX_NAMED_SEGMENTS)
    return { accept: false, reason: `${e.reason} (segment ${e.segment}${report.forged.length > 1 ? `; ${report.forged.length} forged` : ''}${e.detail ? `: ${e.detail}` : ''})`, finding: { segment: named, samples: report.samples, segments } }
  }
}
