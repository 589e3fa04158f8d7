import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { BlockStore } from '../../chain/BlockStore.js'
import { openChainDB } from '../../chain/Database.js'
import type { BlockHeader } from '../../chain/Header.js'
import type { Log, TxReceipt } from '../../chain/Receipt.js'
import { bytesToHex, equalBytes } from '../../common/bytes.js'
import { formatLog, qty } from '../Formatters.js'
import { parseFilterSpec, queryLogs } from '../LogQuery.js'
import type { BlockRef, RpcBackend } from '../RpcBackend.js'
import { common, FixtureBackend, makeTx } from './FixtureBackend.js'

/*
 * The scan's fast path (compiled bloom bits, blocks without logs skipped, chunked reads, the
 * store's batched getMany and receipt cache) against the plainest reading of the spec: every
 * block of the range, every receipt, every log, matched over hex strings and formatted.
 */

const addr = (i: number) => new Uint8Array(20).fill(i)
const topic = (i: number) => new Uint8Array(32).fill(i)
const hx = bytesToHex

const arbLog = fc.record({
  address: fc.integer({ min: 1, max: 4 }).map(addr),
  topics: fc.array(fc.integer({ min: 1, max: 4 }).map(topic), { maxLength: 4 }),
  data: fc.uint8Array({ maxLength: 40 }),
})
/** A block: mostly empty (many blocks without logs), else 1–3 txs of 0–3 logs. */
const arbBlock = fc.oneof(
  { weight: 3, arbitrary: fc.constant([] as Log[][]) },
  { weight: 2, arbitrary: fc.array(fc.array(arbLog, { maxLength: 3 }), { minLength: 1, maxLength: 3 }) },
)

interface Chain {
  fixture: FixtureBackend
  /** Reads headers and receipts from a reopened BlockStore on LevelDB (nothing cached). */
  store: BlockStore
}

async function buildChain(seed: number, blocks: number, dir: string): Promise<Chain> {
  const fixture = new FixtureBackend()
  const specs = fc.sample(arbBlock, { numRuns: blocks, seed })
  let nonce = 0
  for (const logs of specs) fixture.addBlock({ txs: logs.map(() => makeTx('1559', nonce++)), logs }, false)
  const receiptsOf = async (b: { hash(): Uint8Array }) => (await fixture.receipts(b.hash())) ?? []
  const db = await openChainDB(join(dir, `chain-${seed}`))
  const writer = new BlockStore(db, common)
  await writer.initGenesis(fixture.canonical[0]!, [])
  for (const b of fixture.canonical.slice(1)) await writer.commitBlock(b, await receiptsOf(b), [], { makeHead: true })
  const store = new BlockStore(db, common)
  await store.open()
  return { fixture, store }
}

/** The parts of RpcBackend a log query uses, served by the store. */
function storeBackend(store: BlockStore): RpcBackend {
  return {
    head: () => store.head(),
    canonicalHeader: (n: bigint) => store.canonicalHeader(n),
    receipts: (h: Uint8Array) => store.getReceipts(h),
    headerByRef: async (ref: BlockRef) => {
      if (typeof ref === 'bigint') return store.canonicalHeader(ref)
      if (typeof ref === 'string') return ref === 'earliest' ? store.canonicalHeader(0n) : store.head()
      return store.getHeader(ref.hash)
    },
  } as Partial<RpcBackend> as RpcBackend
}

interface RawFilter {
  address?: string | string[]
  topics?: (string | string[] | null)[]
  fromBlock?: string
  toBlock?: string
  blockHash?: string
}

function naiveMatch(log: Log, f: RawFilter): boolean {
  const address = f.address === undefined ? [] : Array.isArray(f.address) ? f.address : [f.address]
  if (address.length > 0 && !address.includes(hx(log.address))) return false
  const topics = f.topics ?? []
  if (topics.length > log.topics.length) return false
  return topics.every((want, i) => {
    if (want === null) return true
    const list = Array.isArray(want) ? want : [want]
    return list.length === 0 || list.includes(hx(log.topics[i]!))
  })
}

function resolveRef(ref: string | undefined, head: number): number {
  if (ref === undefined || ref === 'latest' || ref === 'pending' || ref === 'safe' || ref === 'finalized') return head
  if (ref === 'earliest') return 0
  return Number(BigInt(ref))
}

