import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { bytesToHex } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import type { GenesisFile } from '../genesis/GenesisConfig.js'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { DEV_CONTROL_ISSUER_INDEX, DEV_VALIDATOR_BOND, DEV_VALIDATOR_REWARD_FUND, DEV_VALIDATOR_WEIGHT, devGenesis } from '../genesis/presets.js'
import { devValidatorSetConfig, povGenesisValidators, VALIDATOR_SET_ADDRESS, validatorSetGenesisEntry } from '../genesis/ValidatorSetGenesis.js'
import { devWorkMarketConfig, WORK_MARKET_ADDRESS, workMarketGenesisEntry } from '../genesis/WorkMarketGenesis.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { loadOrCreateNodeKey } from '../network/NodeIdentity.js'
import { Keystore, LIGHT_SCRYPT } from '../accounts/Keystore.js'
import { NodeError } from '../node/errors.js'
import { freePort, portIsFree } from './FreePort.js'
import { livePid } from './PidFile.js'

/**
 * `povchain devnet --nodes N [--dir D]`: a local multi-producer network on loopback.
 *
 * The first run creates, in D: a genesis with N producers (the dev accounts funded as in
 * --dev, chain id 31338 by default, slots of `slotSeconds` from now), and per node a datadir
 * with its producer key in an encrypted keystore (light scrypt — a devnet key, not a wallet),
 * the password file beside it, its libp2p node key and fixed free ports. Later runs reuse
 * what D holds. Every node lists all the others as bootnodes. The command starts the N node
 * processes, prints their RPC URLs, writes D/devnet.json (per node: pid, RPC and WS URLs,
 * multiaddr, datadir, log file, and the exact command that restarts it) and stops them all
 * on Ctrl-C (SIGINT) or SIGTERM.
 */
export interface DevnetOptions {
  nodes: number
  dir: string
  slotSeconds: number
  /** Slots per epoch of a new devnet (validator-set rotation and epoch rewards). */
  epochLength?: number
  chainId: number
  logLevel: string
  /** Node index → hostile mode (`--hostile I:MODE`): that validator attacks the others (testing only). */
  hostile?: Map<number, string>
  /** Ports of node 0 of a new devnet (node i: + i); free ports where not given. */
  basePorts?: { http?: number | undefined; ws?: number | undefined; p2p?: number | undefined }
}

export interface DevnetNodePlan {
  index: number
  datadir: string
  producer: string
  peerId: string
  p2pPort: number
  httpPort: number
  wsPort: number
  multiaddr: string
  rpc: string
  ws: string
  log: string
  argv: string[]
}

export interface DevnetManifest {
  chainId: number
  slotSeconds: number
  genesis: string
  createdAt: string
  nodes: (DevnetNodePlan & { pid?: number; command: string })[]
}

const PLAN_FILE = 'devnet-plan.json'
export const MANIFEST_FILE = 'devnet.json'

/**
 * The dev genesis with the N node keys as the genesis validators of Proof of Value: each with
 * the dev validator's bond and weight and an accepted genesis receipt in the WorkMarket, so the
 * network produces from its first slot; real receipts take over as their weight decays.
 */
