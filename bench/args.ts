/** Command-line options of `npm run bench` (bench/run.ts). */
export const PHASES = ['native', 'erc20', 'reads', 'import', 'sync', 'gossip', 'compute', 'logs', 'spam'] as const
export type Phase = (typeof PHASES)[number]

export interface BenchOptions {
  only: Set<Phase>
  /** Transactions per measured transfer phase. */
  n: number
  /** Native transfers sent and waited for before the measured phases (not reported). */
  warmup: number
  senders: number
  /** Sends in flight per sender (1 = nonces arrive strictly in order). */
  depth: number
  /** Sends in flight overall. */
  concurrency: number
  reads: number
  readConcurrency: number
  /** logs phase: sequential repetitions of each eth_getLogs shape (×20 for by-blockHash). */
  logReps: number
  /** Seconds to wait for receipts before a phase fails. */
  timeout: number
  importBlocks: number
  importTxs: number
  /** Import phase: ERC-20 transfers (BenchToken) instead of native ones. */
  importErc20: boolean
  /** sync phase: blocks a fresh node catches up, transfers per block. */
  syncBlocks: number
  syncTxs: number
  /** gossip phase: nodes in a line, blocks sealed, transfers per block. */
  gossipNodes: number
  gossipBlocks: number
  gossipTxs: number
  /** spam phase: transactions, funded accounts, dev block period, checkpoint every N, RSS bound (MiB). */
  spamTxs: number
  spamAccounts: number
  spamPeriod: number
  spamCheckpoint: number
  spamRssBound: number
  spamSeconds: number
  /** spam phase: producers of a devnet to flood instead of one dev node (0: dev node). */
  spamDevnet: number
  /**
   * Growth: after the native and ERC-20 phases on the fresh chain, grow it to each of these
   * heights (blocks of one transfer) and run both phases again (empty: no growth).
   */
  grow: number[]
  /** BenchToken deployments timed send → receipt (the first one is the token the phases use). */
  deploys: number
  evmVersion: string
  tokenSol?: string
  /** Extra flags for the node's `node` binary, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
  nodeFlags: string[]
  /** Use an already running endpoint instead of starting a node (its pid via --server-pid). */
  url?: string
  serverPid?: number
  out?: string
}

const HELP = `usage: npm run bench -- [options]
  --only native,erc20,reads,logs,import,sync,gossip,compute,spam   phases to run (default:
                        all but spam; logs needs erc20's Transfer logs)
  --n 2000              transactions per transfer phase
  --warmup 200          native transfers before measuring (0 to skip)
  --senders 20          dev accounts sending (1..20)
  --depth 1             sends in flight per sender
  --concurrency 32      sends in flight overall
  --reads 2000          eth_call balanceOf and eth_getBalance requests each
  --read-concurrency 16
  --log-reps 20         logs phase: calls per eth_getLogs shape (×20 by block hash)
  --timeout 120         seconds to wait for a phase's receipts
  --import-blocks 10    blocks built then imported in-process
  --import-txs 500      transfers per imported block
  --import-erc20        import phase: BenchToken.transfer calls instead of native transfers
  --sync-blocks 10000   blocks a fresh node catches up over the network (sync phase)
  --sync-txs 2          transfers per block of the sync phase
  --gossip-nodes 5      nodes in a line for the gossip latency phase
  --gossip-blocks 20    blocks whose propagation is timed
  --gossip-txs 50       transfers per gossiped block
  --spam-txs 100000     spam phase: transactions in the flood (valid, underpriced, future nonces, replacements)
  --spam-accounts 10000 spam phase: funded accounts sending it
  --spam-period 2       spam phase: seconds between the dev node's blocks
  --spam-checkpoint 10000  spam phase: RSS, CPU and pool figures every N transactions
  --spam-rss-bound 1536 spam phase: MiB of node RSS the run must stay under (else ok: false)
  --spam-seconds 0      spam phase: stop the flood after this many seconds (0: send all --spam-txs)
  --spam-devnet 0       spam phase: flood a devnet of N producers (node 0; honest wallets at the last node,
                        receipts checked on every node) instead of one dev node; --spam-period = slot seconds
  --deploys 5           BenchToken deployments timed send → receipt (median and each in the JSON)
  --grow 10000[,100000] after native and erc20 on the fresh chain, grow it by blocks of one
                        transfer to each of these heights and run both phases again there
  --evm-version shanghai  solc target for BenchToken
  --token-sol PATH      BenchToken.sol (default ../shared/bench/contracts/BenchToken.sol)
  --node-flags "..."    flags for the node process's Node binary (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p")
  --url URL             bench a running endpoint instead of starting a fresh node
  --server-pid PID      its process id, for server CPU figures
  --out FILE            also write the JSON result to FILE`

