import t, { type Test } from 'tap'
import fc from 'fast-check'
import { Block } from '../../chain/Block.js'
import { sealHeader } from '../../chain/Seal.js'
import { bytesToHex, equalBytes } from '../../common/bytes.js'
import { ConsensusError } from '../errors.js'
import { addr, clock, common, openTestChain, PRODUCER, recipient, transfer, type TestChain } from '../../test/fixtures/TestChain.js'

async function produce(c: TestChain, now: () => number, txs: ReturnType<typeof transfer>[] = [], allowEmpty = true): Promise<Block> {
  for (const tx of txs) await c.pool.add(tx)
  const b = await c.chain.produceBlock(PRODUCER, { allowEmpty, now })
  if (!b) throw new Error('no block produced')
  return b
}

/** Checks the canonical indexes: every height maps to a stored block whose parent is the previous height's. */
async function assertCanonicalConsistent(t: Test, c: TestChain): Promise<void> {
  const head = c.store.head()
  let child = head
  for (let n = head.number; n > 0n; n--) {
    const h = await c.store.canonicalHeader(n)
    t.ok(h && equalBytes(h.hash(), child.hash()), `height ${n} is on the head's branch`)
    const block = (await c.store.getBlock(child.hash()))!
    for (const [i, tx] of block.transactions.entries()) {
      const loc = await c.store.txLocation(tx.hash())
      t.ok(loc && equalBytes(loc.blockHash, child.hash()) && loc.index === i, `tx ${i} of block ${n} is indexed`)
    }
    child = (await c.store.getHeader(child.parentHash))!
  }
  t.equal(await c.store.canonicalHash(head.number + 1n), undefined, 'nothing canonical above the head')
}

t.test('blocks and state survive closing and reopening the database', async (t) => {
  const now = clock()
  let c = await openTestChain()
  const blocks: Block[] = []
  for (let i = 0; i < 5; i++) blocks.push(await produce(c, now, [transfer(1, BigInt(i), recipient(9), 1000n + BigInt(i))]))
  const head = c.store.head()
  const dir = c.dir
  await c.close()
  c = await openTestChain(dir)
  t.same(c.store.head().hash(), head.hash(), 'same head after reopen')
  t.equal(await c.balance(recipient(9)), 5n * 1000n + 10n, 'state at head')
  t.equal(await c.balance(recipient(9), blocks[1]!.header.stateRoot), 2001n, 'state of a past block is readable')
  const r = await c.store.getReceipts(blocks[2]!.hash())
  t.equal(r?.length, 1)
  t.equal(r?.[0]!.status, 1)
  // The reopened chain keeps producing on the same state.
  const b6 = await produce(c, now, [transfer(1, 5n, recipient(9), 1n)])
  t.equal(b6.number, 6n)
  t.equal(await c.balance(recipient(9)), 5011n)
  await assertCanonicalConsistent(t, c)
  await c.destroy()
})

t.test('importing a longer branch reorganises: indexes, state and pool follow', async (t) => {
  const now = clock()
  const a = await openTestChain()
  const b = await openTestChain()
  // Shared block 1.
  const b1 = await produce(a, now, [transfer(1, 0n, recipient(1), 1n)])
  t.equal(await b.chain.importBlock(Block.decode(b1.encode(), common)), 'head')
  // Branch A: two blocks from sender 2; branch B: three blocks from sender 3.
  const aTxs = [transfer(2, 0n, recipient(2), 7n), transfer(2, 1n, recipient(2), 7n)]
  await produce(a, now, [aTxs[0]!])
  await produce(a, now, [aTxs[1]!])
  const bBlocks: Block[] = []
  for (let i = 0; i < 3; i++) bBlocks.push(await produce(b, now, [transfer(3, BigInt(i), recipient(3), 5n)]))

  const removed: string[] = []
  a.chain.onRemovedBlock((blk) => removed.push(bytesToHex(blk.hash())))
  t.equal(await a.chain.importBlock(Block.decode(bBlocks[0]!.encode(), common)), 'side')
  t.equal(await a.chain.importBlock(Block.decode(bBlocks[1]!.encode(), common)), 'side', 'equal length: the first seen stays')
  t.equal(await a.chain.importBlock(Block.decode(bBlocks[2]!.encode(), common)), 'head', 'longer branch wins')
  t.equal(await a.chain.importBlock(Block.decode(bBlocks[2]!.encode(), common)), 'known')
  t.same(a.store.head().hash(), b.store.head().hash())
  t.same(a.store.head().stateRoot, b.store.head().stateRoot, 'same state as the other node')
  t.equal(removed.length, 2, 'two blocks left the canonical chain')
  for (const tx of aTxs) t.equal(await a.store.txLocation(tx.hash()), undefined, 'orphaned tx unindexed')
  t.equal(await a.balance(recipient(2)), 0n)
  t.equal(await a.balance(recipient(3)), 15n)
  // The orphaned transactions are back in the pool and get mined again.
  t.equal(a.pool.status().pending, 2, 'orphaned txs re-injected')
  const again = await produce(a, now)
  t.equal(again.transactions.length, 2)
  t.equal(await a.balance(recipient(2)), 14n)
  await assertCanonicalConsistent(t, a)
  await a.destroy()
  await b.destroy()
})

