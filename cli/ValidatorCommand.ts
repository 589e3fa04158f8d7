import type { Command } from 'commander'
import { decodeErrorResult, decodeFunctionResult, encodeFunctionData, isAddress, parseEther, type Abi, type Address, type Hex } from 'viem'
import { roundedCoins, roundedUpCoins } from '../common/CoinAmount.js'
import { JsonRpcClient, JsonRpcError } from '../bridge/JsonRpcClient.js'
import type { WorkerCapacity } from '../compute/worker/WorkerCapacity.js'
import { JobError } from '../market/client/JobError.js'
import { RpcMarketChain } from '../market/client/RpcMarketChain.js'
import { encodeMarketCall, WorkMarketReader, type MarketDrawStanding, type MarketEviction, type MarketWorker } from '../market/client/WorkMarketReader.js'
import { WORK_MARKET_ADDRESS } from '../genesis/WorkMarketGenesis.js'
import { describeOffers } from '../market/client/JobEstimate.js'
import { validatorSetAbi } from '../genesis/ValidatorSetGenesis.js'
import { VALIDATOR_SET } from '../node/PovContractReader.js'
import { cliAction, cliPrinter, processCliIo, withChainOptions, type ChainCommandOptions, type CliIo } from './ChainCliCommand.js'
import { loadSigningKey } from './CliSigningKey.js'

/** What `validator status` and `worker status` read from the ValidatorSet contract and the node. */
export interface ValidatorStatus {
  address: Address
  bonded: bigint
  unbonding: bigint
  releaseEpoch: bigint
  withdrawable: bigint
  jailed: boolean
  jailedUntil: bigint
  /** Live weight: the decayed sum of the node's receipt credits (ValidatorSet.weightOf). */
  liveWeight: bigint
  /** Weight in the current epoch's set (0: not elected this epoch). */
  epochWeight: bigint
  epoch: bigint
  /** Share of the current epoch's set weight, 0 … 1. */
  share: number
  minBond: bigint
  unbondingEpochs: bigint
}

interface ValidatorOpts extends ChainCommandOptions {
  amount?: string
  all?: boolean
}

/** A ValidatorSet revert, by name and meaning: `ValidatorSet: InsufficientBond(5, 2) — …`. */
function describeValidatorRevert(e: unknown): Error {
  const data = e instanceof JsonRpcError ? (e.data as Hex | undefined) : undefined
  if (typeof data === 'string' && data.length >= 10) {
    try {
      const r = decodeErrorResult({ abi: validatorSetAbi(), data })
      const args = (r.args ?? []).map((a) => (typeof a === 'bigint' ? a.toString() : String(a)))
      return new JobError('REVERTED', `ValidatorSet: ${r.errorName}(${args.join(', ')})${VALIDATOR_ERROR_HINTS[r.errorName] ? ` — ${VALIDATOR_ERROR_HINTS[r.errorName]}` : ''}`)
    } catch {
      // not one of ours: fall through
    }
  }
  return e as Error
}

const VALIDATOR_ERROR_HINTS: Record<string, string> = {
  ZeroAmount: 'the amount must be more than 0',
  InsufficientBond: 'you asked to unbond more than is bonded (see `povchain validator status`)',
  NothingToWithdraw: 'nothing has matured yet: unbonded coins become withdrawable after the unbonding epochs (see `povchain validator status`)',
}

async function connect(o: ChainCommandOptions): Promise<RpcMarketChain> {
  const key = await loadSigningKey(o)
  return RpcMarketChain.connect(o.rpc, { ...(key ? { key } : {}), ...(o.from ? { from: o.from as Address } : {}) })
}

