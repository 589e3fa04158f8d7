/**
 * A closed dataset across real node processes on 127.0.0.1 (no --dev; helpers of
 * test/helpers/marketnet.ts): `owner` is the block producer and runs
 * `--assets.answer-grants <its identity>`; `worker` and `verifier` run `--worker` with their own
 * keystore identities. The owner registers a closed held-out dataset and grants the client; the
 * client's job over it is assigned to the worker, which publishes its key, asks for its job
 * grant, gets it from the owner's node, fetches the encrypted blob from its peers, decrypts and
 * runs; the verifier (registered after the assignment, so drawn to verify) asks for its own job
 * grant (`requestJobGrants` records the drawn verifiers' requests), gets it from the owner's node,
 * decrypts, re-executes, and the job is accepted. Nobody but the client holds a standing grant.
 * No node's store ever holds the plaintext.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { keccak256, toHex, type Address, type Hex } from 'viem'
import { contentHash } from '../../compute/ContentHash.js'
import { encodeDataset } from '../../compute/data/Dataset.js'
import { irisDataset } from '../../compute/data/IrisDataset.js'
import { ASSET_REGISTRY_ADDRESS } from '../../genesis/AssetRegistryGenesis.js'
import { DEV_MNEMONIC, deriveKeys } from '../../chain/DevKeys.js'
import { AssetRegistryReader } from '../assets/AssetRegistryReader.js'
import { ROOT, rpc, waitFor } from '../../test/helpers/devnode.js'
import { assetCli, memberKeyFile } from '../../test/helpers/assetcli.js'
import { processGroup } from '../../test/helpers/processGroup.js'
import { planMarketNet, startMarketNode, type MarketNode } from '../../test/helpers/marketnet.js'

t.test('closed dataset across processes: job grant from the owner node, worker and remote verifier decrypt', async (t) => {
  const { dir, nodes } = processGroup<MarketNode>(t, 'povchain-asset-multinode-')
  const plan = await planMarketNet(dir, ['owner', 'worker', 'verifier'])
  const ownerM = plan.members.owner!
  const ownerUp = startMarketNode(plan, 'owner', { args: ['--unlock', ownerM.address, '--assets.answer-grants', ownerM.address] }).then((n) => (nodes.push(n), n))
  const workerUp = startMarketNode(plan, 'worker', { bootnodes: [ownerM.multiaddr], worker: true }).then((n) => (nodes.push(n), n))
  const [owner, worker] = await Promise.all([ownerUp, workerUp])
  const url = owner.httpUrl
  const reg = new AssetRegistryReader({ call: (to: Address, data: Hex) => rpc<Hex>(url, 'eth_call', [{ to, data }, 'latest']) })

  const keyFile = (name: string, key?: Uint8Array) => memberKeyFile(dir, plan, name, key)
  const ownerKey = await keyFile('owner')
  const clientKey = await keyFile('client', deriveKeys(DEV_MNEMONIC, 2)[1]!) // dev #1: funded by the genesis
  const cli = (args: string[], key: string) => assetCli(url, key, args)

  const secret = encodeDataset({ ...irisDataset(), name: 'iris-heldout-multinode' })
  const plainHash = contentHash(secret)
  const secretFile = join(dir, 'heldout.json')
  writeFileSync(secretFile, secret)
  const registered = await cli(['asset', 'register', '--file', secretFile, '--kind', 'dataset', '--mode', 'closed'], ownerKey)
  const id = BigInt(registered.id as string)
  const client = (await cli(['asset', 'key'], clientKey)).address as string
  await cli(['asset', 'grant', String(id), client], ownerKey)
  await waitFor(async () => (await reg.publicKeyOf(worker.member.address)) !== '0x', "the worker's public key (published by its node)", 60_000, 100)
  t.pass('the worker node published its public key by itself')

  const spec = JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')) as Record<string, unknown>
  const specFile = join(dir, 'spec.json')
  writeFileSync(specFile, JSON.stringify({ ...spec, dataset: plainHash, params: { ...(spec.params as object), layers: [8], epochs: 20 }, checkpointInterval: 16 }))
  const jobId = (await cli(['asset', 'job', specFile, '--assets', String(id), '--dataset', secretFile], clientKey)).jobId as Hex
  // Registered after the assignment, so the contract draws it to verify.
  const verifier = await startMarketNode(plan, 'verifier', { bootnodes: [ownerM.multiaddr, worker.member.multiaddr], worker: true })
  nodes.push(verifier)

  const job = await waitFor(async () => {
    const j = await rpc<{ status: string; session: Hex }>(url, 'pov_getJob', [jobId])
    return j.status === 'accepted' || j.status === 'refunded' ? j : undefined
  }, 'the job to be final', 300_000, 250)
  t.equal(job.status, 'accepted', 'run by the worker node, verified by the remote verifier, accepted')
  const session = await rpc<{ worker: Address; verifiers: Address[] }>(url, 'pov_getSession', [job.session])
  t.equal(session.worker, worker.member.address, 'the worker node did the job')
  t.same(session.verifiers, [verifier.member.address], 'the verifier node verified it')
  const g = await reg.jobGrantOf(id, jobId, worker.member.address)
  t.ok(g.fulfilled && g.grantee === worker.member.address, "the owner's node fulfilled the worker's job grant")
  const vg = await reg.jobGrantOf(id, jobId, verifier.member.address)
  t.ok(vg.fulfilled && vg.grantee === verifier.member.address, "and the verifier's own job grant: the verifier decrypted through it (its accept vote needed the data)")
  const topic = (a: Address) => `0x${a.slice(2).toLowerCase().padStart(64, '0')}`
  const granted = await rpc<unknown[]>(url, 'eth_getLogs', [{ address: ASSET_REGISTRY_ADDRESS, fromBlock: '0x0', toBlock: 'latest', topics: [keccak256(toHex('Granted(uint256,address,bytes)')), toHex(id, { size: 32 })] }])
  t.equal(granted.length, 2, 'the only standing grants ever made: the owner to itself and to the client')
  for (const who of [worker.member.address, verifier.member.address]) t.equal(await reg.grantOf(id, who), '0x', `${who}: no standing grant`)
  const requested = await rpc<unknown[]>(url, 'eth_getLogs', [{ address: ASSET_REGISTRY_ADDRESS, fromBlock: '0x0', toBlock: 'latest', topics: [keccak256(toHex('JobGrantRequested(uint256,bytes32,address)')), toHex(id, { size: 32 }), jobId, topic(verifier.member.address)] }])
  t.equal(requested.length, 1, "the verifier's request is on record once")
  for (const n of [owner, worker, verifier]) t.equal(await rpc(n.httpUrl, 'pov_getBlob', [plainHash, 0, 8]), null, `${n.member.name}: no plaintext in the store`)
  t.ok(await rpc(worker.httpUrl, 'pov_getBlob', [registered.contentHash, 0, 8]), 'the worker holds the encrypted blob it fetched from a peer')
  t.ok(owner.output().includes('job grant fulfilled'), "the owner's node logged the fulfilment")
})
