/**
 * WorkMarket in an in-process EVM (the project's Common, Prague), deployed as genesis does (the
 * account funded first, then the constructor run at the fixed address). Every transaction is
 * its own block: number + 1, the clock + `blockTime`, a fresh PREVRANDAO; BLOCKHASH answers
 * keccak(number). Each block starts as consensus starts it: with the system call
 * `onBlock()` from SYSTEM_ADDRESS, which makes the draws due (their events come first in the
 * block's outcome); `mine(n)` seals blocks with nothing else in them. Calls carry no gas
 * price, so coins are conserved to the wei.
 */
import { Account, Address, createAddressFromString } from '@ethereumjs/util'
import { createVM, type VM } from '@ethereumjs/vm'
import { decodeErrorResult, decodeEventLog, decodeFunctionResult, encodeAbiParameters, encodeFunctionData, getAddress, keccak256, toHex, type Abi, type Address as Hex20, type Hex } from 'viem'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { bytesToHex, concatBytes, hexToBytes } from '../../common/bytes.js'
import { toEthjsBlock } from '../../vm/BlockExecutor.js'
import { loadContractArtifacts } from '../ContractArtifacts.js'
import { devWorkMarketConfig, encodeWorkMarketArgs, WORK_MARKET_ADDRESS, workMarketAbi, type GenesisReceipt, type WorkMarketConfig } from '../WorkMarketGenesis.js'

export const MARKET: Hex20 = WORK_MARKET_ADDRESS
export const ETHER = 10n ** 18n
export const ISSUER: Hex20 = getAddress('0x00000000000000000000000000000000000155ee')
/** Consensus's system calls come from here (vm/BlockExecutor.ts SYSTEM_ADDRESS). */
export const SYSTEM: Hex20 = getAddress('0xfffffffffffffffffffffffffffffffffffffffe')
/** WorkMarket.NO_SEGMENT: a vote that names no segment. */
export const NO_SEGMENT = 0xffff_ffff

/** WorkMarket.DRAW_DELAY: blocks from the act that calls for a draw to the block that makes it. */
export const DRAW_DELAY = 4

/** WorkMarket.SessionStatus, in the contract's order. */
export enum S {
  None,
  Assigned,
  Committed,
  Accepted,
  Rejected,
  Expired,
  Sealed,
  Revealed,
}

export const addr = (n: number): Hex20 => getAddress(`0x${(0xa0000 + n).toString(16).padStart(40, '0')}`)

export interface DecodedEvent {
  eventName: string
  args: Record<string, unknown>
}

export interface TxOutcome {
  ok: boolean
  /** The custom error's name (or 'Error' with a reason string, or the VM's exception). */
  error?: string
  errorArgs?: readonly unknown[]
  events: DecodedEvent[]
  returnValue: Hex
  /** Execution gas of the call (without the 21 k intrinsic); absent for a block's system call alone. */
  gasUsed?: bigint
}

/** Names of the custom errors transactions reverted with, over all harnesses (revert-path coverage). */
export const SEEN_ERRORS = new Set<string>()

export class MarketHarness {
  number = 1n
  timestamp = 1_000_000n
  blockTime = 2n
  /** When set, the next block's PREVRANDAO (otherwise keccak of the block number). */
  nextRandao?: Hex
  /** PREVRANDAO by block number, for blocks that should have a given one (otherwise keccak of the number). */
  readonly randaoAt = new Map<bigint, Hex>()
  /** The last block whose system call ran. */
  private systemBlock = 0n
  /** Gas the last system call used. */
  lastSystemGas = 0n
  /** Whether this market makes its draws in the system call (false for markets compiled before it did). */
  get hasDraws(): boolean {
    return (this.abi as unknown as { type: string; name?: string }[]).some((x) => x.type === 'function' && x.name === 'onBlock')
  }
  readonly abi: Abi = workMarketAbi()
  /** Every address that ever held coins here: conservation is checked over them. */
  readonly known = new Set<Hex20>([MARKET])
  /** Coins created by genesis (the fund) and by `give`: what all balances must add up to. */
  minted = 0n

  private constructor(
    readonly vm: VM,
    readonly config: WorkMarketConfig,
  ) {}

