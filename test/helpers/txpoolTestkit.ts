import type { Common } from '@ethereumjs/common'
import { createTx, type TypedTransaction } from '@ethereumjs/tx'
import { privateToAddress } from '@ethereumjs/util'
import { bytesToHex } from '../../common/bytes.js'
import type { PoolStateReader } from '../../chain/txpool/TxPool.js'

/**
 * Helpers for tests of the pool and of its users (RPC fixtures): an in-memory account state
 * and deterministic signed transactions. Not used by the node itself.
 */
export class MemoryPoolState implements PoolStateReader {
  readonly nonces = new Map<string, bigint>()
  readonly balances = new Map<string, bigint>()

  /** @param delay optional async delay per read, to shake out races in tests */
  constructor(private readonly delay?: () => Promise<void>) {}

  async getNonce(address: Uint8Array): Promise<bigint> {
    if (this.delay) await this.delay()
    return this.nonces.get(bytesToHex(address)) ?? 0n
  }

  async getBalance(address: Uint8Array): Promise<bigint> {
    if (this.delay) await this.delay()
    return this.balances.get(bytesToHex(address)) ?? 0n
  }

  set(address: Uint8Array, account: { nonce?: bigint; balance?: bigint }): this {
    const k = bytesToHex(address)
    if (account.nonce !== undefined) this.nonces.set(k, account.nonce)
    if (account.balance !== undefined) this.balances.set(k, account.balance)
    return this
  }

  clone(delay?: () => Promise<void>): MemoryPoolState {
    const s = new MemoryPoolState(delay ?? this.delay)
    for (const [k, v] of this.nonces) s.nonces.set(k, v)
    for (const [k, v] of this.balances) s.balances.set(k, v)
    return s
  }
}

export interface TestKey {
  readonly privateKey: Uint8Array
  readonly address: Uint8Array
}

/** The i-th deterministic test key (private key = i + 1). */
export function testKey(i: number): TestKey {
  const privateKey = new Uint8Array(32)
  new DataView(privateKey.buffer).setUint32(28, i + 1)
  return { privateKey, address: privateToAddress(privateKey) }
}

export interface TestTxFields {
  nonce: bigint
  /** 2 (EIP-1559, default), 0 (legacy) or 1 (EIP-2930). */
  type?: 0 | 1 | 2
  /** EIP-1559 maxFeePerGas, or the gasPrice of legacy/2930 txs. */
  feeCap?: bigint
  /** EIP-1559 maxPriorityFeePerGas; ignored for legacy/2930. */
  tip?: bigint
  gasLimit?: bigint
  value?: bigint
  data?: Uint8Array
  to?: Uint8Array | null
}

const DEFAULT_TO = new Uint8Array(20).fill(0x11)

/** A signed (frozen) tx from `key`. */
export function signedTx(common: Common, key: TestKey, f: TestTxFields): TypedTransaction {
  const type = f.type ?? 2
  const feeCap = f.feeCap ?? 1_000_000_000n
  const base = {
    nonce: f.nonce,
    gasLimit: f.gasLimit ?? 21_000n,
    value: f.value ?? 0n,
    data: f.data ?? new Uint8Array(),
    to: f.to === null ? undefined : (f.to ?? DEFAULT_TO),
  }
  const data =
    type === 2
      ? { ...base, type, maxFeePerGas: feeCap, maxPriorityFeePerGas: f.tip ?? feeCap }
      : { ...base, type, gasPrice: feeCap }
  return createTx(data, { common }).sign(key.privateKey) as TypedTransaction
}