export function devnetGenesis(opts: { producers: string[]; slotSeconds: number; epochLength?: number; chainId: number; timestamp: number }): GenesisFile {
  const g = devGenesis()
  g.config.chainId = opts.chainId
  g.config.slotSeconds = opts.slotSeconds
  if (opts.epochLength) g.config.epochLength = opts.epochLength
  g.config.producers = opts.producers
  const pov = povGenesisValidators(opts.producers.map((a) => ({ address: a as `0x${string}`, bond: DEV_VALIDATOR_BOND, weight: DEV_VALIDATOR_WEIGHT })))
  const issuer = bytesToHex(privateKeyToAddress(deriveKeys(DEV_MNEMONIC, DEV_CONTROL_ISSUER_INDEX + 1)[DEV_CONTROL_ISSUER_INDEX]!)) as `0x${string}`
  g.config.systemContracts = {
    ...g.config.systemContracts,
    WorkMarket: workMarketGenesisEntry(devWorkMarketConfig(issuer), 0n, pov.receipts, WORK_MARKET_ADDRESS),
    ValidatorSet: validatorSetGenesisEntry(devValidatorSetConfig(), pov.validators, DEV_VALIDATOR_REWARD_FUND, VALIDATOR_SET_ADDRESS),
  }
  // Validators pay for the transactions they send (slashing evidence, bonds).
  for (const a of opts.producers) g.alloc[a.toLowerCase()] = { balance: `0x${DEVNET_VALIDATOR_BALANCE.toString(16)}` }
  g.timestamp = opts.timestamp
  return g
}

/** Coins each devnet validator key holds at genesis. */
export const DEVNET_VALIDATOR_BALANCE = 100n * 10n ** 18n

/** The command line that runs the povchain CLI the way this process runs it (from source or built). */
export function cliInvocation(): string[] {
  return [process.execPath, ...process.execArgv, resolve(process.argv[1]!)]
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`)

/** Port `base + i` when a base was given (refused if something listens there), else a free one. */
async function portFor(base: number | undefined, i: number, flag: string): Promise<number> {
  if (base === undefined) return freePort()
  const port = base + i
  if (port > 65535) throw new NodeError('BAD_PORT', `${flag} ${base}: node ${i} would get port ${port}, above 65535`)
  if (!(await portIsFree(port))) throw new NodeError('PORT_IN_USE', `${flag} ${base}: port ${port} (node ${i}) is in use; pick another ${flag}`)
  return port
}

/** Creates the devnet in `opts.dir`, or loads the one already there. */
export async function prepareDevnet(opts: DevnetOptions, log: Logger): Promise<{ genesis: string; nodes: DevnetNodePlan[] }> {
  const dir = resolve(opts.dir)
  const planPath = join(dir, PLAN_FILE)
  if (existsSync(planPath)) {
    const plan = JSON.parse(readFileSync(planPath, 'utf8')) as { genesis: string; nodes: DevnetNodePlan[] }
    if (plan.nodes.length !== opts.nodes)
      throw new NodeError('DEVNET_EXISTS', `${dir} holds a devnet of ${plan.nodes.length} nodes, not ${opts.nodes}; use another --dir`)
    const asked = Object.entries(opts.basePorts ?? {}).filter(([, v]) => v !== undefined)
    const differs = asked.filter(([k, v]) => plan.nodes[0]![`${k}Port` as 'httpPort' | 'wsPort' | 'p2pPort'] !== v)
    if (differs.length > 0)
      throw new NodeError('DEVNET_EXISTS', `${dir} holds a devnet whose node 0 uses ${differs.map(([k]) => `${k} port ${plan.nodes[0]![`${k}Port` as 'httpPort']}`).join(', ')}: ports are fixed when a devnet is created (use another --dir for other ports)`)
    log.info({ dir, nodes: plan.nodes.length }, 'reusing the devnet in this directory')
    return plan
  }
  // Ports first: a port in use is refused before anything is written.
  const ports: { p2p: number; http: number; ws: number }[] = []
  for (let i = 0; i < opts.nodes; i++)
    ports.push({ p2p: await portFor(opts.basePorts?.p2p, i, '--p2p.port'), http: await portFor(opts.basePorts?.http, i, '--http.port'), ws: await portFor(opts.basePorts?.ws, i, '--ws.port') })
  mkdirSync(dir, { recursive: true })
  const nodes: Omit<DevnetNodePlan, 'argv' | 'multiaddr' | 'rpc' | 'ws'>[] = []
  for (let i = 0; i < opts.nodes; i++) {
    const datadir = join(dir, `node${i}`)
    mkdirSync(datadir, { recursive: true })
    const password = randomBytes(16).toString('hex')
    writeFileSync(join(datadir, 'password.txt'), `${password}\n`, { mode: 0o600 })
    const entry = await new Keystore(join(datadir, 'keystore'), { scrypt: LIGHT_SCRYPT }).newAccount(password)
    const { peerId } = await loadOrCreateNodeKey(datadir)
    nodes.push({
      index: i,
      datadir,
      producer: bytesToHex(entry.address),
      peerId,
      p2pPort: ports[i]!.p2p,
      httpPort: ports[i]!.http,
      wsPort: ports[i]!.ws,
      log: join(datadir, 'node.log'),
    })
  }
  const genesisPath = join(dir, 'genesis.json')
  const genesis = devnetGenesis({ producers: nodes.map((n) => n.producer), slotSeconds: opts.slotSeconds, epochLength: opts.epochLength, chainId: opts.chainId, timestamp: Math.floor(Date.now() / 1000) })
  writeFileSync(genesisPath, JSON.stringify(genesis, null, 2))
  const multiaddr = (n: (typeof nodes)[number]) => `/ip4/127.0.0.1/tcp/${n.p2pPort}/p2p/${n.peerId}`
  const full: DevnetNodePlan[] = nodes.map((n) => ({
    ...n,
    multiaddr: multiaddr(n),
    rpc: `http://127.0.0.1:${n.httpPort}`,
    ws: `ws://127.0.0.1:${n.wsPort}`,
    argv: [
      'node',
      '--genesis', genesisPath,
      '--datadir', n.datadir,
      '--producer', n.producer,
      '--password', join(n.datadir, 'password.txt'),
      '--p2p.addr', '127.0.0.1',
      '--p2p.port', String(n.p2pPort),
      '--nodiscover',
      ...(nodes.length > 1 ? ['--bootnodes', nodes.filter((o) => o !== n).map(multiaddr).join(',')] : []),
      '--http.port', String(n.httpPort),
      '--ws.port', String(n.wsPort),
      // A local test network: admin_peers / admin_nodeInfo and debug_ to inspect it (no signing: nothing is unlocked).
      '--http.api', 'eth,net,web3,pov,txpool,admin,debug',
      '--log.format', 'json',
      '--log.level', opts.logLevel,
    ],
  }))
  const plan = { genesis: genesisPath, nodes: full }
  writeFileSync(planPath, JSON.stringify(plan, null, 2))
  log.info({ dir, nodes: full.length, chainId: opts.chainId, slotSeconds: opts.slotSeconds }, 'created a devnet')
  return plan
}

