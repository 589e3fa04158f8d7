/**
 * Byte-level mutations of a corpus input, plus RLP-aware ones: the decoders under test read
 * RLP or protobuf, and a random bit flip rarely keeps a length prefix consistent, so most
 * inputs would stop at the first prefix check. Editing a real item's length (±1, past the
 * input, short form ↔ long form, leading zeros) reaches the checks behind it.
 */
import { concatBytes } from '../../common/bytes.js'

export class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0 || 1
  }
  /** xorshift32: fast and reproducible from the printed seed. */
  next(): number {
    let x = this.s
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.s = x >>> 0
    return this.s
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!
  }
}

/** Bytes that sit on the boundaries of RLP prefixes and protobuf wire types. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0x81, 0xb7, 0xb8, 0xb9, 0xbf, 0xc0, 0xc1, 0xf7, 0xf8, 0xf9, 0xff, 0x08, 0x0a, 0x10, 0x12, 0x1a]

export const MAX_INPUT = 64 * 1024

export function mutate(input: Uint8Array, rng: Rng, corpus: readonly Uint8Array[]): Uint8Array {
  let out = input
  const rounds = 1 + rng.int(4)
  for (let i = 0; i < rounds; i++) out = mutateOnce(out, rng, corpus)
  return out.length > MAX_INPUT ? out.subarray(0, MAX_INPUT) : out
}

function mutateOnce(b: Uint8Array, rng: Rng, corpus: readonly Uint8Array[]): Uint8Array {
  switch (rng.int(10)) {
    case 0: {
      if (!b.length) return Uint8Array.of(rng.int(256))
      const c = b.slice()
      const i = rng.int(c.length)
      c[i]! ^= 1 << rng.int(8)
      return c
    }
    case 1: {
      if (!b.length) return Uint8Array.of(rng.pick(INTERESTING))
      const c = b.slice()
      c[rng.int(c.length)] = rng.pick(INTERESTING)
      return c
    }
    case 2: {
      const at = rng.int(b.length + 1)
      const n = 1 + rng.int(8)
      const ins = Uint8Array.from({ length: n }, () => (rng.int(2) ? rng.pick(INTERESTING) : rng.int(256)))
      return concatBytes(b.subarray(0, at), ins, b.subarray(at))
    }
    case 3: {
      if (!b.length) return b
      const at = rng.int(b.length)
      const n = 1 + rng.int(Math.min(16, b.length - at))
      return concatBytes(b.subarray(0, at), b.subarray(at + n))
    }
    case 4: {
      // duplicate a range (repeated fields, repeated list items)
      if (!b.length) return b
      const at = rng.int(b.length)
      const n = 1 + rng.int(Math.min(64, b.length - at))
      return concatBytes(b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n))
    }
    case 5: {
      // splice: our head, another input's tail
      const other = rng.pick(corpus)
      return concatBytes(b.subarray(0, rng.int(b.length + 1)), other.subarray(rng.int(other.length + 1)))
    }
    case 6: {
      if (b.length < 2) return b
      return b.subarray(0, rng.int(b.length))
    }
    case 7:
    case 8:
      return mutateRlpTree(b, rng, corpus) ?? mutateOnce(b, rng, corpus)
    default:
      return mutateRlpItem(b, rng) ?? mutateOnce(b, rng, corpus)
  }
}

type Tree = Uint8Array | Tree[]

/**
 * Decode, change one node, encode again: the enclosing lists' prefixes stay consistent, so
 * the change reaches the field checks of the decoder instead of its RLP framing.
 */
function mutateRlpTree(b: Uint8Array, rng: Rng, corpus: readonly Uint8Array[]): Uint8Array | undefined {
  let tree: Tree
  const t = decodeTree(b)
  if (t === undefined) return undefined
  tree = t
  const nodes: { parent: Tree[]; i: number }[] = []
  const collect = (t: Tree) => {
    if (!Array.isArray(t) || nodes.length > 4096) return
    t.forEach((c, i) => {
      nodes.push({ parent: t, i })
      collect(c)
    })
  }
  collect(tree)
  if (!nodes.length) return undefined
  const { parent, i } = rng.pick(nodes)
  const node = parent[i]!
  switch (rng.int(8)) {
    case 0: // one byte longer or shorter (a hash of 31 or 33 bytes)
      parent[i] = node instanceof Uint8Array ? (rng.int(2) && node.length ? node.subarray(1) : concatBytes(Uint8Array.of(rng.int(256)), node)) : []
      break
    case 1: // a leading zero (non-canonical integer)
      parent[i] = node instanceof Uint8Array ? concatBytes(Uint8Array.of(0), node) : [node]
      break
    case 2:
      parent[i] = new Uint8Array(0)
      break
    case 3:
      parent[i] = []
      break
    case 4: // an integer past every limit
      parent[i] = Uint8Array.from({ length: rng.pick([8, 9, 32, 33, 64]) }, () => 0xff)
      break
    case 5:
      parent.splice(i, 1)
      break
    case 6:
      parent.splice(i, 0, node)
      break
    default: {
      // graft a node from another input (a field of one message where another belongs)
      const other = decodeTree(rng.pick(corpus))
      if (other === undefined) return undefined
      parent[i] = Array.isArray(other) && other.length ? other[rng.int(other.length)]! : other
    }
  }
  return encodeTree(tree)
}

