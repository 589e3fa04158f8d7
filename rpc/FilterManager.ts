import { randomBytes } from 'node:crypto'
import type { TypedTransaction } from '@ethereumjs/tx'
import { bytesToHex } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { Block } from '../chain/Block.js'
import type { TxReceipt } from '../chain/Receipt.js'
import { blockLogs, inFilterRange, queryLogs, type LogFilterSpec, type LogLimits } from './LogQuery.js'
import type { RpcBackend, Unsubscribe } from './RpcBackend.js'
import { filterNotFound, limitExceeded, serverError } from './RpcErrors.js'
import type { RpcMetrics } from './RpcMetrics.js'

type FilterKind = 'block' | 'pendingTx' | 'logs'

interface Filter {
  kind: FilterKind
  lastPoll: number
  queue: unknown[]
  spec?: LogFilterSpec
}

export interface FilterManagerOptions {
  timeoutMs: number
  maxFilters: number
  /** Per filter; the oldest entries are dropped beyond it (a client that never polls). */
  maxQueued: number
  limits: LogLimits
}

/** Geth-style 0x-prefixed random 128-bit id (filters and subscriptions). */
/** A random 128-bit id written as a QUANTITY (no leading zeros), as the spec and Geth write filter ids. */
export function newId(): string {
  for (;;) {
    const id = '0x' + randomBytes(16).toString('hex').replace(/^0+/, '')
    if (id !== '0x') return id
  }
}

/** The id a client sent, in the form newId writes (clients may pad ids back to 32 hex digits). */
export function canonicalId(id: string): string {
  const lower = id.toLowerCase()
  return /^0x0+[0-9a-f]/.test(lower) ? '0x' + lower.slice(2).replace(/^0+/, '') : lower
}

/**
 * Polling filters (eth_newFilter, eth_newBlockFilter, eth_newPendingTransactionFilter):
 * each keeps what happened since its last eth_getFilterChanges; one not polled within the
 * timeout is removed, after which it answers "filter not found" like Geth.
 */
export class FilterManager {
  private readonly filters = new Map<string, Filter>()
  private unsubs: Unsubscribe[] = []
  private sweeper?: NodeJS.Timeout

  constructor(
    private readonly backend: RpcBackend,
    private readonly opts: FilterManagerOptions,
    private readonly metrics: RpcMetrics,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const guard =
      <A extends unknown[]>(fn: (...a: A) => void) =>
      (...a: A) => {
        if (this.filters.size === 0) return
        try {
          fn(...a)
        } catch (err) {
          this.logger.error({ err }, 'filter update failed')
        }
      }
    this.unsubs.push(
      this.backend.onNewHead(guard((block: Block, receipts: TxReceipt[]) => {
        const hash = bytesToHex(block.hash())
        for (const f of this.filters.values()) {
          if (f.kind === 'block') this.push(f, [hash])
          else if (f.kind === 'logs' && inFilterRange(f.spec!, block.number)) this.push(f, blockLogs(block.header, receipts, f.spec!.criteria, false))
        }
      })),
      this.backend.onRemovedBlock(guard((block: Block, receipts: TxReceipt[]) => {
        for (const f of this.filters.values())
          if (f.kind === 'logs' && inFilterRange(f.spec!, block.number)) this.push(f, blockLogs(block.header, receipts, f.spec!.criteria, true))
      })),
      this.backend.onPendingTransaction(guard((tx: TypedTransaction) => {
        let hash: string | undefined
        for (const f of this.filters.values()) if (f.kind === 'pendingTx') this.push(f, [(hash ??= bytesToHex(tx.hash()))])
      })),
    )
    const every = Math.max(10, Math.min(this.opts.timeoutMs / 2, 30_000))
    this.sweeper = setInterval(() => this.sweep(), every)
    this.sweeper.unref()
  }

  close(): void {
    for (const u of this.unsubs) u()
    this.unsubs = []
    if (this.sweeper) clearInterval(this.sweeper)
    this.filters.clear()
    this.metrics.filters.set(0)
  }

  private push(f: Filter, items: unknown[]): void {
    for (const it of items) f.queue.push(it)
    const over = f.queue.length - this.opts.maxQueued
    if (over > 0) f.queue.splice(0, over)
  }

  private sweep(now = Date.now()): void {
    for (const [id, f] of this.filters)
      if (now - f.lastPoll > this.opts.timeoutMs) {
        this.filters.delete(id)
        this.logger.debug({ id, kind: f.kind }, 'filter expired')
      }
    this.metrics.filters.set(this.filters.size)
  }

  private install(kind: FilterKind, spec?: LogFilterSpec): string {
    if (this.filters.size >= this.opts.maxFilters) {
      this.sweep()
      if (this.filters.size >= this.opts.maxFilters) throw limitExceeded(`too many filters (max ${this.opts.maxFilters})`)
    }
    const id = newId()
    const f: Filter = { kind, lastPoll: Date.now(), queue: [] }
    if (spec) f.spec = spec
    this.filters.set(id, f)
    this.metrics.filters.set(this.filters.size)
    return id
  }

  newBlockFilter(): string {
    return this.install('block')
  }

  newPendingTransactionFilter(): string {
    return this.install('pendingTx')
  }

  newLogFilter(spec: LogFilterSpec): string {
    // The same refusal as eth_getLogs: such a filter could never match anything.
    if (typeof spec.fromBlock === 'bigint' && typeof spec.toBlock === 'bigint' && spec.fromBlock > spec.toBlock) throw serverError('invalid block range params')
    return this.install('logs', spec)
  }

  private get(id: unknown): Filter {
    const f = typeof id === 'string' ? this.filters.get(canonicalId(id)) : undefined
    if (!f) throw filterNotFound()
    const now = Date.now()
    if (now - f.lastPoll > this.opts.timeoutMs) {
      this.filters.delete(canonicalId(id as string))
      throw filterNotFound()
    }
    f.lastPoll = now
    return f
  }

  /** eth_getFilterChanges: everything since the last poll. */
  changes(id: unknown): unknown[] {
    const f = this.get(id)
    const out = f.queue
    f.queue = []
    return out
  }

  /** eth_getFilterLogs: the whole range of a log filter. */
  async logs(id: unknown): Promise<unknown[]> {
    const f = this.get(id)
    if (f.kind !== 'logs') throw filterNotFound()
    return queryLogs(this.backend, f.spec!, this.opts.limits)
  }

  uninstall(id: unknown): boolean {
    const ok = typeof id === 'string' && this.filters.delete(canonicalId(id))
    this.metrics.filters.set(this.filters.size)
    return ok
  }

  get size(): number {
    return this.filters.size
  }
}