t.test('invalid blocks are rejected and leave the chain usable', async (t) => {
  const now = clock()
  const a = await openTestChain()
  const b = await openTestChain()
  const good = await produce(b, now, [transfer(1, 0n, recipient(4), 3n)])
  const resealed = (changes: Parameters<typeof good.header.with>[0]) => new Block(sealHeader(good.header.with(changes), 31337n, PRODUCER.key), good.transactions)
  const cases: [string, Block, string][] = [
    ['wrong state root', resealed({ stateRoot: new Uint8Array(32).fill(1) }), 'CONSENSUS_BAD_EXECUTION'],
    ['wrong gas used', resealed({ gasUsed: good.header.gasUsed + 1n }), 'CONSENSUS_BAD_EXECUTION'],
    ['wrong base fee', resealed({ baseFeePerGas: good.header.baseFeePerGas + 1n }), 'CONSENSUS_BAD_BASE_FEE'],
    ['wrong session', resealed({ sessionId: new Uint8Array(32) }), 'CONSENSUS_FAKE_RECEIPT'],
    ['wrong mix', resealed({ mixHash: new Uint8Array(32) }), 'CONSENSUS_BAD_MIX'],
    ['bad seal', new Block(good.header.with({ seal: sealHeader(good.header, 31337n, new Uint8Array(32).fill(5)).seal }), good.transactions), 'CONSENSUS_BAD_SEAL'],
    ['missing tx', resealed({}).transactions.length ? new Block(sealHeader(good.header, 31337n, PRODUCER.key), []) : good, 'CONSENSUS_BAD_EXECUTION'],
  ]
  for (const [name, blk, code] of cases) {
    const err = await a.chain.importBlock(blk).then(
      () => undefined,
      (e: unknown) => e,
    )
    t.ok(err instanceof ConsensusError, `${name}: rejected with a ConsensusError`)
    t.equal((err as ConsensusError).code, code, `${name}: ${(err as Error).message}`)
    t.equal(a.store.head().number, 0n, `${name}: head unchanged`)
  }
  t.equal(await a.chain.importBlock(Block.decode(good.encode(), common)), 'head', 'the genuine block still imports')
  const next = await produce(a, now, [transfer(1, 1n, recipient(4), 3n)])
  t.equal(next.number, 2n)
  t.equal(await a.balance(recipient(4)), 6n)
  await a.destroy()
  await b.destroy()
})

t.test('fork choice: any import order of a block tree ends on a longest branch with consistent indexes', async (t) => {
  // Build a small tree once: a trunk and branches forking at random heights.
  const now = clock()
  const builder = await openTestChain()
  const all: Block[] = []
  const trunk: Block[] = []
  for (let i = 0; i < 4; i++) {
    const blk = await produce(builder, now, [transfer(1, BigInt(i), recipient(10), 1n)])
    trunk.push(blk)
    all.push(blk)
  }
  for (const [forkAt, len, sender] of [[1, 4, 2], [2, 1, 3], [0, 2, 4]] as const) {
    const c = await openTestChain()
    for (const blk of trunk.slice(0, forkAt)) await c.chain.importBlock(Block.decode(blk.encode(), common))
    for (let i = 0; i < len; i++) all.push(await produce(c, now, [transfer(sender, BigInt(i), recipient(20 + sender), 1n)]))
    await c.destroy()
  }
  await builder.destroy()
  const maxNumber = all.reduce((m, b) => (b.number > m ? b.number : m), 0n)
  await fc.assert(
    fc.asyncProperty(fc.shuffledSubarray(all.map((_, i) => i), { minLength: all.length, maxLength: all.length }), async (order) => {
      const c = await openTestChain()
      try {
        const pending = order.map((i) => all[i]!)
        // Children may come before parents: retry until everything that can import has.
        for (let round = 0; round < all.length && pending.length; round++) {
          for (let i = 0; i < pending.length; ) {
            try {
              await c.chain.importBlock(Block.decode(pending[i]!.encode(), common))
              pending.splice(i, 1)
            } catch (e) {
              if ((e as ConsensusError).code !== 'CONSENSUS_UNKNOWN_PARENT') throw e
              i++
            }
          }
        }
        if (pending.length) return false
        if (c.store.head().number !== maxNumber) return false
        let h = c.store.head()
        for (let n = h.number; n > 0n; n--) {
          const canon = await c.store.canonicalHash(n)
          if (!canon || !equalBytes(canon, h.hash())) return false
          h = (await c.store.getHeader(h.parentHash))!
        }
        return true
      } finally {
        await c.destroy()
      }
    }),
    { numRuns: 12, seed: 42 },
  )
  t.pass('fork choice property held')
})

t.test('a block that names a different producer than the sealer is rejected', async (t) => {
  const now = clock()
  const b = await openTestChain()
  const a = await openTestChain()
  const good = await produce(b, now)
  const forged = new Block(sealHeader(good.header.with({ producer: addr(2) }), 31337n, PRODUCER.key), good.transactions)
  await t.rejects(a.chain.importBlock(forged), /sealed by/)
  await a.destroy()
  await b.destroy()
})
