/**
 * `npm start` after an upgrade: the dev genesis carries the system contracts' code, so a
 * povchain that changed a contract finds a dev datadir with another genesis. The dev node moves
 * that chain's files aside (older-chains/) and starts a fresh dev chain, keeping keys and blobs;
 * a node on a named genesis still refuses a datadir of another chain.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
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
