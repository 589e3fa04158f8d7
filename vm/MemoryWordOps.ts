/**
 * MSTORE and MLOAD as @ethereumjs/evm writes them convert each 256-bit word through a hex
 * string and pad it by spreading arrays (`setLengthLeft(bigIntToBytes(word), 32)`): 2.7 µs
 * per MSTORE, ~4 % of an eth_call and of every contract transaction. These handlers write and
 * read the same 32 big-endian bytes through a DataView (0.4 µs); same stack, memory, errors and
 * gas (the gas functions are separate and untouched). `vm/test/memory-word-ops.test.ts`
 * compares them with the originals.
 */

interface Stack {
  pop(): bigint
  popN(n: number): bigint[]
  push(v: bigint): void
}
interface Memory {
  read(offset: number, size: number, avoidCopy?: boolean): Uint8Array
  write(offset: number, size: number, value: Uint8Array): void
}
export interface WordOpState {
  stack: Stack
  memory: Memory
}
type Handler = (runState: WordOpState) => void

export const MLOAD = 0x51
export const MSTORE = 0x52

/** `word` (0 ≤ word < 2²⁵⁶, as every stack item) as 32 big-endian bytes. */
export function wordToBytes(word: bigint): Uint8Array {
  const out = new Uint8Array(32)
  const view = new DataView(out.buffer)
  // setBigUint64 keeps the low 64 bits of its argument.
  view.setBigUint64(0, word >> 192n)
  view.setBigUint64(8, word >> 128n)
  view.setBigUint64(16, word >> 64n)
  view.setBigUint64(24, word)
  return out
}

/** 32 big-endian bytes as a word. */
export function bytesToWord(b: Uint8Array): bigint {
  const view = new DataView(b.buffer, b.byteOffset, 32)
  return (view.getBigUint64(0) << 192n) | (view.getBigUint64(8) << 128n) | (view.getBigUint64(16) << 64n) | view.getBigUint64(24)
}

export const fastMload: Handler = (runState) => {
  const pos = runState.stack.pop()
  runState.stack.push(bytesToWord(runState.memory.read(Number(pos), 32, true)))
}

export const fastMstore: Handler = (runState) => {
  const [offset, word] = runState.stack.popN(2) as [bigint, bigint]
  runState.memory.write(Number(offset), 32, wordToBytes(word))
}

let originals: { mload: Handler; mstore: Handler } | undefined

/** The handlers @ethereumjs/evm shipped with (after install), for the comparison test. */
export function originalWordOps(): { mload: Handler; mstore: Handler } | undefined {
  return originals
}

/**
 * Puts the handlers into @ethereumjs/evm's default handler table, which every EVM copies when
 * it is built: call before creating VMs. Idempotent.
 */
export async function installMemoryWordOps(): Promise<void> {
  if (originals) return
  const url = import.meta.resolve('@ethereumjs/evm').replace(/index\.([cm]?[jt]s)$/, 'opcodes/functions.$1')
  const mod = (await import(url)) as { handlers?: Map<number, Handler> }
  const handlers = mod.handlers
  if (originals || !handlers?.get(MLOAD) || !handlers.get(MSTORE)) return
  originals = { mload: handlers.get(MLOAD)!, mstore: handlers.get(MSTORE)! }
  handlers.set(MLOAD, fastMload)
  handlers.set(MSTORE, fastMstore)
}