async function read<T>(chain: RpcMarketChain, functionName: string, args: readonly unknown[] = []): Promise<T> {
  const abi: Abi = validatorSetAbi()
  const data = await chain.call(VALIDATOR_SET, encodeFunctionData({ abi, functionName, args } as never))
  if (data === '0x') throw new JobError('NO_VALIDATOR_SET', `no ValidatorSet at ${VALIDATOR_SET}: this chain runs a fixed producer list (authority), not Proof of Value`)
  return decodeFunctionResult({ abi, functionName, data } as never) as T
}

export async function readValidatorStatus(chain: RpcMarketChain, who: Address): Promise<ValidatorStatus> {
  const [stake, jailed, live, cfg, weight, set] = await Promise.all([
    read<readonly [bigint, bigint, bigint, bigint, bigint]>(chain, 'stakeOf', [who]),
    read<boolean>(chain, 'isJailed', [who]),
    read<bigint>(chain, 'weightOf', [who]),
    read<{ minBond: bigint; unbondingEpochs: bigint }>(chain, 'config'),
    chain.rpc.request<{ epoch: Hex; epochWeight: Hex }>('pov_getWeight', [who]),
    chain.rpc.request<{ totalWeight: Hex }>('pov_getValidators', []),
  ])
  const epochWeight = BigInt(weight.epochWeight)
  const total = BigInt(set.totalWeight)
  return {
    address: who,
    bonded: stake[0],
    unbonding: stake[1],
    releaseEpoch: stake[2],
    withdrawable: stake[3],
    jailedUntil: stake[4],
    jailed,
    liveWeight: live,
    epochWeight,
    epoch: BigInt(weight.epoch),
    share: total > 0n ? Number((epochWeight * 1_000_000n) / total) / 1_000_000 : 0,
    minBond: cfg.minBond,
    unbondingEpochs: BigInt(cfg.unbondingEpochs),
  }
}


export function describeValidatorStatus(s: ValidatorStatus): string {
  const eligible = s.bonded >= s.minBond
  const lines = [
    `${s.address}`,
    `  bonded         ${roundedCoins(s.bonded)} coins${eligible ? '' : ` — below the minimum bond of ${roundedCoins(s.minBond)} coins: not electable`}`,
    `  unbonding      ${roundedCoins(s.unbonding)} coins${s.unbonding > 0n ? ` (withdrawable after epoch ${s.releaseEpoch})` : ''}`,
    `  withdrawable   ${roundedCoins(s.withdrawable)} coins${s.withdrawable > 0n ? ' — `povchain validator withdraw`' : ''}`,
    `  live weight    ${s.liveWeight} (credits of accepted work receipts, decaying over the weight window)`,
    `  epoch ${s.epoch}${' '.repeat(Math.max(1, 9 - String(s.epoch).length))}${s.epochWeight > 0n ? `elected, weight ${s.epochWeight} = ${(s.share * 100).toFixed(2)} % of the set: leads about that share of slots` : 'not in this epoch’s set'}`,
    s.jailed ? `  JAILED         until epoch ${s.jailedUntil} (a proven offence); not electable until then` : '',
  ]
  return lines.filter(Boolean).join('\n') + '\n'
}

function amountOf(o: ValidatorOpts, what: string): bigint {
  if (!o.amount) throw new JobError('USAGE', `${what}: give --amount COINS (e.g. --amount 10)`)
  let v: bigint
  try {
    v = parseEther(o.amount)
  } catch {
    throw new JobError('USAGE', `--amount ${o.amount}: not a number of coins`)
  }
  if (v <= 0n) throw new JobError('USAGE', '--amount must be more than 0')
  return v
}

function addressArg(a: string | undefined, chain: RpcMarketChain): Address {
  if (a === undefined) return chain.from
  if (!isAddress(a)) throw new JobError('USAGE', `${a} is not an address (0x followed by 40 hex digits)`)
  return a
}

/**
 * `povchain validator bond|unbond|withdraw|status` and `povchain worker status|withdraw`: the
 * ValidatorSet's bond life cycle without hand-written `cast send … bond()`, and what a node's
 * verified work weighs.
 */
