/** Hex quantities and wei as people read them. */
import { formatEther } from 'viem'

export const num = (q: string | number | bigint | null | undefined): bigint => (q === null || q === undefined ? 0n : BigInt(q))
export const dec = (q: string | number | bigint | null | undefined): string => num(q).toLocaleString('en-US')
export const coins = (wei: string | bigint | null | undefined): string => `${formatEther(num(wei))} POV`
export const hexQ = (n: bigint | number): string => `0x${BigInt(n).toString(16)}`
export const short = (h: string | null | undefined, n = 8): string => (!h ? '' : h.length <= 2 * n + 4 ? h : `${h.slice(0, n + 2)}…${h.slice(-n)}`)
export const ZERO32 = `0x${'0'.repeat(64)}`

export function ago(unixSeconds: string | number | bigint): string {
  const s = Math.floor(Date.now() / 1000) - Number(num(unixSeconds))
  if (s < 0) return 'in the future'
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86400)} d ago`
}

export const isHash = (s: string): boolean => /^0x[0-9a-fA-F]{64}$/.test(s)
export const isAddress = (s: string): boolean => /^0x[0-9a-fA-F]{40}$/.test(s)

/** A unix time as ISO text and how long ago, or a dash for 0. */
export const when = (unixSeconds: string | number | bigint | null | undefined): string =>
  num(unixSeconds) === 0n ? '—' : `${new Date(Number(num(unixSeconds)) * 1000).toISOString().replace('.000Z', 'Z')} (${ago(unixSeconds!)})`
