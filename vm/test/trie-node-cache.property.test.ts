import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import fc from 'fast-check'
import { createMPT, type MerklePatriciaTrie } from '@ethereumjs/mpt'
import { openChainDB } from '../../chain/Database.js'
import { TrieDatabase } from '../TrieDatabase.js'
import { installTrieNodeCache, originalLookupNode, trieNodeCacheStats } from '../TrieNodeCache.js'

/*
 * Tries with the decoded-node cache (TrieNodeCache) against tries that decode every node, as
 * @ethereumjs/mpt does: the same random puts, deletes and gets — with keys that share long
 * prefixes, so that branches, extensions and embedded nodes form and split — on one shared
 * TrieDatabase over LevelDB, as the node's state tries are, with checkpoints that are committed
 * or reverted. After every step both give the same root and the same values, and every earlier
 * root still reads as it did when it was current (a put that edited a remembered decoding in
 * place would change what old roots read). Unknown roots are refused with the same error.
 */

installTrieNodeCache()
const plainLookup = originalLookupNode()!

const keyArb = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
  // Few distinct short keys with common prefixes: extensions, splits, small (embedded) nodes.
  fc.tuple(fc.constantFrom(0x10, 0x11, 0x12, 0xab), fc.integer({ min: 0, max: 5 })).map(([a, b]) => Uint8Array.of(a, b)),
  fc.integer({ min: 0, max: 40 }).map((i) => Uint8Array.of(0x77, 0x70 + (i >> 4), i & 15)),
)
const opArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), key: keyArb, value: fc.uint8Array({ minLength: 1, maxLength: 70 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('get' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('checkpoint' as const), commit: fc.boolean() }) },
)

const hex = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('hex') : 'null')

t.test('tries with the decoded-node cache read and write as tries that decode every node', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'povchain-trienode-'))
  const db = await openChainDB(join(dir, 'db'))
  t.teardown(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const trieDb = new TrieDatabase(db)
  const open = async (plain: boolean, root?: Uint8Array): Promise<MerklePatriciaTrie> => {
    const trie = await createMPT({ db: trieDb, useKeyHashing: false, valueEncoding: 'view' as never, cacheSize: 0 })
    if (plain) (trie as unknown as { lookupNode: unknown }).lookupNode = plainLookup
    if (root) trie.root(root)
    return trie
  }
  let steps = 0
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 10, maxLength: 60 }), async (ops) => {
      const cached = await open(false)
      const plain = await open(true)
      const history: { root: Uint8Array; keys: Uint8Array[] }[] = []
      const touched: Uint8Array[] = []
      let open_ = 0
      for (const op of ops) {
        if (op.kind === 'put') {
          await cached.put(op.key, op.value)
          await plain.put(op.key, op.value)
          touched.push(op.key)
        } else if (op.kind === 'del') {
          await cached.del(op.key)
          await plain.del(op.key)
        } else if (op.kind === 'get') {
          if (hex(await cached.get(op.key)) !== hex(await plain.get(op.key))) return false
        } else if (open_ > 0) {
          for (const tr of [cached, plain]) await (op.commit ? tr.commit() : tr.revert())
          open_--
        } else {
          for (const tr of [cached, plain]) tr.checkpoint()
          open_++
        }
        if (hex(cached.root()) !== hex(plain.root())) return false
        if (open_ === 0) history.push({ root: cached.root(), keys: touched.slice() })
        steps++
      }
      // Every root seen outside a checkpoint still reads the same through both kinds of trie.
      for (const h of history) {
        const a = await open(false, h.root)
        const b = await open(true, h.root)
        for (const k of h.keys) if (hex(await a.get(k)) !== hex(await b.get(k))) return false
      }
      return true
    }),
    { numRuns: 150 },
  )
  const stats = trieNodeCacheStats()
  t.ok(steps > 1000, `${steps} steps`)
  t.ok(stats.hits > 1000, `decodings reused ${stats.hits} times (${stats.misses} made): the comparison ran through the cache`)
  // A root the database does not hold: the same refusal.
  const missing = new Uint8Array(32).fill(0x5a)
  const err = async (plain: boolean) => (await open(plain, missing)).get(Uint8Array.of(1), true).then(() => 'no error', (e: Error) => e.message)
  t.equal(await err(false), await err(true))
  t.match(await err(false), /Missing node in DB/)
})
