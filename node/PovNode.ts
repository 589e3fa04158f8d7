import { Address } from '@ethereumjs/util'
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { BlockStore } from '../chain/BlockStore.js'
import { createChainCommon } from '../chain/ChainCommon.js'
import { openChainDB, type ChainDB } from '../chain/Database.js'
import { nextBaseFee } from '../chain/FeeMarket.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { TxPool } from '../chain/txpool/index.js'
import { bytesToHex, equalBytes } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import { ChainService } from '../consensus/ChainService.js'
import { HeaderValidator, MAX_CLOCK_DISPARITY_SECONDS } from '../consensus/HeaderValidator.js'
import { BlobStore } from '../compute/worker/BlobStore.js'
import { importBundledDatasets } from '../compute/worker/JobInputs.js'
import { Network } from '../network/Network.js'
import { loadOrCreateNodeKey } from '../network/NodeIdentity.js'
import { buildGenesis } from '../genesis/GenesisBuilder.js'
import { parseGenesis, type GenesisFile, type GenesisSpec } from '../genesis/GenesisConfig.js'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { DEV_ACCOUNT_COUNT, devGenesis } from '../genesis/presets.js'
import { startRpcServers } from '../rpc/index.js'
import { resolveRpcOptions } from '../rpc/RpcOptions.js'
import { setAsideDevChain } from './DevChainSetAside.js'
import { devRpcOpenings, logDevOpenings } from './DevRpcOpenings.js'
import { explorerPages } from './ExplorerPages.js'
import { BlockExecutor } from '../vm/BlockExecutor.js'
import { TransactionTracer } from '../vm/TransactionTracer.js'
import { WorldState } from '../vm/WorldState.js'
import { AccountManager, Keystore } from '../accounts/index.js'
import { readPasswordFile } from '../accounts/AccountManager.js'
import { Attester } from './Attester.js'
import { CallRunner } from './CallRunner.js'
import { createConsensusEngine } from './ConsensusSetup.js'
import { EvidenceReporter } from './EvidenceReporter.js'
import { PovContractReader } from './PovContractReader.js'
import { povRpcMethods } from './PovRpcMethods.js'
import { addressRpcMethods } from './AddressRpcMethods.js'
import { DevMiner } from './DevMiner.js'
import { NodeError } from './errors.js'
import { NodeBackend } from './NodeBackend.js'
import { backendCaller } from '../market/client/MarketChain.js'
import { marketRpcMethods } from '../market/client/MarketRpcMethods.js'
import { WorkMarketReader } from '../market/client/WorkMarketReader.js'
import { workerRpcMethods } from '../market/worker/WorkerRpcMethods.js'
import { blobProvider, imageArchiveProvider, NetworkAdapter } from './NetworkAdapter.js'
import { WorkerService } from '../market/worker/WorkerService.js'
import { AssetNodeService, loadNodeKeys } from '../market/assets/AssetNodeService.js'
import { SlotProducer } from './SlotProducer.js'
import { HostileValidator } from './HostileValidator.js'
import { TxJournal } from './TxJournal.js'
import type { NodeConfig } from './NodeConfig.js'
import { PromMetrics } from './PromMetrics.js'

export const VERSION = '0.1.0'

/** Reads and validates the genesis the node should run: the file, or the dev preset. */
export function loadGenesis(cfg: { dev: boolean; genesisFile?: string }): GenesisSpec {
  if (cfg.genesisFile) {
    let json: GenesisFile
    try {
      json = JSON.parse(readFileSync(cfg.genesisFile, 'utf8'))
    } catch (e) {
      throw new NodeError('GENESIS_FILE', `cannot read genesis file ${cfg.genesisFile}: ${(e as Error).message}`)
    }
    return parseGenesis(json)
  }
  if (cfg.dev) return parseGenesis(devGenesis())
  throw new NodeError('NO_GENESIS', 'no genesis: pass --genesis FILE (or --dev for the dev chain), or run `povchain init` first')
}

function dirSize(dir: string): number {
  let total = 0
  try {
    for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size
  } catch {
    return 0
  }
  return total
}

/**
 * The composition root: opens the database, restores or initialises the chain, wires the
 * state, executor, pool, chain service, accounts, dev producer and JSON-RPC, and takes them
 * down in reverse order.
 */