export function writeManifest(dir: string, opts: DevnetOptions, plan: { genesis: string; nodes: DevnetNodePlan[] }, pids: (number | undefined)[]): DevnetManifest {
  const cli = cliInvocation()
  const manifest: DevnetManifest = {
    chainId: opts.chainId,
    slotSeconds: opts.slotSeconds,
    genesis: plan.genesis,
    createdAt: new Date().toISOString(),
    nodes: plan.nodes.map((n, i) => ({ ...n, argv: [...cli, ...n.argv], pid: pids[i], command: [...cli, ...n.argv].map(shellQuote).join(' ') })),
  }
  // Written whole then renamed: tools (and tests) poll for the file and must never read half of it.
  const path = join(resolve(dir), MANIFEST_FILE)
  writeFileSync(`${path}.tmp`, JSON.stringify(manifest, null, 2))
  renameSync(`${path}.tmp`, path)
  return manifest
}

async function waitRpc(url: string, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && alive()) {
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' })
      if (r.ok) return true
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return false
}

function downReason(n: DevnetNodePlan, child: ChildProcess): string {
  const other = livePid(n.datadir)
  if (other !== undefined && other !== child.pid) return `another process, pid ${other}, serves ${n.datadir}: stop it first`
  if (child.exitCode !== null || child.signalCode !== null) return `exited with ${child.exitCode ?? child.signalCode}; see ${n.log}`
  return `no answer at ${n.rpc} within 60 s; see ${n.log}`
}

