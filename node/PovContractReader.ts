import { Address } from '@ethereumjs/util'
import { decodeFunctionResult, encodeFunctionData, parseAbi, type Abi, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../common/bytes.js'
import type { SystemCall } from '../consensus/ConsensusEngine.js'
import type { PovContracts, WorkReceiptView } from '../consensus/PovContracts.js'
import type { WeightedValidator } from '../consensus/WeightedLeaderSchedule.js'
import { WORK_MARKET_ADDRESS, workMarketAbi } from '../genesis/WorkMarketGenesis.js'
import type { Common } from '@ethereumjs/common'
import type { BlockHeader } from '../chain/Header.js'
import { toEthjsBlock } from '../vm/BlockExecutor.js'
import type { WorldState } from '../vm/WorldState.js'
import { NodeError } from './errors.js'

/** Where genesis places the ValidatorSet system contract (genesis/ValidatorSetGenesis.ts). */
export const VALIDATOR_SET = '0x0000000000000000000000000000000000000A00' as const

/** The part of ValidatorSet's ABI consensus depends on (genesis/contracts/ValidatorSet.md). */
const validatorSetAbi = parseAbi([
  'function validatorsAt(uint64 epoch) view returns (address[] validators, uint256[] weights)',
  'function validatorsElectedFor(uint64 epoch) view returns (address[] validators, uint256[] weights)',
  'function epochTransition(uint64 epoch)',
  'function weightOf(address v) view returns (uint256)',
])

const RECEIPT_ACCEPTED = 3 // WorkMarket.SessionStatus.Accepted
const CALL_GAS = 50_000_000n

/** The block a view call runs in (views that read block.number: weights decay by age). */
type CallBlock = Pick<BlockHeader, 'number' | 'timestamp' | 'gasLimit' | 'baseFeePerGas' | 'coinbase' | 'mixHash'>

interface RawReceipt {
  jobId: Hex
  sessionId: Hex
  worker: Hex
  client: Hex
  value: bigint
  protocolFee: bigint
  workloadId: Hex
  blockNumber: bigint
  status: number
  mode: number
}

/**
 * Reads the ValidatorSet and WorkMarket system contracts at a state root for consensus
 * (consensus/PovContracts.ts), by running view calls in a throw-away VM of that state.
 */
export class PovContractReader implements PovContracts {
  private readonly market: Abi = workMarketAbi()
  private readonly marketAddress = new Address(hexToBytes(WORK_MARKET_ADDRESS))
  private readonly setAddress = new Address(hexToBytes(VALIDATOR_SET))

  constructor(
    private readonly state: WorldState,
    private readonly common: Common,
  ) {}

  /** A view call at `root`; views that read block.number (weights decay by age) need `at`. */
  private async call(root: Uint8Array, to: Address, data: Hex, what: string, at?: CallBlock): Promise<Hex> {
    return this.state.withCallVM(root, async (vm) => {
      const block = at
        ? toEthjsBlock({ number: at.number, timestamp: at.timestamp, gasLimit: at.gasLimit, baseFeePerGas: at.baseFeePerGas, coinbase: at.coinbase, mixHash: at.mixHash }, this.common)
        : undefined
      const res = await vm.evm.runCall({ to, data: hexToBytes(data), gasLimit: CALL_GAS, caller: new Address(new Uint8Array(20)), block })
      if (res.execResult.exceptionError)
        throw new NodeError('SYSTEM_CONTRACT', `${what} failed at state ${bytesToHex(root).slice(0, 12)}…: ${res.execResult.exceptionError.error} (is the system contract in genesis?)`)
      return bytesToHex(res.execResult.returnValue)
    })
  }

  async validatorsAt(stateRoot: Uint8Array, epoch: bigint): Promise<WeightedValidator[]> {
    const out = await this.call(stateRoot, this.setAddress, encodeFunctionData({ abi: validatorSetAbi, functionName: 'validatorsAt', args: [epoch] }), 'ValidatorSet.validatorsAt')
    return this.weighted(decodeFunctionResult({ abi: validatorSetAbi, functionName: 'validatorsAt', data: out }) as readonly [readonly Hex[], readonly bigint[]])
  }

  async electedFor(anchor: BlockHeader, epoch: bigint): Promise<WeightedValidator[]> {
    // Block number anchor + 1: where the transition that stores this set runs on any branch.
    const at: CallBlock = { number: anchor.number + 1n, timestamp: anchor.timestamp, gasLimit: anchor.gasLimit, baseFeePerGas: anchor.baseFeePerGas, coinbase: anchor.coinbase, mixHash: anchor.mixHash }
    const data = encodeFunctionData({ abi: validatorSetAbi, functionName: 'validatorsElectedFor', args: [epoch] })
    const out = await this.call(anchor.stateRoot, this.setAddress, data, 'ValidatorSet.validatorsElectedFor', at)
    return this.weighted(decodeFunctionResult({ abi: validatorSetAbi, functionName: 'validatorsElectedFor', data: out }) as readonly [readonly Hex[], readonly bigint[]])
  }

  private weighted([addrs, weights]: readonly [readonly Hex[], readonly bigint[]]): WeightedValidator[] {
    return addrs.map((a, i) => ({ address: hexToBytes(a), weight: weights[i]! })).filter((v) => v.weight > 0n)
  }

  /** Live weight as of block `at` (its state and number). */
  async weightOf(at: BlockHeader, address: Uint8Array): Promise<bigint> {
    const out = await this.call(at.stateRoot, this.setAddress, encodeFunctionData({ abi: validatorSetAbi, functionName: 'weightOf', args: [bytesToHex(address)] }), 'ValidatorSet.weightOf', at)
    return decodeFunctionResult({ abi: validatorSetAbi, functionName: 'weightOf', data: out }) as bigint
  }

  private view(r: RawReceipt): WorkReceiptView {
    return {
      jobId: hexToBytes(r.jobId),
      sessionId: hexToBytes(r.sessionId),
      worker: hexToBytes(r.worker),
      client: hexToBytes(r.client),
      workloadId: hexToBytes(r.workloadId),
      blockNumber: BigInt(r.blockNumber),
      accepted: Number(r.status) === RECEIPT_ACCEPTED,
      value: r.value,
      protocolFee: r.protocolFee,
      mode: Number(r.mode ?? 0),
    }
  }

  async receipt(stateRoot: Uint8Array, sessionId: Uint8Array): Promise<WorkReceiptView | undefined> {
    const data = encodeFunctionData({ abi: this.market, functionName: 'getReceipt', args: [bytesToHex(sessionId)] })
    let out: Hex
    try {
      out = await this.call(stateRoot, this.marketAddress, data, 'WorkMarket.getReceipt')
    } catch (e) {
      // getReceipt reverts for an unknown session.
      if (e instanceof NodeError) return undefined
      throw e
    }
    const r = decodeFunctionResult({ abi: this.market, functionName: 'getReceipt', data: out }) as RawReceipt
    return /^0x0+$/.test(r.worker) ? undefined : this.view(r)
  }

  async recentReceipts(stateRoot: Uint8Array, worker: Uint8Array, limit: number): Promise<WorkReceiptView[]> {
    const who = bytesToHex(worker)
    const countOut = await this.call(stateRoot, this.marketAddress, encodeFunctionData({ abi: this.market, functionName: 'receiptCount', args: [who] }), 'WorkMarket.receiptCount')
    const count = decodeFunctionResult({ abi: this.market, functionName: 'receiptCount', data: countOut }) as bigint
    if (count === 0n) return []
    const n = BigInt(limit)
    const offset = count > n ? count - n : 0n
    const out = await this.call(stateRoot, this.marketAddress, encodeFunctionData({ abi: this.market, functionName: 'receiptsOf', args: [who, offset, n] }), 'WorkMarket.receiptsOf')
    const page = decodeFunctionResult({ abi: this.market, functionName: 'receiptsOf', data: out }) as readonly RawReceipt[]
    return page.map((r) => this.view(r)).reverse()
  }

  /** WorkMarket.nextDrawBlock() at `stateRoot`: the block of the oldest draw not yet made (0n: none). */
  async nextDrawBlock(stateRoot: Uint8Array): Promise<bigint> {
    const out = await this.call(stateRoot, this.marketAddress, encodeFunctionData({ abi: this.market, functionName: 'nextDrawBlock' }), 'WorkMarket.nextDrawBlock')
    return decodeFunctionResult({ abi: this.market, functionName: 'nextDrawBlock', data: out }) as bigint
  }

  epochTransition(epoch: bigint): SystemCall {
    return {
      to: this.setAddress.bytes,
      data: hexToBytes(encodeFunctionData({ abi: validatorSetAbi, functionName: 'epochTransition', args: [epoch] })),
      label: `ValidatorSet.epochTransition(${epoch})`,
    }
  }
}

/**
 * WorkMarket.onBlock() as the system call consensus makes at the start of every block (after
 * the epoch calls): the market's draws of workers and verifiers due at that block
 * (genesis/contracts/WorkMarket.md, "Draws").
 */
export function workMarketBlockSystemCall(address: Uint8Array | string = WORK_MARKET_ADDRESS): SystemCall {
  return {
    to: typeof address === 'string' ? hexToBytes(address) : address,
    data: hexToBytes(encodeFunctionData({ abi: parseAbi(['function onBlock()']), functionName: 'onBlock' })),
    label: 'WorkMarket.onBlock()',
  }
}
