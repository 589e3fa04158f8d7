/**
 * `npm run bench`: starts a fresh povchain dev node (child process, temp datadir, loopback,
 * free ports) and measures, through JSON-RPC, native and ERC-20 transfer throughput, eth_call
 * and eth_getBalance latency and req/s, plus in-process block import gas/s. Progress goes to
 * stderr; stdout gets exactly one JSON object. Timing never makes it fail: only a node that
 * errors, loses a transaction or times out does (exit code 2, `"ok": false`).
 * See bench/README.md.
 */
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { Interface, getAddress, type HDNodeWallet } from 'ethers'
import { parseArgs, type BenchOptions } from './args.js'
import { compileBenchToken, deployBenchToken, DEFAULT_TOKEN_SOL } from './benchToken.js'
import { devWallets } from './devWallets.js'
import { computeBenchmarks } from '../compute/scripts/bench.js'
import { growChain } from './growthBench.js'
import { runImportBench } from './importBench.js'
import { runSpamBench } from './spamBench.js'
import { runLogsBench } from './logsBench.js'
import { runGossipBench, runSyncBench } from './networkBench.js'
import { NodeProcess } from './NodeProcess.js'
import { runReads } from './reads.js'
import { fromQty, RpcClient } from './RpcClient.js'
import { log } from './stats.js'
import { currentFees, latestNonces, runTxPhase, signBatch, type TxTemplate } from './txWorkload.js'

const AMOUNT_EACH = 10n ** 24n

function recipient(i: number): string {
  // Fresh, distinct recipients: every transfer creates an account, like the shared bench.
  return getAddress(`0x${(0xbe000000 + i).toString(16).padStart(40, '0')}`)
}

