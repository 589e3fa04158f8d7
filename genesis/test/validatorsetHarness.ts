/**
 * ValidatorSet and WorkMarket together in an in-process EVM (the project's Common, Prague) with
 * the node's evidence precompile (vm/EvidencePrecompile.ts) at EVIDENCE_PRECOMPILE, both
 * contracts deployed as genesis does (account funded, constructor run at the fixed address in
 * block 0). Every transaction is its own block (number + 1); `mine` skips blocks. Calls carry
 * no gas price, so coins are conserved to the wei.
 */
import { Account, Address, createAddressFromString } from '@ethereumjs/util'
import { createVM, type VM } from '@ethereumjs/vm'
import { decodeErrorResult, decodeEventLog, decodeFunctionResult, encodeFunctionData, getAddress, keccak256, toHex, type Abi, type Address as Hex20, type Hex } from 'viem'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { BlockHeader } from '../../chain/Header.js'
import { sealHeader } from '../../chain/Seal.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { bytesToHex, concatBytes, hexToBytes } from '../../common/bytes.js'
import { toEthjsBlock } from '../../vm/BlockExecutor.js'
import { EVIDENCE_PRECOMPILES } from '../../vm/EvidencePrecompile.js'
import { loadContractArtifacts } from '../ContractArtifacts.js'
import { encodeValidatorSetArgs, povGenesisValidators, SYSTEM_ADDRESS, VALIDATOR_SET_ADDRESS, validatorSetAbi, type GenesisValidator, type ValidatorSetConfig } from '../ValidatorSetGenesis.js'
import { devWorkMarketConfig, encodeWorkMarketArgs, WORK_MARKET_ADDRESS, workMarketAbi, type GenesisReceipt, type WorkMarketConfig } from '../WorkMarketGenesis.js'

export const VS: Hex20 = getAddress(VALIDATOR_SET_ADDRESS)
export const MARKET: Hex20 = getAddress(WORK_MARKET_ADDRESS)
export const SYSTEM: Hex20 = getAddress(SYSTEM_ADDRESS)
export const ETHER = 10n ** 18n
export const CHAIN_ID = 31337n

/** Deterministic test keys: key(i) = 32 bytes of (i + 1); `who(i)` is its address. */
export const key = (i: number): Uint8Array => new Uint8Array(32).fill(i + 1)
export const who = (i: number): Hex20 => getAddress(bytesToHex(privateKeyToAddress(key(i))))

/**
 * The numbers the tests (and ValidatorSet.md) use: bond 1, a window of 1,000 blocks, a node
 * capped at 50 coins of weight, a pair at 2 per window, 1 coin of reward per epoch.
 */
export function testConfig(): ValidatorSetConfig {
  return {
    minBond: 1n * ETHER,
    maxValidators: 3,
    weightWindowBlocks: 1000n,
    maxWeight: 50n * ETHER,
    pairCapPerWindow: 2n * ETHER,
    rewardPerEpoch: 1n * ETHER,
    unbondingEpochs: 2n,
    slashBps: 5000,
    reporterBps: 1000,
    jailEpochs: 2n,
  }
}

export interface DecodedEvent {
  address: Hex20
  eventName: string
  args: Record<string, unknown>
}

export interface TxOutcome {
  ok: boolean
  error?: string
  errorArgs?: readonly unknown[]
  events: DecodedEvent[]
  returnValue: Hex
  gasUsed: bigint
}

export type Target = 'vs' | 'market'

export interface Snapshot {
  validators: Hex20[]
  weights: bigint[]
}

export class PovHarness {
  number = 0n
  timestamp = 1_000_000n
  readonly blockTime = 2n
  readonly abi: Record<Target, Abi> = { vs: validatorSetAbi(), market: workMarketAbi() }
  readonly known = new Set<Hex20>([VS, MARKET])
  /** Coins created by genesis and by `give`: what all balances add up to. */
  minted = 0n

  private constructor(
    readonly vm: VM,
    readonly config: ValidatorSetConfig,
    readonly fund: bigint,
  ) {}

