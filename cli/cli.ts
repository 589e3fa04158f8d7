#!/usr/bin/env node
import { registerFaucetCommand } from './faucet/FaucetCommand.js'
import './NodeVersionCheck.js'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import { BlockStore } from '../chain/BlockStore.js'
import { createChainCommon } from '../chain/ChainCommon.js'
import { openChainDB } from '../chain/Database.js'
import { bytesToHex, equalBytes } from '../common/bytes.js'
import { buildGenesis } from '../genesis/GenesisBuilder.js'
import { WorldState } from '../vm/WorldState.js'
import { registerComputeCommands } from '../compute/cli.js'
import { registerJobCommands } from './jobCommands.js'
import { registerAssetCommands } from './AssetCommand.js'
import { registerBountyCommands } from './BountyCommand.js'
import { addWorkerOptions, workerConfigFromOptions } from './workerFlags.js'
import { addAssetNodeOptions, assetConfigFromOptions } from './assetFlags.js'
import { registerBridgeCommands } from '../bridge/cli.js'
import { bridgeCliContext } from './bridgeCliContext.js'
import { registerAccountCommands } from './accountCommands.js'
import { registerValidatorCommands } from './ValidatorCommand.js'
import { applyConfigFile, dumpConfig } from './NodeConfigFile.js'
import { removePidFile, writePidFile } from './PidFile.js'
import { createLogger, type LogFormat } from '../node/logging.js'
import { defaultDatadir, type NodeConfig } from '../node/NodeConfig.js'
import { loadGenesis, PovNode, VERSION } from '../node/PovNode.js'
import { HOSTILE_MODES, parseHostileMode } from '../node/HostileValidator.js'

