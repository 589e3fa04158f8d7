/**
 * AssetRegistry with the real WorkMarket in one in-process EVM (both deployed as genesis does,
 * at 0x…0B00 and 0x…0C00): clients link assets to their jobs (`useInJob`, fees in escrow),
 * `settle` reads the job's outcome from the market (accepted → owners paid, verified usage, job
 * grants for the worker; refunded → fees back), `requestJobGrants` follows the running session,
 * and public keys for sealing. Every revert path of the job link has a test; coins and both
 * contracts' books add up to the wei after every test.
 */
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { Account, Address, createAddressFromString } from '@ethereumjs/util'
import { decodeErrorResult, decodeEventLog, decodeFunctionResult, encodeFunctionData, getAddress, keccak256, toHex, type Abi, type Address as Hex20, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { bytesToHex, concatBytes, hexToBytes } from '../../common/bytes.js'
import { toEthjsBlock } from '../../vm/BlockExecutor.js'
import { ASSET_REGISTRY_ADDRESS, encodeAssetRegistryArgs, SYSTEM_ADDRESS } from '../AssetRegistryGenesis.js'
import { contractArtifact } from '../ContractArtifacts.js'
import { addr, commitmentHashOf, ETHER, fakeCommitment, MARKET, MarketHarness, type TxOutcome } from './workmarketHarness.js'

const REGISTRY: Hex20 = getAddress(ASSET_REGISTRY_ADDRESS)
const art = contractArtifact('AssetRegistry')
const abi = art.abi as Abi
const SPEC = keccak256(toHex('spec-assets'))
const WORKLOAD = keccak256(toHex('mlp-train@1'))
const PRICE = ETHER
const EPOCH = 10
const FUND = 100n * ETHER
const OWNER = addr(301)
const OTHER = addr(302)
const CLIENT = addr(303)
const KEY = '0x04aabbccdd' as Hex
const Z = '0x0000000000000000000000000000000000000000'
const SEEN = new Set<string>()
/** The errors only a real WorkMarket can produce (assetregistry.test.ts leaves them to this file). */
const JOB_TEST_ERRORS = ['NotJobClient', 'JobNotOpen', 'JobNotRunning', 'JobNotFinal', 'JobAlreadyLinked', 'JobNotLinked', 'JobAlreadySettled', 'BadAssetList', 'DuplicateAsset', 'BadPublicKey']
/** The bounty-evaluation errors: only a real WorkMarket job can produce them (tests below). */
const EVALUATION_TEST_ERRORS = ['ModelClosed', 'NotInferenceJob', 'SpecMismatch', 'SpecMissing', 'NotEvaluationJob', 'JobNotAccepted', 'MetricsMismatch', 'BadMetrics', 'NoSuchSubmission', 'AlreadyEvaluated', 'BountySettled', 'EvaluationClosed', 'TooEarly']

enum Kind {
  Model,
  Dataset,
}
enum Access {
  Free,
  Paid,
  Closed,
}
const J = { Open: 1, Running: 2, Accepted: 3, Refunded: 4 }

/** The market harness with the registry added to its VM; registry transactions share its blocks. */
class Both {
  constructor(readonly h: MarketHarness) {}

  static async deploy(workers: number): Promise<Both> {
    const h = await MarketHarness.deploy()
    const a = createAddressFromString(REGISTRY)
    await h.vm.stateManager.putAccount(a, new Account(1n, FUND))
    h.minted += FUND
    h.known.add(REGISTRY)
    const args = encodeAssetRegistryArgs({ market: MARKET, periodEpochs: 1n, rewardPerPeriod: 10n * ETHER, evaluationWindow: 10n }, EPOCH)
    const res = await h.vm.evm.runCode({ code: concatBytes(art.bytecode, hexToBytes(args)), to: a, caller: new Address(new Uint8Array(20)), gasLimit: 1_000_000_000n, block: toEthjsBlock({ number: 0n, timestamp: 0n, gasLimit: 60_000_000n, baseFeePerGas: 0n, coinbase: new Uint8Array(20), mixHash: new Uint8Array(32) }, h.vm.common) as never })
    if (res.exceptionError) throw new Error('AssetRegistry constructor reverted')
    await h.vm.stateManager.putCode(a, res.returnValue)
    await h.give(CLIENT, 1000n * ETHER)
    for (let i = 1; i <= workers; i++) {
      await h.give(addr(i), 10n * ETHER)
      await h.must(addr(i), 'register', [100n + BigInt(i), 1, `http://127.0.0.1:${8000 + i}`], 2n * ETHER)
    }
    return new Both(h)
  }

  async tx(from: Hex20, functionName: string, args: readonly unknown[] = [], value = 0n): Promise<TxOutcome> {
    const h = this.h
    h.known.add(from)
    if (value > 0n && (await h.balance(from)) < value) await h.give(from, value)
    await h.beginBlock() // the block starts with the market's system call, as on a chain
    const block = toEthjsBlock({ number: h.number, timestamp: h.timestamp, gasLimit: 60_000_000n, baseFeePerGas: 0n, coinbase: new Uint8Array(20), mixHash: hexToBytes(h.randao()) }, h.vm.common)
    const r = await h.vm.evm.runCall({ to: createAddressFromString(REGISTRY), caller: createAddressFromString(from), origin: createAddressFromString(from), value, data: hexToBytes(encodeFunctionData({ abi, functionName, args } as never)), gasLimit: 30_000_000n, block: block as never })
    h.number++
    h.timestamp += h.blockTime
    h.nextRandao = undefined
    const returnValue = bytesToHex(r.execResult.returnValue) as Hex
    if (r.execResult.exceptionError) {
      let error = String(r.execResult.exceptionError.error)
      try {
        error = decodeErrorResult({ abi, data: returnValue }).errorName
      } catch {}
      SEEN.add(error)
      return { ok: false, error, events: [], returnValue }
    }
    const events = (r.execResult.logs ?? []).flatMap(([address, topics, d]) => {
      if (bytesToHex(address).toLowerCase() !== REGISTRY.toLowerCase()) return []
      const e = decodeEventLog({ abi, topics: topics.map((x) => bytesToHex(x)) as [Hex, ...Hex[]], data: bytesToHex(d) as Hex })
      return [{ eventName: String(e.eventName), args: e.args as unknown as Record<string, unknown> }]
    })
    return { ok: true, events, returnValue }
  }

  async must(from: Hex20, fn: string, args: readonly unknown[] = [], value = 0n): Promise<TxOutcome> {
    const r = await this.tx(from, fn, args, value)
    if (!r.ok) throw new Error(`${fn} reverted: ${r.error}`)
    return r
  }

  async read<T>(functionName: string, args: readonly unknown[] = []): Promise<T> {
    const h = this.h
    const block = toEthjsBlock({ number: h.number, timestamp: h.timestamp, gasLimit: 60_000_000n, baseFeePerGas: 0n, coinbase: new Uint8Array(20), mixHash: hexToBytes(h.randao()) }, h.vm.common)
    const r = await h.vm.evm.runCall({ to: createAddressFromString(REGISTRY), caller: createAddressFromString(addr(0)), data: hexToBytes(encodeFunctionData({ abi, functionName, args } as never)), gasLimit: 100_000_000n, block: block as never })
    if (r.execResult.exceptionError) throw new Error(`${functionName} reverted`)
    return decodeFunctionResult({ abi, functionName, data: bytesToHex(r.execResult.returnValue) as Hex } as never) as T
  }

  async publish(from: Hex20, kind: Kind, access: Access, use = 0n, contentHash: Hex = keccak256(toHex(`blob-${Math.random()}`))): Promise<bigint> {
    const r = await this.must(from, 'publish', [kind, contentHash, 100n, keccak256(toHex(`meta-${contentHash}`)), '', access, use, 0n])
    return ev(r, 'Published').id as bigint
  }

  /** Posts a client job; with workers registered the market's draw DRAW_DELAY blocks later assigns one. */
  async post(from: Hex20 = CLIENT): Promise<{ jobId: Hex; sessionId?: Hex; worker?: Hex20 }> {
    const r = await this.h.must(from, 'postJob', [SPEC, WORKLOAD, this.h.timestamp + 3600n, 600n, 10n, 1], PRICE)
    const a = (await this.h.mine()).events.find((e) => e.eventName === 'JobAssigned')?.args
    return { jobId: MarketHarness.event(r, 'JobPosted').jobId as Hex, sessionId: a?.sessionId as Hex | undefined, worker: a?.worker as Hex20 | undefined }
  }

  /** The worker commits (with `metrics`' hash, if given), the verifiers vote `accept`, the session is finalised. */
  async finish(sessionId: Hex, worker: Hex20, accept = true, spec: Hex = SPEC, metrics?: string): Promise<void> {
    await this.vote(sessionId, await this.commitAndDraw(sessionId, worker, spec, metrics), accept)
  }

  /** The worker commits (with `metrics`' hash, if given) and the session's verifiers are drawn. */
  async commitAndDraw(sessionId: Hex, worker: Hex20, spec: Hex = SPEC, metrics?: string): Promise<Hex20[]> {
    const c = fakeCommitment(spec, 1)
    if (metrics !== undefined) {
      c.metricsHash = keccak256(toHex(metrics))
      c.commitment = commitmentHashOf(spec, c)
    }
    await this.h.must(worker, 'commitResult', [sessionId, c])
    return this.draw(sessionId)
  }

  /** The blocks until the session's scheduled verifier draw: the verifiers drawn. */
  async draw(sessionId: Hex): Promise<Hex20[]> {
    const drawn = await this.h.mine()
    const sel = drawn.events.find((e) => e.eventName === 'VerifiersSelected' && e.args.sessionId === sessionId)
    if (!sel) throw new Error(`no verifiers drawn for ${sessionId}`)
    return sel.args.verifiers as Hex20[]
  }

  /** The verifiers vote `accept` (commit, reveal) and the session is finalised. */
  async vote(sessionId: Hex, verifiers: Hex20[], accept = true): Promise<void> {
    const h = this.h
    const salt = (v: Hex20) => keccak256(toHex(`salt-${v}`))
    const { round } = await h.read<{ round: number }>('getSession', [sessionId])
    for (const v of verifiers) await h.must(v, 'commitVote', [sessionId, await h.verdictHash(sessionId, round, v, accept, salt(v))])
    for (const v of verifiers) await h.mustRevealVerdict(v, sessionId, accept, salt(v))
    await h.must(addr(99), 'finalize', [sessionId])
  }

  async checkBooks(): Promise<void> {
    await this.h.checkBooks()
    const [fund, escrowed, owed, balance] = await this.read<readonly bigint[]>('accounting')
    if (fund! + escrowed! + owed! !== balance!) throw new Error(`registry books: ${fund} + ${escrowed} + ${owed} != ${balance}`)
    if ((await this.h.balance(REGISTRY)) !== balance) throw new Error('accounting().balance is not the balance')
    if ((await this.h.totalCoins()) !== this.h.minted) throw new Error('coins are not conserved')
  }
}

function ev(r: TxOutcome, name: string): Record<string, unknown> {
  const e = r.events.find((x) => x.eventName === name)
  if (!e) throw new Error(`no ${name} among ${r.events.map((x) => x.eventName).join(', ')}`)
  return e.args
}

async function fails(t: Test, r: Promise<TxOutcome>, error: string, msg = error) {
  const o = await r
  t.equal(o.ok ? 'ok' : o.error, error, msg)
}

async function fresh(t: Test, workers = 3): Promise<Both> {
  const b = await Both.deploy(workers)
  t.teardown(() => b.checkBooks())
  return b
}

t.test('a job uses a free, a paid and a closed asset: fees escrowed, owners paid on acceptance, usage counted, the worker gets a job grant', async (t) => {
  const b = await fresh(t)
  const free = await b.publish(OWNER, Kind.Dataset, Access.Free)
  const paid = await b.publish(OTHER, Kind.Model, Access.Paid, 3n * ETHER)
  const closed = await b.publish(OWNER, Kind.Dataset, Access.Closed, 2n * ETHER)
  const gone = await b.publish(OWNER, Kind.Model, Access.Free)
  await b.must(OWNER, 'remove', [gone])
  const { jobId, sessionId, worker } = await b.post()
  t.ok(sessionId && worker, 'the market assigned a worker when the job was posted')
  t.equal((await b.h.read<{ status: number }>('getJob', [jobId])).status, J.Running)

  await fails(t, b.tx(OTHER, 'useInJob', [jobId, [free]]), 'NotJobClient', 'only the job’s client links assets')
  await fails(t, b.tx(CLIENT, 'useInJob', [keccak256(toHex('no job')), [free]]), 'NotJobClient', 'an unknown job has no client')
  await fails(t, b.tx(CLIENT, 'useInJob', [jobId, []]), 'BadAssetList', 'no assets')
  await fails(t, b.tx(CLIENT, 'useInJob', [jobId, Array.from({ length: 17 }, () => free)]), 'BadAssetList', 'more than MAX_ASSETS_PER_JOB')
  await fails(t, b.tx(CLIENT, 'useInJob', [jobId, [free, free]]), 'DuplicateAsset')
  await fails(t, b.tx(CLIENT, 'useInJob', [jobId, [gone]]), 'AssetRemoved', 'a removed asset cannot be used by a new job')
  await fails(t, b.tx(CLIENT, 'useInJob', [jobId, [99n]]), 'NoSuchAsset')
  await fails(t, b.tx(CLIENT, 'useInJob', [jobId, [free, paid, closed]], 5n * ETHER), 'NoGrant', 'a closed asset needs a grant to the client')
  await b.must(OWNER, 'grant', [closed, CLIENT, KEY])
  await fails(t, b.tx(CLIENT, 'useInJob', [jobId, [free, paid, closed]], 5n * ETHER - 1n), 'WrongPayment', 'one wei short')
  await fails(t, b.tx(CLIENT, 'settle', [jobId]), 'JobNotLinked')
  await fails(t, b.tx(CLIENT, 'requestJobGrants', [jobId]), 'JobNotLinked')
  const link = await b.must(CLIENT, 'useInJob', [jobId, [free, paid, closed]], 5n * ETHER)
  t.same(ev(link, 'JobAssetsLinked'), { jobId, client: CLIENT, ids: [free, paid, closed], fees: 5n * ETHER })
  t.match(await b.read('jobUseOf', [jobId]), { client: CLIENT, settled: false, ids: [free, paid, closed], fees: [0n, 3n * ETHER, 2n * ETHER] })
  t.equal(await b.read('escrow'), 5n * ETHER, 'fees in escrow')
  await fails(t, b.tx(CLIENT, 'useInJob', [jobId, [free]]), 'JobAlreadyLinked')
  await fails(t, b.tx(addr(77), 'settle', [jobId]), 'JobNotFinal', 'a running job cannot be settled')

  // The worker's grant for this job: requested by anyone, sealed by the owner.
  const rq = await b.must(addr(77), 'requestJobGrants', [jobId])
  t.same(rq.events.map((e) => [e.eventName, e.args.id, e.args.grantee]), [['JobGrantRequested', closed, worker]], 'one request: the closed asset, for the assigned worker (no verifier drawn yet)')
  t.same((await b.must(addr(77), 'requestJobGrants', [jobId])).events, [], 'asking again changes nothing')
  await fails(t, b.tx(OTHER, 'fulfilJobGrant', [closed, jobId, worker, KEY]), 'NotOwner')
  await fails(t, b.tx(OWNER, 'fulfilJobGrant', [closed, jobId, OTHER, KEY]), 'NoJobGrant', 'only a requested grantee')
  await fails(t, b.tx(OWNER, 'fulfilJobGrant', [closed, jobId, worker, '0x']), 'EmptyKey')
  const fu = await b.must(OWNER, 'fulfilJobGrant', [closed, jobId, worker, KEY])
  t.same(ev(fu, 'JobGrantIssued'), { id: closed, jobId, grantee: worker, sealedKey: KEY })
  t.match(await b.read('jobGrantOf', [closed, jobId, worker]), { grantee: worker, fulfilled: true, sealedKey: KEY })
  t.equal(await b.read('grantOf', [closed, worker]), '0x', 'the worker holds no standing grant')

  // A price change after linking does not change what the job pays.
  await b.must(OTHER, 'setAccess', [paid, Access.Paid, 9n * ETHER, 0n])
  await b.finish(sessionId!, worker!)
  t.equal((await b.h.read<{ status: number }>('getJob', [jobId])).status, J.Accepted)
  await fails(t, b.tx(CLIENT, 'requestJobGrants', [jobId]), 'JobNotRunning', 'no new job grants once the job is final')
  await fails(t, b.tx(CLIENT, 'useInJob', [(await b.post()).jobId, [closed]], 0n), 'WrongPayment', 'the price is read at link time')
  const st = await b.must(SYSTEM_ADDRESS as Hex20, 'settle', [jobId])
  t.same(ev(st, 'JobSettled'), { jobId, client: CLIENT, accepted: true, paid: 5n * ETHER, refunded: 0n })
  t.same(st.events.filter((e) => e.eventName === 'Used').map((e) => [e.args.id, e.args.owner, e.args.fee, e.args.counted]), [[free, OWNER, 0n, true], [paid, OTHER, 3n * ETHER, true], [closed, OWNER, 2n * ETHER, true]])
  t.equal(await b.read('credits', [OWNER]), 2n * ETHER)
  t.equal(await b.read('credits', [OTHER]), 3n * ETHER)
  t.equal(await b.read('escrow'), 0n)
  for (const id of [free, paid, closed]) t.equal((await b.read<readonly [{ usage: bigint }]>('getAsset', [id]))[0].usage, 1n, `asset ${id}: one verified use`)
  await fails(t, b.tx(CLIENT, 'settle', [jobId]), 'JobAlreadySettled', 'never paid twice')
  const later = await b.post()
  await b.finish(later.sessionId!, later.worker!)
  await fails(t, b.tx(CLIENT, 'useInJob', [later.jobId, [free]]), 'JobNotOpen', 'a final job cannot name assets')
  await b.must(CLIENT, 'rate', [paid, 5])
  t.equal((await b.read<readonly [{ ratingCount: number }]>('getAsset', [paid]))[0].ratingCount, 1, 'the client of the accepted job may rate')
  const w1 = await b.h.balance(OTHER)
  await b.must(OTHER, 'withdraw')
  t.equal((await b.h.balance(OTHER)) - w1, 3n * ETHER, 'the owner withdraws its fee')
})

t.test("an owner's own job pays nothing and never counts; a refunded job returns the fees", async (t) => {
  const b = await fresh(t, 0) // no workers: jobs stay open, so the client can cancel them
  const paid = await b.publish(OWNER, Kind.Model, Access.Paid, ETHER)
  await b.h.give(OWNER, 10n * ETHER)
  const own = await b.post(OWNER)
  t.equal((await b.h.read<{ status: number }>('getJob', [own.jobId])).status, J.Open)
  await fails(t, b.tx(OWNER, 'requestJobGrants', [own.jobId]), 'JobNotLinked')
  await b.must(OWNER, 'useInJob', [own.jobId, [paid]], 0n)
  await fails(t, b.tx(OWNER, 'requestJobGrants', [own.jobId]), 'JobNotRunning', 'an open job has no worker yet')
  const j = await b.post()
  await b.must(CLIENT, 'useInJob', [j.jobId, [paid]], ETHER)
  const c0 = await b.read<bigint>('credits', [CLIENT])
  await b.h.must(CLIENT, 'cancel', [j.jobId])
  await b.h.must(OWNER, 'cancel', [own.jobId])
  const r = await b.must(addr(5), 'settle', [j.jobId])
  t.same(ev(r, 'JobSettled'), { jobId: j.jobId, client: CLIENT, accepted: false, paid: 0n, refunded: ETHER })
  t.equal((await b.read<bigint>('credits', [CLIENT])) - c0, ETHER, 'the fee is back with the client')
  await b.must(addr(5), 'settle', [own.jobId])
  t.equal((await b.read<readonly [{ usage: bigint }]>('getAsset', [paid]))[0].usage, 0n, 'refunded jobs never count')
  t.equal(await b.read('credits', [OWNER]), 0n)
  await fails(t, b.tx(CLIENT, 'rate', [paid, 4]), 'NotVerifiedUser', 'no rating without an accepted job')
})

t.test('an accepted own job: no fee, no usage, no rating right', async (t) => {
  const b = await fresh(t)
  const m = await b.publish(CLIENT, Kind.Model, Access.Paid, ETHER)
  const j = await b.post()
  await b.must(CLIENT, 'useInJob', [j.jobId, [m]], 0n)
  await b.finish(j.sessionId!, j.worker!)
  const r = await b.must(addr(5), 'settle', [j.jobId])
  t.match(ev(r, 'Used'), { id: m, client: CLIENT, owner: CLIENT, fee: 0n, counted: false })
  t.equal((await b.read<readonly [{ usage: bigint }]>('getAsset', [m]))[0].usage, 0n)
  await fails(t, b.tx(CLIENT, 'rate', [m, 5]), 'NotVerifiedUser')
})

t.test('a job grant follows a reassignment; settle records the grant for the worker that did the job', async (t) => {
  const b = await fresh(t)
  const closed = await b.publish(OWNER, Kind.Dataset, Access.Closed)
  await b.must(OWNER, 'grant', [closed, CLIENT, KEY])
  const j = await b.post()
  await b.must(CLIENT, 'useInJob', [j.jobId, [closed]])
  // the first worker misses its commitment: the market reassigns the job to another worker
  b.h.advance(700n)
  await b.h.must(addr(99), 'expire', [j.sessionId])
  await b.h.mine()
  const job = await b.h.read<{ status: number; session: Hex }>('getJob', [j.jobId])
  t.equal(job.status, J.Running, 'reassigned')
  const s2 = await b.h.read<{ worker: Hex20 }>('getSession', [job.session])
  t.not(s2.worker, j.worker)
  // nobody asked during the run: settle records the request for the worker that did the job
  await b.finish(job.session, s2.worker)
  const st = await b.must(addr(5), 'settle', [j.jobId])
  t.same(ev(st, 'JobGrantRequested'), { id: closed, jobId: j.jobId, grantee: s2.worker })
  await b.must(OWNER, 'fulfilJobGrant', [closed, j.jobId, s2.worker, KEY])
  t.match(await b.read('jobGrantOf', [closed, j.jobId, s2.worker]), { grantee: s2.worker, fulfilled: true })
  t.match(await b.read('jobGrantOf', [closed, j.jobId, j.worker]), { grantee: Z, fulfilled: false }, 'the first worker, never asked for, has none')
})

t.test("verifiers get per-job grants once drawn, again after a redraw; the owner needs none; no standing grant appears", async (t) => {
  const b = await fresh(t, 2) // the job's worker and one verifier
  const closed = await b.publish(OWNER, Kind.Dataset, Access.Closed)
  const free = await b.publish(OWNER, Kind.Model, Access.Free)
  await b.must(OWNER, 'grant', [closed, CLIENT, KEY])
  const r = await b.h.must(CLIENT, 'postJob', [SPEC, WORKLOAD, b.h.timestamp + 3600n, 600n, 10n, 1], PRICE)
  const jobId = MarketHarness.event(r, 'JobPosted').jobId as Hex
  const { sessionId, worker } = MarketHarness.event(await b.h.mine(), 'JobAssigned') as { sessionId: Hex; worker: Hex20 }
  await b.must(CLIENT, 'useInJob', [jobId, [free, closed]])
  const requests = async () => (await b.must(addr(77), 'requestJobGrants', [jobId])).events.map((e) => [e.eventName, e.args.id, e.args.grantee])
  t.same(await requests(), [['JobGrantRequested', closed, worker]], 'assigned: the worker only')

  // the draw: the verifier re-executes over the same data, so it gets its own request
  const [v1] = await b.commitAndDraw(sessionId, worker)
  t.not(v1, worker)
  t.same(await requests(), [['JobGrantRequested', closed, v1]], 'under verification: the drawn verifier, not the worker again, not the free asset')
  t.same(await requests(), [], 'asking again changes nothing')
  const fu = await b.must(OWNER, 'fulfilJobGrant', [closed, jobId, v1, KEY])
  t.same(ev(fu, 'JobGrantIssued'), { id: closed, jobId, grantee: v1, sealedKey: KEY })
  t.match(await b.read('jobGrantOf', [closed, jobId, v1]), { grantee: v1, fulfilled: true, sealedKey: KEY })
  t.match(await b.read('jobGrantOf', [closed, jobId, worker]), { grantee: worker, fulfilled: false, sealedKey: '0x' }, "the worker's grant is its own")
  t.equal(await b.read('grantOf', [closed, v1]), '0x', 'the verifier holds no standing grant')
  // ... so it cannot link the asset to a job of its own
  await b.h.give(v1, 10n * ETHER)
  const own = await b.h.must(v1, 'postJob', [keccak256(toHex('v1 job')), WORKLOAD, b.h.timestamp + 3600n, 600n, 10n, 1], PRICE)
  await fails(t, b.tx(v1, 'useInJob', [MarketHarness.event(own, 'JobPosted').jobId as Hex, [closed]]), 'NoGrant', 'a job grant does not let the verifier use the asset in its own job')

  // nobody votes: the round is drawn again; v1 leaves, a newcomer is drawn
  b.h.advance(250n)
  await b.h.must(addr(99), 'finalize', [sessionId])
  t.equal((await b.h.read<{ status: number }>('getJob', [jobId])).status, J.Running, 'still under verification (round 2)')
  await b.h.must(v1, 'requestExit')
  const v2 = addr(3)
  await b.h.give(v2, 10n * ETHER)
  await b.h.must(v2, 'register', [103n, 1, 'http://127.0.0.1:8003'], 2n * ETHER)
  t.same(await b.draw(sessionId), [v2], 'the redraw picks the newcomer')
  t.same(await requests(), [['JobGrantRequested', closed, v2]], 'the new verifier gets a request; the earlier ones keep theirs')
  await b.must(OWNER, 'fulfilJobGrant', [closed, jobId, v2, KEY])
  t.match(await b.read('jobGrantOf', [closed, jobId, v2]), { grantee: v2, fulfilled: true })
  t.match(await b.read('jobGrantOf', [closed, jobId, v1]), { grantee: v1, fulfilled: true }, 'job-scoped: the earlier verifier’s grant names this job only')

  // accepted: no new requests; settle finds the worker's on record
  await b.vote(sessionId, [v2])
  t.equal((await b.h.read<{ status: number }>('getJob', [jobId])).status, J.Accepted)
  await fails(t, b.tx(addr(77), 'requestJobGrants', [jobId]), 'JobNotRunning')
  const st = await b.must(addr(5), 'settle', [jobId])
  t.notOk(st.events.some((e) => e.eventName === 'JobGrantRequested'), 'the worker already had its request')
  for (const who of [worker, v1, v2]) t.equal(await b.read('grantOf', [closed, who]), '0x', `${who}: no standing grant`)

  // the owner, drawn as a verifier, needs no request (it holds the key)
  const mine = await b.publish(v2, Kind.Dataset, Access.Closed)
  await b.must(v2, 'grant', [mine, CLIENT, KEY])
  const spec2 = keccak256(toHex('second'))
  const again = await b.h.must(CLIENT, 'postJob', [spec2, WORKLOAD, b.h.timestamp + 3600n, 600n, 10n, 1], PRICE)
  const j2 = MarketHarness.event(again, 'JobPosted').jobId as Hex
  const a2 = MarketHarness.event(await b.h.mine(), 'JobAssigned') as { sessionId: Hex; worker: Hex20 }
  await b.must(CLIENT, 'useInJob', [j2, [mine]])
  const vs = await b.commitAndDraw(a2.sessionId, a2.worker, spec2)
  const rq2 = await b.must(addr(77), 'requestJobGrants', [j2])
  const expected = [a2.worker, ...vs].filter((x) => x !== v2)
  t.same(rq2.events.map((e) => e.args.grantee), expected, 'requests for every participant but the owner')
  await b.vote(a2.sessionId, vs)
})

t.test('public keys for sealing must hash to the caller', async (t) => {
  const b = await fresh(t, 0)
  const acct = privateKeyToAccount(keccak256(toHex('a worker key')))
  const key = `0x${acct.publicKey.slice(4)}` as Hex
  await fails(t, b.tx(OTHER, 'setPublicKey', [key]), 'BadPublicKey', "someone else's key")
  await fails(t, b.tx(acct.address, 'setPublicKey', [acct.publicKey]), 'BadPublicKey', 'with the 0x04 prefix (65 bytes)')
  const r = await b.must(acct.address, 'setPublicKey', [key])
  t.same(ev(r, 'PublicKeySet'), { account: acct.address, publicKey: key })
  t.equal(await b.read('publicKeyOf', [acct.address]), key)
  t.equal(await b.read('publicKeyOf', [OTHER]), '0x')
})

t.test('fees add up to the wei over random jobs, outcomes, transfers and price changes', async (t) => {
  const opArb = fc.array(
    fc.record({ prices: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }), accept: fc.boolean(), transferFirst: fc.boolean(), reprice: fc.integer({ min: 0, max: 9 }) }),
    { minLength: 1, maxLength: 4 },
  )
  await fc.assert(
    fc.asyncProperty(opArb, async (jobs) => {
      const b = await Both.deploy(3)
      const credit = new Map<Hex20, bigint>()
      const add = (a: Hex20, v: bigint) => credit.set(a, (credit.get(a) ?? 0n) + v)
      for (const [n, spec] of jobs.entries()) {
        const owner = addr(400 + n)
        const ids: bigint[] = []
        let total = 0n
        for (const p of spec.prices) {
          ids.push(await b.publish(owner, Kind.Model, p === 0 ? Access.Free : Access.Paid, BigInt(p) * 1000n))
          total += BigInt(p) * 1000n
        }
        const j = await b.post()
        if (!j.sessionId) return false
        await b.must(CLIENT, 'useInJob', [j.jobId, ids], total)
        if (spec.prices[0]! > 0) await b.must(owner, 'setAccess', [ids[0], Access.Paid, BigInt(spec.reprice) * 7n + 1n, 0n])
        let payee = owner
        if (spec.transferFirst) {
          payee = addr(450 + n)
          for (const id of ids) await b.must(owner, 'transferFrom', [owner, payee, id])
        }
        if (spec.accept) await b.finish(j.sessionId, j.worker!)
        else {
          // every worker abandons: the market refunds the client (or the client cancels the open job)
          await b.h.must(j.worker!, 'abandon', [j.sessionId])
          let job = await b.h.read<{ status: number; session: Hex }>('getJob', [j.jobId])
          while (job.status === J.Running) {
            const s = await b.h.read<{ worker: Hex20 }>('getSession', [job.session])
            await b.h.must(s.worker, 'abandon', [job.session])
            job = await b.h.read<{ status: number; session: Hex }>('getJob', [j.jobId])
          }
          if (job.status === J.Open) await b.h.must(CLIENT, 'cancel', [j.jobId]) // no untried worker left
          else if (job.status !== J.Refunded) return false
        }
        await b.must(addr(5), 'settle', [j.jobId])
        if (spec.accept) add(payee, total)
        else add(CLIENT, total)
      }
      for (const [a, v] of credit) if ((await b.read<bigint>('credits', [a])) !== v) return false
      if ((await b.read<bigint>('escrow')) !== 0n) return false
      await b.checkBooks()
      return true
    }),
    { numRuns: 8 },
  )
})

