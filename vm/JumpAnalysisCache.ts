/**
 * @ethereumjs/evm re-analyses a contract's bytecode (valid JUMPDESTs, the value of every PUSH,
 * the opcode at every instruction start) each time a message runs it: for an ERC-20
 * `balanceOf` that was ~6 % of an eth_call's CPU and the same again per token transfer.
 * The analysis depends only on the code bytes (and on whether EIP-8024's immediates are on),
 * so it is kept here by exact code bytes.
 *
 * Two lookups, cheapest first: by the code array's identity (the state manager's code cache and
 * the trie database hand back the same array for the same code, so a block's transfers and a
 * root's calls find it without touching the bytes), checked against a copy of the bytes so that
 * an array written in place can never be served a stale analysis; then by the bytes themselves
 * (a latin1 string key: one copy of the code per miss of the first level).
 *
 * The opcode list (the opcode object at every instruction start) is kept per *opcode table
 * content*: every EVM builds its own table of fresh but equal objects, and a VM made for a new
 * state root (call VMs, readers) would otherwise rebuild the list of each code it runs — ~5 ms
 * for WorkMarket's 51 KB. Tables are compared field by field (`canonicalTable`), so a list is
 * only ever shared between EVMs whose tables give every opcode the same name, fee, flags,
 * handler and gas handler, i.e. between EVMs that would execute it identically.
 */

interface CodeAnalysis {
  /** A copy of the analysed code (the identity lookup compares against it). */
  bytes: Uint8Array
  eip8024: boolean
  jumps: Uint8Array
  pushes: Record<number, bigint>
  /** Instruction starts: where the original analysis puts an opcode (not inside PUSH data). */
  starts: Uint32Array
  /** The opcode objects at those starts for the last few distinct opcode tables. */
  ops: [table: object, ops: unknown[]][]
  /** The cache generation this entry belongs to (a bound-triggered clear starts a new one). */
  generation: number
}

interface OpEntry {
  opcodeInfo: { code: number; name: string; fullName: string; fee: number; feeBigInt: bigint; isAsync: boolean; dynamicGas: boolean; isInvalid: boolean }
  opHandler: unknown
  gasHandler: unknown
}

export interface InterpreterLike {
  common: { isActivatedEIP(eip: number): boolean }
  _evm?: { _opcodeMap?: object }
  lookupOpInfo(op: number): unknown
  _getValidJumpDestinations(code: Uint8Array): { jumps: Uint8Array; pushes: Record<number, bigint>; opcodesCached: unknown[] }
}

/**
 * Bytes of code kept analysed. eth_call is free to call, so this bounds what anyone can make the
 * node hold: per code byte a copy, a key byte, a jump-table byte, at most one PUSH value and, for
 * each of at most OPS_PER_CODE opcode tables, an 8-byte opcode slot — under 60 MB in the worst
 * case (all PUSH1s).
 */
const MAX_CODE_BYTES = 1 << 20
const OPS_PER_CODE = 4
/** Distinct opcode tables remembered as representatives (hardforks × EIP sets in one process). */
const MAX_TABLES = 16
const cache = new Map<string, CodeAnalysis>()
const byArray = new WeakMap<Uint8Array, CodeAnalysis>()
let generation = 0
let cachedBytes = 0
let installed = false
let original: InterpreterLike['_getValidJumpDestinations'] | undefined
const stats = { hits: 0, identityHits: 0, misses: 0, opListsBuilt: 0 }

/** The analysis @ethereumjs/evm shipped with (after install), for the comparison test. */
export function originalJumpAnalysis(): InterpreterLike['_getValidJumpDestinations'] | undefined {
  return original
}

/** Hits (of which by array identity), misses and opcode lists built since start (tests, bench). */
export function jumpAnalysisStats(): Readonly<typeof stats> {
  return stats
}

const representatives: object[] = []
const canonical = new WeakMap<object, object>()

function sameEntry(a: OpEntry | undefined, b: OpEntry | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined) return false
  if (a.opHandler !== b.opHandler || a.gasHandler !== b.gasHandler) return false
  const x = a.opcodeInfo
  const y = b.opcodeInfo
  if (x === y) return true
  if (!x || !y) return false
  return (
    x.code === y.code && x.name === y.name && x.fullName === y.fullName && x.fee === y.fee && x.feeBigInt === y.feeBigInt &&
    x.isAsync === y.isAsync && x.dynamicGas === y.dynamicGas && x.isInvalid === y.isInvalid
  )
}

function sameTable(a: ArrayLike<OpEntry | undefined>, b: ArrayLike<OpEntry | undefined>): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (!sameEntry(a[i], b[i])) return false
  return true
}

/**
 * The first-seen table equal, field by field, to `table` (itself if none is): EVMs whose
 * tables map to the same representative share opcode lists. Compared once per table object.
 */
export function canonicalTable(table: object): object {
  let rep = canonical.get(table)
  if (rep !== undefined) return rep
  rep = representatives.find((r) => sameTable(r as ArrayLike<OpEntry>, table as ArrayLike<OpEntry>))
  if (rep === undefined) {
    rep = table
    if (representatives.length >= MAX_TABLES) representatives.shift()
    representatives.push(table)
  }
  canonical.set(table, rep)
  return rep
}

function equalCode(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))
}

function lookup(code: Uint8Array, eip8024: boolean): CodeAnalysis | undefined {
  const known = byArray.get(code)
  if (known !== undefined && known.generation === generation && known.eip8024 === eip8024 && equalCode(known.bytes, code)) {
    stats.identityHits++
    return known
  }
  const a = cache.get(keyOf(code, eip8024))
  if (a !== undefined) byArray.set(code, a)
  return a
}

function keyOf(code: Uint8Array, eip8024: boolean): string {
  return (eip8024 ? '1' : '0') + Buffer.from(code.buffer, code.byteOffset, code.length).toString('latin1')
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
    const eip8024 = this.common.isActivatedEIP(8024)
    let a = lookup(code, eip8024)
    if (a === undefined) {
      stats.misses++
      const fresh = analyse.call(this, code)
      const starts: number[] = []
      for (let i = 0; i < code.length; i++) if (i in fresh.opcodesCached) starts.push(i)
      if (cachedBytes + code.length > MAX_CODE_BYTES) {
        cache.clear()
        cachedBytes = 0
        generation++
      }
      a = { bytes: code.slice(), eip8024, jumps: fresh.jumps, pushes: fresh.pushes, starts: Uint32Array.from(starts), ops: [], generation }
      cache.set(keyOf(code, eip8024), a)
      byArray.set(code, a)
      cachedBytes += code.length
      return fresh
    }
    stats.hits++
    const own = this._evm?._opcodeMap
    const table = own ? canonicalTable(own) : undefined
    let opcodesCached: unknown[] | undefined
    for (const [t, o] of a.ops) if (t === table) opcodesCached = o
    if (opcodesCached === undefined) {
      stats.opListsBuilt++
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
