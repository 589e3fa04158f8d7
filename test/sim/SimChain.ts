import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Block } from '../../chain/Block.js'
import { BlockStore } from '../../chain/BlockStore.js'
import { createChainCommon, type Common } from '../../chain/ChainCommon.js'
import { openChainDB, type ChainDB } from '../../chain/Database.js'
import { BlockHeader } from '../../chain/Header.js'
import { EMPTY_TRIE_ROOT } from '../../chain/keccak.js'
import { u64ToBytes } from '../../common/bytes.js'
import { silentLogger } from '../../common/logger.js'
import { noopMetrics } from '../../common/metrics.js'
import { ChainService } from '../../consensus/ChainService.js'
import { HeaderValidator } from '../../consensus/HeaderValidator.js'
import { ProofOfValueEngine, type ProofOfValueParams } from '../../consensus/ProofOfValueEngine.js'
import { WorldState } from '../../vm/WorldState.js'
import { genesisRoot, genesisState, SimContractReader, StateStore, type ContractState, type GenesisValidator, type ValidatorSetConfig } from './SimContracts.js'
import { SimPool, simExecutor } from './SimExecutor.js'

/** Everything every node of one run agrees on: the genesis block and the protocol parameters. */
export interface SimGenesis {
  chainId: bigint
  common: Common
  block: Block
  state: ContractState
  engine: ProofOfValueParams
  vs: ValidatorSetConfig
  /** HeaderValidator's allowance for timestamps ahead of the local clock (node/PovNode.ts passes 15). */
  maxFutureSeconds: number
}

export function makeGenesis(opts: {
  seed: number
  chainId?: bigint
  timestamp: bigint
  slotSeconds: number
  slotsPerEpoch: number
  maxBackups: number
  receiptWindowBlocks: bigint
  maxFutureSeconds: number
  vs: ValidatorSetConfig
  validators: GenesisValidator[]
}): SimGenesis {
  const chainId = opts.chainId ?? 1337n
  const common = createChainCommon(chainId)
  const root = genesisRoot(opts.seed)
  const z32 = new Uint8Array(32)
  const header = new BlockHeader({
    parentHash: z32,
    coinbase: new Uint8Array(20),
    stateRoot: root,
    transactionsRoot: EMPTY_TRIE_ROOT,
    receiptsRoot: EMPTY_TRIE_ROOT,
    logsBloom: new Uint8Array(256),
    number: 0n,
    gasLimit: 30_000_000n,
    gasUsed: 0n,
    timestamp: opts.timestamp,
    // Each seed its own genesis, so epochs 0 and 1 draw from their own seed.
    vanity: u64ToBytes(BigInt(opts.seed >>> 0)),
    mixHash: z32,
    baseFeePerGas: 1_000_000_000n,
    slot: 0n,
    producer: new Uint8Array(20),
    jobId: z32,
    sessionId: z32,
    workloadId: z32,
    vrfOutput: z32,
    vrfProof: new Uint8Array(0),
    attestations: [],
    seal: new Uint8Array(0),
  })
  const block = new Block(header, [])
  return {
    chainId,
    common,
    block,
    state: genesisState(opts.vs, opts.validators),
    vs: opts.vs,
    maxFutureSeconds: opts.maxFutureSeconds,
    engine: {
      chainId,
      genesisTimestamp: opts.timestamp,
      slotSeconds: opts.slotSeconds,
      slotsPerEpoch: opts.slotsPerEpoch,
      // node/ConsensusSetup.ts: max(1, slotSeconds / 2), two backups.
      backupDelaySeconds: Math.max(1, Math.floor(opts.slotSeconds / 2)),
      maxBackups: opts.maxBackups,
      receiptWindowBlocks: opts.receiptWindowBlocks,
      genesisSeed: block.hash(),
    },
  }
}

/** Where nodes keep their LevelDB: tmpfs when there is one (the runs are short-lived), else the OS temp dir. */
function simTmp(): string {
  const base = process.env.POV_SIM_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir())
  return mkdtempSync(join(base, 'povchain-sim-'))
}

/**
 * One node's chain, wired as node/PovNode.ts wires it, with the EVM replaced by the contract
 * model: a real BlockStore on a real LevelDB (classic-level, in a temp dir), the real
 * HeaderValidator, ProofOfValueEngine (ECVRF, seals, anchors and caches as they are) and
 * ChainService (import, production, fork choice, FinalityGadget).
 */
export interface SimChain {
  dir: string
  db: ChainDB
  store: BlockStore
  states: StateStore
  contracts: SimContractReader
  engine: ProofOfValueEngine
  pool: SimPool
  chain: ChainService
  genesis: SimGenesis
  /** A ProofOfValueEngine with empty caches over this node's store and states: the rules as a pure function of the branch. */
  freshEngine(): ProofOfValueEngine
  close(): Promise<void>
}

export async function openSimChain(g: SimGenesis): Promise<SimChain> {
  const dir = simTmp()
  const db = await openChainDB(join(dir, 'chain'))
  const store = new BlockStore(db, g.common)
  const state = new WorldState(db, g.common, store)
  await store.initGenesis(g.block, [])
  const states = new StateStore()
  states.put(g.block.header.stateRoot, g.state)
  const contracts = new SimContractReader(states, g.vs)
  const getHeader = (h: Uint8Array) => store.getHeader(h)
  const engine = new ProofOfValueEngine(g.engine, { contracts, getHeader })
  let chain!: ChainService
  const pool = new SimPool(states, () => chain.head())
  chain = new ChainService(
    { genesisTimestamp: g.engine.genesisTimestamp, slotSeconds: g.engine.slotSeconds },
    {
      store,
      state,
      executor: simExecutor(states, g.vs),
      validator: new HeaderValidator({ genesisHash: g.block.hash(), chainId: g.chainId, producers: [], maxFutureSeconds: g.maxFutureSeconds }),
      engine,
      pool,
      genesisHash: g.block.hash(),
      chainId: g.chainId,
      logger: silentLogger,
      metrics: noopMetrics,
    },
  )
  await chain.init()
  let closed = false
  return {
    dir,
    db,
    store,
    states,
    contracts,
    engine,
    pool,
    chain,
    genesis: g,
    freshEngine: () => new ProofOfValueEngine(g.engine, { contracts, getHeader }),
    async close() {
      if (closed) return
      closed = true
      await chain.idle()
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
