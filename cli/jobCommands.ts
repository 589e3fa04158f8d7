import { readFile, writeFile } from 'node:fs/promises'
import { InvalidArgumentError, type Command } from 'commander'
import { parseEther, type Address, type Hex } from 'viem'
import { roundedCoins } from '../common/CoinAmount.js'
import { hexToBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import { contentHash } from '../compute/ContentHash.js'
import { bundledDatasets } from '../compute/data/BundledDatasets.js'
import { decodeJson, encodeJobSpec, jobSpecHash, type JobSpec } from '../compute/spec/JobSpec.js'
import { validateJobSpec } from '../compute/workloads/WorkloadRegistry.js'
import { WORK_MARKET_ADDRESS } from '../genesis/WorkMarketGenesis.js'
import { loadSigningKey } from './CliSigningKey.js'
import { JobError } from '../market/client/JobError.js'
import { describeOffers, describeVerificationCost, jobUnits, gpuNeeds, jobNeeds, meetsNeeds, verificationCost, verifierCount, workloadId } from '../market/client/JobEstimate.js'
import { jobVerification, MODE, type JobVerification } from '../market/client/JobVerification.js'
import { RPC_BLOB_CHUNK } from '../market/client/MarketRpcMethods.js'
import { RpcMarketChain } from '../market/client/RpcMarketChain.js'
import { encodeMarketCall, WorkMarketReader } from '../market/client/WorkMarketReader.js'
import { cliAction, cliPrinter, processCliIo, withChainOptions, type ChainCommandOptions, type CliIo } from './ChainCliCommand.js'

export type JobCliIo = CliIo

export interface JobCliContext {
  logger: Logger
  io?: JobCliIo
}

type ConnOpts = ChainCommandOptions

const FINAL = new Set(['accepted', 'refunded'])

const ZERO32 = `0x${'00'.repeat(32)}`

/**
 * Registered workers that could be drawn for a job needing `needs` (OFFERS bits), the image
 * `image` (unless zero) and paying `unitPay` wei per compute unit to each worker: active, bonded,
 * offering every bit, holding the image, asking no more. Throws NO_WORKER when fewer than
 * `count` (the replicas the job draws) can — naming what the registered workers offer — before
 * anything is uploaded or paid, the way the contract's draw would leave the job waiting.
 */
export async function capableWorkers(
  market: WorkMarketReader,
  needs: number,
  opts: { image?: Hex; count?: number; unitPay?: bigint; client?: Address } = {},
): Promise<Address[]> {
  const { minBond } = await market.config()
  const count = opts.count ?? 1
  const image = opts.image && opts.image !== ZERO32 ? opts.image.toLowerCase() : undefined
  const wantGpus = gpuNeeds(needs)
  const all = await Promise.all(
    (await market.workers()).map(async (a) => ({
      ...(await market.worker(a)),
      images: image ? (await market.imagesOf(a)).map((x) => x.toLowerCase()) : [],
      gpus: wantGpus.count ? await market.gpusOf(a) : { count: 0, memoryMb: 0 },
    })),
  )
  const active = all.filter((w) => w.registered && w.exitAt === 0n && w.bond >= minBond && w.address.toLowerCase() !== opts.client?.toLowerCase())
  const capable = active.filter(
    (w) => meetsNeeds(Number(w.offers), w.gpus, needs) && (!image || w.images.includes(image)) && (opts.unitPay === undefined || (w.minUnitPrice ?? 0n) <= opts.unitPay),
  )
  // Why a worker with GPUs does not fit a GPU job: too few, or too little memory on them.
  const gpuWhy = (g: { count: number; memoryMb: number }) =>
    !wantGpus.count ? '' : g.count === 0 ? ', announced no GPU' : `, ${g.count} GPU${g.count > 1 ? 's' : ''} of ${g.memoryMb} MiB${g.count < wantGpus.count ? ': too few GPUs' : g.memoryMb < wantGpus.memoryMb ? ': too little GPU memory' : ''}`
  if (capable.length < count) {
    const what = [describeOffers(needs), ...(image ? [`image sha256:${image.slice(2)}`] : []), ...(opts.unitPay !== undefined ? [`a price of at most ${roundedCoins(opts.unitPay)} coins per unit`] : [])].join(', ')
    const offered = active.length
      ? active.map((w) => `${w.address} (${describeOffers(Number(w.offers))}${gpuWhy(w.gpus)}${image ? (w.images.includes(image) ? ', has the image' : ', lacks the image') : ''}${w.minUnitPrice ? `, asks ${roundedCoins(w.minUnitPrice)}/unit` : ''})`).join(', ')
      : 'none'
    throw new JobError(
      'NO_WORKER',
      `${capable.length === 0 ? 'no registered worker offers' : `only ${capable.length} registered worker${capable.length === 1 ? ' offers' : 's offer'}`} what the spec needs (${what})${count > 1 ? `; it runs on ${count} workers at once` : ''}; active workers: ${offered}. Nothing was posted (--anyway posts it all the same; it waits for such workers until its deadline).`,
    )
  }
  return capable.map((w) => w.address)
}

/**
 * A re-execution job is verified only by workers whose free bond covers verifierStake(price)
 * (max(price, faultPenalty, verifierBondRatio × price)): throws NO_VERIFIER when no registered
 * worker but the client does, before anything is uploaded or paid — the session would wait for
 * a verifier until its deadline.
 */
export async function requireVerifierFor(market: WorkMarketReader, price: bigint, client: Address): Promise<void> {
  const [stake, { verifierBondRatio }] = await Promise.all([market.verifierStake(price), market.config()])
  let best = 0n
  for (const a of await market.workers()) {
    if (a.toLowerCase() === client.toLowerCase()) continue
    const w = await market.worker(a)
    if (!w.registered || w.exitAt !== 0n) continue
    const free = await market.read<bigint>('freeBondOf', [a])
    if (free >= stake) return
    if (free > best) best = free
  }
  throw new JobError(
    'NO_VERIFIER',
    `a verifier of a ${roundedCoins(price)}-coin job must hold ${roundedCoins(stake)} coins of free bond (${verifierBondRatio} × the price: what a wrong vote on it must be able to cost), and no registered worker does (the most free: ${roundedCoins(best)}). Lower --price, or wait for better-bonded workers. Nothing was posted (--anyway posts it all the same).`,
  )
}

const unitsFlag = (v: string) => {
  if (!/^[1-9]\d{0,17}$/.test(v)) throw new InvalidArgumentError('--units must be a positive integer')
  return BigInt(v)
}

/** The price a spec's mode costs: the estimate for its units, once per replica. */
async function modePrice(market: WorkMarketReader, units: bigint, v: JobVerification): Promise<bigint> {
  return (await market.estimatePrice(units)) * BigInt(v.replicas)
}

/** Minimum unit prices (ascending) of the active workers that could run a job of this kind. */
async function askedPrices(market: WorkMarketReader, needs: number, mode: JobVerification): Promise<bigint[]> {
  const image = mode.image !== ZERO32 ? mode.image.toLowerCase() : undefined
  const asks: bigint[] = []
  for (const a of await market.workers()) {
    const w = await market.worker(a)
    if (!w.registered || w.exitAt !== 0n || !meetsNeeds(Number(w.offers), gpuNeeds(needs).count ? await market.gpusOf(a) : { count: 0, memoryMb: 0 }, needs)) continue
    if (image && !(await market.imagesOf(a)).map((x) => x.toLowerCase()).includes(image)) continue
    asks.push(w.minUnitPrice ?? 0n)
  }
  return asks.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
}

async function connect(o: ConnOpts): Promise<{ chain: RpcMarketChain; market: WorkMarketReader }> {
  const key = await loadSigningKey(o)
  const chain = await RpcMarketChain.connect(o.rpc, { ...(key ? { key } : {}), ...(o.from ? { from: o.from as Address } : {}) })
  return { chain, market: new WorkMarketReader(chain) }
}

async function readSpec(path: string): Promise<JobSpec> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new JobError('SPEC', `cannot read spec file ${path}: ${(e as Error).message}`)
  }
  return validateJobSpec(decodeJson(text, path))
}

