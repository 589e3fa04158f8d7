import type { BatchDBOp, DB } from '@ethereumjs/util'
import { type ChainDB, type DbOp, KeyPrefix, dbGet } from '../chain/Database.js'

/**
 * The state tries' view of the node's LevelDB. Trie writes are held in memory until the
 * block that produced them is committed: `takeOps()` hands them to the block store, which
 * writes them in the block's atomic batch, then `written()` releases them. A crash therefore
 * never leaves trie nodes of a block that is not stored (nor a stored block without them).
 *
 * Trie nodes are content-addressed and kept forever (archive mode), so deletes are ignored:
 * an old state root stays readable after newer blocks reuse or drop its nodes.
 */
export class TrieDatabase implements DB<string, string | Uint8Array> {
  private pending = new Map<string, Uint8Array>()
  // Nodes are immutable (keyed by their hash), so every state view can share one read cache.
  private cache = new Map<string, Uint8Array>()

  constructor(
    private readonly db: ChainDB,
    private readonly cacheEntries = 250_000,
  ) {}

  private static key(hexKey: string): Uint8Array {
    const out = new Uint8Array(1 + hexKey.length / 2)
    out[0] = KeyPrefix.state
    out.set(Buffer.from(hexKey, 'hex'), 1)
    return out
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const p = this.pending.get(key)
    if (p !== undefined) return p
    const c = this.cache.get(key)
    if (c !== undefined) return c
    const v = await dbGet(this.db, TrieDatabase.key(key))
    if (v !== undefined) this.remember(key, v)
    return v
  }

  private remember(key: string, value: Uint8Array): void {
    if (this.cache.size >= this.cacheEntries) {
      // FIFO eviction of the oldest tenth: cheap, and hot upper trie levels get re-read soon.
      let n = this.cacheEntries / 10
      for (const k of this.cache.keys()) {
        this.cache.delete(k)
        if (--n <= 0) break
      }
    }
    this.cache.set(key, value)
  }

  async put(key: string, value: string | Uint8Array): Promise<void> {
    this.pending.set(key, typeof value === 'string' ? Buffer.from(value, 'hex') : value)
  }

  async del(_key: string): Promise<void> {}

  async batch(ops: BatchDBOp<string, string | Uint8Array>[]): Promise<void> {
    for (const op of ops) if (op.type === 'put') await this.put(op.key, op.value)
  }

  shallowCopy(): DB<string, string | Uint8Array> {
    return this
  }

  async open(): Promise<void> {}

  get pendingCount(): number {
    return this.pending.size
  }

  /** The buffered writes as LevelDB operations, to go into the next block's batch. */
  takeOps(): { ops: DbOp[]; keys: string[] } {
    const ops: DbOp[] = []
    const keys: string[] = []
    for (const [k, v] of this.pending) {
      ops.push({ type: 'put', key: TrieDatabase.key(k), value: v })
      keys.push(k)
    }
    return { ops, keys }
  }

  /** Called once the batch holding these keys is on disk. */
  written(keys: string[]): void {
    for (const k of keys) {
      const v = this.pending.get(k)
      if (v !== undefined) this.remember(k, v)
      this.pending.delete(k)
    }
  }

  /** Drops buffered writes of an execution that will not be committed (an invalid block). */
  discard(): void {
    this.pending.clear()
  }
}