export function registerValidatorCommands(program: Command, io: CliIo = processCliIo()): void {
  const act = cliAction(io)
  const print = cliPrinter(io)
  const conn = (c: Command) => withChainOptions(c)
  const validator = program.command('validator').description('bond coins to become electable as a block producer, unbond, withdraw, and see your standing')

  // One connection per command: a keystore without --password would otherwise be asked for twice.
  const send = async (chain: RpcMarketChain, functionName: string, args: readonly unknown[], value: bigint, done: (chain: RpcMarketChain, hash: Hex, block: bigint) => Promise<void>) => {
    const data = encodeFunctionData({ abi: validatorSetAbi(), functionName, args } as never)
    // Dry-run first: a revert is explained by name and costs no gas.
    try {
      await chain.rpc.request<Hex>('eth_call', [{ from: chain.from, to: VALIDATOR_SET, data, value: `0x${value.toString(16)}` }, 'pending'])
    } catch (e) {
      throw describeValidatorRevert(e)
    }
    const r = await chain.send(VALIDATOR_SET, data, { value, gas: 500_000n }).catch((e: unknown) => {
      throw describeValidatorRevert(e)
    })
    await done(chain, r.hash, r.blockNumber)
  }

  conn(validator.command('bond').description('add coins to your bond (at least the minimum bond makes you electable once you have work receipts)'))
    .option('--amount <coins>', 'coins to bond')
    .action(
      act(async (o: ValidatorOpts) => {
        const amount = amountOf(o, 'bond')
        await send(await connect(o), 'bond', [], amount, async (chain, hash, block) => {
          const s = await readValidatorStatus(chain, chain.from)
          print(o.json, { tx: hash, block, amount, status: s }, `bonded ${roundedCoins(amount)} coins from ${chain.from} in block ${block} (tx ${hash})\n` + describeValidatorStatus(s))
        })
      }),
    )

  conn(validator.command('unbond').description('start unbonding coins: they stay slashable and become withdrawable after the unbonding epochs'))
    .option('--amount <coins>', 'coins to unbond')
    .option('--all', 'unbond the whole bond')
    .action(
      act(async (o: ValidatorOpts) => {
        const amount = o.all ? undefined : amountOf(o, 'unbond')
        const chain = await connect(o)
        const all = amount ?? (await readValidatorStatus(chain, chain.from)).bonded
        if (all === 0n) throw new JobError('USAGE', `${chain.from} has no bond to unbond`)
        await send(chain, 'requestUnbond', [all], 0n, async (chain, hash, block) => {
          const s = await readValidatorStatus(chain, chain.from)
          print(o.json, { tx: hash, block, amount: all, status: s }, `unbonding ${roundedCoins(all)} coins of ${chain.from} (block ${block}, tx ${hash}); withdrawable after epoch ${s.releaseEpoch}\n` + describeValidatorStatus(s))
        })
      }),
    )

  conn(validator.command('withdraw').description('pay out matured unbonds, rewards and reporter shares to your account'))
    .action(
      act(async (o: ValidatorOpts) => {
        const chain = await connect(o)
        const { withdrawable } = await readValidatorStatus(chain, chain.from)
        await send(chain, 'withdraw', [], 0n, async (chain, hash, block) => {
          print(o.json, { tx: hash, block, amount: withdrawable }, `withdrew ${roundedCoins(withdrawable)} coins to ${chain.from} in block ${block} (tx ${hash})\n`)
        })
      }),
    )

  conn(validator.command('status').argument('[address]', 'validator (default: the signing account)').description('bond, unbonding, withdrawable, weight and share of the current set'))
    .action(
      act(async (address: string | undefined, o: ValidatorOpts) => {
        const chain = await connect(o)
        const s = await readValidatorStatus(chain, addressArg(address, chain))
        print(o.json, { status: s }, describeValidatorStatus(s))
      }),
    )

  const worker = program.command('worker').description('a worker node’s standing in the WorkMarket')
  conn(worker.command('status').argument('[address]', 'worker (default: the signing account)').description('registration, bond, draw weight, earned slots, measured capacity, duties, accepted receipts and the producer weight they earned'))
    .action(
      act(async (address: string | undefined, o: ValidatorOpts) => {
        const chain = await connect(o)
        const who = addressArg(address, chain)
        const market = new WorkMarketReader(chain)
        const [w, duties, receipts, v, draw, eviction, cfg, credited] = await Promise.all([
          market.worker(who),
          market.duties(who),
          market.receiptsOf(who),
          readValidatorStatus(chain, who),
          market.drawStanding(who),
          market.evictionOf(who),
          market.config(),
          market.read<bigint>('credits', [who]),
        ])
        const accepted = receipts.filter((r) => r.status === 'accepted')
        const earned = accepted.reduce((s, r) => s + r.value, 0n)
        const displaced = !w.registered && eviction.at > 0n && eviction.at >= w.registeredAt
        const bondToEnter = w.registered ? undefined : await market.bondToEnter(who)
        const text =
          `${who}\n` +
          (w.registered ? describeRegistered(w, draw, cfg) : describeUnregistered(w, displaced ? eviction : undefined, bondToEnter!)) +
          (credited > 0n ? `  credited       ${roundedCoins(credited)} coins owed by the WorkMarket — the node's worker withdraws them, or \`povchain worker withdraw\`\n` : '') +
          `  duties         ${duties.working.length} session(s) working, ${duties.verifying.length} verifying\n` +
          `  receipts       ${accepted.length} accepted of ${receipts.length}, ${roundedCoins(earned)} coins of work\n` +
          `  weight         ${v.liveWeight} live; ${v.epochWeight > 0n ? `${(v.share * 100).toFixed(2)} % of epoch ${v.epoch}'s set` : `not in epoch ${v.epoch}'s set`}` +
          `${v.bonded < v.minBond ? ` — bond ${roundedCoins(v.minBond)} coins with \`povchain validator bond\` to be electable` : ''}\n`
        print(
          o.json,
          {
            worker: { ...w, duties, receipts: { accepted: accepted.length, total: receipts.length, value: earned }, draw, credited, ...(displaced ? { eviction } : {}), ...(bondToEnter !== undefined ? { bondToEnter } : {}) },
            validator: v,
          },
          text,
        )
      }),
    )

  worker
    .command('capacity')
    .description('what the node\'s own worker can run: compute units/s, runtimes, GPUs (model, memory) and the images its engine holds (pov_workerCapacity)')
    .option('--rpc <url>', 'JSON-RPC endpoint of the worker node', 'http://127.0.0.1:8545')
    .option('--json', 'one JSON object')
    .action(
      act(async (o: { rpc: string; json?: boolean }) => {
        const c = await new JsonRpcClient({ url: o.rpc }).request<WorkerCapacity | null>('pov_workerCapacity')
        if (!c) throw new JobError('NO_WORKER', `the node at ${o.rpc} runs no worker (start it with --worker)`)
        const gpus = c.gpus.length ? c.gpus.map((g) => `${g.model}, ${g.memoryMb} MiB`).join('; ') : 'none (no nvidia-smi, or it lists no GPU)'
        print(
          o.json,
          { capacity: c },
          `compute units/s  ${c.computeUnitsPerSec}\nruntimes         ${c.runtimes.join(', ')}\ngpus             ${gpus}\nimages           ${c.images.length ? c.images.join('\n                 ') : 'none recorded'}\n`,
        )
      }),
    )

  conn(worker.command('withdraw').description('pay out what the WorkMarket credited to your account (a displaced worker’s bond, payments whose transfer failed)'))
    .action(
      act(async (o: ValidatorOpts) => {
        const chain = await connect(o)
        const amount = await new WorkMarketReader(chain).read<bigint>('credits', [chain.from])
        if (amount === 0n) throw new JobError('NOTHING_TO_WITHDRAW', `the WorkMarket owes ${chain.from} nothing (see \`povchain worker status\`)`)
        const data = encodeMarketCall('withdraw')
        await chain.check(WORK_MARKET_ADDRESS, data)
        const r = await chain.send(WORK_MARKET_ADDRESS, data)
        print(o.json, { tx: r.hash, block: r.blockNumber, amount }, `withdrew ${roundedCoins(amount)} coins from the WorkMarket to ${chain.from} in block ${r.blockNumber} (tx ${r.hash})\n`)
      }),
    )
}

