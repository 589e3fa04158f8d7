import type { Counter, Gauge, Histogram, Labels, Metrics } from '../common/metrics.js'

/** The RPC layer's instruments, created once; label objects are cached per method. */
export class RpcMetrics {
  readonly requests: Counter
  readonly duration: Histogram
  readonly errors: Counter
  readonly badRequests: Counter
  readonly wsConnections: Gauge
  readonly subscriptions: Gauge
  readonly filters: Gauge
  private readonly labels = new Map<string, Labels>()

  constructor(metrics: Metrics, private readonly knownMethods: (m: string) => boolean) {
    this.requests = metrics.counter('povchain_rpc_requests_total', 'JSON-RPC calls by method', ['method'])
    this.duration = metrics.histogram('povchain_rpc_request_duration_seconds', 'JSON-RPC call latency by method', ['method'], [
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
    ])
    this.errors = metrics.counter('povchain_rpc_errors_total', 'JSON-RPC error responses by method and code', ['method', 'code'])
    this.badRequests = metrics.counter('povchain_rpc_bad_requests_total', 'Requests rejected before dispatch (parse, shape, size)', ['reason'])
    this.wsConnections = metrics.gauge('povchain_rpc_ws_connections', 'Open WebSocket connections')
    this.subscriptions = metrics.gauge('povchain_rpc_subscriptions', 'Active eth_subscribe subscriptions')
    this.filters = metrics.gauge('povchain_rpc_filters', 'Installed polling filters')
  }

  /** Unknown method names collapse into one label so clients cannot blow up cardinality. */
  methodLabel(method: string): Labels {
    const name = this.knownMethods(method) ? method : 'unknown'
    let l = this.labels.get(name)
    if (!l) {
      l = { method: name }
      this.labels.set(name, l)
    }
    return l
  }

  observe(method: string, seconds: number, errorCode?: number): void {
    const l = this.methodLabel(method)
    this.requests.inc(l)
    this.duration.observe(seconds, l)
    if (errorCode !== undefined) this.errors.inc({ method: l.method!, code: errorCode })
  }

  bad(reason: string): void {
    this.badRequests.inc({ reason })
  }
}
