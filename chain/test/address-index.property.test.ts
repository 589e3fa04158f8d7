/**
 * The address index (chain/AddressIndex.ts) against the plainest reading of what it should be:
 * for random block trees on LevelDB — blocks committed on any stored parent, as the head or
 * not, heads moved to any stored block (reorgs, deeper and shallower) — every address's
 * transactions and Transfer logs, read page by page with random page sizes, equal a naive scan
 * of every receipt of the canonical chain, newest first. Also for a database written without
 * the index (entries and marker deleted): the backfill, run while more blocks and reorgs are
 * committed, ends with the same index.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { bytesToHex, equalBytes, u64ToBytes } from '../../common/bytes.js'
import { addressTransactions, addressTransfers, MAX_PAGE, TRANSFER_TOPIC } from '../AddressIndex.js'
import { Block } from '../Block.js'
import { BlockStore } from '../BlockStore.js'
import { createChainCommon } from '../ChainCommon.js'
import { type ChainDB, KeyPrefix, openChainDB, prefixed } from '../Database.js'
import { BlockHeader } from '../Header.js'
import { fixtureHeader } from './headerFixture.js'
import { EMPTY_TRIE_ROOT, keccak256 } from '../keccak.js'
import type { Log, TxReceipt } from '../Receipt.js'

const common = createChainCommon(31337n, { nativeCrypto: false })
const ADDRS = [1, 2, 3, 4, 5].map((i) => new Uint8Array(20).fill(i))
const z = (n: number, fill = 0) => new Uint8Array(n).fill(fill)
const word = (a: Uint8Array) => {
  const w = new Uint8Array(32)
  w.set(a, 12)
  return w
}

const arbAddr = fc.integer({ min: 0, max: ADDRS.length - 1 }).map((i) => ADDRS[i]!)
const arbLog: fc.Arbitrary<Log> = fc.oneof(
  // ERC-20 Transfer
  fc.record({ token: arbAddr, from: arbAddr, to: arbAddr, v: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }) }).map(({ token, from, to, v }) => ({
    address: token,
    topics: [TRANSFER_TOPIC, word(from), word(to)],
    data: Uint8Array.from(Buffer.from(v.toString(16).padStart(64, '0'), 'hex')),
  })),
  // ERC-721 Transfer
  fc.record({ token: arbAddr, from: arbAddr, to: arbAddr, id: fc.integer({ min: 0, max: 1000 }) }).map(({ token, from, to, id }) => ({
    address: token,
    topics: [TRANSFER_TOPIC, word(from), word(to), word(u64ToBytes(id))],
    data: new Uint8Array(0),
  })),
  // Anything else (another event, or a Transfer-named log with too few topics)
  fc.record({ a: arbAddr, n: fc.integer({ min: 0, max: 2 }) }).map(({ a, n }) => ({ address: a, topics: n === 1 ? [TRANSFER_TOPIC, word(a)] : Array.from({ length: n }, () => word(a)), data: z(3) })),
)
const arbReceipt = fc.record({
  from: arbAddr,
  to: fc.option(arbAddr, { nil: undefined }),
  created: arbAddr,
  status: fc.constantFrom<0 | 1>(0, 1, 1),
  logs: fc.array(arbLog, { maxLength: 3 }),
})
type ReceiptSpec = typeof arbReceipt extends fc.Arbitrary<infer T> ? T : never

const arbOp = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('commit' as const), parent: fc.nat(), onHead: fc.boolean(), makeHead: fc.boolean(), receipts: fc.array(arbReceipt, { maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setHead' as const), target: fc.nat() }) },
)
type Op = typeof arbOp extends fc.Arbitrary<infer T> ? T : never

let serial = 0
function makeBlock(parent: BlockHeader, specs: ReceiptSpec[]): { block: Block; receipts: TxReceipt[] } {
  const n = ++serial
  const receipts: TxReceipt[] = specs.map((s, i) => ({
    transactionHash: keccak256(Uint8Array.of(n >> 16, n >> 8, n & 0xff, i)),
    txType: 2,
    status: s.status,
    cumulativeGasUsed: 21000n * BigInt(i + 1),
    gasUsed: 21000n,
    effectiveGasPrice: 1n,
    from: s.from,
    ...(s.to ? { to: s.to } : { contractAddress: s.created }),
    logs: s.logs,
  }))
  const number = parent.number + 1n
  const header = fixtureHeader({ parentHash: parent.hash(), number, vanity: u64ToBytes(n), baseFeePerGas: 1n }) // siblings differ by vanity
  return { block: new Block(header, []), receipts }
}

function genesis(): Block {
  return new Block(new BlockHeader(emptyHeaderFields()), [])
}
function emptyHeaderFields() {
  return {
    parentHash: z(32), coinbase: z(20), stateRoot: EMPTY_TRIE_ROOT, transactionsRoot: EMPTY_TRIE_ROOT, receiptsRoot: EMPTY_TRIE_ROOT, logsBloom: z(256),
    number: 0n, gasLimit: 30_000_000n, gasUsed: 0n, timestamp: 1_700_000_000n, vanity: z(0), mixHash: z(32), baseFeePerGas: 1n, slot: 0n,
    producer: z(20), jobId: z(32), sessionId: z(32), workloadId: z(32), vrfOutput: z(32), vrfProof: z(80), attestations: [], seal: z(65),
  }
}

/** The naive reading: every canonical block's receipts, scanned with hex strings, newest first. */
async function naive(store: BlockStore) {
  const txs = new Map<string, string[]>()
  const transfers = new Map<string, string[]>()
  const push = (m: Map<string, string[]>, a: string, v: string) => m.set(a, [v, ...(m.get(a) ?? [])])
  for (let n = 0n; n <= store.head().number; n++) {
    const receipts = (await store.getReceipts((await store.canonicalHash(n))!))!
    let logIndex = 0
    receipts.forEach((r, i) => {
      const roles = new Map<string, string[]>()
      const role = (a: Uint8Array | undefined, name: string) => a && roles.set(bytesToHex(a), [...(roles.get(bytesToHex(a)) ?? []), name])
      role(r.from, 'from')
      role(r.to, 'to')
      if (r.status === 1) role(r.contractAddress, 'created')
      for (const [a, names] of roles) push(txs, a, `${n}/${i} ${bytesToHex(r.transactionHash)} ${names.join(',')}`)
      for (const l of r.logs) {
        const hex = l.topics.map((x) => bytesToHex(x))
        if ((hex.length === 3 || hex.length === 4) && hex[0] === bytesToHex(TRANSFER_TOPIC)) {
          const from = `0x${hex[1]!.slice(26)}`
          const to = `0x${hex[2]!.slice(26)}`
          const amount = hex.length === 4 ? BigInt(hex[3]!) : l.data.length === 32 ? BigInt(bytesToHex(l.data)) : 0n
          const v = `${n}/${logIndex} ${bytesToHex(r.transactionHash)} ${i} ${bytesToHex(l.address)} ${from}→${to} ${amount} ${hex.length === 4 ? 'erc721' : 'erc20'}`
          for (const a of new Set([from, to])) push(transfers, a, v)
        }
        logIndex++
      }
    })
  }
  return { txs, transfers }
}

