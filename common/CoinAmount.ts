import { formatEther } from 'viem'

/**
 * Coins for people: at most 6 decimals, trailing zeros dropped, `≈` when something was cut
 * (`0.000123456789012345678 coins` printed in full was a newcomer's complaint). Amounts below
 * a millionth keep 3 significant digits rather than showing as 0. Machine output (--json)
 * keeps exact wei.
 */
/** Rounded up to a millionth of a coin, for amounts that must be enough (a bond to bring). */
export function roundedUpCoins(wei: bigint): string {
  const micro = 10n ** 12n
  return roundedCoins(((wei + micro - 1n) / micro) * micro)
}

export function roundedCoins(wei: bigint): string {
  const neg = wei < 0n
  const s = formatEther(neg ? -wei : wei)
  const [whole, frac = ''] = s.split('.')
  let keep = 6
  if (whole === '0' && /^0{6}/.test(frac) && /[1-9]/.test(frac)) keep = frac.search(/[1-9]/) + 3
  const cut = frac.slice(0, keep).replace(/0+$/, '')
  const approx = /[1-9]/.test(frac.slice(keep)) ? '≈' : ''
  return `${approx}${neg ? '-' : ''}${whole}${cut ? `.${cut}` : ''}`
}
