import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTx, type TypedTransaction } from '@ethereumjs/tx'
import { Address } from '@ethereumjs/util'
import { BlockStore } from '../../chain/BlockStore.js'
import { createChainCommon, type Common } from '../../chain/ChainCommon.js'
import { openChainDB, type ChainDB } from '../../chain/Database.js'
import { nextBaseFee } from '../../chain/FeeMarket.js'
import { privateKeyToAddress } from '../../chain/Seal.js'
import { TxPool } from '../../chain/txpool/index.js'
import { noopMetrics } from '../../common/metrics.js'
import { silentLogger } from '../../common/logger.js'
import { buildGenesis } from '../../genesis/GenesisBuilder.js'
import { parseGenesis } from '../../genesis/GenesisConfig.js'
import { DEV_MNEMONIC, deriveKeys } from '../../genesis/DevKeys.js'
import { devGenesis } from '../../genesis/presets.js'
import { BlockExecutor } from '../../vm/BlockExecutor.js'
import { WorldState } from '../../vm/WorldState.js'
import { ChainService, type Producer } from '../ChainService.js'
import { HeaderValidator } from '../HeaderValidator.js'

export const KEYS = deriveKeys(DEV_MNEMONIC, 6)
export const PRODUCER: Producer = { key: KEYS[0]!, address: privateKeyToAddress(KEYS[0]!) }
export const spec = parseGenesis(devGenesis())
export const common: Common = createChainCommon(spec.chainId)

export interface TestChain {
  dir: string
  db: ChainDB
  store: BlockStore
  state: WorldState
  pool: TxPool
  chain: ChainService
  genesisHash: Uint8Array
  balance(addr: Uint8Array, root?: Uint8Array): Promise<bigint>
  close(): Promise<void>
  destroy(): Promise<void>
}

/** A chain on a real LevelDB in a temp dir (reopened when `dir` is given), wired as the node wires it. */
export async function openTestChain(dir = mkdtempSync(join(tmpdir(), 'povchain-test-'))): Promise<TestChain> {
  const db = await openChainDB(dir)
  const store = new BlockStore(db, common)
  const state = new WorldState(db, common, store)
  const g = await buildGenesis(spec, state)
  if (!(await store.open())) {
    await store.initGenesis(g.block, g.stateOps)
    state.trieDb.written(g.stateKeys)
  } else state.trieDb.discard()
  const headAccount = async (a: Uint8Array) => (await state.readerAt(store.head().stateRoot)).getAccount(new Address(a))
  const reader = {
    getNonce: async (a: Uint8Array) => (await headAccount(a))?.nonce ?? 0n,
    getBalance: async (a: Uint8Array) => (await headAccount(a))?.balance ?? 0n,
  }
  const pool = new TxPool({}, { common, state: reader, logger: silentLogger, metrics: noopMetrics, head: { baseFeePerGas: nextBaseFee(store.head()), gasLimit: store.head().gasLimit } })
  const validator = new HeaderValidator({ genesisHash: g.block.hash(), producers: [PRODUCER.address], maxFutureSeconds: 1 << 30 })
  const chain = new ChainService(
    { genesisTimestamp: spec.timestamp, slotSeconds: spec.slotSeconds },
    {
      store,
      state,
      executor: new BlockExecutor(state, common, { logger: silentLogger, metrics: noopMetrics }),
      validator,
      pool: { best: (f) => pool.best(f), setHead: (h, removed) => pool.setHead(h, reader, removed) },
      genesisHash: g.block.hash(),
      logger: silentLogger,
      metrics: noopMetrics,
    },
  )
  return {
    dir,
    db,
    store,
    state,
    pool,
    chain,
    genesisHash: g.block.hash(),
    async balance(addr, root) {
      const sm = await state.readerAt(root ?? store.head().stateRoot)
      return (await sm.getAccount(new Address(addr)))?.balance ?? 0n
    },
    async close() {
      await chain.idle()
      await db.close()
    },
    async destroy() {
      await this.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export function transfer(keyIndex: number, nonce: bigint, to: Uint8Array, value: bigint): TypedTransaction {
  return createTx(
    { type: 2, nonce, to, value, gasLimit: 21000n, maxFeePerGas: 100n * 10n ** 9n, maxPriorityFeePerGas: 10n ** 9n, chainId: spec.chainId },
    { common },
  ).sign(KEYS[keyIndex]!)
}

export const addr = (i: number) => privateKeyToAddress(KEYS[i]!)
export const recipient = (n: number) => new Uint8Array(20).fill(n)

/** A deterministic clock for producing: each call one second later. */
export function clock(start = 1_800_000_000) {
  let t = start
  return () => (t += 1) * 1000
}
