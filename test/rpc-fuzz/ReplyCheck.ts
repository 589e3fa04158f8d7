/**
 * Judges one JSON-RPC reply against the oracle of the request it answers: a well-formed
 * JSON-RPC 2.0 response (jsonrpc "2.0", the request's id, exactly one of result and error, an
 * integer code and a non-empty message), with a code wallets handle, and the exact code when
 * the oracle names one.
 */
import { EXPECTED_CODES, type Oracle } from './requests.js'

export interface Reply {
  jsonrpc?: unknown
  id?: unknown
  result?: unknown
  error?: { code?: unknown; message?: unknown }
}

/** undefined when the reply is right, else why not. */
export function checkReply(reply: unknown, oracle: Oracle, expectedId: unknown): string | undefined {
  if (oracle.kind === 'none') return `a notification (${oracle.why}) was answered`
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) return `not a response object: ${short(reply)}`
  const r = reply as Reply
  if (r.jsonrpc !== '2.0') return `jsonrpc is ${short(r.jsonrpc)}`
  if (!Object.hasOwn(r, 'id')) return 'no id'
  if (JSON.stringify(r.id) !== JSON.stringify(expectedId)) return `id ${short(r.id)}, sent ${short(expectedId)}`
  const hasResult = Object.hasOwn(r, 'result')
  const hasError = Object.hasOwn(r, 'error')
  if (hasResult === hasError) return hasResult ? 'both result and error' : 'neither result nor error'
  if (hasError) {
    const e = r.error
    if (typeof e !== 'object' || e === null) return `error is ${short(e)}`
    if (!Number.isInteger(e.code)) return `error code ${short(e.code)}`
    if (typeof e.message !== 'string' || e.message.length === 0) return `error message ${short(e.message)}`
    if (!EXPECTED_CODES.has(e.code as number)) return `code ${e.code as number} "${e.message}" (${oracle.why})`
    if (oracle.kind === 'code' && e.code !== oracle.code) return `code ${e.code as number} "${e.message}", want ${oracle.code} (${oracle.why})`
    return undefined
  }
  if (oracle.kind === 'code') return `a result ${short(r.result)}, want error ${oracle.code} (${oracle.why})`
  return undefined
}

/** The error code of a reply, or 'result'. */
export function replyKind(reply: unknown): string {
  const e = (reply as Reply | undefined)?.error
  return e && typeof e === 'object' ? String(e.code) : 'result'
}

function short(v: unknown): string {
  const s = JSON.stringify(v)
  return s === undefined ? 'undefined' : s.length > 120 ? `${s.slice(0, 120)}…` : s
}
