import { join } from 'node:path'
import { getAddress, type Address } from 'viem'
import type { Logger } from '../../common/logger.js'
import type { Metrics } from '../../common/metrics.js'
import { DockerRuntime } from '../../compute/runtime/DockerRuntime.js'
import { EmbeddedRuntime } from '../../compute/runtime/EmbeddedRuntime.js'
import { ImageBuilder } from '../../compute/runtime/ImageBuilder.js'
import type { SamplingPolicy } from '../../compute/verify/SamplingPolicy.js'
import { runBenchmark } from '../../compute/worker/Benchmark.js'
import type { BlobStore } from '../../compute/worker/BlobStore.js'
import { ComputeWorker } from '../../compute/worker/ComputeWorker.js'
import { IdleSwitch } from '../../compute/worker/IdleSwitch.js'
import { detectGpus } from '../../compute/worker/GpuInventory.js'
import type { WorkerCapacity } from '../../compute/worker/WorkerCapacity.js'
import { ImageStore } from '../../compute/runtime/ImageStore.js'
import { parseImageReference } from '../../compute/runtime/ImageReference.js'
import { registryImages } from '../../compute/runtime/RegistryCatalog.js'
import type { Hash32 } from '../../compute/ContentHash.js'
import { SessionStore } from '../../compute/worker/SessionStore.js'
import type { RpcBackend } from '../../rpc/RpcBackend.js'
import { OFFERS } from '../client/JobEstimate.js'
import { JobError } from '../client/JobError.js'
import { BackendMarketChain, backendCaller } from '../client/MarketChain.js'
import { WorkMarketReader } from '../client/WorkMarketReader.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex } from '../../common/bytes.js'
import { AssetRegistryReader } from '../assets/AssetRegistryReader.js'
import { BlobFetcher, networkBlobSource } from './BlobFetcher.js'
import { EndpointAllowList } from './EndpointAllowList.js'
import { workerBlobSources } from './WorkerBlobSources.js'
import { JobAssetInputs } from './JobAssetInputs.js'
import type { WorkerCheat } from './Cheats.js'
import { ControlTaskIssuer, type ControlTaskIssuerOptions } from './ControlTaskIssuer.js'
import { MarketWorker } from './MarketWorker.js'
import { hasNvidiaGpu } from './GpuProbe.js'
import { imageDigests } from './ImageInventory.js'
import { peerImageArchiveFinder } from './PeerImageArchives.js'
import { awaitNetworkReady } from './NetworkReadiness.js'
import { PendingTxRebroadcaster } from './PendingTxRebroadcaster.js'
import { SessionVerifier } from './SessionVerifier.js'