async function transferPhase(
  rpc: RpcClient,
  wallets: HDNodeWallet[],
  o: BenchOptions,
  label: string,
  n: number,
  serverPid: number | undefined,
  template: (i: number) => TxTemplate,
) {
  const fees = await currentFees(rpc)
  const nonces = await latestNonces(rpc, wallets)
  const t = performance.now()
  const txs = signBatch(wallets, nonces, n, fees, template)
  log(`${label}: signed ${n} txs offline in ${Math.round(performance.now() - t)} ms; sending`)
  return runTxPhase(rpc, txs, { depth: o.depth, concurrency: o.concurrency, timeoutSec: o.timeout, serverPid, label })
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2))
  const result: Record<string, unknown> = {
    kind: 'povchain-bench',
    ok: true,
    started: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    options: { ...o, only: [...o.only] },
  }
  const rpcPhases = ['native', 'erc20', 'reads', 'logs'].some((p) => o.only.has(p as never))
  let node: NodeProcess | undefined
  let rpc: RpcClient | undefined
  let phase = 'setup'
  const t0 = performance.now()
  const stopOnSignal = () => {
    void node?.stop().finally(() => process.exit(130))
  }
  process.once('SIGINT', stopOnSignal)
  process.once('SIGTERM', stopOnSignal)
  try {
    if (rpcPhases) {
      let url = o.url
      let pid = o.serverPid
      if (!url) {
        node = new NodeProcess(o.nodeFlags)
        await node.start()
        url = node.url
        pid = node.pid
      }
      result.target = { url, pid, fresh: !o.url }
      rpc = new RpcClient(url, Math.max(o.concurrency, o.readConcurrency) + 8)
      result.client_version = await rpc.call('web3_clientVersion').catch(() => undefined)
      const wallets = devWallets(o.senders)
      let sender = 0

      if (o.warmup > 0) {
        phase = 'warmup'
        await transferPhase(rpc, wallets, o, 'warmup', o.warmup, pid, () => ({ to: recipient(9_000_000 + sender++), value: 1n, data: '0x', gasLimit: 21_000n }))
      }
      if (o.only.has('native')) {
        phase = 'native'
        result.native = await transferPhase(rpc, wallets, o, 'native', o.n, pid, (i) => ({ to: recipient(i), value: 1n, data: '0x', gasLimit: 21_000n }))
      }
      let token: { address: string; iface: Interface } | undefined
      if (o.only.has('erc20') || o.only.has('reads') || o.only.has('logs')) {
        phase = 'erc20 deploy'
        const tc = performance.now()
        const compiled = compileBenchToken(o.tokenSol ?? DEFAULT_TOKEN_SOL, o.evmVersion)
        const compileMs = Math.round(performance.now() - tc)
        const fees = await currentFees(rpc)
        const dep = await deployBenchToken(rpc, wallets[0]!, compiled, wallets.map((w) => w.address), AMOUNT_EACH, fees, o.timeout)
        token = { address: dep.address, iface: new Interface(compiled.abi as never) }
        // More deployments of the same token, from another sender: the shared bench's deploy row is
        // one sample, and the first deployment also pays for cold code paths.
        const deployMs = [dep.deployMs]
        for (let k = 1; k < o.deploys; k++) deployMs.push((await deployBenchToken(rpc, wallets[1 % wallets.length]!, compiled, wallets.map((w) => w.address), AMOUNT_EACH, await currentFees(rpc), o.timeout)).deployMs)
        const sorted = [...deployMs].sort((a, b) => a - b)
        result.token = { address: dep.address, solc: compiled.solcVersion, evm_version: o.evmVersion, compile_ms: compileMs, deploy_ms: dep.deployMs, deploy_ms_median: sorted[sorted.length >> 1], deploy_ms_each: deployMs }
        log(`BenchToken at ${dep.address} (deploy ${dep.deployMs} ms; ${deployMs.length} deployments, median ${sorted[sorted.length >> 1]} ms: ${deployMs.join(', ')})`)
      }
      if (o.only.has('erc20') && token) {
        phase = 'erc20'
        const iface = token.iface
        const to = token.address
        result.erc20 = await transferPhase(rpc, wallets, o, 'erc20', o.n, pid, (i) => ({
          to,
          value: 0n,
          data: iface.encodeFunctionData('transfer', [recipient(1_000_000 + i), 1n]),
          gasLimit: 100_000n,
        }))
      }
      if (o.grow.length && token) {
        // Cost per transaction as the chain grows: the same two phases again (repeated once on
        // the fresh chain first, so that a warmer process is not mistaken for a flat cost).
        phase = 'growth'
        const iface = token.iface
        const to = token.address
        const grown = (tag: number) => ({
          native: (label: string) => transferPhase(rpc!, wallets, o, label, o.n, pid, (i) => ({ to: recipient(2_000_000 * (tag + 2) + i), value: 1n, data: '0x', gasLimit: 21_000n })),
          erc20: (label: string) =>
            transferPhase(rpc!, wallets, o, label, o.n, pid, (i) => ({ to, value: 0n, data: iface.encodeFunctionData('transfer', [recipient(2_000_000 * (tag + 2) + 1_000_000 + i), 1n]), gasLimit: 100_000n })),
        })
        const summary = (r: Awaited<ReturnType<typeof transferPhase>>) => ({ server_cpu_ms_per_tx: r.server_cpu_ms_per_tx, tps: r.tps, blocks: r.blocks, send_p50_ms: r.send?.p50_ms })
        const head = async () => Number(fromQty(await rpc!.call('eth_blockNumber'), 'eth_blockNumber'))
        const rows: Record<string, unknown>[] = []
        const again = grown(0)
        rows.push({ label: 'fresh (repeated)', head: await head(), native: summary(await again.native('native, fresh again')), erc20: summary(await again.erc20('erc20, fresh again')) })
        for (const [k, target] of o.grow.entries()) {
          const before = await head()
          if (target <= before) {
            log(`growth: head ${before} is already at or past ${target}`)
            continue
          }
          log(`growth: sealing ${target - before} blocks of one transfer (head ${before} → ${target})`)
          const g = await growChain(rpc, wallets[0]!, target - before, k)
          const p = grown(k + 1)
          rows.push({ label: `grown to ${g.head}`, head: g.head, growth: g, native: summary(await p.native(`native at ${g.head}`)), erc20: summary(await p.erc20(`erc20 at ${g.head}`)) })
        }
        result.growth = rows
      }
      if (o.only.has('reads') && token) {
        phase = 'reads'
        const iface = token.iface
        const addr = token.address
        const holders = wallets.map((w) => w.address)
        const calls = holders.map((h) => iface.encodeFunctionData('balanceOf', [h]))
        const reads: Record<string, unknown> = {}
        reads.eth_call_balanceOf = await runReads(
          rpc,
          'eth_call balanceOf',
          o.reads,
          o.readConcurrency,
          (i) => ['eth_call', [{ to: addr, data: calls[i % calls.length] }, 'latest']],
          (r) => {
            if (typeof r !== 'string' || r.length !== 66) throw new Error(`eth_call balanceOf returned ${JSON.stringify(r)}`)
          },
          pid,
        )
        reads.eth_getBalance = await runReads(
          rpc,
          'eth_getBalance',
          o.reads,
          o.readConcurrency,
          (i) => ['eth_getBalance', [holders[i % holders.length], 'latest']],
          (r) => {
            if (fromQty(r, 'eth_getBalance') === 0n) throw new Error('eth_getBalance returned 0 for a funded account')
          },
          pid,
        )
        result.reads = reads
      }
      if (o.only.has('logs') && token) {
        // Needs the ERC-20 phase's Transfer logs (`--only erc20,logs`).
        phase = 'logs'
        result.logs = await runLogsBench(rpc, token.address, wallets[0]!.address, recipient(1_000_000), o.logReps, pid)
      }
      result.rpc_calls = rpc.calls
    }
    if (node) {
      phase = 'stop'
      rpc?.close()
      await node.stop()
      node = undefined
    }
    if (o.only.has('import')) {
      phase = 'import'
      result.import = await runImportBench(o.importBlocks, o.importTxs, o.importErc20 ? compileBenchToken(o.tokenSol ?? DEFAULT_TOKEN_SOL, o.evmVersion) : undefined)
    }
    if (o.only.has('gossip')) {
      phase = 'gossip'
      result.gossip = await runGossipBench(o.gossipNodes, o.gossipBlocks, o.gossipTxs)
    }
    if (o.only.has('sync')) {
      phase = 'sync'
      result.sync = await runSyncBench(o.syncBlocks, o.syncTxs)
    }
    if (o.only.has('spam')) {
      phase = 'spam'
      const spam = await runSpamBench({ txs: o.spamTxs, accounts: o.spamAccounts, period: o.spamPeriod, checkpoint: o.spamCheckpoint, rssBoundMiB: o.spamRssBound, timeoutSec: o.timeout, maxSeconds: o.spamSeconds, devnet: o.spamDevnet })
      result.spam = spam
      if (!spam.ok) result.ok = false
    }
    if (o.only.has('compute')) {
      // The AI workloads: training samples/s and what verifying costs against the worker's run.
      phase = 'compute'
      log('compute: reference benchmark, Iris training and its re-execution verification ...')
      result.compute = Object.fromEntries((await computeBenchmarks()).map((r) => [r.name, { value: r.value, unit: r.unit }]))
    }
  } catch (e) {
    result.ok = false
    result.error = `${phase}: ${(e as Error).message}`
    log(`FAILED during ${phase}: ${(e as Error).stack ?? e}`)
  } finally {
    rpc?.close()
    await node?.stop().catch(() => {})
  }
  result.wall_s = Math.round(performance.now() - t0) / 1000
  const json = JSON.stringify(result)
  if (o.out) writeFileSync(o.out, `${json}\n`)
  process.stdout.write(`${json}\n`)
  return result.ok ? 0 : 2
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e)
    process.exit(2)
  },
)
