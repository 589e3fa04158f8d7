/**
 * The WorkMarket → ValidatorSet hook with both contracts live: a job runs its whole life in
 * WorkMarket (post → worker draw → commit → verifier draw → commit/reveal → finalise) and the
 * accepted receipt becomes weight through onReceipt (only the 5 % protocol fee counts); a
 * rejected one credits nothing. And the dev preset built into a real LevelDB state: the
 * ValidatorSet at 0x…0A00 elects account #0, whose genesis receipt WorkMarket holds.
 */
import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAddressFromString } from '@ethereumjs/util'
import { decodeFunctionResult, encodeFunctionData, keccak256, toHex, type Address, type Hex } from 'viem'
import { BlockStore } from '../../chain/BlockStore.js'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { openChainDB } from '../../chain/Database.js'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { WorldState } from '../../vm/WorldState.js'
import { buildGenesis } from '../GenesisBuilder.js'
import { parseGenesis } from '../GenesisConfig.js'
import { DEV_VALIDATOR_BOND, DEV_VALIDATOR_REWARD_FUND, DEV_VALIDATOR_WEIGHT, devGenesis } from '../presets.js'
import { genesisJobId, genesisSessionId, VALIDATOR_SET_ADDRESS, validatorSetAbi } from '../ValidatorSetGenesis.js'
import { WORK_MARKET_ADDRESS, workMarketAbi } from '../WorkMarketGenesis.js'
import { fakeCommitment, NO_SEGMENT } from './workmarketHarness.js'
import { ETHER, PovHarness, VS, who } from './validatorsetHarness.js'

const ev = PovHarness.event
const SPEC = keccak256(toHex('spec-vs'))
const WORKLOAD = keccak256(toHex('mlp-train@1'))
const CLIENT = who(40)
const salt = (v: Address) => keccak256(toHex(`salt-${v}`))
/** One verifier commits and reveals a verdict: an accept declares the round's samplesDue (a plain revealVote cannot accept). */
async function castVerdict(h: PovHarness, sessionId: Hex, verifier: Address, accept: boolean) {
  const due = await h.read<bigint>('sessionSamplesDue', [sessionId], 'market')
  const hash = accept
    ? await h.read<Hex>('findingHash', [sessionId, 0, verifier, true, NO_SEGMENT, due, salt(verifier)], 'market')
    : await h.read<Hex>('voteHash', [sessionId, 0, verifier, false, salt(verifier)], 'market')
  await h.must(verifier, 'market', 'commitVote', [sessionId, hash])
  if (accept) await h.must(verifier, 'market', 'revealFinding', [sessionId, true, NO_SEGMENT, due, salt(verifier)])
  else await h.must(verifier, 'market', 'revealVote', [sessionId, false, salt(verifier)])
}

/** Posts a 1-coin job with one verifier and runs it to finalisation with the verifier's verdict. */
async function runJob(h: PovHarness, accept: boolean) {
  await h.must(CLIENT, 'market', 'postJob', [SPEC, WORKLOAD, h.timestamp + 3600n, 600n, 10n, 1], ETHER)
  // The worker and then the verifiers are drawn by the market's per-block system call.
  const { sessionId, worker } = ev(await h.marketBlocks(), 'JobAssigned') as { sessionId: Hex; worker: Address }
  await h.must(worker, 'market', 'commitResult', [sessionId, fakeCommitment(SPEC, 1)])
  const verifier = (ev(await h.marketBlocks(), 'VerifiersSelected').verifiers as Address[])[0]!
  await castVerdict(h, sessionId, verifier, accept)
  return { fin: await h.must(who(41), 'market', 'finalize', [sessionId]), sessionId, worker }
}

t.test('an accepted session credits its worker the protocol fee as weight; a rejected one credits nothing', async (t) => {
  const h = await PovHarness.deploy()
  await h.give(CLIENT, 10n * ETHER)
  for (let i = 20; i < 24; i++) {
    await h.give(who(i), 10n * ETHER)
    await h.must(who(i), 'market', 'register', [100n + BigInt(i), 1, `http://127.0.0.1:${8000 + i}`], 2n * ETHER)
  }
  const { fin, sessionId, worker } = await runJob(h, true)
  const credited = fin.events.find((e) => e.eventName === 'WeightCredited')
  t.ok(credited && credited.address === VS, 'ValidatorSet logged the credit inside finalize')
  t.match(credited!.args, { worker, client: CLIENT, sessionId, value: ETHER, protocolFee: ETHER / 20n, credit: ETHER / 20n })
  t.equal(await h.weight(worker), ((ETHER / 20n) * 999n) / 1000n, 'weight = the 0.05-coin protocol fee, one block old')
  t.comment(`finalize with the hook: ${fin.gasUsed} gas`)

  const before = await h.books()
  const rejected = await runJob(h, false)
  t.notOk(rejected.fin.events.some((e) => e.eventName === 'WeightCredited'), 'no credit for a rejected session')
  t.same(await h.books(), before, 'the ValidatorSet books did not move')
  t.equal(await h.totalCoins(), h.minted, 'coins are conserved to the wei across both contracts')
})

