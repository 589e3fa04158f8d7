import { NETWORK_DEFAULT_APIS } from './ApiNamespaces.js'
import type { PageHandler } from './PageHandler.js'

/**
 * Options of the JSON-RPC servers. Each maps one-to-one onto a CLI flag of `povchain node`
 * (the flag is named in the comment); node/ fills them, everything has a default.
 */
export interface RpcOptions {
  /** --http (serve JSON-RPC over HTTP) */
  http: boolean
  /** --http.addr */
  httpAddr: string
  /** --http.port (0 picks a free port) */
  httpPort: number
  /** --http.corsdomain: allowed browser origins, '*' for any; empty = no CORS headers */
  corsOrigins: string[]
  /**
   * --http.vhosts: Host names accepted on HTTP requests and WS upgrades (IP literals always
   * are), '*' for any; anything else is refused with 403 (DNS rebinding).
   */
  vhosts: string[]
  /** --http.api: namespaces served over HTTP (eth, net, web3, pov, txpool, debug, admin, personal …), '*' for all */
  httpApi: string[]
  /** --ws (serve JSON-RPC over WebSocket) */
  ws: boolean
  /** --ws.addr */
  wsAddr: string
  /** --ws.port; when it equals the HTTP address and port, WS is served on the HTTP server */
  wsPort: number
  /** --ws.origins: allowed Origin headers for WS upgrades, '*' for any; clients without Origin (not browsers) always pass */
  wsOrigins: string[]
  /** --ws.api: namespaces served over WebSocket, as --http.api */
  wsApi: string[]
  /** --rpc.max-body-bytes: largest request body / WS message */
  maxBodyBytes: number
  /** --rpc.batch-request-limit */
  maxBatchLength: number
  /** --rpc.gascap: gas cap for eth_call / eth_estimateGas */
  gasCap: bigint
  /** --rpc.logs-max-range: widest eth_getLogs / eth_getFilterLogs block range */
  logsMaxBlockRange: number
  /** --rpc.logs-max-results */
  logsMaxResults: number
  /** --rpc.filter-timeout (ms): a filter not polled for this long is removed */
  filterTimeoutMs: number
  /** --rpc.max-filters */
  maxFilters: number
  /** --ws.max-connections */
  wsMaxConnections: number
  /** --ws.max-subscriptions (per connection) */
  wsMaxSubscriptions: number
  /**
   * Serves GET /metrics on the HTTP port when set (node/ passes prom-client's registry here).
   * Not a flag: wiring.
   */
  metricsHandler?: () => Promise<{ contentType: string; body: string }>
  /**
   * Web pages on the HTTP port (node/ passes the explorer here unless --http.explorer=false):
   * GETs other than /health and /metrics go to it, a browser's GET / is redirected to its home,
   * and WebSocket upgrades from its own origin pass without --ws.origins. Not a flag: wiring.
   */
  pages?: PageHandler
}

export const defaultRpcOptions: Readonly<RpcOptions> = Object.freeze({
  http: true,
  httpAddr: '127.0.0.1',
  httpPort: 8545,
  // Closed to browsers and to signing by default: node/ opens them for --dev (NodeRpcDefaults.ts).
  corsOrigins: [],
  vhosts: ['localhost'],
  httpApi: [...NETWORK_DEFAULT_APIS],
  ws: true,
  wsAddr: '127.0.0.1',
  wsPort: 8546,
  wsOrigins: [],
  wsApi: [...NETWORK_DEFAULT_APIS],
  maxBodyBytes: 5 * 1024 * 1024,
  maxBatchLength: 1000,
  gasCap: 50_000_000n,
  logsMaxBlockRange: 10_000,
  logsMaxResults: 10_000,
  filterTimeoutMs: 5 * 60_000,
  maxFilters: 10_000,
  wsMaxConnections: 1000,
  wsMaxSubscriptions: 1000,
})

export function resolveRpcOptions(partial: Partial<RpcOptions> = {}): RpcOptions {
  const o: RpcOptions = { ...defaultRpcOptions, ...stripUndefined(partial) }
  return o
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k]
  return out
}