export class PovNode {
  private db?: ChainDB
  private journal?: TxJournal
  private miner?: DevMiner
  private readonly attesters: Attester[] = []
  private slotProducer?: SlotProducer
  private hostile?: HostileValidator
  network?: Network
  /** The work-market worker side (--worker). */
  workers?: WorkerService
  /** The marketplace's node side: blob access, job grants, removed assets (--assets.*). */
  assets?: AssetNodeService
  private rpc?: Awaited<ReturnType<typeof startRpcServers>>
  private stopping?: Promise<void>
  backend!: NodeBackend
  chain!: ChainService
  pool!: TxPool
  store!: BlockStore
  readonly metrics = new PromMetrics()

  constructor(
    readonly cfg: NodeConfig,
    private readonly log: Logger,
  ) {}

  get httpUrl(): string | undefined {
    return this.rpc?.httpUrl
  }
  get wsUrl(): string | undefined {
    return this.rpc?.wsUrl
  }

  async start(): Promise<void> {
    const { cfg, log, metrics } = this
    mkdirSync(cfg.datadir, { recursive: true })
    const chainDir = join(cfg.datadir, 'chaindata')
    const db = (this.db = await openChainDB(chainDir).catch((e) => {
      throw new NodeError('DB_OPEN', `cannot open the database in ${chainDir}: ${(e as Error).message} (is another node using this datadir?)`, { cause: e })
    }))
    const spec = loadGenesis(cfg)
    const common = createChainCommon(spec.chainId)
    const store = (this.store = new BlockStore(db, common))
    const state = new WorldState(db, common, store)
    const expected = await buildGenesis(spec, state)
    const opened = await store.open().catch(async (e: { code?: string }) => {
      if (e.code !== 'CHAIN_OLD_FORMAT' || !cfg.dev || cfg.genesisFile) throw e
      return 'old-format' as const
    })
    if (opened === 'old-format') {
      state.trieDb.discard()
      await db.close()
      const movedTo = setAsideDevChain(cfg.datadir, 'old-format')
      log.warn({ movedTo, genesis: bytesToHex(expected.block.hash()) }, 'the datadir held a dev chain written by an older povchain (another block header format): moved it aside, starting a fresh dev chain')
      return this.start()
    }
    if (opened) {
      const stored = await store.genesisHash()
      if (!stored || !equalBytes(stored, expected.block.hash())) {
        state.trieDb.discard()
        if (cfg.dev && !cfg.genesisFile) {
          await db.close()
          const movedTo = setAsideDevChain(cfg.datadir, stored ? bytesToHex(stored) : '0x')
          log.warn({ movedTo, genesis: bytesToHex(expected.block.hash()) }, 'the datadir held a dev chain of another povchain version (another genesis): moved it aside, starting a fresh dev chain')
          return this.start()
        }
        throw new NodeError(
          'GENESIS_MISMATCH',
          `the datadir ${cfg.datadir} holds a chain with genesis ${stored ? bytesToHex(stored) : '(none)'}, not ${bytesToHex(expected.block.hash())}; use another --datadir or the genesis it was created with`,
        )
      }
      state.trieDb.discard()
      log.info({ number: Number(store.head().number), hash: bytesToHex(store.head().hash()) }, 'restored chain head')
    } else {
      await store.initGenesis(expected.block, expected.stateOps)
      state.trieDb.written(expected.stateKeys)
      log.info({ hash: bytesToHex(expected.block.hash()), chainId: Number(spec.chainId) }, 'initialised genesis')
    }
    const genesisHash = expected.block.hash()

    const executor = new BlockExecutor(state, common, { logger: log, metrics })
    const headAccount = async (a: Uint8Array) => (await state.readerAt(store.head().stateRoot)).getAccount(new Address(a))
    // The pool re-reads its senders at every head on the chain's queue, where the executing
    // state manager is idle and already at the head: its warm caches make that cheap.
    const queueReader = {
      getNonce: async (a: Uint8Array) => (await state.accountAt(store.head().stateRoot, a))?.nonce ?? 0n,
      getBalance: async (a: Uint8Array) => (await state.accountAt(store.head().stateRoot, a))?.balance ?? 0n,
    }
    const headReader = {
      getNonce: async (a: Uint8Array) => (await headAccount(a))?.nonce ?? 0n,
      getBalance: async (a: Uint8Array) => (await headAccount(a))?.balance ?? 0n,
    }
    const pool = (this.pool = new TxPool(
      cfg.txpool,
      {
        common,
        state: headReader,
        logger: log.child({ component: 'txpool' }),
        metrics,
        head: { baseFeePerGas: nextBaseFee(store.head()), gasLimit: store.head().gasLimit },
      },
    ))
    metrics.gauge('povchain_txpool_pending', 'Executable transactions in the pool', [], () => pool.status().pending)
    metrics.gauge('povchain_txpool_queued', 'Transactions waiting for a nonce gap', [], () => pool.status().queued)
    metrics.gauge('povchain_db_size_bytes', 'Size of the chain database on disk', [], () => dirSize(chainDir))

    // --dev holds every dev account's key: whichever of them leads a slot seals it (DevMiner).
    const devKeys = cfg.dev ? deriveKeys(DEV_MNEMONIC, DEV_ACCOUNT_COUNT) : []
    const producer = devKeys[0] ? { key: devKeys[0], address: privateKeyToAddress(devKeys[0]) } : await this.producerKey()
    const contracts = new PovContractReader(state, common)
    const engine = createConsensusEngine(spec, genesisHash, { contracts, getHeader: (h) => store.getHeader(h) })
    if (producer && !cfg.dev && engine.kind === 'authority' && !spec.producers.some((p) => equalBytes(p, producer.address)))
      throw new NodeError('NOT_PRODUCER', `${bytesToHex(producer.address)} is not in the genesis config.producers list`)
    const validator = new HeaderValidator({ genesisHash, chainId: spec.chainId, producers: engine.kind === 'authority' ? spec.producers : [], maxFutureSeconds: MAX_CLOCK_DISPARITY_SECONDS })
    const chain = (this.chain = new ChainService(
      { genesisTimestamp: spec.timestamp, slotSeconds: spec.slotSeconds },
      {
        store,
        state,
        executor,
        validator,
        engine,
        pool: { best: (fee) => pool.best(fee), setHead: (h, removed) => pool.setHead(h, queueReader, removed) },
        genesisHash,
        chainId: spec.chainId,
        logger: log,
        metrics,
      },
    ))
    await chain.init()
    log.info({ consensus: engine.kind, slotSeconds: spec.slotSeconds, epochLength: spec.epochLength, finalized: Number(chain.finality.finalized.height) }, 'consensus ready')
    await pool.setHead({ baseFeePerGas: nextBaseFee(store.head()), gasLimit: store.head().gasLimit }, headReader)

    const journal = (this.journal = new TxJournal(join(cfg.datadir, 'transactions.journal'), common, log.child({ component: 'journal' })))
    const poolTxs = () => {
      const c = pool.content()
      return [...c.pending.values(), ...c.queued.values()].flat()
    }
    let restored = 0
    for (const tx of journal.load()) {
      try {
        await pool.add(tx)
        restored++
      } catch {
        // Mined before the restart, or no longer valid: nothing to restore.
      }
    }
    journal.rewrite(poolTxs())
    if (restored) log.info({ restored }, 'restored local transactions from the journal')
    chain.onNewHead(() => {
      if (journal.needsRotation()) journal.rewrite(poolTxs())
    })

    const accounts = new AccountManager({ dev: cfg.dev }, { logger: log.child({ component: 'accounts' }) })
    if (cfg.unlock) {
      if (!cfg.passwordFile) throw new NodeError('NO_PASSWORD', '--unlock needs --password FILE')
      await accounts.unlockFromKeystore(new Keystore(join(cfg.datadir, 'keystore')), cfg.unlock, await readPasswordFile(cfg.passwordFile))
    }

    // Content-addressed blobs (specs, datasets, checkpoints, models): served to peers and over pov_ RPC.
    const blobs = new BlobStore({ dir: join(cfg.datadir, 'compute') }, { logger: log, metrics })
    await importBundledDatasets(blobs)
    // Keys the node holds (dev accounts, --unlock'ed ones): they open grants of closed assets.
    const nodeKeys = await loadNodeKeys({ devKeys, datadir: cfg.datadir, ...(cfg.unlock ? { unlock: cfg.unlock } : {}), ...(cfg.passwordFile ? { passwordFile: cfg.passwordFile } : {}) })
    const assets = (this.assets = new AssetNodeService(cfg.assets ?? {}, { chainId: spec.chainId, datadir: cfg.datadir, keys: nodeKeys, blobs, logger: log, metrics }))

    if (cfg.p2p) {
      const { key } = await loadOrCreateNodeKey(cfg.datadir)
      const network = (this.network = new Network(
        { ...cfg.p2p, clientName: `povchain/v${VERSION}` },
        {
          chain: new NetworkAdapter(spec.chainId, genesisHash, { store, chain, validator, pool, common }),
          blobs: blobProvider(blobs, (h, request) => assets.decidePeerRead(h, request), (): string => this.network?.peerId ?? ''),
          images: imageArchiveProvider(blobs),
          privateKey: key,
          logger: log,
          metrics,
        },
      ))
      await network.start()
      assets.serveAs({ peerId: network.peerId })
      chain.onNewHead((block, _receipts, origin) => {
        if (origin === 'local') void network.publishBlock(block)
      })
      network.setAttestationCheck((a) => chain.addAttestation(a))
      pool.onPending((tx) => void network.publishTransaction(tx.serialize()))
    }

    if (cfg.dev) logDevOpenings(cfg.rpc, log)
    const pages = cfg.explorer === false ? undefined : explorerPages(spec)
    if (pages && !pages.built) log.warn('the explorer is not built (run npm run build): /explorer/ says so')
    const rpcOptions = resolveRpcOptions({ ...cfg.rpc, ...(cfg.dev ? devRpcOpenings(cfg.rpc) : {}), metricsHandler: () => metrics.render(), pages })
    this.backend = new NodeBackend(spec.chainId, cfg.dev, {
      store,
      state,
      chain,
      pool,
      accounts,
      calls: new CallRunner(state, common, rpcOptions.gasCap),
      tracer: new TransactionTracer(state, common),
      journal,
      common,
      coinbase: producer?.address ?? new Uint8Array(20),
      version: VERSION,
      nodeId: bytesToHex(genesisHash).slice(2, 18),
      network: this.network,
      automine: () => this.miner,
    })
    assets.bind(this.backend)
    this.backend.addMethods(marketRpcMethods({ market: new WorkMarketReader(backendCaller(this.backend)), blobs, blobAccess: assets }))
    this.backend.addMethods(povRpcMethods({ chain, store, contracts, engine }))
    this.backend.addMethods(addressRpcMethods({ store }))
    this.backend.addMethods(workerRpcMethods(() => this.workers))
    this.startAddressBackfill(store)

    if (producer) {
      const network = this.network
      // Every held validator key votes (in --dev: every dev account; keys without weight skip).
      const voters = cfg.dev ? devKeys.map((key) => ({ key, address: privateKeyToAddress(key) })) : [producer]
      for (const v of voters) {
        const file = v === producer ? 'attester.json' : `attester-${bytesToHex(v.address).slice(2, 10)}.json`
        const attester = new Attester(
          chain,
          v,
          spec.chainId,
          { file: join(cfg.datadir, file), publish: network ? (a) => void network.publishAttestation(a) : undefined },
          log.child({ component: 'attester' }),
        )
        attester.start()
        this.attesters.push(attester)
      }
      if (engine.kind === 'proof-of-value') new EvidenceReporter(chain, pool, producer, common, log.child({ component: 'evidence' }), metrics).start()
    }

    if (producer && !cfg.dev) {
      const network = this.network
      this.slotProducer = new SlotProducer(
        chain,
        producer,
        {
          isBehind: () => network?.isBehind() ?? false,
          startupGraceMs: cfg.p2p?.bootnodes?.length ? 3_000 : 0,
          tickMs: 100,
          stallGraceMs: network ? 2_000 : 0,
          onStall: () => network?.refreshStatuses(),
        },
        log.child({ component: 'producer' }),
      )
      this.slotProducer.start()
      if (cfg.hostile && network) {
        this.hostile = new HostileValidator(
          cfg.hostile,
          chain,
          producer,
          { chainId: spec.chainId, getHeader: (h) => store.getHeader(h), publishBlock: (b) => void network.publishBlock(b), publishAttestation: (a) => void network.publishAttestation(a) },
          log.child({ component: 'hostile' }),
        )
        this.hostile.start()
      }
    } else if (producer) {
      const keys = devKeys.map((key) => ({ key, address: privateKeyToAddress(key) }))
      const market = spec.systemContracts.some((c) => c.name === 'WorkMarket')
      this.miner = new DevMiner(
        chain,
        keys.length ? keys : [producer],
        { periodSeconds: cfg.devPeriod, pendingDraw: market ? () => contracts.nextDrawBlock(chain.head().stateRoot) : undefined },
        log.child({ component: 'miner' }),
      )
      pool.onPending(() => this.miner!.trigger())
      this.miner.start()
      if (pool.status().pending > 0) this.miner.trigger()
    }
    this.rpc = await startRpcServers(rpcOptions, { backend: this.backend, logger: log.child({ component: 'rpc' }), metrics })
    assets.serveAs({ ...(this.network ? { peerId: this.network.peerId } : {}), ...(this.rpc.httpUrl ? { httpUrl: this.rpc.httpUrl } : {}) })
    await assets.start(this.backend)
    if (cfg.worker) {
      this.workers = new WorkerService(cfg.worker, { backend: this.backend, blobs, datadir: cfg.datadir, endpoint: this.rpc.httpUrl ?? '', network: this.network, keys: nodeKeys, protectBlobs: (h) => assets.protectBlobs(h), logger: log, metrics })
      await this.workers.start()
    }
  }

