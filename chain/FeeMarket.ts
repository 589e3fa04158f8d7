/**
 * EIP-1559 base fee: the target is half the gas limit; the fee moves by at most 1/8 per block
 * towards keeping blocks at the target.
 */
export const ELASTICITY = 2n
export const BASE_FEE_CHANGE_DENOMINATOR = 8n
/** Never below 7 wei (as on Ethereum), so it can still rise after empty stretches. */
export const MIN_BASE_FEE = 7n

export function nextBaseFee(parent: { gasLimit: bigint; gasUsed: bigint; baseFeePerGas: bigint }): bigint {
  const target = parent.gasLimit / ELASTICITY
  if (target === 0n || parent.gasUsed === target) return parent.baseFeePerGas
  if (parent.gasUsed > target) {
    const delta = (parent.baseFeePerGas * (parent.gasUsed - target)) / target / BASE_FEE_CHANGE_DENOMINATOR
    return parent.baseFeePerGas + (delta > 1n ? delta : 1n)
  }
  const delta = (parent.baseFeePerGas * (target - parent.gasUsed)) / target / BASE_FEE_CHANGE_DENOMINATOR
  const next = parent.baseFeePerGas - delta
  return next < MIN_BASE_FEE ? MIN_BASE_FEE : next
}

/** The largest step a producer may take the gas limit in one block (1/1024 of the parent's). */
export function gasLimitBounds(parentGasLimit: bigint): { min: bigint; max: bigint } {
  const step = parentGasLimit / 1024n
  const min = parentGasLimit - step
  return { min: min < 5000n ? 5000n : min, max: parentGasLimit + step }
}
