import type { Common } from '@ethereumjs/common'
import type { InterpreterStep, Message, EVMResult } from '@ethereumjs/evm'
import { runTx } from '@ethereumjs/vm'
import type { Block } from '../chain/Block.js'
import { bigintToHex, bytesToHex } from '../common/bytes.js'
import { toEthjsBlock } from './BlockExecutor.js'
import { VmError } from './errors.js'
import type { WorldState } from './WorldState.js'

interface StructLog {
  pc: number
  op: string
  gas: number
  gasCost: number
  depth: number
  stack?: string[]
  memory?: string[]
  storage?: Record<string, string>
  refund?: number
  error?: string
}

interface CallFrame {
  type: string
  from: string
  to?: string
  value?: string
  gas: string
  gasUsed: string
  input: string
  output?: string
  error?: string
  revertReason?: string
  calls?: CallFrame[]
}

const MAX_STRUCT_LOGS = 100_000

/** The message of an `Error(string)` revert (what Geth's callTracer puts in `revertReason`). */
function revertReason(data: Uint8Array): string | undefined {
  // selector 0x08c379a0, offset, length, bytes
  if (data.length < 68 || data[0] !== 0x08 || data[1] !== 0xc3 || data[2] !== 0x79 || data[3] !== 0xa0) return undefined
  // An ABI word as a small number, or -1 when it does not fit in 48 bits or runs past the end.
  const word = (at: number): number => {
    if (at + 32 > data.length) return -1
    for (let i = at; i < at + 26; i++) if (data[i] !== 0) return -1
    let n = 0
    for (let i = at + 26; i < at + 32; i++) n = n * 256 + data[i]!
    return n
  }
  const offset = word(4)
  if (offset < 0) return undefined
  const len = word(4 + offset)
  const start = 4 + offset + 32
  if (len < 0 || start + len > data.length) return undefined
  return new TextDecoder('utf-8', { fatal: false }).decode(data.subarray(start, start + len))
}

/**
 * debug_traceTransaction: re-executes the block up to the transaction on a throw-away state
 * and records it with Geth's default struct logger or its `callTracer`.
 */
export class TransactionTracer {
  constructor(
    private readonly state: WorldState,
    private readonly common: Common,
  ) {}

  async trace(parentStateRoot: Uint8Array, block: Block, index: number, options: Record<string, unknown>): Promise<unknown> {
    const tracer = options.tracer
    if (tracer !== undefined && tracer !== 'callTracer')
      throw new VmError('TRACER_UNSUPPORTED', `tracer ${JSON.stringify(tracer)} is not supported (use the default struct logger or "callTracer")`)
    const vm = await this.state.scratchVM(parentStateRoot)
    const h = block.header
    const ethBlock = toEthjsBlock(
      { number: h.number, timestamp: h.timestamp, gasLimit: h.gasLimit, baseFeePerGas: h.baseFeePerGas, coinbase: h.coinbase, mixHash: h.mixHash },
      this.common,
    )
    let gasUsed = 0n
    for (let i = 0; i < index; i++) {
      const r = await runTx(vm, { tx: block.transactions[i]!, block: ethBlock, blockGasUsed: gasUsed, skipHardForkValidation: true })
      gasUsed += r.totalGasSpent
    }
    const tx = block.transactions[index]!
    const evm = vm.evm as unknown as { events: import('node:events').EventEmitter }
    if (tracer === 'callTracer') return this.callTrace(vm, evm, tx, ethBlock, gasUsed, (options.tracerConfig ?? {}) as { onlyTopCall?: boolean; withLog?: boolean })

    const cfg = (options as { disableStack?: boolean; disableStorage?: boolean; enableMemory?: boolean; enableReturnData?: boolean })
    const logs: StructLog[] = []
    const storage = new Map<number, Record<string, string>>()
    let prev: { log: StructLog; gasLeft: bigint } | undefined
    const onStep = (step: InterpreterStep, next?: () => void) => {
      if (prev && prev.log.depth === step.depth + 1) prev.log.gasCost = Number(prev.gasLeft - step.gasLeft)
      if (logs.length < MAX_STRUCT_LOGS) {
        const log: StructLog = { pc: step.pc, op: step.opcode.name, gas: Number(step.gasLeft), gasCost: step.opcode.fee, depth: step.depth + 1 }
        if (!cfg.disableStack) log.stack = step.stack.map((v) => bigintToHex(v))
        if (cfg.enableMemory) {
          const mem: string[] = []
          for (let o = 0; o < step.memoryWordCount * 32n; o += 32) mem.push(bytesToHex(step.memory.subarray(o, o + 32)).slice(2).padEnd(64, '0'))
          log.memory = mem
        }
        if (step.gasRefund) log.refund = Number(step.gasRefund)
        if (!cfg.disableStorage && (step.opcode.name === 'SSTORE' || step.opcode.name === 'SLOAD') && step.stack.length) {
          const st = storage.get(step.depth) ?? {}
          const key = step.stack[step.stack.length - 1]!.toString(16).padStart(64, '0')
          if (step.opcode.name === 'SSTORE' && step.stack.length > 1) st[key] = step.stack[step.stack.length - 2]!.toString(16).padStart(64, '0')
          storage.set(step.depth, st)
          log.storage = { ...st }
        }
        logs.push(log)
        prev = { log, gasLeft: step.gasLeft }
      }
      next?.()
    }
    evm.events.on('step', onStep)
    try {
      const r = await runTx(vm, { tx, block: ethBlock, blockGasUsed: gasUsed, skipHardForkValidation: true })
      return {
        gas: Number(r.totalGasSpent),
        failed: r.execResult.exceptionError !== undefined,
        returnValue: bytesToHex(r.execResult.returnValue).slice(2),
        structLogs: logs,
      }
    } finally {
      evm.events.off('step', onStep)
    }
  }

