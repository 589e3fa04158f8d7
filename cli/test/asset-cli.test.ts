/**
 * The asset CLI under the names the marketplace issue gives them, on a real in-process --dev
 * node: `asset publish FILE --access …` (alias of register), `asset search TEXT` (alias of list,
 * matching the metadata text over every page), `asset get ID --out FILE` (alias of fetch), and
 * the errors a user gets for a missing or doubled file.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Hex } from 'viem'
import { bytesToHex } from '../../common/bytes.js'
import { DEV_MNEMONIC, deriveKeys } from '../../chain/DevKeys.js'
import { runAssetCli } from '../../test/helpers/assetcli.js'
import { startInProcessNode, tempDir } from '../../test/helpers/devnode.js'
import { Command } from 'commander'
import { silentLogger } from '../../common/logger.js'
import { registerAssetCommands } from '../AssetCommand.js'

const KEYS = deriveKeys(DEV_MNEMONIC, 20)

t.test('asset publish / search / get', async (t) => {
  const { dir, cleanup } = tempDir('povchain-asset-cli-')
  const n = await startInProcessNode()
  t.teardown(async () => {
    await n.stop()
    cleanup()
  })
  const keyFile = join(dir, 'key')
  writeFileSync(keyFile, bytesToHex(KEYS[1]!))
  const cli = (args: string[]) => runAssetCli(n.httpUrl, keyFile, args)
  const file = (name: string, text: string) => {
    const f = join(dir, name)
    writeFileSync(f, text)
    return f
  }

  const a = await cli(['asset', 'publish', file('tulips.csv', 'x,y\n1,2\n'), '--kind', 'dataset', '--access', 'free', '--description', 'Tulip petal measurements'])
  t.equal(a.ok, true, 'publish FILE --access free')
  const b = await cli(['asset', 'publish', file('roses.bin', 'weights'), '--kind', 'model', '--access', 'paid', '--price', '0.1', '--name', 'rose classifier'])
  t.equal(b.ok, true, 'publish a paid model')
  const c = await cli(['asset', 'register', '--file', file('other.csv', 'a\n'), '--kind', 'dataset', '--mode', 'free', '--licence', 'CC-BY tulip'])
  t.equal(c.ok, true, 'the register spelling still works')

  const search = async (text: string, extra: string[] = []) => ((await cli(['asset', 'search', text, ...extra])) as unknown as { total: number; assets: { id: Hex; name: string }[] })
  const tulip = await search('TULIP')
  t.same(tulip.assets.map((x) => Number(BigInt(x.id))).sort(), [Number(a.id), Number(c.id)], 'search matches description and licence, case-insensitively')
  t.equal(tulip.total, 2)
  t.same((await search('rose')).assets.map((x) => x.name), ['rose classifier'], 'and the name')
  t.same((await search('tulip', ['--kind', 'dataset', '--limit', '1'])).assets.length, 1, 'filters and paging apply to the matches')
  t.equal((await search('orchid')).total, 0, 'no match')

  // The text form of `asset show`: what a person reads.
  let shown = ''
  const program = new Command().exitOverride()
  registerAssetCommands(program, { logger: silentLogger, io: { out: (s) => (shown += s), err: (s) => (shown += s) } })
  await program.parseAsync(['node', 'povchain', 'asset', 'show', String(b.id), '--rpc', n.httpUrl])
  t.match(shown, /asset \d+ — rose classifier\n/, 'name')
  t.match(shown, /licence \(none stated\)/, 'licence line even when none was given')
  t.match(shown, /price 0\.1 coins per use in a job, 0 coins per download/, 'prices, rounded')
  let shownA = ''
  const p2 = new Command().exitOverride()
  registerAssetCommands(p2, { logger: silentLogger, io: { out: (s) => (shownA += s), err: (s) => (shownA += s) } })
  await p2.parseAsync(['node', 'povchain', 'asset', 'show', String(c.id), '--rpc', n.httpUrl])
  t.match(shownA, /licence CC-BY tulip/, 'the licence given at registration')

  const out = join(dir, 'got.csv')
  const got = await cli(['asset', 'get', String(a.id), '--out', out])
  t.equal(got.ok, true, 'get ID --out FILE')
  t.equal(readFileSync(out, 'utf8'), 'x,y\n1,2\n', 'the blob, checked against its hash')

  t.match((await cli(['asset', 'publish', '--kind', 'model'])).error, { code: 'ASSET_BAD_ARGS', message: /name the blob/ }, 'no file: a clear error')
  t.match((await cli(['asset', 'publish', file('p.bin', 'p'), '--file', file('q.bin', 'q'), '--kind', 'model'])).error, { code: 'ASSET_BAD_ARGS', message: /two files/ }, 'two different files: refused')
})