/**
 * The mutator's own RLP (lenient: non-canonical prefixes are read as they say): using the
 * library under test here would add its blocks to every input's coverage.
 */
function decodeTree(b: Uint8Array): Tree | undefined {
  const one = (p: number, end: number, depth: number): [Tree, number] | undefined => {
    if (p >= end || depth > 64) return undefined
    const x = b[p]!
    if (x < 0x80) return [b.subarray(p, p + 1), p + 1]
    let prefixLen = 1
    let len: number
    if (x <= 0xb7 || (x >= 0xc0 && x <= 0xf7)) len = x - (x < 0xc0 ? 0x80 : 0xc0)
    else {
      const n = x - (x < 0xc0 ? 0xb7 : 0xf7)
      len = readLen(b, p + 1, n)
      prefixLen += n
    }
    const start = p + prefixLen
    if (len < 0 || start + len > end) return undefined
    if (x < 0xc0) return [b.subarray(start, start + len), start + len]
    const items: Tree[] = []
    for (let q = start; q < start + len; ) {
      const r = one(q, start + len, depth + 1)
      if (!r) return undefined
      items.push(r[0])
      q = r[1]
    }
    return [items, start + len]
  }
  const r = one(0, b.length, 0)
  return r && r[1] === b.length ? r[0] : undefined
}

function encodeTree(t: Tree): Uint8Array {
  if (t instanceof Uint8Array) return t.length === 1 && t[0]! < 0x80 ? t : concatBytes(prefix(t.length, false), t)
  const body = concatBytes(...t.map(encodeTree))
  return concatBytes(prefix(body.length, true), body)
}

interface RlpItem {
  /** offset of the prefix byte */
  at: number
  /** bytes of prefix */
  prefixLen: number
  /** payload length as the prefix states it */
  len: number
  list: boolean
}

/** Every item header a lenient walk finds (stops where the bytes stop making sense). */
export function rlpItems(b: Uint8Array): RlpItem[] {
  const items: RlpItem[] = []
  const walk = (start: number, end: number, depth: number) => {
    let p = start
    while (p < end && items.length < 4096 && depth < 64) {
      const x = b[p]!
      let prefixLen = 1
      let len = 0
      let list = false
      if (x < 0x80) {
        p++
        continue
      } else if (x <= 0xb7) len = x - 0x80
      else if (x <= 0xbf) {
        prefixLen = 1 + (x - 0xb7)
        len = readLen(b, p + 1, x - 0xb7)
      } else if (x <= 0xf7) {
        list = true
        len = x - 0xc0
      } else {
        list = true
        prefixLen = 1 + (x - 0xf7)
        len = readLen(b, p + 1, x - 0xf7)
      }
      if (len < 0 || p + prefixLen + len > end) return
      items.push({ at: p, prefixLen, len, list })
      if (list) walk(p + prefixLen, p + prefixLen + len, depth + 1)
      p += prefixLen + len
    }
  }
  walk(0, b.length, 0)
  return items
}

function readLen(b: Uint8Array, at: number, n: number): number {
  if (at + n > b.length || n > 6) return -1
  let v = 0
  for (let i = 0; i < n; i++) v = v * 256 + b[at + i]!
  return v
}

/** A prefix for `len` bytes: short form when `forceLong` is false and it fits. */
function prefix(len: number, list: boolean, forceLong = false, pad = 0): Uint8Array {
  const base = list ? 0xc0 : 0x80
  if (len < 56 && !forceLong) return Uint8Array.of(base + len)
  const l: number[] = []
  for (let n = len; n > 0; n = Math.floor(n / 256)) l.unshift(n % 256)
  for (let i = 0; i < pad; i++) l.unshift(0)
  if (l.length === 0) l.push(0)
  return Uint8Array.of(base + 55 + l.length, ...l)
}

function mutateRlpItem(b: Uint8Array, rng: Rng): Uint8Array | undefined {
  const items = rlpItems(b)
  if (!items.length) return undefined
  const it = rng.pick(items)
  const head = b.subarray(0, it.at)
  const payload = b.subarray(it.at + it.prefixLen, it.at + it.prefixLen + it.len)
  const tail = b.subarray(it.at + it.prefixLen + it.len)
  switch (rng.int(7)) {
    case 0: // state one byte more or less than there is
      return concatBytes(head, prefix(Math.max(0, it.len + (rng.int(2) ? 1 : -1)), it.list), payload, tail)
    case 1: // a length far past the input (allocation bait)
      return concatBytes(head, prefix(rng.pick([0xffffff, 0x7fffffff, 0xffffffffff, b.length * 1000]), it.list, true), payload, tail)
    case 2: // non-canonical: long form for a short payload, or leading zero bytes in the length
      return concatBytes(head, prefix(it.len, it.list, true, rng.int(2)), payload, tail)
    case 3: // list ↔ string
      return concatBytes(head, prefix(it.len, !it.list), payload, tail)
    case 4: // drop the item
      return concatBytes(head, tail)
    case 5: {
      // replace the item with another item of the input
      const o = rng.pick(items)
      return concatBytes(head, b.subarray(o.at, o.at + o.prefixLen + o.len), tail)
    }
    default: {
      // wrap the item in a list (a field that should be a string now nests)
      const whole = b.subarray(it.at, it.at + it.prefixLen + it.len)
      return concatBytes(head, prefix(whole.length, true), whole, tail)
    }
  }
}

