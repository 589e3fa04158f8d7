/** What every page reaches: the RPC client, the decoder and the live head, set once at start. */
import type { Decoder } from './decode'
import type { ExplorerConfig, LiveHeads, Rpc } from './rpc'

export interface Explorer {
  rpc: Rpc
  cfg: ExplorerConfig
  decoder: Decoder
  heads: LiveHeads
}

let current: Explorer | undefined

export function setExplorer(e: Explorer): void {
  current = e
}

export function explorer(): Explorer {
  if (!current) throw new Error('the explorer is not started')
  return current
}