function referenceLogs(f: FixtureBackend, filter: RawFilter, receiptsOf: Map<string, TxReceipt[]>) {
  const blocks = filter.blockHash
    ? f.canonical.filter((b) => hx(b.hash()) === filter.blockHash)
    : f.canonical.slice(resolveRef(filter.fromBlock, f.canonical.length - 1), resolveRef(filter.toBlock, f.canonical.length - 1) + 1)
  const out: Record<string, unknown>[] = []
  for (const b of blocks) {
    const h: BlockHeader = b.header
    let logIndex = 0
    receiptsOf.get(hx(b.hash()))!.forEach((r, i) => {
      for (const log of r.logs) {
        const pos = { blockHash: hx(h.hash()), blockNumber: qty(h.number), blockTimestamp: qty(h.timestamp), transactionHash: hx(r.transactionHash), transactionIndex: qty(i) }
        if (naiveMatch(log, filter)) out.push(formatLog(log, pos, logIndex, false))
        logIndex++
      }
    })
  }
  return out
}

const hexAddr = fc.integer({ min: 1, max: 5 }).map((i) => hx(addr(i)))
const hexTopic = fc.integer({ min: 1, max: 5 }).map((i) => hx(topic(i)))
const arbTopicPos = fc.oneof(fc.constant(null), hexTopic, fc.array(hexTopic, { minLength: 1, maxLength: 3 }))
const arbCriteria = fc.record(
  {
    address: fc.oneof(hexAddr, fc.array(hexAddr, { maxLength: 3 })),
    topics: fc.array(arbTopicPos, { maxLength: 4 }),
  },
  { requiredKeys: [] },
)

t.test('eth_getLogs from the store equals a scan of every block and receipt', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'povchain-logs-prop-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // More blocks than one scan chunk (256), so chunk edges and the batched reads are crossed.
  for (const [seed, blocks] of [[7, 600], [11, 300]] as const) {
    const { fixture, store } = await buildChain(seed, blocks, dir)
    const backend = storeBackend(store)
    const head = fixture.canonical.length - 1
    const receiptsOf = new Map<string, TxReceipt[]>()
    for (const b of fixture.canonical) receiptsOf.set(hx(b.hash()), (await fixture.receipts(b.hash()))!)
    const tag = fc.oneof(
      fc.integer({ min: 0, max: head + 5 }).map((n) => qty(n)),
      fc.constantFrom('latest', 'earliest'),
      fc.constant(undefined),
    )
    const arbRange = fc.record({ fromBlock: tag, toBlock: tag }).map((r) => {
      const o: RawFilter = {}
      if (r.fromBlock !== undefined) o.fromBlock = r.fromBlock
      if (r.toBlock !== undefined) o.toBlock = r.toBlock
      return o
    })
    const arbHash = fc.integer({ min: 0, max: head }).map((n) => ({ blockHash: hx(fixture.canonical[n]!.hash()) }) as RawFilter)
    const arbFilter = fc.tuple(arbCriteria, fc.oneof({ weight: 4, arbitrary: arbRange }, { weight: 1, arbitrary: arbHash })).map(([c, r]) => ({ ...c, ...r }) as RawFilter)
    const maxResults = 10_000
    let nonEmpty = 0
    await fc.assert(
      fc.asyncProperty(arbFilter, async (filter) => {
        const from = resolveRef(filter.fromBlock, head)
        const to = resolveRef(filter.toBlock, head)
        const rangeInvalid = !filter.blockHash && filter.fromBlock?.startsWith('0x') && filter.toBlock?.startsWith('0x') && from > to
        let got: Record<string, unknown>[] | undefined
        let err: { code?: number; message?: string } | undefined
        try {
          got = await queryLogs(backend, parseFilterSpec(filter, 0), { maxBlockRange: 100_000, maxResults })
        } catch (e) {
          err = e as { code?: number; message?: string }
        }
        if (rangeInvalid) return err?.message === 'invalid block range params'
        if (err) throw new Error(`unexpected error ${err.message}`)
        const want = referenceLogs(fixture, filter, receiptsOf)
        if (want.length > 0) nonEmpty++
        return JSON.stringify(got) === JSON.stringify(want)
      }),
      { numRuns: 250, seed },
    )
    t.ok(nonEmpty > 25, `${nonEmpty} of 250 filters matched some logs`)
    // The result cap: a query over the cap fails exactly when the reference finds more logs.
    const all = referenceLogs(fixture, { fromBlock: '0x0' }, receiptsOf)
    const cap = Math.max(1, Math.floor(all.length / 2))
    await t.rejects(queryLogs(backend, parseFilterSpec({ fromBlock: '0x0' }, 0), { maxBlockRange: 100_000, maxResults: cap }), {
      message: `query returned more than ${cap} results`,
    })
    t.equal((await queryLogs(backend, parseFilterSpec({ fromBlock: '0x0' }, 0), { maxBlockRange: 100_000, maxResults: all.length })).length, all.length)
    // Canonical bookkeeping still agrees after the reads (the store answered from cache).
    t.ok(equalBytes(store.head().hash(), fixture.head().hash()))
    await store.db.close()
  }
})