  /**
   * Genesis: WorkMarket (with the genesis validators' receipts) and ValidatorSet (balance = bonds
   * + `fund`). `validators` default: who(0) with bond 10 and weight 10 coins.
   */
  static async deploy(
    opts: {
      config?: Partial<ValidatorSetConfig>
      validators?: GenesisValidator[]
      fund?: bigint
      unchecked?: boolean
      market?: Partial<WorkMarketConfig>
      extraReceipts?: GenesisReceipt[]
    } = {},
  ): Promise<PovHarness> {
    const common = createChainCommon(CHAIN_ID)
    const shim = {
      async getBlock(n: number) {
        const h = hexToBytes(keccak256(toHex(BigInt(n))))
        return { hash: () => h }
      },
      async putBlock() {},
      shallowCopy: () => shim,
    }
    const vm = await createVM({ common, setHardfork: false, blockchain: shim as never, evmOpts: { customPrecompiles: EVIDENCE_PRECOMPILES } })
    const config = { ...testConfig(), ...opts.config }
    const validators = opts.validators ?? [{ validator: who(0), bond: 10n * ETHER, weight: 10n * ETHER }]
    const fund = opts.fund ?? 5n * ETHER
    const h = new PovHarness(vm, config, fund)
    const pov = povGenesisValidators(validators.map((v) => ({ address: v.validator, bond: v.bond, weight: v.weight })))
    // Jobs of 1 coin against 2-coin bonds: verifiers need 1 × the price free (the dev ratio is 16).
    const marketConfig: WorkMarketConfig = { ...devWorkMarketConfig(who(19)), voteWindow: 100n, revealWindow: 100n, unbondDelay: 1000n, verifierBondRatio: 1, ...opts.market }
    await h.construct('WorkMarket', MARKET, 0n, encodeWorkMarketArgs(marketConfig, [...pov.receipts, ...(opts.extraReceipts ?? [])]))
    const bonds = validators.reduce((s, v) => s + v.bond, 0n)
    await h.construct('ValidatorSet', VS, bonds + fund, encodeValidatorSetArgs(config, validators, { unchecked: opts.unchecked }))
    h.number = 1n
    return h
  }

  private async construct(name: string, at: Hex20, balance: bigint, args: Hex): Promise<void> {
    const art = loadContractArtifacts().get(name)!
    const a = createAddressFromString(at)
    this.minted += balance
    await this.vm.stateManager.putAccount(a, new Account(1n, balance))
    const res = await this.vm.evm.runCode({
      code: concatBytes(art.bytecode, hexToBytes(args)),
      to: a,
      caller: new Address(new Uint8Array(20)),
      gasLimit: 1_000_000_000n,
      block: this.block() as never,
    })
    if (res.exceptionError) throw new ConstructorRevert(name, this.decodeError('vs', bytesToHex(res.returnValue) as Hex))
    await this.vm.stateManager.putCode(a, res.returnValue)
  }

  private block() {
    return toEthjsBlock(
      { number: this.number, timestamp: this.timestamp, gasLimit: 60_000_000n, baseFeePerGas: 0n, coinbase: new Uint8Array(20), mixHash: hexToBytes(keccak256(toHex(this.number * 7919n))) },
      this.vm.common,
    )
  }

