/**
 * @ethereumjs/evm re-analyses a contract's bytecode (valid JUMPDESTs, the value of every PUSH,
 * the opcode at every instruction start) each time a message runs it: for an ERC-20
 * `balanceOf` that was ~6 % of an eth_call's CPU and the same again per token transfer.
 * The analysis depends only on the code bytes (and on whether EIP-8024's immediates are on),
 * so it is kept here by exact code bytes; the opcode objects are looked up again per run
 * from the running EVM's own table, as the original does, so a cached entry never carries one
 * EVM's opcode table into another.
 */

interface CodeAnalysis {
  jumps: Uint8Array
  pushes: Record<number, bigint>
  /** Instruction starts: where the original analysis puts an opcode (not inside PUSH data). */
  starts: Uint32Array
  /** The opcode objects at those starts for the last few EVM opcode tables (one per EVM instance). */
  ops: [table: object, ops: unknown[]][]
}

export interface InterpreterLike {
  common: { isActivatedEIP(eip: number): boolean }
  _evm?: { _opcodeMap?: object }
  lookupOpInfo(op: number): unknown
  _getValidJumpDestinations(code: Uint8Array): { jumps: Uint8Array; pushes: Record<number, bigint>; opcodesCached: unknown[] }
}

/**
 * Bytes of code kept analysed. eth_call is free to call, so this bounds what anyone can make the
 * node hold: per code byte a key byte, a jump-table byte, at most one PUSH value and, for each of
 * at most OPS_PER_CODE EVMs, an 8-byte opcode slot — under 60 MB in the worst case (all PUSH1s).
 */
const MAX_CODE_BYTES = 1 << 20
const OPS_PER_CODE = 4
const cache = new Map<string, CodeAnalysis>()
let cachedBytes = 0
let installed = false
let original: InterpreterLike['_getValidJumpDestinations'] | undefined
const stats = { hits: 0, misses: 0 }

/** The analysis @ethereumjs/evm shipped with (after install), for the comparison test. */
export function originalJumpAnalysis(): InterpreterLike['_getValidJumpDestinations'] | undefined {
  return original
}

/** Hits and misses since start (for tests and the bench). */
export function jumpAnalysisStats(): Readonly<typeof stats> {
  return stats
}

/**
 * Replaces `Interpreter.prototype._getValidJumpDestinations` of the @ethereumjs/evm this
 * process loaded with the cached version. Idempotent; every VM of the node goes through it.
 */
export async function installJumpAnalysisCache(): Promise<void> {
  if (installed) return
  // The class is not exported from the package root: load its module from the same place the
  // root resolves to (dist/esm/index.js → dist/esm/interpreter.js), i.e. the same instance.
  const url = import.meta.resolve('@ethereumjs/evm').replace(/index\.([cm]?[jt]s)$/, 'interpreter.$1')
  const mod = (await import(url)) as { Interpreter?: { prototype: InterpreterLike } }
  const proto = mod.Interpreter?.prototype
  if (!proto || typeof proto._getValidJumpDestinations !== 'function') return
  if (installed) return
  installed = true
  const analyse = (original = proto._getValidJumpDestinations)
  proto._getValidJumpDestinations = function (this: InterpreterLike, code: Uint8Array) {
    const key = (this.common.isActivatedEIP(8024) ? '1' : '0') + Buffer.from(code.buffer, code.byteOffset, code.length).toString('latin1')
    let a = cache.get(key)
    if (a === undefined) {
      stats.misses++
      const fresh = analyse.call(this, code)
      const starts: number[] = []
      for (let i = 0; i < code.length; i++) if (i in fresh.opcodesCached) starts.push(i)
      a = { jumps: fresh.jumps, pushes: fresh.pushes, starts: Uint32Array.from(starts), ops: [] }
      if (cachedBytes + code.length > MAX_CODE_BYTES) {
        cache.clear()
        cachedBytes = 0
      }
      cache.set(key, a)
      cachedBytes += code.length
      return fresh
    }
    stats.hits++
    const table = this._evm?._opcodeMap
    let opcodesCached: unknown[] | undefined
    for (const [t, o] of a.ops) if (t === table) opcodesCached = o
    if (opcodesCached === undefined) {
      opcodesCached = Array(code.length)
      const starts = a.starts
      for (let j = 0; j < starts.length; j++) {
        const s = starts[j]!
        opcodesCached[s] = this.lookupOpInfo(code[s]!)
      }
      if (table) {
        if (a.ops.length >= OPS_PER_CODE) a.ops.shift()
        a.ops.push([table, opcodesCached])
      }
    }
    // The interpreter only reads these (validJumps, cachedPushes, the opcode list), so runs share them.
    return { jumps: a.jumps, pushes: a.pushes, opcodesCached }
  }
}