// ---------------------------------------------------------------- bounties judged by verified inference jobs

const RULE = { First: 0, Best: 1 }
const INFER = keccak256(toHex('mlp-infer@1'))
const HELD_OUT = keccak256(toHex('the held-out data, decrypted')) // the dataset hash evaluation specs name
const SUBMITTER = addr(310)
const RIVAL = addr(311)

/** An evaluation spec as compute writes it (canonical JSON: keys sorted, no spaces). */
function inferSpec(model: Hex, dataset: Hex = HELD_OUT, over: Partial<{ kind: string; workload: string; seed: number; samples: number }> = {}): string {
  return `{"checkpointInterval":2,"dataset":"${dataset}","kind":"${over.kind ?? 'infer'}","model":"${model}","params":{"batchSize":25},"resources":{"cpus":1,"gpus":0,"memoryMb":256,"timeoutSec":120},"runtime":{"type":"embedded"},"seed":${over.seed ?? 0},"verification":{"mode":"reexecution","samples":${over.samples ?? 10000},"verifiers":1},"version":1,"workload":${over.workload ?? '{"id":"mlp-infer","version":1}'}}`
}
/** mlp-infer's metrics document (canonical JSON of {rows, loss, accuracy}). */
const metricsDoc = (accuracy: number, loss = 0.25, rows = 150) => `{"accuracy":${accuracy},"loss":${loss},"rows":${rows}}`

