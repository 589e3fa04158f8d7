import { randomBytes } from 'node:crypto'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import { stringify } from 'smol-toml'
import { bytesToHex } from '../common/bytes.js'
import { Keystore, type ScryptParams } from '../accounts/Keystore.js'
import { loadOrCreateNodeKey } from '../network/NodeIdentity.js'
import { testnetGenesis, TESTNET_FAUCET_BALANCE, TESTNET_ISSUER_BALANCE, TESTNET_VALIDATOR_BALANCE } from '../genesis/TestnetGenesis.js'
import { NodeError } from '../node/errors.js'

export interface TestnetKitOptions {
  out: string
  validators: number
  chainId: number
  /** Public host (IP or DNS name) of each validator; one host for all is a one-machine trial. */
  hosts: string[]
  /** P2P port of validator 0; on a shared host validator i takes p2pPort + i. */
  p2pPort: number
  /** JSON-RPC HTTP port of validator 0 (same rule); WebSocket = httpPort + 1000. */
  httpPort: number
  slotSeconds: number
  epochLength: number
  /** Unix seconds of slot 0 (default now). */
  genesisTime?: number
  /** KDF of the generated keystores (tests use a light one; real kits the standard). */
  scrypt?: ScryptParams
}

export interface TestnetKitValidator {
  index: number
  dir: string
  address: string
  peerId: string
  host: string
  p2pPort: number
  httpPort: number
  multiaddr: string
}

export interface TestnetKit {
  dir: string
  chainId: number
  genesis: string
  bootnodes: string[]
  validators: TestnetKitValidator[]
  faucet: { dir: string; address: string }
  issuer: { dir: string; address: string }
}

/** The multiaddr peers dial: /ip4 or /ip6 for an address, /dns4 for a name. */
export function hostMultiaddr(host: string, port: number, peerId: string): string {
  const proto = isIP(host) === 6 ? 'ip6' : isIP(host) === 4 ? 'ip4' : 'dns4'
  return `/${proto}/${host}/tcp/${port}/p2p/${peerId}`
}

/** A key in its own keystore directory with a random password beside it (0600). */
async function generatedKey(dir: string, scrypt: ScryptParams | undefined): Promise<{ address: string; password: string }> {
  mkdirSync(dir, { recursive: true })
  const password = randomBytes(24).toString('base64url')
  writeFileSync(join(dir, 'password.txt'), `${password}\n`, { mode: 0o600 })
  const entry = await new Keystore(join(dir, 'keystore'), scrypt ? { scrypt } : {}).newAccount(password)
  return { address: bytesToHex(entry.address), password }
}

/**
 * `povchain network new`: everything a public test network needs, in one directory.
 *
 * - `genesis.json`, `bootnodes.txt` (one multiaddr a line), `network.json` (the facts as JSON),
 *   `README.md` (for people who join: init, bootnodes, sync, worker, validator, faucet);
 * - `validator-<i>/` per genesis validator, a bundle to copy to its machine as is: its producer
 *   key (keystore + password file), its libp2p node key (fixed peer id, so the bootnode
 *   multiaddrs stay true), a copy of the genesis, `node.toml` and `start.sh`;
 * - `faucet/` and `issuer/`: the keys of the faucet (`povchain faucet`) and of the work market's
 *   control issuer, both funded at genesis.
 *
 * Secrets are written 0600 and never printed. Refuses a directory that already holds files, so
 * a second run cannot overwrite the keys of a network that runs.
 */
