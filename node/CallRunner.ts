import type { Common } from '@ethereumjs/common'
import { createTx, type TypedTransaction } from '@ethereumjs/tx'
import { Account, Address, KECCAK256_NULL, bytesToUnprefixedHex, equalsBytes } from '@ethereumjs/util'
import { runTx, type VM } from '@ethereumjs/vm'
import type { BlockHeader } from '../chain/Header.js'
import { bigintToBytes, bigintToFixedBytes, bytesToHex, hexToBytes } from '../common/bytes.js'
import type { AccessListItem, AccessListResult, CallRequest, CallResult, EstimateResult, StateOverrides } from '../rpc/RpcBackend.js'
import { toEthjsBlock } from '../vm/BlockExecutor.js'
import type { WorldState } from '../vm/WorldState.js'
import { NodeError } from './errors.js'

const ZERO_ADDRESS = new Uint8Array(20)
const TX_GAS = 21000n

/**
 * eth_call and eth_estimateGas: runs a request as an unsigned transaction from `from` on a
 * throw-away copy of the state at a block, like Geth (nonce not checked; with no fee fields
 * the gas price and base fee are zero, so an unfunded caller can still read).
 */
export class CallRunner {
  constructor(
    private readonly state: WorldState,
    private readonly common: Common,
    private readonly gasCap: bigint,
  ) {}

  private buildTx(req: CallRequest, gas: bigint, header: BlockHeader): { tx: TypedTransaction; baseFee: bigint } {
    const priced = req.gasPrice !== undefined || req.maxFeePerGas !== undefined || req.maxPriorityFeePerGas !== undefined
    const baseFee = priced ? header.baseFeePerGas : 0n
    const common = this.common
    const base = {
      to: req.to,
      value: req.value ?? 0n,
      data: req.data ?? new Uint8Array(0),
      gasLimit: gas,
      nonce: 0n,
      // @ethereumjs/tx takes access lists either as JSON hex or as [address, keys] byte tuples.
      accessList: req.accessList?.map((a) => [a.address, a.storageKeys]) as never,
    }
    let tx: TypedTransaction
    if (req.authorizationList?.length) {
      tx = createTx(
        {
          ...base,
          type: 4,
          maxFeePerGas: req.maxFeePerGas ?? req.gasPrice ?? 0n,
          maxPriorityFeePerGas: req.maxPriorityFeePerGas ?? 0n,
          // The byte-tuple form [chainId, address, nonce, yParity, r, s] (RLP integers): the
          // object form wants hex strings and threw a TypeError on bytes ("internal error").
          authorizationList: req.authorizationList.map((a) => [
            bigintToBytes(a.chainId),
            a.address,
            bigintToBytes(a.nonce),
            bigintToBytes(BigInt(a.yParity)),
            bigintToBytes(a.r),
            bigintToBytes(a.s),
          ]) as never,
          to: req.to ?? ZERO_ADDRESS,
        },
        { common, freeze: false },
      )
    } else if (req.maxFeePerGas !== undefined || req.maxPriorityFeePerGas !== undefined) {
      const maxFee = req.maxFeePerGas ?? baseFee + (req.maxPriorityFeePerGas ?? 0n)
      tx = createTx({ ...base, type: 2, maxFeePerGas: maxFee, maxPriorityFeePerGas: req.maxPriorityFeePerGas ?? 0n }, { common, freeze: false })
    } else {
      tx = createTx({ ...base, type: req.accessList ? 1 : 0, gasPrice: req.gasPrice ?? 0n }, { common, freeze: false })
    }
    const from = new Address(req.from ?? ZERO_ADDRESS)
    // The request is unsigned: the VM asks the transaction for its sender, so tell it.
    ;(tx as { getSenderAddress: () => Address }).getSenderAddress = () => from
    return { tx, baseFee }
  }

  // The block a call runs in depends only on the header, gas limit and base fee: most calls
  // hit the head with the same ones, and building an @ethereumjs block is not free.
  private blocks = new Map<string, ReturnType<typeof toEthjsBlock>>()

  private blockEnv(header: BlockHeader, gasLimit: bigint, baseFeePerGas: bigint): ReturnType<typeof toEthjsBlock> {
    const key = `${bytesToHex(header.hash())}:${gasLimit}:${baseFeePerGas}`
    let block = this.blocks.get(key)
    if (!block) {
      block = toEthjsBlock(
        { number: header.number, timestamp: header.timestamp, gasLimit, baseFeePerGas, coinbase: header.coinbase, mixHash: header.mixHash },
        this.common,
      )
      if (this.blocks.size >= 64) this.blocks.delete(this.blocks.keys().next().value!)
      this.blocks.set(key, block)
    }
    return block
  }