/** The index, read page by page with the given page size. */
async function indexed(db: ChainDB, address: Uint8Array, limit: number) {
  const txs: string[] = []
  const transfers: string[] = []
  let cursor: string | undefined
  do {
    const p = await addressTransactions(db, address, cursor, limit)
    if (p.next && p.entries.length !== limit) throw new Error(`a page of ${p.entries.length} entries before the last (limit ${limit})`)
    for (const e of p.entries) txs.push(`${e.blockNumber}/${e.txIndex} ${bytesToHex(e.txHash)} ${['from', 'to', 'created'].filter((_, b) => e.roles & (1 << b)).join(',')}`)
    cursor = p.next
  } while (cursor)
  do {
    const p = await addressTransfers(db, address, cursor, limit)
    for (const e of p.entries) transfers.push(`${e.blockNumber}/${e.logIndex} ${bytesToHex(e.txHash)} ${e.txIndex} ${bytesToHex(e.token)} ${bytesToHex(e.from)}→${bytesToHex(e.to)} ${e.amount} ${e.kind}`)
    cursor = p.next
  } while (cursor)
  return { txs, transfers }
}

async function applyOps(store: BlockStore, stored: Block[], ops: Op[]): Promise<void> {
  for (const op of ops) {
    if (op.kind === 'commit') {
      const parent = op.onHead ? (await store.getBlock(store.head().hash()))! : stored[op.parent % stored.length]!
      const { block, receipts } = makeBlock(parent.header, op.receipts)
      await store.commitBlock(block, receipts, [], { makeHead: op.makeHead || op.onHead })
      stored.push(block)
    } else await store.setHead(stored[op.target % stored.length]!.hash())
  }
}

