import { bytesToHex, concatBytes, equalBytes, u64ToBytes } from '../common/bytes.js'
import type { Common } from '@ethereumjs/common'
import { addressIndexOps, backfillPendingOp, readBackfillPending } from './AddressIndex.js'
import { Block, decodeBody } from './Block.js'
import { type ChainDB, type DbOp, KeyPrefix, dbGet, prefixed } from './Database.js'
import { ChainError } from './errors.js'
import { BlockHeader, isPreStandardHeader } from './Header.js'
import { decodeStoredReceipts, encodeStoredReceipts, type TxReceipt } from './Receipt.js'
import { WeightedCache } from './WeightedCache.js'

const META_HEAD = new TextEncoder().encode('head')
const META_SAFE = new TextEncoder().encode('safe')
const META_FINALIZED = new TextEncoder().encode('finalized')
const META_GENESIS = new TextEncoder().encode('genesis')

export interface TxLocation {
  blockHash: Uint8Array
  blockNumber: bigint
  index: number
}

/** What a head change did to the canonical chain, oldest first. */
export interface CanonicalChange {
  removed: Block[]
  added: Block[]
}

/** Progress of the address index backfill (blocks stored before the index existed). */
export interface BackfillProgress {
  /** Blocks still to index (they are below every indexed block). */
  pending: bigint
  /** Blocks indexed so far by this backfill. */
  done: bigint
}

/**
 * Blocks, bodies, receipts and indexes on LevelDB. Writes go through `commitBlock`, which puts
 * the block, its receipts, the caller's state-trie writes, the canonical indexes (block number,
 * transaction location, the address index of AddressIndex.ts) and the head pointer in one atomic
 * batch: a crash leaves either the old head or the new one, never half.
 */
