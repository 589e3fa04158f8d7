import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Block } from '../chain/Block.js'
import { BlockStore } from '../chain/BlockStore.js'
import { createChainCommon } from '../chain/ChainCommon.js'
import { openChainDB, type ChainDB } from '../chain/Database.js'
import { decodeTransaction } from '../chain/Block.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import type { TypedTransaction } from '@ethereumjs/tx'
import { silentLogger } from '../common/logger.js'
import { noopMetrics } from '../common/metrics.js'
import { ChainService, type PendingTxSource, type Producer } from '../consensus/ChainService.js'
import { HeaderValidator } from '../consensus/HeaderValidator.js'
import { buildGenesis } from '../genesis/GenesisBuilder.js'
import { parseGenesis } from '../genesis/GenesisConfig.js'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { devGenesis } from '../genesis/presets.js'
import { BlockExecutor, type TxSource } from '../vm/BlockExecutor.js'
import { WorldState } from '../vm/WorldState.js'
import { Transaction, Wallet } from 'ethers'
import { bytesToHex } from '../common/bytes.js'
import { log, round1, round2 } from './stats.js'
import { createConsensusEngine } from '../node/ConsensusSetup.js'
import { PovContractReader } from '../node/PovContractReader.js'

/** A ChainService on its own LevelDB in a temp dir, wired as node/PovNode.ts does it. */
class Chain {
  private constructor(
    readonly dir: string,
    readonly db: ChainDB,
    readonly chain: ChainService,
    readonly store: BlockStore,
    readonly common: ReturnType<typeof createChainCommon>,
  ) {}

  static async open(producer: Producer, pool: PendingTxSource): Promise<Chain> {
    const dir = mkdtempSync(join(tmpdir(), 'povchain-import-'))
    const db = await openChainDB(join(dir, 'chaindata'))
    const spec = parseGenesis(devGenesis())
    const common = createChainCommon(spec.chainId)
    const store = new BlockStore(db, common)
    const state = new WorldState(db, common, store)
    const g = await buildGenesis(spec, state)
    await store.open()
    await store.initGenesis(g.block, g.stateOps)
    state.trieDb.written(g.stateKeys)
    const genesisHash = g.block.hash()
    const executor = new BlockExecutor(state, common, { logger: silentLogger, metrics: noopMetrics })
    const validator = new HeaderValidator({ genesisHash, chainId: spec.chainId, producers: [], maxFutureSeconds: 15 })
    const chain = new ChainService(
      { genesisTimestamp: spec.timestamp, slotSeconds: spec.slotSeconds },
      {
        store,
        state,
        executor,
        validator,
        pool,
        engine: createConsensusEngine(spec, genesisHash, { contracts: new PovContractReader(state, common), getHeader: (h) => store.getHeader(h) }),
        genesisHash,
        chainId: spec.chainId,
        logger: silentLogger,
        metrics: noopMetrics,
      },
    )
    await chain.init()
    return new Chain(dir, db, chain, store, common)
  }

  async close(): Promise<void> {
    await this.chain.idle()
    await this.db.close()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

export interface ImportResult {
  blocks: number
  txs_per_block: number
  txs: number
  gas: number
  build_ms: number
  build_tx_per_s?: number
  decode_ms: number
  import_ms: number
  import_tx_per_s?: number
  import_mgas_per_s?: number
  import_ms_per_block?: number
  state_root_ok: boolean
}

/**
 * Block import throughput, in-process: builds `blocks` blocks of `txsPerBlock` native transfers
 * (20 dev senders, fresh recipients) with one ChainService, encodes them as a peer would send
 * them, then decodes and imports them with `importBlock` into a fresh ChainService (own
 * LevelDB) and times that — validation, sender recovery, execution, roots and the atomic
 * write included; decoding is timed apart.
 */
export async function runImportBench(blocks: number, txsPerBlock: number): Promise<ImportResult> {
  const keys = deriveKeys(DEV_MNEMONIC, 20)
  const producer: Producer = { key: keys[0]!, address: privateKeyToAddress(keys[0]!) }
  let queue: TypedTransaction[] = []
  const pool: PendingTxSource = {
    best: (): TxSource => {
      let i = 0
      const q = queue
      return { next: () => q[i++], skipSender: () => {} }
    },
    setHead: async () => {},
  }
  const src = await Chain.open(producer, pool)
  const wallets = keys.map((k) => new Wallet(bytesToHex(k)))
  const nonces = new Array<number>(wallets.length).fill(0)

  log(`import: signing ${blocks * txsPerBlock} transfers`)
  const signed: Uint8Array[][] = []
  for (let b = 0; b < blocks; b++) {
    const body: Uint8Array[] = []
    for (let i = 0; i < txsPerBlock; i++) {
      const s = i % wallets.length
      const w = wallets[s]!
      const tx = Transaction.from({
        type: 2,
        chainId: 31337n,
        nonce: nonces[s]!++,
        to: `0x${(0x100000 + b * txsPerBlock + i).toString(16).padStart(40, '0')}`,
        value: 1n,
        gasLimit: 21_000n,
        maxFeePerGas: 10_000_000_000n,
        maxPriorityFeePerGas: 1_000_000_000n,
      })
      tx.signature = w.signingKey.sign(tx.unsignedHash)
      body.push(Buffer.from(tx.serialized.slice(2), 'hex'))
    }
    signed.push(body)
  }

  log(`import: building ${blocks} blocks of ${txsPerBlock} transfers`)
  const encoded: Uint8Array[] = []
  let gas = 0n
  const tb = performance.now()
  let ts = Date.now()
  for (const body of signed) {
    queue = body.map((raw) => decodeTransaction(raw, src.common))
    ts += 1000
    const block = await src.chain.produceBlock(producer, { allowEmpty: false, now: () => ts })
    if (!block || block.transactions.length !== body.length)
      throw new Error(`import: built block has ${block?.transactions.length ?? 0} of ${body.length} transactions`)
    gas += block.header.gasUsed
    encoded.push(block.encode())
  }
  const buildMs = performance.now() - tb
  const srcRoot = src.store.head().stateRoot
  await src.close()

  const dst = await Chain.open(producer, pool)
  try {
    const td = performance.now()
    const decoded = encoded.map((bytes) => Block.decode(bytes, dst.common))
    const decodeMs = performance.now() - td
    const nowSeconds = Math.ceil(ts / 1000) + 60
    const ti = performance.now()
    for (const block of decoded) {
      const where = await dst.chain.importBlock(block, nowSeconds)
      if (where !== 'head') throw new Error(`import: block ${block.number} went to ${where}`)
    }
    const importMs = performance.now() - ti
    const rootOk = bytesToHex(dst.store.head().stateRoot) === bytesToHex(srcRoot)
    const txs = blocks * txsPerBlock
    const res: ImportResult = {
      blocks,
      txs_per_block: txsPerBlock,
      txs,
      gas: Number(gas),
      build_ms: Math.round(buildMs),
      build_tx_per_s: round1((txs * 1000) / buildMs),
      decode_ms: Math.round(decodeMs),
      import_ms: Math.round(importMs),
      import_tx_per_s: round1((txs * 1000) / importMs),
      import_mgas_per_s: round2(Number(gas) / 1000 / importMs),
      import_ms_per_block: round1(importMs / blocks),
      state_root_ok: rootOk,
    }
    log(`import: ${txs} txs in ${res.import_ms} ms = ${res.import_tx_per_s} tx/s, ${res.import_mgas_per_s} Mgas/s (build ${res.build_tx_per_s} tx/s)`)
    return res
  } finally {
    await dst.close()
  }
}
