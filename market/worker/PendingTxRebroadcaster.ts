import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '../../common/bytes.js'
import type { Logger } from '../../common/logger.js'
import type { Metrics } from '../../common/metrics.js'
import type { PoolContent } from '../../rpc/RpcBackend.js'

export interface RebroadcastOptions {
  /** Lowercase addresses whose pending transactions are the worker's. */
  accounts: string[]
  /** A transaction still pending this long is gossiped again. */
  minAgeMs?: number
  intervalMs?: number
}

/**
 * Gossips the worker identities' own transactions again while they stay pending. A worker's
 * transaction is mined only by a producer on another node; if it was published while this node
 * had no peer (or the only one dropped), nothing sends it again — the network does not yet
 * exchange pools with new peers — and every later transaction of the identity waits behind its
 * nonce. Gossipsub ignores a re-publish of a message it saw within its seen-TTL (2 min), so this
 * heals a lost transaction within about that time and costs nothing meanwhile.
 */
export class PendingTxRebroadcaster {
  private readonly firstSeen = new Map<string, number>()
  private timer?: NodeJS.Timeout
  private readonly count

  constructor(
    private readonly opts: RebroadcastOptions,
    private readonly d: { pool: () => PoolContent; publish: (raw: Uint8Array) => Promise<number>; logger: Logger; metrics: Metrics },
  ) {
    this.count = d.metrics.counter('povchain_worker_tx_rebroadcasts_total', 'Worker transactions gossiped again because they stayed pending')
  }

  start(): void {
    const every = this.opts.intervalMs ?? 10_000
    const loop = () => {
      void this.sweep().finally(() => {
        if (this.timer) this.timer = setTimeout(loop, every).unref()
      })
    }
    this.timer = setTimeout(loop, every).unref()
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** One pass: re-publishes what has been pending for at least minAgeMs (exposed for tests). */
  async sweep(now = Date.now()): Promise<number> {
    const content = this.d.pool()
    const live = new Set<string>()
    const due: TypedTransaction[] = []
    for (const a of this.opts.accounts) {
      for (const tx of [...(content.pending.get(a) ?? []), ...(content.queued.get(a) ?? [])]) {
        const h = bytesToHex(tx.hash())
        live.add(h)
        const seen = this.firstSeen.get(h)
        if (seen === undefined) this.firstSeen.set(h, now)
        else if (now - seen >= (this.opts.minAgeMs ?? 20_000)) due.push(tx)
      }
    }
    for (const h of this.firstSeen.keys()) if (!live.has(h)) this.firstSeen.delete(h)
    let sent = 0
    for (const tx of due) {
      const peers = await this.d.publish(tx.serialize()).catch(() => 0)
      if (peers > 0) {
        sent++
        this.count.inc()
        this.d.logger.info({ hash: bytesToHex(tx.hash()), nonce: Number(tx.nonce), peers }, 'gossiped a pending worker transaction again')
      }
    }
    return sent
  }
}
