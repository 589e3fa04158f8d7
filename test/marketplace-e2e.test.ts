/**
 * The marketplace end to end with real processes: `povchain node --dev --worker` (the
 * AssetRegistry in genesis at 0x…0C00, the WorkMarket and its in-node workers) and the
 * `povchain asset` / `job` CLIs signing with dev keys. Owners register a free dataset, a free
 * model, a paid model and a closed (encrypted) dataset; nobody without a grant can decrypt the
 * closed one; a client's job names the assets and pays their fees (postJob and useInJob signed
 * back to back so the job is still running); after acceptance `settle` pays the owners to the
 * wei and counts the usage; the job's worker decrypts the closed dataset with its per-job grant
 * and nobody else can; ratings move the score; a removed asset cannot be used by a new job;
 * reward periods pay the top free assets from the genesis fund through consensus's system call
 * (nobody calls distributeRewards); a bounty on a closed held-out dataset (Iris) gets a weak and
 * a strong model, each evaluated by a verified mlp-infer job whose worker decrypts the data with
 * a job grant the owner's node answers; the strong model is paid from escrow on its committed
 * metrics, a forged metrics blob is refused.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { decodeErrorResult, decodeFunctionResult, encodeFunctionData, parseEther, toHex, type Abi, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { bytesToHex } from '../common/bytes.js'
import { contentHash } from '../compute/ContentHash.js'
import { bundledDatasets } from '../compute/data/BundledDatasets.js'
import { decodeDataset, encodeDataset } from '../compute/data/Dataset.js'
import { executeJob } from '../compute/execution/JobExecution.js'
import { validateJobSpec } from '../compute/workloads/WorkloadRegistry.js'
import { ASSET_REGISTRY_ADDRESS, assetRegistryAbi } from '../genesis/AssetRegistryGenesis.js'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { ROOT, rpc, rpcRaw, startNodeProcess, tempDir, waitFor } from './helpers/devnode.js'

const run = promisify(execFile)
const SPEC = join(ROOT, 'compute/examples/iris-train.json')
const REG = ASSET_REGISTRY_ADDRESS
const regAbi = assetRegistryAbi()
const ETHER = 10n ** 18n
const KEYS = deriveKeys(DEV_MNEMONIC, 20).map((k) => bytesToHex(k) as Hex)

type Out = Record<string, unknown>

async function cliRaw(args: string[]): Promise<Out> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/cli.ts'), ...args, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 }).catch((e: { stdout?: string; message: string }) => ({ stdout: e.stdout ?? JSON.stringify({ ok: false, error: { message: e.message } }) }))
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

async function read<T>(url: string, abi: Abi, to: Address, functionName: string, args: readonly unknown[] = [], block: Hex | 'latest' = 'latest'): Promise<T> {
  const data = await rpc<Hex>(url, 'eth_call', [{ to, data: encodeFunctionData({ abi, functionName, args } as never) }, block])
  return decodeFunctionResult({ abi, functionName, data } as never) as T
}

t.setTimeout(900_000) // ~50 CLI processes and three verified jobs

/** A trained Iris model (the compute example's training job) and a barely trained one. */
function irisModels(): { strong: Uint8Array; weak: Uint8Array } {
  const train = JSON.parse(readFileSync(SPEC, 'utf8')) as Record<string, unknown>
  const dataset = { dataset: bundledDatasets()[0]!.bytes }
  const strong = executeJob(validateJobSpec(train), dataset).result
  const weak = executeJob(validateJobSpec({ ...train, params: { layers: [2], activation: 'relu', epochs: 1, batchSize: 16, optimizer: { type: 'sgd', learningRate: 0.001 }, testFraction: 0.2 } }), dataset).result
  return { strong, weak }
}

