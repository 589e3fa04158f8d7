import type { Logger } from '../common/logger.js'
import { invalidParams, methodNotFound, RpcCode, toErrorObject, type JsonRpcErrorObject } from './RpcErrors.js'
import type { RpcMetrics } from './RpcMetrics.js'
import type { ConnectionSubscriptions } from './SubscriptionManager.js'

/** What a handler knows about the transport it was called over. */
export interface CallContext {
  /** Present on WebSocket connections only. */
  subscriptions?: ConnectionSubscriptions
}

export type MethodHandler = (params: unknown[], ctx: CallContext) => unknown
export interface MethodSpec {
  fn: MethodHandler
  /**
   * Positional arguments a call must have (Geth: "missing value for required argument N"):
   * the leading arguments the execution-apis spec marks required (and Geth's non-optional ones).
   */
  min: number
  /** Most positional arguments accepted (Geth: "too many arguments, want at most N"). */
  max: number
}
/** [required, at most] positional arguments of a method. */
export type Arity = readonly [min: number, max: number]
export type MethodTable = Map<string, MethodSpec>

const NO_PARAMS: unknown[] = []

function errorJson(id: unknown, error: JsonRpcErrorObject): string {
  return `{"jsonrpc":"2.0","id":${id === undefined ? 'null' : JSON.stringify(id)},"error":${JSON.stringify(error)}}`
}

export const PARSE_ERROR_RESPONSE = errorJson(null, { code: RpcCode.PARSE_ERROR, message: 'parse error' })
const EMPTY_BATCH_RESPONSE = errorJson(null, { code: RpcCode.INVALID_REQUEST, message: 'empty batch' })

const validId = (id: unknown) => typeof id === 'string' || typeof id === 'number' || id === null

/**
 * JSON-RPC 2.0 framing shared by HTTP and WebSocket: single calls, batches (processed in
 * order, like Geth, so a batch of dependent sends keeps its order), notifications (no reply,
 * also inside batches), and the error codes for each kind of bad input. Responses are built
 * as strings so a result is serialised exactly once.
 */
export class JsonRpcDispatcher {
  constructor(
    private readonly methods: MethodTable,
    private readonly opts: { maxBatchLength: number },
    private readonly metrics: RpcMetrics,
    private readonly logger: Logger,
  ) {}

  has(method: string): boolean {
    return this.methods.has(method)
  }

  /** A request body → the response text, or undefined when nothing is to be sent. */
  async handleText(text: string, ctx: CallContext): Promise<string | undefined> {
    let payload: unknown
    try {
      payload = JSON.parse(text)
    } catch {
      this.metrics.bad('parse')
      return PARSE_ERROR_RESPONSE
    }
    return this.handleParsed(payload, ctx)
  }

  async handleParsed(payload: unknown, ctx: CallContext): Promise<string | undefined> {
    if (!Array.isArray(payload)) return this.call(payload, ctx)
    if (payload.length === 0) {
      this.metrics.bad('empty_batch')
      return EMPTY_BATCH_RESPONSE
    }
    if (payload.length > this.opts.maxBatchLength) {
      this.metrics.bad('batch_too_large')
      // Geth: one error in an array, carrying the id of the first call.
      const first = payload.find((m) => typeof m === 'object' && m !== null && 'id' in m && validId((m as { id: unknown }).id))
      const id = first ? (first as { id: unknown }).id : null
      return `[${errorJson(id, { code: RpcCode.INVALID_REQUEST, message: `batch too large (${payload.length} > ${this.opts.maxBatchLength})` })}]`
    }
    const parts: string[] = []
    for (const msg of payload) {
      const r = await this.call(msg, ctx)
      if (r !== undefined) parts.push(r)
    }
    return parts.length === 0 ? undefined : `[${parts.join(',')}]`
  }

  private invalid(id: unknown, why: string): string {
    this.metrics.bad(why)
    return errorJson(id, { code: RpcCode.INVALID_REQUEST, message: 'invalid request' })
  }

  /** One request object → its response, undefined for a notification. */
  async call(msg: unknown, ctx: CallContext): Promise<string | undefined> {
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.invalid(null, 'not_an_object')
    const o = msg as Record<string, unknown>
    const isCall = Object.hasOwn(o, 'id')
    const id = o.id
    if (isCall && !validId(id)) return this.invalid(null, 'bad_id')
    const method = o.method
    if (o.jsonrpc !== '2.0' || typeof method !== 'string') return this.invalid(isCall ? id : null, 'bad_shape')

    const start = performance.now()
    let result: unknown
    try {
      const spec = this.methods.get(method)
      if (!spec) throw methodNotFound(method)
      let params = o.params
      if (params === undefined || params === null) params = NO_PARAMS
      else if (!Array.isArray(params)) throw invalidParams('non-array args')
      if ((params as unknown[]).length > spec.max) throw invalidParams(`too many arguments, want at most ${spec.max}`)
      if ((params as unknown[]).length < spec.min) throw invalidParams(`missing value for required argument ${(params as unknown[]).length}`)
      result = spec.fn(params as unknown[], ctx)
      if (result instanceof Promise) result = await result
      const json = result === undefined ? 'null' : JSON.stringify(result)
      this.metrics.observe(method, (performance.now() - start) / 1000)
      if (!isCall) return undefined
      return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${json}}`
    } catch (err) {
      const { error, unexpected } = toErrorObject(err)
      if (unexpected) this.logger.error({ err, method }, 'JSON-RPC handler failed')
      this.metrics.observe(method, (performance.now() - start) / 1000, error.code)
      if (!isCall) return undefined
      return errorJson(id, error)
    }
  }
}
