/**
 * The block store's cache of canonical hashes (BlockStore.canonicalHash) against the plainest
 * reading of the canonical chain: walk parent hashes back from the head. Random block trees on
 * LevelDB — blocks committed on any stored parent, as the head or not, heads moved to any stored
 * block (reorgs deeper and shallower), with canonicalHash reads of random numbers in flight while
 * the head moves — after every step every number up to two past the highest block answers
 * the walked chain's hash, or nothing above the head. Guards the cache's eviction of numbers
 * above a head that moved down, which now deletes only the span the head left instead of
 * scanning the whole cache on every commit. And one deterministic race the property cannot
 * force on a real LevelDB: a read whose answer arrives after a reorg must not cache the removed
 * branch's hash (it did: every later read of that number answered a block no longer canonical).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { bytesToHex, u64ToBytes } from '../../common/bytes.js'
import { Block } from '../Block.js'
import { BlockStore } from '../BlockStore.js'
import { createChainCommon } from '../ChainCommon.js'
import { openChainDB } from '../Database.js'
import { BlockHeader } from '../Header.js'
import { fixtureHeader } from './headerFixture.js'
import { EMPTY_TRIE_ROOT } from '../keccak.js'

const common = createChainCommon(31337n, { nativeCrypto: false })
const z = (n: number) => new Uint8Array(n)

const arbOp = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('commit' as const), parent: fc.nat(), onHead: fc.boolean(), makeHead: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('setHead' as const), target: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), numbers: fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 6 }) }) },
)

let serial = 0
function child(parent: BlockHeader): Block {
  const n = ++serial
  return new Block(fixtureHeader({ parentHash: parent.hash(), number: parent.number + 1n, vanity: u64ToBytes(n), baseFeePerGas: 1n }), []) // siblings differ by vanity
}

function genesis(): Block {
  return new Block(
    new BlockHeader({
      parentHash: z(32), coinbase: z(20), stateRoot: EMPTY_TRIE_ROOT, transactionsRoot: EMPTY_TRIE_ROOT, receiptsRoot: EMPTY_TRIE_ROOT, logsBloom: z(256),
      number: 0n, gasLimit: 30_000_000n, gasUsed: 0n, timestamp: 1_700_000_000n, vanity: z(0), mixHash: z(32), baseFeePerGas: 1n, slot: 0n,
      producer: z(20), jobId: z(32), sessionId: z(32), workloadId: z(32), vrfOutput: z(32), vrfProof: z(80), attestations: [], seal: z(65),
    }),
    [],
  )
}

/** number → hash of the chain ending at the head, by walking parent hashes through the stored blocks. */
function walked(store: BlockStore, byHash: Map<string, Block>): Map<bigint, string> {
  const out = new Map<bigint, string>()
  for (let b = byHash.get(bytesToHex(store.head().hash())); b; b = byHash.get(bytesToHex(b.header.parentHash))) out.set(b.number, bytesToHex(b.hash()))
  return out
}

const dir = mkdtempSync(join(tmpdir(), 'povchain-canonical-cache-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let run = 0

t.test('canonicalHash equals the chain walked back from the head, across reorgs and reads in flight', async (t) => {
  let steps = 0
  let downs = 0
  await fc.assert(
    fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 50 }), async (ops) => {
      const db = await openChainDB(join(dir, `tree-${run++}`))
      try {
        const store = new BlockStore(db, common)
        const g = genesis()
        await store.initGenesis(g, [])
        const stored = [g]
        const byHash = new Map([[bytesToHex(g.hash()), g]])
        let inFlight: Promise<unknown>[] = []
        for (const op of ops) {
          const before = store.head().number
          if (op.kind === 'read') {
            // Not awaited: they race the next commits and head moves, as RPC reads race the miner.
            inFlight.push(...op.numbers.map((n) => store.canonicalHash(BigInt(n))))
            continue
          }
          if (op.kind === 'commit') {
            const parent = op.onHead ? byHash.get(bytesToHex(store.head().hash()))! : stored[op.parent % stored.length]!
            const b = child(parent.header)
            stored.push(b)
            byHash.set(bytesToHex(b.hash()), b)
            await store.commitBlock(b, [], [], { makeHead: op.makeHead || op.onHead })
          } else await store.setHead(stored[op.target % stored.length]!.hash())
          if (store.head().number < before) downs++
          await Promise.all(inFlight)
          inFlight = []
          const want = walked(store, byHash)
          const top = stored.reduce((m, b) => (b.number > m ? b.number : m), 0n) + 2n
          for (let n = 0n; n <= top; n++) {
            const got = await store.canonicalHash(n)
            const w = want.get(n)
            if ((got ? bytesToHex(got) : undefined) !== w) {
              t.equal(got ? bytesToHex(got) : undefined, w, `canonical hash of ${n} (head ${store.head().number})`)
              return false
            }
          }
          steps++
        }
        await Promise.all(inFlight)
        return true
      } finally {
        await db.close()
      }
    }),
    { numRuns: 80 },
  )
  t.ok(downs > 20, `the head moved down ${downs} times over ${steps} checked steps`)
})

t.test('a canonical read that was out during a reorg does not cache the removed branch', async (t) => {
  const db = await openChainDB(join(dir, 'read-race'))
  t.teardown(() => db.close())
  const first = new BlockStore(db, common)
  const g = genesis()
  await first.initGenesis(g, [])
  const a1 = child(g.header)
  await first.commitBlock(a1, [], [], { makeHead: true })

  // The database answers one read late, with what it held when asked: a LevelDB read that was
  // queued before the reorg's batch and whose answer arrives after it.
  let holdNext = false
  let release!: () => void
  const held = new Promise<void>((r) => (release = r))
  const late = new Proxy(db, {
    get(target, prop) {
      if (prop === 'get')
        return async (key: Uint8Array) => {
          const hold = holdNext
          holdNext = false
          const v = await target.get(key)
          if (hold) await held
          return v
        }
      const v = Reflect.get(target, prop) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
  const store = new BlockStore(late, common) // a fresh cache: number 1 is read from the database
  await store.open()
  holdNext = true
  const racing = store.canonicalHash(1n)
  const b1 = child(g.header)
  const b2 = child(b1.header)
  await store.commitBlock(b1, [], [], { makeHead: false })
  await store.commitBlock(b2, [], [], { makeHead: true })
  t.equal(bytesToHex((await store.canonicalHash(1n))!), bytesToHex(b1.hash()), 'after the reorg, 1 is the new branch')
  release()
  t.equal(bytesToHex((await racing)!), bytesToHex(a1.hash()), 'the racing read answers what it read')
  t.equal(bytesToHex((await store.canonicalHash(1n))!), bytesToHex(b1.hash()), 'and is not cached: 1 stays the new branch')
})
