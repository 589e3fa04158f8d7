import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Hex } from 'viem'

export interface VoteRecord {
  round: number
  accept: boolean
  salt: Hex
  /** Why (the verifier's evidence), for logs and the operator. */
  reason?: string
  /**
   * Committed with findingHash (revealed with revealFinding): the segment a reject names
   * (NO_SEGMENT_NAMED: none) and the sample size declared. Absent: a plain voteHash vote, a
   * reject only (WorkMarket refuses an accept that declares no sample).
   */
  finding?: { segment: number; samples: number; segments?: number[] }
}

/**
 * A verifier's committed votes and their salts, on disk before the commitment is sent: a
 * restarted node can still reveal (a vote it cannot reveal costs its bond).
 */
export class VoteBook {
  private votes: Record<string, VoteRecord>

  constructor(private readonly file: string) {
    try {
      this.votes = JSON.parse(readFileSync(file, 'utf8')) as Record<string, VoteRecord>
    } catch {
      this.votes = {}
    }
  }

  get(sessionId: Hex, round: number): VoteRecord | undefined {
    const v = this.votes[sessionId]
    return v && v.round === round ? v : undefined
  }

  put(sessionId: Hex, v: VoteRecord): void {
    this.votes[sessionId] = v
    this.save()
  }

  forget(sessionId: Hex): void {
    if (!(sessionId in this.votes)) return
    delete this.votes[sessionId]
    this.save()
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true })
    const tmp = `${this.file}.tmp`
    writeFileSync(tmp, JSON.stringify(this.votes))
    renameSync(tmp, this.file)
  }
}
