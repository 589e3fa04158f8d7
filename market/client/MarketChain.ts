import { type Address, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import type { RpcBackend } from '../../rpc/RpcBackend.js'
import { JobError } from './JobError.js'
import { describeRevert, type MarketCaller } from './WorkMarketReader.js'

export interface MarketLog {
  address: Address
  topics: Hex[]
  data: Hex
}

export interface MarketTxReceipt {
  hash: Hex
  blockNumber: bigint
  logs: MarketLog[]
}

/**
 * What the market's node side needs of a chain: reads, and transactions from one account that
 * are waited for. Implemented in-process over the node's RpcBackend (workers, verifiers) and
 * over JSON-RPC (the job CLI, see RpcMarketChain).
 */
export interface MarketChain extends MarketCaller {
  readonly from: Address
  /**
   * Runs the transaction as a call on the pending block (the head's state, the next block's
   * number and clock) and throws the JobError `send` would end in if it reverts — so nothing
   * that would revert is sent.
   */
  check(to: Address, data: Hex, opts?: { value?: bigint }): Promise<void>
  /** Sends and waits; a revert throws a JobError with the contract's reason. */
  send(to: Address, data: Hex, opts?: { value?: bigint; gas?: bigint }): Promise<MarketTxReceipt>
  head(): Promise<{ number: bigint; timestamp: bigint }>
}

/** A revert as a JobError: `WorkMarket: <Error>(args)` when the data is one of the market's errors. */
export function revertError(what: string, data: Hex | undefined, fallback: string): JobError {
  return new JobError('REVERTED', `${what}: ${describeRevert(data) ?? fallback}`)
}

/** Gas for market transactions, sent without estimation: their time-dependent checks would fail on the head's clock. */
export const MARKET_TX_GAS = 5_000_000n

/**
 * The market over the node's own RpcBackend, sending from an account the node holds unlocked
 * (the worker's key). Transactions of one account are sent one at a time, so nonces never race.
 */
export class BackendMarketChain implements MarketChain {
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly backend: RpcBackend,
    readonly from: Address,
    private readonly opts: { receiptTimeoutMs?: number } = {},
  ) {}

  async call(to: Address, data: Hex): Promise<Hex> {
    const r = await this.backend.call({ from: hexToBytes(this.from), to: hexToBytes(to), data: hexToBytes(data) }, 'latest')
    const out = bytesToHex(r.returnValue) as Hex
    if (r.reverted || r.error) throw revertError('call', out, r.error ?? 'reverted')
    return out
  }

  async check(to: Address, data: Hex, opts: { value?: bigint } = {}): Promise<void> {
    const r = await this.backend.call({ from: hexToBytes(this.from), to: hexToBytes(to), data: hexToBytes(data), value: opts.value ?? 0n, gas: MARKET_TX_GAS }, 'pending')
    if (r.reverted || r.error) throw revertError('would revert', bytesToHex(r.returnValue) as Hex, r.error ?? 'reverted')
  }

  async head(): Promise<{ number: bigint; timestamp: bigint }> {
    const h = this.backend.head()
    return { number: h.number, timestamp: h.timestamp }
  }

  send(to: Address, data: Hex, opts: { value?: bigint; gas?: bigint } = {}): Promise<MarketTxReceipt> {
    const run = this.queue.then(() => this.sendNow(to, data, opts))
    this.queue = run.catch(() => undefined)
    return run
  }

  private async sendNow(to: Address, data: Hex, opts: { value?: bigint; gas?: bigint }): Promise<MarketTxReceipt> {
    const hash = await this.backend.sendTransaction({ from: hexToBytes(this.from), to: hexToBytes(to), data: hexToBytes(data), value: opts.value ?? 0n, gas: opts.gas ?? MARKET_TX_GAS })
    const until = Date.now() + (this.opts.receiptTimeoutMs ?? 120_000)
    for (;;) {
      const loc = await this.backend.txLocation(hash)
      if (loc) {
        const receipt = (await this.backend.receipts(loc.blockHash))?.[loc.index]
        if (receipt) {
          const out: MarketTxReceipt = {
            hash: bytesToHex(hash) as Hex,
            blockNumber: loc.blockNumber,
            logs: receipt.logs.map((l) => ({ address: bytesToHex(l.address) as Address, topics: l.topics.map((x) => bytesToHex(x) as Hex), data: bytesToHex(l.data) as Hex })),
          }
          if (receipt.status === 1) return out
          // Replay on the block's state for the reason (the state may have moved on; best effort).
          const replay = await this.backend.call({ from: hexToBytes(this.from), to: hexToBytes(to), data: hexToBytes(data), value: opts.value ?? 0n }, loc.blockNumber - 1n).catch(() => undefined)
          throw revertError(`transaction ${out.hash} reverted in block ${loc.blockNumber}`, replay ? (bytesToHex(replay.returnValue) as Hex) : undefined, 'reverted')
        }
      }
      if (Date.now() > until) throw new JobError('TX_TIMEOUT', `transaction ${bytesToHex(hash)} was not mined in time`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
}

/** Read-only calls over the node's RpcBackend (no sender): what pov_ methods use. */
export function backendCaller(backend: RpcBackend): MarketCaller {
  return {
    async call(to: Address, data: Hex): Promise<Hex> {
      const r = await backend.call({ to: hexToBytes(to), data: hexToBytes(data) }, 'latest')
      const out = bytesToHex(r.returnValue) as Hex
      if (r.reverted || r.error) throw revertError('call', out, r.error ?? 'reverted')
      return out
    },
  }
}