  /**
   * The dev market with longer windows. The tests price jobs at 1 coin against 2-coin bonds, so
   * verifiers need a free bond of 1 × the price here; the dev ratio (16) is played in
   * workmarket-registry.test.ts.
   */
  static defaultConfig(): WorkMarketConfig {
    return { ...devWorkMarketConfig(ISSUER), voteWindow: 100n, revealWindow: 100n, unbondDelay: 1000n, verifierBondRatio: 1 }
  }

  static async deploy(opts: { config?: Partial<WorkMarketConfig>; fund?: bigint; receipts?: GenesisReceipt[]; unchecked?: boolean } = {}): Promise<MarketHarness> {
    const common = createChainCommon(31337n)
    const shim = {
      async getBlock(n: number) {
        const h = hexToBytes(keccak256(toHex(BigInt(n))))
        return { hash: () => h }
      },
      async putBlock() {},
      shallowCopy: () => shim,
    }
    const vm = await createVM({ common, setHardfork: false, blockchain: shim as never })
    const config = { ...MarketHarness.defaultConfig(), ...opts.config }
    const h = new MarketHarness(vm, config)
    const art = loadContractArtifacts().get('WorkMarket')!
    const a = createAddressFromString(MARKET)
    h.minted = opts.fund ?? 100n * ETHER
    h.number = 0n // genesis
    await vm.stateManager.putAccount(a, new Account(1n, h.minted))
    const res = await vm.evm.runCode({
      code: concatBytes(art.bytecode, hexToBytes(encodeWorkMarketArgs(config, opts.receipts ?? [], { unchecked: opts.unchecked }))),
      to: a,
      caller: new Address(new Uint8Array(20)),
      gasLimit: 1_000_000_000n,
      block: h.block() as never,
    })
    if (res.exceptionError) {
      const e = h.decodeError(bytesToHex(res.returnValue) as Hex).error
      if (e) SEEN_ERRORS.add(e)
      throw new Error(`constructor reverted: ${e ?? res.exceptionError.error}`)
    }
    await vm.stateManager.putCode(a, res.returnValue)
    h.number = 1n
    return h
  }

  randao(): Hex {
    return this.nextRandao ?? this.randaoAt.get(this.number) ?? keccak256(toHex(this.number * 7919n))
  }

  private block(previous = false) {
    return toEthjsBlock(
      { number: previous ? this.number - 1n : this.number, timestamp: previous ? this.timestamp - this.blockTime : this.timestamp, gasLimit: 60_000_000n, baseFeePerGas: 0n, coinbase: new Uint8Array(20), mixHash: hexToBytes(this.randao()) },
      this.vm.common,
    )
  }

  /** Moves the clock (the next block is at least `seconds` later). */
  advance(seconds: bigint | number): void {
    this.timestamp += BigInt(seconds)
  }

  async give(a: Hex20, amount: bigint): Promise<void> {
    this.known.add(a)
    this.minted += amount
    const acct = (await this.vm.stateManager.getAccount(createAddressFromString(a))) ?? new Account()
    acct.balance += amount
    await this.vm.stateManager.putAccount(createAddressFromString(a), acct)
  }

  async balance(a: Hex20): Promise<bigint> {
    return (await this.vm.stateManager.getAccount(createAddressFromString(a)))?.balance ?? 0n
  }

  /** Sum of the balances of every address seen (conserved: no gas is charged). */
  async totalCoins(): Promise<bigint> {
    let s = 0n
    for (const a of this.known) s += await this.balance(a)
    return s
  }

  decodeError(data: Hex): { error?: string; args?: readonly unknown[] } {
    if (data === '0x') return {}
    try {
      const e = decodeErrorResult({ abi: this.abi, data })
      return { error: e.errorName, args: e.args }
    } catch {
      return { error: `unknown revert ${data.slice(0, 10)}` }
    }
  }

  private decodeLogs(logs: [Uint8Array, Uint8Array[], Uint8Array][] | undefined): DecodedEvent[] {
    const events: DecodedEvent[] = []
    for (const [address, topics, logData] of logs ?? []) {
      if (bytesToHex(address).toLowerCase() !== MARKET.toLowerCase()) continue
      const ev = decodeEventLog({ abi: this.abi, topics: topics.map((t) => bytesToHex(t)) as [Hex, ...Hex[]], data: bytesToHex(logData) as Hex })
      events.push({ eventName: String(ev.eventName), args: ev.args as unknown as Record<string, unknown> })
    }
    return events
  }

