/**
 * Decoding with the ABIs the node knows (its system contracts, from /explorer/config.json):
 * transaction input, logs and revert data. Anything else is shown raw.
 */
import { decodeErrorResult, decodeEventLog, decodeFunctionData, type Abi, type Hex } from 'viem'
import type { ExplorerConfig } from './rpc'

export interface Decoded {
  contract: string
  name: string
  args: [string, unknown][]
}

export class Decoder {
  private readonly byAddress = new Map<string, { name: string; abi: Abi }>()

  constructor(cfg: ExplorerConfig) {
    for (const c of cfg.contracts) this.byAddress.set(c.address.toLowerCase(), { name: c.name, abi: c.abi as Abi })
  }

  contractName(address: string | null | undefined): string | undefined {
    return address ? this.byAddress.get(address.toLowerCase())?.name : undefined
  }

  abiOf(name: string): Abi | undefined {
    for (const c of this.byAddress.values()) if (c.name === name) return c.abi
    return undefined
  }

  addressOf(name: string): string | undefined {
    for (const [a, c] of this.byAddress) if (c.name === name) return a
    return undefined
  }

  input(to: string | null, data: string): Decoded | undefined {
    const c = to ? this.byAddress.get(to.toLowerCase()) : undefined
    if (!c || data.length < 10) return undefined
    try {
      const d = decodeFunctionData({ abi: c.abi, data: data as Hex })
      const fn = c.abi.find((x) => x.type === 'function' && x.name === d.functionName) as { inputs?: { name?: string }[] } | undefined
      return { contract: c.name, name: d.functionName, args: named(fn?.inputs, d.args ?? []) }
    } catch {
      return undefined
    }
  }

  log(log: { address: string; topics: string[]; data: string }): Decoded | undefined {
    const c = this.byAddress.get(log.address.toLowerCase())
    if (!c || !log.topics.length) return undefined
    try {
      const d = decodeEventLog({ abi: c.abi, data: log.data as Hex, topics: log.topics as [Hex, ...Hex[]] })
      const args = d.args as unknown
      const entries: [string, unknown][] = Array.isArray(args) ? args.map((v, i) => [String(i), v]) : Object.entries((args ?? {}) as Record<string, unknown>)
      return { contract: c.name, name: d.eventName ?? '?', args: entries }
    } catch {
      return undefined
    }
  }

  /** A revert's data: a custom error of any known contract, Error(string) or Panic(uint256). */
  error(data: string | undefined): string | undefined {
    if (!data || data === '0x') return undefined
    const abis: Abi[] = [[], ...[...this.byAddress.values()].map((c) => c.abi)]
    for (const abi of abis) {
      try {
        const e = decodeErrorResult({ abi, data: data as Hex })
        return `${e.errorName}(${(e.args ?? []).map(show).join(', ')})`
      } catch {
        /* not this contract's */
      }
    }
    return undefined
  }
}

function named(inputs: { name?: string }[] | undefined, args: readonly unknown[]): [string, unknown][] {
  return args.map((v, i) => [inputs?.[i]?.name || String(i), v])
}

/** A decoded value as text (bigints in decimal, bytes as hex, structs as JSON). */
export function show(v: unknown): string {
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'string') return v
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))
}
