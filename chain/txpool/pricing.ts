import type { PoolTx } from './PoolTx.js'

/**
 * What the producer earns per gas from `ptx` at `baseFee`: min(tip, feeCap - baseFee).
 * Negative when the fee cap is below the base fee (the tx cannot be included yet).
 */
export function effectiveTip(ptx: PoolTx, baseFee: bigint): bigint {
  const room = ptx.feeCap - baseFee
  return room < ptx.tip ? room : ptx.tip
}

/**
 * Total order on "how much a tx pays" at `baseFee`, as Geth's price heap: effective tip,
 * then fee cap, then tip. Negative when `a` is cheaper than `b`.
 */
export function comparePrice(a: PoolTx, b: PoolTx, baseFee: bigint): number {
  const ta = effectiveTip(a, baseFee)
  const tb = effectiveTip(b, baseFee)
  if (ta !== tb) return ta < tb ? -1 : 1
  if (a.feeCap !== b.feeCap) return a.feeCap < b.feeCap ? -1 : 1
  if (a.tip !== b.tip) return a.tip < b.tip ? -1 : 1
  return 0
}

/**
 * Geth's replacement rule (core/txpool/legacypool/list.go): the new fee cap and tip must
 * both be strictly higher than the old ones and at least `bumpPercent` % higher (integer
 * division, so wei-level prices still have to rise).
 */
export function isReplacementBumpEnough(
  old: { feeCap: bigint; tip: bigint },
  next: { feeCap: bigint; tip: bigint },
  bumpPercent: number,
): boolean {
  const a = 100n + BigInt(bumpPercent)
  const thresholdFeeCap = (a * old.feeCap) / 100n
  const thresholdTip = (a * old.tip) / 100n
  if (next.feeCap < thresholdFeeCap || next.tip < thresholdTip) return false
  return next.feeCap > old.feeCap && next.tip > old.tip
}

const WEI_PER_ETHER = 10n ** 18n

/** `wei` in ether with two decimals, rounded half to even, as Go's `%.2f` prints it. */
export function formatEther2(wei: bigint): string {
  const x = wei * 100n
  let q = x / WEI_PER_ETHER
  const r2 = (x % WEI_PER_ETHER) * 2n
  if (r2 > WEI_PER_ETHER || (r2 === WEI_PER_ETHER && q % 2n === 1n)) q += 1n
  return `${q / 100n}.${(q % 100n).toString().padStart(2, '0')}`
}
