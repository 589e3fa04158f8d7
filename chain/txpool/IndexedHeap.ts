/**
 * A binary min-heap that knows where each item sits, so an item whose key changed can be
 * removed or re-inserted in O(log n). Items must be distinct objects.
 */
export class IndexedHeap<T> {
  private readonly items: T[] = []
  private readonly index = new Map<T, number>()

  /** `less(a, b)` is true when `a` must come out before `b`. */
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length
  }

  has(item: T): boolean {
    return this.index.has(item)
  }

  peek(): T | undefined {
    return this.items[0]
  }

  /** The smallest item other than `excluded`: the root or, if the root is excluded, one of its children. */
  peekExcluding(excluded: T | undefined): T | undefined {
    const root = this.items[0]
    if (root === undefined || root !== excluded) return root
    const l = this.items[1]
    const r = this.items[2]
    if (l === undefined) return r
    if (r === undefined) return l
    return this.less(r, l) ? r : l
  }

  push(item: T): void {
    if (this.index.has(item)) throw new Error('IndexedHeap: item already present')
    this.items.push(item)
    this.index.set(item, this.items.length - 1)
    this.up(this.items.length - 1)
  }

  pop(): T | undefined {
    const top = this.items[0]
    if (top !== undefined) this.remove(top)
    return top
  }

  remove(item: T): boolean {
    const i = this.index.get(item)
    if (i === undefined) return false
    this.index.delete(item)
    const last = this.items.pop()!
    if (i < this.items.length) {
      this.items[i] = last
      this.index.set(last, i)
      this.down(i)
      this.up(this.index.get(last)!)
    }
    return true
  }

  /** Restores the heap property for an item whose key changed. */
  update(item: T): void {
    const i = this.index.get(item)
    if (i === undefined) return
    this.down(i)
    this.up(this.index.get(item)!)
  }

  /** Re-heapifies everything in O(n), after a change that moves all keys (a new base fee). */
  rebuild(): void {
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i)
  }

  clear(): void {
    this.items.length = 0
    this.index.clear()
  }

  values(): readonly T[] {
    return this.items
  }

  private up(i: number): void {
    const items = this.items
    const item = items[i]!
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = items[p]!
      if (!this.less(item, parent)) break
      items[i] = parent
      this.index.set(parent, i)
      i = p
    }
    items[i] = item
    this.index.set(item, i)
  }

  private down(i: number): void {
    const items = this.items
    const n = items.length
    const item = items[i]!
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && this.less(items[r]!, items[l]!) ? r : l
      const child = items[c]!
      if (!this.less(child, item)) break
      items[i] = child
      this.index.set(child, i)
      i = c
    }
    items[i] = item
    this.index.set(item, i)
  }
}
