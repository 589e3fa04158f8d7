/**
 * pov_getAsset / pov_listAssets / pov_getAssetScore on a real in-process --dev node: assets
 * published by dev accounts through eth_sendTransaction, read back through the node's
 * RpcBackend (filters, sorting, paging, bad parameters), and the metadata document round trip.
 */
import t from 'tap'
import fc from 'fast-check'
import { encodeFunctionData, keccak256, toHex, type Address, type Hex } from 'viem'
import { ASSET_REGISTRY_ADDRESS, assetRegistryAbi } from '../../genesis/AssetRegistryGenesis.js'
import { decodeMetadataUri, encodeMetadata } from '../assets/AssetMetadata.js'
import { MAX_ASSET_PAGE } from '../assets/AssetRpcMethods.js'
import { rpc, rpcRaw, startInProcessNode, waitFor } from '../../test/helpers/devnode.js'

const abi = assetRegistryAbi()

t.test('pov_ asset methods over a real dev node', async (t) => {
  const n = await startInProcessNode()
  t.teardown(() => n.stop())
  const url = n.httpUrl
  const [a, b] = await rpc<Address[]>(url, 'eth_accounts')
  const send = async (from: Address, functionName: string, args: readonly unknown[]) => {
    const hash = await rpc<Hex>(url, 'eth_sendTransaction', [{ from, to: ASSET_REGISTRY_ADDRESS, data: encodeFunctionData({ abi, functionName, args } as never), gas: '0x4c4b40' }])
    const r = await waitFor(() => rpc<{ status: Hex } | null>(url, 'eth_getTransactionReceipt', [hash]), 'receipt')
    if (r.status !== '0x1') throw new Error(`${functionName} reverted`)
  }
  const meta = encodeMetadata({ name: 'iris', kind: 'dataset', size: 10, plaintextHash: keccak256(toHex('iris')), licence: 'CC0' })
  // kinds: 0 model, 1 dataset; access: 0 free, 1 paid, 2 closed
  await send(a!, 'publish', [1, keccak256(toHex('d1')), 10n, meta.hash, meta.uri, 0, 0n, 0n])
  await send(b!, 'publish', [0, keccak256(toHex('m1')), 20n, keccak256(toHex('x')), 'ipfs://m1', 1, 5n, 0n])
  await send(a!, 'publish', [0, keccak256(toHex('m2')), 30n, keccak256(toHex('y')), '', 2, 0n, 0n])
  await send(a!, 'remove', [3n])

  const one = await rpc<Record<string, unknown>>(url, 'pov_getAsset', ['0x1'])
  t.equal((one.owner as string).toLowerCase(), a!.toLowerCase())
  t.match(one, { id: '0x1', kind: 'dataset', mode: 'free', size: '0xa', usage: '0x0', clientRatings: 0, averageStars: null, score: `0x${(3_000_000).toString(16)}` })
  t.same(decodeMetadataUri(one.uri as string, one.metadataHash as Hex), JSON.parse(meta.json), 'the token URI carries the metadata, checked against its hash')
  t.match(await rpc(url, 'pov_getAsset', [2]), { kind: 'model', mode: 'paid', pricePerUse: '0x5' }, 'ids as numbers too')
  t.equal(await rpc(url, 'pov_getAsset', ['4']), null)
  t.match(await rpc(url, 'pov_getAssetScore', ['1']), { usage: '0x0', ratingScore: `0x${(3_000_000).toString(16)}`, score: `0x${(3_000_000).toString(16)}`, formula: { priorMean: 3, priorWeight: 5 } })

  const ids = async (filter: object) => (await rpc<{ total: number; assets: { id: Hex }[] }>(url, 'pov_listAssets', [filter])).assets.map((x) => Number(BigInt(x.id)))
  t.same(await ids({}), [1, 2, 3], 'all, by id')
  t.same(await ids({ kind: 'model' }), [2, 3])
  t.same(await ids({ mode: 'removed' }), [3], 'removed assets stay listed with their mode')
  t.same(await ids({ owner: a }), [1, 3], 'by owner')
  t.same(await ids({ sort: 'new' }), [3, 2, 1])
  t.same(await ids({ offset: 1, limit: 1 }), [2], 'paging')
  t.equal((await rpc<{ total: number }>(url, 'pov_listAssets', [{ kind: 'model', limit: 1 }])).total, 2, 'total counts every match')
  for (const [params, what] of [[['0'], 'id 0'], [['abc'], 'a word'], [[-1], 'a negative id']] as const) t.equal((await rpcRaw(url, 'pov_getAsset', params as unknown as unknown[])).error?.code, -32602, `pov_getAsset: ${what} is a bad parameter`)
  for (const [f, what] of [[{ kind: 'weights' }, 'unknown kind'], [{ mode: 'secret' }, 'unknown mode'], [{ owner: '0x12' }, 'bad owner'], [{ sort: 'name' }, 'unknown sort'], [{ limit: -1 }, 'negative limit']] as const)
    t.equal((await rpcRaw(url, 'pov_listAssets', [f])).error?.code, -32602, `pov_listAssets: ${what}`)
  t.equal(MAX_ASSET_PAGE, 100)
})

t.test('metadata: canonical encoding round trips and is checked against its hash', async (t) => {
  fc.assert(
    fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), fc.constantFrom('model' as const, 'dataset' as const), fc.nat(), (name, description, kind, size) => {
      const m = { name, description, kind, size, plaintextHash: keccak256(toHex(name)) }
      const e = encodeMetadata(m)
      const back = decodeMetadataUri(e.uri, e.hash)!
      return back.name === name && back.description === description && back.kind === kind && back.size === size && encodeMetadata(back).hash === e.hash
    }),
    { numRuns: 200 },
  )
  const e = encodeMetadata({ name: 'x', kind: 'model', size: 1, plaintextHash: keccak256('0x') })
  t.throws(() => decodeMetadataUri(e.uri, keccak256(toHex('other'))), { code: 'ASSET_METADATA_MISMATCH' })
  t.equal(decodeMetadataUri('ipfs://x', e.hash), undefined, 'other URIs are not decoded')
})
