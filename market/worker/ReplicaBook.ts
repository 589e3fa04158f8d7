import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Hex } from 'viem'
import type { MarketCommitment } from '../client/WorkMarketReader.js'

/** What a replica sealed: everything its reveal must show again. */
export interface ReplicaRecord {
  commitment: MarketCommitment
  /** The tolerance metric in nano-units, as a decimal string (0 in redundancy mode). */
  metric: string
  /** Tolerance: the canonical metrics JSON (0x-hex) the reveal shows; it hashes to the committed metricsHash. */
  metrics?: Hex
  salt: Hex
}

/**
 * A worker's sealed replica results and their salts, on disk before the seal is sent: a restarted
 * node can still reveal (a sealed result it cannot reveal costs slashBps of its bond).
 */
export class ReplicaBook {
  private records: Record<string, ReplicaRecord>

  constructor(private readonly file: string) {
    try {
      this.records = JSON.parse(readFileSync(file, 'utf8')) as Record<string, ReplicaRecord>
    } catch {
      this.records = {}
    }
  }

  get(sessionId: Hex): ReplicaRecord | undefined {
    return this.records[sessionId.toLowerCase()]
  }

  put(sessionId: Hex, r: ReplicaRecord): void {
    this.records[sessionId.toLowerCase()] = r
    this.save()
  }

  forget(sessionId: Hex): void {
    if (!(sessionId.toLowerCase() in this.records)) return
    delete this.records[sessionId.toLowerCase()]
    this.save()
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true })
    const tmp = `${this.file}.tmp`
    // bigint fields of the commitment go as strings
    writeFileSync(tmp, JSON.stringify(this.records, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
    renameSync(tmp, this.file)
  }
}
