import { Account, Address as EthjsAddress, createAddressFromString } from '@ethereumjs/util'
import { createVM, type VM } from '@ethereumjs/vm'
import { decodeFunctionResult, encodeFunctionData, type Abi, type Address, type Hex } from 'viem'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { bytesToHex, concatBytes, hexToBytes } from '../../common/bytes.js'
import { loadContractArtifacts } from '../../genesis/ContractArtifacts.js'
import { toEthjsBlock } from '../../vm/BlockExecutor.js'
import { encodeSwapBridgeArgs, type SwapBridgeParams } from '../../bridge/BridgeGenesis.js'
import { SWAP_BRIDGE_ABI } from '../../bridge/SwapBridgeAbi.js'

/**
 * SwapBridge in an in-process EVM (the project's Common, Prague), deployed as genesis does:
 * the account is funded first, then the constructor runs at the fixed address.
 */

export const BRIDGE: Address = '0x0000000000000000000000000000000000005b00'
export const CHAIN_ID = 7777n

export interface CallOutcome {
  ok: boolean
  /** The revert reason string, when there is one. */
  reason?: string
  returnValue: Hex
}

export class BridgeHarness {
  blockNumber = 1n
  private constructor(readonly vm: VM) {}

  static async deploy(p: SwapBridgeParams, balance = p.snapshotTotal + p.lockReserve): Promise<BridgeHarness> {
    const common = createChainCommon(CHAIN_ID)
    const vm = await createVM({ common, setHardfork: false })
    const h = new BridgeHarness(vm)
    const art = loadContractArtifacts().get('SwapBridge')!
    const addr = createAddressFromString(BRIDGE)
    await vm.stateManager.putAccount(addr, new Account(1n, balance))
    const res = await vm.evm.runCode({ code: concatBytes(art.bytecode, hexToBytes(encodeSwapBridgeArgs(p))), to: addr, caller: new EthjsAddress(new Uint8Array(20)), gasLimit: 100_000_000n, block: h.block() as never })
    if (res.exceptionError) throw new Error(`constructor reverted: ${decodeReason(bytesToHex(res.returnValue)) ?? res.exceptionError.error}`)
    await vm.stateManager.putCode(addr, res.returnValue)
    return h
  }

  private block() {
    const z = new Uint8Array(32)
    return toEthjsBlock({ number: this.blockNumber, timestamp: this.blockNumber, gasLimit: 60_000_000n, baseFeePerGas: 0n, coinbase: new Uint8Array(20), mixHash: z }, this.vm.common)
  }

  /** Runs creation code at a fixed address (as a wallet deployed at a snapshot holder's address). */
  async deployAt(address: Address, creationCode: Uint8Array, value = 0n): Promise<void> {
    const a = createAddressFromString(address)
    await this.vm.stateManager.putAccount(a, new Account(1n, value))
    const res = await this.vm.evm.runCode({ code: creationCode, to: a, caller: new EthjsAddress(new Uint8Array(20)), gasLimit: 30_000_000n, block: this.block() as never })
    if (res.exceptionError) throw new Error(`constructor at ${address} reverted: ${res.exceptionError.error}`)
    await this.vm.stateManager.putCode(a, res.returnValue)
  }

  /** A call of any contract's function (e.g. a wallet's), decoded with its ABI. */
  async callOther<T>(to: Address, abi: Abi, functionName: string, args: readonly unknown[] = []): Promise<T> {
    const data = encodeFunctionData({ abi, functionName, args } as never)
    const r = await this.vm.evm.runCall({ to: createAddressFromString(to), caller: createAddressFromString('0x00000000000000000000000000000000000000c0'), data: hexToBytes(data), gasLimit: 30_000_000n, block: this.block() as never })
    if (r.execResult.exceptionError) throw new Error(`${functionName} reverted`)
    return decodeFunctionResult({ abi, functionName, data: bytesToHex(r.execResult.returnValue) } as never) as T
  }

  async call(functionName: string, args: readonly unknown[] = [], from: Address = '0x00000000000000000000000000000000000000c0'): Promise<CallOutcome> {
    const data = encodeFunctionData({ abi: SWAP_BRIDGE_ABI, functionName, args } as never)
    const r = await this.vm.evm.runCall({ to: createAddressFromString(BRIDGE), caller: createAddressFromString(from), data: hexToBytes(data), gasLimit: 30_000_000n, block: this.block() as never })
    const returnValue = bytesToHex(r.execResult.returnValue)
    if (r.execResult.exceptionError) return { ok: false, reason: decodeReason(returnValue), returnValue }
    return { ok: true, returnValue }
  }

  async read<T>(functionName: string, args: readonly unknown[] = []): Promise<T> {
    const r = await this.call(functionName, args)
    if (!r.ok) throw new Error(`${functionName} reverted: ${r.reason}`)
    return decodeFunctionResult({ abi: SWAP_BRIDGE_ABI, functionName, data: r.returnValue } as never) as T
  }

  async balance(a: Address): Promise<bigint> {
    return (await this.vm.stateManager.getAccount(createAddressFromString(a)))?.balance ?? 0n
  }

  async exists(a: Address): Promise<boolean> {
    return (await this.vm.stateManager.getAccount(createAddressFromString(a))) !== undefined
  }
}

/** Error(string) payload → the string. */
export function decodeReason(data: Hex): string | undefined {
  if (!data.startsWith('0x08c379a0') || data.length < 138) return undefined
  const len = Number(BigInt('0x' + data.slice(74, 138)))
  return Buffer.from(data.slice(138, 138 + len * 2), 'hex').toString('utf8')
}