  /** The non-dev producer key: --producer's keystore entry unlocked with --password, or a key given directly. */
  private async producerKey(): Promise<{ key: Uint8Array; address: Uint8Array } | undefined> {
    const { cfg } = this
    if (cfg.producerKey) return { key: cfg.producerKey, address: privateKeyToAddress(cfg.producerKey) }
    if (!cfg.producer) return undefined
    if (!cfg.passwordFile) throw new NodeError('NO_PASSWORD', '--producer needs --password FILE')
    const passwords = await readPasswordFile(cfg.passwordFile)
    const ks = new Keystore(join(cfg.datadir, 'keystore'))
    let lastErr: unknown
    for (const pw of passwords) {
      try {
        const key = await ks.unlock(cfg.producer, pw)
        return { key, address: privateKeyToAddress(key) }
      } catch (e) {
        lastErr = e
      }
    }
    throw new NodeError('PRODUCER_KEY', `cannot unlock producer ${cfg.producer}: ${(lastErr as Error)?.message ?? 'no password'}`)
  }

  /**
   * Blocks stored by a povchain before the address index get their entries in the background,
   * newest first, with progress in the log; pov_getAddressTransactions says `indexComplete:
   * false` meanwhile. Resumes after a restart where it stopped.
   */
  private startAddressBackfill(store: BlockStore): void {
    const total = store.addressIndexPending()
    if (total === 0n) return
    const log = this.log.child({ component: 'address-index' })
    log.info({ blocks: Number(total) }, 'indexing addresses of the blocks stored before the address index')
    let lastLog = Date.now()
    this.backfill = store
      .backfillAddressIndex((p) => {
        if (p.pending === 0n) log.info({ blocks: Number(p.done) }, 'address index complete')
        else if (Date.now() - lastLog > 5000) {
          lastLog = Date.now()
          log.info({ done: Number(p.done), pending: Number(p.pending) }, 'indexing addresses')
        }
      })
      .catch((e: Error) => log.error({ err: e.message }, 'address index backfill failed (restart the node to resume it)'))
  }
  private backfill?: Promise<void>

  /** Stops serving, lets the block being built finish, and closes the database. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.workers?.stop().catch((e: Error) => this.log.warn({ err: e.message }, 'stopping the worker failed'))
      await this.assets?.stop().catch((e: Error) => this.log.warn({ err: e.message }, 'stopping the asset services failed'))
      await this.rpc?.close().catch((e: Error) => this.log.warn({ err: e.message }, 'closing RPC failed'))
      await this.miner?.stop()
      this.hostile?.stop()
      await this.slotProducer?.stop()
      for (const a of this.attesters) await a.stop()
      await this.network?.stop().catch((e: Error) => this.log.warn({ err: e.message }, 'stopping the network failed'))
      // Wait for any import/production already queued on the chain.
      await this.chain?.idle()
      await this.store?.stopBackfill()
      await this.backfill
      this.journal?.close()
      await this.db?.close()
    })()
    return this.stopping
  }
}
