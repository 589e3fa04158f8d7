import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { Block } from '../chain/Block.js'
import type { TxReceipt } from '../chain/Receipt.js'
import { formatHeader, formatTx } from './Formatters.js'
import { canonicalId, newId } from './FilterManager.js'
import { bool } from './HexParams.js'
import { blockLogs, parseCriteria, type LogCriteria } from './LogQuery.js'
import type { RpcBackend, Unsubscribe } from './RpcBackend.js'
import { invalidParams, limitExceeded, RpcCode, RpcError } from './RpcErrors.js'
import type { RpcMetrics } from './RpcMetrics.js'

type Kind = 'newHeads' | 'logs' | 'newPendingTransactions'

interface Subscription {
  id: string
  kind: Kind
  criteria?: LogCriteria
  fullTx?: boolean
  /** Notifications wait until the eth_subscribe reply has gone out (Geth does the same). */
  pending?: string[]
}

function notification(id: string, resultJson: string): string {
  return `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"${id}","result":${resultJson}}}`
}

/** The subscriptions of one WebSocket connection. */
export class ConnectionSubscriptions {
  readonly subs = new Map<string, Subscription>()

  constructor(
    private readonly manager: SubscriptionManager,
    readonly send: (json: string) => void,
    private readonly max: number,
  ) {}

  subscribe(params: unknown[]): string {
    const kind = params[0]
    if (typeof kind !== 'string') throw invalidParams('invalid argument 0: expected a subscription name')
    if (this.subs.size >= this.max) throw limitExceeded(`too many subscriptions on this connection (max ${this.max})`)
    const sub: Subscription = { id: newId(), kind: 'newHeads', pending: [] }
    switch (kind) {
      case 'newHeads':
        if (params.length > 1) throw invalidParams('too many arguments, want at most 1')
        break
      case 'logs': {
        sub.kind = 'logs'
        const c = params[1]
        if (c !== undefined && c !== null && (typeof c !== 'object' || Array.isArray(c)))
          throw invalidParams('invalid argument 1: expected a filter object')
        sub.criteria = parseCriteria((c ?? {}) as Record<string, unknown>, 1)
        break
      }
      case 'newPendingTransactions':
        sub.kind = 'newPendingTransactions'
        sub.fullTx = params[1] === undefined || params[1] === null ? false : bool(params[1], 1)
        break
      default:
        throw new RpcError(RpcCode.METHOD_NOT_FOUND, `no "${kind}" subscription in eth namespace`)
    }
    this.subs.set(sub.id, sub)
    this.manager.changed(1)
    return sub.id
  }

  unsubscribe(id: unknown): boolean {
    if (typeof id !== 'string') throw invalidParams('invalid argument 0: expected a subscription id')
    const ok = this.subs.delete(canonicalId(id))
    if (ok) this.manager.changed(-1)
    return ok
  }

  /** Called after replies are written: releases notifications held for new subscriptions. */
  activate(): void {
    for (const s of this.subs.values())
      if (s.pending) {
        const held = s.pending
        s.pending = undefined
        for (const m of held) this.send(m)
      }
  }

  deliver(sub: Subscription, json: string): void {
    if (sub.pending) {
      if (sub.pending.length < 10_000) sub.pending.push(json)
    } else this.send(json)
  }

  close(): void {
    this.manager.detach(this)
  }
}

/**
 * eth_subscribe over WebSocket: newHeads, logs (with removed logs on reorg) and
 * newPendingTransactions (hashes, or full objects with `true`). Each event is formatted
 * once and fanned out to every matching subscription.
 */
export class SubscriptionManager {
  private readonly conns = new Set<ConnectionSubscriptions>()
  private unsubs: Unsubscribe[] = []
  private count = 0

  constructor(
    private readonly backend: RpcBackend,
    private readonly maxPerConnection: number,
    private readonly metrics: RpcMetrics,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const guard =
      <A extends unknown[]>(what: string, fn: (...a: A) => void) =>
      (...a: A) => {
        try {
          if (this.count > 0) fn(...a)
        } catch (err) {
          this.logger.error({ err, what }, 'subscription fan-out failed')
        }
      }
    this.unsubs.push(
      this.backend.onNewHead(guard('newHeads', (b: Block, r: TxReceipt[]) => this.onBlock(b, r, false))),
      this.backend.onRemovedBlock(guard('removed', (b: Block, r: TxReceipt[]) => this.onBlock(b, r, true))),
      this.backend.onPendingTransaction(guard('pending', (tx: TypedTransaction) => this.onPending(tx))),
    )
  }

  connection(send: (json: string) => void): ConnectionSubscriptions {
    const c = new ConnectionSubscriptions(this, send, this.maxPerConnection)
    this.conns.add(c)
    return c
  }

  detach(c: ConnectionSubscriptions): void {
    if (this.conns.delete(c)) this.changed(-c.subs.size)
    c.subs.clear()
  }

  changed(delta: number): void {
    this.count += delta
    this.metrics.subscriptions.set(this.count)
  }

  close(): void {
    for (const u of this.unsubs) u()
    this.unsubs = []
    for (const c of [...this.conns]) this.detach(c)
  }

  private onBlock(block: Block, receipts: TxReceipt[], removed: boolean): void {
    let headJson: string | undefined
    for (const c of this.conns)
      for (const s of c.subs.values()) {
        if (s.kind === 'newHeads' && !removed) c.deliver(s, notification(s.id, (headJson ??= JSON.stringify(formatHeader(block.header)))))
        else if (s.kind === 'logs')
          for (const log of blockLogs(block.header, receipts, s.criteria!, removed)) c.deliver(s, notification(s.id, JSON.stringify(log)))
      }
  }

  private onPending(tx: TypedTransaction): void {
    let hashJson: string | undefined
    let fullJson: string | undefined
    for (const c of this.conns)
      for (const s of c.subs.values())
        if (s.kind === 'newPendingTransactions') {
          const json = s.fullTx ? (fullJson ??= JSON.stringify(formatTx(tx))) : (hashJson ??= `"${bytesToHex(tx.hash())}"`)
          c.deliver(s, notification(s.id, json))
        }
  }
}
