import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getAddress, type Hex } from 'viem'
import { bytesToHex } from '../../common/bytes.js'
import type { Logger } from '../../common/logger.js'
import type { Metrics } from '../../common/metrics.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import type { BlobStore } from '../../compute/worker/BlobStore.js'
import type { RpcBackend } from '../../rpc/RpcBackend.js'
import { readPasswordFile } from '../../accounts/AccountManager.js'
import { Keystore } from '../../accounts/Keystore.js'
import { backendCaller } from '../client/MarketChain.js'
import { WorkMarketReader } from '../client/WorkMarketReader.js'
import { AssetError } from './AssetError.js'
import { AssetRegistryReader } from './AssetRegistryReader.js'
import { BlobAccessPolicy, type BlobAccessDecision } from './BlobAccessPolicy.js'
import { BlobChallenges } from './BlobChallenges.js'
import { blobRequestFromJson, serverOfPeer, serverOfUrl, type SignedBlobRequest } from './DownloadAuth.js'
import { JobGrantResponder } from './JobGrantResponder.js'
import { RemovedAssetJanitor } from './RemovedAssetJanitor.js'

/** `povchain node --assets.*`: the marketplace's node side. One field per flag (cli/cli.ts). */
export interface AssetNodeConfig {
  /**
   * --assets.answer-grants [addresses]: answer job grant requests (of jobs' workers and verifiers)
   * for these asset owners, whose keys the node holds; [] = every key it holds
   * (--dev: the dev accounts; otherwise the --unlock'ed ones). Undefined: off.
   */
  answerGrants?: string[]
  /** --assets.no-verifier-grants: leave verifiers' job grant requests unanswered (default: answer them). */
  grantVerifiers?: boolean
  /** --assets.keep-removed: keep (and never serve) the blobs of removed assets instead of deleting them. */
  keepRemoved?: boolean
  /** --assets.free-downloads: serve paid assets' blobs without checking that the requester paid. */
  freeDownloads?: boolean
  /**
   * --assets.origin: the HTTP origins (https://node.example:8545) under which clients reach this
   * node's JSON-RPC; a signed blob request over pov_getBlob must be addressed to one of them
   * (besides the node's own listen URL, see nodeHttpOrigins).
   */
  origins?: string[]
  pollMs?: number
}

/**
 * The private keys this node holds, by lowercase address: the dev accounts in --dev, the
 * --unlock'ed keystore accounts otherwise (unlocked again here: the AccountManager keeps its
 * keys to itself). They open grants of closed assets (ECDH needs the key, not a signature).
 */