  private async applyOverrides(vm: VM, overrides: StateOverrides | undefined): Promise<void> {
    if (!overrides) return
    const sm = vm.stateManager
    for (const [addrHex, o] of overrides) {
      const addr = new Address(hexToBytes(addrHex))
      const acct = (await sm.getAccount(addr)) ?? new Account()
      if (o.balance !== undefined) acct.balance = o.balance
      if (o.nonce !== undefined) acct.nonce = o.nonce
      await sm.putAccount(addr, acct)
      if (o.code !== undefined) await sm.putCode(addr, o.code)
      if (o.state) {
        await sm.clearStorage(addr)
        for (const [k, v] of o.state) await sm.putStorage(addr, bigintToFixedBytes(k, 32), bigintToFixedBytes(v, 32))
      }
      if (o.stateDiff) for (const [k, v] of o.stateDiff) await sm.putStorage(addr, bigintToFixedBytes(k, 32), bigintToFixedBytes(v, 32))
    }
  }

  private async attempt(vm: VM, req: CallRequest, gas: bigint, header: BlockHeader, reportAccessList = false): Promise<CallResult & { accessList?: AccessListItem[] }> {
    const blockGas = header.gasLimit > gas ? header.gasLimit : gas
    if (!reportAccessList && this.plainMessage && isPlainCall(req, vm) && withinTxGasCap(gas, vm.common)) {
      // An unpriced call: base fee 0 (as buildTx would set), and no transaction object at all.
      const block = this.blockEnv(header, blockGas, 0n)
      await vm.stateManager.checkpoint()
      try {
        const r = await runPlainCall(vm, plainCallMessage(req, gas, vm.common), new Address(req.from ?? ZERO_ADDRESS), block)
        if (r) return r
      } finally {
        await vm.stateManager.revert()
      }
    }
    const { tx, baseFee } = this.buildTx(req, gas, header)
    const block = this.blockEnv(header, blockGas, baseFee)
    await vm.stateManager.checkpoint()
    try {
      const res = await runTx(vm, { tx, block, skipNonce: true, skipBlockGasLimitValidation: true, skipHardForkValidation: true, reportAccessList })
      const err = res.execResult.exceptionError
      const out: CallResult & { accessList?: AccessListItem[] } = {
        returnValue: res.execResult.returnValue,
        gasUsed: res.totalGasSpent,
        reverted: err?.error === 'revert',
        error: err ? (err.error === 'revert' ? 'execution reverted' : err.error) : undefined,
      }
      if (res.accessList)
        out.accessList = res.accessList.map((a) => ({ address: hexToBytes(a.address), storageKeys: a.storageKeys.map((k) => hexToBytes(k)) }))
      return out
    } catch (e) {
      // Validation failures before execution (insufficient funds, intrinsic gas …).
      throw new NodeError('CALL_INVALID', callValidationMessage((e as Error).message))
    } finally {
      await vm.stateManager.revert()
    }
  }

  /** Inside the search a too-low limit may fail validation (intrinsic gas): that is just "too low". */
  private async attemptOrFail(vm: VM, req: CallRequest, gas: bigint, header: BlockHeader): Promise<{ error?: string }> {
    try {
      return await this.attempt(vm, req, gas, header)
    } catch (e) {
      return { error: (e as Error).message }
    }
  }

  /** Off only in the property test that compares the message path with runTx. */
  plainMessage = true

  private capped(req: CallRequest): bigint {
    return req.gas !== undefined && req.gas < this.gasCap ? req.gas : this.gasCap
  }

  async call(req: CallRequest, header: BlockHeader, overrides?: StateOverrides): Promise<CallResult> {
    return this.state.withCallVM(header.stateRoot, async (vm) => {
      await this.applyOverrides(vm, overrides)
      return this.attempt(vm, req, this.capped(req), header)
    })
  }

  /**
   * eth_createAccessList (as Geth): run the request with the list found so far until the list
   * stops changing (a list can change what the code does, e.g. gas-dependent paths); the
   * result's gas is that of the last run, with the list. The sender and precompiles are warm
   * anyway and not listed; the callee is listed only with the slots it touches.
   */
  async createAccessList(req: CallRequest, header: BlockHeader): Promise<AccessListResult> {
    return this.state.withCallVM(header.stateRoot, async (vm) => {
      let list: AccessListItem[] = req.accessList ?? []
      const to = req.to ? bytesToHex(req.to) : undefined
      for (let i = 0; ; i++) {
        const r = await this.attempt(vm, { ...req, accessList: list }, this.capped(req), header, true)
        const found = (r.accessList ?? []).filter((a) => a.storageKeys.length > 0 || bytesToHex(a.address) !== to)
        if (sameAccessList(found, list) || i >= 8) {
          const out: AccessListResult = { accessList: found, gasUsed: r.gasUsed }
          if (r.error) {
            out.error = r.error
            if (r.reverted) out.returnValue = r.returnValue
          }
          return out
        }
        list = found
      }
    })
  }