/** `povchain node --worker …`: one field per flag (see cli/cli.ts). */
export interface WorkerConfig {
  /** --worker.account: the identities this node works and verifies with (unlocked accounts). */
  accounts: string[]
  /** --worker.runtime: where built-in workloads run; auto = Docker when an engine answers. */
  runtime: 'embedded' | 'docker' | 'auto'
  /** --worker.bond: coins (wei) bonded at registration. */
  bond: bigint
  /** --worker.capacity: compute units per second; measured with `compute bench` when absent. */
  capacity?: bigint
  /** --worker.slots: sessions run at once per identity. */
  slots: number
  /** --worker.min-unit-price: the least each identity works for, wei per compute unit (WorkMarket.setUnitPrice). */
  minUnitPrice?: bigint
  /** --worker.issuer: the genesis controlIssuer (seals control tasks, bonds, opens hidden traps). */
  issuer?: string
  /** --worker.verify-confidence / --worker.verify-fault-fraction: the verifier's sampling floor (default DEFAULT_SAMPLING_POLICY). */
  sampling?: SamplingPolicy
  /** Control tasks: the client identities that post them (--worker.control-clients), the interval; defaults in ControlTaskIssuer. */
  issuerOptions?: Partial<ControlTaskIssuerOptions>
  /**
   * --worker.trap-rate: with the issuer's key, the share of client sessions this node's identities
   * turn into hidden traps (a forged segment, sealed; the issuer opens it after the votes).
   */
  trapRate?: number
  pollMs?: number
  /**
   * Wait for a synced peer before the first market transaction (set when the node has
   * bootnodes: its transactions are mined by producers elsewhere). See NetworkReadiness.
   */
  waitForPeers?: boolean
  /** --worker.idle-cmd / --worker.idle-grace: the miner's own program, run while no job runs. */
  idle?: { command: string; graceMs?: number }
  /**
   * --worker.pull-from: OCI registries (host[:port]) whose images this worker announces as if it
   * held them (what their catalogs list by tag, resolved to digests; at most 32 images in all,
   * its own first) and pulls on assignment, before the run.
   */
  pullFrom?: string[]
  /**
   * --worker.peer-images: also announce the images connected peers share as archives (network's
   * image_archives) and fetch one from them when drawn for a job pinning it.
   */
  peerImages?: boolean
  /** --worker.output-quota: MiB one container job may write to /job/out. */
  outputQuotaMb?: number
  /**
   * --worker.docker-host: the socket of the Docker engine this worker runs its containers on
   * (default DOCKER_HOST or /var/run/docker.sock): one host may run several workers, each with
   * its own engine.
   */
  dockerSocket?: string
  /**
   * --worker.fetch-allow: the registered worker endpoints the blob fetcher may ask over HTTP
   * (EndpointAllowList's entries); none (the default): blobs come over p2p only.
   */
  fetchAllow?: string[]
  /** Tests only, by identity (lowercase address): dishonest workers and lazy verifiers. */
  behaviour?: Record<string, { cheat?: WorkerCheat; lazyVerifier?: boolean }>
}

const IMAGE_REF = 'image-builtin'

/**
 * The node's worker side: the runtimes, the blob fetcher (local store → p2p → the other workers'
 * RPC endpoints that --worker.fetch-allow names, see WorkerBlobSources), and one MarketWorker per identity (`--dev --worker` runs two: one works, the other
 * verifies — the contract decides who does what), plus the control-task issuer when the node
 * holds the issuer key.
 */
export class WorkerService {
  readonly workers: MarketWorker[] = []
  issuer?: ControlTaskIssuer
  private readonly log: Logger
  private docker?: DockerRuntime
  private builtinImage?: string
  /** The worker's images by digest (ensure before a container job, inventory for capacity). */
  images?: ImageStore
  /** Shared by every identity: the idle program runs only while none of them runs a job. */
  idle?: IdleSwitch
  private fetchBlob?: (hash: Hash32) => Promise<Uint8Array>
  private gpus: WorkerCapacity['gpus'] = []
  private computeUnits = 0
  private rebroadcaster?: PendingTxRebroadcaster
  /** Digest → `registry/repo@digest`, for images a --worker.pull-from registry listed. */
  private readonly pullable = new Map<string, string>()
  private readonly pullSeconds

  constructor(
    private readonly cfg: WorkerConfig,
    private readonly d: {
      backend: RpcBackend
      blobs: BlobStore
      datadir: string
      /** This node's RPC URL (what other nodes fetch its blobs from). */
      endpoint: string
      network?: {
        fetchBlob(hash: Uint8Array, maxBytes?: number): Promise<Uint8Array>
        /** Which images peers share as archives (network's image_archives). */
        imageArchives?(digests?: Uint8Array[]): Promise<{ peer: string; digest: Uint8Array; archive: Uint8Array; size: bigint }[]>
        peerCount?(): number
        isBehind?(): boolean
        publishTransaction?(raw: Uint8Array): Promise<number>
      }
      /**
       * Private keys the node holds, by lowercase address: a worker identity's key opens its
       * grants of closed assets and signs its blob requests, and its public key is published.
       */
      keys?: Map<string, Uint8Array>
      /** Marks work-market blobs this node produced, so no asset claim gates them (AssetNodeService.protectBlobs). */
      protectBlobs?: (hashes: string[]) => void
      logger: Logger
      metrics: Metrics
    },
  ) {
    this.log = d.logger.child({ component: 'worker-service' })
    this.pullSeconds = d.metrics.histogram('povchain_image_pull_seconds', 'Time to pull a job\'s image on assignment', [], [1, 5, 15, 60, 300, 1200])
  }