  /** Skips `n` blocks. */
  mine(n: bigint | number): void {
    this.number += BigInt(n)
    this.timestamp += BigInt(n) * this.blockTime
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

  async totalCoins(): Promise<bigint> {
    let s = 0n
    for (const a of this.known) s += await this.balance(a)
    return s
  }

  decodeError(target: Target, data: Hex): { error?: string; args?: readonly unknown[] } {
    if (data === '0x') return {}
    for (const abi of [this.abi[target], this.abi.vs, this.abi.market])
      try {
        const e = decodeErrorResult({ abi, data })
        return { error: e.errorName, args: e.args }
      } catch {
        /* try the next ABI */
      }
    return { error: `unknown revert ${data.slice(0, 10)}` }
  }

  /** One transaction in its own block. */
  async tx(from: Hex20, target: Target, functionName: string, args: readonly unknown[] = [], value = 0n): Promise<TxOutcome> {
    this.known.add(from)
    const data = encodeFunctionData({ abi: this.abi[target], functionName, args } as never)
    const r = await this.vm.evm.runCall({
      to: createAddressFromString(target === 'vs' ? VS : MARKET),
      caller: createAddressFromString(from),
      origin: createAddressFromString(from),
      value,
      data: hexToBytes(data),
      gasLimit: 30_000_000n,
      block: this.block() as never,
    })
    this.mine(1)
    const returnValue = bytesToHex(r.execResult.returnValue) as Hex
    const gasUsed = r.execResult.executionGasUsed
    if (r.execResult.exceptionError) {
      const d = this.decodeError(target, returnValue)
      return { ok: false, error: d.error ?? r.execResult.exceptionError.error, errorArgs: d.args, events: [], returnValue, gasUsed }
    }
    const events: DecodedEvent[] = []
    for (const [address, topics, logData] of r.execResult.logs ?? []) {
      const at = getAddress(bytesToHex(address))
      const ev = decodeEventLog({ abi: at === VS ? this.abi.vs : this.abi.market, topics: topics.map((t) => bytesToHex(t)) as [Hex, ...Hex[]], data: bytesToHex(logData) as Hex })
      events.push({ address: at, eventName: String(ev.eventName), args: ev.args as unknown as Record<string, unknown> })
    }
    return { ok: true, events, returnValue, gasUsed }
  }

  async must(from: Hex20, target: Target, functionName: string, args: readonly unknown[] = [], value = 0n): Promise<TxOutcome> {
    const r = await this.tx(from, target, functionName, args, value)
    if (!r.ok) throw new Error(`${functionName} from ${from} reverted: ${r.error}(${(r.errorArgs ?? []).join(', ')})`)
    return r
  }

  /** A ValidatorSet transaction. */
  vs(from: Hex20, functionName: string, args: readonly unknown[] = [], value = 0n): Promise<TxOutcome> {
    return this.tx(from, 'vs', functionName, args, value)
  }

  /** WorkMarket's per-block system call for `n` blocks (its draws are due WorkMarket.DRAW_DELAY blocks after the act); their events. */
  async marketBlocks(n = 4): Promise<TxOutcome> {
    const events: DecodedEvent[] = []
    for (let i = 0; i < n; i++) events.push(...(await this.must(SYSTEM, 'market', 'onBlock')).events)
    return { ok: true, events, returnValue: '0x', gasUsed: 0n }
  }

  /** The consensus system call at the start of `epoch`'s first block. */
  system(epoch: bigint): Promise<TxOutcome> {
    return this.must(SYSTEM, 'vs', 'epochTransition', [epoch])
  }

  /** WorkMarket reporting an accepted receipt (the caller is the market's address). */
  receipt(worker: Hex20, client: Hex20, protocolFee: bigint, value = protocolFee * 20n, n = this.number, mode = 0): Promise<TxOutcome> {
    const jobId = keccak256(toHex(`job-${worker}-${client}-${n}`))
    return this.must(MARKET, 'vs', 'onReceipt', [worker, client, jobId, keccak256(jobId), value, protocolFee, mode])
  }

  async read<T>(functionName: string, args: readonly unknown[] = [], target: Target = 'vs'): Promise<T> {
    const data = encodeFunctionData({ abi: this.abi[target], functionName, args } as never)
    const r = await this.vm.evm.runCall({ to: createAddressFromString(target === 'vs' ? VS : MARKET), caller: createAddressFromString(who(50)), data: hexToBytes(data), gasLimit: 100_000_000n, block: this.block() as never })
    if (r.execResult.exceptionError) throw new Error(`${functionName} reverted: ${this.decodeError(target, bytesToHex(r.execResult.returnValue) as Hex).error}`)
    return decodeFunctionResult({ abi: this.abi[target], functionName, data: bytesToHex(r.execResult.returnValue) as Hex } as never) as T
  }

  weight(a: Hex20): Promise<bigint> {
    return this.read<bigint>('weightOf', [a])
  }

  async snapshot(epoch: bigint): Promise<Snapshot> {
    const [validators, weights] = await this.read<[Hex20[], bigint[]]>('validatorsAt', [epoch])
    return { validators: [...validators], weights: [...weights] }
  }

  /** The ValidatorSet balance sheet; throws when it does not add up. */
  async books(): Promise<{ bonded: bigint; unbonding: bigint; owed: bigint; burned: bigint; fund: bigint; balance: bigint }> {
    const [bonded, unbonding, owed, burned, fund, balance] = await this.read<readonly bigint[]>('accounting')
    if (bonded! + unbonding! + owed! + burned! + fund! !== balance!) throw new Error(`ValidatorSet books do not balance: ${[bonded, unbonding, owed, burned, fund, balance].join(' ')}`)
    if ((await this.balance(VS)) !== balance) throw new Error('accounting().balance is not the account balance')
    return { bonded: bonded!, unbonding: unbonding!, owed: owed!, burned: burned!, fund: fund!, balance: balance! }
  }

  static event(r: TxOutcome, name: string): Record<string, unknown> {
    const e = r.events.find((x) => x.eventName === name)
    if (!e) throw new Error(`no ${name} event among ${r.events.map((x) => x.eventName).join(', ')}`)
    return e.args
  }
}

export class ConstructorRevert extends Error {
  constructor(
    readonly contract: string,
    readonly decoded: { error?: string; args?: readonly unknown[] },
  ) {
    super(`${contract} constructor reverted: ${decoded.error}(${(decoded.args ?? []).join(', ')})`)
  }
}

const h32 = (n: number) => new Uint8Array(32).fill(n)

/** A header sealed by validator `i` for `slot`, naming (jobId, sessionId); `extra` varies its content. */
export function sealedHeader(i: number, slot: bigint, opts: { extra?: number; jobId?: Hex; sessionId?: Hex } = {}): BlockHeader {
  const producer = privateKeyToAddress(key(i))
  const h = new BlockHeader({
    parentHash: h32(9),
    coinbase: producer,
    stateRoot: h32(0),
    transactionsRoot: h32(0),
    receiptsRoot: h32(0),
    logsBloom: new Uint8Array(256),
    number: slot,
    gasLimit: 30_000_000n,
    gasUsed: 0n,
    timestamp: 1000n + slot,
    vanity: Uint8Array.of(opts.extra ?? 0),
    mixHash: h32(0),
    baseFeePerGas: 7n,
    slot,
    producer,
    jobId: opts.jobId ? hexToBytes(opts.jobId) : h32(1),
    sessionId: opts.sessionId ? hexToBytes(opts.sessionId) : h32(2),
    workloadId: h32(3),
    vrfOutput: h32(4),
    vrfProof: new Uint8Array(0),
    attestations: [],
    seal: new Uint8Array(0),
  })
  return sealHeader(h, CHAIN_ID, key(i))
}
