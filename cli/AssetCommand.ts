import { readFile, writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { getAddress, isAddress, parseEther, type Address, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import { decryptBlob, encryptBlob, newContentKey } from '../compute/AssetCipher.js'
import { contentHash } from '../compute/ContentHash.js'
import { openKey, sealKey } from '../compute/KeySeal.js'
import { loadSigningKey } from './CliSigningKey.js'
import { roundedCoins } from '../common/CoinAmount.js'
import { AssetClient } from '../market/assets/AssetClient.js'
import { AssetError } from '../market/assets/AssetError.js'
import { decodeMetadataUri, encodeMetadata } from '../market/assets/AssetMetadata.js'
import { postJobWithAssets } from '../market/assets/JobWithAssets.js'
import { rotateContentKey, type KeyRotationResult } from '../market/assets/KeyRotation.js'
import { downloadIsGated } from '../market/assets/BlobAccessPolicy.js'
import type { RegisteredAsset } from '../market/assets/AssetRegistryReader.js'
import { ASSET_ACCESS, ASSET_KINDS, type AssetAccess, type AssetKind } from '../market/assets/AssetRegistryReader.js'
import { cliAction, cliPrinter, processCliIo, withChainOptions, type ChainCommandOptions, type CliIo } from './ChainCliCommand.js'

export type AssetCliIo = CliIo

export interface AssetCliContext {
  logger: Logger
  io?: AssetCliIo
}

type ConnOpts = ChainCommandOptions

/** Largest asset blob `fetch` downloads. */
const MAX_ASSET_BYTES = 1024 * 1024 * 1024

async function connect(o: ConnOpts): Promise<AssetClient> {
  const key = await loadSigningKey(o)
  return AssetClient.connect(o.rpc, { ...(key ? { key } : {}), ...(o.from ? { from: o.from as Address } : {}) })
}

const assetId = (s: string): bigint => {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(s) || BigInt(s) < 1n) throw new AssetError('BAD_ID', `${s} is not an asset id (a positive integer)`)
  return BigInt(s)
}
const jobId = (s: string): Hex => {
  if (!/^0x[0-9a-fA-F]{64}$/.test(s)) throw new AssetError('BAD_JOB', `${s} is not a job id (32-byte 0x-hex)`)
  return s.toLowerCase() as Hex
}
const account = (s: string): Address => {
  if (!isAddress(s, { strict: false })) throw new AssetError('BAD_ADDRESS', `${s} is not an address`)
  return getAddress(s)
}
const pick = <T extends readonly string[]>(v: string, names: T, what: string): T[number] => {
  if (!names.includes(v)) throw new AssetError('BAD_OPTION', `${what} must be one of ${names.join(', ')}`)
  return v as T[number]
}
const eventArg = (topic: Hex | undefined) => (topic ? BigInt(topic) : 0n)

/** Whether the account may read a paid asset's blob without paying (again): the serving node's rule (BlobAccessPolicy). */
async function downloadEntitled(c: AssetClient, a: RegisteredAsset, job: Hex | undefined): Promise<boolean> {
  if (a.owner === c.from) return true
  if (a.access === 'closed' && (await c.registry.grantOf(a.id, c.from)) !== '0x') return true
  if (a.access === 'closed' && a.keyVersion > 0) {
    // After a key rotation only a current grant or a running job opens the blob: paying buys nothing.
    if (!job) throw new AssetError('NO_GRANT', `${c.from} holds no grant of the current version (key version ${a.keyVersion}) of closed asset ${a.id}: ask its owner (${a.owner})`)
    return true
  }
  if ((await c.registry.read<bigint>('downloads', [a.id, c.from])) > 0n) return true
  if (!job) return false
  // A job that uses the asset: its client, worker and verifiers read it through the job (the node checks which).
  return (await c.registry.jobUse(job)).ids.includes(a.id)
}

/**
 * `povchain asset …`: the marketplace of models and datasets (AssetRegistry, 0x…0C00).
 * register (closed: encrypted, content key sealed to the owner itself on chain), show, list,
 * key, grant / revoke (standing or per-job), remove, job (post a job that uses assets), use
 * (name assets in a job, paying the fees), settle, rate, fetch (download, check, decrypt with a grant), rewards, withdraw.
 */
export function registerAssetCommands(program: Command, ctx: AssetCliContext): Command {
  const io: AssetCliIo = ctx.io ?? processCliIo()
  const action = cliAction(io)
  const print = cliPrinter(io)
  const conn = withChainOptions

  const asset = program.command('asset').description('the marketplace of models and datasets: register, share, use, rate and fetch assets')

  conn(asset.command('register').alias('publish').argument('[file]', 'the model or dataset blob (or --file)'))
    .description('store a model or dataset in the node (closed: encrypted) and register it on chain (alias: publish FILE)')
    .option('--file <file>', 'the model or dataset blob')
    .requiredOption('--kind <kind>', `one of ${ASSET_KINDS.join(', ')}`)
    .option('--mode <mode>', 'free, paid or closed', 'free')
    .option('--access <mode>', 'the same as --mode')
    .option('--price <coins>', 'fee per use in a job (paid and closed)', '0')
    .option('--download-price <coins>', 'fee per download (paid and closed)', '0')
    .option('--name <name>', 'name in the metadata (default: the file name)')
    .option('--description <text>', 'description in the metadata')
    .option('--licence <licence>', 'licence in the metadata')
    .action(
      action(async (fileArg: string | undefined, o: ConnOpts & { file?: string; kind: string; mode: string; access?: string; price: string; downloadPrice: string; name?: string; description?: string; licence?: string }) => {
        const file = fileArg ?? o.file
        if (!file) throw new AssetError('BAD_ARGS', 'name the blob: `asset publish FILE` or `--file FILE`')
        if (fileArg && o.file && fileArg !== o.file) throw new AssetError('BAD_ARGS', `two files named: ${fileArg} and --file ${o.file}`)
        const kind = pick(o.kind, ASSET_KINDS, '--kind') as AssetKind
        const mode = pick(o.access ?? o.mode, ['free', 'paid', 'closed'] as const, o.access ? '--access' : '--mode') as AssetAccess
        const plain: Uint8Array = new Uint8Array(await readFile(file))
        const c = await connect(o)
        let blob: Uint8Array = plain
        let contentKey: Uint8Array | undefined
        if (mode === 'closed') {
          c.privateKey('registering a closed asset') // fail before storing anything
          contentKey = newContentKey()
          blob = encryptBlob(contentKey, plain)
        }
        const hash = await c.putBlob(blob)
        const meta = encodeMetadata({ name: o.name ?? file.split('/').pop()!, description: o.description, licence: o.licence, kind, size: plain.length, plaintextHash: contentHash(plain), ...(contentKey ? { encryption: 'PVA1' } : {}) })
        const price = mode === 'free' ? 0n : parseEther(o.price)
        const dl = mode === 'free' ? 0n : parseEther(o.downloadPrice)
        const r = await c.send('publish', [ASSET_KINDS.indexOf(kind), hash, BigInt(plain.length), meta.hash, meta.uri, ASSET_ACCESS.indexOf(mode), price, dl])
        const id = eventArg(r.logs.find((l) => l.topics.length === 4)?.topics[3]) // Transfer(0, owner, id)
        if (contentKey) {
          // The owner keeps the content key by sealing it to itself on chain: no local key file to lose.
          await c.ensurePublicKey()
          await c.send('grant', [id, c.from, bytesToHex(sealKey(contentKey, c.publicKey()))])
        }
        print(o.json, { id: id.toString(), contentHash: hash, metadataHash: meta.hash, mode, kind, tx: r.hash }, `asset ${id}: ${kind}, ${mode}, blob ${hash}\n`)
      }),
    )

  conn(asset.command('show').argument('<id>'))
    .description('an asset: owner, mode, prices, usage, ratings and score, metadata')
    .action(
      action(async (idArg: string, o: ConnOpts) => {
        const c = await connect(o)
        const a = await c.chain.rpc.request<Record<string, unknown> | null>('pov_getAsset', [assetId(idArg).toString()])
        if (!a) throw new AssetError('NO_ASSET', `no asset ${idArg}`)
        const meta = decodeMetadataUri(a.uri as string, a.metadataHash as Hex)
        const lines = [
          `asset ${BigInt(a.id as string)} — ${meta?.name ?? a.uri}`,
          meta?.description ? `  ${meta.description}` : '',
          `  ${a.kind}, ${a.mode}, owner ${a.owner}`,
          `  licence ${meta?.licence ?? '(none stated)'}`,
          `  price ${roundedCoins(BigInt(a.pricePerUse as string))} coins per use in a job, ${roundedCoins(BigInt(a.pricePerDownload as string))} coins per download`,
          `  blob ${a.contentHash} (${BigInt(a.size as string)} bytes${meta?.encryption ? `, encrypted ${meta.encryption}` : ''})`,
          meta?.format?.input || meta?.format?.output ? `  format ${meta.format.input ?? '?'} → ${meta.format.output ?? '?'}` : '',
          `  usage ${BigInt(a.usage as string)}, ${a.clientRatings} ratings, score ${BigInt(a.score as string)}`,
        ]
        print(o.json, { asset: a, metadata: meta ?? null }, lines.filter(Boolean).join('\n') + '\n')
      }),
    )

  conn(asset.command('list').alias('search').argument('[text]', 'only assets whose metadata name, description or licence contains this (case-insensitive; scans every matching page)'))
    .description('registered assets (filters, sort, paging; alias: search [TEXT])')
    .option('--kind <kind>', `one of ${ASSET_KINDS.join(', ')}`)
    .option('--mode <mode>', `one of ${ASSET_ACCESS.join(', ')}`)
    .option('--owner <address>', 'assets of this owner')
    .option('--sort <order>', 'id, score, usage or new', 'id')
    .option('--offset <n>', 'skip this many', '0')
    .option('--limit <n>', 'at most this many (≤ 100)', '20')
    .action(
      action(async (text: string | undefined, o: ConnOpts & { kind?: string; mode?: string; owner?: string; sort: string; offset: string; limit: string }) => {
        const c = await connect(o)
        type Page = { total: number; offset?: number; assets: Record<string, string>[] }
        const list = (offset: number, limit: number) => c.chain.rpc.request<Page>('pov_listAssets', [{ kind: o.kind, mode: o.mode, owner: o.owner, sort: o.sort, offset, limit }])
        let page: Page
        if (!text) page = await list(Number(o.offset), Number(o.limit))
        else {
          // The chain holds only the metadata hash and URI: the text is matched here, over every page.
          const needle = text.toLowerCase()
          const hits: Record<string, string>[] = []
          for (let offset = 0; ; offset += 100) {
            const p = await list(offset, 100)
            for (const a of p.assets) {
              const m = decodeMetadataUri(a.uri ?? '', (a.metadataHash ?? '0x') as Hex)
              if (m && [m.name, m.description, m.licence].some((f) => f?.toLowerCase().includes(needle))) hits.push({ ...a, name: m.name })
            }
            if (p.assets.length < 100 || offset + 100 >= p.total) break
          }
          page = { total: hits.length, offset: Number(o.offset), assets: hits.slice(Number(o.offset), Number(o.offset) + Number(o.limit)) }
        }
        print(o.json, page, page.assets.map((a) => `${BigInt(a.id!)}\t${a.kind}\t${a.mode}\tusage ${BigInt(a.usage!)}\tscore ${BigInt(a.score!)}\t${a.owner}${a.name ? `\t${a.name}` : ''}\n`).join('') + `(${page.total} matching)\n`)
      }),
    )

  conn(asset.command('key'))
    .description("publish this account's public key, so owners can seal content keys to it")
    .action(
      action(async (o: ConnOpts) => {
        const c = await connect(o)
        const sent = await c.ensurePublicKey()
        print(o.json, { address: c.from, publicKey: bytesToHex(c.publicKey()), sent }, sent ? `published the public key of ${c.from}\n` : `${c.from}: already published\n`)
      }),
    )

  conn(asset.command('grant').argument('<id>').argument('[address]', 'grantee: a standing grant; with --job, only that participant of the job'))
    .description("seal a closed asset's content key to a grantee, or (--job) to the worker and verifiers of a job that uses it, for that job only")
    .option('--job <jobId>', "answer the job's grant requests: seal to each participant on record (its worker and drawn verifiers), for that job only")
    .action(
      action(async (idArg: string, who: string | undefined, o: ConnOpts & { job?: string }) => {
        const c = await connect(o)
        const id = assetId(idArg)
        const own = await c.registry.grantOf(id, c.from)
        if (own === '0x') throw new AssetError('NO_CONTENT_KEY', `${c.from} holds no sealed content key of asset ${id} (only its owner, who registered it closed, can grant)`)
        const contentKey = openKey(hexToBytes(own), c.privateKey('granting'))
        if (o.job) {
          const done = await c.sealJobGrants(id, jobId(o.job), contentKey, who ? account(who) : undefined)
          const lines = done.map((d) => `asset ${id}: ${d.tx ? `content key sealed to ${d.grantee} for job ${o.job}` : `${d.grantee} skipped (${d.skipped === 'fulfilled' ? 'already granted' : 'no public key published: it runs `povchain asset key` once'})`}\n`)
          print(o.json, { id: id.toString(), job: o.job, grants: done }, lines.join(''))
          if (!done.some((d) => d.tx || d.skipped === 'fulfilled')) process.exitCode = 1
          return
        }
        if (!who) throw new AssetError('BAD_ARGS', 'name the grantee ADDRESS, or --job JOBID')
        const grantee = account(who)
        const pub = await c.registry.publicKeyOf(grantee)
        if (pub === '0x') throw new AssetError('NO_PUBLIC_KEY', `${grantee} has not published its public key: it runs \`povchain asset key\` once`)
        const r = await c.send('grant', [id, grantee, bytesToHex(sealKey(contentKey, hexToBytes(pub)))])
        print(o.json, { id: id.toString(), grantee, job: null, tx: r.hash }, `asset ${id}: content key sealed to ${grantee}\n`)
      }),
    )

  const rotationJson = (k: KeyRotationResult) => ({ version: k.version, contentHash: k.contentHash, kept: k.kept, dropped: k.dropped, tx: k.tx })
  const rotationText = (k: KeyRotationResult) =>
    `asset ${k.id}: content key rotated to version ${k.version}, new blob ${k.contentHash}; the new key is sealed to ${k.kept.join(', ')}${k.dropped.length ? `; left out: ${k.dropped.join(', ')}` : ''}\n`

  conn(asset.command('revoke').argument('<id>').argument('<address>'))
    .description('end a standing grant; for a closed asset, also rotate its content key (re-encrypt, re-seal to the remaining grantees) so later versions are closed to the revoked account — what it already downloaded and decrypted stays with it')
    .option('--no-rotate', 'only end the grant on chain (the revoked account keeps the key of the current version and can still read it)')
    .action(
      action(async (idArg: string, who: string, o: ConnOpts & { rotate: boolean }) => {
        const c = await connect(o)
        const id = assetId(idArg)
        const grantee = account(who)
        if (grantee === c.from) throw new AssetError('BAD_ARGS', `${grantee} is the owner: its own grant is how it keeps the content key`)
        const a = await c.registry.asset(id)
        if (!a) throw new AssetError('NO_ASSET', `no asset ${id}`)
        const rotate = o.rotate && a.access === 'closed'
        if (rotate) c.privateKey('rotating the content key on revocation (or pass --no-rotate)') // fail before any transaction
        if (!rotate) {
          const r = await c.send('revoke', [id, grantee])
          const warn = a.access === 'closed' ? `asset ${idArg}: content key NOT rotated (--no-rotate): ${grantee} can still open the current version\n` : ''
          print(o.json, { id: idArg, grantee, tx: r.hash, rotated: null }, `asset ${idArg}: grant of ${grantee} revoked\n${warn}`)
          return
        }
        // The rotation is the revocation: one transaction keeps exactly the other grantees, so a
        // failure before it (blob, keys) leaves the chain as it was and can simply be retried.
        const k = await rotateContentKey(c, id, [grantee])
        print(o.json, { id: idArg, grantee, tx: k.tx, rotated: rotationJson(k) }, `asset ${idArg}: grant of ${grantee} revoked by rotating the content key\n${rotationText(k)}`)
      }),
    )

  conn(asset.command('rotate').argument('<id>'))
    .description("re-encrypt a closed asset under a fresh content key and re-seal it to the owner and the grantees that still hold a grant: earlier grants and job grants open nothing current")
    .option('--drop <addresses>', 'comma-separated standing grantees to leave out of the new version')
    .action(
      action(async (idArg: string, o: ConnOpts & { drop?: string }) => {
        const c = await connect(o)
        const k = await rotateContentKey(c, assetId(idArg), (o.drop ?? '').split(',').filter(Boolean).map((x) => account(x.trim())))
        print(o.json, { id: idArg, ...rotationJson(k) }, rotationText(k))
      }),
    )

  conn(asset.command('remove').argument('<id>'))
    .description('delist the asset for good: no new job may use it, nodes drop their copies')
    .action(
      action(async (idArg: string, o: ConnOpts) => {
        const c = await connect(o)
        const r = await c.send('remove', [assetId(idArg)])
        print(o.json, { id: idArg, tx: r.hash }, `asset ${idArg} removed\n`)
      }),
    )

  conn(asset.command('use').argument('<jobId>').argument('<ids...>'))
    .description('name the assets your job uses and pay their per-use fees into escrow (before the job is final)')
    .action(
      action(async (jid: string, ids: string[], o: ConnOpts) => {
        const c = await connect(o)
        const list = ids.map(assetId)
        let fees = 0n
        for (const id of list) fees += await c.registry.useFee(id, c.from)
        const r = await c.send('useInJob', [jobId(jid), list], fees)
        print(o.json, { jobId: jid, ids: list.map(String), fees: fees.toString(), tx: r.hash }, `job ${jid}: ${list.length} assets, ${roundedCoins(fees)} coins of fees in escrow\n`)
      }),
    )

  conn(asset.command('job').argument('<spec>', 'job spec (JSON)'))
    .description('post a job that uses registered assets: postJob and useInJob (with the fees) signed back to back')
    .requiredOption('--assets <ids>', 'comma-separated asset ids the job uses')
    .option('--price <coins>', 'price held in escrow (default: the market estimate)')
    .option('--deadline <seconds>', 'seconds from now by which the work must be committed', '3600')
    .option('--dataset <file>', "the spec's dataset blob, when it is not bundled")
    .action(
      action(async (specPath: string, o: ConnOpts & { assets: string; price?: string; deadline: string; dataset?: string }) => {
        const c = await connect(o)
        const ids = o.assets.split(',').map((x) => assetId(x.trim()))
        const r = await postJobWithAssets(c, { specPath, ids, deadlineSec: BigInt(o.deadline), ...(o.price ? { price: parseEther(o.price) } : {}), ...(o.dataset ? { datasetFile: o.dataset } : {}) })
        print(o.json, { ...r, ids: ids.map(String) }, `job ${r.jobId}: ${roundedCoins(r.price)} coins in escrow, ${ids.length} assets linked with ${roundedCoins(r.fees)} coins of fees\n`)
      }),
    )

  conn(asset.command('settle').argument('<jobId>'))
    .description('once the job is final: pay the owners and count the usage (accepted), or refund the fees')
    .action(
      action(async (jid: string, o: ConnOpts) => {
        const c = await connect(o)
        const r = await c.send('settle', [jobId(jid)])
        const u = await c.registry.jobUse(jobId(jid))
        print(o.json, { jobId: jid, settled: u.settled, tx: r.hash }, `job ${jid}: settled\n`)
      }),
    )

  conn(asset.command('rate').argument('<id>').argument('<stars>', '1 … 5'))
    .description('rate an asset you used in an accepted job (once)')
    .action(
      action(async (idArg: string, stars: string, o: ConnOpts) => {
        const n = Number(stars)
        if (!Number.isInteger(n) || n < 1 || n > 5) throw new AssetError('BAD_STARS', 'stars must be 1 … 5')
        const c = await connect(o)
        const r = await c.send('rate', [assetId(idArg), n])
        print(o.json, { id: idArg, stars: n, tx: r.hash }, `asset ${idArg} rated ${n}\n`)
      }),
    )

  conn(asset.command('fetch').alias('get').argument('<id>'))
    .description('download an asset from the node, check its hash, and decrypt it (closed: with your grant or your job grant); a paid download is paid first (payDownload) and the request signed')
    .requiredOption('--out <file>', 'where to write the (decrypted) blob')
    .option('--job <jobId>', 'use the job grant of a job you were assigned (and read as its participant)')
    .option('--no-pay', 'never pay a download price: fail instead')
    .action(
      action(async (idArg: string, o: ConnOpts & { out: string; job?: string; pay: boolean }) => {
        const c = await connect(o)
        const id = assetId(idArg)
        const a = await c.registry.asset(id)
        if (!a) throw new AssetError('NO_ASSET', `no asset ${id}`)
        if (a.access === 'removed') throw new AssetError('REMOVED', `asset ${id} was removed by its owner`)
        const job = o.job ? jobId(o.job) : undefined
        let paid = 0n
        let auth
        if (downloadIsGated(a)) {
          // The node serves it to accounts entitled on chain: pay the download unless already entitled.
          if (!(await downloadEntitled(c, a, job))) {
            if (!o.pay) throw new AssetError('NOT_PAID', `asset ${id} costs ${roundedCoins(a.pricePerDownload)} coins per download and ${c.from} has not paid it (drop --no-pay to pay)`)
            await c.send('payDownload', [id], a.pricePerDownload)
            paid = a.pricePerDownload
          }
          auth = await c.signBlobRequest(a.contentHash, job)
        }
        let bytes: Uint8Array = await c.getBlob(a.contentHash, MAX_ASSET_BYTES, auth)
        if (a.access === 'closed') {
          let sealed: Hex
          if (job) {
            const g = await c.registry.jobGrantOf(id, job, c.from)
            if (!g.fulfilled) throw new AssetError('NO_GRANT', `${c.from} holds no fulfilled job grant of asset ${id} for job ${o.job} (its worker and drawn verifiers get one from the owner)`)
            sealed = g.sealedKey
          } else sealed = await c.registry.grantOf(id, c.from)
          if (sealed === '0x') throw new AssetError('NO_GRANT', `${c.from} holds no grant of closed asset ${id}: ask its owner (${a.owner})`)
          bytes = decryptBlob(openKey(hexToBytes(sealed), c.privateKey('opening a closed asset')), bytes)
        }
        const meta = decodeMetadataUri(a.uri, a.metadataHash)
        if (meta && contentHash(bytes) !== meta.plaintextHash) throw new AssetError('PLAINTEXT_MISMATCH', `the decrypted blob does not hash to the metadata's plaintextHash ${meta.plaintextHash}`)
        await writeFile(o.out, bytes)
        print(o.json, { id: id.toString(), bytes: bytes.length, out: o.out, contentHash: a.contentHash, paid: paid.toString() }, `${o.out}: ${bytes.length} bytes of asset ${id}${paid > 0n ? ` (paid ${roundedCoins(paid)} coins)` : ''}\n`)
      }),
    )

  conn(asset.command('rewards'))
    .description("pay the period that just ended: the top three free assets of each kind (anyone; once per period)")
    .action(
      action(async (o: ConnOpts) => {
        const c = await connect(o)
        const before = await c.registry.period()
        const r = await c.send('distributeRewards')
        const paid = r.logs.filter((l) => l.topics.length === 4 && l.address.toLowerCase() === c.registry.address.toLowerCase()).length
        print(o.json, { period: (before.current - 1n).toString(), rewarded: paid, tx: r.hash }, paid ? `period ${before.current - 1n}: ${paid} assets rewarded\n` : 'nothing to pay (period already paid, or none ended)\n')
      }),
    )

  conn(asset.command('withdraw'))
    .description('withdraw your fees, rewards and prizes from the registry')
    .action(
      action(async (o: ConnOpts) => {
        const c = await connect(o)
        const amount = await c.registry.credits(c.from)
        const r = await c.send('withdraw')
        print(o.json, { amount: amount.toString(), tx: r.hash }, `withdrew ${roundedCoins(amount)} coins\n`)
      }),
    )
  return asset
}
