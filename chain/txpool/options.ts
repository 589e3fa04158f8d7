/**
 * Limits and prices of the pool. Defaults are Geth's (`--txpool.*`), except that slots are
 * counted in transactions rather than 32 KiB units.
 */
export interface TxPoolOptions {
  /** Executable txs per account that eviction of over-limit accounts never touches first (Geth accountslots). */
  accountSlots: number
  /** Executable txs in the whole pool (Geth globalslots). */
  globalSlots: number
  /** Non-executable (nonce-gapped) txs per account (Geth accountqueue). */
  accountQueue: number
  /** Non-executable txs in the whole pool (Geth globalqueue). */
  globalQueue: number
  /** How long a tx may stay non-executable before it is dropped (Geth lifetime, 3 h). */
  lifetimeMs: number
  /** Minimum % increase of both fee cap and tip for a same-nonce replacement (Geth pricebump). */
  priceBumpPercent: number
  /** Largest gasLimit * feeCap a locally submitted tx may commit to, in wei; 0 disables (Geth rpc.txfeecap). */
  txFeeCap: bigint
  /** Minimum tip (maxPriorityFeePerGas or gasPrice) in wei (Geth pricelimit). */
  minTip: bigint
  /** Largest encoded tx accepted, in bytes (Geth txMaxSize, 4 slots of 32 KiB). */
  maxTxBytes: number
}

export const defaultTxPoolOptions: Readonly<TxPoolOptions> = Object.freeze({
  accountSlots: 16,
  globalSlots: 5120,
  accountQueue: 64,
  globalQueue: 1024,
  lifetimeMs: 3 * 60 * 60 * 1000,
  priceBumpPercent: 10,
  txFeeCap: 10n ** 18n,
  minTip: 1n,
  maxTxBytes: 128 * 1024,
})

export function resolveTxPoolOptions(partial: Partial<TxPoolOptions>): TxPoolOptions {
  const o: TxPoolOptions = { ...defaultTxPoolOptions }
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v
  for (const k of ['accountSlots', 'globalSlots', 'accountQueue', 'globalQueue', 'maxTxBytes'] as const)
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`txpool option ${k} must be a positive integer`)
  if (!(o.lifetimeMs > 0)) throw new RangeError('txpool option lifetimeMs must be positive')
  if (!Number.isInteger(o.priceBumpPercent) || o.priceBumpPercent < 0)
    throw new RangeError('txpool option priceBumpPercent must be a non-negative integer')
  if (o.txFeeCap < 0n || o.minTip < 0n) throw new RangeError('txpool fee options must be non-negative')
  return o
}