const int = (name: string) => (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`)
  return n
}
const bool = (name: string) => (v: string) => {
  if (v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  throw new InvalidArgumentError(`${name} must be true or false`)
}
const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean)

const program = new Command()
  .name('povchain')
  .description('povchain: a Proof-of-Value blockchain node — verified AI work elects the block producers')
  .version(VERSION)
  .showHelpAfterError()

addAssetNodeOptions(addWorkerOptions(program
  .command('node')
  .description('run a node (with --dev: a local dev chain that wallets and developer tools accept)')))
  .option('--dev', 'dev chain: chain id 31337, 20 funded accounts of the Hardhat mnemonic, automine', false)
  .option('--dev.period <seconds>', 'seal a block every N seconds instead of on each transaction', int('--dev.period'), 0)
  .option('--dev.hostile <mode>', `testing only: this validator attacks the network (${HOSTILE_MODES.join(' | ')}; slashable)`)
  .option('--datadir <dir>', 'data directory (default ~/.povchain/dev with --dev, ~/.povchain/main otherwise)')
  .option('--genesis <file>', 'genesis file for an empty datadir')
  .option('--http.addr <addr>', 'JSON-RPC HTTP listen address', '127.0.0.1')
  .option('--http.port <port>', 'JSON-RPC HTTP port', int('--http.port'), 8545)
  .option('--http.corsdomain <origins>', "comma-separated browser origins allowed to call the RPC ('*' for any; default none, '*' with --dev)", list)
  .option('--http.vhosts <names>', "comma-separated Host names the RPC answers, against DNS rebinding (IP addresses always; '*' for any)", list, ['localhost'])
  .option('--http.api <namespaces>', "namespaces served over HTTP: eth,net,web3,pov,txpool,debug,admin,personal (account signing) or '*' (default eth,net,web3,pov,txpool; all with --dev)", list)
  .option('--http.explorer [on]', 'serve the block and work explorer at /explorer on the HTTP port (true|false)', bool('--http.explorer'), true)
  .option('--no-http.explorer', 'do not serve the explorer')
  .option('--ws.addr <addr>', 'JSON-RPC WebSocket listen address', '127.0.0.1')
  .option('--ws.port <port>', 'JSON-RPC WebSocket port', int('--ws.port'), 8546)
  .option('--ws.origins <origins>', "comma-separated browser origins allowed to open a WebSocket ('*' for any; default none, '*' with --dev)", list)
  .option('--ws.api <namespaces>', 'namespaces served over WebSocket, as --http.api', list)
  .option('--rpc.gascap <gas>', 'gas cap of eth_call and eth_estimateGas', int('--rpc.gascap'), 50_000_000)
  .option('--rpc.batch-limit <n>', 'most requests in one JSON-RPC batch', int('--rpc.batch-limit'), 1000)
  .option('--rpc.max-body <bytes>', 'largest JSON-RPC request body', int('--rpc.max-body'), 5 * 1024 * 1024)
  .option('--rpc.logs-max-range <blocks>', 'widest eth_getLogs block range', int('--rpc.logs-max-range'), 10_000)
  .option('--txpool.globalslots <n>', 'executable transactions the pool holds', int('--txpool.globalslots'), 5120)
  .option('--txpool.accountslots <n>', 'executable transactions guaranteed per account', int('--txpool.accountslots'), 16)
  .option('--txpool.pricebump <percent>', 'fee bump a replacement needs', int('--txpool.pricebump'), 10)
  .option('--unlock <addresses>', "keystore accounts to unlock for eth_sendTransaction ('all' for every one)", list)
  .option('--password <file>', 'file with the keystore passwords, one per line')
  .option('--validator <address>', 'keystore account that produces blocks in its slots and signs finality votes (needs --password; with --worker it earns its weight)')
  .option('--producer <address>', 'older name of --validator')
  .option('--p2p.addr <addr>', 'P2P listen address (0.0.0.0: reachable by other machines; the RPC stays on --http.addr)', '0.0.0.0')
  .option('--p2p.port <port>', 'P2P TCP port (with --dev, giving it turns the network on)', int('--p2p.port'), 30333)
  .option('--bootnodes <multiaddrs>', 'comma-separated multiaddrs (/ip4/…/tcp/…/p2p/<peer id>) to connect to and keep connected', list)
  .option('--p2p.mdns', 'find peers on the local network by multicast DNS', false)
  .option('--maxpeers <n>', 'most peers to keep connected (0 turns the network off)', int('--maxpeers'), 50)
  .option('--nodiscover', 'connect only to --bootnodes (no mDNS, no dialling of peers learned from others)', false)
  .option('--log.level <level>', 'trace | debug | info | warn | error', 'info')
  .addOption(new Option('--log.format <format>', 'json (default when not a terminal) or pretty').choices(['json', 'pretty']))
  .option('--config <file>', 'TOML file with any of these flags without their dashes (flags given here win); `povchain dumpconfig` writes one')
  .addOption(new Option('--dumpconfig', 'print the effective settings as TOML and exit (also: povchain dumpconfig [flags])').hideHelp())
  .hook('preAction', (_program, cmd) => {
    const file = cmd.opts().config as string | undefined
    if (file) applyConfigFile(cmd, file)
  })
  .action(async (o: Record<string, unknown>, cmd: Command) => {
    if (o.dumpconfig) {
      process.stdout.write(dumpConfig(cmd))
      return
    }
    const log = createLogger({ level: o['log.level'] as string, format: o['log.format'] as LogFormat | undefined })
    const dev = Boolean(o.dev)
    // A dev chain is a private one: no P2P unless asked for with --p2p.port. Elsewhere on unless --maxpeers 0.
    const p2pOn = (o.maxpeers as number) > 0 && (!dev || ['cli', 'config'].includes(cmd.getOptionValueSource('p2p.port') ?? ''))
    const cfg: NodeConfig = {
      dev,
      datadir: (o.datadir as string | undefined) ?? defaultDatadir(dev),
      genesisFile: o.genesis as string | undefined,
      devPeriod: o['dev.period'] as number,
      unlock: o.unlock ? ((o.unlock as string[])[0] === 'all' ? 'all' : (o.unlock as string[])) : undefined,
      passwordFile: o.password as string | undefined,
      txpool: { globalSlots: o['txpool.globalslots'] as number, accountSlots: o['txpool.accountslots'] as number, priceBumpPercent: o['txpool.pricebump'] as number },
      logLevel: o['log.level'] as string,
      rpc: {
        httpAddr: o['http.addr'] as string,
        httpPort: o['http.port'] as number,
        wsAddr: o['ws.addr'] as string,
        wsPort: o['ws.port'] as number,
        // Unset ones take rpc/'s closed defaults, or what --dev opens (node/DevRpcOpenings.ts).
        corsOrigins: o['http.corsdomain'] as string[] | undefined,
        wsOrigins: o['ws.origins'] as string[] | undefined,
        vhosts: o['http.vhosts'] as string[],
        httpApi: o['http.api'] as string[] | undefined,
        wsApi: o['ws.api'] as string[] | undefined,
        gasCap: BigInt(o['rpc.gascap'] as number),
        // commander camel-cases the dashed part of a flag: --rpc.batch-limit → 'rpc.batchLimit'
        maxBatchLength: o['rpc.batchLimit'] as number,
        maxBodyBytes: o['rpc.maxBody'] as number,
        logsMaxBlockRange: o['rpc.logsMaxRange'] as number,
      },
      explorer: o['http.explorer'] !== false,
      p2p: p2pOn
        ? {
            listenAddr: o['p2p.addr'] as string,
            port: o['p2p.port'] as number,
            bootnodes: (o.bootnodes as string[] | undefined) ?? [],
            mdns: Boolean(o['p2p.mdns']),
            maxPeers: o.maxpeers as number,
            discovery: !o.nodiscover,
          }
        : undefined,
      producer: (o.validator ?? o.producer) as string | undefined,
      worker: workerConfigFromOptions(o, dev),
      assets: assetConfigFromOptions(o),
      ...(o['dev.hostile'] ? { hostile: parseHostileMode(o['dev.hostile'] as string) } : {}),
    }
    const node = new PovNode(cfg, log)
    let stopping = false
    const shutdown = (signal: string) => {
      if (stopping) return
      stopping = true
      log.info({ signal }, 'shutting down')
      node
        .stop()
        .then(() => {
          removePidFile(cfg.datadir)
          log.info('stopped cleanly')
          setTimeout(() => process.exit(0), 50)
        })
        .catch((e: Error) => {
          log.error({ err: e.message }, 'shutdown failed')
          process.exit(1)
        })
    }
    process.on('SIGINT', () => shutdown('SIGINT'))
    process.on('SIGTERM', () => shutdown('SIGTERM'))
    try {
      await node.start()
    } catch (e) {
      log.error({ err: (e as Error).message }, 'node failed to start')
      await node.stop().catch(() => {})
      setTimeout(() => process.exit(1), 50)
      return
    }
    writePidFile(cfg.datadir)
    const head = node.store.head()
    const p2p = node.network?.multiaddrs() ?? []
    log.info(
      { datadir: cfg.datadir, http: node.httpUrl, ws: node.wsUrl, chainId: Number(node.backend.chainId), head: Number(head.number), dev, peerId: node.network?.peerId, p2p },
      `povchain ${VERSION} running — datadir ${cfg.datadir}, JSON-RPC ${node.httpUrl ?? 'off'}, WebSocket ${node.wsUrl ?? 'off'}, P2P ${p2p[0] ?? 'off'}`,
    )
    if (node.httpUrl && cfg.explorer !== false) log.info({ explorer: `${node.httpUrl}/explorer/` }, `explorer: open ${node.httpUrl}/ in a browser`)
    if (dev) {
      const accts = node.backend.accounts().map((a) => bytesToHex(a))
      log.info({ accounts: accts.length, first: accts[0] }, 'dev accounts unlocked (mnemonic: test test … junk, 10000 coins each)')
    }
  })

program
  .command('init')
  .description('initialise a data directory from a genesis file')
  .requiredOption('--genesis <file>', 'genesis JSON file')
  .option('--datadir <dir>', 'data directory', defaultDatadir(false))
  .action(async (o: { genesis: string; datadir: string }) => {
    const spec = loadGenesis({ dev: false, genesisFile: o.genesis })
    mkdirSync(o.datadir, { recursive: true })
    const db = await openChainDB(join(o.datadir, 'chaindata'))
    try {
      const common = createChainCommon(spec.chainId)
      const store = new BlockStore(db, common)
      const state = new WorldState(db, common, store)
      const g = await buildGenesis(spec, state)
      if (await store.open()) {
        const stored = await store.genesisHash()
        if (stored && equalBytes(stored, g.block.hash())) {
          console.log(`already initialised: ${o.datadir} holds genesis ${bytesToHex(stored)}`)
          return
        }
        throw new Error(`${o.datadir} already holds a different chain (genesis ${stored ? bytesToHex(stored) : '?'})`)
      }
      await store.initGenesis(g.block, g.stateOps)
      console.log(`initialised ${o.datadir}\n  chain id     ${spec.chainId}\n  genesis hash ${bytesToHex(g.block.hash())}\n  state root   ${bytesToHex(g.block.header.stateRoot)}\n  accounts     ${spec.alloc.length}`)
    } finally {
      await db.close()
    }
  })

program
  .command('devnet')
  .description('run a local network of N producer nodes on 127.0.0.1 (created in --dir on first use, reused after)')
  .requiredOption('--nodes <n>', 'number of nodes (each one a producer)', int('--nodes'))
  .option('--dir <dir>', 'directory of the devnet (genesis, datadirs, devnet.json)', 'devnet')
  .option('--slot-seconds <s>', 'slot length of a new devnet', int('--slot-seconds'), 2)
  .option('--epoch-length <slots>', 'slots per epoch of a new devnet (validator-set rotation)', int('--epoch-length'), 32)
  .option('--chain-id <id>', 'chain id of a new devnet', int('--chain-id'), 31338)
  .option('--log.level <level>', 'log level of the nodes (their logs go to <datadir>/node.log)', 'info')
  .option('--http.port <port>', 'JSON-RPC port of node 0 of a new devnet; node i gets port + i (default: free ports)', int('--http.port'))
  .option('--ws.port <port>', 'WebSocket port of node 0 of a new devnet; node i gets port + i (default: free ports)', int('--ws.port'))
  .option('--p2p.port <port>', 'P2P port of node 0 of a new devnet; node i gets port + i (default: free ports)', int('--p2p.port'))
  .option('--hostile <index:mode>', `testing only: node INDEX plays a byzantine validator (${HOSTILE_MODES.join(' | ')}); repeatable`, (v: string, acc: string[] = []) => [...acc, v])
  .action(async (o: Record<string, unknown>) => {
    const { runDevnet } = await import('./devnet.js')
    if ((o.nodes as number) < 1) throw new InvalidArgumentError('--nodes must be at least 1')
    const hostile = new Map<number, string>()
    for (const h of (o.hostile as string[] | undefined) ?? []) {
      const [i, mode] = h.split(':')
      const index = Number(i)
      if (!Number.isInteger(index) || index < 0 || index >= (o.nodes as number) || !mode) throw new InvalidArgumentError(`--hostile takes INDEX:MODE with INDEX below --nodes, not '${h}'`)
      hostile.set(index, parseHostileMode(mode))
    }
    await runDevnet(
      { nodes: o.nodes as number, dir: o.dir as string, slotSeconds: Math.max(1, o.slotSeconds as number), epochLength: Math.max(1, o.epochLength as number), chainId: o.chainId as number, logLevel: o['log.level'] as string, hostile, basePorts: { http: o['http.port'] as number | undefined, ws: o['ws.port'] as number | undefined, p2p: o['p2p.port'] as number | undefined } },
      createLogger({ level: 'info' }),
    )
    setTimeout(() => process.exit(0), 50)
  })

program
  .command('image')
  .description('the node as a container image')
  .command('build')
  .description('build the node image locally (no registry, no internet; the same digest for the same files on every host) and load it into Docker')
  .option('--tag <repository:tag>', 'name of the image (default povchain/node:<version>)')
  .option('--json', 'print one JSON object')
  .action(async (o: { tag?: string; json?: boolean }) => {
    try {
      const { buildNodeImage, NODE_IMAGE_DATADIR } = await import('./NodeImage.js')
      const { DockerRuntime } = await import('../compute/index.js')
      const docker = new DockerRuntime({})
      const probe = await docker.probe()
      if (!probe.available) throw new Error(`no Docker engine answers (${probe.reason ?? 'unreachable'}): start one, or set DOCKER_HOST`)
      const [repository, tag] = (o.tag ?? '').split(':')
      if (!o.json) console.error('collecting the node, its dependencies and the Node binary, and loading them into Docker…')
      const t0 = performance.now()
      const built = await buildNodeImage(docker.docker, { ...(repository ? { repository } : {}), ...(tag ? { tag } : {}) })
      const name = `${repository || 'povchain/node'}:${tag || built.version}`
      if (o.json) console.log(JSON.stringify({ ok: true, ...built, name }))
      else
        console.log(
          `${name}  (${built.reference})\n  image id ${built.id}\n  ${(built.bytes / 1e6).toFixed(0)} MB in ${built.files} files, ${built.packages} packages, ${((performance.now() - t0) / 1000).toFixed(0)} s\n` +
            `  run a dev chain:  docker run --rm --network host -v povchain-data:${NODE_IMAGE_DATADIR} ${name} node --dev --datadir ${NODE_IMAGE_DATADIR}\n` +
            `  join a network:   docker run -d --network host -v povchain-data:${NODE_IMAGE_DATADIR} -v $PWD/genesis.json:/genesis.json:ro ${name} node --genesis /genesis.json --datadir ${NODE_IMAGE_DATADIR} --bootnodes …`,
        )
    } catch (e) {
      console.error(`error: ${(e as Error).message}`)
      process.exitCode = 1
    }
  })

const network = program.command('network').description('public test networks: write the kit that starts one')
network
  .command('new')
  .description('write a test network kit: genesis, validator bundles (keys, node key, config, start.sh), bootnodes, faucet and issuer keys, a README for people who join')
  .requiredOption('--validators <n>', 'genesis validators', int('--validators'))
  .requiredOption('--chain-id <id>', 'chain id of the network (pick one no other chain uses)', int('--chain-id'))
  .requiredOption('--out <dir>', 'directory to write the kit to (new or empty)')
  .option('--hosts <hosts>', "public IP or DNS name of each validator, comma-separated; one host for all runs them side by side on it (ports + i)", list, ['127.0.0.1'])
  .option('--p2p.port <port>', 'P2P port of the validators (validator i: port + i on a shared host)', int('--p2p.port'), 30333)
  .option('--http.port <port>', "JSON-RPC port of the validators' nodes (same rule; WebSocket: port + 1000)", int('--http.port'), 8545)
  .option('--slot-seconds <s>', 'slot length', int('--slot-seconds'), 4)
  .option('--epoch-length <slots>', 'slots per epoch', int('--epoch-length'), 32)
  .option('--genesis-time <unix>', 'unix seconds of slot 0 (default: now); set it ahead to give operators time to start', int('--genesis-time'))
  .action(async (o: Record<string, unknown>) => {
    const { createTestnetKit } = await import('./TestnetKit.js')
    try {
      const kit = await createTestnetKit({
        out: o.out as string,
        validators: o.validators as number,
        chainId: o.chainId as number,
        hosts: o.hosts as string[],
        p2pPort: o['p2p.port'] as number,
        httpPort: o['http.port'] as number,
        slotSeconds: Math.max(1, o.slotSeconds as number),
        epochLength: Math.max(1, o.epochLength as number),
        ...(o.genesisTime !== undefined ? { genesisTime: o.genesisTime as number } : {}),
      })
      const lines = [
        `wrote a test network kit for chain ${kit.chainId} to ${kit.dir}`,
        `  genesis     ${kit.genesis}`,
        `  bootnodes   ${join(kit.dir, 'bootnodes.txt')}`,
        ...kit.validators.map((v) => `  validator ${v.index} ${v.address}  ${v.multiaddr}  (bundle: ${v.dir}, start: ${join(v.dir, 'start.sh')})`),
        `  faucet      ${kit.faucet.address}  (key: ${kit.faucet.dir}; run: povchain faucet --rpc URL --keystore ${join(kit.faucet.dir, 'keystore')} --password ${join(kit.faucet.dir, 'password.txt')})`,
        `  issuer      ${kit.issuer.address}  (key: ${kit.issuer.dir})`,
        `  README      ${join(kit.dir, 'README.md')} (for people who join: publish it with genesis.json and bootnodes.txt; the key folders are secret)`,
      ]
      console.log(lines.join('\n'))
    } catch (e) {
      console.error(`error: ${(e as Error).message}`)
      process.exitCode = 1
    }
  })

const commandLogger = createLogger({ level: 'warn' })
registerAccountCommands(program, { logger: commandLogger })
registerComputeCommands(program, { logger: commandLogger })
registerJobCommands(program, { logger: commandLogger })
registerValidatorCommands(program)
registerAssetCommands(program, { logger: commandLogger })
registerBountyCommands(program, { logger: commandLogger })
registerBridgeCommands(program, bridgeCliContext())
registerFaucetCommand(program)

// `povchain dumpconfig [node flags]` is `povchain node [node flags] --dumpconfig`, as Geth's dumpconfig takes the node's flags.
const argv = process.argv[2] === 'dumpconfig' ? [...process.argv.slice(0, 2), 'node', ...process.argv.slice(3), '--dumpconfig'] : process.argv
program.parseAsync(argv).catch((e: Error) => {
  console.error(`error: ${e.message}`)
  process.exit(1)
})
