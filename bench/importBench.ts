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
import { Interface, Transaction, Wallet, getCreateAddress } from 'ethers'
import type { CompiledToken } from './benchToken.js'
import { bytesToHex } from '../common/bytes.js'
import { log, round1, round2, round3 } from './stats.js'
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
  /** Process CPU (user + system) per transaction while building / importing the timed blocks. */
  build_cpu_ms_per_tx?: number
  import_cpu_ms_per_tx?: number
  /** 'native' transfers, or 'erc20' BenchToken.transfer calls (`--import-erc20`). */
  kind?: 'native' | 'erc20'
  state_root_ok: boolean
}

/**
 * Block import throughput, in-process: builds `blocks` blocks of `txsPerBlock` native transfers
 * (20 dev senders, fresh recipients) with one ChainService, encodes them as a peer would send
 * them, then decodes and imports them with `importBlock` into a fresh ChainService (own
 * LevelDB) and times that — validation, sender recovery, execution, roots and the atomic
 * write included; decoding is timed apart.
 */
export async function runImportBench(blocks: number, txsPerBlock: number, token?: CompiledToken): Promise<ImportResult> {
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

  // With a token: a first block deploys it (every dev wallet holds some), and the timed blocks
  // are ERC-20 transfers to fresh recipients instead of native ones.
  const fees = { maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n }
  const signed: Uint8Array[][] = []
  let tokenAddress: string | undefined
  const iface = token ? new Interface(token.abi as never) : undefined
  if (token && iface) {
    const deploy = Transaction.from({
      type: 2, chainId: 31337n, nonce: nonces[0]!++, gasLimit: 5_000_000n, ...fees,
      data: token.bytecode + iface.encodeDeploy([wallets.map((w) => w.address), 10n ** 24n]).slice(2),
    })
    deploy.signature = wallets[0]!.signingKey.sign(deploy.unsignedHash)
    signed.push([Buffer.from(deploy.serialized.slice(2), 'hex')])
    tokenAddress = getCreateAddress({ from: wallets[0]!.address, nonce: 0 })
  }
  const untimed = signed.length
  log(`import: signing ${blocks * txsPerBlock} ${token ? 'ERC-20 ' : ''}transfers`)
  for (let b = 0; b < blocks; b++) {
    const body: Uint8Array[] = []
    for (let i = 0; i < txsPerBlock; i++) {
      const s = i % wallets.length
      const w = wallets[s]!
      const recipient = `0x${(0x100000 + b * txsPerBlock + i).toString(16).padStart(40, '0')}`
      const tx = Transaction.from({
        type: 2,
        chainId: 31337n,
        nonce: nonces[s]!++,
        ...(iface && tokenAddress
          ? { to: tokenAddress, value: 0n, gasLimit: 100_000n, data: iface.encodeFunctionData('transfer', [recipient, 1n]) }
          : { to: recipient, value: 1n, gasLimit: 21_000n }),
        ...fees,
      })
      tx.signature = w.signingKey.sign(tx.unsignedHash)
      body.push(Buffer.from(tx.serialized.slice(2), 'hex'))
    }
    signed.push(body)
  }

  log(`import: building ${blocks} blocks of ${txsPerBlock} transfers`)
  const encoded: Uint8Array[] = []
  let gas = 0n
  let tb = performance.now()
  let cb = process.cpuUsage()
  let ts = Date.now()
  for (const [n, body] of signed.entries()) {
    if (n === untimed) {
      tb = performance.now()
      cb = process.cpuUsage()
    }
    queue = body.map((raw) => decodeTransaction(raw, src.common))
    ts += 1000
    const block = await src.chain.produceBlock(producer, { allowEmpty: false, now: () => ts })
    if (!block || block.transactions.length !== body.length)
      throw new Error(`import: built block has ${block?.transactions.length ?? 0} of ${body.length} transactions`)
    if (n >= untimed) gas += block.header.gasUsed
    encoded.push(block.encode())
  }
  const buildMs = performance.now() - tb
  const buildCpu = process.cpuUsage(cb)
  const srcRoot = src.store.head().stateRoot
  await src.close()

  const dst = await Chain.open(producer, pool)
  try {
    const td = performance.now()
    const decoded = encoded.map((bytes) => Block.decode(bytes, dst.common))
    const decodeMs = performance.now() - td
    const nowSeconds = Math.ceil(ts / 1000) + 60
    let ti = performance.now()
    let ci = process.cpuUsage()
    for (const [n, block] of decoded.entries()) {
      if (n === untimed) {
        ti = performance.now()
        ci = process.cpuUsage()
      }
      const where = await dst.chain.importBlock(block, nowSeconds)
      if (where !== 'head') throw new Error(`import: block ${block.number} went to ${where}`)
    }
    const importMs = performance.now() - ti
    const importCpu = process.cpuUsage(ci)
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
      build_cpu_ms_per_tx: round3((buildCpu.user + buildCpu.system) / 1000 / txs),
      import_cpu_ms_per_tx: round3((importCpu.user + importCpu.system) / 1000 / txs),
      kind: token ? 'erc20' : 'native',
      state_root_ok: rootOk,
    }
    log(
      `import (${res.kind}): ${txs} txs in ${res.import_ms} ms = ${res.import_tx_per_s} tx/s, ${res.import_mgas_per_s} Mgas/s, ` +
        `CPU ${res.import_cpu_ms_per_tx} ms/tx (build ${res.build_tx_per_s} tx/s, CPU ${res.build_cpu_ms_per_tx} ms/tx)`,
    )
    return res
  } finally {
    await dst.close()
  }
}