  /** The start of the current block: consensus's system call onBlock() (once per block). */
  async beginBlock(): Promise<DecodedEvent[]> {
    if (this.systemBlock === this.number || !this.hasDraws) return []
    this.systemBlock = this.number
    const r = await this.vm.evm.runCall({
      to: createAddressFromString(MARKET),
      caller: createAddressFromString(SYSTEM),
      origin: createAddressFromString(SYSTEM),
      data: hexToBytes(encodeFunctionData({ abi: this.abi, functionName: 'onBlock' } as never)),
      gasLimit: 30_000_000n,
      block: this.block() as never,
    })
    this.lastSystemGas = r.execResult.executionGasUsed
    if (r.execResult.exceptionError) throw new Error(`system call onBlock failed at block ${this.number}: ${this.decodeError(bytesToHex(r.execResult.returnValue) as Hex).error ?? r.execResult.exceptionError.error}`)
    return this.decodeLogs(r.execResult.logs as never)
  }

  /**
   * Seals `n` blocks that hold nothing but the system call — by default as many as it takes
   * until no draw waits (none when none does); their events.
   */
  async mine(n?: number): Promise<TxOutcome> {
    const events: DecodedEvent[] = []
    const seal = async () => {
      events.push(...(await this.beginBlock()))
      this.number++
      this.timestamp += this.blockTime
      this.nextRandao = undefined
    }
    if (n !== undefined || !this.hasDraws) for (let i = 0; i < (n ?? DRAW_DELAY); i++) await seal()
    else
      for (let due = await this.read<bigint>('nextDrawBlock'), sealed = 0; due !== 0n; due = await this.read<bigint>('nextDrawBlock')) {
        while (this.number <= due) await seal()
        if (++sealed > 64) throw new Error('draws still waiting after 64 rounds')
      }
    return { ok: true, events, returnValue: '0x' }
  }

  /** One transaction in its own block (`sameBlock`: in the previous transaction's block); the block's system-call events come first. */
  async tx(from: Hex20, functionName: string, args: readonly unknown[] = [], value = 0n, opts: { sameBlock?: boolean } = {}): Promise<TxOutcome> {
    this.known.add(from)
    const data = encodeFunctionData({ abi: this.abi, functionName, args } as never)
    const system = opts.sameBlock ? [] : await this.beginBlock()
    const r = await this.vm.evm.runCall({
      to: createAddressFromString(MARKET),
      caller: createAddressFromString(from),
      origin: createAddressFromString(from),
      value,
      data: hexToBytes(data),
      gasLimit: 30_000_000n,
      block: this.block(opts.sameBlock) as never,
    })
    if (!opts.sameBlock) {
      this.number++
      this.timestamp += this.blockTime
      this.nextRandao = undefined
    }
    const returnValue = bytesToHex(r.execResult.returnValue) as Hex
    if (r.execResult.exceptionError) {
      SEEN_ERRORS.add(this.decodeError(returnValue).error ?? '')
      const d = this.decodeError(returnValue)
      return { ok: false, error: d.error ?? r.execResult.exceptionError.error, errorArgs: d.args, events: system, returnValue, gasUsed: r.execResult.executionGasUsed }
    }
    return { ok: true, events: [...system, ...this.decodeLogs(r.execResult.logs as never)], returnValue, gasUsed: r.execResult.executionGasUsed }
  }

  /** Installs a contract at `at` from its creation code (constructor run there, as genesis does). */
  async install(at: Hex20, creationCode: Hex, balance = 0n): Promise<void> {
    const a = createAddressFromString(at)
    this.known.add(at)
    this.minted += balance
    await this.vm.stateManager.putAccount(a, new Account(1n, balance))
    const res = await this.vm.evm.runCode({ code: hexToBytes(creationCode), to: a, caller: new Address(new Uint8Array(20)), gasLimit: 100_000_000n, block: this.block() as never })
    if (res.exceptionError) throw new Error(`constructor of the contract at ${at} reverted`)
    await this.vm.stateManager.putCode(a, res.returnValue)
  }

