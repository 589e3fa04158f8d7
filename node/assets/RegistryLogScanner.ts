import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { decodeEventLog, type Hex } from 'viem'
import { bytesToHex } from '../../common/bytes.js'
import type { RpcBackend } from '../../rpc/RpcBackend.js'
import { ASSET_REGISTRY_ADDRESS } from '../../genesis/AssetRegistryGenesis.js'
import { registryAbi } from './AssetRegistryReader.js'

/** A decoded AssetRegistry event with where it was seen. */
export interface RegistryEvent {
  name: string
  args: Record<string, unknown>
  blockNumber: bigint
}

/**
 * Reads AssetRegistry events from the node's canonical chain, block by block from a cursor kept
 * in a small JSON file (`state` is the caller's own data, saved with it atomically), so a
 * restart resumes where it stopped and never handles a block twice once it was saved. Consumers
 * re-read the contract's state before acting, so an event of a block a reorg dropped only costs
 * a check.
 */
export class RegistryLogScanner<S extends object> {
  private cursor = 0n
  private saved?: string
  state: S

  constructor(
    private readonly opts: { file: string; events: string[]; initial: S; maxBlocksPerScan?: number },
    private readonly backend: RpcBackend,
  ) {
    this.state = opts.initial
    try {
      const saved = JSON.parse(readFileSync(opts.file, 'utf8')) as { cursor: string; state: S }
      this.cursor = BigInt(saved.cursor)
      this.state = saved.state
    } catch {
      // first start (or an unreadable file): scan from genesis
    }
  }

  /** The last block handled. */
  get scannedTo(): bigint {
    return this.cursor
  }

  /** Writes the cursor and the state (atomically: temp file, then rename), when they changed. */
  save(): void {
    const json = JSON.stringify({ cursor: this.cursor.toString(), state: this.state })
    if (json === this.saved) return
    mkdirSync(dirname(this.opts.file), { recursive: true })
    const tmp = `${this.opts.file}.tmp`
    writeFileSync(tmp, json)
    renameSync(tmp, this.opts.file)
    this.saved = json
  }

  /** Events of the blocks after the cursor up to the head (at most maxBlocksPerScan of them); advances the cursor (save() to keep it). */
  async scan(): Promise<RegistryEvent[]> {
    const head = this.backend.head().number
    const to = head < this.cursor + BigInt(this.opts.maxBlocksPerScan ?? 2000) ? head : this.cursor + BigInt(this.opts.maxBlocksPerScan ?? 2000)
    const out: RegistryEvent[] = []
    const registry = ASSET_REGISTRY_ADDRESS.toLowerCase()
    for (let n = this.cursor + 1n; n <= to; n++) {
      const header = await this.backend.canonicalHeader(n)
      if (!header) break
      for (const r of (await this.backend.receipts(header.hash())) ?? []) {
        if (r.status !== 1) continue
        for (const l of r.logs) {
          if (bytesToHex(l.address).toLowerCase() !== registry) continue
          try {
            const e = decodeEventLog({ abi: registryAbi(), topics: l.topics.map((x) => bytesToHex(x) as Hex) as [Hex, ...Hex[]], data: bytesToHex(l.data) as Hex })
            if (e.eventName && this.opts.events.includes(e.eventName)) out.push({ name: e.eventName, args: (e.args ?? {}) as Record<string, unknown>, blockNumber: n })
          } catch {
            // not an event of this ABI version: nothing for us
          }
        }
      }
      this.cursor = n
    }
    return out
  }
}
