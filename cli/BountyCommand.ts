import type { Command } from 'commander'
import { formatUnits, parseEther, parseUnits, type Address, type Hex } from 'viem'
import { roundedCoins } from '../common/CoinAmount.js'
import { bytesToHex } from '../common/bytes.js'
import { loadSigningKey } from './CliSigningKey.js'
import { AssetClient } from '../market/assets/AssetClient.js'
import { AssetError } from '../market/assets/AssetError.js'
import type { AssetCliContext, AssetCliIo } from './AssetCommand.js'
import { decodeMetadataUri } from '../market/assets/AssetMetadata.js'
import { BOUNTY_RULES, type RegisteredBounty } from '../market/assets/AssetRegistryReader.js'
import { acceptedMetrics, postEvaluationJob } from '../market/assets/BountyEvaluationJob.js'
import { cliAction, cliPrinter, processCliIo, withChainOptions, type ChainCommandOptions, type CliIo } from './ChainCliCommand.js'

type ConnOpts = ChainCommandOptions

const NO_JOB = `0x${'0'.repeat(64)}`

async function connect(o: ConnOpts): Promise<AssetClient> {
  const key = await loadSigningKey(o)
  return AssetClient.connect(o.rpc, { ...(key ? { key } : {}), ...(o.from ? { from: o.from as Address } : {}) })
}

const positive = (s: string, what: string): bigint => {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(s)) throw new AssetError('BAD_ID', `${what} must be a non-negative integer, got ${s}`)
  return BigInt(s)
}

async function bountyOf(c: AssetClient, id: bigint): Promise<RegisteredBounty> {
  const b = await c.registry.bounty(id)
  if (!b) throw new AssetError('NO_BOUNTY', `no bounty ${id}`)
  return b
}

/** "0.9" → 900000 ppm (accuracy as a fraction of 1, up to 6 decimals). */
function accuracyPpm(s: string): bigint {
  if (!/^(0|1)(\.[0-9]{1,6})?$/.test(s) || Number(s) > 1) throw new AssetError('BAD_OPTION', `--accuracy must be a fraction between 0 and 1 with at most 6 decimals (e.g. 0.9), got ${s}`)
  return parseUnits(s, 6)
}

/**
 * `povchain bounty …`: bounties for models that reach an accuracy on a closed held-out dataset,
 * judged by verified WorkMarket inference jobs (genesis/contracts/AssetRegistry.md, Bounties).
 * post (the dataset's owner escrows the prize), submit (a model's owner submits it and posts its
 * evaluation job, linked to the submission), job (another evaluation job for a submission, e.g.
 * after a refund), evaluate (once the job is accepted: its committed metrics decide), status
 * (pov_getBounty; --evaluate submits every accepted evaluation), settle (after the window).
 */