  /** Binary search for the lowest gas limit with which the request succeeds (as Geth does). */
  async estimateGas(req: CallRequest, header: BlockHeader, overrides?: StateOverrides): Promise<EstimateResult> {
    return this.state.withCallVM(header.stateRoot, (vm) => this.search(vm, req, header, overrides))
  }

  private async search(vm: VM, req: CallRequest, header: BlockHeader, overrides?: StateOverrides): Promise<EstimateResult> {
    await this.applyOverrides(vm, overrides)
    let hi = this.capped(req)
    if (req.gas === undefined && header.gasLimit < hi) hi = header.gasLimit
    // A plain value transfer to an account without code costs exactly 21000 (Geth's short cut).
    if (!req.data?.length && req.to && !req.accessList?.length && !req.authorizationList?.length && hi >= TX_GAS) {
      const code = await vm.stateManager.getCode(new Address(req.to))
      if (code.length === 0) {
        const r = await this.attemptOrFail(vm, req, TX_GAS, header)
        if (!r.error) return { ok: true, gas: TX_GAS }
      }
    }
    const first = await this.attempt(vm, req, hi, header)
    if (first.error) return { ok: false, result: first }
    // Most calls succeed with what they used plus the 1/64 held back for sub-calls.
    let lo = first.gasUsed - 1n
    const optimistic = (first.gasUsed * 64n) / 63n + 2300n
    if (optimistic < hi) {
      const r = await this.attemptOrFail(vm, req, optimistic, header)
      if (!r.error) hi = optimistic
      else lo = optimistic
    }
    while (lo + 1n < hi) {
      // Stop within 1.5% — a tighter answer costs more executions than it saves gas.
      if ((hi - lo) * 1000n < hi * 15n) break
      const mid = (lo + hi) / 2n
      const r = await this.attemptOrFail(vm, req, mid, header)
      if (r.error) lo = mid
      else hi = mid
    }
    return { ok: true, gas: hi }
  }
}

/**
 * A call runTx would treat as an unpriced legacy transaction to an existing address: no fee
 * fields (gas price and base fee 0), no access or authorization list, not a create, and a
 * fork without the EIPs (7864, 7928, 8037) that give runTx more to do, nor EIP-2780 (its
 * recipient/value extras would change the intrinsic gas plainCallMessage computes).
 */
function isPlainCall(req: CallRequest, vm: VM): boolean {
  return (
    req.to !== undefined &&
    !vm.common.isActivatedEIP(2780) &&
    req.gasPrice === undefined &&
    req.maxFeePerGas === undefined &&
    req.maxPriorityFeePerGas === undefined &&
    req.accessList === undefined &&
    !req.authorizationList?.length &&
    !vm.common.isActivatedEIP(7864) &&
    !vm.common.isActivatedEIP(7928) &&
    !vm.common.isActivatedEIP(8037)
  )
}

type EthjsBlock = ReturnType<typeof toEthjsBlock>

/** EIP-7825 (Osaka): createTx refuses a gas limit above the cap; leave that answer to buildTx. */
export function withinTxGasCap(gas: bigint, common: Common): boolean {
  return !common.isActivatedEIP(7825) || gas <= common.param('maxTransactionGasLimit')
}

/** What runPlainCall needs of a plain call: the message fields and the two gas minimums. */
export interface PlainCallMessage {
  to: Address
  value: bigint
  data: Uint8Array
  gasLimit: bigint
  /** What `tx.getIntrinsicGas()` answers for the legacy transaction buildTx would make. */
  intrinsic: bigint
  /** What `getCalldataFloorGas(tx, sender)` answers for it (0 before EIP-7623). */
  floor: bigint
}

/**
 * The message and gas minimums of a plain call (isPlainCall), computed as @ethereumjs/tx does
 * for an unsigned legacy transaction to an address — without building one: `createTx` (field
 * checks, hex conversions, a Common copy) was ~3 % of an eth_call's CPU. Only the rules that
 * apply to such a transaction with EIP-2780 inactive: TX_BASE plus per-byte calldata gas; the
 * EIP-7623 floor TX_BASE + floor-per-token × tokens (EIP-7976 counts 4 per byte; EIP-7981's
 * access-list tokens do not apply to a type-0 transaction).
 * `node/test/plain-call-message.property.test.ts` compares both with @ethereumjs/tx.
 */
