import { appendFileSync, existsSync, openSync, closeSync, readFileSync, renameSync, writeFileSync, statSync } from 'node:fs'
import type { TypedTransaction } from '@ethereumjs/tx'
import { decodeTransaction } from '../chain/Block.js'
import type { Common } from '../chain/ChainCommon.js'
import type { Logger } from '../common/logger.js'

/**
 * The journal of transactions this node accepted from its own RPC clients (Geth's
 * `transactions.rlp`): every accepted transaction is appended before the client gets its hash,
 * so a transaction acknowledged to a client survives a crash even if no block included it yet.
 * On start the journal is replayed into the pool and rewritten with what is still pending.
 *
 * Format: length-prefixed records (u32 big-endian length, then the transaction's network
 * encoding). A torn last record (crash mid-append) is ignored.
 */
export class TxJournal {
  private fd?: number
  private appended = 0

  constructor(
    private readonly path: string,
    private readonly common: Common,
    private readonly log: Logger,
    private readonly rotateBytes = 64 * 1024 * 1024,
  ) {}

  /** Reads the journal; returns the transactions in the order they were accepted. */
  load(): TypedTransaction[] {
    if (!existsSync(this.path)) return []
    const buf = readFileSync(this.path)
    const out: TypedTransaction[] = []
    let o = 0
    let bad = 0
    while (o + 4 <= buf.length) {
      const len = buf.readUInt32BE(o)
      if (o + 4 + len > buf.length) break
      try {
        out.push(decodeTransaction(new Uint8Array(buf.subarray(o + 4, o + 4 + len)), this.common))
      } catch {
        bad++
      }
      o += 4 + len
    }
    if (bad || o !== buf.length) this.log.warn({ path: this.path, bad, trailingBytes: buf.length - o }, 'skipped unreadable journal records')
    return out
  }

  /** Replaces the journal with `txs` (what is still in the pool) and opens it for appends. */
  rewrite(txs: TypedTransaction[]): void {
    this.close()
    const tmp = `${this.path}.new`
    writeFileSync(tmp, Buffer.concat(txs.map((tx) => record(tx.serialize()))))
    renameSync(tmp, this.path)
    this.fd = openSync(this.path, 'a')
    this.appended = statSync(this.path).size
  }

  append(raw: Uint8Array): void {
    if (this.fd === undefined) this.fd = openSync(this.path, 'a')
    appendFileSync(this.fd, record(raw))
    this.appended += raw.length + 4
  }

  /** True when the journal has grown enough that it should be rewritten from the pool. */
  needsRotation(): boolean {
    return this.appended > this.rotateBytes
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}

function record(raw: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(4 + raw.length)
  b.writeUInt32BE(raw.length, 0)
  b.set(raw, 4)
  return b
}