/** The spec's input blobs from --dataset/--model files or the bundled datasets (Iris). */
async function localInputs(spec: JobSpec, o: { dataset?: string; model?: string }): Promise<{ dataset?: Uint8Array; model?: Uint8Array }> {
  const pick = async (hash: string | undefined, file: string | undefined, what: string) => {
    if (!hash) return undefined
    const bytes = file ? new Uint8Array(await readFile(file)) : bundledDatasets().find((d) => d.hash === hash)?.bytes
    if (!bytes) throw new JobError('INPUT', `the spec's ${what} ${hash} is not bundled: pass --${what} FILE`)
    if (contentHash(bytes) !== hash) throw new JobError('INPUT', `--${what} ${file} does not hash to the spec's ${what} ${hash}`)
    return bytes
  }
  const out: { dataset?: Uint8Array; model?: Uint8Array } = {}
  const d = await pick(spec.dataset, o.dataset, 'dataset')
  const m = await pick(spec.model, o.model, 'model')
  if (d) out.dataset = d
  if (m) out.model = m
  return out
}

/** Puts a blob into the node's store unless it already has it (pov_putBlob, ≤ 1 MiB). */
async function upload(chain: RpcMarketChain, bytes: Uint8Array): Promise<Hex> {
  const hash = contentHash(bytes)
  if (await chain.rpc.request('pov_getBlob', [hash, 0, 0])) return hash
  if (bytes.length > RPC_BLOB_CHUNK) throw new JobError('BLOB_TOO_LARGE', `blob ${hash} (${bytes.length} bytes) exceeds what pov_putBlob takes (${RPC_BLOB_CHUNK}); put it on the node with \`compute dataset import\``)
  const got = await chain.rpc.request<Hex>('pov_putBlob', [`0x${Buffer.from(bytes).toString('hex')}`])
  if (got !== hash) throw new JobError('BLOB', `the node stored ${got}, expected ${hash}`)
  return hash
}