/** SIGTERM, then SIGKILL after 15 s. */
async function stopPid(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const deadline = Date.now() + 15_000
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  if (alive()) process.kill(pid, 'SIGKILL')
}

/** Runs the devnet until SIGINT/SIGTERM; resolves when every node has stopped. */
export async function runDevnet(opts: DevnetOptions, log: Logger, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const plan = await prepareDevnet(opts, log)
  const running = plan.nodes.flatMap((n) => {
    const pid = livePid(n.datadir)
    return pid === undefined ? [] : [`node${n.index} (pid ${pid})`]
  })
  if (running.length > 0)
    throw new NodeError('DEVNET_RUNNING', `the devnet in ${resolve(opts.dir)} is already running: ${running.join(', ')}. Stop it first (Ctrl-C where it runs, or kill those pids), or use another --dir`)
  const cli = cliInvocation()
  const children: ChildProcess[] = []
  let stopping = false
  for (const n of plan.nodes) {
    const fd = openSync(n.log, 'a')
    const hostile = opts.hostile?.get(n.index)
    const argv = hostile ? [...n.argv, '--dev.hostile', hostile] : n.argv
    const child = spawn(cli[0]!, [...cli.slice(1), ...argv], { stdio: ['ignore', fd, fd], env: { ...process.env, NODE_OPTIONS: '' } })
    child.on('exit', (code, signal) => {
      if (!stopping) log.warn({ node: n.index, code, signal, log: n.log }, 'devnet node exited; restart it with the command in devnet.json')
    })
    children.push(child)
  }
  const manifest = writeManifest(opts.dir, opts, plan, children.map((c) => c.pid))
  const stopAll = async () => {
    if (stopping) return
    stopping = true
    out('stopping the devnet…')
    // Nodes restarted by hand from devnet.json are not our children: their pid files name them
    // (nothing else ran there when we started: runDevnet refuses a running devnet).
    const ours = new Set(children.map((c) => c.pid))
    const strays = plan.nodes.map((n) => livePid(n.datadir)).filter((p): p is number => p !== undefined && !ours.has(p))
    await Promise.all(strays.map((pid) => stopPid(pid)))
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res()
            const t = setTimeout(() => c.kill('SIGKILL'), 15_000)
            c.once('exit', () => {
              clearTimeout(t)
              res()
            })
            c.kill('SIGTERM')
          }),
      ),
    )
  }
  const done = new Promise<void>((res) => {
    const onSignal = () => void stopAll().then(res)
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  })
  // Up means *our* process serves the node's datadir and RPC: a node left running from an
  // earlier run answers on the same port while the new one dies on the locked datadir.
  const ready = await Promise.all(
    plan.nodes.map(async (n, i) => {
      const alive = () => children[i]!.exitCode === null && children[i]!.signalCode === null
      if (!(await waitRpc(n.rpc, 60_000, alive))) return false
      for (let t = 0; t < 50 && alive(); t++) {
        if (livePid(n.datadir) === children[i]!.pid) return true
        await new Promise((r) => setTimeout(r, 100))
      }
      return false
    }),
  )
  out(`povchain devnet: ${plan.nodes.length} nodes, chain id ${opts.chainId}, ${opts.slotSeconds} s slots — ${join(resolve(opts.dir), MANIFEST_FILE)}`)
  for (const [i, n] of manifest.nodes.entries())
    out(`  node${i}  ${ready[i] ? 'up  ' : `DOWN (${downReason(plan.nodes[i]!, children[i]!)})`}  rpc ${n.rpc}  ws ${n.ws}  p2p ${n.multiaddr}  producer ${n.producer}  log ${n.log}${opts.hostile?.has(i) ? `  HOSTILE: ${opts.hostile.get(i)}` : ''}`)
  out('Ctrl-C stops all nodes.')
  await done
}