interface EvalJob {
  jobId: Hex
  sessionId: Hex
  worker: Hex20
  spec: string
}

/** Posts an inference job for `spec` (the market's draw DRAW_DELAY blocks later assigns a worker). */
async function postInference(b: Both, from: Hex20, spec: string, workload: Hex = INFER): Promise<EvalJob> {
  await b.h.give(from, PRICE)
  const r = await b.h.must(from, 'postJob', [keccak256(toHex(spec)), workload, b.h.timestamp + 3600n, 600n, 10n, 1], PRICE)
  const a = MarketHarness.event(await b.h.mine(), 'JobAssigned')
  return { jobId: MarketHarness.event(r, 'JobPosted').jobId as Hex, sessionId: a.sessionId as Hex, worker: a.worker as Hex20, spec }
}

/** A closed held-out dataset, a bounty on it, and two submitted models (weak: 0, strong: 1). */
async function bountySetup(t: Test, rule: number, threshold = 900_000n, window = 200n) {
  const b = await fresh(t, 12) // a worker for each job left running
  const dataset = await b.publish(OWNER, Kind.Dataset, Access.Closed, ETHER)
  const weakHash = keccak256(toHex('weak model blob'))
  const strongHash = keccak256(toHex('strong model blob'))
  const weak = await b.publish(SUBMITTER, Kind.Model, Access.Free, 0n, weakHash)
  const strong = await b.publish(RIVAL, Kind.Model, Access.Paid, ETHER, strongHash)
  const posted = await b.must(OWNER, 'postBounty', [dataset, HELD_OUT, threshold, rule, b.h.number + window], 10n * ETHER)
  const bountyId = ev(posted, 'BountyPosted').bountyId as bigint
  await b.must(SUBMITTER, 'submit', [bountyId, weak])
  await b.must(RIVAL, 'submit', [bountyId, strong])
  return { b, dataset, weak, strong, weakHash, strongHash, bountyId }
}

