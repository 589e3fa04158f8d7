/**
 * What `povchain worker status` tells a worker about the draws, read with the CLI's own
 * WorkMarketReader from the real contract (the genesis harness' EVM): a registered worker's
 * draw weight, earned slots, measured capacity and the prices it may verify; a worker displaced
 * from a full registry sees by whom, why, that its bond was credited, and what re-entry takes —
 * and `RegistryFull` is explained with that bond; `job submit` refuses a job no free bond could verify.
 */
import t from 'tap'
import type { Address, Hex } from 'viem'
import { addr, ETHER, MarketHarness } from '../../genesis/test/workmarketHarness.js'
import { describeRevert, WorkMarketReader } from '../../market/client/WorkMarketReader.js'
import { describeRegistered, describeUnregistered } from '../ValidatorCommand.js'
import { requireVerifierFor } from '../jobCommands.js'

/** The CLI's reader over the harness' EVM (eth_call at the current block). */
const reader = (h: MarketHarness) => new WorkMarketReader({ call: (_to: Address, data: Hex) => h.call(data) })

t.test('worker status: a registered worker\'s draw weight, slots, capacity and verifiable price; a displaced one sees why; job submit checks verifiers', async (t) => {
  const h = await MarketHarness.deploy({ config: { verifierBondRatio: 16 } })
  const max = Number(await h.read<bigint>('MAX_WORKERS'))
  for (let i = 0; i < max; i++) {
    await h.give(addr(3000 + i), 2n * ETHER)
    await h.must(addr(3000 + i), 'register', [100n, 4, ''], ETHER)
  }
  const m = reader(h)
  const cfg = await m.config()
  const first = addr(3000)
  const text = describeRegistered(await m.worker(first), await m.drawStanding(first), cfg)
  t.match(text, /draw weight +bond × rating = 0\.39 % of the registry's/, '1 of 256 equal bonds')
  t.match(text, /slots +1 of 4 declared \(0 timely accepted sessions/, 'one slot until timely work earns more')
  t.match(text, /capacity +not measured yet \(declared 100: the draws use neither\)/)
  t.match(text, /verifies +jobs up to 0\.0625 coins \(free bond ≥ 16 × the price\)/, '1 coin free / 16')

  // `job submit` refuses, before paying, a job nobody's free bond could verify (16 × the price).
  const client = addr(100)
  await t.rejects(requireVerifierFor(m, ETHER / 10n, client), { code: 'JOB_NO_VERIFIER', message: /must hold 1\.6 coins of free bond \(16 × the price.*the most free: 1\)/ })
  await requireVerifierFor(m, ETHER / 20n, client)

  // A newcomer bonding too little is told what it takes; one bonding 2 displaces someone.
  const newcomer = addr(9000)
  await h.give(newcomer, 5n * ETHER)
  const short = await h.tx(newcomer, 'register', [100n, 1, ''], ETHER)
  t.equal(short.error, 'RegistryFull')
  t.match(describeRevert(short.returnValue), /RegistryFull\(\d+\) — the worker registry is full: a bond of at least 1\.100001 coins at your rating displaces its weakest idle worker/)
  const entered = await h.must(newcomer, 'register', [100n, 1, ''], 2n * ETHER)
  const victim = MarketHarness.event(entered, 'WorkerEvicted').worker as Address
  const w = await m.worker(victim)
  const gone = describeUnregistered(w, await m.evictionOf(victim), await m.bondToEnter(victim))
  t.match(gone, new RegExp(`registered +no — displaced from the full registry at .* by ${newcomer}: its bond × rating beat yours by over 10 %`), 'by whom and why')
  t.match(gone, /\(1000 against 500 coins × rating points\); your whole bond of 1 coins was credited to you/)
  t.match(gone, /to re-enter +registering takes a bond of at least 1\.100001 coins now/, 'and what coming back takes')
})
