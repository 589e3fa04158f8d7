/**
 * A first-in-first-out cache bounded by its number of entries and by the total weight of their
 * values (the transactions of decoded blocks, the receipts of blocks): a count bound alone let
 * 256 spam-filled blocks hold over a gigabyte.
 */
export class WeightedCache<V> {
  private readonly map = new Map<string, V>()
  private total = 0

  constructor(
    private readonly maxEntries: number,
    private readonly maxWeight: number,
    private readonly weight: (v: V) => number,
  ) {}

  get(key: string): V | undefined {
    return this.map.get(key)
  }

  set(key: string, value: V): void {
    const prev = this.map.get(key)
    if (prev !== undefined) {
      this.map.delete(key)
      this.total -= this.weight(prev)
    }
    const w = this.weight(value)
    while (this.map.size > 0 && (this.map.size >= this.maxEntries || this.total + w > this.maxWeight)) {
      const [k, v] = this.map.entries().next().value!
      this.map.delete(k)
      this.total -= this.weight(v)
    }
    this.map.set(key, value)
    this.total += w
  }

  get size(): number {
    return this.map.size
  }

  /** The summed weight of what is held. */
  get weightHeld(): number {
    return this.total
  }
}