const pct = (part: bigint, whole: bigint) => (whole > 0n ? `${(Number((part * 1_000_000n) / whole) / 10_000).toFixed(2)} %` : '0 %')

/** The registered worker's lines of `worker status`: what the draws make of it. */
export function describeRegistered(w: MarketWorker, draw: MarketDrawStanding, cfg: { faultPenalty: bigint; verifierBondRatio: number }): string {
  // Verifier draws need free bond ≥ max(wrongVotePenalty(price) ≥ faultPenalty, ratio × price).
  const maxPrice = draw.freeBond < cfg.faultPenalty ? undefined : draw.freeBond / BigInt(Math.max(1, cfg.verifierBondRatio))
  return (
    `  registered     yes${w.exitAt > 0n ? ` — leaving (exit at ${w.exitAt})` : ''}, offers ${describeOffers(w.offers)}, ${w.successes} jobs done, ${w.failures} failed, ${w.verifications} verifications\n` +
    `  bond           ${roundedCoins(w.bond)} coins in the WorkMarket; ${roundedCoins(draw.freeBond)} free (${roundedCoins(w.locked)} held for pending votes)\n` +
    `  rating         ${w.rating}\n` +
    `  draw weight    bond × rating = ${pct(draw.weight, draw.total)} of the registry's${draw.weight === 0n ? ' — not drawn (leaving or below the minimum bond)' : ''}\n` +
    `  slots          ${draw.slots} of ${w.slots} declared (${w.timely} timely accepted sessions; one more slot per 4, halved by each session not delivered)\n` +
    `  capacity       ${w.measuredCapacity > 0n ? `${(Number(w.measuredCapacity) / 1000).toFixed(2)} units/s measured` : 'not measured yet'} (declared ${w.capacity}: the draws use neither)\n` +
    `  verifies       ${maxPrice === undefined ? 'nothing now: free bond below the fault penalty' : `jobs up to ${roundedCoins(maxPrice)} coins (free bond ≥ ${cfg.verifierBondRatio} × the price)`}\n`
  )
}

/** An unregistered worker's line: never registered, left, or displaced from the full registry (and why). */
export function describeUnregistered(w: MarketWorker, eviction: MarketEviction | undefined, bondToEnter: bigint): string {
  const enter = bondToEnter === 2n ** 256n - 1n ? 'the registry is full and every worker in it has pending work: nobody can be displaced now' : `registering takes a bond of at least ${roundedUpCoins(bondToEnter)} coins now`
  if (eviction)
    return (
      `  registered     no — displaced from the full registry at ${new Date(Number(eviction.at) * 1000).toISOString()} by ${eviction.by}: its bond × rating beat yours by over 10 %\n` +
      `                (${roundedCoins(eviction.newcomerStanding)} against ${roundedCoins(eviction.standing)} coins × rating points); your whole bond of ${roundedCoins(eviction.bond)} coins was credited to you\n` +
      `  to re-enter    ${enter} (--worker.bond)\n`
    )
  if (w.registeredAt > 0n) return `  registered     no — left the market; ${enter}\n`
  return `  registered     no — run a node with --worker to register (see README: becoming a worker); ${enter}\n`
}
