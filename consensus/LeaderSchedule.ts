import { bytesToHex, equalBytes } from '../common/bytes.js'
import type { BlockHeader } from '../chain/Header.js'

/**
 * INTERIM producer schedule — used until Proof of Value (issue 5) replaces it with leaders
 * drawn by weight from the epoch seed. It only needs the genesis `config.producers` list:
 *
 * - Time is cut into slots of `slotSeconds` from the genesis timestamp; a header's slot is
 *   the slot its timestamp falls in: `slot = (timestamp − genesisTimestamp) / slotSeconds`.
 * - The leader of slot s is `producers[s mod N]` (rank 0). The others are its backups in
 *   list order after it: rank r = (index − s) mod N.
 * - A backup of rank r may produce for slot s only if the leader stayed silent for
 *   r·`backupDelaySeconds`, which its header shows: `timestamp ≥ slotStart(s) + r·delay`,
 *   and the timestamp must still fall in slot s. With the defaults (2 s slots, 1 s delay)
 *   one backup per slot; with 1 s slots (the dev preset) none.
 * - Fork choice (ChainService) stays "longest chain first"; between branches of equal
 *   length it prefers the one whose tip is in turn (rank 0).
 *
 * With a single producer (`--dev`) every slot is its own and none of this changes anything.
 */
export interface LeaderScheduleOptions {
  producers: Uint8Array[]
  genesisTimestamp: bigint
  slotSeconds: number
  /** Seconds a backup of rank 1 waits for a silent leader (rank r waits r times this). */
  backupDelaySeconds?: number
}

export class LeaderSchedule {
  readonly producers: Uint8Array[]
  readonly genesisTimestamp: bigint
  readonly slotSeconds: bigint
  readonly backupDelaySeconds: bigint
  private readonly index = new Map<string, number>()

  constructor(opts: LeaderScheduleOptions) {
    this.producers = opts.producers
    this.genesisTimestamp = opts.genesisTimestamp
    this.slotSeconds = BigInt(opts.slotSeconds)
    this.backupDelaySeconds = BigInt(opts.backupDelaySeconds ?? 1)
    opts.producers.forEach((p, i) => this.index.set(bytesToHex(p), i))
  }

  get size(): number {
    return this.producers.length
  }

  /** The slot a timestamp (seconds) falls in; timestamps before genesis are in slot 0. */
  slotAt(timestamp: bigint): bigint {
    return timestamp <= this.genesisTimestamp ? 0n : (timestamp - this.genesisTimestamp) / this.slotSeconds
  }

  slotStart(slot: bigint): bigint {
    return this.genesisTimestamp + slot * this.slotSeconds
  }

  leader(slot: bigint): Uint8Array {
    return this.producers[Number(slot % BigInt(this.producers.length))]!
  }

  /** 0 for the slot's leader, r ≥ 1 for its r-th backup, undefined for a non-producer. */
  rank(producer: Uint8Array, slot: bigint): number | undefined {
    const i = this.index.get(bytesToHex(producer))
    if (i === undefined) return undefined
    const n = this.producers.length
    return (((i - Number(slot % BigInt(n))) % n) + n) % n
  }

  /** The earliest timestamp at which `producer` may seal a block for `slot`, or undefined if it may not. */
  earliestTimestamp(producer: Uint8Array, slot: bigint): bigint | undefined {
    const r = this.rank(producer, slot)
    if (r === undefined) return undefined
    const t = this.slotStart(slot) + BigInt(r) * this.backupDelaySeconds
    return t < this.slotStart(slot + 1n) ? t : undefined
  }

  inTurn(h: Pick<BlockHeader, 'producer' | 'slot'>): boolean {
    return this.rank(h.producer, h.slot) === 0
  }

  /** Why `h` breaks the schedule, or undefined if it keeps it. */
  violation(h: Pick<BlockHeader, 'producer' | 'slot' | 'timestamp' | 'number'>): string | undefined {
    const r = this.rank(h.producer, h.slot)
    if (r === undefined) return `${bytesToHex(h.producer)} is not a producer`
    if (this.slotAt(h.timestamp) !== h.slot) return `timestamp ${h.timestamp} is in slot ${this.slotAt(h.timestamp)}, not in its slot ${h.slot}`
    const earliest = this.earliestTimestamp(h.producer, h.slot)
    if (earliest === undefined) return `${bytesToHex(h.producer)} is backup #${r} of slot ${h.slot}, beyond the backups a slot allows`
    if (h.timestamp < earliest) return `backup #${r} of slot ${h.slot} sealed at ${h.timestamp}, before its turn at ${earliest}`
    return undefined
  }

  isProducer(a: Uint8Array): boolean {
    return this.producers.some((p) => equalBytes(p, a))
  }
}