t.test('bounty: a submission is linked to an inference job; the accepted session’s metrics pay the prize (rule First); a mismatched metrics blob is refused', async (t) => {
  const { b, dataset, weak, strong, weakHash, strongHash, bountyId } = await bountySetup(t, RULE.First)
  t.match(await b.read('getBounty', [bountyId]), [{ client: OWNER, datasetId: dataset, threshold: 900_000n, inputHash: HELD_OUT, settled: false }, [{ modelId: weak, submitter: SUBMITTER, jobId: Z.padEnd(66, '0') }, { modelId: strong }]])

  // --- linking: every refusal
  const job = await postInference(b, RIVAL, inferSpec(strongHash))
  const link = (from: Hex20, index: bigint, j: EvalJob, spec = j.spec, id = bountyId) => b.tx(from, 'linkEvaluation', [id, index, j.jobId, toHex(spec)])
  await fails(t, link(RIVAL, 1n, job, job.spec, 9n), 'NoSuchBounty')
  await fails(t, link(RIVAL, 2n, job), 'NoSuchSubmission')
  await fails(t, link(OTHER, 1n, job), 'NotJobClient', 'only the job’s client links it')
  await fails(t, link(RIVAL, 1n, job, inferSpec(weakHash)), 'SpecMismatch', 'the spec must hash to the job’s specHash')
  const train = await postInference(b, RIVAL, inferSpec(strongHash, HELD_OUT, { seed: 1 }), keccak256(toHex('mlp-train@1')))
  await fails(t, link(RIVAL, 1n, train), 'NotInferenceJob', 'an evaluation runs mlp-infer@1')
  for (const [what, spec] of [
    ['kind', inferSpec(strongHash, HELD_OUT, { kind: 'train', seed: 2 })],
    ['workload', inferSpec(strongHash, HELD_OUT, { workload: '{"id":"mlp-infer","version":2}', seed: 3 })],
    ['dataset', inferSpec(strongHash, keccak256(toHex('an easier dataset')), { seed: 4 })],
    ['model', inferSpec(weakHash, HELD_OUT, { seed: 5 })],
    ['verification', inferSpec(strongHash, HELD_OUT, { samples: 1, seed: 8 })],
  ] as const) {
    const j = await postInference(b, RIVAL, spec)
    const r = await link(RIVAL, 1n, j)
    t.equal(r.ok ? 'ok' : r.error, 'SpecMissing', `a spec with the wrong ${what} is refused`)
  }
  const used = await postInference(b, RIVAL, inferSpec(strongHash, HELD_OUT, { seed: 6 }))
  await b.must(RIVAL, 'useInJob', [used.jobId, [weak]])
  await fails(t, link(RIVAL, 1n, used), 'JobAlreadyLinked', 'a job already linked to assets')

  const l = await b.must(RIVAL, 'linkEvaluation', [bountyId, 1n, job.jobId, toHex(job.spec)])
  t.same(ev(l, 'EvaluationLinked'), { bountyId, index: 1n, jobId: job.jobId, client: RIVAL })
  t.match(await b.read('jobUseOf', [job.jobId]), { client: RIVAL, ids: [strong, dataset], fees: [0n, 0n] }, 'the job uses exactly [model, dataset], without fees')
  t.same(await b.read('evaluationOf', [job.jobId]), [bountyId, 2n])
  await fails(t, link(RIVAL, 1n, job), 'JobAlreadyLinked')
  // The bounty is the dataset owner's consent: the worker gets a job grant, the submitter needs no grant.
  const rq = await b.must(addr(77), 'requestJobGrants', [job.jobId])
  t.same(rq.events.map((e) => [e.eventName, e.args.id, e.args.grantee]), [['JobGrantRequested', dataset, job.worker]])
  await b.must(OWNER, 'fulfilJobGrant', [dataset, job.jobId, job.worker, KEY])

  // --- evaluation: refusals before acceptance, then the committed metrics decide
  const strongMetrics = metricsDoc(0.9666666666666667)
  await fails(t, b.tx(addr(5), 'evaluate', [keccak256(toHex('not linked')), toHex(strongMetrics)]), 'NotEvaluationJob')
  await fails(t, b.tx(addr(5), 'evaluate', [job.jobId, toHex(strongMetrics)]), 'JobNotAccepted', 'not before the session is accepted')
  // ... and so do its verifiers, who re-execute every segment on the held-out data
  const verifiers = await b.commitAndDraw(job.sessionId, job.worker, keccak256(toHex(job.spec)), strongMetrics)
  const vrq = await b.must(addr(77), 'requestJobGrants', [job.jobId])
  t.same(vrq.events.map((e) => [e.eventName, e.args.id, e.args.grantee]), verifiers.map((v) => ['JobGrantRequested', dataset, v]), 'the evaluation job’s verifiers get job grant requests on the dataset (the free model needs none)')
  for (const v of verifiers) await b.must(OWNER, 'fulfilJobGrant', [dataset, job.jobId, v, KEY])
  for (const v of verifiers) t.equal(await b.read('grantOf', [dataset, v]), '0x', 'no standing grant')
  await b.vote(job.sessionId, verifiers)
  t.equal((await b.h.read<{ status: number }>('getJob', [job.jobId])).status, J.Accepted)
  const forged = metricsDoc(0.99)
  const mm = await b.tx(addr(5), 'evaluate', [job.jobId, toHex(forged)])
  t.equal(mm.ok ? 'ok' : mm.error, 'MetricsMismatch', 'a metrics blob that is not the committed one is refused')
  t.equal(await b.read('metricOf', [toHex(strongMetrics)]), 966_666n, 'accuracy in ppm, rounded down')
  const escrow0 = await b.read<bigint>('escrow')
  const e = await b.must(addr(5), 'evaluate', [job.jobId, toHex(strongMetrics)]) // anyone may submit the metrics
  t.same(ev(e, 'EvaluationReported'), { bountyId, index: 1n, metric: 966_666n, passed: true })
  t.same(ev(e, 'BountyWon'), { bountyId, index: 1n, modelId: strong, payee: RIVAL, prize: 10n * ETHER }, 'rule First: paid at once to the model’s owner')
  t.equal(await b.read('credits', [RIVAL]), 10n * ETHER)
  t.equal(escrow0 - (await b.read<bigint>('escrow')), 10n * ETHER, 'the prize leaves escrow')
  t.match(await b.read('getBounty', [bountyId]), [{ settled: true, winner: 2, bestMetric: 966_666n }, [{ evaluated: false }, { evaluated: true, metric: 966_666n, jobId: job.jobId }]])
  await fails(t, b.tx(addr(5), 'evaluate', [job.jobId, toHex(strongMetrics)]), 'AlreadyEvaluated')
  const late = await postInference(b, SUBMITTER, inferSpec(weakHash, HELD_OUT, { seed: 7 }))
  await fails(t, link(SUBMITTER, 0n, late), 'BountySettled', 'a settled bounty takes no more evaluations')
  await fails(t, b.tx(SUBMITTER, 'submit', [bountyId, weak]), 'BountySettled')

  // settling the evaluation job: no fee, no usage, no rating right
  const st = await b.must(addr(5), 'settle', [job.jobId])
  t.same(ev(st, 'JobSettled'), { jobId: job.jobId, client: RIVAL, accepted: true, paid: 0n, refunded: 0n })
  for (const id of [strong, dataset]) t.equal((await b.read<readonly [{ usage: bigint }]>('getAsset', [id]))[0].usage, 0n, `asset ${id}: an evaluation is no market use`)
})

