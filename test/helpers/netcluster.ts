/**
 * In-process test cluster: several real PovNodes (real LevelDB, real libp2p on 127.0.0.1 with
 * OS-chosen ports) sharing a genesis with N producers. Used by network/test and the
 * cross-module network tests.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createTx, type TypedTransaction } from '@ethereumjs/tx'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { DEV_MNEMONIC, deriveKeys } from '../../chain/DevKeys.js'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '../../common/bytes.js'
import { silentLogger, type Logger } from '../../common/logger.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import type { GenesisFile } from '../../genesis/GenesisConfig.js'
import { devnetGenesis } from '../../cli/devnet.js'
import type { NodeConfig } from '../../node/NodeConfig.js'
import { PovNode } from '../../node/PovNode.js'
import { NETWORK_DEFAULT_APIS } from '../../rpc/ApiNamespaces.js'
import type { NetworkOptions } from '../../network/Network.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { noopMetrics } from '../../common/metrics.js'
import type { BlobProvider, ChainAccess, ImageArchiveProvider } from '../../network/ChainAccess.js'
import { Network } from '../../network/Network.js'
import { Block } from '../../chain/Block.js'
import type { BlockHeader } from '../../chain/Header.js'

export function randomKey(seed: number): Uint8Array {
  const k = new Uint8Array(32)
  k[0] = 0x42
  k[31] = seed + 1
  return k
}

/** The devnet genesis: the keys' addresses are the Proof-of-Value genesis validators. */
export function clusterGenesis(opts: { producers: Uint8Array[]; slotSeconds: number; timestamp: number; chainId?: number }): GenesisFile {
  return devnetGenesis({ producers: opts.producers.map((k) => bytesToHex(privateKeyToAddress(k))), slotSeconds: opts.slotSeconds, chainId: opts.chainId ?? 31338, timestamp: opts.timestamp })
}

export interface ClusterNode {
  node: PovNode
  datadir: string
  httpUrl: string
  multiaddr: string
  stop(): Promise<void>
}