  private async runtimeKind(): Promise<'embedded' | 'docker'> {
    if (this.cfg.runtime === 'embedded') return 'embedded'
    const socket = this.cfg.dockerSocket ? { socketPath: this.cfg.dockerSocket } : {}
    const docker = new DockerRuntime(socket, { logger: this.d.logger })
    const probe = await docker.probe()
    if (!probe.available) {
      if (this.cfg.runtime === 'docker') throw new JobError('NO_DOCKER', `--worker.runtime docker: ${probe.reason}`)
      this.log.warn({ reason: probe.reason }, 'no Docker engine: running built-in workloads embedded')
      return 'embedded'
    }
    const net = this.d.network
    const findArchives = net?.imageArchives ? peerImageArchiveFinder(net as Required<Pick<typeof net, 'imageArchives'>>) : undefined
    const images = new ImageStore({ docker: docker.docker, blobs: this.d.blobs, logger: this.d.logger, fetchBlob: (h) => this.fetchBlob!(h), ...(findArchives ? { findArchives } : {}) })
    this.images = images
    let image = (await this.d.blobs.getRef(IMAGE_REF))?.trim()
    if (image && !(await docker.docker.getImage(image).inspect().then(() => true, () => false))) image = undefined
    if (!image) {
      this.log.info('building the built-in workload image (once)')
      const built = await new ImageBuilder(docker.docker, { logger: this.d.logger }).build({ repository: 'povchain/workloads' })
      image = built.id
      await this.d.blobs.setRef(IMAGE_REF, image)
      // In the inventory by digest: jobs that pin povchain/workloads@sha256:… find it here.
      await images.record({ digest: built.digest, id: built.id })
    }
    this.builtinImage = image
    this.docker = new DockerRuntime(
      {
        ...socket,
        defaultImage: image,
        ensureImage: (ref, o) => images.ensure(ref, o),
        ...(this.cfg.outputQuotaMb ? { outputQuota: { maxBytes: this.cfg.outputQuotaMb * 1024 * 1024, maxFiles: 10_000 } } : {}),
      },
      { logger: this.d.logger, metrics: this.d.metrics },
    )
    this.log.info({ image, engine: this.cfg.dockerSocket ?? 'default' }, 'built-in workloads run in Docker')
    return 'docker'
  }