export async function createTestnetKit(o: TestnetKitOptions): Promise<TestnetKit> {
  if (o.validators < 1) throw new NodeError('BAD_ARGUMENT', '--validators must be at least 1')
  if (o.hosts.length !== 1 && o.hosts.length !== o.validators)
    throw new NodeError('BAD_ARGUMENT', `--hosts names ${o.hosts.length} hosts for ${o.validators} validators: give one host for all, or one per validator`)
  const dir = resolve(o.out)
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new NodeError('KIT_EXISTS', `${dir} is not empty: a kit holds the keys of a network; write a new one to an empty or new directory`)
  mkdirSync(dir, { recursive: true })
  const shared = o.hosts.length === 1
  const validators: TestnetKitValidator[] = []
  for (let i = 0; i < o.validators; i++) {
    const vdir = join(dir, `validator-${i}`)
    const { address } = await generatedKey(vdir, o.scrypt)
    const { peerId } = await loadOrCreateNodeKey(vdir)
    const host = shared ? o.hosts[0]! : o.hosts[i]!
    const p2pPort = shared ? o.p2pPort + i : o.p2pPort
    validators.push({ index: i, dir: vdir, address, peerId, host, p2pPort, httpPort: shared ? o.httpPort + i : o.httpPort, multiaddr: hostMultiaddr(host, p2pPort, peerId) })
  }
  const faucet = { dir: join(dir, 'faucet'), ...(await generatedKey(join(dir, 'faucet'), o.scrypt)) }
  const issuer = { dir: join(dir, 'issuer'), ...(await generatedKey(join(dir, 'issuer'), o.scrypt)) }
  const genesis = testnetGenesis({
    chainId: o.chainId,
    validators: validators.map((v) => v.address as `0x${string}`),
    faucet: { address: faucet.address as `0x${string}`, balance: TESTNET_FAUCET_BALANCE },
    issuer: { address: issuer.address as `0x${string}`, balance: TESTNET_ISSUER_BALANCE },
    validatorBalance: TESTNET_VALIDATOR_BALANCE,
    slotSeconds: o.slotSeconds,
    epochLength: o.epochLength,
    timestamp: o.genesisTime ?? Math.floor(Date.now() / 1000),
  })
  const genesisPath = join(dir, 'genesis.json')
  writeFileSync(genesisPath, JSON.stringify(genesis, null, 2) + '\n')
  const bootnodes = validators.map((v) => v.multiaddr)
  writeFileSync(join(dir, 'bootnodes.txt'), bootnodes.join('\n') + '\n')
  for (const v of validators) {
    copyFileSync(genesisPath, join(v.dir, 'genesis.json'))
    // Paths relative to the bundle: start.sh runs the node from inside it, wherever it was copied.
    const config = {
      genesis: 'genesis.json',
      datadir: '.',
      validator: v.address,
      password: 'password.txt',
      bootnodes: validators.filter((w) => w !== v).map((w) => w.multiaddr),
      nodiscover: shared,
      p2p: { addr: shared ? '127.0.0.1' : '0.0.0.0', port: v.p2pPort },
      http: { addr: '127.0.0.1', port: v.httpPort },
      ws: { addr: '127.0.0.1', port: v.httpPort + 1000 },
    }
    if (config.bootnodes.length === 0) delete (config as { bootnodes?: string[] }).bootnodes
    writeFileSync(join(v.dir, 'node.toml'), `# validator ${v.index} of chain ${o.chainId}: povchain node --config node.toml (run from this directory)\n${stringify(config)}\n`)
    const start = join(v.dir, 'start.sh')
    writeFileSync(start, `#!/bin/sh\n# Starts validator ${v.index} (${v.address}) of chain ${o.chainId}; POVCHAIN overrides the command (default: povchain on PATH).\ncd "$(dirname "$0")" && exec \${POVCHAIN:-povchain} node --config node.toml "$@"\n`)
    chmodSync(start, 0o755)
  }
  const kit: TestnetKit = {
    dir,
    chainId: o.chainId,
    genesis: genesisPath,
    bootnodes,
    validators,
    faucet: { dir: faucet.dir, address: faucet.address },
    issuer: { dir: issuer.dir, address: issuer.address },
  }
  writeFileSync(
    join(dir, 'network.json'),
    JSON.stringify(
      {
        chainId: o.chainId,
        slotSeconds: o.slotSeconds,
        epochLength: o.epochLength,
        genesisTime: genesis.timestamp,
        bootnodes,
        validators: validators.map((v) => ({ index: v.index, address: v.address, peerId: v.peerId, multiaddr: v.multiaddr })),
        faucet: faucet.address,
        controlIssuer: issuer.address,
      },
      null,
      2,
    ) + '\n',
  )
  writeFileSync(join(dir, 'README.md'), joinersReadme(kit, o))
  return kit
}