export async function loadNodeKeys(o: { devKeys: Uint8Array[]; datadir: string; unlock?: string[] | 'all'; passwordFile?: string }): Promise<Map<string, Uint8Array>> {
  const keys = new Map<string, Uint8Array>()
  for (const k of o.devKeys) keys.set(bytesToHex(privateKeyToAddress(k)).toLowerCase(), k)
  if (o.unlock && o.passwordFile) {
    const ks = new Keystore(join(o.datadir, 'keystore'))
    const passwords = await readPasswordFile(o.passwordFile)
    const addresses = o.unlock === 'all' ? (await ks.list()).map((e) => bytesToHex(e.address)) : o.unlock
    for (const [i, a] of addresses.entries()) {
      const key = await ks.unlock(a, passwords[Math.min(i, passwords.length - 1)]!)
      keys.set(bytesToHex(privateKeyToAddress(key)).toLowerCase(), key)
    }
  }
  return keys
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

/**
 * The HTTP origins a node answers signed blob requests for: its listen URL (what a worker
 * registers as its endpoint), the --assets.origin ones and, when it listens on loopback only
 * (the default 127.0.0.1), the loopback names of its port — only local programs reach it then,
 * so a request for them can come from no collector elsewhere. A node listening on 0.0.0.0 or
 * a public address names its public origin with --assets.origin.
 */
export function nodeHttpOrigins(httpUrl: string | undefined, extra: readonly string[] = []): string[] {
  const out = new Set(extra.map(serverOfUrl))
  if (httpUrl) {
    const u = new URL(httpUrl)
    out.add(u.origin)
    if (LOOPBACK_HOSTS.has(u.hostname)) for (const h of LOOPBACK_HOSTS) out.add(`${u.protocol}//${h}${u.port ? `:${u.port}` : ''}`)
  }
  return [...out]
}

/**
 * The marketplace on a node: who may read which blob (BlobAccessPolicy: pov_getBlob with signed
 * requests, the network's blob_by_hash anonymous), the owner's job-grant answers
 * (JobGrantResponder) and the removal of removed assets' blobs (RemovedAssetJanitor).
 * The network starts before the node's backend exists, so the readers are bound later (`bind`).
 */
export class AssetNodeService {
  readonly access: BlobAccessPolicy
  /** One-time challenges of signed requests over pov_getBlob (pov_blobChallenge). */
  readonly challenges = new BlobChallenges()
  responder?: JobGrantResponder
  janitor?: RemovedAssetJanitor
  private registry?: AssetRegistryReader
  private market?: WorkMarketReader
  private servers: string[] = []
  private readonly log: Logger

  constructor(
    private readonly cfg: AssetNodeConfig,
    private readonly d: { chainId: bigint; datadir: string; keys: Map<string, Uint8Array>; blobs: BlobStore; logger: Logger; metrics: Metrics },
  ) {
    this.log = d.logger.child({ component: 'assets' })
    const readBlob = async (h: Hex) => ((await d.blobs.has(h)) ? d.blobs.get(h) : undefined)
    this.access = new BlobAccessPolicy({ registry: () => this.registry, market: () => this.market, chainId: d.chainId, servers: () => this.servers, readBlob, logger: d.logger })
    this.servers = nodeHttpOrigins(undefined, cfg.origins ?? [])
    try {
      this.access.protect(JSON.parse(readFileSync(this.protectedFile(), 'utf8')) as string[])
    } catch {
      // none yet
    }
  }

  private protectedFile(): string {
    return join(this.d.datadir, 'assets', 'protocol-blobs.json')
  }

  /**
   * Blobs this node's worker produced (checkpoints, results, session records): work-market data
   * that no asset claim may gate (anyone may publish any hash). Kept in
   * `<datadir>/assets/protocol-blobs.json` across restarts.
   */
  protectBlobs(hashes: string[]): void {
    this.access.protect(hashes)
    try {
      mkdirSync(join(this.d.datadir, 'assets'), { recursive: true })
      writeFileSync(this.protectedFile(), JSON.stringify(this.access.protectedHashes()))
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'could not save the protected blob list')
    }
  }

  /**
   * The names this node answers signed blob requests under: its libp2p peer id and its HTTP
   * origins (nodeHttpOrigins). Set once the network and the RPC server listen.
   */
  serveAs(o: { peerId?: string; httpUrl?: string }): void {
    this.servers = [...(o.peerId ? [serverOfPeer(o.peerId)] : []), ...nodeHttpOrigins(o.httpUrl, this.cfg.origins ?? [])]
    this.log.info({ servers: this.servers }, 'signed blob requests are served when addressed to these names')
  }

  /** This node's server names (see serveAs). */
  serverNames(): readonly string[] {
    return this.servers
  }

  bind(backend: RpcBackend): void {
    this.registry = new AssetRegistryReader(backendCaller(backend))
    this.market = new WorkMarketReader(backendCaller(backend))
  }

  /** For the network's blob_by_hash (no requester): serve only what needs none. Never throws. */
  async servesPeers(hash: Hex): Promise<boolean> {
    if (this.cfg.freeDownloads) return true
    return this.access.servesAnonymously(hash).catch((e: Error) => {
      this.log.warn({ hash, err: e.message }, 'blob access check failed: not serving the blob to a peer')
      return false
    })
  }

  /** For the network's blob_by_hash: what a peer gets, by the signed request it sent (if any). May throw ASSET_DOWNLOAD_AUTH. */
  async decidePeerRead(hash: Hex, request?: SignedBlobRequest): Promise<BlobAccessDecision> {
    if (this.cfg.freeDownloads) return { serve: true }
    return this.access.decide(hash, request)
  }

  /**
   * pov_getBlob's check: throws ASSET_BLOB_REFUSED (JSON-RPC -32001) when the blob is not
   * served to this requester, ASSET_DOWNLOAD_AUTH (-32602) when the signed request is not
   * addressed to this node, carries no fresh challenge of it, or already read this chunk. A
   * 0-byte read (a presence probe) reveals only the size, which the chain states anyway, and is
   * always answered.
   */
  async checkRpcRead(hash: Hex, offset: number, length: number, auth: unknown): Promise<void> {
    if (this.cfg.freeDownloads || length === 0) return
    const request = auth === undefined || auth === null ? undefined : blobRequestFromJson(auth)
    if (request) this.challenges.check(request.nonce)
    const d = await this.access.decide(hash, request)
    if (!d.serve) throw new AssetError('BLOB_REFUSED', d.message, { rpcCode: -32001 })
    // Only a request that opened the blob uses up its chunk (a refused one may be a stranger's).
    if (request && d.requester) this.challenges.consume(request.nonce!, offset)
  }

  /** pov_blobChallenge: a one-time nonce to sign into a request over pov_getBlob. */
  challenge(): { nonce: Hex; expires: number } {
    return this.challenges.issue()
  }

  async start(backend: RpcBackend): Promise<void> {
    const blobs = this.d.blobs
    const dir = join(this.d.datadir, 'assets')
    if (!this.cfg.keepRemoved) {
      this.janitor = new RemovedAssetJanitor({ stateFile: join(dir, 'removed-assets.json'), ...(this.cfg.pollMs ? { pollMs: this.cfg.pollMs } : {}) }, { backend, blobs, onDropped: (h) => this.access.invalidate(h), keep: (h) => this.access.isProtected(h), logger: this.d.logger, metrics: this.d.metrics })
      this.janitor.start()
    }
    if (this.cfg.answerGrants) {
      const wanted = this.cfg.answerGrants.map((a) => a.toLowerCase())
      const keys = new Map([...this.d.keys].filter(([a]) => wanted.length === 0 || wanted.includes(a)))
      const missing = wanted.filter((a) => !keys.has(a))
      if (missing.length) throw new AssetError('NO_KEY', `--assets.answer-grants: the node holds no key of ${missing.map((a) => getAddress(a)).join(', ')} (unlock it with --unlock and --password)`)
      if (keys.size === 0) this.log.warn('--assets.answer-grants: the node holds no keys; no job grant will be answered')
      this.responder = new JobGrantResponder(
        { keys, stateFile: join(dir, 'job-grants.json'), ...(this.cfg.grantVerifiers === false ? { grantVerifiers: false } : {}), ...(this.cfg.pollMs ? { pollMs: this.cfg.pollMs } : {}) },
        { backend, logger: this.d.logger, metrics: this.d.metrics },
      )
      this.responder.start()
    }
  }

  async stop(): Promise<void> {
    await this.responder?.stop()
    await this.janitor?.stop()
  }
}
