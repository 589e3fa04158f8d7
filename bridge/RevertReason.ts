import { decodeErrorResult, type Abi, type Hex } from 'viem'
import { SWAP_LOCK_ABI } from './SwapBridgeAbi.js'

/** What each SwapLock custom error means and what to do about it (printed after its name). */
export const SWAP_LOCK_ERROR_MEANINGS: Record<string, string> = {
  ZeroRecipient: 'the povchain recipient is the zero address',
  ZeroAmount: 'nothing to lock',
  TransferFailed: 'the token refused the transfer (allowance or balance too low?)',
  NothingReceived: 'the token moved nothing into the lock contract',
  LockClosed: 'the lock deadline has passed: the relay could no longer deliver this lock before the povchain swap closes, so it is refused',
  CapExceeded: 'this lock would take the total locked beyond the povchain lock reserve: lock less',
  NotOperator: 'only the operator named at deployment may do this',
  SettleTooEarly: 'settlement opens only after settleAfter (source-chain time)',
  AlreadySettled: 'the lock contract is already settled',
  NotSettled: 'refunds open once the operator has settled (after the povchain swap closed and every released lock was marked delivered)',
  NotPending: 'that nonce is not a pending lock (unknown, delivered on povchain, or already refunded)',
  BadSchedule: 'constructor: the token must be a contract, the operator non-zero, cap > 0, lockDeadline in the future and settleAfter >= lockDeadline',
}

/** The revert data carried by a JSON-RPC error (`data` is the hex string, or holds it). */
function revertData(data: unknown): Hex | undefined {
  if (typeof data === 'string' && /^0x[0-9a-fA-F]{8,}$/.test(data)) return data as Hex
  if (data && typeof data === 'object' && 'data' in data) return revertData((data as { data: unknown }).data)
  return undefined
}

/**
 * A custom-error revert decoded by name against `abi`, e.g. "LockClosed(1700000000, 1700000001):
 * the lock deadline has passed …"; undefined when the data is not one of its errors.
 */
export function describeRevert(data: unknown, abi: Abi = SWAP_LOCK_ABI, meanings: Record<string, string> = SWAP_LOCK_ERROR_MEANINGS): string | undefined {
  const hex = revertData(data)
  if (!hex) return undefined
  try {
    const e = decodeErrorResult({ abi, data: hex })
    const args = (e.args ?? []).map((a) => String(a)).join(', ')
    const meaning = meanings[e.errorName]
    return `${e.errorName}(${args})${meaning ? `: ${meaning}` : ''}`
  } catch {
    return undefined
  }
}
