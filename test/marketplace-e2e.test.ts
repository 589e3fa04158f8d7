/**
 * The marketplace end to end with real processes: `povchain node --dev --worker` (the
 * AssetRegistry in genesis at 0x…0C00, the WorkMarket and its in-node workers) and the
 * `povchain asset` / `job` CLIs signing with dev keys. Owners register a free dataset, a free
 * model, a paid model and a closed (encrypted) dataset; nobody without a grant can decrypt the
 * closed one; a client's job names the assets and pays their fees (postJob and useInJob signed
 * back to back so the job is still running); after acceptance `settle` pays the owners to the
 * wei and counts the usage; the job's worker decrypts the closed dataset with its per-job grant
 * and nobody else can; ratings move the score; a removed asset cannot be used by a new job;
 * a reward period pays the top free assets from the genesis fund.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { decodeFunctionResult, encodeFunctionData, parseEther, type Abi, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { bytesToHex } from '../common/bytes.js'
import { ASSET_REGISTRY_ADDRESS, assetRegistryAbi } from '../genesis/AssetRegistryGenesis.js'
import { DEV_MNEMONIC, deriveKeys } from '../genesis/DevKeys.js'
import { ROOT, rpc, startNodeProcess, tempDir, waitFor } from './helpers/devnode.js'

const run = promisify(execFile)
const SPEC = join(ROOT, 'compute/examples/iris-train.json')
const REG = ASSET_REGISTRY_ADDRESS
const regAbi = assetRegistryAbi()
const ETHER = 10n ** 18n
const KEYS = deriveKeys(DEV_MNEMONIC, 20).map((k) => bytesToHex(k) as Hex)

type Out = Record<string, unknown>

async function cliRaw(args: string[]): Promise<Out> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'node/cli.ts'), ...args, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 }).catch((e: { stdout?: string; message: string }) => ({ stdout: e.stdout ?? JSON.stringify({ ok: false, error: { message: e.message } }) }))
  return JSON.parse(stdout.trim().split('\n').pop()!) as Out
}
async function cli(args: string[]): Promise<Out> {
  const out = await cliRaw(args)
  if (!out.ok) throw new Error(`povchain ${args.join(' ')}: ${JSON.stringify(out.error)}`)
  return out
}
/** A CLI call that must fail; returns its error code and message. */
async function cliFails(args: string[]): Promise<{ code: string; message: string }> {
  const out = await cliRaw(args)
  if (out.ok) throw new Error(`povchain ${args.join(' ')} succeeded, a failure was expected`)
  return out.error as { code: string; message: string }
}

async function read<T>(url: string, abi: Abi, to: Address, functionName: string, args: readonly unknown[] = []): Promise<T> {
  const data = await rpc<Hex>(url, 'eth_call', [{ to, data: encodeFunctionData({ abi, functionName, args } as never) }, 'latest'])
  return decodeFunctionResult({ abi, functionName, data } as never) as T
}

t.setTimeout(600_000) // ~40 CLI processes and a verified job

