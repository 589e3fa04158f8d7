/**
 * What an Ethereum client does to check a block hash from JSON-RPC alone (Hardhat's and
 * Anvil's blocks pass it): RLP-encode the header fields of an `eth_getBlockBy*` result in the
 * standard order — the post-London ones only when present — and keccak256 it. Written with
 * viem's RLP and keccak, not povchain's code, so that it checks the node from the outside.
 */
import { keccak256, toRlp, type Hex } from 'viem'

/** The header fields in the order of the Ethereum header RLP (Prague). */
export const HEADER_JSON_FIELDS = [
  'parentHash',
  'sha3Uncles',
  'miner',
  'stateRoot',
  'transactionsRoot',
  'receiptsRoot',
  'logsBloom',
  'difficulty',
  'number',
  'gasLimit',
  'gasUsed',
  'timestamp',
  'extraData',
  'mixHash',
  'nonce',
  'baseFeePerGas',
  'withdrawalsRoot',
  'blobGasUsed',
  'excessBlobGas',
  'parentBeaconBlockRoot',
  'requestsHash',
] as const

const QUANTITIES = new Set(['difficulty', 'number', 'gasLimit', 'gasUsed', 'timestamp', 'baseFeePerGas', 'blobGasUsed', 'excessBlobGas'])
const OPTIONAL_FROM = HEADER_JSON_FIELDS.indexOf('baseFeePerGas')

/** A JSON quantity as an RLP integer: big-endian, no leading zero bytes, 0 → empty. */
function quantity(v: string): Hex {
  const n = BigInt(v)
  if (n === 0n) return '0x'
  const s = n.toString(16)
  return `0x${s.length % 2 ? '0' : ''}${s}`
}

/** The header RLP items from a block (or header) JSON object. */
export function headerItemsFromJson(block: Record<string, unknown>): Hex[] {
  const items: Hex[] = []
  for (const [i, k] of HEADER_JSON_FIELDS.entries()) {
    const v = block[k]
    if (v === undefined || v === null) {
      if (i < OPTIONAL_FROM) throw new Error(`block JSON has no ${k}`)
      break // later fields only follow earlier ones
    }
    if (typeof v !== 'string') throw new Error(`block JSON ${k} is not a string`)
    items.push(QUANTITIES.has(k) ? quantity(v) : (v as Hex))
  }
  return items
}

export function headerRlpFromJson(block: Record<string, unknown>): Hex {
  return toRlp(headerItemsFromJson(block))
}

/** keccak256(rlp(header fields of the JSON)): equals `block.hash` on a chain whose hashes any tool can check. */
export function blockHashFromJson(block: Record<string, unknown>): Hex {
  return keccak256(headerRlpFromJson(block))
}
