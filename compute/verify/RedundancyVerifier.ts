import type { Hash32 } from '../ContentHash.js'

export interface RedundantSubmission {
  worker: string
  resultHash: Hash32
}

export interface RedundancyDecision {
  verdict: 'accept' | 'undecided'
  resultHash?: Hash32
  agreeing: string[]
  /** Workers whose result differs from the accepted one: candidates for penalty. */
  dissenting: string[]
}

/**
 * Redundant execution for jobs that cannot be re-executed bit-exactly: n workers run the same
 * spec and a quorum agreeing on one result hash decides. Each worker counts once.
 */
export function decideByQuorum(submissions: readonly RedundantSubmission[], quorum: number): RedundancyDecision {
  const byWorker = new Map<string, Hash32>()
  for (const s of submissions) if (!byWorker.has(s.worker)) byWorker.set(s.worker, s.resultHash)
  const votes = new Map<Hash32, string[]>()
  for (const [w, h] of byWorker) votes.set(h, [...(votes.get(h) ?? []), w])
  let best: [Hash32, string[]] | undefined
  for (const [h, ws] of votes) if (!best || ws.length > best[1].length) best = [h, ws]
  if (!best || best[1].length < quorum) return { verdict: 'undecided', agreeing: [], dissenting: [] }
  const [hash, agreeing] = best
  const dissenting = [...byWorker].filter(([, h]) => h !== hash).map(([w]) => w)
  return { verdict: 'accept', resultHash: hash, agreeing, dissenting }
}
