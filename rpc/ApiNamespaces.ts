import { PovError } from '../common/errors.js'
import type { MethodTable } from './JsonRpcDispatcher.js'

/**
 * Methods that sign with the node's unlocked accounts. They spend the node's coins for whoever
 * reaches the port, so they form their own namespace, `personal`, whatever their prefix (Geth
 * guards them with --allow-insecure-unlock; here they are simply not served unless named).
 */
const SIGNING = new Set(['eth_sendTransaction', 'eth_sign', 'eth_signTransaction', 'eth_signTypedData', 'eth_signTypedData_v4', 'personal_sign'])

/** What --http.api / --ws.api serve when not given, outside --dev: reads and raw transactions only. */
export const NETWORK_DEFAULT_APIS: readonly string[] = Object.freeze(['eth', 'net', 'web3', 'pov', 'txpool'])
/** What --dev serves: everything, admin, debug and account signing included. */
export const ALL_APIS = '*'

/** The namespace a method belongs to: `personal` for account signing, else its prefix (Geth's convention). */
export function namespaceOf(method: string): string {
  if (SIGNING.has(method)) return 'personal'
  const i = method.indexOf('_')
  return i < 0 ? method : method.slice(0, i)
}

export class UnknownApiNamespaceError extends PovError {
  constructor(flag: string, names: string[], known: string[]) {
    super('RPC_UNKNOWN_API', `${flag}: unknown namespace${names.length > 1 ? 's' : ''} ${names.join(', ')} (known: ${known.join(', ')}, or * for all)`)
  }
}

/**
 * The part of `table` a transport serves: the methods whose namespace is listed ('*' = all).
 * A method left out answers -32601 "does not exist/is not available", as in Geth. A name that
 * matches no namespace is refused at start (a typo would otherwise silently serve less).
 */
export function selectNamespaces(table: MethodTable, apis: readonly string[], flag: string): MethodTable {
  if (apis.includes(ALL_APIS)) return table
  const known = new Set([...table.keys()].map(namespaceOf))
  const wanted = new Set(apis.map((a) => a.trim().toLowerCase()).filter(Boolean))
  const unknown = [...wanted].filter((a) => !known.has(a))
  if (unknown.length) throw new UnknownApiNamespaceError(flag, unknown, [...known].sort())
  const out: MethodTable = new Map()
  for (const [name, spec] of table) if (wanted.has(namespaceOf(name))) out.set(name, spec)
  return out
}
