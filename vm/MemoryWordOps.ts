/**
 * MSTORE and MLOAD as @ethereumjs/evm writes them convert each 256-bit word through a hex
 * string and pad it by spreading arrays (`setLengthLeft(bigIntToBytes(word), 32)`): 2.7 µs
 * per MSTORE, ~4 % of an eth_call and of every contract transaction. These handlers write and
 * read the same 32 big-endian bytes through a DataView straight on the memory's buffer (no
 * per-op arrays); same stack, memory, errors and gas (the gas functions are separate and
 * untouched). `vm/test/evm-internals.property.test.ts` compares them with the originals.
 */

interface Stack {
  pop(): bigint
  popN(n: number): bigint[]
  push(v: bigint): void
}
interface Memory {
  read(offset: number, size: number, avoidCopy?: boolean): Uint8Array
  write(offset: number, size: number, value: Uint8Array): void
  extend(offset: number, size: number): void
  _store: Uint8Array
}
export interface WordOpState {
  stack: Stack
  memory: Memory
}
type Handler = (runState: WordOpState) => void

export const MLOAD = 0x51
export const MSTORE = 0x52

// One view per memory buffer seen last (a frame's memory keeps its buffer until it grows), and
// one scratch word for MSTORE (Memory.write copies it in): no allocation per MLOAD/MSTORE
// beyond the BigInt arithmetic — they were a steady share of an eth_call's garbage.
let viewBuffer: ArrayBufferLike | undefined
let view: DataView | undefined
const scratch = new Uint8Array(32)
const scratchView = new DataView(scratch.buffer)

export const fastMload: Handler = (runState) => {
  const pos = Number(runState.stack.pop())
  const memory = runState.memory
  // What read(pos, 32, true) does before it takes its subarray.
  memory.extend(pos, 32)
  const store = memory._store
  if (store.buffer !== viewBuffer || view === undefined) {
    viewBuffer = store.buffer
    view = new DataView(store.buffer)
  }
  const o = store.byteOffset + pos
  runState.stack.push((view.getBigUint64(o) << 192n) | (view.getBigUint64(o + 8) << 128n) | (view.getBigUint64(o + 16) << 64n) | view.getBigUint64(o + 24))
}

export const fastMstore: Handler = (runState) => {
  const [offset, word] = runState.stack.popN(2) as [bigint, bigint]
  scratchView.setBigUint64(0, word >> 192n)
  scratchView.setBigUint64(8, word >> 128n)
  scratchView.setBigUint64(16, word >> 64n)
  scratchView.setBigUint64(24, word)
  runState.memory.write(Number(offset), 32, scratch)
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
