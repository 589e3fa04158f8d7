import { bytesToHex } from '../common/bytes.js'
import type { CallResult } from './RpcBackend.js'
import { RpcCode, RpcError } from './RpcErrors.js'

/** Solidity's built-in panic codes, worded as Geth's abi.UnpackRevert does. */
const PANIC_REASONS: Record<number, string> = {
  0x00: 'generic panic',
  0x01: 'assert(false)',
  0x11: 'arithmetic underflow or overflow',
  0x12: 'division or modulo by zero',
  0x21: 'enum overflow',
  0x22: 'invalid encoded storage byte array accessed',
  0x31: 'out-of-bounds array access; popping on an empty array',
  0x32: 'out-of-bounds access of an array or bytesN',
  0x41: 'out of memory',
  0x51: 'uninitialized function',
}

function readWord(data: Uint8Array, offset: number): bigint | undefined {
  if (offset + 32 > data.length) return undefined
  let n = 0n
  for (let i = offset; i < offset + 32; i++) n = (n << 8n) | BigInt(data[i]!)
  return n
}

/** The reason of an Error(string) or Panic(uint256) revert; undefined for custom errors. */
export function decodeRevertReason(data: Uint8Array): string | undefined {
  if (data.length < 4) return undefined
  const sel = ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0
  const body = data.subarray(4)
  if (sel === 0x08c379a0) {
    const off = readWord(body, 0)
    if (off === undefined || off > BigInt(body.length)) return undefined
    const len = readWord(body, Number(off))
    if (len === undefined || Number(off) + 32 + Number(len) > body.length) return undefined
    const start = Number(off) + 32
    return new TextDecoder().decode(body.subarray(start, start + Number(len)))
  }
  if (sel === 0x4e487b71) {
    const code = readWord(body, 0)
    if (code === undefined) return undefined
    return (code <= 0xffn ? PANIC_REASONS[Number(code)] : undefined) ?? `unknown panic code: 0x${code.toString(16)}`
  }
  return undefined
}

/** Geth's revert error: code 3, "execution reverted[: reason]", data = revert bytes. */
export function revertError(data: Uint8Array): RpcError {
  const reason = decodeRevertReason(data)
  return new RpcError(RpcCode.EXECUTION_REVERTED, reason === undefined ? 'execution reverted' : `execution reverted: ${reason}`, bytesToHex(data))
}

/** The error for a failed call result (revert → code 3, other failures → -32000). */
export function callFailure(result: CallResult, gasCap?: bigint): RpcError {
  if (result.reverted) return revertError(result.returnValue)
  const msg = result.error ?? 'execution failed'
  if (gasCap !== undefined && /out of gas/i.test(msg)) return new RpcError(RpcCode.SERVER, `gas required exceeds allowance (${gasCap})`)
  return new RpcError(RpcCode.SERVER, msg)
}