  /** A transaction to any contract (its own block, after the block's system call); the market's events of it. */
  async txTo(from: Hex20, to: Hex20, data: Hex, value = 0n): Promise<TxOutcome & { gasUsed: bigint }> {
    this.known.add(from)
    const system = await this.beginBlock()
    const r = await this.vm.evm.runCall({
      to: createAddressFromString(to),
      caller: createAddressFromString(from),
      origin: createAddressFromString(from),
      value,
      data: hexToBytes(data),
      gasLimit: 30_000_000n,
      block: this.block() as never,
    })
    this.number++
    this.timestamp += this.blockTime
    this.nextRandao = undefined
    const returnValue = bytesToHex(r.execResult.returnValue) as Hex
    const gasUsed = r.execResult.executionGasUsed
    if (r.execResult.exceptionError) return { ok: false, error: r.execResult.exceptionError.error, events: system, returnValue, gasUsed }
    return { ok: true, events: [...system, ...this.decodeLogs(r.execResult.logs as never)], returnValue, gasUsed }
  }

  /**
   * A verdict without findings, as the node casts one: the commitment, and the reveal. An accept
   * declares the round's samplesDue (findingHash naming no segment, revealFinding): WorkMarket
   * refuses a plain revealVote accept (AcceptNeedsSample), since every accept answers for the
   * sample it declares. A reject is a plain vote (voteHash, revealVote).
   */
  async verdictHash(sessionId: Hex, round: number, verifier: Hex20, accept: boolean, salt: Hex): Promise<Hex> {
    if (!accept) return this.read<Hex>('voteHash', [sessionId, round, verifier, false, salt])
    const due = await this.read<bigint>('sessionSamplesDue', [sessionId])
    return this.read<Hex>('findingHash', [sessionId, round, verifier, true, NO_SEGMENT, due, salt])
  }

  /** Opens a vote committed with verdictHash (the same round: samplesDue is the round's). */
  async revealVerdict(verifier: Hex20, sessionId: Hex, accept: boolean, salt: Hex): Promise<TxOutcome> {
    if (!accept) return this.tx(verifier, 'revealVote', [sessionId, false, salt])
    const due = await this.read<bigint>('sessionSamplesDue', [sessionId])
    return this.tx(verifier, 'revealFinding', [sessionId, true, NO_SEGMENT, due, salt])
  }

  /** revealVerdict, which must succeed. */
  async mustRevealVerdict(verifier: Hex20, sessionId: Hex, accept: boolean, salt: Hex): Promise<TxOutcome> {
    const r = await this.revealVerdict(verifier, sessionId, accept, salt)
    if (!r.ok) throw new Error(`reveal of ${accept ? 'an accept' : 'a reject'} from ${verifier} reverted: ${r.error}(${(r.errorArgs ?? []).join(', ')})`)
    return r
  }

  /** A transaction that must succeed. */
  async must(from: Hex20, functionName: string, args: readonly unknown[] = [], value = 0n): Promise<TxOutcome> {
    const r = await this.tx(from, functionName, args, value)
    if (!r.ok) throw new Error(`${functionName} from ${from} reverted: ${r.error}(${(r.errorArgs ?? []).join(', ')})`)
    return r
  }

  /**
   * eth_call of raw calldata at the current block, on a throw-away copy of the state (the
   * node-side readers and checks, over this EVM); a revert throws its data as `revertData`.
   */
  call(data: Hex, opts: { from?: Hex20; value?: bigint } = {}): Promise<Hex> {
    // One at a time: concurrent readers (Promise.all) must not interleave checkpoints.
    const run = this.calls.then(() => this.callNow(data, opts))
    this.calls = run.catch(() => undefined)
    return run
  }

  private calls: Promise<unknown> = Promise.resolve()

  private async callNow(data: Hex, opts: { from?: Hex20; value?: bigint }): Promise<Hex> {
    const from = createAddressFromString(opts.from ?? addr(0))
    await this.vm.stateManager.checkpoint()
    try {
      const r = await this.vm.evm.runCall({ to: createAddressFromString(MARKET), caller: from, origin: from, value: opts.value ?? 0n, data: hexToBytes(data), gasLimit: 30_000_000n, block: this.block() as never })
      const out = bytesToHex(r.execResult.returnValue) as Hex
      if (r.execResult.exceptionError) throw Object.assign(new Error(`call ${data.slice(0, 10)} reverted`), { revertData: out })
      return out
    } finally {
      await this.vm.stateManager.revert()
    }
  }