  private async callTrace(
    vm: import('@ethereumjs/vm').VM,
    evm: { events: import('node:events').EventEmitter },
    tx: Block['transactions'][number],
    ethBlock: ReturnType<typeof toEthjsBlock>,
    gasUsed: bigint,
    cfg: { onlyTopCall?: boolean },
  ): Promise<CallFrame> {
    const stack: CallFrame[] = []
    let root: CallFrame | undefined
    const before = (m: Message, next?: () => void) => {
      const isCreate = m.to === undefined
      const frame: CallFrame = {
        type: isCreate ? (m.salt ? 'CREATE2' : 'CREATE') : m.delegatecall ? 'DELEGATECALL' : m.isStatic ? 'STATICCALL' : 'CALL',
        from: m.caller.toString(),
        to: m.to?.toString(),
        value: m.delegatecall ? undefined : bigintToHex(m.value),
        gas: bigintToHex(m.gasLimit),
        gasUsed: '0x0',
        input: bytesToHex(m.data),
      }
      if (frame.type === 'STATICCALL') delete frame.value
      const parent = stack[stack.length - 1]
      if (parent) {
        if (!cfg.onlyTopCall) (parent.calls ??= []).push(frame)
      } else root = frame
      stack.push(frame)
      next?.()
    }
    const after = (r: EVMResult, next?: () => void) => {
      const frame = stack.pop()
      if (frame) {
        frame.gasUsed = bigintToHex(r.execResult.executionGasUsed)
        if (r.createdAddress) frame.to = r.createdAddress.toString()
        const err = r.execResult.exceptionError
        frame.output = bytesToHex(r.execResult.returnValue)
        if (err) frame.error = err.error === 'revert' ? 'execution reverted' : err.error
        if (err?.error === 'revert') {
          const reason = revertReason(r.execResult.returnValue)
          if (reason !== undefined) frame.revertReason = reason
        }
      }
      next?.()
    }
    evm.events.on('beforeMessage', before)
    evm.events.on('afterMessage', after)
    try {
      const r = await runTx(vm, { tx, block: ethBlock, blockGasUsed: gasUsed, skipHardForkValidation: true })
      if (!root) throw new VmError('TRACE_EMPTY', 'the transaction produced no call frames')
      root.gas = bigintToHex(tx.gasLimit)
      root.gasUsed = bigintToHex(r.totalGasSpent)
      return root
    } finally {
      evm.events.off('beforeMessage', before)
      evm.events.off('afterMessage', after)
    }
  }
}
