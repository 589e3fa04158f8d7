/**
 * `npm start` after an upgrade: the dev genesis carries the system contracts' code, so a
 * povchain that changed a contract finds a dev datadir with another genesis. The dev node moves
 * that chain's files aside (older-chains/) and starts a fresh dev chain, keeping keys and blobs;
 * a node on a named genesis still refuses a datadir of another chain. A datadir in the old
 * block-header format, which cannot be read at all, is treated the same way.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { encode } from '@ethereumjs/rlp'
import { openChainDB, KeyPrefix, prefixed } from '../chain/Database.js'
import { keccak256 } from '../chain/keccak.js'
import { devnetGenesis } from '../cli/devnet.js'
import { rpc, startInProcessNode, tempDir } from './helpers/devnode.js'

const PRODUCER = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8'

t.test('a dev datadir of another genesis is set aside, not refused; a named genesis still refuses it', async (t) => {
  const tmp = tempDir()
  t.teardown(() => tmp.cleanup())
  const d = tmp.dir
  const genesisFile = (timestamp: number) => {
    const f = join(d, `genesis-${timestamp}.json`)
    writeFileSync(f, JSON.stringify(devnetGenesis({ producers: [PRODUCER], slotSeconds: 2, chainId: 4242, timestamp })))
    return f
  }
  // A chain of another genesis in the datadir, with what a node leaves beside it.
  const other = await startInProcessNode({ datadir: d, cfg: { dev: false, genesisFile: genesisFile(1_700_000_000) } })
  const otherGenesis = (await rpc<{ hash: string }>(other.httpUrl, 'eth_getBlockByNumber', ['0x0', false])).hash
  await other.stop()
  writeFileSync(join(d, 'attester.json'), '{"lastTarget":"0x99"}')
  mkdirSync(join(d, 'keystore'), { recursive: true })
  writeFileSync(join(d, 'keystore', 'key.json'), '{}')

  const refused = await startInProcessNode({ datadir: d, cfg: { dev: false, genesisFile: genesisFile(1_700_000_001) } }).then(
    async (n) => (await n.stop(), undefined),
    (e: { code?: string }) => e,
  )
  t.equal(refused?.code, 'NODE_GENESIS_MISMATCH', 'a named genesis refuses the datadir of another chain')

  const dev = await startInProcessNode({ datadir: d })
  t.equal(await rpc<string>(dev.httpUrl, 'eth_chainId'), '0x7a69', 'the dev node runs the dev chain')
  t.equal(await rpc<string>(dev.httpUrl, 'eth_blockNumber'), '0x0', 'from its genesis')
  const older = readdirSync(join(d, 'older-chains'))
  t.equal(older.length, 1, 'the older chain was moved aside once')
  t.match(older[0]!, new RegExp(`genesis-${otherGenesis.slice(2, 10)}$`), 'named by its genesis')
  for (const f of ['chaindata', 'attester.json', 'transactions.journal']) t.ok(existsSync(join(d, 'older-chains', older[0]!, f)), `${f} moved with it`)
  t.ok(existsSync(join(d, 'keystore', 'key.json')), 'the keystore stays')
  await dev.stop()

  const again = await startInProcessNode({ datadir: d })
  t.equal(await rpc<string>(again.httpUrl, 'eth_chainId'), '0x7a69', 'restarted on its own dev chain')
  await again.stop()
  t.equal(readdirSync(join(d, 'older-chains')).length, 1, 'its own chain is not moved again')
})

t.test('a dev datadir written in the old header format is set aside too; a named genesis refuses it with the re-init advice', async (t) => {
  const tmp = tempDir()
  t.teardown(() => tmp.cleanup())
  const d = tmp.dir
  // What an older povchain left: a head pointer to a header of 22 RLP fields (13 Ethereum, the
  // PoV fields, the seal), which this version cannot read.
  const db = await openChainDB(join(d, 'chaindata'))
  const old = encode(Array.from({ length: 22 }, (_, i) => new Uint8Array([i + 1])))
  const oldHash = keccak256(old)
  await db.batch([
    { type: 'put', key: prefixed(KeyPrefix.header, oldHash), value: old },
    { type: 'put', key: prefixed(KeyPrefix.meta, new TextEncoder().encode('head')), value: oldHash },
  ])
  await db.close()

  const named = join(d, 'genesis.json')
  writeFileSync(named, JSON.stringify(devnetGenesis({ producers: [PRODUCER], slotSeconds: 2, chainId: 4242, timestamp: 1_700_000_000 })))
  const refused = await startInProcessNode({ datadir: d, cfg: { dev: false, genesisFile: named } }).then(
    async (n) => (await n.stop(), undefined),
    (e: { code?: string; message?: string }) => e,
  )
  t.equal(refused?.code, 'CHAIN_OLD_FORMAT', 'a named genesis refuses it')
  t.match(refused?.message, /povchain init --genesis/, 'and says how to re-initialise')

  const dev = await startInProcessNode({ datadir: d })
  t.equal(await rpc<string>(dev.httpUrl, 'eth_blockNumber'), '0x0', 'the dev node starts a fresh dev chain')
  const older = readdirSync(join(d, 'older-chains'))
  t.equal(older.length, 1, 'the old chain was moved aside')
  t.match(older[0]!, /-old-format$/, 'named as the old format')
  t.ok(existsSync(join(d, 'older-chains', older[0]!, 'chaindata')), 'its database moved with it')
  await dev.stop()
})
