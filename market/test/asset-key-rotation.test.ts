/**
 * Closed assets after revocation (issue 17), on a real in-process --dev node driven by the asset
 * CLI: the owner revokes a grantee with `asset revoke` (which rotates the content key by default),
 * and the revoked account plays its best hand — the sealed key it was given, the old ciphertext it
 * downloaded, signed download requests for the new and the old blob, the CLI — against the new
 * version. A grantee the owner kept opens the new version; what revocation cannot undo (the old
 * version, already opened) is asserted too, so the docs' claim is tested both ways.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getAddress, parseEther, toHex, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { DEV_MNEMONIC, deriveKeys } from '../../chain/DevKeys.js'
import { decryptBlob } from '../../compute/AssetCipher.js'
import { openKey } from '../../compute/KeySeal.js'
import { silentLogger } from '../../common/logger.js'
import { contentHash } from '../../compute/ContentHash.js'
import { encodeDataset } from '../../compute/data/Dataset.js'
import { irisDataset } from '../../compute/data/IrisDataset.js'
import { ASSET_REGISTRY_ADDRESS } from '../../genesis/AssetRegistryGenesis.js'
import { WORK_MARKET_ADDRESS } from '../../genesis/WorkMarketGenesis.js'
import { runAssetCli } from '../../test/helpers/assetcli.js'
import { ROOT, rpc, startInProcessNode, tempDir, waitFor } from '../../test/helpers/devnode.js'
import { AssetClient } from '../assets/AssetClient.js'
import { encodeRegistryCall } from '../assets/AssetRegistryReader.js'
import { JobGrantResponder } from '../assets/JobGrantResponder.js'
import { encodeMarketCall } from '../client/WorkMarketReader.js'

const KEYS = deriveKeys(DEV_MNEMONIC, 20)
const OWNER = 1
const KEPT = 2
const GONE = 3
const addressOf = (i: number): Address => getAddress(privateKeyToAccount(bytesToHex(KEYS[i]!) as Hex).address)

t.test('revoke rotates the key: the revoked grantee opens and downloads nothing of the new version, the kept one reads it', async (t) => {
  const { dir, cleanup } = tempDir('povchain-key-rotation-')
  const n = await startInProcessNode()
  t.teardown(async () => {
    await n.stop()
    cleanup()
  })
  const keyFile = (i: number) => {
    const f = join(dir, `key-${i}`)
    writeFileSync(f, bytesToHex(KEYS[i]!))
    return f
  }
  const files = [OWNER, KEPT, GONE].map((i) => [i, keyFile(i)] as const)
  const cli = (who: number, args: string[]) => runAssetCli(n.httpUrl, files.find(([i]) => i === who)![1], args)
  const secret = 'patient,diagnosis\n1,benign\n2,malignant\n'
  const src = join(dir, 'held-out.csv')
  writeFileSync(src, secret)

  const pub = await cli(OWNER, ['asset', 'publish', src, '--kind', 'dataset', '--access', 'closed'])
  t.equal(pub.ok, true, 'the owner publishes a closed dataset')
  const id = String(pub.id)
  for (const who of [KEPT, GONE]) t.equal((await cli(who, ['asset', 'key'])).ok, true, `account ${who} publishes its public key`)
  for (const who of [KEPT, GONE]) t.equal((await cli(OWNER, ['asset', 'grant', id, addressOf(who)])).ok, true, `granted to account ${who}`)

  // The grantee-to-be-revoked reads version 0 and keeps everything it can: its sealed key and the ciphertext.
  const gone = await AssetClient.connect(n.httpUrl, { key: KEYS[GONE]! })
  const v0 = (await gone.registry.asset(BigInt(id)))!
  t.equal(v0.keyVersion, 0)
  const oldSealed = await gone.registry.grantOf(v0.id, gone.from)
  const oldCipher = await gone.getBlob(v0.contentHash, 1 << 20)
  t.equal((await cli(GONE, ['asset', 'get', id, '--out', join(dir, 'gone-v0.csv')])).ok, true, 'before revocation the grantee reads it')
  t.equal(readFileSync(join(dir, 'gone-v0.csv'), 'utf8'), secret)

  const rv = await cli(OWNER, ['asset', 'revoke', id, addressOf(GONE)])
  t.equal(rv.ok, true, 'asset revoke (rotates by default)')
  const rotated = rv.rotated as { version: number; contentHash: Hex; kept: Address[]; dropped: Address[] }
  t.equal(rotated.version, 1, 'key version 1')
  t.same(rotated.kept, [addressOf(OWNER), addressOf(KEPT)], 'the new key is sealed to the owner and the remaining grantee')
  t.same(rotated.dropped, [addressOf(GONE)], 'the revoked grantee is left out')
  const v1 = (await gone.registry.asset(BigInt(id)))!
  t.equal(v1.contentHash, rotated.contentHash, 'the asset now names the new ciphertext')
  t.not(v1.contentHash, v0.contentHash)
  t.equal(v1.keyVersion, 1)

  // The kept grantee reads the new version through the CLI.
  const kept = await cli(KEPT, ['asset', 'get', id, '--out', join(dir, 'kept-v1.csv')])
  t.equal(kept.ok, true, 'the remaining grantee fetches the new version')
  t.equal(readFileSync(join(dir, 'kept-v1.csv'), 'utf8'), secret, 'and decrypts it')

  // The revoked grantee's best plays.
  const viaCli = await cli(GONE, ['asset', 'get', id, '--out', join(dir, 'gone-v1.csv')])
  t.match(viaCli.error, { code: 'ASSET_NO_GRANT' }, 'the CLI: no grant of the current version')
  t.equal(await gone.registry.grantOf(v1.id, gone.from), '0x', 'grantOf: nothing current')
  await t.rejects(gone.getBlob(v1.contentHash, 1 << 20, await gone.signBlobRequest(v1.contentHash)), { code: 'ASSET_BLOB_REFUSED', message: /holds no grant/ }, 'a signed download of the new blob is refused')
  await t.rejects(gone.getBlob(v1.contentHash, 1 << 20), { code: 'ASSET_BLOB_REFUSED' }, 'an anonymous one too')
  await new Promise((r) => setTimeout(r, 1100)) // a node caches its decision about a hash for 1 s (BlobAccessPolicy cacheMs)
  await t.rejects(gone.getBlob(v0.contentHash, 1 << 20, await gone.signBlobRequest(v0.contentHash)), { code: 'ASSET_BLOB_REFUSED', message: /earlier version/ }, 'the old blob is no longer served to it either')
  // Suppose the new ciphertext leaks anyway (a copy read off the owner's node): the old key does not open it.
  const owner = await AssetClient.connect(n.httpUrl, { key: KEYS[OWNER]! })
  const newCipher = await owner.getBlob(v1.contentHash, 1 << 20, await owner.signBlobRequest(v1.contentHash))
  const oldKey = openKey(hexToBytes(oldSealed), KEYS[GONE]!)
  t.throws(() => decryptBlob(oldKey, newCipher), { code: 'ASSET_CIPHER_AUTH' }, 'the old content key does not open the new version')
  t.equal(await owner.getBlob(v0.contentHash, 1 << 20, await owner.signBlobRequest(v0.contentHash)).then((b) => b.length), oldCipher.length, 'the owner can still read its old version')
  // What revocation cannot undo: the old version, opened with the old key the chain's history keeps.
  t.equal(new TextDecoder().decode(decryptBlob(oldKey, oldCipher)), secret, 'a copy downloaded before revocation still opens with the old key')

  // --no-rotate: only the on-chain revoke, said plainly.
  const plain = await cli(OWNER, ['asset', 'revoke', id, addressOf(KEPT), '--no-rotate'])
  t.equal(plain.ok, true)
  t.equal(plain.rotated, null, 'no rotation')
  t.equal((await gone.registry.asset(BigInt(id)))!.keyVersion, 1, 'the key version stays')
  // An explicit rotation afterwards closes the version KEPT could still open.
  const rot = await cli(OWNER, ['asset', 'rotate', id])
  t.equal(rot.ok, true, 'asset rotate')
  t.same(rot.kept, [addressOf(OWNER)], 'only the owner holds version 2')
  t.match((await cli(KEPT, ['asset', 'get', id, '--out', join(dir, 'kept-v2.csv')])).error, { code: 'ASSET_NO_GRANT' }, 'the account revoked without rotation is closed out by the rotation')
  t.equal((await cli(OWNER, ['asset', 'get', id, '--out', join(dir, 'owner-v2.csv')])).ok, true, 'the owner reads version 2')
  t.equal(readFileSync(join(dir, 'owner-v2.csv'), 'utf8'), secret)
})

t.test("a rotation while a job runs: the owner's node seals the new key to the job's worker, who reads the new version", async (t) => {
  const { dir, cleanup } = tempDir('povchain-key-rotation-job-')
  const n = await startInProcessNode()
  t.teardown(async () => {
    await n.stop()
    cleanup()
  })
  const url = n.httpUrl
  const CLIENT = 4
  const WORKER = 6 // registered in the WorkMarket by hand and never working: its job stays running
  const keyFile = (i: number) => {
    const f = join(dir, `key-${i}`)
    writeFileSync(f, bytesToHex(KEYS[i]!))
    return f
  }
  const cli = async (who: number, args: string[]) => {
    const r = await runAssetCli(url, keyFile(who), args)
    if (!r.ok) throw new Error(`${args.join(' ')}: ${r.error?.message}`)
    return r
  }
  const send = async (from: number, to: Hex, data: Hex, value = 0n) => {
    const hash = await rpc<Hex>(url, 'eth_sendTransaction', [{ from: addressOf(from), to, data, gas: '0x4c4b40', value: toHex(value) }])
    const r = await waitFor(() => rpc<{ status: Hex } | null>(url, 'eth_getTransactionReceipt', [hash]), 'the transaction mined', 60_000)
    if (r.status !== '0x1') throw new Error(`transaction from #${from} reverted`)
  }
  await send(WORKER, WORK_MARKET_ADDRESS, encodeMarketCall('register', [100n, 1, '']), parseEther('2'))
  const worker = await AssetClient.connect(url, { key: KEYS[WORKER]! })
  await worker.ensurePublicKey()

  const secret = encodeDataset({ ...irisDataset(), name: 'iris-rotated' })
  const plainHash = contentHash(secret)
  const secretFile = join(dir, 'heldout.json')
  writeFileSync(secretFile, secret)
  await cli(CLIENT, ['asset', 'key'])
  const id = String((await cli(OWNER, ['asset', 'publish', secretFile, '--kind', 'dataset', '--access', 'closed'])).id)
  await cli(OWNER, ['asset', 'grant', id, addressOf(CLIENT)])
  const spec = JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')) as Record<string, unknown>
  const specFile = join(dir, 'spec.json')
  writeFileSync(specFile, JSON.stringify({ ...spec, dataset: plainHash }))
  const jobId = (await cli(CLIENT, ['asset', 'job', specFile, '--assets', id])).jobId as Hex
  await waitFor(async () => {
    const j = await rpc<{ status: string }>(url, 'pov_getJob', [jobId])
    if (j.status === 'running') return true
    await send(5, addressOf(9), '0x') // blocks move the draw on
    return undefined
  }, 'the job to be assigned to the registered worker', 60_000, 200)
  await send(CLIENT, ASSET_REGISTRY_ADDRESS, encodeRegistryCall('requestJobGrants', [jobId]))

  const responder = new JobGrantResponder({ keys: new Map([[addressOf(OWNER).toLowerCase(), KEYS[OWNER]!]]), stateFile: join(dir, 'job-grants.json') }, { backend: n.node.backend, logger: silentLogger })
  await responder.tick()
  const g0 = await worker.registry.jobGrantOf(BigInt(id), jobId, worker.from)
  t.ok(g0.fulfilled, "the owner's node answered the worker's request (version 0)")

  const rot = await cli(OWNER, ['asset', 'revoke', id, addressOf(CLIENT)])
  t.equal((rot.rotated as { version: number }).version, 1, 'the client is revoked, the key rotated')
  t.notOk((await worker.registry.jobGrantOf(BigInt(id), jobId, worker.from)).fulfilled, "the running job's grant is of the old version")
  await responder.tick()
  const g1 = await worker.registry.jobGrantOf(BigInt(id), jobId, worker.from)
  t.ok(g1.fulfilled, "after KeyRotated the owner's node sealed the new key to the running job's worker")
  t.not(g1.sealedKey, g0.sealedKey)
  const a = (await worker.registry.asset(BigInt(id)))!
  const cipher = await worker.getBlob(a.contentHash, 1 << 20, await worker.signBlobRequest(a.contentHash, jobId))
  t.equal(contentHash(decryptBlob(openKey(hexToBytes(g1.sealedKey), KEYS[WORKER]!), cipher)), plainHash, 'the worker downloads the new blob (naming its running job) and decrypts it')
  t.throws(() => decryptBlob(openKey(hexToBytes(g0.sealedKey), KEYS[WORKER]!), cipher), { code: 'ASSET_CIPHER_AUTH' }, 'its old job grant does not open it')
  const client = await AssetClient.connect(url, { key: KEYS[CLIENT]! })
  await t.rejects(client.getBlob(a.contentHash, 1 << 20, await client.signBlobRequest(a.contentHash, jobId)), { code: 'ASSET_BLOB_REFUSED' }, "the revoked client naming its own running job: the new blob is the job's participants', and it holds no current grant")
})