t.test('bounty: rule Best keeps the best passing evaluation until the window closes; a failing one and odd metrics', async (t) => {
  const { b, weak, strong, weakHash, strongHash, bountyId } = await bountySetup(t, RULE.Best, 500_000n, 120n)
  const third = await b.publish(OTHER, Kind.Model, Access.Free, 0n, keccak256(toHex('third model')))
  await b.must(OTHER, 'submit', [bountyId, third])
  const closedModel = await b.publish(OTHER, Kind.Model, Access.Closed)
  await fails(t, b.tx(OTHER, 'submit', [bountyId, closedModel]), 'ModelClosed', 'an evaluation needs a model blob workers can read')

  const evaluateWith = async (from: Hex20, index: bigint, modelHash: Hex, metrics: string) => {
    const j = await postInference(b, from, inferSpec(modelHash, HELD_OUT, { seed: Number(index) + 10 }))
    await b.must(from, 'linkEvaluation', [bountyId, index, j.jobId, toHex(j.spec)])
    await b.finish(j.sessionId, j.worker, true, keccak256(toHex(j.spec)), metrics)
    return { j, r: await b.tx(addr(5), 'evaluate', [j.jobId, toHex(metrics)]) }
  }
  const w = await evaluateWith(SUBMITTER, 0n, weakHash, metricsDoc(0.4, 1.5))
  t.same(ev(w.r, 'EvaluationReported'), { bountyId, index: 0n, metric: 400_000n, passed: false }, 'the weak model fails the threshold')
  const s = await evaluateWith(RIVAL, 1n, strongHash, metricsDoc(1))
  t.same(ev(s.r, 'EvaluationReported'), { bountyId, index: 1n, metric: 1_000_000n, passed: true })
  t.notOk(s.r.events.some((e) => e.eventName === 'BountyWon'), 'rule Best pays at settlement')
  const odd = await evaluateWith(OTHER, 2n, keccak256(toHex('third model')), '{"loss":0.1,"rows":150}')
  t.equal(odd.r.ok ? 'ok' : odd.r.error, 'BadMetrics', 'a metrics document without accuracy is refused')
  for (const [doc, ppm] of [['{"accuracy":0}', 0n], ['{"accuracy":1}', 1_000_000n], ['{"accuracy":5e-7}', 0n], ['{"accuracy":0.000001}', 1n], ['{"accuracy":0.29}', 290_000n], ['{"accuracy":2.5e-1,"rows":4}', 250_000n]] as const) {
    t.equal(await b.read('metricOf', [toHex(doc)]), ppm, `${doc} → ${ppm} ppm`)
  }
  for (const doc of ['{"accuracy":"x"}', '{"accuracy":1e}', '{"accuracy":1x}', '{"accuracy":1e999}']) await t.rejects(b.read('metricOf', [toHex(doc)]), `${doc} is refused`)

  await fails(t, b.tx(OWNER, 'settleBounty', [bountyId]), 'TooEarly')
  b.h.number += 320n // past deadline + evaluationWindow
  const late = await postInference(b, OTHER, inferSpec(keccak256(toHex('third model')), HELD_OUT, { seed: 40 }))
  await fails(t, b.tx(OTHER, 'linkEvaluation', [bountyId, 2n, late.jobId, toHex(late.spec)]), 'EvaluationClosed')
  const won = await b.must(addr(9), 'settleBounty', [bountyId])
  t.same(ev(won, 'BountyWon'), { bountyId, index: 1n, modelId: strong, payee: RIVAL, prize: 10n * ETHER })
  t.notOk(weak === strong)
})