/** Downloads a blob: from the node, else from the worker's node (its registered endpoint). */
async function download(chain: RpcMarketChain, market: WorkMarketReader, hash: Hex, worker?: Address): Promise<Uint8Array> {
  const urls: string[] = [chain.rpc.url]
  if (worker) {
    const ep = (await market.worker(worker)).endpoint
    if (/^https?:\/\//.test(ep)) urls.push(ep)
  }
  for (const url of urls) {
    const { rpcBlobSource } = await import('../market/worker/BlobFetcher.js')
    const bytes = await rpcBlobSource(url).fetch(hash, 1024 * 1024 * 1024)
    if (bytes && contentHash(bytes) === hash) return bytes
  }
  throw new JobError('BLOB_UNAVAILABLE', `blob ${hash} is not available from ${urls.join(' or ')}`)
}

type JobJson = Record<string, unknown> & { status: string; price: string; attempts: number; session: string }

async function jobView(chain: RpcMarketChain, id: Hex): Promise<JobJson & { currentSession: Record<string, unknown> | null }> {
  const job = await chain.rpc.request<JobJson | null>('pov_getJob', [id])
  if (!job) throw new JobError('NO_JOB', `no job ${id}`)
  const session = job.session && !/^0x0+$/.test(job.session as string) ? await chain.rpc.request<Record<string, unknown> | null>('pov_getSession', [job.session]) : null
  return { ...job, currentSession: session }
}

function describe(v: Awaited<ReturnType<typeof jobView>>): string {
  const s = v.currentSession as { status: string; worker: string; verifiers: string[] } | null
  const st = v.status as string
  if (st === 'open') return 'waiting for a worker'
  if (st === 'refunded') return 'refunded'
  if (!s) return st
  if (st === 'accepted') return `accepted — worker ${s.worker} paid, receipt recorded`
  if (v.mode && v.mode !== 'reexecution' && st === 'running') return `running on ${v.replicas} workers (${v.mode}): each seals its result, then all reveal and are compared`
  if (s.status === 'assigned') return `assigned to ${s.worker}, running`
  if (s.status === 'committed' && s.verifiers.length === 0) return `committed by ${s.worker}, verifiers being drawn`
  if (s.status === 'committed') return `being verified by ${s.verifiers.join(', ')}`
  return `session ${s.status}`
}

/**
 * `povchain job …`: submit a job (uploads the spec and its inputs, pays the price into escrow),
 * follow it, fetch its result, list and estimate jobs, cancel or refund, rate the worker.
 */
export function registerJobCommands(program: Command, ctx: JobCliContext): Command {
  const io: JobCliIo = ctx.io ?? processCliIo()
  const action = cliAction(io)
  const print = cliPrinter(io)
  const conn = withChainOptions

  const job = program.command('job').description('post AI jobs to the WorkMarket and get verified results')

  const waitFinal = async (chain: RpcMarketChain, id: Hex, json: boolean | undefined, timeoutSec: number) => {
    let last = ''
    const until = Date.now() + timeoutSec * 1000
    for (;;) {
      const v = await jobView(chain, id)
      const line = describe(v)
      if (line !== last && !json) {
        io.err(io.isTTY ? `\r\x1b[2K${line}` : `${line}\n`)
        last = line
      }
      if (FINAL.has(v.status as string)) {
        if (io.isTTY && !json) io.err('\n')
        return v
      }
      if (Date.now() > until) throw new JobError('TIMEOUT', `job ${id} not final after ${timeoutSec} s (${line})`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }

  conn(job.command('submit').argument('<spec>', 'job spec (JSON)'))
    .description('post a job: upload the spec and inputs, pay the price into escrow; the contract assigns a worker')
    .option('--price <coins>', 'price held in escrow (default: the market estimate)')
    .option('--deadline <seconds>', 'seconds from now by which the work must be committed', '3600')
    .option('--dataset <file>', "the spec's dataset blob, when it is not bundled")
    .option('--model <file>', "the spec's model blob (infer jobs)")
    .option('--wait', 'follow the job until it is final (accepted or refunded)')
    .option('--timeout <seconds>', 'give up waiting after this long', '900')
    .option('--anyway', 'post even when no registered worker offers what the spec needs (Docker, GPU)')
    .option('--units <n>', "compute units of the job (needed for an image's own workload, which this node cannot count)", unitsFlag)
    .action(
      action(async (specPath: string, o: ConnOpts & { price?: string; deadline: string; dataset?: string; model?: string; wait?: boolean; timeout: string; anyway?: boolean; units?: bigint }) => {
        const spec = await readSpec(specPath)
        const mode = jobVerification(spec)
        const inputs = await localInputs(spec, o)
        const { chain, market } = await connect(o)
        const units = jobUnits(spec, inputs, o.units)
        // Before paying: a spec the market cannot judge (too many segments) fails here, typed.
        const verification = verificationCost(spec, inputs)
        if (verification && !o.json) io.err(describeVerificationCost(verification) + '\n')
        const price = o.price ? parseEther(o.price) : await modePrice(market, units, mode)
        // Only workers offering what the spec needs (and holding its image, at its price) are drawn for it: say so now if too few.
        const needs = jobNeeds(spec)
        if (!o.anyway) await capableWorkers(market, needs, { image: mode.image, count: mode.replicas, unitPay: price / BigInt(mode.replicas) / units, client: chain.from })
        if (!o.anyway && mode.mode === MODE.reexecution) await requireVerifierFor(market, price, chain.from)
        const specHash = await upload(chain, encodeJobSpec(spec))
        if (specHash !== jobSpecHash(spec)) throw new JobError('SPEC', 'the uploaded spec does not hash to its spec hash')
        if (inputs.dataset) await upload(chain, inputs.dataset)
        if (inputs.model) await upload(chain, inputs.model)
        const head = await chain.head()
        const now = BigInt(Math.floor(Date.now() / 1000))
        const deadline = (head.timestamp > now ? head.timestamp : now) + BigInt(o.deadline)
        const maxDuration = BigInt(spec.resources.timeoutSec) + 60n
        const args = [specHash, workloadId(spec), deadline, maxDuration, units, verifierCount(spec)] as const
        const call =
          mode.mode !== MODE.reexecution
            ? encodeMarketCall('postReplicatedJob', [specHash, workloadId(spec), deadline, maxDuration, units, needs, mode.mode, mode.replicas, mode.epsilon, mode.image, mode.metric])
            : needs
              ? encodeMarketCall('postJobWith', [...args, needs])
              : encodeMarketCall('postJob', args)
        const r = await chain.send(WORK_MARKET_ADDRESS, call, { value: price })
        const jobId = r.logs.find((l) => l.address.toLowerCase() === WORK_MARKET_ADDRESS.toLowerCase())!.topics[1] as Hex
        if (!o.json) io.err(`job ${jobId} posted: ${roundedCoins(price)} coins in escrow, ${units} compute units, ${spec.verification.mode}${mode.replicas > 1 ? ` on ${mode.replicas} workers` : ''}, spec ${specHash}\n`)
        if (!o.wait) {
          print(o.json, { jobId, specHash, price: price.toString(), units: units.toString(), tx: r.hash }, `${jobId}\n`)
          return
        }
        const v = await waitFinal(chain, jobId, o.json, Number(o.timeout))
        print(o.json, { job: v }, `${jobId} ${v.status}\n`)
        if (v.status !== 'accepted') process.exitCode = 1
      }),
    )

  conn(job.command('status').argument('<jobId>'))
    .description('the job, its current session and verification')
    .option('--wait', 'follow it until it is final')
    .option('--timeout <seconds>', 'give up waiting after this long', '900')
    .action(
      action(async (id: string, o: ConnOpts & { wait?: boolean; timeout: string }) => {
        const { chain } = await connect(o)
        const v = o.wait ? await waitFinal(chain, id as Hex, o.json, Number(o.timeout)) : await jobView(chain, id as Hex)
        print(o.json, { job: v }, `${id}\n  status   ${v.status} — ${describe(v)}\n  price    ${roundedCoins(BigInt(v.price as string))} coins\n  attempts ${v.attempts}\n  session  ${v.session}\n`)
      }),
    )

  conn(job.command('result').argument('<jobId>'))
    .description('download the verified result (e.g. the trained model) and check it against the committed hash')
    .requiredOption('--out <file>', 'where to write the result blob')
    .action(
      action(async (id: string, o: ConnOpts & { out: string }) => {
        const { chain, market } = await connect(o)
        const j = await market.job(id as Hex)
        if (!j) throw new JobError('NO_JOB', `no job ${id}`)
        if (j.status !== 'accepted') throw new JobError('NOT_ACCEPTED', `job ${id} is ${j.status}: only an accepted job has a verified result`)
        const s = (await market.session(j.session))!
        const bytes = await download(chain, market, s.result.resultHash, s.worker)
        await writeFile(o.out, bytes)
        print(o.json, { jobId: id, resultHash: s.result.resultHash, bytes: bytes.length, out: o.out }, `${o.out}: ${bytes.length} bytes, hash ${s.result.resultHash} (as committed and verified)\n`)
      }),
    )

  conn(job.command('list'))
    .description("the sender's jobs (or another client's, or the open ones)")
    .option('--client <address>', 'jobs of this client')
    .option('--open', 'jobs waiting for a worker')
    .action(
      action(async (o: ConnOpts & { client?: string; open?: boolean }) => {
        const { chain } = await connect(o)
        const jobs = await chain.rpc.request<{ jobId: string; status: string; price: string; specHash: string }[]>('pov_listJobs', [o.open ? {} : { client: o.client ?? chain.from }])
        print(o.json, { jobs }, jobs.map((j) => `${j.jobId}  ${j.status.padEnd(9)} ${roundedCoins(BigInt(j.price))} coins  spec ${j.specHash}\n`).join('') || '(no jobs)\n')
      }),
    )

  conn(job.command('estimate').argument('<spec>', 'job spec (JSON)'))
    .description('compute units of a spec and its price at recent prices per unit')
    .option('--dataset <file>', "the spec's dataset blob, when it is not bundled")
    .option('--model <file>', "the spec's model blob (infer jobs)")
    .option('--units <n>', "compute units of the job (needed for an image's own workload, which this node cannot count)", unitsFlag)
    .action(
      action(async (specPath: string, o: ConnOpts & { dataset?: string; model?: string; units?: bigint }) => {
        const spec = await readSpec(specPath)
        const mode = jobVerification(spec)
        const inputs = await localInputs(spec, o)
        const units = jobUnits(spec, inputs, o.units)
        const verification = verificationCost(spec, inputs)
        const { market } = await connect(o)
        const [unitPrice, price] = await Promise.all([market.unitPrice(), modePrice(market, units, mode)])
        // What the registered workers that could run it ask: the cheapest k set the floor of a price they all take.
        const asks = await askedPrices(market, jobNeeds(spec), mode)
        const floor = asks.length >= mode.replicas ? asks[mode.replicas - 1]! * units * BigInt(mode.replicas) : undefined
        const times = mode.replicas > 1 ? ` × ${mode.replicas} workers (${spec.verification.mode})` : ''
        print(
          o.json,
          { specHash: jobSpecHash(spec), units: units.toString(), unitPrice: unitPrice.toString(), mode: spec.verification.mode, replicas: mode.replicas, price: price.toString(), workerFloor: floor?.toString() ?? null, verification: verification ? { ...verification, why: describeVerificationCost(verification) } : null },
          `${units} compute units × ${roundedCoins(unitPrice)} coins${times} ≈ ${roundedCoins(price)} coins${floor !== undefined ? `; the cheapest capable workers take it from ${roundedCoins(floor)} coins` : ''}\n${verification ? describeVerificationCost(verification) + '\n' : ''}`,
        )
      }),
    )

  for (const [name, fn, what] of [
    ['cancel', 'cancel', 'take back a job no worker has started'],
    ['refund', 'refund', 'return the escrow of an open job whose deadline can no longer be met'],
  ] as const)
    conn(job.command(name).argument('<jobId>'))
      .description(what)
      .action(
        action(async (id: string, o: ConnOpts) => {
          const { chain } = await connect(o)
          const r = await chain.send(WORK_MARKET_ADDRESS, encodeMarketCall(fn, [id]))
          print(o.json, { jobId: id, tx: r.hash }, `${name}: ${r.hash}\n`)
        }),
      )

  conn(job.command('rate').argument('<jobId>').argument('<stars>', '1 … 5'))
    .description("rate the worker of one of your accepted jobs (once)")
    .action(
      action(async (id: string, stars: string, o: ConnOpts) => {
        const { chain } = await connect(o)
        const r = await chain.send(WORK_MARKET_ADDRESS, encodeMarketCall('rateWorker', [id, Number(stars)]))
        print(o.json, { jobId: id, stars: Number(stars), tx: r.hash }, `rated: ${r.hash}\n`)
      }),
    )
  return job
}
