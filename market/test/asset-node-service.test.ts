/**
 * The marketplace's node side on a real in-process --dev node with its worker (dev #18 and #17,
 * embedded runtime) and `--assets.answer-grants <owner>`; LevelDB and the blob store in a temp
 * datadir, the real EVM, the asset CLI run in-process against the node's JSON-RPC.
 *
 * 1. A closed held-out dataset used by a client's job: the worker publishes its public key by
 *    itself, asks for its job grant, the owner's node seals the content key to it, the worker
 *    decrypts and runs the job; the drawn verifier asks for its own job grant, the owner's node
 *    seals the key to it for that job only, the verifier decrypts and re-executes, and the job is
 *    accepted; no standing grant is made to either. A second
 *    closed asset of the job whose owner-sealed key is garbage is logged and skipped (the node
 *    keeps running); a fresh responder over the same chain sends nothing (idempotent). The
 *    plaintext never enters the node's store. Removing the asset drops its blob.
 * 2. Paid downloads: anonymous reads and peers are refused, an unpaid signed request is refused,
 *    `asset fetch` pays once (payDownload) and downloads with a signed request; free stays free.
 * 3. An owner whose node does not answer seals the job grants by hand (AssetClient.sealJobGrants):
 *    the worker's, then the drawn verifier's; sealing again sends nothing.
 * 4. A responder with grantVerifiers false (--assets.no-verifier-grants) answers the worker only.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeFunctionData, keccak256, parseEther, toHex, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { silentLogger } from '../../common/logger.js'
import { contentHash } from '../../compute/ContentHash.js'
import { encodeDataset } from '../../compute/data/Dataset.js'
import { openKey } from '../../compute/KeySeal.js'
import { irisDataset } from '../../compute/data/IrisDataset.js'
import { ASSET_REGISTRY_ADDRESS, assetRegistryAbi } from '../../genesis/AssetRegistryGenesis.js'
import { DEV_MNEMONIC, deriveKeys } from '../../chain/DevKeys.js'
import { AssetClient } from '../assets/AssetClient.js'
import { AssetRegistryReader } from '../assets/AssetRegistryReader.js'
import { blobRequestFields, blobRequestToJson, serverOfUrl, signBlobRequest } from '../assets/DownloadAuth.js'
import { JobGrantResponder } from '../assets/JobGrantResponder.js'
import { rpcBlobSource } from '../worker/BlobFetcher.js'
import { assetCli } from '../../test/helpers/assetcli.js'
import { ROOT, rpc, rpcRaw, startInProcessNode, tempDir, waitFor } from '../../test/helpers/devnode.js'

const KEYS = deriveKeys(DEV_MNEMONIC, 20)
const addrOf = (i: number) => privateKeyToAccount(bytesToHex(KEYS[i]!) as Hex).address
const [OWNER, MODEL_OWNER, CLIENT, BUYER, STRANGER] = [1, 2, 3, 4, 5]
const abi = assetRegistryAbi()

t.test('marketplace node side: automatic job grants for worker and verifier, closed inputs, removal, paid downloads', async (t) => {
  const { dir, cleanup } = tempDir('povchain-asset-node-')
  t.teardown(cleanup)
  const n = await startInProcessNode({
    cfg: {
      worker: { accounts: [addrOf(18), addrOf(17)], runtime: 'embedded', bond: parseEther('2'), capacity: 100n, slots: 1, pollMs: 100 },
      assets: { answerGrants: [addrOf(OWNER)], pollMs: 100 },
    },
  })
  t.teardown(() => n.stop())
  const url = n.httpUrl
  const reg = new AssetRegistryReader({ call: (to: Address, data: Hex) => rpc<Hex>(url, 'eth_call', [{ to, data }, 'latest']) })
  const keyFile = (i: number) => {
    const f = join(dir, `key-${i}`)
    writeFileSync(f, bytesToHex(KEYS[i]!))
    return f
  }
  const cli = (args: string[], who: number) => assetCli(url, keyFile(who), args)
  const sendAs = async (i: number, functionName: string, args: readonly unknown[], value = 0n) => {
    const hash = await rpc<Hex>(url, 'eth_sendTransaction', [{ from: addrOf(i), to: ASSET_REGISTRY_ADDRESS, data: encodeFunctionData({ abi, functionName, args } as never), gas: '0x4c4b40', value: toHex(value) }])
    const r = await waitFor(() => rpc<{ status: Hex } | null>(url, 'eth_getTransactionReceipt', [hash]), `${functionName} mined`, 60_000)
    if (r.status !== '0x1') throw new Error(`${functionName} reverted`)
  }
  const events = async (name: string, indexed: (Hex | null)[]) =>
    rpc<unknown[]>(url, 'eth_getLogs', [{ address: ASSET_REGISTRY_ADDRESS, fromBlock: '0x0', toBlock: 'latest', topics: [keccak256(toHex(eventSignature(name))), ...indexed] }])
  const topicOf = (v: bigint | Address | Hex) => (typeof v === 'bigint' ? toHex(v, { size: 32 }) : (`0x${v.slice(2).toLowerCase().padStart(64, '0')}` as Hex))

  t.test('workers publish their public keys when they register', async (t) => {
    for (const i of [18, 17]) {
      const pub = await waitFor(async () => {
        const p = await reg.publicKeyOf(addrOf(i))
        return p !== '0x' ? p : undefined
      }, `#${i}'s public key`, 60_000, 100)
      t.equal(pub.toLowerCase(), privateKeyToAccount(bytesToHex(KEYS[i]!) as Hex).publicKey.replace(/^0x04/, '0x').toLowerCase(), `#${i}: its own key`)
    }
  })

  // A held-out dataset nobody else has: iris under another name (other bytes, other hash).
  const secret = encodeDataset({ ...irisDataset(), name: 'iris-heldout' })
  const plainHash = contentHash(secret)
  const secretFile = join(dir, 'heldout.json')
  writeFileSync(secretFile, secret)

  await t.test('a closed dataset in a job: automatic job grants, decryption by the worker and the verifier, no standing grant, removal', async (t) => {
    await Promise.all([cli(['asset', 'key'], OWNER), cli(['asset', 'key'], CLIENT)])
    const reg1 = await cli(['asset', 'register', '--file', secretFile, '--kind', 'dataset', '--mode', 'closed', '--name', 'heldout'], OWNER)
    const id = BigInt(reg1.id as string)
    const cipherHash = reg1.contentHash as Hex
    // A second closed asset whose owner-sealed key is garbage: the owner's node cannot answer for it.
    const junkFile = join(dir, 'junk.bin')
    writeFileSync(junkFile, 'not a model')
    const junk = BigInt((await cli(['asset', 'register', '--file', junkFile, '--kind', 'model', '--mode', 'closed'], OWNER)).id as string)
    const garbage = toHex(Uint8Array.from({ length: 94 }, (_, i) => (i === 0 ? 1 : (i * 37) & 0xff)))
    await sendAs(OWNER, 'grant', [junk, addrOf(OWNER), garbage])
    await cli(['asset', 'grant', String(id), addrOf(CLIENT)], OWNER)
    await sendAs(OWNER, 'grant', [junk, addrOf(CLIENT), garbage])

    const spec = JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')) as Record<string, unknown>
    const specFile = join(dir, 'heldout-train.json')
    writeFileSync(specFile, JSON.stringify({ ...spec, dataset: plainHash, params: { ...(spec.params as object), epochs: 20 }, checkpointInterval: 20 }))
    // No --dataset: the client reads the plaintext through its own grant to count the units.
    const posted = await cli(['asset', 'job', specFile, '--assets', `${id},${junk}`], CLIENT)
    const jobId = posted.jobId as Hex
    t.ok(jobId, 'the job is posted and linked to the closed assets')

    const job = await waitFor(async () => {
      const j = await rpc<{ status: string; session: Hex }>(url, 'pov_getJob', [jobId])
      return j.status === 'accepted' || j.status === 'refunded' ? j : undefined
    }, 'the job to be final', 240_000, 250)
    t.equal(job.status, 'accepted', 'the job over the closed dataset was run, verified and accepted')
    const session = await rpc<{ worker: Address; verifiers: Address[] }>(url, 'pov_getSession', [job.session])
    const g = await reg.jobGrantOf(id, jobId, session.worker)
    t.equal(g.grantee, session.worker, 'the job grant is for the worker that did the job')
    t.ok(g.fulfilled, "the owner's node fulfilled it by itself")
    t.equal((await reg.jobGrantOf(id, jobId)).grantee, session.worker, "without a grantee the reader reads the job's worker's grant")
    t.equal((await events('JobGrantIssued', [topicOf(id), topicOf(jobId), topicOf(session.worker)])).length, 1, 'exactly once')
    t.notOk((await reg.jobGrantOf(junk, jobId, session.worker)).fulfilled, 'the asset with a garbage owner key got no answer (logged, skipped)')
    const verifier = session.verifiers[0]!
    t.ok([addrOf(18), addrOf(17)].includes(verifier) && verifier !== session.worker, 'the other dev identity verified')
    const vg = await reg.jobGrantOf(id, jobId, verifier)
    t.ok(vg.fulfilled && vg.grantee === verifier, "the verifier holds its own job grant, fulfilled by the owner's node: it decrypted through it (the job's one accept vote needed the data)")
    t.equal((await events('JobGrantIssued', [topicOf(id), topicOf(jobId), topicOf(verifier)])).length, 1, "the verifier's grant was sealed exactly once")
    t.equal((await events('Granted', [topicOf(id), topicOf(verifier)])).length, 0, 'the verifier never got a standing grant')
    t.equal((await events('Granted', [topicOf(id), topicOf(session.worker)])).length, 0, 'nor did the worker')
    t.equal(await reg.grantOf(id, verifier), '0x')
    t.equal(await rpc(url, 'pov_getBlob', [plainHash, 0, 8]), null, "the plaintext never entered the node's store")

    // Anyone may publish any hash: a checkpoint of the session claimed as a paid asset stays served to verifiers and peers.
    const manifest = (await rpc<{ commitment: { manifest: Hex } }>(url, 'pov_getSession', [job.session])).commitment.manifest
    const record = JSON.parse(Buffer.from((await rpc<{ data: Hex }>(url, 'pov_getBlob', [manifest])).data.slice(2), 'hex').toString('utf8')) as { checkpointBlobs: Hex[] }
    const checkpoint = record.checkpointBlobs[0]!
    await sendAs(STRANGER, 'publish', [0, checkpoint, 1n, keccak256('0x'), '', 1, 1n, 1n])
    t.ok(await rpc(url, 'pov_getBlob', [checkpoint, 0, 8]), 'a checkpoint claimed as a paid asset is still served')
    t.equal(await n.node.assets!.servesPeers(checkpoint), true, 'to peers too')
    await sendAs(STRANGER, 'remove', [await reg.count()])
    const janitor = () => JSON.parse(readFileSync(join(n.datadir, 'assets', 'removed-assets.json'), 'utf8')) as { cursor: string; state: { deferred: string[] } }
    await waitFor(() => BigInt(janitor().cursor) >= n.node.backend.head().number && janitor().state.deferred.length === 0, 'the janitor to pass the removal', 30_000, 100)
    t.ok(await rpc(url, 'pov_getBlob', [checkpoint, 0, 8]), 'and removing the claim drops nothing')

    // A second responder from genesis over the same chain (a restart that lost its state): nothing to send.
    const nonce = await rpc<Hex>(url, 'eth_getTransactionCount', [addrOf(OWNER), 'latest'])
    const again = new JobGrantResponder({ keys: new Map([[addrOf(OWNER).toLowerCase(), KEYS[OWNER]!]]), stateFile: join(dir, 'fresh-responder.json') }, { backend: n.node.backend, logger: silentLogger })
    await again.tick()
    await again.tick()
    t.equal(await rpc<Hex>(url, 'eth_getTransactionCount', [addrOf(OWNER), 'pending']), nonce, 'a responder that re-reads every request sends nothing twice')

    // Removal: the node drops its copy and stops serving it.
    t.ok(await rpc(url, 'pov_getBlob', [cipherHash, 0, 8]), 'the encrypted blob is served while the asset is live')
    await cli(['asset', 'remove', String(id)], OWNER)
    await waitFor(async () => (await rpc(url, 'pov_getBlob', [cipherHash, 0, 8])) === null, 'the removed asset blob to be dropped', 30_000, 100)
    t.pass("the removed asset's blob is gone from the node's store")
  })

  await t.test('paid downloads: signed requests, payment once, free stays free', async (t) => {
    const modelFile = join(dir, 'model.bin')
    const model = new TextEncoder().encode('weights '.repeat(1000))
    writeFileSync(modelFile, model)
    const paid = await cli(['asset', 'register', '--file', modelFile, '--kind', 'model', '--mode', 'paid', '--price', '0.1', '--download-price', '0.2'], MODEL_OWNER)
    const id = BigInt(paid.id as string)
    const h = paid.contentHash as Hex
    const freeFile = join(dir, 'free.bin')
    writeFileSync(freeFile, 'free weights')
    const free = await cli(['asset', 'register', '--file', freeFile, '--kind', 'model', '--mode', 'free'], MODEL_OWNER)

    const anon = await rpcRaw(url, 'pov_getBlob', [h, 0, 100])
    t.equal(anon.error?.code, -32001, 'an anonymous read of a paid blob is refused')
    t.match(anon.error?.message, /signed blob request/, 'with what to do')
    t.same(await rpc(url, 'pov_getBlob', [h, 0, 0]), { total: model.length, data: '0x' }, 'a 0-byte presence probe is answered')
    t.equal(await n.node.assets!.servesPeers(h), false, "peers (no requester in blob_by_hash) don't get it")
    t.equal(await n.node.assets!.servesPeers(free.contentHash as Hex), true, 'peers get free blobs')
    const chainId = BigInt(await rpc<Hex>(url, 'eth_chainId'))
    // Addressed to this node with a challenge it issued (one per request).
    const to = async () => ({ server: serverOfUrl(url), nonce: (await rpc<{ nonce: Hex }>(url, 'pov_blobChallenge')).nonce })
    const unpaid = blobRequestToJson(await signBlobRequest(KEYS[BUYER]!, blobRequestFields(chainId, h, await to())))
    t.match((await rpcRaw(url, 'pov_getBlob', [h, 0, 100, unpaid])).error, { code: -32001, message: /has not paid the download/ }, 'a signed request of an account that did not pay is refused')
    const forged = { ...unpaid, requester: addrOf(MODEL_OWNER) }
    t.match((await rpcRaw(url, 'pov_getBlob', [h, 0, 100, forged])).error, { message: /not signed by/ }, "naming the owner without the owner's signature is refused")
    const owners = blobRequestToJson(await signBlobRequest(KEYS[MODEL_OWNER]!, blobRequestFields(chainId, h, await to())))
    t.ok(await rpc(url, 'pov_getBlob', [h, 0, 100, owners]), 'the owner reads its own blob')
    t.match((await rpcRaw(url, 'pov_getBlob', [h, 0, 100, owners])).error, { code: -32602, message: /already read offset 0/ }, 'the same request again (a replay of it): refused')
    t.ok(await rpc(url, 'pov_getBlob', [h, 100, 100, owners]), 'it reads the next chunk')
    const { nonce: _n, ...noChallenge } = blobRequestToJson(await signBlobRequest(KEYS[MODEL_OWNER]!, blobRequestFields(chainId, h, serverOfUrl(url))))
    t.match((await rpcRaw(url, 'pov_getBlob', [h, 0, 100, noChallenge])).error, { code: -32602, message: /must carry a challenge/ }, 'a request without a challenge of this node: refused')
    const forgedNonce = blobRequestToJson(await signBlobRequest(KEYS[MODEL_OWNER]!, blobRequestFields(chainId, h, { server: serverOfUrl(url), nonce: keccak256(toHex('made up')) })))
    t.match((await rpcRaw(url, 'pov_getBlob', [h, 0, 100, forgedNonce])).error, { code: -32602, message: /was not issued by this node/ }, 'a made-up challenge: refused')
    // The worker side's RPC source (node to node) signs the same way.
    const source = rpcBlobSource(url)
    t.equal(await source.fetch(h, 1 << 20), undefined, 'an unsigned fetch by another node gets nothing')
    t.same(await source.fetch(h, 1 << 20, async (x, server) => blobRequestToJson(await signBlobRequest(KEYS[MODEL_OWNER]!, blobRequestFields(chainId, x, server)))), model, 'a signed one gets the blob')

    await t.rejects(cli(['asset', 'fetch', String(id), '--out', join(dir, 'x'), '--no-pay'], BUYER), { code: 'ASSET_NOT_PAID' })
    const credit0 = await reg.credits(addrOf(MODEL_OWNER))
    const got = await cli(['asset', 'fetch', String(id), '--out', join(dir, 'bought.bin')], BUYER)
    t.equal(got.paid, parseEther('0.2').toString(), 'fetch paid the download price')
    t.same(new Uint8Array(readFileSync(join(dir, 'bought.bin'))), model, 'and downloaded the model')
    t.equal(await reg.read<bigint>('downloads', [id, addrOf(BUYER)]), 1n, 'payDownload recorded')
    t.equal((await reg.credits(addrOf(MODEL_OWNER))) - credit0, parseEther('0.2'), 'the owner is credited the price')
    t.equal((await cli(['asset', 'fetch', String(id), '--out', join(dir, 'again.bin')], BUYER)).paid, '0', 'a second fetch does not pay again')
    const f = await cli(['asset', 'fetch', free.id as string, '--out', join(dir, 'free-out.bin')], STRANGER)
    t.equal(f.paid, '0', 'free assets stay free')
    t.ok(await rpc(url, 'pov_getBlob', [free.contentHash, 0, 100]), 'and are served to anyone')
  })

  await t.test("an owner whose node does not answer seals each participant's job grant by hand (AssetClient.sealJobGrants)", async (t) => {
    // MODEL_OWNER's grants are not answered by the node: the worker and the verifier wait for the owner.
    await cli(['asset', 'key'], MODEL_OWNER)
    const other = encodeDataset({ ...irisDataset(), name: 'iris-heldout-by-hand' })
    const otherFile = join(dir, 'heldout-2.json')
    writeFileSync(otherFile, other)
    const id = BigInt((await cli(['asset', 'register', '--file', otherFile, '--kind', 'dataset', '--mode', 'closed'], MODEL_OWNER)).id as string)
    await cli(['asset', 'grant', String(id), addrOf(CLIENT)], MODEL_OWNER)
    const spec = JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')) as Record<string, unknown>
    const specFile = join(dir, 'heldout-2-train.json')
    writeFileSync(specFile, JSON.stringify({ ...spec, dataset: contentHash(other), params: { ...(spec.params as object), epochs: 20 }, checkpointInterval: 20 }))
    const jobId = (await cli(['asset', 'job', specFile, '--assets', String(id)], CLIENT)).jobId as Hex
    const owner = await AssetClient.connect(url, { key: KEYS[MODEL_OWNER]! })
    const contentKey = openKey(hexToBytes(await reg.grantOf(id, addrOf(MODEL_OWNER))), KEYS[MODEL_OWNER]!)
    const sealedTo = new Set<string>()
    // The owner answers whatever is on record until the job is final: the worker's request first, the verifier's after the draw.
    const job = await waitFor(async () => {
      const j = await rpc<{ status: string; session: Hex }>(url, 'pov_getJob', [jobId])
      if (j.status === 'accepted' || j.status === 'refunded') return j
      if (j.status === 'running') for (const r of await owner.sealJobGrants(id, jobId, contentKey).catch(() => [])) if (r.tx) sealedTo.add(r.grantee)
      return undefined
    }, 'the job to be final', 240_000, 500)
    t.equal(job.status, 'accepted', 'run and verified with the grants the owner sealed by hand')
    const session = await rpc<{ worker: Address; verifiers: Address[] }>(url, 'pov_getSession', [job.session])
    t.same([...sealedTo].sort(), [session.worker, ...session.verifiers].sort(), 'one grant sealed to the worker and one to each verifier')
    for (const who of [session.worker, ...session.verifiers]) {
      t.ok((await reg.jobGrantOf(id, jobId, who)).fulfilled, `${who}: job grant fulfilled`)
      t.equal(await reg.grantOf(id, who), '0x', `${who}: no standing grant`)
    }
    t.same((await owner.sealJobGrants(id, jobId, contentKey)).map((r) => r.skipped), [session.worker, ...session.verifiers].map(() => 'fulfilled'), 'sealing again sends nothing')
    await t.rejects(owner.sealJobGrants(id, jobId, contentKey, addrOf(STRANGER)), { code: 'ASSET_REVERTED', message: /JobNotRunning/ }, 'a stranger of a final job: the registry says why no request is recorded')
  })

  await t.test("--assets.no-verifier-grants: the responder answers the worker's request, not the verifier's", async (t) => {
    const other = encodeDataset({ ...irisDataset(), name: 'iris-heldout-workers-only' })
    const otherFile = join(dir, 'heldout-3.json')
    writeFileSync(otherFile, other)
    const id = BigInt((await cli(['asset', 'register', '--file', otherFile, '--kind', 'dataset', '--mode', 'closed'], STRANGER)).id as string)
    await cli(['asset', 'grant', String(id), addrOf(CLIENT)], STRANGER)
    const spec = JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')) as Record<string, unknown>
    const specFile = join(dir, 'heldout-3-train.json')
    writeFileSync(specFile, JSON.stringify({ ...spec, dataset: contentHash(other), params: { ...(spec.params as object), epochs: 20 }, checkpointInterval: 20 }))
    const jobId = (await cli(['asset', 'job', specFile, '--assets', String(id)], CLIENT)).jobId as Hex
    const responder = new JobGrantResponder({ keys: new Map([[addrOf(STRANGER).toLowerCase(), KEYS[STRANGER]!]]), stateFile: join(dir, 'workers-only.json'), grantVerifiers: false }, { backend: n.node.backend, logger: silentLogger })
    const { session, verifier } = await waitFor(async () => {
      await responder.tick()
      const j = await rpc<{ session: Hex }>(url, 'pov_getJob', [jobId])
      const s = await rpc<{ worker: Address; verifiers: Address[] } | null>(url, 'pov_getSession', [j.session])
      const v = s?.verifiers[0]
      return v && (await reg.jobGrantOf(id, jobId, v)).grantee === v ? { session: s, verifier: v } : undefined
    }, "the verifier's job grant request", 240_000, 250)
    await responder.tick()
    await responder.tick()
    t.ok((await reg.jobGrantOf(id, jobId, session.worker)).fulfilled, "the worker's request was answered")
    t.notOk((await reg.jobGrantOf(id, jobId, verifier)).fulfilled, "the verifier's request was left unanswered")
    // The owner seals the verifier's by hand: the verification goes on and the job is accepted.
    const owner = await AssetClient.connect(url, { key: KEYS[STRANGER]! })
    const contentKey = openKey(hexToBytes(await reg.grantOf(id, addrOf(STRANGER))), KEYS[STRANGER]!)
    t.match(await owner.sealJobGrants(id, jobId, contentKey, verifier), [{ grantee: verifier, tx: /^0x/ }])
    const job = await waitFor(async () => {
      const j = await rpc<{ status: string }>(url, 'pov_getJob', [jobId])
      return j.status === 'accepted' || j.status === 'refunded' ? j : undefined
    }, 'the job to be final', 240_000, 250)
    t.equal(job.status, 'accepted')
  })
})

function eventSignature(name: string): string {
  const e = assetRegistryAbi().find((x) => x.type === 'event' && x.name === name) as { inputs: { type: string }[] } | undefined
  if (!e) throw new Error(`no event ${name}`)
  return `${name}(${e.inputs.map((i) => i.type).join(',')})`
}