export class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'povchain-net-'))
  readonly genesisFile: string
  readonly nodes: ClusterNode[] = []

  constructor(readonly genesis: GenesisFile) {
    this.genesisFile = join(this.dir, 'genesis.json')
    writeFileSync(this.genesisFile, JSON.stringify(genesis))
  }

  async start(opts: { name: string; producerKey?: Uint8Array; bootnodes?: string[]; p2p?: Partial<NetworkOptions>; logger?: Logger; datadir?: string; txpool?: NodeConfig['txpool'] }): Promise<ClusterNode> {
    const datadir = opts.datadir ?? join(this.dir, opts.name)
    const cfg: NodeConfig = {
      dev: false,
      datadir,
      genesisFile: this.genesisFile,
      devPeriod: 0,
      txpool: opts.txpool ?? {},
      logLevel: 'warn',
      // admin_ and debug_ are off outside --dev; the network tests read admin_peers.
      rpc: { httpAddr: '127.0.0.1', httpPort: 0, wsAddr: '127.0.0.1', wsPort: 0, httpApi: [...NETWORK_DEFAULT_APIS, 'admin', 'debug'] },
      producerKey: opts.producerKey,
      p2p: {
        listenAddr: '127.0.0.1',
        port: 0,
        bootnodes: opts.bootnodes ?? [],
        maintainIntervalMs: 1_000,
        progress: 'off',
        statusIntervalMs: 2_000,
        ...opts.p2p,
      },
    }
    const node = new PovNode(cfg, opts.logger ?? silentLogger)
    try {
      await node.start()
    } catch (e) {
      await node.stop().catch(() => {})
      throw e
    }
    const n: ClusterNode = {
      node,
      datadir,
      httpUrl: node.httpUrl!,
      multiaddr: node.network!.multiaddrs()[0]!,
      stop: async () => {
        await node.stop()
        const i = this.nodes.indexOf(n)
        if (i >= 0) this.nodes.splice(i, 1)
      },
    }
    this.nodes.push(n)
    return n
  }

  async destroy(): Promise<void> {
    for (const n of [...this.nodes]) await n.stop().catch(() => {})
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Polls `fn` until it returns a truthy value, or throws after `timeoutMs`. */
export async function until<T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v as T
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

// ------------------------------------------------------------------ chain history for sync tests


export const DEV_KEYS = deriveKeys(DEV_MNEMONIC, 10)

/** A signed EIP-1559 transfer from dev account `from` on chain `chainId`. */
export function transferTx(chainId: bigint, from: number, nonce: bigint, to: Uint8Array, value: bigint): TypedTransaction {
  return createTx(
    { type: 2, nonce, to, value, gasLimit: 21000n, maxFeePerGas: 100n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n, chainId },
    { common: createChainCommon(chainId) },
  ).sign(DEV_KEYS[from]!)
}

/**
 * Produces `count` blocks on `node` at consecutive past slots, each sealed by the slot's
 * leader among `keys`, with `txsPerBlock` transfers (from dev accounts 1…) in every
 * `txEvery`-th block. The genesis timestamp must lie far enough in the past.
 */
export async function buildHistory(
  node: PovNode,
  keys: Uint8Array[],
  opts: { count: number; slotSeconds: number; genesisTimestamp: number; chainId: bigint; txsPerBlock?: number; txEvery?: number },
): Promise<void> {
  const nonces = new Map<number, bigint>()
  const head0 = node.store.head()
  for (let i = 0; i < opts.count; i++) {
    const slot = head0.slot + BigInt(i) + 1n
    // The slot's leader by the chain's own schedule.
    const leader = bytesToHex((await node.chain.engine.ranking(node.store.head(), slot))[0]!)
    const key = keys.find((k) => bytesToHex(privateKeyToAddress(k)) === leader)
    if (!key) throw new Error(`slot ${slot}: leader ${leader} is not one of the keys`)
    if ((opts.txsPerBlock ?? 0) > 0 && i % (opts.txEvery ?? 1) === 0) {
      for (let k = 0; k < opts.txsPerBlock!; k++) {
        const from = 1 + (k % 9)
        const nonce = nonces.get(from) ?? 0n
        nonces.set(from, nonce + 1n)
        await node.pool.add(transferTx(opts.chainId, from, nonce, new Uint8Array(20).fill(0xee), 1n))
      }
    }
    const b = await node.chain.produceBlock(
      { key, address: privateKeyToAddress(key) },
      { allowEmpty: true, slot, timestamp: BigInt(opts.genesisTimestamp) + slot * BigInt(opts.slotSeconds) },
    )
    if (!b) throw new Error(`no block at slot ${slot}`)
  }
}

// ------------------------------------------------------------------ a misbehaving peer


/**
 * A libp2p peer speaking our protocols with a chain that never moves past `genesis` (so it
 * passes the status handshake) — tests make it misbehave through its `gossip` and `reqresp`.
 */
export async function startRogue(opts: {
  chainId: bigint
  genesis: BlockHeader
  bootnodes: string[]
  common: ReturnType<typeof createChainCommon>
  /** The head it claims in its status (default: genesis). */
  claimHead?: BlockHeader
  /** What it answers blob_by_hash with (default: no handler). */
  blobs?: BlobProvider
  /** What it answers image_archives with (default: no handler). */
  images?: ImageArchiveProvider
  /** The finalized block it claims in its status (default: none). */
  claimFinalized?: { number: bigint; hash: Uint8Array }
  /** Never answers a headers request (they time out on the asking side). */
  silent?: boolean
}): Promise<Network> {
  const chain: ChainAccess = {
    chainId: opts.chainId,
    genesisHash: opts.genesis.hash(),
    head: () => opts.claimHead ?? opts.genesis,
    finalized: () => opts.claimFinalized,
    getHeader: async () => undefined,
    canonicalHeader: (n) => (opts.silent ? new Promise(() => {}) : Promise.resolve(n === 0n ? opts.genesis : undefined)),
    getBlock: async () => undefined,
    getReceipts: async () => undefined,
    decodeBlock: (b) => Block.decode(b, opts.common),
    assembleBlock: async (h) => new Block(h, []),
    precheckHeader: () => undefined,
    precheckBlock: async () => ({ status: 'ok' }),
    importBlock: async () => ({ status: 'known' }),
    addTransaction: async () => ({ status: 'ignored', reason: 'rogue' }),
    onNewHead: () => () => {},
  }
  const net = new Network(
    { listenAddr: '127.0.0.1', port: 0, bootnodes: opts.bootnodes, progress: 'off', maintainIntervalMs: 1_000, statusIntervalMs: 60_000 },
    { chain, ...(opts.blobs ? { blobs: opts.blobs } : {}), ...(opts.images ? { images: opts.images } : {}), privateKey: await generateKeyPair('Ed25519'), logger: silentLogger, metrics: noopMetrics },
  )
  await net.start()
  return net
}