t.test('bounty: removed assets, final jobs, refunded evaluations and the closed window are refused with their reasons', async (t) => {
  const { b, dataset, weak, strong, weakHash, strongHash, bountyId } = await bountySetup(t, RULE.First, 900_000n, 60n)
  // a job that is already final cannot be linked
  const done = await postInference(b, RIVAL, inferSpec(strongHash, HELD_OUT, { seed: 20 }))
  await b.finish(done.sessionId, done.worker, true, keccak256(toHex(done.spec)), metricsDoc(1))
  await fails(t, b.tx(RIVAL, 'linkEvaluation', [bountyId, 1n, done.jobId, toHex(done.spec)]), 'JobNotOpen', 'an accepted job is no longer open')
  // an evaluation job that ends refunded: settled without fees or usage, the submission stays open
  const lost = await postInference(b, SUBMITTER, inferSpec(weakHash, HELD_OUT, { seed: 21 }))
  await b.must(SUBMITTER, 'linkEvaluation', [bountyId, 0n, lost.jobId, toHex(lost.spec)])
  await b.h.must(lost.worker, 'abandon', [lost.sessionId])
  let job = await b.h.read<{ status: number; session: Hex }>('getJob', [lost.jobId])
  while (job.status === J.Running) {
    const s = await b.h.read<{ worker: Hex20 }>('getSession', [job.session])
    await b.h.must(s.worker, 'abandon', [job.session])
    job = await b.h.read<{ status: number; session: Hex }>('getJob', [lost.jobId])
  }
  if (job.status === J.Open) await b.h.must(SUBMITTER, 'cancel', [lost.jobId])
  await fails(t, b.tx(addr(5), 'evaluate', [lost.jobId, toHex(metricsDoc(0.2))]), 'JobNotAccepted', 'a refunded evaluation job decides nothing')
  const st = await b.must(addr(5), 'settle', [lost.jobId])
  t.same(ev(st, 'JobSettled'), { jobId: lost.jobId, client: SUBMITTER, accepted: false, paid: 0n, refunded: 0n })
  // a second evaluation job for the same submission after the refund
  const again = await postInference(b, SUBMITTER, inferSpec(weakHash, HELD_OUT, { seed: 22 }))
  await b.must(SUBMITTER, 'linkEvaluation', [bountyId, 0n, again.jobId, toHex(again.spec)])
  t.match(await b.read('getBounty', [bountyId]), [{}, [{ jobId: again.jobId, evaluated: false }, {}]], 'the submission points at its latest evaluation job')
  // removed assets: a removed model or held-out dataset takes no new evaluation job
  await b.must(SUBMITTER, 'remove', [weak])
  const afterRemoval = await postInference(b, SUBMITTER, inferSpec(weakHash, HELD_OUT, { seed: 23 }))
  await fails(t, b.tx(SUBMITTER, 'linkEvaluation', [bountyId, 0n, afterRemoval.jobId, toHex(afterRemoval.spec)]), 'AssetRemoved', 'the submitted model was removed')
  await b.must(OWNER, 'remove', [dataset])
  const noData = await postInference(b, RIVAL, inferSpec(strongHash, HELD_OUT, { seed: 24 }))
  await fails(t, b.tx(RIVAL, 'linkEvaluation', [bountyId, 1n, noData.jobId, toHex(noData.spec)]), 'AssetRemoved', 'the held-out dataset was removed')
  // an evaluation linked in time but accepted after the window: refused, the bounty refunds
  await b.finish(again.sessionId, again.worker, true, keccak256(toHex(again.spec)), metricsDoc(0.95))
  b.h.number += 200n
  await fails(t, b.tx(addr(5), 'evaluate', [again.jobId, toHex(metricsDoc(0.95))]), 'EvaluationClosed', 'evaluations end with the window')
  const rf = await b.must(addr(9), 'settleBounty', [bountyId])
  t.same(ev(rf, 'BountyRefunded'), { bountyId, client: OWNER, prize: 10n * ETHER })
  t.equal(await b.read('credits', [OWNER]), 10n * ETHER, 'the prize goes back to the bounty’s client')
  t.notOk(strong === weak)
})

t.test('the accuracy parser agrees with the rational accuracy for every count (fast-check)', async (t) => {
  const b = await fresh(t, 0)
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }).chain((n) => fc.tuple(fc.integer({ min: 0, max: n }), fc.constant(n))), async ([correct, rows]) => {
      const got = await b.read<bigint>('metricOf', [toHex(metricsDoc(correct / rows, 0.5, rows))])
      return got === (BigInt(correct) * 1_000_000n) / BigInt(rows)
    }),
    { numRuns: 200 },
  )
})

t.test('every job-linked error was produced', async (t) => {
  t.same(JOB_TEST_ERRORS.filter((e) => !SEEN.has(e)), [])
  t.same(EVALUATION_TEST_ERRORS.filter((e) => !SEEN.has(e)), [], 'and every bounty-evaluation error')
})