export function registerBountyCommands(program: Command, ctx: AssetCliContext): Command {
  const io: AssetCliIo = ctx.io ?? processCliIo()
  const action = cliAction(io)
  const print = cliPrinter(io)
  const conn = withChainOptions

  const bounty = program.command('bounty').description('bounties for models that reach an accuracy on a closed held-out dataset, judged by verified inference jobs')

  conn(bounty.command('post'))
    .description('offer a prize (escrowed) for a model reaching an accuracy on your closed dataset')
    .requiredOption('--dataset <id>', 'the closed dataset asset holding the held-out data (you must own it)')
    .requiredOption('--accuracy <fraction>', 'passing accuracy, e.g. 0.9')
    .requiredOption('--prize <coins>', 'the prize, escrowed in the registry')
    .option('--rule <rule>', 'first (the first passing evaluation wins at once) or best (the best wins at settlement)', 'first')
    .option('--blocks <n>', 'submissions are open for this many blocks', '1000')
    .option('--input-hash <hash>', "the dataset hash evaluation specs name (default: the dataset metadata's plaintextHash)")
    .action(
      action(async (o: ConnOpts & { dataset: string; accuracy: string; prize: string; rule: string; blocks: string; inputHash?: string }) => {
        const c = await connect(o)
        const datasetId = positive(o.dataset, '--dataset')
        const rule = BOUNTY_RULES.indexOf(o.rule as (typeof BOUNTY_RULES)[number])
        if (rule < 0) throw new AssetError('BAD_OPTION', `--rule must be one of ${BOUNTY_RULES.join(', ')}`)
        const ds = await c.registry.asset(datasetId)
        if (!ds) throw new AssetError('NO_ASSET', `no asset ${datasetId}`)
        let inputHash = o.inputHash as Hex | undefined
        if (!inputHash) {
          const meta = decodeMetadataUri(ds.uri, ds.metadataHash)
          if (!meta?.plaintextHash) throw new AssetError('NO_INPUT_HASH', `asset ${datasetId}'s metadata names no plaintextHash: pass --input-hash (the hash workers read the held-out data by)`)
          inputHash = meta.plaintextHash
        }
        if (!/^0x[0-9a-fA-F]{64}$/.test(inputHash)) throw new AssetError('BAD_OPTION', `--input-hash must be a 32-byte 0x-hex hash`)
        const threshold = accuracyPpm(o.accuracy)
        const prize = parseEther(o.prize)
        const head = await c.chain.head()
        const deadline = head.number + positive(o.blocks, '--blocks')
        const r = await c.send('postBounty', [datasetId, inputHash.toLowerCase(), threshold, rule, deadline], prize)
        const id = await c.registry.read<bigint>('bountyCount')
        print(o.json, { bountyId: id.toString(), datasetId: datasetId.toString(), inputHash: inputHash.toLowerCase(), threshold: threshold.toString(), rule: BOUNTY_RULES[rule], deadline: deadline.toString(), prize: prize.toString(), tx: r.hash }, `bounty ${id}: ${roundedCoins(prize)} coins for accuracy ≥ ${o.accuracy} on dataset ${datasetId} (rule ${BOUNTY_RULES[rule]}, submissions until block ${deadline})\n`)
      }),
    )

  const jobOptions = (cmd: Command) =>
    cmd
      .option('--price <coins>', 'the evaluation job price (default: the market estimate)')
      .option('--units <n>', 'compute units of the evaluation job (default: estimated from the model and the dataset size)')

  const postJob = async (c: AssetClient, b: RegisteredBounty, index: number, o: { price?: string; units?: string }) =>
    postEvaluationJob(c, b, index, { ...(o.price ? { price: parseEther(o.price) } : {}), ...(o.units ? { units: positive(o.units, '--units') } : {}) })

  conn(jobOptions(bounty.command('submit').argument('<bountyId>')))
    .description('submit one of your models and post its evaluation job (an mlp-infer job on the held-out data, linked to the submission)')
    .requiredOption('--model <id>', 'your model asset (free or paid)')
    .option('--no-job', 'only submit; post the evaluation job later with `bounty job`')
    .action(
      action(async (idArg: string, o: ConnOpts & { model: string; job: boolean; price?: string; units?: string }) => {
        const c = await connect(o)
        const id = positive(idArg, 'the bounty id')
        const modelId = positive(o.model, '--model')
        const r = await c.send('submit', [id, modelId])
        const b = await bountyOf(c, id)
        const index = b.submissions.map((s) => s.modelId === modelId && s.submitter === c.from).lastIndexOf(true)
        const job = o.job ? await postJob(c, b, index, o) : undefined
        print(
          o.json,
          { bountyId: id.toString(), index, modelId: modelId.toString(), tx: r.hash, ...(job ? { jobId: job.jobId, specHash: job.specHash, price: job.price.toString(), units: job.units.toString() } : {}) },
          `bounty ${id}: model ${modelId} is submission ${index}${job ? `; evaluation job ${job.jobId}` : ''}\n`,
        )
      }),
    )

  conn(jobOptions(bounty.command('job').argument('<bountyId>').argument('<index>')))
    .description('post another evaluation job for a submission (e.g. after the last one was refunded)')
    .action(
      action(async (idArg: string, indexArg: string, o: ConnOpts & { price?: string; units?: string }) => {
        const c = await connect(o)
        const b = await bountyOf(c, positive(idArg, 'the bounty id'))
        const job = await postJob(c, b, Number(positive(indexArg, 'the index')), o)
        print(o.json, { bountyId: b.id.toString(), index: Number(indexArg), jobId: job.jobId, specHash: job.specHash, price: job.price.toString() }, `bounty ${b.id}: evaluation job ${job.jobId} for submission ${indexArg}\n`)
      }),
    )

  /** Submits the accepted metrics of submission `index`'s evaluation job. */
  const evaluate = async (c: AssetClient, b: RegisteredBounty, index: number) => {
    const sub = b.submissions[index]
    if (!sub) throw new AssetError('NO_SUBMISSION', `bounty ${b.id} has no submission ${index}`)
    if (sub.evaluated) throw new AssetError('ALREADY_EVALUATED', `submission ${index} of bounty ${b.id} was evaluated: accuracy ${formatUnits(sub.metric, 6)}`)
    if (sub.jobId === NO_JOB) throw new AssetError('NO_EVALUATION_JOB', `submission ${index} of bounty ${b.id} has no evaluation job: post one with \`povchain bounty job ${b.id} ${index}\``)
    const m = await acceptedMetrics(c, sub.jobId)
    const r = await c.send('evaluate', [sub.jobId, bytesToHex(m.bytes)])
    const after = await bountyOf(c, b.id)
    const metric = after.submissions[index]!.metric
    return { index, jobId: sub.jobId, metric, accuracy: Number(metric) / 1e6, passed: metric >= b.threshold, won: after.settled && after.winner === index, metrics: m.metrics, tx: r.hash }
  }

  conn(bounty.command('evaluate').argument('<bountyId>').argument('<index>'))
    .description("once a submission's evaluation job is accepted: submit its committed metrics (anyone may); rule first pays a passing one at once")
    .action(
      action(async (idArg: string, indexArg: string, o: ConnOpts) => {
        const c = await connect(o)
        const b = await bountyOf(c, positive(idArg, 'the bounty id'))
        const e = await evaluate(c, b, Number(positive(indexArg, 'the index')))
        print(o.json, e, `bounty ${b.id}, submission ${e.index}: accuracy ${formatUnits(e.metric, 6)} — ${e.passed ? 'passes' : 'fails'}${e.won ? '; the prize is paid' : ''}\n`)
      }),
    )

  conn(bounty.command('status').argument('<bountyId>'))
    .description('the bounty, its submissions, their evaluation jobs and metrics (pov_getBounty)')
    .option('--evaluate', 'first submit the metrics of every accepted, not yet evaluated submission (in order)')
    .action(
      action(async (idArg: string, o: ConnOpts & { evaluate?: boolean }) => {
        const c = await connect(o)
        const id = positive(idArg, 'the bounty id')
        const evaluated: { index: number; metric?: bigint; error?: string }[] = []
        if (o.evaluate) {
          const b = await bountyOf(c, id)
          for (const s of b.submissions) {
            if (s.evaluated || s.jobId === NO_JOB || (await c.registry.bounty(id))!.settled) continue
            try {
              evaluated.push(await evaluate(c, (await c.registry.bounty(id))!, s.index))
            } catch (e) {
              evaluated.push({ index: s.index, error: (e as Error).message })
            }
          }
        }
        const v = await c.chain.rpc.request<Record<string, unknown> | null>('pov_getBounty', [id.toString()])
        if (!v) throw new AssetError('NO_BOUNTY', `no bounty ${id}`)
        const subs = v.submissions as { index: number; modelId: string; evaluated: boolean; accuracy: number | null; job: { status: string } | null }[]
        print(
          o.json,
          { bounty: v, ...(o.evaluate ? { evaluated } : {}) },
          `bounty ${id}: ${v.state}, prize ${roundedCoins(BigInt(v.prize as string))} coins, accuracy ≥ ${v.thresholdAccuracy} on dataset ${BigInt(v.datasetId as string)}\n` +
            subs.map((s) => `  #${s.index} model ${BigInt(s.modelId)}: ${s.evaluated ? `accuracy ${s.accuracy}` : s.job ? `job ${s.job.status}` : 'no evaluation job'}\n`).join(''),
        )
      }),
    )

  conn(bounty.command('settle').argument('<bountyId>'))
    .description('after the evaluation window: pay the best passing submission (rule best), or refund the client')
    .action(
      action(async (idArg: string, o: ConnOpts) => {
        const c = await connect(o)
        const id = positive(idArg, 'the bounty id')
        const r = await c.send('settleBounty', [id])
        const b = await bountyOf(c, id)
        print(o.json, { bountyId: id.toString(), winner: b.winner ?? null, tx: r.hash }, b.winner !== undefined ? `bounty ${id}: submission ${b.winner} wins\n` : `bounty ${id}: refunded\n`)
      }),
    )
  return bounty
}