t.test('marketplace: register, grant, use in a verified job, pay owners, job grant, rate, remove, reward', async (t) => {
  const { dir, cleanup } = tempDir('povchain-marketplace-e2e-')
  t.teardown(cleanup)
  const node = await startNodeProcess({ datadir: join(dir, 'node'), args: ['--worker', '--worker.runtime', 'embedded', '--worker.capacity', '100'], timeoutMs: 120_000 })
  t.teardown(() => node.stop())
  const url = node.httpUrl
  const t0 = Date.now()
  const phase = (what: string) => t.comment(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`)
  const keyFile = (i: number) => {
    const f = join(dir, `key-${i}`)
    writeFileSync(f, KEYS[i]!)
    return f
  }
  const addrOf = (i: number) => privateKeyToAccount(KEYS[i]!).address
  const [A, B, CLIENT, STRANGER] = [1, 2, 3, 4]
  const as = (i: number) => ['--rpc', url, '--key-file', keyFile(i)]
  const reg = <T>(fn: string, args: readonly unknown[] = []) => read<T>(url, regAbi, REG, fn, args)

  // --- register: a free dataset and a closed dataset (A), a paid model and a free model (B)
  const files = { freeData: join(dir, 'free.csv'), closedData: join(dir, 'heldout.csv'), paidModel: join(dir, 'paid.bin'), freeModel: join(dir, 'free-model.bin') }
  writeFileSync(files.freeData, 'x,y\n1,2\n3,4\n')
  const secret = 'label,feature\n' + Array.from({ length: 200 }, (_, i) => `${i % 3},${(i * 0.37).toFixed(3)}`).join('\n')
  writeFileSync(files.closedData, secret)
  writeFileSync(files.paidModel, new Uint8Array(4096).map((_, i) => (i * 31) & 0xff))
  writeFileSync(files.freeModel, new Uint8Array(1024).map((_, i) => (i * 7) & 0xff))
  // A's and B's registrations run side by side (each account's own transactions in order).
  const freeData = BigInt((await cli(['asset', 'register', '--file', files.freeData, '--kind', 'dataset', '--mode', 'free', '--name', 'toy', ...as(A)])).id as string)
  const paidModel = BigInt((await cli(['asset', 'register', '--file', files.paidModel, '--kind', 'model', '--mode', 'paid', '--price', '0.25', ...as(B)])).id as string)
  const [closed, freeModelOut] = await Promise.all([
    cli(['asset', 'register', '--file', files.closedData, '--kind', 'dataset', '--mode', 'closed', '--price', '0.5', '--licence', 'research only', ...as(A)]),
    (async () => {
      // published after the closed dataset's mint (so ids are 1 … 4 in a known order)
      await waitFor(async () => (await read<bigint>(url, regAbi, REG, 'assetCount')) >= 3n, 'the closed dataset to be minted', 60_000, 50)
      return cli(['asset', 'register', '--file', files.freeModel, '--kind', 'model', '--mode', 'free', ...as(B)])
    })(),
  ])
  const closedData = BigInt(closed.id as string)
  const freeModel = BigInt(freeModelOut.id as string)
  t.same([freeData, paidModel, closedData, freeModel], [1n, 2n, 3n, 4n], 'ids from 1')

  phase('registered')
  const shown = (await cli(['asset', 'show', String(closedData), '--rpc', url])) as { asset: Record<string, unknown>; metadata: Record<string, unknown> }
  t.match(shown.asset, { owner: addrOf(A), kind: 'dataset', mode: 'closed', pricePerUse: `0x${parseEther('0.5').toString(16)}`, usage: '0x0' })
  t.match(shown.metadata, { licence: 'research only', encryption: 'PVA1', size: secret.length })
  const stored = await rpc<{ data: Hex }>(url, 'pov_getBlob', [closed.contentHash, 0, 8])
  t.equal(stored.data.slice(0, 12), '0x5056413101', 'the node stores the closed dataset encrypted (format PVA1 v1)')
  const list = await rpc<{ total: number; assets: { id: Hex }[] }>(url, 'pov_listAssets', [{ kind: 'dataset' }])
  t.same(list.assets.map((a) => BigInt(a.id)), [freeData, closedData], 'pov_listAssets filters by kind')
  t.equal((await rpc<{ total: number }>(url, 'pov_listAssets', [{ owner: addrOf(B), mode: 'paid' }])).total, 1, 'by owner and mode')
  t.equal(await rpc(url, 'pov_getAsset', ['99']), null, 'no such asset: null')

  // --- nobody without a grant can decrypt the closed dataset
  const out = (n: string) => join(dir, n)
  const [noGrant, noKey] = await Promise.all([cliFails(['asset', 'fetch', String(closedData), '--out', out('x'), ...as(CLIENT)]), cliFails(['asset', 'grant', String(closedData), addrOf(CLIENT), ...as(A)])])
  t.equal(noGrant.code, 'ASSET_NO_GRANT', 'the client has no grant yet')
  t.equal(noKey.code, 'ASSET_NO_PUBLIC_KEY', 'a grantee must publish its public key first')
  // The client and the dev workers (#18, #17) publish their keys, so owners can seal grants to them.
  await Promise.all([CLIENT, 18, 17].map((i) => cli(['asset', 'key', ...as(i)])))
  t.equal((await cliFails(['asset', 'grant', String(closedData), addrOf(CLIENT), ...as(B)])).code, 'ASSET_NO_CONTENT_KEY', 'only the owner holds the content key')
  await cli(['asset', 'grant', String(closedData), addrOf(CLIENT), ...as(A)])
  await cli(['asset', 'fetch', String(closedData), '--out', out('client.csv'), ...as(CLIENT)])
  t.equal(readFileSync(out('client.csv'), 'utf8'), secret, 'with its grant the client decrypts the dataset')
  const [stranger] = await Promise.all([cliFails(['asset', 'fetch', String(closedData), '--out', out('y'), ...as(STRANGER)]), cli(['asset', 'fetch', String(freeData), '--out', out('free.csv'), ...as(STRANGER)])])
  t.equal(stranger.code, 'ASSET_NO_GRANT', 'a stranger cannot')
  t.equal(readFileSync(out('free.csv'), 'utf8'), 'x,y\n1,2\n3,4\n', 'anyone fetches a free asset')

  phase('grants checked')
  // --- a client job that uses the four assets: `asset job` signs postJob and useInJob back to back
  const client = privateKeyToAccount(KEYS[CLIENT]!)
  const ids = [freeData, paidModel, closedData, freeModel]
  const fees = parseEther('0.25') + parseEther('0.5')
  const posted = (await cli(['asset', 'job', SPEC, '--assets', ids.join(','), ...as(CLIENT)])) as { jobId: Hex; fees: string; ids: string[] }
  const jobId = posted.jobId
  t.equal(BigInt(posted.fees), fees, 'the job is posted and its assets linked with their fees')
  t.match(await reg<{ client: Address; ids: bigint[] }>('jobUseOf', [jobId]), { client: client.address, ids, fees: [0n, parseEther('0.25'), parseEther('0.5'), 0n] })

  const job = await waitFor(async () => {
    const j = await rpc<{ status: string; session: Hex }>(url, 'pov_getJob', [jobId])
    return j.status === 'accepted' || j.status === 'refunded' ? j : undefined
  }, 'the job to be final', 180_000, 250)
  phase('job final')
  t.equal(job.status, 'accepted', 'the job was verified and accepted')
  const worker = (await rpc<{ worker: Address }>(url, 'pov_getSession', [job.session])).worker
  const workerIndex = [18, 17].find((i) => addrOf(i) === worker)!
  const otherWorker = workerIndex === 18 ? 17 : 18
  t.ok(workerIndex, `the job ran on dev worker #${workerIndex}`)

  // --- settle: owners paid to the wei, usage counted
  const credit = (i: number) => reg<bigint>('credits', [addrOf(i)])
  const [a0, b0] = [await credit(A), await credit(B)]
  await cli(['asset', 'settle', jobId, ...as(STRANGER)])
  t.equal((await credit(A)) - a0, parseEther('0.5'), "the closed dataset's owner is paid its fee")
  t.equal((await credit(B)) - b0, parseEther('0.25'), "the paid model's owner is paid its fee")
  for (const id of ids) t.equal((await rpc<{ usage: Hex }>(url, 'pov_getAsset', [String(id)])).usage, '0x1', `asset ${id}: one verified use`)
  t.equal((await cliFails(['asset', 'settle', jobId, ...as(STRANGER)])).message.includes('JobAlreadySettled'), true, 'never settled twice')

  // --- the job's worker decrypts the closed dataset with its per-job grant; nobody else can
  const g = await reg<{ worker: Address; fulfilled: boolean }>('jobGrantOf', [closedData, jobId])
  t.equal(g.worker, worker, 'settle recorded the job grant request for the worker that did the job')
  t.equal((await cliFails(['asset', 'fetch', String(closedData), '--job', jobId, '--out', out('w0'), ...as(workerIndex)])).code, 'ASSET_NO_GRANT', 'not before the owner sealed it')
  await cli(['asset', 'grant', String(closedData), '--job', jobId, ...as(A)])
  await cli(['asset', 'fetch', String(closedData), '--job', jobId, '--out', out('worker.csv'), ...as(workerIndex)])
  t.equal(readFileSync(out('worker.csv'), 'utf8'), secret, 'the assigned worker decrypts the dataset with its job grant')
  const [other, standing] = await Promise.all([cliFails(['asset', 'fetch', String(closedData), '--job', jobId, '--out', out('w1'), ...as(otherWorker)]), cliFails(['asset', 'fetch', String(closedData), '--out', out('w2'), ...as(workerIndex)])])
  t.equal(other.code, 'ASSET_NO_GRANT', 'the other worker cannot')
  t.equal(standing.code, 'ASSET_NO_GRANT', 'the job grant is no standing grant')

  phase('settled, job grant used')
  // --- ratings move the score (Bayesian prior: 5 votes of 3 stars; usage 1 doubles it)
  const score = async (id: bigint) => rpc<{ ratingScore: Hex; score: Hex; clientRatings: number; averageStars: number | null; formula: { priorMean: number; priorWeight: number } }>(url, 'pov_getAssetScore', [String(id)])
  t.match(await score(paidModel), { ratingScore: `0x${(3_000_000n).toString(16)}`, score: `0x${(6_000_000n).toString(16)}`, clientRatings: 0, averageStars: null, formula: { priorMean: 3, priorWeight: 5 } })
  t.equal((await cliFails(['asset', 'rate', String(paidModel), '5', ...as(STRANGER)])).message.includes('NotVerifiedUser'), true, 'only a verified user rates')
  await cli(['asset', 'rate', String(paidModel), '5', ...as(CLIENT)])
  await cli(['asset', 'rate', String(freeData), '1', ...as(CLIENT)]) // (the client's transactions: one at a time)
  t.match(await score(paidModel), { ratingScore: `0x${((20n * 1_000_000n) / 6n).toString(16)}`, score: `0x${(((20n * 1_000_000n) / 6n) * 2n).toString(16)}`, clientRatings: 1, averageStars: 5 }, '(5·3 + 5)/6 stars, × 2 for one use')
  t.match(await score(freeData), { ratingScore: `0x${((16n * 1_000_000n) / 6n).toString(16)}`, clientRatings: 1, averageStars: 1 }, 'one 1-star vote moves it to 16/6')
  t.equal((await cliFails(['asset', 'rate', String(paidModel), '4', ...as(CLIENT)])).message.includes('AlreadyRated'), true, 'once per client')
  const byScore = await rpc<{ assets: { id: Hex }[] }>(url, 'pov_listAssets', [{ sort: 'score', limit: 2 }])
  t.same(byScore.assets.map((a) => BigInt(a.id)), [paidModel, closedData], 'pov_listAssets sorts by score')

  phase('rated')
  // --- removal blocks new jobs
  await cli(['asset', 'remove', String(paidModel), ...as(B)])
  t.equal((await cliFails(['asset', 'fetch', String(paidModel), '--out', out('z'), ...as(CLIENT)])).code, 'ASSET_REMOVED')
  const refused = await cliFails(['asset', 'job', SPEC, '--assets', String(paidModel), ...as(CLIENT)])
  t.match(refused.message, /was posted, but useInJob .* reverted: AssetRegistry: AssetRemoved\(2\)/, 'a new job naming the removed asset: the link reverts')
  const secondJob = /job (0x[0-9a-f]{64})/.exec(refused.message)![1]!
  const why = await cliFails(['asset', 'use', secondJob, String(paidModel), ...as(CLIENT)])
  t.match(why.message, /AssetRemoved\(2\)/, 'with the reason AssetRemoved')

  phase('removal checked')
  // --- a reward period pays the top free assets from the genesis fund
  t.equal(await reg<bigint>('periodBlocks'), 32n, 'dev: one epoch of 32 blocks per period')
  await waitFor(async () => {
    const cur = await reg<bigint>('currentPeriod')
    if (cur > 0n && !(await reg<boolean>('distributed', [cur - 1n]))) return true
    await rpc(url, 'eth_sendTransaction', [{ from: addrOf(5), to: addrOf(6), value: '0x1' }]) // moves the chain on (automine)
    return false
  }, 'a reward period to end', 120_000, 50)
  const [fund0, a1, b1] = [await reg<bigint>('rewardFund'), await credit(A), await credit(B)]
  t.equal(fund0, 1000n * ETHER, 'the genesis fund: 1000 coins')
  const paid = await cli(['asset', 'rewards', ...as(STRANGER)])
  t.equal(paid.rewarded, 2, 'the top free dataset and the top free model (the only free assets with usage)')
  t.equal((await credit(A)) - a1, (5n * ETHER * 3n) / 6n, 'free dataset: rank 1 of its kind, 3/6 of half the period reward')
  t.equal((await credit(B)) - b1, (5n * ETHER * 3n) / 6n, 'free model: likewise')
  t.equal(await reg<bigint>('rewardFund'), fund0 - 5n * ETHER)
  t.equal((await cli(['asset', 'rewards', ...as(STRANGER)])).rewarded, 0, 'a second call in the same period pays nothing')

  phase('rewards paid')
  // --- the owners withdraw; the registry's books balance to the wei
  const balB = BigInt(await rpc<Hex>(url, 'eth_getBalance', [addrOf(B), 'latest']))
  const w = (await cli(['asset', 'withdraw', ...as(B)])) as { amount: string; tx: Hex }
  const rc = await rpc<{ gasUsed: Hex; effectiveGasPrice: Hex }>(url, 'eth_getTransactionReceipt', [w.tx])
  t.equal(BigInt(await rpc<Hex>(url, 'eth_getBalance', [addrOf(B), 'latest'])) - balB, BigInt(w.amount) - BigInt(rc.gasUsed) * BigInt(rc.effectiveGasPrice), 'B receives its fee and reward, less gas, to the wei')
  t.equal(BigInt(w.amount), parseEther('0.25') + (5n * ETHER * 3n) / 6n)
  const [fund, escrowed, owed, balance] = await reg<readonly bigint[]>('accounting')
  t.equal(fund! + escrowed! + owed!, balance!, 'rewardFund + escrow + credits = balance')
  t.equal(BigInt(await rpc<Hex>(url, 'eth_getBalance', [REG, 'latest'])), balance!)
})
