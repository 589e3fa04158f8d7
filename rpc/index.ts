import { silentLogger, type Logger } from '../common/logger.js'
import { noopMetrics, type Metrics } from '../common/metrics.js'
import { ethMethods } from './EthMethods.js'
import { FilterManager } from './FilterManager.js'
import { selectNamespaces } from './ApiNamespaces.js'
import { HttpServer } from './HttpServer.js'
import { JsonRpcDispatcher, type MethodTable } from './JsonRpcDispatcher.js'
import { nodeMethods } from './NodeMethods.js'
import type { RpcBackend } from './RpcBackend.js'
import { RpcMetrics } from './RpcMetrics.js'
import { resolveRpcOptions, type RpcOptions } from './RpcOptions.js'
import { SubscriptionManager } from './SubscriptionManager.js'
import { WsServer } from './WsServer.js'

export * from './RpcBackend.js'
export { RpcError, RpcCode, toErrorObject } from './RpcErrors.js'
export { defaultRpcOptions, resolveRpcOptions, type RpcOptions } from './RpcOptions.js'
export { isOwnPageOrigin, type PageHandler, type PageRequest, type PageResponse } from './PageHandler.js'
export { JsonRpcDispatcher, type CallContext, type MethodTable } from './JsonRpcDispatcher.js'
export { decodeRevertReason } from './RevertReason.js'
export { ALL_APIS, NETWORK_DEFAULT_APIS, namespaceOf, UnknownApiNamespaceError } from './ApiNamespaces.js'

export interface RpcDeps {
  backend: RpcBackend
  logger?: Logger
  metrics?: Metrics
}

export interface RpcServersHandle {
  /** e.g. http://127.0.0.1:8545, undefined when HTTP is off. */
  httpUrl?: string
  /** e.g. ws://127.0.0.1:8546; WS upgrades are also accepted on the HTTP port. */
  wsUrl?: string
  /** For in-process callers and tests: every method, whatever --http.api / --ws.api serve. */
  dispatcher: JsonRpcDispatcher
  close(): Promise<void>
}

/** The full method table over a backend (exposed for in-process use). */
export function buildMethodTable(backend: RpcBackend, options: RpcOptions, filters: FilterManager): MethodTable {
  const table = ethMethods(backend, { gasCap: options.gasCap, logLimits: { maxBlockRange: options.logsMaxBlockRange, maxResults: options.logsMaxResults } }, filters)
  for (const [k, v] of nodeMethods(backend)) table.set(k, v)
  return table
}

/** Starts the HTTP and WebSocket JSON-RPC servers; stop them with `close()`. */
export async function startRpcServers(partial: Partial<RpcOptions>, deps: RpcDeps): Promise<RpcServersHandle> {
  const options = resolveRpcOptions(partial)
  const { backend } = deps
  const logger = (deps.logger ?? silentLogger).child({ module: 'rpc' })
  let table: MethodTable | undefined
  const metrics = new RpcMetrics(deps.metrics ?? noopMetrics, (m) => table?.has(m) ?? false)
  const filters = new FilterManager(
    backend,
    {
      timeoutMs: options.filterTimeoutMs,
      maxFilters: options.maxFilters,
      maxQueued: 10_000,
      limits: { maxBlockRange: options.logsMaxBlockRange, maxResults: options.logsMaxResults },
    },
    metrics,
    logger,
  )
  table = buildMethodTable(backend, options, filters)
  const framing = { maxBatchLength: options.maxBatchLength }
  const dispatcher = new JsonRpcDispatcher(table, framing, metrics, logger)
  // Each transport serves only its namespaces (--http.api, --ws.api); checked before anything starts.
  const httpDispatcher = new JsonRpcDispatcher(selectNamespaces(table, options.httpApi, '--http.api'), framing, metrics, logger)
  const wsDispatcher = new JsonRpcDispatcher(selectNamespaces(table, options.wsApi, '--ws.api'), framing, metrics, logger)
  const subscriptions = new SubscriptionManager(backend, options.wsMaxSubscriptions, metrics, logger)
  filters.start()
  subscriptions.start()

  const portOf = (url: string | undefined) => (url ? Number(new URL(url).port) || undefined : undefined)
  let urls: { http?: string; ws?: string } = {}
  const ws = options.ws ? new WsServer(options, { dispatcher: wsDispatcher, subscriptions, metrics, logger, httpPort: () => portOf(urls.http) }) : undefined
  const http = options.http ? new HttpServer(options, { dispatcher: httpDispatcher, backend, metrics, logger, upgrade: ws?.handleUpgrade, wsPort: () => portOf(urls.ws) }) : undefined
  const closers: (() => Promise<void> | void)[] = [() => filters.close(), () => subscriptions.close()]
  let closing: Promise<void> | undefined
  // Reverse order of start; idempotent.
  const close = () =>
    (closing ??= (async () => {
      for (const c of [...closers].reverse()) await c()
    })())
  try {
    const handle: RpcServersHandle = { dispatcher, close }
    if (http) {
      handle.httpUrl = await http.listen()
      urls = { ...urls, http: handle.httpUrl }
      closers.push(() => http.close())
      logger.info({ url: handle.httpUrl }, 'HTTP JSON-RPC listening')
    }
    if (ws) {
      closers.push(() => ws.close())
      const shared = http && options.wsPort !== 0 && options.wsPort === options.httpPort && options.wsAddr === options.httpAddr
      if (shared) handle.wsUrl = handle.httpUrl!.replace(/^http/, 'ws')
      else handle.wsUrl = await ws.listen()
      urls = { ...urls, ws: handle.wsUrl }
      logger.info({ url: handle.wsUrl }, 'WebSocket JSON-RPC listening')
    }
    return handle
  } catch (err) {
    await close()
    throw err
  }
}
