import type { Hex } from 'viem'
import { keccak256 } from 'viem'
import { AssetError } from './AssetError.js'

/**
 * The off-chain metadata document of an asset (genesis/contracts/AssetRegistry.md, "Metadata"):
 * canonical JSON (keys sorted, no spaces); `metadataHash` = keccak256 of its UTF-8 bytes; the
 * token URI carries it as `data:application/json,<percent-encoded JSON>`, so wallets show it and
 * nodes check it against the hash. For closed assets `plaintextHash` lets the grantee check the
 * decrypted bytes too (the on-chain content hash is that of the encrypted blob).
 */
export interface AssetMetadata {
  name: string
  description?: string
  licence?: string
  kind: 'model' | 'dataset'
  /** Plaintext bytes and their keccak-256. */
  size: number
  plaintextHash: Hex
  /** "PVA1" for an encrypted blob (compute/AssetCipher.ts), absent for plaintext. */
  encryption?: string
  format?: { input?: string; output?: string }
  schema?: string
}

const DATA_PREFIX = 'data:application/json,'

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canonical(x)]))
  return v
}

export function encodeMetadata(m: AssetMetadata): { json: string; hash: Hex; uri: string } {
  const json = JSON.stringify(canonical(m))
  return { json, hash: keccak256(new TextEncoder().encode(json)), uri: DATA_PREFIX + encodeURIComponent(json) }
}

/** The metadata in a `data:` token URI, checked against the on-chain hash; undefined for other URIs. */
export function decodeMetadataUri(uri: string, metadataHash: Hex): AssetMetadata | undefined {
  if (!uri.startsWith(DATA_PREFIX)) return undefined
  const json = decodeURIComponent(uri.slice(DATA_PREFIX.length))
  if (keccak256(new TextEncoder().encode(json)) !== metadataHash) throw new AssetError('METADATA_MISMATCH', `the token URI's metadata does not hash to the on-chain metadataHash ${metadataHash}`)
  return JSON.parse(json) as AssetMetadata
}