async function expectSame(store: BlockStore, limit: number): Promise<boolean> {
  const want = await naive(store)
  for (const a of ADDRS) {
    const got = await indexed(store.db, a, limit)
    const key = bytesToHex(a)
    if (JSON.stringify(got.txs) !== JSON.stringify(want.txs.get(key) ?? [])) {
      t.same(got.txs, want.txs.get(key) ?? [], `transactions of ${key}`)
      return false
    }
    if (JSON.stringify(got.transfers) !== JSON.stringify(want.transfers.get(key) ?? [])) {
      t.same(got.transfers, want.transfers.get(key) ?? [], `transfers of ${key}`)
      return false
    }
  }
  return true
}

const dir = mkdtempSync(join(tmpdir(), 'povchain-address-index-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let run = 0

t.test('the index of every address equals a naive scan of the canonical chain, across reorgs and page sizes', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 7 }), async (ops, limit) => {
      const db = await openChainDB(join(dir, `tree-${run++}`))
      try {
        const store = new BlockStore(db, common)
        const g = genesis()
        await store.initGenesis(g, [])
        const stored = [g]
        await applyOps(store, stored, ops)
        t.equal(store.addressIndexPending(), 0n)
        return await expectSame(store, limit)
      } finally {
        await db.close()
      }
    }),
    { numRuns: 60 },
  )
})

t.test('a database written before the index is backfilled, while blocks and reorgs keep coming, to the same index', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 30 }), fc.array(arbOp, { maxLength: 20 }), fc.integer({ min: 1, max: 5 }), async (before, during, step) => {
      const path = join(dir, `old-${run++}`)
      let db = await openChainDB(path)
      const stored: Block[] = []
      try {
        const writer = new BlockStore(db, common)
        const g = genesis()
        await writer.initGenesis(g, [])
        stored.push(g)
        await applyOps(writer, stored, before)
        // Make it an old database: no index entries, no backfill marker.
        const old: { type: 'del'; key: Uint8Array }[] = []
        for await (const k of db.keys()) if (k[0] === KeyPrefix.addressTx || k[0] === KeyPrefix.addressTransfer || equalBytes(k, prefixed(KeyPrefix.meta, new TextEncoder().encode('addressIndexPending')))) old.push({ type: 'del', key: k })
        await db.batch(old)
        await db.close()
        db = await openChainDB(path)
        const store = new BlockStore(db, common)
        await store.open()
        t.equal(store.addressIndexPending(), store.head().number + 1n, 'every stored block is pending')
        // The backfill and new blocks/reorgs interleave (each takes its turn on the store).
        await Promise.all([store.backfillAddressIndex(undefined, step), applyOps(store, stored, during)])
        t.equal(store.addressIndexPending(), 0n)
        return await expectSame(store, MAX_PAGE)
      } finally {
        await db.close()
      }
    }),
    { numRuns: 30 },
  )
})

t.test('bad page parameters are refused with a message', async (t) => {
  const db = await openChainDB(join(dir, `params-${run++}`))
  t.teardown(() => db.close())
  await t.rejects(addressTransactions(db, ADDRS[0]!, 'not-a-cursor', 5), { code: 'CHAIN_BAD_CURSOR' })
  await t.rejects(addressTransactions(db, ADDRS[0]!, undefined, MAX_PAGE + 1), { code: 'CHAIN_BAD_LIMIT' })
  await t.rejects(addressTransfers(db, new Uint8Array(19), undefined, 5), { code: 'CHAIN_BAD_ADDRESS' })
})