export class BlockStore {
  private headHeader!: BlockHeader
  private headers = new Map<string, BlockHeader>()
  // Recent blocks and receipts, decoded: wallets poll receipts of the newest blocks, and
  // decoding a body means decoding every transaction in it.
  // Bounded by blocks and by the transactions they hold: 256 full blocks of transfers (≈ 1,400
  // each) kept ≈ 360,000 decoded transactions, over 1 GiB, under spam (bench --only spam).
  static readonly BLOCKS_CACHE_BLOCKS = 256
  static readonly BLOCKS_CACHE_MAX_TXS = 20_000
  private blocks = new WeightedCache<Block>(BlockStore.BLOCKS_CACHE_BLOCKS, BlockStore.BLOCKS_CACHE_MAX_TXS, (b) => b.transactions.length)
  // Decoded receipts of recent blocks, bounded by receipt count (not blocks: a block may hold
  // thousands) so that repeated log queries over a few thousand blocks do not re-read them.
  private static readonly RECEIPTS_CACHE_MAX = 20_000
  private static readonly RECEIPTS_CACHE_BLOCKS = 8192
  private receiptsCache = new WeightedCache<TxReceipt[]>(BlockStore.RECEIPTS_CACHE_BLOCKS, BlockStore.RECEIPTS_CACHE_MAX, (r) => Math.max(1, r.length))
  private canonicalCache = new Map<bigint, Uint8Array>()
  /** Head moves so far: a canonical read caches its answer only if none happened while it was out. */
  private canonicalMoves = 0
  private safeHash?: Uint8Array
  private finalizedHash?: Uint8Array
  // Head moves and backfill steps take turns: a backfill step reads a canonical block and
  // writes its entries, and a reorg between the two would leave entries of a removed block.
  private writes: Promise<unknown> = Promise.resolve()
  private backfillPending = 0n
  private backfillStop = false

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(fn, fn)
    this.writes = run.catch(() => {})
    return run
  }

  constructor(
    readonly db: ChainDB,
    private readonly common: Common,
  ) {}

  /** Loads the head pointer; returns false on an empty database. */
  async open(): Promise<boolean> {
    const headHash = await dbGet(this.db, prefixed(KeyPrefix.meta, META_HEAD))
    if (!headHash) return false
    const rawHead = await dbGet(this.db, prefixed(KeyPrefix.header, headHash))
    if (rawHead && isPreStandardHeader(rawHead))
      throw new ChainError(
        'OLD_FORMAT',
        'this data directory was written by an older povchain, whose block headers were not standard Ethereum headers ' +
          '(their hashes differ from the ones this version computes); it cannot be read. Re-initialise it: stop the node, ' +
          'move or delete the data directory, then run `povchain init --genesis <genesis.json> --datadir <dir>` ' +
          '(or just start `povchain node --dev` on the empty directory) and let the node sync from its peers. ' +
          'There is no migration: every block hash changed.',
      )
    const head = await this.getHeader(headHash)
    if (!head) throw new ChainError('CORRUPT', `head ${bytesToHex(headHash)} has no header in the database`)
    this.headHeader = head
    this.safeHash = await dbGet(this.db, prefixed(KeyPrefix.meta, META_SAFE))
    this.finalizedHash = await dbGet(this.db, prefixed(KeyPrefix.meta, META_FINALIZED))
    const pending = await readBackfillPending(this.db)
    if (pending === undefined) {
      // A database from before the address index: every stored canonical block needs entries.
      this.backfillPending = head.number + 1n
      await this.db.batch([backfillPendingOp(this.backfillPending)])
    } else this.backfillPending = pending
    return true
  }

  /** Blocks 0 … n − 1 of the canonical chain are not in the address index yet (0: complete). */
  addressIndexPending(): bigint {
    return this.backfillPending
  }

  /**
   * Indexes the blocks stored before the address index existed, newest first (recent history
   * is what an explorer asks for first), `step` blocks a batch, taking turns with head moves.
   * Resumable: the pending count is written with each batch. Returns when done or stopped.
   */
  async backfillAddressIndex(onProgress?: (p: BackfillProgress) => void, step = 256): Promise<void> {
    let done = 0n
    while (this.backfillPending > 0n && !this.backfillStop) {
      await this.exclusive(async () => {
        const top = this.backfillPending
        const bottom = top > BigInt(step) ? top - BigInt(step) : 0n
        const ops: DbOp[] = []
        for (let n = top - 1n; n >= bottom; n--) {
          const hash = await this.canonicalHash(n)
          const receipts = hash && (await this.getReceipts(hash))
          if (receipts) ops.push(...addressIndexOps(n, receipts, 'put'))
        }
        ops.push(backfillPendingOp(bottom))
        await this.db.batch(ops)
        done += top - bottom
        this.backfillPending = bottom
      })
      onProgress?.({ pending: this.backfillPending, done })
    }
  }

  /** Stops a running backfill after its current batch (before the database closes). */
  async stopBackfill(): Promise<void> {
    this.backfillStop = true
    await this.exclusive(async () => {})
  }

  head(): BlockHeader {
    return this.headHeader
  }

  async genesisHash(): Promise<Uint8Array | undefined> {
    return dbGet(this.db, prefixed(KeyPrefix.meta, META_GENESIS))
  }

  async getHeader(hash: Uint8Array): Promise<BlockHeader | undefined> {
    const key = bytesToHex(hash)
    const cached = this.headers.get(key)
    if (cached) return cached
    const raw = await dbGet(this.db, prefixed(KeyPrefix.header, hash))
    if (!raw) return undefined
    const h = BlockHeader.decode(raw)
    this.cacheHeader(h)
    return h
  }

  private cacheHeader(h: BlockHeader): void {
    if (this.headers.size > 16384) this.headers.delete(this.headers.keys().next().value!)
    this.headers.set(bytesToHex(h.hash()), h)
  }

  async getBlock(hash: Uint8Array): Promise<Block | undefined> {
    const key = bytesToHex(hash)
    const cached = this.blocks.get(key)
    if (cached) return cached
    const header = await this.getHeader(hash)
    if (!header) return undefined
    const body = await dbGet(this.db, prefixed(KeyPrefix.body, hash))
    if (!body) return undefined
    const block = new Block(header, decodeBody(body, this.common))
    this.blocks.set(key, block)
    return block
  }

  /** The receipts of a stored block (shared objects: do not mutate). */
  async getReceipts(hash: Uint8Array): Promise<TxReceipt[] | undefined> {
    const key = bytesToHex(hash)
    const cached = this.receiptsCache.get(key)
    if (cached) return cached
    const raw = await this.readReceipts(key, hash)
    if (!raw) return undefined
    const again = this.receiptsCache.get(key)
    if (again) return again
    const receipts = decodeStoredReceipts(raw)
    this.receiptsCache.set(key, receipts)
    return receipts
  }

  // Log queries ask for the receipts of many blocks at once: misses asked for in the same tick
  // are read with one LevelDB getMany instead of one native get each.
  private pendingReceipts?: Map<string, { hash: Uint8Array; waiters: { resolve: (v: Uint8Array | undefined) => void; reject: (e: unknown) => void }[] }>

  private readReceipts(key: string, hash: Uint8Array): Promise<Uint8Array | undefined> {
    return new Promise((resolve, reject) => {
      let batch = this.pendingReceipts
      if (!batch) {
        batch = new Map()
        this.pendingReceipts = batch
        queueMicrotask(() => {
          this.pendingReceipts = undefined
          const entries = [...batch!.values()]
          this.db.getMany(entries.map((e) => prefixed(KeyPrefix.receipts, e.hash))).then(
            (values) => entries.forEach((e, i) => e.waiters.forEach((w) => w.resolve(values[i] ?? undefined))),
            (err) => entries.forEach((e) => e.waiters.forEach((w) => w.reject(err))),
          )
        })
      }
      const entry = batch.get(key)
      if (entry) entry.waiters.push({ resolve, reject })
      else batch.set(key, { hash, waiters: [{ resolve, reject }] })
    })
  }

  /** Decoded blocks and their transactions held in memory (bounded: BLOCKS_CACHE_*). */
  cachedBlocks(): { blocks: number; transactions: number } {
    return { blocks: this.blocks.size, transactions: this.blocks.weightHeld }
  }

  async canonicalHash(number: bigint): Promise<Uint8Array | undefined> {
    if (number > this.headHeader.number) return undefined
    const c = this.canonicalCache.get(number)
    if (c) return c
    const moves = this.canonicalMoves
    const h = await dbGet(this.db, prefixed(KeyPrefix.canonical, u64ToBytes(number)))
    // A head move while the read was out may have made its answer a removed branch's: answering
    // it is a read that raced the move, but caching it would keep serving it after.
    if (h && moves === this.canonicalMoves) this.cacheCanonical(number, h)
    return h
  }

  private cacheCanonical(n: bigint, h: Uint8Array): void {
    if (this.canonicalCache.size > 65536) this.canonicalCache.delete(this.canonicalCache.keys().next().value!)
    this.canonicalCache.set(n, h)
  }

  async canonicalHeader(number: bigint): Promise<BlockHeader | undefined> {
    const h = await this.canonicalHash(number)
    return h ? this.getHeader(h) : undefined
  }

  async isCanonical(header: BlockHeader): Promise<boolean> {
    const h = await this.canonicalHash(header.number)
    return h !== undefined && equalBytes(h, header.hash())
  }

  async txLocation(txHash: Uint8Array): Promise<TxLocation | undefined> {
    const raw = await dbGet(this.db, prefixed(KeyPrefix.txLocation, txHash))
    if (!raw) return undefined
    const blockHash = raw.subarray(0, 32)
    const index = new DataView(raw.buffer, raw.byteOffset + 32, 4).getUint32(0)
    const header = await this.getHeader(blockHash)
    if (!header) return undefined
    return { blockHash, blockNumber: header.number, index }
  }

  safe(): Uint8Array | undefined {
    return this.safeHash
  }

  finalized(): Uint8Array | undefined {
    return this.finalizedHash
  }

  /** Writes the genesis block and points the head at it (empty database only). */
  async initGenesis(block: Block, stateOps: DbOp[]): Promise<void> {
    const hash = block.hash()
    const ops: DbOp[] = [
      ...stateOps,
      ...this.blockDataOps(block, []),
      ...this.canonicalOps(block, []),
      backfillPendingOp(0n),
      { type: 'put', key: prefixed(KeyPrefix.meta, META_GENESIS), value: hash },
      { type: 'put', key: prefixed(KeyPrefix.meta, META_HEAD), value: hash },
      { type: 'put', key: prefixed(KeyPrefix.meta, META_SAFE), value: hash },
      { type: 'put', key: prefixed(KeyPrefix.meta, META_FINALIZED), value: hash },
    ]
    await this.db.batch(ops)
    this.headHeader = block.header
    this.safeHash = this.finalizedHash = hash
    this.cacheHeader(block.header)
    this.cacheCanonical(0n, hash)
  }

  private blockDataOps(block: Block, receipts: TxReceipt[]): DbOp[] {
    const hash = block.hash()
    return [
      { type: 'put', key: prefixed(KeyPrefix.header, hash), value: block.header.encode() },
      { type: 'put', key: prefixed(KeyPrefix.body, hash), value: block.encodeBody() },
      { type: 'put', key: prefixed(KeyPrefix.receipts, hash), value: encodeStoredReceipts(receipts) },
    ]
  }

  private canonicalOps(block: Block, receipts: readonly TxReceipt[]): DbOp[] {
    const hash = block.hash()
    const ops: DbOp[] = [{ type: 'put', key: prefixed(KeyPrefix.canonical, u64ToBytes(block.number)), value: hash }]
    block.transactions.forEach((tx, i) => {
      const idx = new Uint8Array(4)
      new DataView(idx.buffer).setUint32(0, i)
      ops.push({ type: 'put', key: prefixed(KeyPrefix.txLocation, tx.hash()), value: concatBytes(hash, idx) })
    })
    ops.push(...addressIndexOps(block.number, receipts, 'put'))
    return ops
  }

  /**
   * Stores a block. With `makeHead` the canonical chain moves to it — extending the head or
   * reorganising from the common ancestor — in the same batch. Returns the canonical change.
   */
  commitBlock(block: Block, receipts: TxReceipt[], stateOps: DbOp[], opts: { makeHead: boolean; extraOps?: DbOp[] }): Promise<CanonicalChange> {
    return this.exclusive(() => this.commitBlockNow(block, receipts, stateOps, opts))
  }

  private async commitBlockNow(
    block: Block,
    receipts: TxReceipt[],
    stateOps: DbOp[],
    opts: { makeHead: boolean; extraOps?: DbOp[] },
  ): Promise<CanonicalChange> {
    const ops: DbOp[] = [...stateOps, ...this.blockDataOps(block, receipts), ...(opts.extraOps ?? [])]
    let change: CanonicalChange = { removed: [], added: [] }
    if (opts.makeHead) {
      if (equalBytes(block.header.parentHash, this.headHeader.hash())) {
        change = { removed: [], added: [block] }
        ops.push(...this.canonicalOps(block, receipts))
      } else {
        change = await this.reorgChange(block)
        ops.push(...(await this.reorgOps(change, block, receipts)))
      }
      ops.push({ type: 'put', key: prefixed(KeyPrefix.meta, META_HEAD), value: block.hash() })
    }
    await this.db.batch(ops)
    this.cacheHeader(block.header)
    const key = bytesToHex(block.hash())
    this.blocks.set(key, block)
    this.receiptsCache.set(key, receipts)
    if (opts.makeHead) this.applyCanonical(change, block.header)
    return change
  }

  /** Moves the head to an already stored block (fork choice switching branches). */
  setHead(hash: Uint8Array): Promise<CanonicalChange> {
    return this.exclusive(() => this.setHeadNow(hash))
  }

  private async setHeadNow(hash: Uint8Array): Promise<CanonicalChange> {
    const target = await this.getBlock(hash)
    if (!target) throw new ChainError('UNKNOWN_BLOCK', `cannot set head to unknown block ${bytesToHex(hash)}`)
    const change = await this.reorgChange(target)
    const ops = await this.reorgOps(change)
    ops.push({ type: 'put', key: prefixed(KeyPrefix.meta, META_HEAD), value: hash })
    await this.db.batch(ops)
    this.applyCanonical(change, target.header)
    return change
  }

  async setSafeAndFinalized(safe: Uint8Array, finalized: Uint8Array): Promise<void> {
    await this.db.batch(this.safeAndFinalizedOps(safe, finalized))
    this.applySafeAndFinalized(safe, finalized)
  }

  /** The writes that move the safe and finalized pointers, to put in a block's own batch. */
  safeAndFinalizedOps(safe: Uint8Array, finalized: Uint8Array): DbOp[] {
    return [
      { type: 'put', key: prefixed(KeyPrefix.meta, META_SAFE), value: safe },
      { type: 'put', key: prefixed(KeyPrefix.meta, META_FINALIZED), value: finalized },
    ]
  }

  /** Records pointers written by `safeAndFinalizedOps` once their batch is stored. */
  applySafeAndFinalized(safe: Uint8Array, finalized: Uint8Array): void {
    this.safeHash = safe
    this.finalizedHash = finalized
  }

  private applyCanonical(change: CanonicalChange, newHead: BlockHeader): void {
    this.canonicalMoves++
    for (const b of change.removed) this.canonicalCache.delete(b.number)
    for (const b of change.added) this.cacheCanonical(b.number, b.hash())
    // Numbers above the new head are no longer canonical. The cache only ever took numbers up to
    // the head of its day, and a head that moves up overwrites each number it passes (`added`),
    // so only the span the head moved down through needs deleting — not a scan of the whole
    // cache (up to 65,536 entries) for every block, which made each block's commit grow with the chain.
    for (let n = newHead.number + 1n; n <= this.headHeader.number; n++) this.canonicalCache.delete(n)
    this.headHeader = newHead
  }

  /** Walks the new branch back to the canonical chain; the new tip itself may not be stored yet. */
  private async reorgChange(tip: Block): Promise<CanonicalChange> {
    const added: Block[] = [tip]
    let cursor = tip.header
    while (true) {
      if (cursor.number === 0n) break
      const parent = await this.getBlock(cursor.parentHash)
      if (!parent) throw new ChainError('UNKNOWN_BLOCK', `missing ancestor ${bytesToHex(cursor.parentHash)} of block ${tip.number}`)
      const canon = await this.canonicalHash(parent.number)
      if (canon && equalBytes(canon, parent.hash())) break
      added.unshift(parent)
      cursor = parent.header
    }
    const ancestor = added[0]!.number - 1n
    const removed: Block[] = []
    for (let n = ancestor + 1n; n <= this.headHeader.number; n++) {
      const h = await this.canonicalHash(n)
      const b = h && (await this.getBlock(h))
      if (b) removed.push(b)
    }
    return { removed, added }
  }

  /**
   * The index writes of a reorg: the removed blocks' entries deleted, then the added blocks'
   * written (in this order, so a position both had ends with the new block's entry). `tip` is
   * the block being committed, whose receipts are not stored yet.
   */
  private async reorgOps(change: CanonicalChange, tip?: Block, tipReceipts?: TxReceipt[]): Promise<DbOp[]> {
    const ops: DbOp[] = []
    const newTop = change.added.length ? change.added[change.added.length - 1]!.number : -1n
    for (const b of change.removed) {
      for (const tx of b.transactions) ops.push({ type: 'del', key: prefixed(KeyPrefix.txLocation, tx.hash()) })
      if (b.number > newTop) ops.push({ type: 'del', key: prefixed(KeyPrefix.canonical, u64ToBytes(b.number)) })
      ops.push(...addressIndexOps(b.number, await this.storedReceipts(b), 'del'))
    }
    for (const b of change.added) {
      const receipts = tip && b === tip ? tipReceipts! : await this.storedReceipts(b)
      ops.push(...this.canonicalOps(b, receipts))
    }
    return ops
  }

  private async storedReceipts(b: Block): Promise<TxReceipt[]> {
    const r = await this.getReceipts(b.hash())
    if (!r) throw new ChainError('CORRUPT', `block ${b.number} ${bytesToHex(b.hash())} has no receipts in the database`)
    return r
  }
}