t.test('marketplace: register, grant, use in a verified job, pay owners, job grant, rate, remove, reward', async (t) => {
  const { dir, cleanup } = tempDir('povchain-marketplace-e2e-')
  t.teardown(cleanup)
  // The bounty's dataset owner (#6) has this node answer its job grant requests (the evaluation
  // jobs' workers' and verifiers'); A's closed dataset (#1) is granted by hand below.
  const BOUNTY_OWNER = 6
  const node = await startNodeProcess({ datadir: join(dir, 'node'), args: ['--worker', '--worker.runtime', 'embedded', '--worker.capacity', '100', '--assets.answer-grants', privateKeyToAccount(KEYS[BOUNTY_OWNER]!).address], timeoutMs: 120_000 })
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
  const settled = await cli(['asset', 'settle', jobId, ...as(STRANGER)])
  // read in the settle's block: later blocks may already add period rewards (the free assets now have usage)
  const settleBlock = (await rpc<{ blockNumber: Hex }>(url, 'eth_getTransactionReceipt', [settled.tx])).blockNumber
  const creditAt = (i: number) => read<bigint>(url, regAbi, REG, 'credits', [addrOf(i)], settleBlock)
  t.equal((await creditAt(A)) - a0, parseEther('0.5'), "the closed dataset's owner is paid its fee")
  t.equal((await creditAt(B)) - b0, parseEther('0.25'), "the paid model's owner is paid its fee")
  for (const id of ids) t.equal((await rpc<{ usage: Hex }>(url, 'pov_getAsset', [String(id)])).usage, '0x1', `asset ${id}: one verified use`)
  t.equal((await cliFails(['asset', 'settle', jobId, ...as(STRANGER)])).message.includes('JobAlreadySettled'), true, 'never settled twice')

  // --- the job's worker decrypts the closed dataset with its per-job grant; nobody else can
  const g = await reg<{ grantee: Address; fulfilled: boolean }>('jobGrantOf', [closedData, jobId, worker])
  t.equal(g.grantee, worker, 'settle recorded the job grant request for the worker that did the job')
  t.equal((await cliFails(['asset', 'fetch', String(closedData), '--job', jobId, '--out', out('w0'), ...as(workerIndex)])).code, 'ASSET_NO_GRANT', 'not before the owner sealed it')
  // The owner seals the content key to that worker for this job, with the CLI.
  await cli(['asset', 'grant', String(closedData), worker, '--job', jobId, ...as(A)])
  t.ok((await reg<{ fulfilled: boolean }>('jobGrantOf', [closedData, jobId, worker])).fulfilled, "the owner sealed the key to the job's worker (asset grant --job)")
  await cli(['asset', 'fetch', String(closedData), '--job', jobId, '--out', out('worker.csv'), ...as(workerIndex)])
  t.equal(readFileSync(out('worker.csv'), 'utf8'), secret, 'the assigned worker decrypts the dataset with its job grant')
  const [other, standing] = await Promise.all([cliFails(['asset', 'fetch', String(closedData), '--job', jobId, '--out', out('w1'), ...as(otherWorker)]), cliFails(['asset', 'fetch', String(closedData), '--out', out('w2'), ...as(workerIndex)])])
  t.equal(other.code, 'ASSET_NO_GRANT', 'the other worker cannot')
  t.equal(standing.code, 'ASSET_NO_GRANT', 'the job grant is no standing grant')

  // --- revocation rotates the key (issue 17): the revoked client and the past job's worker read nothing of the new version
  const rotated = (await cli(['asset', 'revoke', String(closedData), addrOf(CLIENT), ...as(A)])) as { rotated: { version: number; kept: Address[] } }
  t.match(rotated.rotated, { version: 1, kept: [addrOf(A)] }, 'asset revoke re-encrypted the dataset; only the owner holds the new key')
  t.equal((await cliFails(['asset', 'fetch', String(closedData), '--out', out('c1'), ...as(CLIENT)])).code, 'ASSET_NO_GRANT', 'the revoked client cannot fetch the new version')
  t.equal((await cliFails(['asset', 'fetch', String(closedData), '--job', jobId, '--out', out('w3'), ...as(workerIndex)])).code, 'ASSET_BLOB_REFUSED', "the past job's worker: its job grant opens nothing current and the node refuses it the new blob")
  t.equal((await reg<{ fulfilled: boolean }>('jobGrantOf', [closedData, jobId, worker])).fulfilled, false, 'the job grant of the old version reads as unfulfilled')
  await cli(['asset', 'fetch', String(closedData), '--out', out('owner-v1.csv'), ...as(A)])
  t.equal(readFileSync(out('owner-v1.csv'), 'utf8'), secret, 'the owner reads the new version')

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
  // --- a bounty judged by verified inference jobs: Iris held out in a closed dataset of #6
  const [WEAK_OWNER, STRONG_OWNER] = [7, 8]
  const models = irisModels()
  // The held-out data: every other Iris row — a dataset no node has (Iris itself is bundled).
  const full = decodeDataset(bundledDatasets()[0]!.bytes)
  const heldOutBytes = encodeDataset({ ...full, name: 'iris held out', x: full.x.filter((_, i) => i % 2 === 1), y: full.y.filter((_, i) => i % 2 === 1) })
  const heldOutHash = contentHash(heldOutBytes)
  const bfiles = { heldOut: join(dir, 'heldout-iris.json'), weak: join(dir, 'weak-model.json'), strong: join(dir, 'strong-model.json') }
  writeFileSync(bfiles.heldOut, heldOutBytes)
  writeFileSync(bfiles.weak, models.weak)
  writeFileSync(bfiles.strong, models.strong)
  const [heldOut, weakModel, strongModel] = await Promise.all([
    cli(['asset', 'register', '--file', bfiles.heldOut, '--kind', 'dataset', '--mode', 'closed', '--name', 'iris held out', ...as(BOUNTY_OWNER)]),
    cli(['asset', 'register', '--file', bfiles.weak, '--kind', 'model', '--mode', 'free', '--name', 'weak', ...as(WEAK_OWNER)]),
    cli(['asset', 'register', '--file', bfiles.strong, '--kind', 'model', '--mode', 'free', '--name', 'strong', ...as(STRONG_OWNER)]),
  ])
  t.equal((await cliFails(['bounty', 'post', '--dataset', heldOut.id as string, '--accuracy', '0.9', '--prize', '3', ...as(STRANGER)])).message.includes('NotOwner'), true, 'only the dataset owner posts a bounty on it')
  const posted1 = await cli(['bounty', 'post', '--dataset', heldOut.id as string, '--accuracy', '0.9', '--prize', '3', '--rule', 'first', '--blocks', '5000', ...as(BOUNTY_OWNER)])
  const bountyId = posted1.bountyId as string
  t.equal(posted1.inputHash, heldOutHash, "evaluations name the held-out data by its plaintext hash (the dataset metadata's plaintextHash)")
  // weak first, then strong: each `submit` posts its evaluation job and links it
  const weakSub = await cli(['bounty', 'submit', bountyId, '--model', weakModel.id as string, ...as(WEAK_OWNER)])
  const strongSub = await cli(['bounty', 'submit', bountyId, '--model', strongModel.id as string, ...as(STRONG_OWNER)])
  t.same([weakSub.index, strongSub.index], [0, 1])
  t.match(await reg('jobUseOf', [strongSub.jobId]), { ids: [BigInt(strongModel.id as string), BigInt(heldOut.id as string)], fees: [0n, 0n] }, 'the evaluation job uses exactly [model, held-out dataset]')
  const evalJobs = [weakSub.jobId as Hex, strongSub.jobId as Hex]
  for (const j of evalJobs)
    await waitFor(async () => {
      const job = await rpc<{ status: string }>(url, 'pov_getJob', [j])
      if (job.status === 'refunded') throw new Error(`evaluation job ${j} was refunded`)
      return job.status === 'accepted' ? job : undefined
    }, `evaluation job ${j} to be accepted`, 240_000, 250)
  phase('evaluation jobs accepted')
  const before = await rpc<{ submissions: { evaluated: boolean; job: { status: string; metricsHash: Hex } }[] }>(url, 'pov_getBounty', [bountyId])
  t.same(before.submissions.map((x) => [x.evaluated, x.job.status]), [[false, 'accepted'], [false, 'accepted']], 'pov_getBounty: both jobs accepted, nothing evaluated yet')
  // Only the encrypted held-out blob exists; the worker and verifier decrypted it with the per-job
  // grants the owner's node sealed to them and kept the plaintext out of the store.
  t.equal(await rpc(url, 'pov_getBlob', [heldOutHash, 0, 8]), null, 'the plaintext of the held-out data is in no blob store')
  // A forged metrics blob (not the committed one) is refused on chain.
  const forged = toHex('{"accuracy":1,"loss":0,"rows":150}')
  const simulated = await rpcRaw<Hex>(url, 'eth_call', [{ from: addrOf(STRANGER), to: REG, data: encodeFunctionData({ abi: regAbi, functionName: 'evaluate', args: [strongSub.jobId, forged] }) }, 'latest'])
  const errData = (simulated.error as { data?: Hex } | undefined)?.data
  const refusal = errData ? decodeErrorResult({ abi: regAbi, data: errData }).errorName : JSON.stringify(simulated)
  t.match(refusal, /MetricsMismatch/, 'a metrics blob that is not the committed one is refused')
  const weakEval = await cli(['bounty', 'evaluate', bountyId, '0', ...as(STRANGER)])
  t.match(weakEval, { passed: false, won: false }, 'the weak model fails the threshold')
  t.ok((weakEval.accuracy as number) < 0.9, `weak accuracy ${weakEval.accuracy}`)
  const strongEval = await cli(['bounty', 'evaluate', bountyId, '1', ...as(STRANGER)])
  t.match(strongEval, { passed: true, won: true }, 'the strong model passes and rule first pays it at once')
  t.ok((strongEval.accuracy as number) >= 0.9, `strong accuracy ${strongEval.accuracy}`)
  t.equal(await credit(STRONG_OWNER), parseEther('3'), "the prize is credited to the strong model's owner from escrow")
  const status = (await cli(['bounty', 'status', bountyId, '--rpc', url])) as { bounty: { state: string; winner: number; submissions: { accuracy: number }[] } }
  t.match(status.bounty, { state: 'won', winner: 1 }, 'bounty status: won by submission 1')
  t.equal((await cliFails(['bounty', 'evaluate', bountyId, '0', ...as(STRANGER)])).code, 'ASSET_ALREADY_EVALUATED')

  phase('bounty paid')
  // --- reward periods: consensus calls distributeRewards at epoch turns; nobody called it here
  t.equal(await reg<bigint>('periodBlocks'), 32n, 'dev: one epoch of 32 blocks per period')
  const share = (5n * ETHER * 3n) / 6n // rank 1 of its kind: 3/6 of half the period's 10 coins
  const rewardsOf = async (i: number, fee: bigint, block: Hex) => (await read<bigint>(url, regAbi, REG, 'credits', [addrOf(i)], block)) - fee
  const at = await waitFor(async () => {
    const block = await rpc<Hex>(url, 'eth_blockNumber', [])
    if ((await rewardsOf(A, parseEther('0.5'), block)) > 0n) return block
    await rpc(url, 'eth_sendTransaction', [{ from: addrOf(5), to: addrOf(9), value: '0x1' }]) // moves the chain on (automine); epochs turn with time
    return undefined
  }, 'a reward period to be paid by the system call', 180_000, 500)
  const [fundAt, rewardA, rewardB] = [await read<bigint>(url, regAbi, REG, 'rewardFund', [], at), await rewardsOf(A, parseEther('0.5'), at), await rewardsOf(B, parseEther('0.25'), at)]
  t.ok(rewardA > 0n && rewardA % share === 0n, `free dataset: rank 1 of its kind in each paid period (${rewardA / share} × 3/6 of half the reward)`)
  t.equal(rewardB, rewardA, 'free model: likewise, in the same periods')
  t.equal(1000n * ETHER - fundAt, rewardA + rewardB, 'the genesis fund paid exactly the rewards')
  // The period the system call paid: the one before the period of the block that paid it (the
  // poll may read a block or more later, already in the next period, whose predecessor waits for
  // the next epoch turn: reading currentPeriod at the poll's block raced with it).
  const paidAt = await waitFor(async () => {
    for (let n = BigInt(at); n > 0n; n--) {
      const prev = `0x${(n - 1n).toString(16)}` as Hex
      if ((await rewardsOf(A, parseEther('0.5'), prev)) === 0n) return n
    }
    return undefined
  }, 'the block whose system call paid the rewards', 10_000, 100)
  const period = paidAt / 32n
  t.ok(await read<boolean>(url, regAbi, REG, 'distributed', [period - 1n], at), `the period that ended before block ${paidAt} is marked paid`)

  phase('rewards paid')
  // --- the owners withdraw; the registry's books balance to the wei
  const w = (await cli(['asset', 'withdraw', ...as(B)])) as { amount: string; tx: Hex }
  const rc = await rpc<{ gasUsed: Hex; effectiveGasPrice: Hex; blockNumber: Hex }>(url, 'eth_getTransactionReceipt', [w.tx])
  // B's balance just before and just after the withdrawal's block (reading 'latest' around the
  // CLI raced with other blocks under load).
  const balanceAt = async (n: bigint) => BigInt(await rpc<Hex>(url, 'eth_getBalance', [addrOf(B), `0x${n.toString(16)}`]))
  const wBlock = BigInt(rc.blockNumber)
  t.equal((await balanceAt(wBlock)) - (await balanceAt(wBlock - 1n)), BigInt(w.amount) - BigInt(rc.gasUsed) * BigInt(rc.effectiveGasPrice), 'B receives its fee and rewards, less gas, to the wei')
  t.ok(BigInt(w.amount) >= parseEther('0.25') + rewardB && (BigInt(w.amount) - parseEther('0.25')) % share === 0n, 'the fee and whole period rewards')
  const [fund, escrowed, owed, balance] = await reg<readonly bigint[]>('accounting')
  t.equal(fund! + escrowed! + owed!, balance!, 'rewardFund + escrow + credits = balance')
  t.equal(escrowed, 0n, 'nothing left in escrow (the bounty was paid, the job fees settled)')
  t.equal(BigInt(await rpc<Hex>(url, 'eth_getBalance', [REG, 'latest'])), balance!)
})
