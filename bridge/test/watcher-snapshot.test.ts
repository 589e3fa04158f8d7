import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { getAddress, type Address } from 'viem'
import { silentLogger } from '../../common/logger.js'
import { noopMetrics } from '../../common/metrics.js'
import { tempDir } from '../../test/helpers/devnode.js'
import { LockWatcher, type LockEvent } from '../LockWatcher.js'
import { MerkleTree, proofFromHex, snapshotLeaf, verifyMerkleProof } from '../MerkleTree.js'
import { RelayState } from '../RelayState.js'
import { takeSnapshot } from '../Snapshot.js'
import { hexToBytes } from '../../common/bytes.js'
import { FakeChain, lockedLog, transferLog } from './fakeChain.js'

const deps = { logger: silentLogger, metrics: noopMetrics }
const A = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, '0')}`)
const TOKEN = A(0x70)
const LOCK = A(0x10c)
const ZERO = A(0)

t.test('snapshot: replays Transfer logs in bounded ranges (halving a refused range), checks balanceOf', async (t) => {
  const chain = new FakeChain(30)
  chain.addLog(2, transferLog(TOKEN, ZERO, A(1), 1000n))
  chain.addLog(5, transferLog(TOKEN, A(1), A(2), 300n))
  chain.addLog(9, transferLog(TOKEN, A(2), A(3), 100n))
  chain.addLog(12, transferLog(TOKEN, A(3), A(3), 100n)) // self-transfer
  chain.addLog(14, transferLog(TOKEN, A(1), ZERO, 50n)) // burn
  chain.addLog(20, transferLog(TOKEN, A(1), A(4), 1n)) // after the snapshot block
  for (const [a, v] of [[A(1), 650n], [A(2), 200n], [A(3), 100n]] as const) chain.balances.set(a.toLowerCase(), v)
  chain.totalSupply = 950n
  chain.maxLogRange = 4
  chain.eoas.add(A(2).toLowerCase()).add(A(3).toLowerCase())
  const progress: number[] = []
  const snap = await takeSnapshot(chain.rpc(), { token: TOKEN, block: 15n, fromBlock: 0n, range: 100n, onProgress: (p, done) => p === 'logs' && progress.push(done) }, deps)
  t.same(
    snap.holders.map((h) => [h.address, h.amount]),
    [[A(1), '650'], [A(2), '200'], [A(3), '100']],
  )
  t.equal(snap.total, '950')
  t.equal(snap.tokenTotalSupply, '950')
  t.same(snap.contracts, [A(1)], 'the holder with code is listed for review (it would claim through EIP-1271)')
  t.ok(progress.length >= 4 && progress[progress.length - 1] === 16, 'progress in ranges up to the snapshot block')
  const tree = new MerkleTree(snap.holders.map((h) => snapshotLeaf(hexToBytes(h.address), BigInt(h.amount))))
  for (const h of snap.holders) t.ok(verifyMerkleProof(hexToBytes(snap.root), snapshotLeaf(hexToBytes(h.address), BigInt(h.amount)), proofFromHex(h.proof)))
  t.equal(snap.root, `0x${Buffer.from(tree.root).toString('hex')}`)

  // Excluded holders stay out of the tree but are reported.
  const ex = await takeSnapshot(chain.rpc(), { token: TOKEN, block: 15n, fromBlock: 0n, exclude: [A(2)] }, deps)
  t.equal(ex.total, '750')
  t.same(ex.excluded, [{ address: A(2), amount: '200' }])

  // A balance that moved without a Transfer event fails the snapshot instead of skewing the root.
  chain.balances.set(A(3).toLowerCase(), 101n)
  await t.rejects(takeSnapshot(chain.rpc(), { token: TOKEN, block: 15n, fromBlock: 0n }, deps), { code: 'BRIDGE_SNAPSHOT_MISMATCH' })
  await t.rejects(takeSnapshot(chain.rpc(), { token: TOKEN, block: 99n, fromBlock: 0n }, deps), { code: 'BRIDGE_SNAPSHOT_FUTURE' })
})

t.test('lock watcher: confirmations, restart from the saved cursor, a reorg below the cursor', async (t) => {
  const tmp = tempDir()
  t.teardown(tmp.cleanup)
  const file = join(tmp.dir, 'relay.json')
  const binding = { sourceChainId: '1', lockContract: LOCK, bridge: A(0x5b00), attester: A(0xa1) }
  const chain = new FakeChain(11)
  chain.addLog(3, lockedLog(LOCK, 0n, A(1), A(0xb1), 10n))
  chain.addLog(7, lockedLog(LOCK, 1n, A(1), A(0xb2), 20n))
  chain.addLog(9, lockedLog(A(0xbad), 2n, A(1), A(0xb3), 30n)) // another contract
  chain.addLog(10, lockedLog(LOCK, 2n, A(1), A(0xb3), 30n)) // not yet confirmed
  const seen: LockEvent[] = []
  const run = async (w: LockWatcher) => {
    while (await w.poll(async (locks) => void seen.push(...locks))) {
      /* drain */
    }
  }
  const watcher = (state = new RelayState(file, binding)) => new LockWatcher({ lockContract: LOCK, confirmations: 2, fromBlock: 0n, maxRange: 2n }, { source: chain.rpc(), state, ...deps })
  await run(watcher())
  t.same(seen.map((l) => [Number(l.nonce), l.recipient, l.amount]), [[0, A(0xb1), 10n], [1, A(0xb2), 20n]], 'only confirmed locks of the lock contract')
  t.equal(JSON.parse(readFileSync(file, 'utf8')).cursor.number, 8)

  // Restart: a new watcher on the same file hands out nothing again.
  seen.length = 0
  await run(watcher())
  t.same(seen, [])
  chain.extend(2)
  await run(watcher())
  t.same(seen.map((l) => Number(l.nonce)), [2], 'the next lock once confirmed')

  // A reorg from block 6 (below the cursor at 10): lock 1 moves to block 8 with another recipient.
  seen.length = 0
  chain.reorg(6, 14, { 8: [lockedLog(LOCK, 1n, A(1), A(0xc2), 21n)], 11: [lockedLog(LOCK, 2n, A(1), A(0xb3), 30n)] })
  await run(watcher())
  t.same(
    seen.map((l) => [Number(l.nonce), l.recipient]),
    [[1, A(0xc2)], [2, A(0xb3)]],
    'rescanned from the last block still canonical: the new branch’s locks',
  )
  const state = JSON.parse(readFileSync(file, 'utf8'))
  t.equal(state.cursor.number, 11)
  t.equal(state.cursor.hash, chain.blocks[11]!.hash)
  t.ok(state.recent.every((r: { number: number }) => r.number < 11))

  // The state file is bound to its relay.
  t.throws(() => new RelayState(file, { ...binding, attester: A(0xa2) }), /belongs to attester/)
  t.notOk(existsSync(`${file}.tmp`))
})
