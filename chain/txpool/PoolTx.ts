import type { TypedTransaction } from '@ethereumjs/tx'

/**
 * A validated transaction as the pool keeps it: the caller's own tx object (its recovered
 * sender is cached on it and the VM executes that same object later) plus the fields the
 * pool reads on its hot paths, decoded once.
 */
export interface PoolTx {
  readonly tx: TypedTransaction
  readonly hash: Uint8Array
  /** Lowercase 0x hex of `hash`; the key of the pool's lookup map. */
  readonly hashHex: string
  readonly sender: Uint8Array
  /** Lowercase 0x hex of `sender`. */
  readonly senderKey: string
  readonly nonce: bigint
  readonly gasLimit: bigint
  /** maxFeePerGas, or gasPrice for legacy and EIP-2930 txs. */
  readonly feeCap: bigint
  /** maxPriorityFeePerGas, or gasPrice for legacy and EIP-2930 txs. */
  readonly tip: bigint
  /** gasLimit * feeCap + value: what the sender must hold (Geth's tx.Cost()). */
  readonly cost: bigint
  /** Arrival order, the tie-breaker between equally priced txs. */
  seq: number
  /** True while the tx is executable (its nonce continues the sender's run from the state nonce). */
  pending: boolean
  /** When the tx last became non-executable; queued txs expire `lifetimeMs` after it. */
  queuedSince: number
}

/** Fee fields of any supported tx type, legacy and 2930 txs paying gasPrice as both. */
export function feeFields(tx: TypedTransaction): { feeCap: bigint; tip: bigint } {
  if ('maxFeePerGas' in tx) return { feeCap: tx.maxFeePerGas, tip: tx.maxPriorityFeePerGas }
  return { feeCap: tx.gasPrice, tip: tx.gasPrice }
}
