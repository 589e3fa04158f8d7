/**
 * The block store's cache of decoded blocks is bounded by the transactions it holds, not only
 * by the number of blocks: 256 blocks of ≈ 1,400 spam transfers each kept ≈ 360,000 decoded
 * transactions (over 1 GiB of RSS in `npm run bench -- --only spam`). Blocks evicted from the
 * cache are read back from LevelDB, equal to what was stored.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTx } from '@ethereumjs/tx'
import t from 'tap'
import { equalBytes, u64ToBytes } from '../../common/bytes.js'
import { Block } from '../Block.js'
import { BlockStore } from '../BlockStore.js'
import { createChainCommon } from '../ChainCommon.js'
import { openChainDB } from '../Database.js'
import type { BlockHeader } from '../Header.js'
import { keccak256 } from '../keccak.js'
import { fixtureHeader } from './headerFixture.js'

const common = createChainCommon(31337n, { nativeCrypto: false })
const z = (n: number, fill = 0) => new Uint8Array(n).fill(fill)

function header(parent: BlockHeader | undefined, number: bigint): BlockHeader {
  return fixtureHeader({ parentHash: parent ? parent.hash() : new Uint8Array(32), number, vanity: u64ToBytes(number), baseFeePerGas: 1n })
}

t.test('decoded blocks held in memory stay under BLOCKS_CACHE_MAX_TXS transactions; evicted ones read back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'povchain-block-cache-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const db = await openChainDB(join(dir, 'db'))
  t.teardown(() => db.close())
  const store = new BlockStore(db, common)
  const g = new Block(header(undefined, 0n), [])
  await store.initGenesis(g, [])
  const key = keccak256(Uint8Array.of(1))
  const PER_BLOCK = 1_500
  // Distinct signed transfers (one key, nonces in a row): what full spam blocks carry.
  let nonce = 0n
  const blocks: Block[] = []
  let parent = g.header
  for (let b = 1n; b <= 20n; b++) {
    const txs = Array.from({ length: PER_BLOCK }, () => createTx({ type: 2, nonce: nonce++, to: z(20, 0xaa), value: 1n, gasLimit: 21000n, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, chainId: 31337n }, { common }).sign(key))
    const block = new Block(header(parent, b), txs)
    await store.commitBlock(block, [], [], { makeHead: true })
    blocks.push(block)
    parent = block.header
    const c = store.cachedBlocks()
    t.ok(c.transactions <= BlockStore.BLOCKS_CACHE_MAX_TXS, `after block ${b}: ${c.blocks} blocks, ${c.transactions} transactions cached`)
  }
  t.ok(store.cachedBlocks().transactions > BlockStore.BLOCKS_CACHE_MAX_TXS - PER_BLOCK, 'the cache is used up to its bound')
  const first = (await store.getBlock(blocks[0]!.hash()))!
  t.not(first, blocks[0], 'the first block was evicted and is read from the database')
  t.equal(first.transactions.length, PER_BLOCK)
  t.ok(first.transactions.every((tx, i) => equalBytes(tx.hash(), blocks[0]!.transactions[i]!.hash())), 'with the same transactions')
  t.ok(store.cachedBlocks().transactions <= BlockStore.BLOCKS_CACHE_MAX_TXS, 'reading it back keeps the bound')
})
