import { Level } from 'level'

/**
 * The node's one LevelDB. Every module keeps its data under its own one-byte key prefix
 * (see KeyPrefix) so that a block, its receipts, its state changes and the head pointer can
 * be written in a single atomic batch.
 */
export type ChainDB = Level<Uint8Array, Uint8Array>

export type DbOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }

export const KeyPrefix = {
  header: 0x68, // 'h' + hash → header RLP
  body: 0x62, // 'b' + hash → body RLP
  receipts: 0x72, // 'r' + hash → stored receipts
  canonical: 0x6e, // 'n' + u64 number → hash
  txLocation: 0x74, // 't' + tx hash → block hash ‖ u32 index
  meta: 0x6d, // 'm' + name → value
  state: 0x73, // 's' + trie node key → node (state trie, storage tries, code)
  forkWeight: 0x77, // 'w' + hash → cumulative fork-choice weight
  addressTx: 0x61, // 'a' + address + u64 number + u32 tx index → tx hash ‖ roles (AddressIndex.ts)
  addressTransfer: 0x6b, // 'k' + address + u64 number + u32 log index → Transfer log (AddressIndex.ts)
} as const

export async function openChainDB(path: string): Promise<ChainDB> {
  const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  return db
}

export function prefixed(prefix: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1)
  out[0] = prefix
  out.set(key, 1)
  return out
}

export async function dbGet(db: ChainDB, key: Uint8Array): Promise<Uint8Array | undefined> {
  // level 10 returns undefined for a missing key instead of throwing
  return (await db.get(key)) ?? undefined
}
