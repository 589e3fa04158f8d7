/**
 * Network phases of `npm run bench`, with full nodes (PovNode, real LevelDB, real libp2p on
 * 127.0.0.1) inside this process:
 * - sync: a source node builds `blocks` blocks of `txs` transfers each (not timed); a fresh
 *   node connects and catches up through headers/bodies requests and full import. Reported:
 *   blocks/s, transactions/s and gas/s while catching up.
 * - gossip: `nodes` nodes in a line (each one's bootnode is the previous), so a block crosses
 *   nodes−1 hops, each validating (importing) before forwarding; the first node produces
 *   `blocks` blocks of `txs` transfers. Reported: latency from sealing to import on the last
 *   node (p50/p95/max) and per hop.
 * Both share the CPU with every node they start: on a 2-core machine they measure the
 * software, not a network.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTx } from '@ethereumjs/tx'
import { createChainCommon } from '../chain/ChainCommon.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex } from '../common/bytes.js'
import { silentLogger } from '../common/logger.js'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { devGenesis } from '../genesis/presets.js'
import type { NodeConfig } from '../node/NodeConfig.js'
import { PovNode } from '../node/PovNode.js'
import { log, round1 } from './stats.js'

const CHAIN_ID = 31338n
const PRODUCER_KEY = new Uint8Array(32).fill(0x42)
const SENDERS = deriveKeys(DEV_MNEMONIC, 20).slice(1)

class BenchNet {
  readonly dir = mkdtempSync(join(tmpdir(), 'povchain-netbench-'))
  readonly genesisFile = join(this.dir, 'genesis.json')
  readonly genesisTs: number
  readonly nodes: PovNode[] = []
  private readonly nonces = new Map<number, bigint>()
  private sent = 0

  constructor(pastSlots: number) {
    this.genesisTs = Math.floor(Date.now() / 1000) - pastSlots - 30
    const g = devGenesis()
    g.config.chainId = Number(CHAIN_ID)
    g.config.slotSeconds = 1
    g.config.producers = [bytesToHex(privateKeyToAddress(PRODUCER_KEY))]
    g.timestamp = this.genesisTs
    g.gasLimit = 60_000_000
    writeFileSync(this.genesisFile, JSON.stringify(g))
  }

  async start(name: string, bootnodes: string[]): Promise<PovNode> {
    const cfg: NodeConfig = {
      dev: false,
      datadir: join(this.dir, name),
      genesisFile: this.genesisFile,
      devPeriod: 0,
      txpool: { globalSlots: 100_000, accountSlots: 100_000 },
      logLevel: 'warn',
      rpc: { httpAddr: '127.0.0.1', httpPort: 0, wsAddr: '127.0.0.1', wsPort: 0 },
      p2p: { listenAddr: '127.0.0.1', port: 0, bootnodes, progress: 'off', maintainIntervalMs: 1_000 },
    }
    const node = new PovNode(cfg, silentLogger)
    await node.start()
    this.nodes.push(node)
    return node
  }

  /** Seals `count` blocks of `txs` transfers on `node` at the next slots (past ones first). */
  async produce(node: PovNode, count: number, txs: number, onBlock?: (at: number, hash: string) => void): Promise<void> {
    const common = createChainCommon(CHAIN_ID)
    const nonces = this.nonces
    const producer = { key: PRODUCER_KEY, address: privateKeyToAddress(PRODUCER_KEY) }
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < txs; k++) {
        const n = this.sent++
        const s = n % SENDERS.length
        const nonce = nonces.get(s) ?? 0n
        nonces.set(s, nonce + 1n)
        const to = new Uint8Array(20)
        new DataView(to.buffer).setUint32(16, 0xb0000000 + (n % 5000))
        const tx = createTx({ type: 2, nonce, to, value: 1n, gasLimit: 21_000n, maxFeePerGas: 10n ** 11n, maxPriorityFeePerGas: 10n ** 9n, chainId: CHAIN_ID }, { common }).sign(SENDERS[s]!)
        await node.pool.add(tx)
      }
      const slot = node.store.head().slot + 1n
      const b = await node.chain.produceBlock(producer, { allowEmpty: true, slot, timestamp: BigInt(this.genesisTs) + slot })
      if (!b) throw new Error(`no block at slot ${slot}`)
      onBlock?.(performance.now(), bytesToHex(b.hash()))
    }
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await n.stop().catch(() => {})
    rmSync(this.dir, { recursive: true, force: true })
  }
}

