import { readFile } from 'node:fs/promises'
import { encodeAbiParameters, encodeFunctionData, keccak256, type Hex } from 'viem'
import { contentHash } from '../../compute/ContentHash.js'
import { bundledDatasets } from '../../compute/data/BundledDatasets.js'
import { decodeJson, encodeJobSpec, jobSpecHash } from '../../compute/spec/JobSpec.js'
import { validateJobSpec } from '../../compute/workloads/WorkloadRegistry.js'
import { WORK_MARKET_ADDRESS, workMarketAbi } from '../../genesis/WorkMarketGenesis.js'
import { hexToBytes } from '../../common/bytes.js'
import { decryptBlob } from '../../compute/AssetCipher.js'
import { openKey } from '../../compute/KeySeal.js'
import { computeUnits, verifierCount, workloadId } from '../client/JobEstimate.js'
import { decodeMetadataUri } from './AssetMetadata.js'
import type { AssetClient } from './AssetClient.js'
import { AssetError } from './AssetError.js'
import { describeRegistryRevert, encodeRegistryCall } from './AssetRegistryReader.js'

/**
 * Posts a WorkMarket job and links its assets (`useInJob`, paying the fees) in two transactions
 * signed back to back: the market assigns a worker when the job is posted, and a fast worker
 * could finish before a later `asset use` arrives. The job id is known in advance:
 * keccak256(abi.encode(chainid, client, specHash, jobNonce(client))).
 */
export async function postJobWithAssets(c: AssetClient, o: { specPath: string; ids: bigint[]; price?: bigint; deadlineSec: bigint; datasetFile?: string }) {
  const spec = validateJobSpec(decodeJson(await readFile(o.specPath, 'utf8'), o.specPath))
  const rpc = c.chain.rpc
  const specHash = jobSpecHash(spec)
  await c.putBlob(encodeJobSpec(spec))
  const closed = spec.dataset ? await closedAssetWithPlaintext(c, o.ids, spec.dataset) : undefined
  let est: { price: Hex; units: Hex }
  if (spec.dataset && closed) {
    // A closed dataset: its plaintext never goes to the node (the node serves its store); the
    // workers decrypt the stored ciphertext with their job grants. The units are counted here.
    const bytes = o.datasetFile ? new Uint8Array(await readFile(o.datasetFile)) : await decryptWithOwnGrant(c, closed)
    if (contentHash(bytes) !== spec.dataset) throw new AssetError('INPUT', `--dataset: the file does not hash to the spec's dataset ${spec.dataset}`)
    const units = computeUnits(spec, { dataset: bytes })
    const p = await c.chain.call(WORK_MARKET_ADDRESS, encodeFunctionData({ abi: workMarketAbi(), functionName: 'estimatePrice', args: [units] }))
    est = { price: p, units: `0x${units.toString(16)}` }
  } else {
    if (spec.dataset) {
      const bytes = o.datasetFile ? new Uint8Array(await readFile(o.datasetFile)) : bundledDatasets().find((d) => d.hash === spec.dataset)?.bytes
      if (!bytes || contentHash(bytes) !== spec.dataset) throw new AssetError('INPUT', `the spec's dataset ${spec.dataset} is not bundled: pass --dataset FILE (a file with that hash)`)
      await c.putBlob(bytes)
    }
    // One run's price: postJob draws one worker (`price` is the mode's, once per replica; older nodes send only it).
    const e = await rpc.request<{ price: Hex; replicaPrice?: Hex; units: Hex }>('pov_estimateJob', [JSON.parse(await readFile(o.specPath, 'utf8'))])
    est = { price: e.replicaPrice ?? e.price, units: e.units }
  }
  const price = o.price ?? BigInt(est.price)
  let fees = 0n
  for (const id of o.ids) fees += await c.registry.useFee(id, c.from)
  const marketAbi = workMarketAbi()
  const nonce = BigInt(await c.chain.call(WORK_MARKET_ADDRESS, encodeFunctionData({ abi: marketAbi, functionName: 'jobNonce', args: [c.from] })))
  const chainId = BigInt(await rpc.request<Hex>('eth_chainId'))
  const jobId = keccak256(encodeAbiParameters([{ type: 'uint256' }, { type: 'address' }, { type: 'bytes32' }, { type: 'uint256' }], [chainId, c.from, specHash, nonce]))
  const head = await c.chain.head()
  const now = BigInt(Math.floor(Date.now() / 1000))
  const deadline = (head.timestamp > now ? head.timestamp : now) + o.deadlineSec
  const post = encodeFunctionData({ abi: marketAbi, functionName: 'postJob', args: [specHash, workloadId(spec), deadline, BigInt(spec.resources.timeoutSec) + 60n, BigInt(est.units), verifierCount(spec)] })
  const use = encodeRegistryCall('useInJob', [jobId, o.ids])
  const [p, u] = await c.sendBackToBack([
    { to: WORK_MARKET_ADDRESS, data: post, value: price },
    { to: c.registry.address, data: use, value: fees },
  ])
  if (!p!.ok) throw new AssetError('REVERTED', `postJob ${p!.hash} reverted (check the price and the deadline with \`povchain job estimate\`)`)
  if (!u!.ok) {
    // the job stands; say why the link failed (replayed on the head: the job exists by now)
    const why = await rpc.request('eth_call', [{ from: c.from, to: c.registry.address, data: use, value: `0x${fees.toString(16)}` }, 'latest']).then(
      () => undefined,
      (e: { data?: Hex }) => describeRegistryRevert(e.data),
    )
    throw new AssetError('REVERTED', `job ${jobId} was posted, but useInJob ${u!.hash} reverted${why ? `: ${why}` : ''}`)
  }
  return { jobId, specHash, price, fees, postTx: p!.hash, useTx: u!.hash }
}

/** The closed asset among `ids` whose plaintext is `hash` (its metadata's plaintextHash), if any. */
async function closedAssetWithPlaintext(c: AssetClient, ids: bigint[], hash: Hex): Promise<bigint | undefined> {
  for (const id of ids) {
    const a = await c.registry.asset(id)
    if (!a || a.access !== 'closed') continue
    const meta = decodeMetadataUri(a.uri, a.metadataHash)
    if (meta?.encryption === 'PVA1' && meta.plaintextHash.toLowerCase() === hash.toLowerCase()) return id
  }
  return undefined
}

/** The plaintext of a closed asset through the client's own grant (it needs one to link the asset anyway). */
async function decryptWithOwnGrant(c: AssetClient, id: bigint): Promise<Uint8Array> {
  const a = (await c.registry.asset(id))!
  const sealed = await c.registry.grantOf(id, c.from)
  if (sealed === '0x') throw new AssetError('NO_GRANT', `${c.from} holds no grant of closed asset ${id}: pass --dataset FILE, or ask its owner for a grant`)
  return decryptBlob(openKey(hexToBytes(sealed), c.privateKey('reading a closed dataset')), await c.getBlob(a.contentHash, 1024 * 1024 * 1024))
}
