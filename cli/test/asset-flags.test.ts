/**
 * `povchain node --assets.*` flags map one-to-one onto AssetNodeConfig (cli/assetFlags.ts),
 * and a real node process wires them: the responder runs, a paid blob is refused to anonymous
 * reads and served to a request signed for the node's --assets.origin (not another origin).
 * `--worker.fetch-allow` parses into WorkerConfig and both show in `povchain node --help`.
 */
import t from 'tap'
import { Command } from 'commander'
import { join } from 'node:path'
import { encodeFunctionData, keccak256, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { ASSET_REGISTRY_ADDRESS, assetRegistryAbi } from '../../genesis/AssetRegistryGenesis.js'
import { hexToBytes } from '../../common/bytes.js'
import { blobRequestFields, blobRequestToJson, signBlobRequest } from '../../market/assets/DownloadAuth.js'
import { addAssetNodeOptions, assetConfigFromOptions } from '../assetFlags.js'
import { addWorkerOptions, workerConfigFromOptions } from '../workerFlags.js'
import { DEV_KEYS, rpc, rpcRaw, startNodeProcess, tempDir, waitFor } from '../../test/helpers/devnode.js'

const parse = (args: string[]) => {
  const cmd = addAssetNodeOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }))
  cmd.parse(['node', 'povchain', ...args])
  return assetConfigFromOptions(cmd.opts())
}

t.test('--assets.* flags', async (t) => {
  t.same(parse([]), {}, 'off by default: no grant answering; removed blobs dropped; paid downloads checked')
  t.same(parse(['--assets.answer-grants']), { answerGrants: [] }, 'no addresses: every key the node holds')
  const a = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
  t.same(parse(['--assets.answer-grants', `${a}, ${a.toLowerCase()}`]), { answerGrants: [a, a.toLowerCase()] })
  t.same(parse(['--assets.answer-grants', '--assets.no-verifier-grants', '--assets.keep-removed', '--assets.free-downloads']), { answerGrants: [], grantVerifiers: false, keepRemoved: true, freeDownloads: true })
  t.throws(() => parse(['--assets.answer-grants', '0x12']), /not an address/)
  t.same(parse(['--assets.origin', 'https://node.example:8545, http://10.0.0.5:8545']), { origins: ['https://node.example:8545', 'http://10.0.0.5:8545'] }, 'the origins clients reach the node under')
  t.throws(() => parse(['--assets.origin', 'node.example']), /--assets.origin: node.example is no URL/)
})

t.test('--worker.fetch-allow: registered endpoints asked over HTTP (default none: p2p only)', async (t) => {
  const parseWorker = (args: string[]) => {
    const cmd = addWorkerOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }))
    cmd.parse(['node', 'povchain', '--worker', ...args])
    return workerConfigFromOptions(cmd.opts(), true)!
  }
  t.equal(parseWorker([]).fetchAllow, undefined, 'none by default')
  t.same(parseWorker(['--worker.fetch-allow', '*,node.example:8545,127.0.0.1,10.0.0.0/8:8545']).fetchAllow, ['*', 'node.example:8545', '127.0.0.1', '10.0.0.0/8:8545'])
  t.throws(() => parseWorker(['--worker.fetch-allow', 'http://node.example']), /is none of \*, host\[:port\]/)
  const help = addWorkerOptions(addAssetNodeOptions(new Command('node'))).helpInformation()
  for (const flag of ['--worker.fetch-allow', '--assets.origin']) t.match(help, flag, `\`povchain node --help\` lists ${flag}`)
})

t.test('a `povchain node --dev --assets.answer-grants A` process answers for A and guards paid blobs', async (t) => {
  const { dir, cleanup } = tempDir('povchain-asset-flags-')
  t.teardown(cleanup)
  const owner = privateKeyToAccount(DEV_KEYS[1] as Hex).address
  const node = await startNodeProcess({ datadir: join(dir, 'node'), args: ['--assets.answer-grants', owner, '--assets.origin', 'https://node.example:8545'], timeoutMs: 120_000 })
  t.teardown(() => node.stop())
  await waitFor(() => node.output().includes('answering job grant requests'), 'the responder to start', 30_000, 100)
  t.ok(node.output().split('\n').some((l) => l.includes('answering job grant requests') && l.includes(owner)), 'the responder runs for the owner')
  const h = await rpc<Hex>(node.httpUrl, 'pov_putBlob', [toHex('paid weights')])
  const data = encodeFunctionData({ abi: assetRegistryAbi(), functionName: 'publish', args: [0, h, 12n, keccak256('0x'), '', 1, 1n, 1n] } as never)
  const tx = await rpc<Hex>(node.httpUrl, 'eth_sendTransaction', [{ from: owner, to: ASSET_REGISTRY_ADDRESS, data, gas: '0x4c4b40' }])
  await waitFor(() => rpc(node.httpUrl, 'eth_getTransactionReceipt', [tx]), 'publish mined', 30_000)
  t.equal((await rpcRaw(node.httpUrl, 'pov_getBlob', [h, 0, 100])).error?.code, -32001, 'an anonymous read of the paid blob is refused')
  // --assets.origin: a request signed for the public origin the operator named is served; one for another origin is not.
  const signedFor = async (server: string) => {
    const { nonce } = await rpc<{ nonce: Hex }>(node.httpUrl, 'pov_blobChallenge')
    return blobRequestToJson(await signBlobRequest(hexToBytes(DEV_KEYS[1]!), blobRequestFields(31337n, h, { server, nonce })))
  }
  t.ok(await rpc(node.httpUrl, 'pov_getBlob', [h, 0, 100, await signedFor('https://node.example:8545')]), 'signed for the --assets.origin: served')
  t.ok(await rpc(node.httpUrl, 'pov_getBlob', [h, 0, 100, await signedFor(new URL(node.httpUrl).origin)]), 'signed for the listen URL: served')
  t.match((await rpcRaw(node.httpUrl, 'pov_getBlob', [h, 0, 100, await signedFor('https://other.example:8545')])).error, { code: -32602, message: /addressed to https:\/\/other\.example:8545, not to this node/ }, 'signed for another origin: refused')
})
