/**
 * Slot schedules: the round-robin LeaderSchedule (AuthorityEngine, genesis files without a
 * ValidatorSet) by its invariants, and on real chains the Proof-of-Value schedule (leaders and
 * backups drawn by weight): backup timing, header checks on import, and the in-turn tie-break
 * of fork choice.
 */
import fc from 'fast-check'
import t from 'tap'
import { Block } from '../chain/Block.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex } from '../common/bytes.js'
import { LeaderSchedule } from '../consensus/LeaderSchedule.js'
import { Cluster, clusterGenesis, randomKey } from './helpers/netcluster.js'

const addr = (i: number) => new Uint8Array(20).fill(i + 1)

t.test('each slot has one leader; ranks are a permutation; backups seal inside the slot', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 6 }), fc.bigInt({ min: 0n, max: 1n << 40n }), fc.bigInt({ min: 0n, max: 10n ** 9n }), (n, slotSeconds, slot, genesis) => {
      const s = new LeaderSchedule({ producers: Array.from({ length: n }, (_, i) => addr(i)), genesisTimestamp: genesis, slotSeconds })
      const ranks = Array.from({ length: n }, (_, i) => s.rank(addr(i), slot)!)
      if ([...ranks].sort((a, b) => a - b).join() !== Array.from({ length: n }, (_, i) => i).join()) return false
      if (bytesToHex(s.leader(slot)) !== bytesToHex(addr(ranks.indexOf(0)))) return false
      if (s.rank(addr(99), slot) !== undefined) return false
      for (let i = 0; i < n; i++) {
        const e = s.earliestTimestamp(addr(i), slot)
        const r = ranks[i]!
        const allowed = BigInt(r) < BigInt(slotSeconds) // 1 s backup delay
        if ((e !== undefined) !== allowed) return false
        if (e === undefined) continue
        if (s.slotAt(e) !== slot) return false
        const h = { producer: addr(i), slot, timestamp: e, number: 1n }
        if (s.violation(h) !== undefined) return false
        if (r > 0 && s.violation({ ...h, timestamp: e - 1n }) === undefined) return false // too early
        if (s.violation({ ...h, timestamp: s.slotStart(slot + 1n) }) === undefined) return false // outside the slot
      }
      return true
    }),
    { numRuns: 500 },
  )
  t.pass('schedule invariants hold')
})

t.test('imports check the schedule; fork choice prefers the in-turn block of equal height', async (t) => {
  const keys = [0, 1, 2].map(randomKey)
  const gts = Math.floor(Date.now() / 1000) - 1000
  const c = new Cluster(clusterGenesis({ producers: keys, slotSeconds: 2, timestamp: gts }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a' })
  const b = await c.start({ name: 'b' })
  const p = (i: number) => ({ key: keys[i]!, address: privateKeyToAddress(keys[i]!) })
  const at = (slot: number, offset: number) => ({ allowEmpty: true, slot: BigInt(slot), timestamp: BigInt(gts + slot * 2 + offset) })
  const copy = (blk: Block) => a.node.network!['deps'].chain.decodeBlock(blk.encode())

  // Slot 1's leader and backups as drawn by weight from the epoch seed (2 s slots: a backup of
  // rank r may seal from r seconds into the slot, so only rank 1 fits).
  const genesis = (await a.node.store.canonicalHeader(0n))!
  const ranking = (await a.node.chain.engine.ranking(genesis, 1n)).map((x) => bytesToHex(x))
  const idx = (rank: number) => keys.findIndex((k) => bytesToHex(privateKeyToAddress(k)) === ranking[rank])
  t.equal(ranking.length, 3, 'a leader and two backups')
  const inTurn = (await a.node.chain.produceBlock(p(idx(0)), at(1, 0)))!
  const backup = (await b.node.chain.produceBlock(p(idx(1)), at(1, 1)))!
  t.equal(await b.node.chain.importBlock(copy(inTurn)), 'head', 'the in-turn block beats the backup block of the same height')
  t.equal(bytesToHex(b.node.store.head().hash()), bytesToHex(inTurn.hash()))
  t.equal(await a.node.chain.importBlock(copy(backup)), 'side', 'the backup block does not displace the in-turn one')

  // A scratch node seals blocks that break the schedule; the others refuse them.
  const x = await c.start({ name: 'x' })
  const bad = async (i: number, slot: number, offset: number) => copy((await x.node.chain.produceBlock(p(i), at(slot, offset)))!)
  const early = await bad(idx(1), 1, 0)
  await t.rejects(a.node.chain.importBlock(early), { code: 'CONSENSUS_BAD_SLOT' }, 'a backup sealing before its delay')
  await x.node.store.setHead((await x.node.store.canonicalHeader(0n))!.hash())
  const notAllowed = await bad(idx(2), 1, 1)
  await t.rejects(a.node.chain.importBlock(notAllowed), { code: 'CONSENSUS_BAD_SLOT', message: /backup #2 of slot 1/ }, 'a second backup in a 2 s slot')
})
