/**
 * Persistent (immutable, structure-sharing) containers for the contract model: every block's
 * state shares everything it did not change with its parent's, as trie nodes do in the real
 * state database, so a run of 10⁵ slots keeps one copy of each receipt, not one per block.
 */

/** A 16-ary trie on the hex digits of the key (session ids are hashes: the trie stays shallow). */
type Branch<V> = (PNode<V> | undefined)[]
interface Leaf<V> {
  k: string
  v: V
}
type PNode<V> = Leaf<V> | Branch<V>

export class PMap<V> {
  static empty<V>(): PMap<V> {
    return new PMap<V>(undefined, 0)
  }

  private constructor(
    private readonly root: PNode<V> | undefined,
    readonly size: number,
  ) {}

  get(key: string): V | undefined {
    let n = this.root
    for (let d = 0; n !== undefined; d++) {
      if (!Array.isArray(n)) return n.k === key ? n.v : undefined
      n = n[digit(key, d)]
    }
    return undefined
  }

  set(key: string, v: V): PMap<V> {
    const had = this.get(key) !== undefined
    return new PMap(put(this.root, key, v, 0), had ? this.size : this.size + 1)
  }
}

function digit(key: string, d: number): number {
  const c = key.charCodeAt(d % key.length)
  // Keys are hex; anything else still spreads (the trie only needs determinism).
  return (c <= 57 ? c - 48 : (c | 32) - 87) & 15
}

function put<V>(n: PNode<V> | undefined, key: string, v: V, d: number): PNode<V> {
  if (n === undefined) return { k: key, v }
  if (!Array.isArray(n)) {
    if (n.k === key) return { k: key, v }
    if (d >= 2 * Math.max(key.length, n.k.length)) throw new Error(`persistent map: keys ${key} and ${n.k} collide`)
    const b: Branch<V> = new Array(16)
    b[digit(n.k, d)] = n
    return put(b, key, v, d)
  }
  const copy = n.slice()
  const i = digit(key, d)
  copy[i] = put(n[i], key, v, d + 1)
  return copy
}

/** A persistent list, newest first (WorkMarket's per-worker receipt ids, ValidatorSet's snapshots). */
export interface Cons<T> {
  readonly head: T
  readonly tail: Cons<T> | undefined
  readonly size: number
}

export function cons<T>(head: T, tail: Cons<T> | undefined): Cons<T> {
  return { head, tail, size: (tail?.size ?? 0) + 1 }
}