  async start(): Promise<void> {
    const { backend, blobs, logger, metrics } = this.d
    const market = new WorkMarketReader(backendCaller(backend))
    await market.config().catch((e: Error) => {
      throw new JobError('NO_MARKET', `--worker needs the WorkMarket system contract in genesis: ${e.message}`)
    })
    const runtime = await this.runtimeKind()
    // GPU jobs run in Docker: a GPU is offered only with an engine.
    const gpu = runtime === 'docker' && (await hasNvidiaGpu())
    const offers = (runtime === 'docker' ? OFFERS.docker : 0) | (gpu ? OFFERS.gpu : 0)
    const docker = this.docker
    // Announced: what the engine holds (image ids, registry digests) and the manifest digests the
    // image store recorded (built, pulled or loaded from peers), which is how specs pin images.
    const store = this.images
    const images = docker
      ? async () => {
          const fromEngine = await imageDigests(docker.docker, { ...(this.builtinImage ? { first: this.builtinImage } : {}) })
          const recorded = store ? (await store.inventory()).map((i) => `0x${i.digest.replace(/^.*sha256:/, '')}` as `0x${string}`) : []
          const fetchable = (await this.fetchableImages()).map((d) => `0x${d.slice('sha256:'.length)}` as `0x${string}`)
          return [...new Set([...fromEngine, ...recorded, ...fetchable])].slice(0, 32)
        }
      : undefined
    const capacity = this.cfg.capacity ?? BigInt(Math.max(1, Math.round(runBenchmark({ epochs: 1 }).computeUnitsPerSec)))
    this.computeUnits = Number(capacity)
    this.gpus = await detectGpus()
    const own = new Set<string>()
    // One p2p source for the node's life: it paces requests across fetches.
    const p2p = this.d.network ? networkBlobSource(this.d.network) : undefined
    const sources = workerBlobSources({ market, ...(p2p ? { p2p } : {}), allow: new EndpointAllowList(this.cfg.fetchAllow ?? []), own, ownEndpoint: this.d.endpoint })
    const fetcher = new BlobFetcher({ store: blobs, sources }, { logger, metrics })
    this.fetchBlob = (h) => fetcher.get(h)
    if (this.cfg.idle) this.idle = new IdleSwitch(this.cfg.idle, { logger })
    const sessions = new SessionStore(blobs)
    const keys = this.d.keys ?? new Map<string, Uint8Array>()
    // One chain per identity: its transactions go one at a time, so nonces never race.
    const chains = new Map<string, BackendMarketChain>()
    const chainFor = (who: Address) => {
      let c = chains.get(who.toLowerCase())
      if (!c) chains.set(who.toLowerCase(), (c = new BackendMarketChain(backend, getAddress(who) as Address)))
      return c
    }
    const assets = new JobAssetInputs({
      registry: new AssetRegistryReader(backendCaller(backend)),
      market,
      fetcher,
      keys,
      chainFor,
      chainId: backend.chainId,
      logger,
    })
    const verifier = new SessionVerifier({ market, fetcher, logger, metrics, assets, ...(this.cfg.sampling ? { sampling: this.cfg.sampling } : {}) })
    for (const a of this.cfg.accounts) {
      const address = getAddress(a) as Address
      own.add(address.toLowerCase())
      const compute = new ComputeWorker(
        { runtimes: { embedded: new EmbeddedRuntime({ threads: 1 }), ...(this.docker ? { docker: this.docker } : {}) }, sessions, pollMs: 100, ...(this.idle ? { idle: this.idle } : {}) },
        { logger, metrics },
      )
      const b = this.cfg.behaviour?.[address.toLowerCase()] ?? {}
      const key = keys.get(address.toLowerCase())
      if (!key) this.log.warn({ worker: address }, 'the node does not hold this identity\'s private key: it cannot read closed assets nor publish its public key')
      const worker = new MarketWorker(
        {
          address,
          bond: this.cfg.bond,
          capacity,
          slots: this.cfg.slots,
          endpoint: this.d.endpoint,
          runtime,
          offers,
          minUnitPrice: this.cfg.minUnitPrice ?? 0n,
          // Announced only with Docker (where GPU jobs run): how many, and the smallest's memory.
          ...(gpu && this.gpus.length ? { gpus: { count: Math.min(15, this.gpus.length), memoryMb: Math.min(...this.gpus.map((g) => g.memoryMb)) } } : {}),
          stateDir: join(this.d.datadir, 'worker', address.toLowerCase()),
          pollMs: this.cfg.pollMs ?? 250,
          ...(key ? { publicKey: bytesToHex(secp256k1.getPublicKey(key, false).subarray(1)) as `0x${string}` } : {}),
          ...(this.cfg.trapRate && this.cfg.issuer ? { trapRate: this.cfg.trapRate } : {}),
          ...b,
        },
        {
          chain: chainFor(address),
          market,
          blobs,
          sessions,
          compute,
          verifier,
          logger,
          metrics,
          ...(this.d.protectBlobs ? { protectBlobs: this.d.protectBlobs } : {}),
          ...(images ? { images } : {}),
          ...(store ? { prepareImage: (ref: string) => this.prepareImage(ref) } : {}),
          ...(this.cfg.trapRate && this.cfg.issuer ? { issuerChain: chainFor(getAddress(this.cfg.issuer) as Address) } : {}),
        },
      )
      this.workers.push(worker)
    }
    const net = this.d.network
    if (net?.publishTransaction) {
      const publish = net.publishTransaction.bind(net)
      this.rebroadcaster = new PendingTxRebroadcaster({ accounts: this.cfg.accounts.map((a) => a.toLowerCase()) }, { pool: () => backend.poolContent(), publish, logger: this.log, metrics })
      this.rebroadcaster.start()
    }
    if (this.cfg.waitForPeers && net?.peerCount && net.isBehind) {
      const view = { peerCount: net.peerCount.bind(net), isBehind: net.isBehind.bind(net) }
      const t0 = Date.now()
      if (await awaitNetworkReady(view, this.log)) this.log.info({ ms: Date.now() - t0, peers: view.peerCount() }, 'synced with peers: starting the market workers')
    }
    for (const w of this.workers) await w.start()
    if (this.cfg.issuer) {
      const address = getAddress(this.cfg.issuer) as Address
      this.issuer = new ControlTaskIssuer(
        { address, clients: [], stateDir: join(this.d.datadir, 'worker', 'issuer'), ...this.cfg.issuerOptions },
        { chain: chainFor(address), clientChain: chainFor, market, blobs, chainId: backend.chainId, logger, metrics },
      )
      await this.issuer.start()
    }
    const report = await this.capacityReport()
    this.log.info({ workers: this.workers.map((w) => w.address), runtime, gpu, capacity: capacity.toString(), gpus: report.gpus, images: report.images, idleCmd: Boolean(this.idle), issuer: this.cfg.issuer }, 'worker service running')
  }