export function parseArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = {
    only: new Set(PHASES.filter((p) => p !== 'spam')),
    n: 2000,
    warmup: 200,
    senders: 20,
    depth: 1,
    concurrency: 32,
    reads: 2000,
    readConcurrency: 16,
    logReps: 20,
    timeout: 120,
    importBlocks: 10,
    importTxs: 500,
    importErc20: false,
    syncBlocks: 10_000,
    syncTxs: 2,
    gossipNodes: 5,
    gossipBlocks: 20,
    gossipTxs: 50,
    spamTxs: 100_000,
    spamAccounts: 10_000,
    spamPeriod: 2,
    spamCheckpoint: 10_000,
    spamRssBound: 1536,
    spamSeconds: 0,
    spamDevnet: 0,
    grow: [],
    deploys: 5,
    evmVersion: 'shanghai',
    nodeFlags: [],
  }
  const fail = (msg: string): never => {
    console.error(`bench: ${msg}\n${HELP}`)
    process.exit(1)
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const val = (): string => argv[++i] ?? fail(`missing value for ${a}`)
    const int = (min: number): number => {
      const v = Number(val())
      if (!Number.isInteger(v) || v < min) fail(`${a} needs an integer >= ${min}`)
      return v
    }
    switch (a) {
      case '--only': {
        const names = val().split(',').map((s) => s.trim()).filter(Boolean)
        for (const n of names) if (!(PHASES as readonly string[]).includes(n)) fail(`unknown phase ${n}`)
        o.only = new Set(names as Phase[])
        break
      }
      case '--n': o.n = int(1); break
      case '--warmup': o.warmup = int(0); break
      case '--senders': o.senders = int(1); break
      case '--depth': o.depth = int(1); break
      case '--concurrency': o.concurrency = int(1); break
      case '--reads': o.reads = int(1); break
      case '--read-concurrency': o.readConcurrency = int(1); break
      case '--log-reps': o.logReps = int(1); break
      case '--timeout': o.timeout = int(1); break
      case '--import-blocks': o.importBlocks = int(1); break
      case '--import-txs': o.importTxs = int(1); break
      case '--import-erc20': o.importErc20 = true; break
      case '--sync-blocks': o.syncBlocks = int(1); break
      case '--sync-txs': o.syncTxs = int(0); break
      case '--gossip-nodes': o.gossipNodes = int(2); break
      case '--gossip-blocks': o.gossipBlocks = int(1); break
      case '--gossip-txs': o.gossipTxs = int(0); break
      case '--spam-txs': o.spamTxs = int(1); break
      case '--spam-accounts': o.spamAccounts = int(2); break
      case '--spam-period': o.spamPeriod = int(1); break
      case '--spam-checkpoint': o.spamCheckpoint = int(1); break
      case '--spam-rss-bound': o.spamRssBound = int(1); break
      case '--spam-seconds': o.spamSeconds = int(0); break
      case '--spam-devnet': o.spamDevnet = int(0); break
      case '--deploys': o.deploys = int(1); break
      case '--grow':
        o.grow = val().split(',').map((x) => Number(x.trim()))
        if (o.grow.some((h, i) => !Number.isInteger(h) || h < 1 || (i > 0 && h <= o.grow[i - 1]!))) fail('--grow needs increasing block heights, e.g. 10000,100000')
        break
      case '--evm-version': o.evmVersion = val(); break
      case '--token-sol': o.tokenSol = val(); break
      case '--node-flags': o.nodeFlags = val().split(/\s+/).filter(Boolean); break
      case '--url': o.url = val(); break
      case '--server-pid': o.serverPid = int(1); break
      case '--out': o.out = val(); break
      case '-h':
      case '--help':
        console.error(HELP)
        process.exit(0)
      default:
        fail(`unknown option ${a}`)
    }
  }
  if (o.senders > 20) fail('--senders: the dev chain funds 20 accounts')
  if (o.grow.length && !(o.only.has('native') && o.only.has('erc20'))) fail('--grow re-runs the native and erc20 phases: keep both in --only')
  return o
}
