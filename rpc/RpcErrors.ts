import { PovError } from '../common/errors.js'

/** JSON-RPC error codes, with the Ethereum conventions wallets decode. */
export const RpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  /** Geth's generic server error: tx rejections, missing headers, unknown filters. */
  SERVER: -32000,
  /** eth_subscribe over a transport without notifications: Geth answers -32601 (-32001 before 1.11). */
  NOTIFICATIONS_UNSUPPORTED: -32601,
  /** A configured limit was hit (block range, result count, subscriptions). */
  LIMIT_EXCEEDED: -32005,
  /** EVM revert in eth_call / eth_estimateGas; `data` carries the revert bytes. */
  EXECUTION_REVERTED: 3,
} as const

/**
 * An error meant for the client: `rpcCode` is the JSON-RPC code, `message` goes out verbatim.
 * (`code` is PovError's string code, `RPC_<rpcCode>`, for logs.)
 */
export class RpcError extends PovError {
  readonly rpcCode: number
  readonly data?: unknown
  constructor(rpcCode: number, message: string, data?: unknown, options?: { cause?: unknown }) {
    super(`RPC_${rpcCode}`, message, options)
    this.rpcCode = rpcCode
    if (data !== undefined) this.data = data
  }
}

export const invalidParams = (message: string) => new RpcError(RpcCode.INVALID_PARAMS, message)
export const invalidRequest = (message = 'invalid request') => new RpcError(RpcCode.INVALID_REQUEST, message)
export const methodNotFound = (method: string) =>
  new RpcError(RpcCode.METHOD_NOT_FOUND, `the method ${method} does not exist/is not available`)
/** A method povchain knows but does not serve; -32601 so clients' feature detection sees it as absent. */
export const notSupported = (method: string, why: string) =>
  new RpcError(RpcCode.METHOD_NOT_FOUND, `the method ${method} is not supported: ${why}`)
export const serverError = (message: string) => new RpcError(RpcCode.SERVER, message)
export const limitExceeded = (message: string) => new RpcError(RpcCode.LIMIT_EXCEEDED, message)
export const filterNotFound = () => new RpcError(RpcCode.SERVER, 'filter not found')

export interface JsonRpcErrorObject {
  code: number
  message: string
  data?: unknown
}

/**
 * Maps anything a handler threw onto what the client sees. Errors the node raises on purpose
 * (PovError: tx-pool rejections, missing blocks …) keep their message under -32000; anything
 * else is a bug and is reported as a generic -32603 (the caller logs it).
 */
export function toErrorObject(err: unknown): { error: JsonRpcErrorObject; unexpected: boolean } {
  if (err instanceof RpcError) {
    const error: JsonRpcErrorObject = { code: err.rpcCode, message: err.message }
    if (err.data !== undefined) error.data = err.data
    return { error, unexpected: false }
  }
  // Other modules may attach a JSON-RPC code without importing rpc/ (duck-typed).
  if (err instanceof Error && typeof (err as { rpcCode?: unknown }).rpcCode === 'number') {
    const e = err as Error & { rpcCode: number; data?: unknown }
    const error: JsonRpcErrorObject = { code: e.rpcCode, message: e.message }
    if (e.data !== undefined) error.data = e.data
    return { error, unexpected: false }
  }
  if (err instanceof PovError) return { error: { code: RpcCode.SERVER, message: err.message }, unexpected: false }
  return { error: { code: RpcCode.INTERNAL, message: 'internal error' }, unexpected: true }
}
