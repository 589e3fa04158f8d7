import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { decodeEventLog, type Hex } from 'viem'
import { bytesToHex } from '../../common/bytes.js'
import { bloomMatches, type LogCriteria } from '../../rpc/LogQuery.js'
import type { RpcBackend } from '../../rpc/RpcBackend.js'
import { hexToBytes } from '../../common/bytes.js'
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
  private savedState?: string
  private savedCursor = 0n
  state: S
  /** Blocks whose bloom cannot hold a registry log are skipped without reading their receipts. */
  private static readonly criteria: LogCriteria = { addresses: [hexToBytes(ASSET_REGISTRY_ADDRESS)], topics: [] }
  /** A cursor-only change is written at most every this many blocks: rescanning them after a crash is harmless. */
  static readonly CURSOR_SAVE_BLOCKS = 256n

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

  /**
   * Writes the cursor and the state (atomically: temp file, then rename) when the state changed,
   * the cursor moved CURSOR_SAVE_BLOCKS, or `force` (on stop) — not a file write per block.
   */
  save(force = false): void {
    const state = JSON.stringify(this.state)
    if (!force && state === this.savedState && this.cursor - this.savedCursor < RegistryLogScanner.CURSOR_SAVE_BLOCKS) return
    const json = JSON.stringify({ cursor: this.cursor.toString(), state: this.state })
    if (json === this.saved) return
    mkdirSync(dirname(this.opts.file), { recursive: true })
    const tmp = `${this.opts.file}.tmp`
    writeFileSync(tmp, json)
    renameSync(tmp, this.opts.file)
    this.saved = json
    this.savedState = state
    this.savedCursor = this.cursor
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
      const receipts = bloomMatches(header.logsBloom, RegistryLogScanner.criteria) ? ((await this.backend.receipts(header.hash())) ?? []) : []
      for (const r of receipts) {
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