function joinersReadme(kit: TestnetKit, o: TestnetKitOptions): string {
  const boot = kit.bootnodes.join(',')
  return `# povchain test network ${kit.chainId}

Written by \`povchain network new\`. Chain id **${kit.chainId}**, slots of ${o.slotSeconds} s,
${o.epochLength} slots an epoch, ${kit.validators.length} genesis validator(s).

| file | what it is | share it? |
|---|---|---|
| \`genesis.json\` | the chain's first block: every node of the network needs the same file | public |
| \`bootnodes.txt\` | the validators' multiaddrs, one a line | public |
| \`network.json\` | chain id, validators, bootnodes, faucet address as JSON | public |
| \`validator-<i>/\` | validator i's bundle: producer key, node key, config, \`start.sh\` | **secret**: copy to validator i's machine only |
| \`faucet/\` | the faucet's key (${TESTNET_FAUCET_BALANCE / 10n ** 18n} coins at genesis) | **secret**: the faucet operator's |
| \`issuer/\` | the work market's control issuer key (plants hidden traps that keep verifiers honest) | **secret** |

Publish \`genesis.json\`, \`bootnodes.txt\` and this README; keep the rest off any public place.

## Operators: start the genesis validators

Copy \`validator-<i>/\` to validator i's machine (host ${kit.validators.map((v) => `${v.index}: \`${v.host}\``).join(', ')}), open its P2P
port (TCP ${kit.validators.map((v) => v.p2pPort).join(', ')}) and run:

    ./start.sh            # = povchain node --config node.toml, from inside the bundle

The node keeps its chain in the bundle directory (\`chaindata/\`), unlocks its producer key
with \`password.txt\` and dials the other validators. Its JSON-RPC listens on 127.0.0.1 only;
put a reverse proxy in front (or set \`http.addr\` and \`http.vhosts\` in \`node.toml\`) to serve
the public.

## Everyone else: join

1. Install povchain (\`npm install && npm run build\` in a clone; \`node dist/cli/cli.js\` is \`povchain\`).
2. Start a node with this genesis and the bootnodes; it syncs from the validators:

       povchain node --genesis genesis.json --datadir ~/.povchain/testnet-${kit.chainId} \\
         --bootnodes ${boot}

   (\`povchain init --genesis genesis.json --datadir …\` writes the genesis alone first, if you
   want to check its hash: every node of this network prints the same one.)
3. Watch it catch up: \`eth_blockNumber\` on http://127.0.0.1:8545 reaches the validators' head,
   and \`pov_syncing\`/the log says when it is in step. Wallets (MetaMask, ethers, viem) and
   Hardhat/Foundry connect to that URL with chain id ${kit.chainId}.
4. Test coins: ask the faucet (its operator runs
   \`povchain faucet --rpc <node> --keystore faucet/keystore --password faucet/password.txt\`
   and publishes its URL).

## Become a worker, then a validator

- **Worker:** create a key (\`povchain account new\`), get coins from the faucet, restart your
  node with \`--worker --worker.account <address> --unlock <address> --password <file>\`: it bonds, registers and takes jobs
  of the work market (Docker jobs need a Docker engine). \`povchain worker status\` shows its bond,
  jobs and receipts.
- **Validator:** every accepted job earns weight; bond in the ValidatorSet with
  \`povchain validator bond --amount <coins> --keystore <file>\` and run with
  \`--validator <address>\`. From the next epoch the node is elected in proportion to its weight
  (\`povchain validator status\` shows the share). The main README explains the numbers.
`
}
