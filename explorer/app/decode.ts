/**
 * Decoding with the ABIs the node knows (its system contracts, from /explorer/config.json):
 * transaction input, logs and revert data; for any other contract the token standards
 * (standardAbis.ts). Anything else is shown raw.
 */
import { decodeErrorResult, decodeEventLog, decodeFunctionData, toEventSelector, type Abi, type AbiEvent, type Hex } from 'viem'
import type { ExplorerConfig } from './rpc'
import { STANDARD_ABIS, type StandardAbi } from './standardAbis'

export interface Decoded {
  contract: string
  name: string
  args: [string, unknown][]
}

export class Decoder {
  private readonly byAddress = new Map<string, { name: string; abi: Abi }>()
  private readonly topics = new Map<string, string>()

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

  /**
   * topic0 of `contract`'s event `event`, from its ABI item (viem's encodeEventTopics searches
   * and checks the whole ABI: WorkMarket's 258 items cost more than the log query itself).
   */
  eventTopic(contract: string, event: string): string | undefined {
    const key = `${contract}.${event}`
    let topic = this.topics.get(key)
    if (topic === undefined) {
      const item = this.abiOf(contract)?.find((x): x is AbiEvent => x.type === 'event' && x.name === event)
      if (!item) return undefined
      topic = toEventSelector(item)
      this.topics.set(key, topic)
    }
    return topic
  }

  addressOf(name: string): string | undefined {
    for (const [a, c] of this.byAddress) if (c.name === name) return a
    return undefined
  }

  /** The ABIs to try for a contract: its own when the node knows it, else the token standards. */
  private candidates(address: string | null | undefined): StandardAbi[] {
    const c = address ? this.byAddress.get(address.toLowerCase()) : undefined
    return c ? [c] : STANDARD_ABIS
  }

  input(to: string | null, data: string): Decoded | undefined {
    if (!to || data.length < 10) return undefined
    for (const c of this.candidates(to)) {
      try {
        const d = decodeFunctionData({ abi: c.abi, data: data as Hex })
        const fn = c.abi.find((x) => x.type === 'function' && x.name === d.functionName) as { inputs?: { name?: string }[] } | undefined
        return { contract: c.name, name: d.functionName, args: named(fn?.inputs, d.args ?? []) }
      } catch {
        /* not this ABI's */
      }
    }
    return undefined
  }

  log(log: { address: string; topics: string[]; data: string }): Decoded | undefined {
    if (!log.topics.length) return undefined
    for (const c of this.candidates(log.address)) {
      try {
        const d = decodeEventLog({ abi: c.abi, data: log.data as Hex, topics: log.topics as [Hex, ...Hex[]], strict: true })
        const args = d.args as unknown
        const entries: [string, unknown][] = Array.isArray(args) ? args.map((v, i) => [String(i), v]) : Object.entries((args ?? {}) as Record<string, unknown>)
        return { contract: c.name, name: d.eventName ?? '?', args: entries }
      } catch {
        /* not this ABI's */
      }
    }
    return undefined
  }

  /** A revert's data: a custom error of any known contract, Error(string) or Panic(uint256). */
  error(data: string | undefined): string | undefined {
    if (!data || data === '0x') return undefined
    const abis: Abi[] = [[], ...[...this.byAddress.values(), ...STANDARD_ABIS].map((c) => c.abi)]
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