export function plainCallMessage(req: CallRequest, gasLimit: bigint, common: Common): PlainCallMessage {
  const data = req.data ?? new Uint8Array(0)
  let zeros = 0
  for (let i = 0; i < data.length; i++) if (data[i] === 0) zeros++
  const nonZeros = data.length - zeros
  const txGas = common.param('txGas')
  const intrinsic = txGas + BigInt(zeros) * common.param('txDataZeroGas') + BigInt(nonZeros) * common.param('txDataNonZeroGas')
  let floor = 0n
  if (common.isActivatedEIP(7623)) {
    const tokens = common.isActivatedEIP(7976) ? BigInt(data.length) * 4n : BigInt(zeros) + BigInt(nonZeros) * 4n
    floor = txGas + common.param('totalCostFloorPerToken') * tokens
  }
  return { to: new Address(req.to!), value: req.value ?? 0n, data, gasLimit, intrinsic, floor }
}

/**
 * What runTx does for a plain call (see isPlainCall), without its transaction machinery
 * (fee accounting, miner reward, receipt, EIP-161 sweep — all discarded by the call's revert
 * anyway): the same warm addresses, the sender's nonce bump, the message with the gas left
 * after the intrinsic cost, and the same gas used (refund cap, EIP-7623 floor). Returns
 * undefined when runTx would reject the request before running it (gas below the minimum, a
 * sender with code, value above the balance), so runTx words that error. It was about a
 * fifth of an eth_call's CPU. `test/call-message-path.property.test.ts` compares both paths.
 */
async function runPlainCall(vm: VM, tx: PlainCallMessage, caller: Address, block: EthjsBlock): Promise<CallResult | undefined> {
  const { intrinsic, floor } = tx
  if (tx.gasLimit < intrinsic || tx.gasLimit < floor) return undefined
  const sender = (await vm.stateManager.getAccount(caller)) ?? new Account()
  if (!equalsBytes(sender.codeHash, KECCAK256_NULL) || sender.balance < tx.value) return undefined
  const evm = vm.evm
  const journal = evm.journal
  await journal.cleanup()
  await journal.checkpoint()
  try {
    if (vm.common.isActivatedEIP(2929)) {
      for (const [address] of evm.precompiles.entries()) journal.addAlwaysWarmAddress(address)
      journal.addAlwaysWarmAddress(caller.toString())
      journal.addAlwaysWarmAddress(bytesToUnprefixedHex(tx.to.bytes))
      if (vm.common.isActivatedEIP(3651)) journal.addAlwaysWarmAddress(bytesToUnprefixedHex(block.header.coinbase.bytes))
    }
    sender.nonce += 1n
    await journal.putAccount(caller, sender)
    const res = await evm.runCall({ block, gasPrice: 0n, caller, gasLimit: tx.gasLimit - intrinsic, to: tx.to, value: tx.value, data: tx.data, skipNonceIncrement: true })
    const exec = res.execResult
    let gasUsed = exec.executionGasUsed + intrinsic
    const refund = exec.gasRefund ?? 0n
    if (refund !== 0n) {
      const maxRefund = gasUsed / vm.common.param('maxRefundQuotient')
      gasUsed -= refund < maxRefund ? refund : maxRefund
    }
    if (vm.common.isActivatedEIP(7623) && gasUsed < floor) gasUsed = floor
    const err = exec.exceptionError
    return {
      returnValue: exec.returnValue,
      gasUsed,
      reverted: err?.error === 'revert',
      error: err ? (err.error === 'revert' ? 'execution reverted' : err.error) : undefined,
    }
  } finally {
    await journal.revert()
    journal.cleanJournal()
    delete (journal as { accessList?: unknown }).accessList
    delete (journal as { preimages?: unknown }).preimages
    vm.stateManager.originalStorageCache.clear()
  }
}

/** Same accounts and slots, in any order. */
function sameAccessList(a: AccessListItem[], b: AccessListItem[]): boolean {
  const key = (l: AccessListItem[]) =>
    l
      .map((x) => bytesToHex(x.address) + ':' + x.storageKeys.map((k) => bytesToHex(k)).sort().join(','))
      .sort()
      .join(';')
  return key(a) === key(b)
}

/**
 * An ethereumjs validation error as Geth words it (wallets and tools match these phrases),
 * without ethereumjs' "(vm hf=… block=…)" context.
 */
export function callValidationMessage(raw: string): string {
  const msg = raw
    .split(' -> ')[0]!
    .replace(/^[A-Z_]+: /, '')
    .replace(/\s*\(vm hf=.*$/s, '')
  const funds = /sender doesn't have enough funds to send tx\. The upfront cost is: (\d+) and the sender's account \((0x[0-9a-fA-F]{40})\) only has: (\d+)/.exec(msg)
  if (funds) return `insufficient funds for gas * price + value: address ${funds[2]} have ${funds[3]} want ${funds[1]}`
  const intrinsic = /gas limit (\d+) is lower than the minimum gas limit of (\d+)/.exec(msg)
  if (intrinsic) return `intrinsic gas too low: have ${intrinsic[1]}, want ${intrinsic[2]}`
  return msg.slice(0, 300)
}