  async read<T>(functionName: string, args: readonly unknown[] = []): Promise<T> {
    const data = encodeFunctionData({ abi: this.abi, functionName, args } as never)
    const r = await this.vm.evm.runCall({ to: createAddressFromString(MARKET), caller: createAddressFromString(addr(0)), data: hexToBytes(data), gasLimit: 100_000_000n, block: this.block() as never })
    if (r.execResult.exceptionError) throw new Error(`${functionName} reverted`)
    return decodeFunctionResult({ abi: this.abi, functionName, data: bytesToHex(r.execResult.returnValue) as Hex } as never) as T
  }

  /** The market's balance sheet; throws when the invariant does not hold. */
  async checkBooks(): Promise<{ escrow: bigint; bonds: bigint; fund: bigint; credits: bigint; balance: bigint }> {
    const [escrow, bonds, fund, credits, balance] = await this.read<readonly bigint[]>('accounting')
    if (escrow! + bonds! + fund! + credits! !== balance!) throw new Error(`books do not balance: escrow ${escrow} + bonds ${bonds} + fund ${fund} + credits ${credits} != balance ${balance}`)
    if ((await this.balance(MARKET)) !== balance) throw new Error('accounting().balance is not the account balance')
    return { escrow: escrow!, bonds: bonds!, fund: fund!, credits: credits!, balance: balance! }
  }

  static event(r: TxOutcome, name: string): Record<string, unknown> {
    const e = r.events.find((x) => x.eventName === name)
    if (!e) throw new Error(`no ${name} event among ${r.events.map((x) => x.eventName).join(', ')}`)
    return e.args
  }
}

/** A commitment whose hash matches what the contract recomputes (compute's commitmentHash). */
export function fakeCommitment(specHash: Hex, seed: number, fields: Partial<{ resultHash: Hex; checkpointCount: bigint; seal: Hex; metricsHash: Hex }> = {}) {
  const h = (s: string) => keccak256(toHex(`${s}-${seed}`))
  const c = {
    checkpointInterval: 10n,
    totalSteps: 100n,
    checkpointCount: fields.checkpointCount ?? 11n,
    checkpointRoot: h('root'),
    resultHash: fields.resultHash ?? h('result'),
    metricsHash: fields.metricsHash ?? h('metrics'),
    manifest: h('manifest'),
    seal: (fields.seal ?? h('seal')) as Hex,
    commitment: '0x' as Hex,
  }
  c.commitment = commitmentHashOf(specHash, c)
  return c
}

export function commitmentHashOf(specHash: Hex, c: { checkpointInterval: bigint; totalSteps: bigint; checkpointCount: bigint; checkpointRoot: Hex; resultHash: Hex; metricsHash: Hex }): Hex {
  const u64 = (n: bigint) => n.toString(16).padStart(16, '0')
  return keccak256(
    `0x${Buffer.from('povchain/session-commitment/v1').toString('hex')}00${specHash.slice(2)}${u64(c.checkpointInterval)}${u64(c.totalSteps)}${u64(c.checkpointCount)}${c.checkpointRoot.slice(2)}${c.resultHash.slice(2)}${c.metricsHash.slice(2)}`,
  )
}

/** The id the market gives the next job `client` posts with `specHash` (WorkMarket._newJob; chain id 31337). */
export async function nextJobId(h: MarketHarness, client: Hex20, specHash: Hex): Promise<Hex> {
  const nonce = await h.read<bigint>('jobNonce', [client])
  return keccak256(encodeAbiParameters([{ type: 'uint256' }, { type: 'address' }, { type: 'bytes32' }, { type: 'uint256' }], [31337n, client, specHash, nonce]))
}

/** The control issuer bonds `amount` (default: the minimum it needs to open claims). */
export async function bondIssuer(h: MarketHarness, amount?: bigint): Promise<bigint> {
  const value = amount ?? (await h.read<bigint>('issuerMinBond'))
  await h.give(ISSUER, value)
  await h.must(ISSUER, 'bondIssuer', [], value)
  return value
}
