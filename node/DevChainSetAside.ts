/**
 * `povchain node --dev` on a datadir whose chain has another genesis: the dev genesis carries
 * the system contracts' code, so every povchain release that changes a contract changes it, and
 * `npm start` after an upgrade would refuse to run. A dev chain is disposable but not worthless,
 * so instead of deleting it the node moves what belongs to that chain (its database, the
 * transaction journal, the attesters' slashing-protection records, which would stop votes on
 * the new chain) into `older-chains/` and starts afresh; keys, blobs and assets stay. A datadir
 * written by a povchain whose block headers had another format (CHAIN_OLD_FORMAT) cannot even
 * be read to learn its genesis: it goes aside the same way, named `old-format`.
 */
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'

/** What in a datadir belongs to one chain. */
function chainFiles(datadir: string): string[] {
  return readdirSync(datadir).filter((f) => f === 'chaindata' || f === 'transactions.journal' || /^attester(-[0-9a-f]+)?\.json$/.test(f))
}

/**
 * Moves the chain's files into `<datadir>/older-chains/<time>-genesis-<hash>/` (or
 * `<time>-old-format/` when the genesis could not be read); returns that folder.
 */
export function setAsideDevChain(datadir: string, storedGenesis: string | 'old-format', now = new Date()): string {
  const label = storedGenesis === 'old-format' ? 'old-format' : `genesis-${storedGenesis.slice(2, 10)}`
  const dir = join(datadir, 'older-chains', `${now.toISOString().replace(/[:.]/g, '-')}-${label}`)
  mkdirSync(dir, { recursive: true })
  for (const f of chainFiles(datadir)) if (existsSync(join(datadir, f))) renameSync(join(datadir, f), join(dir, f))
  return dir
}