  /**
   * Images the registries named by --worker.pull-from list, by digest (an unreachable registry:
   * none of its, logged), and with --worker.peer-images those connected peers share.
   */
  private async fetchableImages(): Promise<string[]> {
    const out: string[] = []
    if (this.cfg.peerImages && this.d.network?.imageArchives) {
      const shared = await this.d.network.imageArchives().catch((e: Error) => (this.log.warn({ err: e.message }, 'cannot ask peers which images they share'), []))
      for (const e of shared) out.push(`sha256:${bytesToHex(e.digest).slice(2)}`)
    }
    for (const registry of this.cfg.pullFrom ?? []) {
      try {
        for (const i of await registryImages(registry)) {
          if (!this.pullable.has(i.digest)) this.pullable.set(i.digest, i.reference)
          out.push(i.digest)
        }
      } catch (e) {
        this.log.warn({ registry, err: (e as Error).message }, 'cannot list the images of a --worker.pull-from registry: not announcing them')
      }
    }
    return out
  }

  /**
   * Makes a container job's image present before its run: here already → at once; else pulled
   * from the spec's registry, or from the --worker.pull-from registry that listed its digest.
   * Logs the pull (progress in ImageStore) and records its time (povchain_image_pull_seconds).
   */
  private async prepareImage(ref: string): Promise<void> {
    const store = this.images!
    const r = parseImageReference(ref)
    if ((await store.inventory()).some((i) => i.digest === r.digest)) return
    // Not listed by a registry we pull from: ensure decides (a local image id, an archive from peers, or a clear error).
    const from = (r.registry ? ref : this.pullable.get(r.digest)) ?? (this.cfg.peerImages ? 'peers' : undefined)
    if (!from) {
      await store.ensure(ref)
      return
    }
    const t0 = performance.now()
    this.log.info({ image: ref, from }, 'pulling the image of an assigned job before running it')
    await store.ensure(from === 'peers' ? ref : from)
    const seconds = (performance.now() - t0) / 1000
    this.pullSeconds.observe(seconds)
    this.log.info({ image: ref, from, ms: Math.round(seconds * 1000) }, 'image pulled for the assigned job')
  }

  /** What this worker can run now: speed, runtimes, GPUs (nvidia-smi), images by digest. */
  async capacityReport(): Promise<WorkerCapacity> {
    return {
      computeUnitsPerSec: this.computeUnits,
      runtimes: this.docker ? ['embedded', 'docker'] : ['embedded'],
      gpus: this.gpus,
      images: this.images ? (await this.images.inventory()).map((i) => i.digest) : [],
    }
  }

  async stop(): Promise<void> {
    this.rebroadcaster?.stop()
    await this.issuer?.stop()
    for (const w of this.workers) await w.stop()
    await this.idle?.stop()
  }
}