t.test('a rejected session forfeits the weight its worker earned before (a faker keeps no weight once caught)', async (t) => {
  const h = await PovHarness.deploy()
  await h.give(CLIENT, 20n * ETHER)
  for (let i = 20; i < 22; i++) {
    await h.give(who(i), 10n * ETHER)
    await h.must(who(i), 'market', 'register', [100n, 1, `http://127.0.0.1:${8000 + i}`], 2n * ETHER)
  }
  const first = await runJob(h, true)
  const earned = await h.weight(first.worker)
  t.ok(earned > 0n, `an accepted session gave ${first.worker} weight ${earned}`)
  // Jobs until the same worker is drawn again; that session is voted down.
  for (let i = 0; i < 12; i++) {
    const accept = await h.read<readonly [boolean]>('isAcceptedReceipt', [first.sessionId, first.worker], 'market')
    t.ok(accept[0])
    const next = await (async () => {
      await h.must(CLIENT, 'market', 'postJob', [SPEC, WORKLOAD, h.timestamp + 3600n, 600n, 10n, 1], ETHER)
      const { sessionId, worker } = ev(await h.marketBlocks(), 'JobAssigned') as { sessionId: Hex; worker: Address }
      await h.must(worker, 'market', 'commitResult', [sessionId, fakeCommitment(SPEC, 2 + i)])
      const verifier = (ev(await h.marketBlocks(), 'VerifiersSelected').verifiers as Address[])[0]!
      const verdict = worker !== first.worker
      await castVerdict(h, sessionId, verifier, verdict)
      return { fin: await h.must(who(41), 'market', 'finalize', [sessionId]), worker, sessionId }
    })()
    if (next.worker !== first.worker) continue
    const forfeited = next.fin.events.find((e) => e.eventName === 'WeightForfeited')
    t.ok(forfeited && forfeited.address === VS, 'ValidatorSet logged the forfeiture inside finalize')
    t.match(forfeited!.args, { worker: first.worker, sessionId: next.sessionId })
    t.ok((forfeited!.args.weight as bigint) > 0n, 'it names the weight lost')
    t.equal(await h.weight(first.worker), 0n, 'the worker holds no weight after its rejected session')
    t.equal(await h.totalCoins(), h.minted, 'coins are conserved')
    return
  }
  t.fail('the first worker was never drawn again in 12 jobs')
})

t.test('the dev preset: ValidatorSet elects account #0, bonded, with a reward fund; WorkMarket holds its genesis receipt', async (t) => {
  const g = devGenesis()
  const spec = parseGenesis(g)
  const dir = mkdtempSync(join(tmpdir(), 'povchain-vs-'))
  const db = await openChainDB(join(dir, 'db'))
  t.teardown(() => db.close())
  const common = createChainCommon(spec.chainId)
  const store = new BlockStore(db, common)
  const state = new WorldState(db, common, store)
  const genesis = await buildGenesis(spec, state)
  await store.initGenesis(genesis.block, genesis.stateOps)
  state.trieDb.written(genesis.stateKeys)
  const producer = g.config.producers![0]! as Address
  const call = <T>(to: string, abi: ReturnType<typeof validatorSetAbi>, functionName: string, args: unknown[] = []) =>
    state.withCallVM(genesis.block.header.stateRoot, async (vm) => {
      const r = await vm.evm.runCall({ to: createAddressFromString(to), data: hexToBytes(encodeFunctionData({ abi, functionName, args } as never)), gasLimit: 10_000_000n })
      if (r.execResult.exceptionError) throw new Error(`${functionName} reverted`)
      return decodeFunctionResult({ abi, functionName, data: bytesToHex(r.execResult.returnValue) as Hex } as never) as T
    })
  const [vs, ws] = await call<[Address[], bigint[]]>(VALIDATOR_SET_ADDRESS, validatorSetAbi(), 'validatorsAt', [1n])
  t.same([vs.map((a) => a.toLowerCase()), ws], [[producer.toLowerCase()], [DEV_VALIDATOR_WEIGHT]], 'the dev producer is the set of epochs 0 and 1')
  t.equal(await call(VALIDATOR_SET_ADDRESS, validatorSetAbi(), 'bondOf', [producer]), DEV_VALIDATOR_BOND)
  t.equal(((await call<readonly bigint[]>(VALIDATOR_SET_ADDRESS, validatorSetAbi(), 'accounting'))[4]), DEV_VALIDATOR_REWARD_FUND, 'reward fund')
  const [accepted] = await call<[boolean]>(WORK_MARKET_ADDRESS, workMarketAbi(), 'isAcceptedReceipt', [genesisSessionId(producer), producer])
  t.ok(accepted, 'WorkMarket holds the genesis receipt as accepted')
  t.equal((await call<{ jobId: Hex }>(WORK_MARKET_ADDRESS, workMarketAbi(), 'getReceipt', [genesisSessionId(producer)])).jobId, genesisJobId(producer))
  const supply = spec.alloc.reduce((s, a) => s + a.balance, 0n) + spec.systemContracts.reduce((s, c) => s + c.balance, 0n)
  t.equal(supply, 202_010n * ETHER, 'dev supply: 200,000 + 1,000 (assets) + 10 (bond) + 1,000 (validator fund)')
})
