import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Address, Hex } from 'viem'
import { BridgeError } from './BridgeError.js'

export interface BlockRef {
  number: number
  hash: Hex
}

export interface LockRecord {
  nonce: string
  recipient: Address
  amount: string
  blockNumber: number
  blockHash: Hex
  txHash: Hex
  digest: Hex
  /**
   * seen → submitted (our attestation is in flight) → done (counted, or released by others);
   * expired: never relayed (the povchain deadline passed, or the source refunded the lock or
   * settled without it).
   */
  status: 'seen' | 'submitted' | 'done' | 'expired'
  attestTx?: Hex
}

export interface RelayStateData {
  version: 1
  /** Binds the file to one relay: a file of another bridge or source is refused. */
  sourceChainId: string
  lockContract: Address
  bridge: Address
  attester: Address
  /** The last source block whose locks were all handled; the next scan starts after it. */
  cursor: BlockRef | null
  /** Earlier cursors, newest last: where to go back to when the source reorganises below the cursor. */
  recent: BlockRef[]
  locks: Record<string, LockRecord>
}

const KEEP_RECENT = 256

/**
 * A relay's progress on disk (one JSON file, replaced atomically: write, fsync, rename), so a
 * relay that restarts resumes where it stopped and never re-submits what it already sent.
 */
export class RelayState {
  private data: RelayStateData

  constructor(
    readonly file: string,
    binding: Pick<RelayStateData, 'sourceChainId' | 'lockContract' | 'bridge' | 'attester'>,
  ) {
    if (existsSync(file)) {
      let d: RelayStateData
      try {
        d = JSON.parse(readFileSync(file, 'utf8')) as RelayStateData
      } catch (e) {
        throw new BridgeError('BAD_RELAY_STATE', `cannot read relay state ${file}: ${(e as Error).message}`, { cause: e })
      }
      for (const k of ['sourceChainId', 'lockContract', 'bridge', 'attester'] as const)
        if (String(d[k]).toLowerCase() !== String(binding[k]).toLowerCase())
          throw new BridgeError('RELAY_STATE_MISMATCH', `${file} belongs to ${k} ${d[k]}, not ${binding[k]}: use another --state file`)
      this.data = d
    } else {
      this.data = { version: 1, ...binding, cursor: null, recent: [], locks: {} }
    }
  }

  get cursor(): BlockRef | null {
    return this.data.cursor
  }

  get recent(): readonly BlockRef[] {
    return this.data.recent
  }

  lock(nonce: bigint): LockRecord | undefined {
    return this.data.locks[nonce.toString()]
  }

  locks(): LockRecord[] {
    return Object.values(this.data.locks)
  }

  putLock(r: LockRecord): void {
    this.data.locks[r.nonce] = r
  }

  /** Moves the cursor forward (after every lock up to `to` was handled) and saves. */
  advance(to: BlockRef): void {
    if (this.data.cursor) this.data.recent.push(this.data.cursor)
    if (this.data.recent.length > KEEP_RECENT) this.data.recent.splice(0, this.data.recent.length - KEEP_RECENT)
    this.data.cursor = to
    this.save()
  }

  /** Moves the cursor back to `to` (a block still canonical after a reorg), or to the start. */
  rewind(to: BlockRef | null): void {
    this.data.recent = to ? this.data.recent.filter((r) => r.number < to.number) : []
    this.data.cursor = to
    this.save()
  }

  save(): void {
    mkdirSync(dirname(this.file), { recursive: true })
    const tmp = `${this.file}.tmp`
    const fd = openSync(tmp, 'w')
    try {
      writeSync(fd, JSON.stringify(this.data, null, 1))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, this.file)
  }
}
