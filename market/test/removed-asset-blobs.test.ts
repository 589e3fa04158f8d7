/**
 * Removed assets on a real in-process --dev node (no worker, so a posted job stays open): the
 * blob of a removed asset is kept while a job that linked it before the removal is open, served
 * to nobody anonymous, then deleted once that job is final; a removed "asset" that names a
 * dataset bundled with the node never takes it away; the janitor's cursor survives a restart.
 * A job spec someone publishes as a paid asset and removes stays served and kept.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeFunctionData, keccak256, toHex, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { bytesToHex } from '../../common/bytes.js'
import { bundledDatasets } from '../../compute/data/BundledDatasets.js'
import { decodeJson, encodeJobSpec, jobSpecHash } from '../../compute/spec/JobSpec.js'
import { validateJobSpec } from '../../compute/workloads/WorkloadRegistry.js'
import { ASSET_REGISTRY_ADDRESS, assetRegistryAbi } from '../../genesis/AssetRegistryGenesis.js'
import { DEV_MNEMONIC, deriveKeys } from '../../chain/DevKeys.js'
import { WORK_MARKET_ADDRESS, workMarketAbi } from '../../genesis/WorkMarketGenesis.js'
import { AssetClient } from '../assets/AssetClient.js'
import { postJobWithAssets } from '../assets/JobWithAssets.js'
import { ROOT, rpc, rpcRaw, startInProcessNode, tempDir, waitFor } from '../../test/helpers/devnode.js'

const KEYS = deriveKeys(DEV_MNEMONIC, 20)
const addrOf = (i: number) => privateKeyToAccount(bytesToHex(KEYS[i]!) as Hex).address
const [OWNER, CLIENT] = [1, 3]

t.test('removed assets: pinned while a linked job is open, dropped after, bundled data kept', async (t) => {
  const { dir, cleanup } = tempDir('povchain-removed-assets-')
  t.teardown(cleanup)
  const datadir = join(dir, 'node')
  let n = await startInProcessNode({ datadir, cfg: { assets: { pollMs: 100 } } })
  t.teardown(() => n.stop())
  const url = () => n.httpUrl
  const send = async (from: number, to: Address, data: Hex) => {
    const hash = await rpc<Hex>(url(), 'eth_sendTransaction', [{ from: addrOf(from), to, data, gas: '0x4c4b40' }])
    const r = await waitFor(() => rpc<{ status: Hex } | null>(url(), 'eth_getTransactionReceipt', [hash]), 'receipt', 60_000)
    if (r.status !== '0x1') throw new Error('reverted')
  }
  const reg = (functionName: string, args: readonly unknown[]) => encodeFunctionData({ abi: assetRegistryAbi(), functionName, args } as never)
  const publish = async (hash: Hex, access = 0, price = 0n) => {
    await send(OWNER, ASSET_REGISTRY_ADDRESS, reg('publish', [1, hash, 10n, keccak256('0x'), '', access, price, price]))
    return BigInt(await rpc<Hex>(url(), 'eth_call', [{ to: ASSET_REGISTRY_ADDRESS, data: reg('assetCount', []) }, 'latest']))
  }
  const janitorState = () => JSON.parse(readFileSync(join(datadir, 'assets', 'removed-assets.json'), 'utf8')) as { cursor: string; state: { deferred: string[] } }

  // A free dataset, linked by an open job.
  const data = new TextEncoder().encode('x,y\n1,2\n')
  const h = await rpc<Hex>(url(), 'pov_putBlob', [bytesToHex(data)])
  const id = await publish(h)
  const client = await AssetClient.connect(url(), { key: KEYS[CLIENT]! })
  const { jobId } = await postJobWithAssets(client, { specPath: join(ROOT, 'compute/examples/iris-train.json'), ids: [id], deadlineSec: 3600n })
  t.equal((await rpc<{ status: string }>(url(), 'pov_getJob', [jobId])).status, 'open', 'no worker: the job stays open')

  await send(OWNER, ASSET_REGISTRY_ADDRESS, reg('remove', [id]))
  await waitFor(() => janitorState().state.deferred.includes(id.toString()), 'the janitor to see the removal', 30_000, 100)
  t.ok(await rpc(url(), 'pov_getBlob', [h, 0, 0]), 'the blob is kept while the job that linked it is open')
  t.match((await rpcRaw(url(), 'pov_getBlob', [h, 0, 100])).error, { code: -32001, message: /removed asset/ }, 'but served to nobody anonymous')

  // A restart keeps the pin (and the cursor).
  const cursor = BigInt(janitorState().cursor)
  await n.node.stop()
  n = await startInProcessNode({ datadir, cfg: { assets: { pollMs: 100 } } })
  t.ok(BigInt(janitorState().cursor) >= cursor, 'the cursor survived the restart')
  await new Promise((r) => setTimeout(r, 500))
  t.ok(await rpc(url(), 'pov_getBlob', [h, 0, 0]), 'still pinned after the restart')

  await send(CLIENT, WORK_MARKET_ADDRESS, encodeFunctionData({ abi: workMarketAbi(), functionName: 'cancel', args: [jobId] }))
  await waitFor(async () => (await rpc(url(), 'pov_getBlob', [h, 0, 0])) === null, 'the blob to be dropped once the job is final', 30_000, 100)
  t.pass('dropped once the job was refunded')

  // Publishing the hash of the bundled iris dataset and removing it takes nothing from the node.
  const iris = bundledDatasets()[0]!
  const fake = await publish(iris.hash)
  await send(OWNER, ASSET_REGISTRY_ADDRESS, reg('remove', [fake]))
  await waitFor(() => !janitorState().state.deferred.includes(fake.toString()) && BigInt(janitorState().cursor) >= BigInt((n.node.backend.head().number)), 'the janitor to pass the removal', 30_000, 100)
  t.equal(((await rpc<{ total: number }>(url(), 'pov_getBlob', [iris.hash, 0, 0])).total), iris.bytes.length, 'the bundled dataset stays')
  t.ok(await rpc(url(), 'pov_getBlob', [iris.hash, 0, 100]), 'and is served')
})

t.test('a job spec claimed as a paid asset, then removed, stays served and kept', async (t) => {
  const { dir, cleanup } = tempDir('povchain-claimed-spec-')
  t.teardown(cleanup)
  const n = await startInProcessNode({ datadir: dir, cfg: { assets: { pollMs: 100 } } })
  t.teardown(() => n.stop())
  const url = n.httpUrl
  const send = async (data: Hex) => {
    const hash = await rpc<Hex>(url, 'eth_sendTransaction', [{ from: addrOf(OWNER), to: ASSET_REGISTRY_ADDRESS, data, gas: '0x4c4b40' }])
    const r = await waitFor(() => rpc<{ status: Hex } | null>(url, 'eth_getTransactionReceipt', [hash]), 'receipt', 60_000)
    if (r.status !== '0x1') throw new Error('reverted')
  }
  const reg = (functionName: string, args: readonly unknown[]) => encodeFunctionData({ abi: assetRegistryAbi(), functionName, args } as never)
  const spec = validateJobSpec(decodeJson(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8'), 'spec'))
  const specHash = await rpc<Hex>(url, 'pov_putBlob', [bytesToHex(encodeJobSpec(spec))])
  t.equal(specHash, jobSpecHash(spec))
  await send(reg('publish', [0, specHash, 10n, keccak256('0x'), '', 1, 1n, 1n]))
  t.ok(await rpc(url, 'pov_getBlob', [specHash, 0, 100]), "a paid 'asset' claiming a job spec does not gate it")
  t.equal(await n.node.assets!.servesPeers(specHash), true, 'nor for peers')
  await send(reg('remove', [1n]))
  const state = () => JSON.parse(readFileSync(join(dir, 'assets', 'removed-assets.json'), 'utf8')) as { cursor: string; state: { deferred: string[] } }
  await waitFor(() => BigInt(state().cursor) >= n.node.backend.head().number && state().state.deferred.length === 0, 'the janitor to pass the removal', 30_000, 100)
  t.ok(await rpc(url, 'pov_getBlob', [specHash, 0, 100]), 'removing it drops nothing')
})