const waitUntil = async (cond: () => boolean, what: string, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export async function runSyncBench(blocks: number, txs: number): Promise<Record<string, unknown>> {
  const net = new BenchNet(blocks + 10)
  try {
    const source = await net.start('source', [])
    const tb = performance.now()
    let last = 0
    await net.produce(source, blocks, txs, () => {
      const n = Number(source.store.head().number)
      if (n - last >= 1000) {
        last = n
        log(`sync: built ${n}/${blocks} blocks`)
      }
    })
    const buildS = (performance.now() - tb) / 1000
    const target = source.store.head()
    let gas = 0n
    let txCount = 0
    for (let i = 1n; i <= target.number; i++) {
      const h = (await source.store.canonicalHeader(i))!
      gas += h.gasUsed
    }
    txCount = blocks * txs
    log(`sync: source holds ${target.number} blocks (${txCount} transfers) built in ${round1(buildS)} s; starting a fresh node`)
    const t0 = performance.now()
    const fresh = await net.start('fresh', source.network!.multiaddrs())
    await waitUntil(() => fresh.store.head().number === target.number, 'the fresh node to catch up', 30 * 60_000)
    const s = (performance.now() - t0) / 1000
    const same = bytesToHex(fresh.store.head().stateRoot) === bytesToHex(target.stateRoot)
    if (!same) throw new Error('the synced node has a different state root')
    const r = { blocks, txs_per_block: txs, seconds: round1(s), blocks_per_s: round1(blocks / s), tx_per_s: round1(txCount / s), mgas_per_s: round1(Number(gas) / 1e6 / s), build_seconds: round1(buildS) }
    log(`sync: ${blocks} blocks in ${r.seconds} s — ${r.blocks_per_s} blocks/s, ${r.tx_per_s} tx/s, ${r.mgas_per_s} Mgas/s`)
    return r
  } finally {
    await net.close()
  }
}

export async function runGossipBench(nodes: number, blocks: number, txs: number): Promise<Record<string, unknown>> {
  const net = new BenchNet(blocks + 10)
  try {
    const line: PovNode[] = []
    for (let i = 0; i < nodes; i++) line.push(await net.start(`n${i}`, i > 0 ? line[i - 1]!.network!.multiaddrs() : []))
    await waitUntil(() => line.every((n, i) => n.network!.peerCount() === (i === 0 || i === nodes - 1 ? Math.min(1, nodes - 1) : 2)), 'the line of peers', 30_000)
    await new Promise((r) => setTimeout(r, 2_000)) // gossipsub meshes form on heartbeats
    const arrivals = line.map(() => new Map<string, number>())
    line.forEach((n, i) => n.chain.onNewHead((b) => arrivals[i]!.set(bytesToHex(b.hash()), performance.now())))
    const sealed = new Map<string, number>()
    for (let i = 0; i < blocks; i++) {
      await net.produce(line[0]!, 1, txs, (at, hash) => sealed.set(hash, at))
      const hash = bytesToHex(line[0]!.store.head().hash())
      await waitUntil(() => arrivals[nodes - 1]!.has(hash), `block ${i} on the last node`, 30_000)
    }
    const lat = [...sealed].map(([h, t]) => arrivals[nodes - 1]!.get(h)! - t).sort((a, b) => a - b)
    const pct = (p: number) => round1(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!)
    const r = { nodes, hops: nodes - 1, blocks, txs_per_block: txs, last_node_ms: { p50: pct(0.5), p95: pct(0.95), max: round1(lat[lat.length - 1]!) }, per_hop_ms_p50: round1(pct(0.5)! / Math.max(1, nodes - 1)) }
    log(`gossip: ${nodes} nodes in a line, ${txs} transfers per block — last node p50 ${r.last_node_ms.p50} ms, p95 ${r.last_node_ms.p95} ms (${r.per_hop_ms_p50} ms per hop)`)
    return r
  } finally {
    await net.close()
  }
}
