import { secp256k1 } from '@noble/curves/secp256k1.js'
import { encodeEventTopics, getAddress, stringToHex, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { JsonRpcError } from '../../bridge/JsonRpcClient.js'
import { bytesToHex, concatBytes, hexToBytes } from '../../common/bytes.js'
import { contentHash } from '../../compute/ContentHash.js'
import { sealKey } from '../../compute/KeySeal.js'
import { ASSET_REGISTRY_ADDRESS } from '../../genesis/AssetRegistryGenesis.js'
import { RPC_BLOB_CHUNK } from '../client/MarketRpcMethods.js'
import type { MarketTxReceipt } from '../client/MarketChain.js'
import { RpcMarketChain } from '../client/RpcMarketChain.js'
import { AssetError } from './AssetError.js'
import { AssetRegistryReader, describeRegistryRevert, encodeRegistryCall, registryAbi } from './AssetRegistryReader.js'
import { blobRequestFields, blobRequestToJson, serverOfUrl, signBlobRequest, signBlobRequestWith, type BlobRequestJson } from './DownloadAuth.js'

const q = (n: bigint) => `0x${n.toString(16)}`
const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000'

/** What `sealJobGrants` did for one grantee of a job. */
export interface JobGrantSealing {
  grantee: Address
  /** The fulfilJobGrant transaction, when one was sent. */
  tx?: Hex
  /** Why nothing was sent: already sealed, or no published public key. */
  skipped?: 'fulfilled' | 'no-public-key'
}

/**
 * The AssetRegistry over a node's JSON-RPC for the asset CLI: typed reads, transactions from
 * one account (a local key, or an account the node holds unlocked), the node's blob store, and
 * — when a private key is at hand — the account's secp256k1 key pair for sealing and opening.
 */
export class AssetClient {
  readonly registry: AssetRegistryReader

  private constructor(
    readonly chain: RpcMarketChain,
    private readonly key?: Uint8Array,
  ) {
    this.registry = new AssetRegistryReader(chain)
  }

  static async connect(url: string, opts: { key?: Uint8Array; from?: Address } = {}): Promise<AssetClient> {
    return new AssetClient(await RpcMarketChain.connect(url, opts), opts.key)
  }

  get from(): Address {
    return this.chain.from
  }

  /** The signing key; closed assets (sealing, opening) need one. */
  privateKey(what: string): Uint8Array {
    if (!this.key) throw new AssetError('NO_KEY', `${what} needs this account's private key: pass --keystore FILE (or --key-file FILE)`)
    return this.key
  }

  /** The account's public key as the registry stores it (64 bytes x ‖ y). */
  publicKey(): Uint8Array {
    return secp256k1.getPublicKey(this.privateKey('a public key'), false).subarray(1)
  }

  /**
   * A registry transaction, simulated first so a revert is reported with the contract's reason
   * (`AssetRegistry: NoGrant(…)`) before any gas is spent.
   */
  async send(functionName: string, args: readonly unknown[] = [], value = 0n): Promise<MarketTxReceipt> {
    const data = encodeRegistryCall(functionName, args)
    try {
      await this.chain.rpc.request('eth_call', [{ from: this.from, to: ASSET_REGISTRY_ADDRESS, data, value: q(value) }, 'latest'])
    } catch (e) {
      if (e instanceof JsonRpcError) throw new AssetError('REVERTED', `${functionName}: ${describeRegistryRevert(e.data as Hex | undefined) ?? e.rpcMessage}`, { cause: e })
      throw e
    }
    return this.chain.send(ASSET_REGISTRY_ADDRESS, data, { value })
  }

  /**
   * Sends transactions back to back without waiting in between (consecutive nonces), then waits
   * for all of them: how a client links assets to a job before a worker can finish it.
   * Returns each transaction's hash and whether it succeeded.
   */
  async sendBackToBack(txs: { to: Address; data: Hex; value?: bigint }[], gas = 5_000_000n): Promise<{ hash: Hex; ok: boolean; blockNumber: bigint }[]> {
    const rpc = this.chain.rpc
    const hashes: Hex[] = []
    if (this.key) {
      const account = privateKeyToAccount(bytesToHex(this.key) as Hex)
      const [chainId, nonce, tip, head] = await Promise.all([
        rpc.request<Hex>('eth_chainId'),
        rpc.request<Hex>('eth_getTransactionCount', [this.from, 'pending']),
        rpc.request<Hex>('eth_maxPriorityFeePerGas'),
        rpc.request<{ baseFeePerGas: Hex }>('eth_getBlockByNumber', ['latest', false]),
      ])
      const raws: Hex[] = []
      for (const [i, tx] of txs.entries())
        raws.push(await account.signTransaction({ type: 'eip1559', chainId: Number(BigInt(chainId)), nonce: Number(BigInt(nonce)) + i, to: tx.to, data: tx.data, value: tx.value ?? 0n, gas, maxPriorityFeePerGas: BigInt(tip), maxFeePerGas: 2n * BigInt(head.baseFeePerGas) + BigInt(tip) }))
      for (const raw of raws) hashes.push(await rpc.request<Hex>('eth_sendRawTransaction', [raw]))
    } else for (const tx of txs) hashes.push(await rpc.request<Hex>('eth_sendTransaction', [{ from: this.from, to: tx.to, data: tx.data, value: q(tx.value ?? 0n), gas: q(gas) }]))
    const until = Date.now() + 120_000
    const out: { hash: Hex; ok: boolean; blockNumber: bigint }[] = []
    for (const hash of hashes)
      for (;;) {
        const r = await rpc.request<{ status: Hex; blockNumber: Hex } | null>('eth_getTransactionReceipt', [hash])
        if (r) {
          out.push({ hash, ok: r.status === '0x1', blockNumber: BigInt(r.blockNumber) })
          break
        }
        if (Date.now() > until) throw new AssetError('TX_TIMEOUT', `transaction ${hash} was not mined within 120 s`)
        await new Promise((res) => setTimeout(res, 100))
      }
    return out
  }

  /** The grantees of job grant requests for job `jobId` on asset `id` (JobGrantRequested logs: its workers and drawn verifiers). */
  async jobGrantees(id: bigint, jobId: Hex): Promise<Address[]> {
    const topics = encodeEventTopics({ abi: registryAbi(), eventName: 'JobGrantRequested', args: { id, jobId } } as never)
    const logs = await this.chain.rpc.request<{ topics: Hex[] }[]>('eth_getLogs', [{ address: ASSET_REGISTRY_ADDRESS, fromBlock: '0x0', toBlock: 'latest', topics }])
    const out: Address[] = []
    for (const l of logs) {
      const a = getAddress(`0x${l.topics[3]!.slice(26)}`)
      if (!out.includes(a)) out.push(a)
    }
    return out
  }

  /**
   * The owner side of job grants: seals `contentKey` (opened from the owner's own grant) for job
   * `jobId` only to `grantee`, or to every participant with a request on record (the job's
   * workers and drawn verifiers), with `fulfilJobGrant(id, jobId, grantee, sealed)`. While the job
   * runs, the running session's requests are recorded first (`requestJobGrants`) when the grantee
   * has none. Grants already sealed are left alone, so calling again sends nothing new.
   */
  async sealJobGrants(id: bigint, jobId: Hex, contentKey: Uint8Array, grantee?: Address): Promise<JobGrantSealing[]> {
    const onRecord = async () => (grantee ? ((await this.registry.jobGrantOf(id, jobId, grantee)).grantee !== ZERO_ADDRESS ? [grantee] : []) : this.jobGrantees(id, jobId))
    let grantees = await onRecord()
    if (grantees.length === 0) {
      await this.send('requestJobGrants', [jobId]) // reverts JobNotRunning / JobNotLinked with the registry's reason
      grantees = await onRecord()
    }
    if (grantees.length === 0) throw new AssetError('NO_JOB_GRANT_REQUEST', `no job grant request of ${grantee ?? 'anyone'} for job ${jobId} on asset ${id}: only the job's worker and its drawn verifiers get one (the owner needs none)`)
    const out: JobGrantSealing[] = []
    for (const g of grantees) {
      if ((await this.registry.jobGrantOf(id, jobId, g)).fulfilled) {
        out.push({ grantee: g, skipped: 'fulfilled' })
        continue
      }
      const pub = await this.registry.publicKeyOf(g)
      if (pub === '0x') {
        out.push({ grantee: g, skipped: 'no-public-key' })
        continue
      }
      const r = await this.send('fulfilJobGrant', [id, jobId, g, bytesToHex(sealKey(contentKey, hexToBytes(pub)))])
      out.push({ grantee: g, tx: r.hash })
    }
    return out
  }

  /** Publishes this account's public key unless the registry already has it. */
  async ensurePublicKey(): Promise<boolean> {
    const pub = bytesToHex(this.publicKey())
    if ((await this.registry.publicKeyOf(this.from)).toLowerCase() === pub.toLowerCase()) return false
    await this.send('setPublicKey', [pub])
    return true
  }

  /** Stores a blob in the node's content-addressed store (pov_putBlob, ≤ 1 MiB). */
  async putBlob(bytes: Uint8Array): Promise<Hex> {
    const hash = contentHash(bytes)
    if (bytes.length > RPC_BLOB_CHUNK) throw new AssetError('BLOB_TOO_LARGE', `the blob (${bytes.length} bytes) exceeds what pov_putBlob takes (${RPC_BLOB_CHUNK}); put it on the node with \`compute dataset import\``)
    const got = await this.chain.rpc.request<Hex>('pov_putBlob', [bytesToHex(bytes)])
    if (got !== hash) throw new AssetError('BLOB', `the node stored ${got}, expected ${hash}`)
    return hash
  }

  /**
   * A signed blob request for `hash` (market/assets/DownloadAuth.ts), addressed to the node this
   * client talks to (its RPC URL's origin) with a one-time challenge of it (pov_blobChallenge):
   * with the local key, or through the node's eth_sign for a node-unlocked account. Good for
   * one download (each chunk is read once).
   */
  async signBlobRequest(hash: Hex, jobId?: Hex): Promise<BlobRequestJson> {
    const chainId = BigInt(await this.chain.rpc.request<Hex>('eth_chainId'))
    const { nonce } = await this.chain.rpc.request<{ nonce: Hex }>('pov_blobChallenge', [])
    const fields = blobRequestFields(chainId, hash, { server: serverOfUrl(this.chain.rpc.url), nonce }, jobId)
    const signed = this.key
      ? await signBlobRequest(this.key, fields)
      : await signBlobRequestWith(this.from, (m) => this.chain.rpc.request<Hex>('eth_sign', [this.from, stringToHex(m)]), fields)
    return blobRequestToJson(signed)
  }

  /**
   * Fetches a blob from the node chunk by chunk (with `auth`, a signed request, for a paid
   * asset's blob) and checks it against its content hash. A refusal is reported with the
   * node's reason.
   */
  async getBlob(hash: Hex, maxBytes: number, auth?: BlobRequestJson): Promise<Uint8Array> {
    const parts: Uint8Array[] = []
    let offset = 0
    let total = -1
    do {
      let r: { total: number; data: Hex } | null
      try {
        r = await this.chain.rpc.request<{ total: number; data: Hex } | null>('pov_getBlob', auth ? [hash, offset, RPC_BLOB_CHUNK, auth] : [hash, offset, RPC_BLOB_CHUNK])
      } catch (e) {
        if (e instanceof JsonRpcError) throw new AssetError('BLOB_REFUSED', `the node at ${this.chain.rpc.url} refuses blob ${hash}: ${e.rpcMessage}`, { cause: e })
        throw e
      }
      if (!r) throw new AssetError('BLOB_UNAVAILABLE', `the node at ${this.chain.rpc.url} does not hold blob ${hash}`)
      if (total < 0) total = r.total
      if (r.total !== total || total > maxBytes) throw new AssetError('BLOB_CORRUPT', `the node announced ${r.total} bytes for ${hash} (limit ${maxBytes})`)
      const chunk = hexToBytes(r.data)
      if (chunk.length === 0 && offset < total) throw new AssetError('BLOB_CORRUPT', `the node sent an empty chunk of ${hash} at ${offset}`)
      parts.push(chunk)
      offset += chunk.length
    } while (offset < total)
    const bytes = concatBytes(...parts)
    if (contentHash(bytes) !== hash) throw new AssetError('BLOB_CORRUPT', `the blob served for ${hash} hashes to ${contentHash(bytes)}`)
    return bytes
  }
}
