import { addressTransactions, addressTransfers, DEFAULT_PAGE, MAX_PAGE, Role } from '../chain/AddressIndex.js'
import type { BlockStore } from '../chain/BlockStore.js'
import { ChainError } from '../chain/errors.js'
import { bytesToHex, hexToBytes, isHex } from '../common/bytes.js'
import { invalidParams } from '../rpc/RpcErrors.js'
import { withArity, type ExtraMethod } from '../rpc/RpcBackend.js'


const q = (n: bigint | number) => `0x${BigInt(n).toString(16)}`

function addressParam(v: unknown): Uint8Array {
  if (typeof v !== 'string' || !isHex(v) || v.length !== 42) throw invalidParams('address must be 0x followed by 40 hex digits')
  return hexToBytes(v)
}

/** `{ cursor?, limit? }`: the cursor is a previous page's `next`; limit 1..MAX_PAGE (default DEFAULT_PAGE). */
function pageParam(v: unknown): { cursor?: string; limit: number } {
  if (v === undefined || v === null) return { limit: DEFAULT_PAGE }
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParams('the second parameter must be an object { cursor?, limit? }')
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) if (k !== 'cursor' && k !== 'limit') throw invalidParams(`unknown page option "${k}" (cursor, limit)`)
  let limit = DEFAULT_PAGE
  if (o.limit !== undefined && o.limit !== null) {
    const n = typeof o.limit === 'number' ? o.limit : typeof o.limit === 'string' && /^0x[0-9a-fA-F]{1,4}$/.test(o.limit) ? Number(o.limit) : NaN
    if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw invalidParams(`limit must be an integer 1..${MAX_PAGE}`)
    limit = n
  }
  if (o.cursor === undefined || o.cursor === null) return { limit }
  if (typeof o.cursor !== 'string' || !/^0x[0-9a-f]{24}$/.test(o.cursor)) throw invalidParams('cursor must be the `next` value of a previous page, as returned')
  return { cursor: o.cursor, limit }
}

/** ChainError BAD_* from the index (parameters it refuses) is the client's error, not ours. */
async function asParams<T>(p: Promise<T>): Promise<T> {
  try {
    return await p
  } catch (e) {
    if (e instanceof ChainError && /^CHAIN_BAD_/.test(e.code)) throw invalidParams(e.message)
    throw e
  }
}

const roleNames = (bits: number) => (Object.entries(Role) as [string, number][]).filter(([, b]) => bits & b).map(([n]) => n)

/**
 * pov_getAddressTransactions and pov_getAddressTokenTransfers: an address's history from the
 * node's address index (chain/AddressIndex.ts), newest first, one range read a page.
 */
export function addressRpcMethods(d: { store: BlockStore }): Record<string, ExtraMethod> {
  const { store } = d
  const indexState = () => {
    const pending = store.addressIndexPending()
    // While blocks stored before the index are being indexed, older history may be missing.
    return { indexComplete: pending === 0n, ...(pending > 0n ? { indexPendingBelow: q(pending) } : {}) }
  }
  const blockHash = async (n: bigint) => {
    const h = await store.canonicalHash(n)
    return h ? bytesToHex(h) : null
  }
  return withArity({
    pov_getAddressTransactions: async (params) => {
      const who = addressParam(params[0])
      const { cursor, limit } = pageParam(params[1])
      const page = await asParams(addressTransactions(store.db, who, cursor, limit))
      return {
        address: bytesToHex(who),
        transactions: await Promise.all(
          page.entries.map(async (e) => ({
            hash: bytesToHex(e.txHash),
            blockNumber: q(e.blockNumber),
            blockHash: await blockHash(e.blockNumber),
            transactionIndex: q(e.txIndex),
            roles: roleNames(e.roles),
          })),
        ),
        next: page.next ?? null,
        ...indexState(),
      }
    },
    pov_getAddressTokenTransfers: async (params) => {
      const who = addressParam(params[0])
      const { cursor, limit } = pageParam(params[1])
      const page = await asParams(addressTransfers(store.db, who, cursor, limit))
      return {
        address: bytesToHex(who),
        transfers: await Promise.all(
          page.entries.map(async (e) => ({
            transactionHash: bytesToHex(e.txHash),
            blockNumber: q(e.blockNumber),
            blockHash: await blockHash(e.blockNumber),
            transactionIndex: q(e.txIndex),
            logIndex: q(e.logIndex),
            token: bytesToHex(e.token),
            from: bytesToHex(e.from),
            to: bytesToHex(e.to),
            kind: e.kind,
            ...(e.kind === 'erc721' ? { tokenId: q(e.amount) } : { value: q(e.amount) }),
          })),
        ),
        next: page.next ?? null,
        ...indexState(),
      }
    },
  }, { pov_getAddressTransactions: [1, 2], pov_getAddressTokenTransfers: [1, 2] })
}
