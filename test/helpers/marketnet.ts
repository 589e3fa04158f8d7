/**
 * A small work-market network of real node processes on 127.0.0.1 for the multi-node tests:
 * one genesis (the dev preset's accounts and WorkMarket, one block producer), and per member a
 * datadir with its own keystore identity (funded in genesis), password file, node key and p2p
 * port, so every multiaddr is known before any process starts. Members are started as
 * `povchain node --genesis …` processes wired by bootnodes.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Address } from 'viem'
import { getAddress } from 'viem'
import { bytesToHex } from '../../common/bytes.js'
import { Keystore, TEST_SCRYPT } from '../../accounts/Keystore.js'
import { devnetGenesis } from '../../cli/devnet.js'
import { freePort } from '../../cli/FreePort.js'
import { loadOrCreateNodeKey } from '../../network/NodeIdentity.js'
import { startNodeProcess, type NodeProcess } from './devnode.js'

const ETHER = 10n ** 18n

export interface MarketNetMember {
  name: string
  address: Address
  datadir: string
  password: string
  /** Fixed in advance (node key in the datadir, a free port) so nodes can be started together. */
  multiaddr: string
  p2pPort: number
}

export interface MarketNetPlan {
  chainId: number
  genesis: string
  producer: MarketNetMember
  members: Record<string, MarketNetMember>
}

/** Writes the genesis and one keystore identity per name (the first one is the block producer). */
export async function planMarketNet(dir: string, names: string[], opts: { chainId?: number; slotSeconds?: number; fundEach?: bigint } = {}): Promise<MarketNetPlan> {
  const members: Record<string, MarketNetMember> = {}
  for (const name of names) {
    const datadir = join(dir, name)
    mkdirSync(datadir, { recursive: true })
    const pw = randomBytes(8).toString('hex')
    const password = join(datadir, 'password.txt')
    writeFileSync(password, `${pw}\n`, { mode: 0o600 })
    // Test-strength scrypt: these keys guard nothing, and unlocking them must not slow the start.
    const entry = await new Keystore(join(datadir, 'keystore'), { scrypt: TEST_SCRYPT }).newAccount(pw)
    const { peerId } = await loadOrCreateNodeKey(datadir)
    const p2pPort = await freePort()
    members[name] = { name, address: getAddress(bytesToHex(entry.address)) as Address, datadir, password, p2pPort, multiaddr: `/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${peerId}` }
  }
  const producer = members[names[0]!]!
  const chainId = opts.chainId ?? 31338
  const g = devnetGenesis({ producers: [producer.address.toLowerCase()], slotSeconds: opts.slotSeconds ?? 1, chainId, timestamp: Math.floor(Date.now() / 1000) })
  for (const m of Object.values(members)) g.alloc[m.address.toLowerCase()] = { balance: `0x${((opts.fundEach ?? 100n) * ETHER).toString(16)}` }
  const genesis = join(dir, 'genesis.json')
  writeFileSync(genesis, JSON.stringify(g, null, 2))
  return { chainId, genesis, producer, members }
}

export interface MarketNode extends NodeProcess {
  member: MarketNetMember
}

/**
 * Starts one member as a node process: `--producer` for the plan's producer, `--worker` with its
 * identity unlocked when `worker` is set, dialling `bootnodes` only (--nodiscover).
 */
export async function startMarketNode(
  plan: MarketNetPlan,
  name: string,
  opts: { bootnodes?: string[]; worker?: boolean; args?: string[]; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<MarketNode> {
  const m = plan.members[name]!
  const isProducer = m === plan.producer
  const args = [
    '--genesis', plan.genesis,
    '--p2p.addr', '127.0.0.1', '--p2p.port', String(m.p2pPort), '--nodiscover',
    ...(opts.bootnodes?.length ? ['--bootnodes', opts.bootnodes.join(',')] : []),
    '--password', m.password,
    ...(isProducer ? ['--producer', m.address] : []),
    // Outside --dev unlocked accounts sign over RPC only when `personal` is served (the tests send with them).
    '--http.api', 'eth,net,web3,pov,txpool,admin,debug,personal',
    ...(opts.worker ? ['--unlock', m.address, '--worker', '--worker.account', m.address, '--worker.runtime', 'embedded', '--worker.capacity', '100'] : []),
    ...(opts.args ?? []),
  ]
  const p = await startNodeProcess({ datadir: m.datadir, dev: false, args, ...(opts.env ? { env: opts.env } : {}), timeoutMs: opts.timeoutMs ?? 60_000 })
  return Object.assign(p, { member: m })
}

/** The samples of one counter on a node's /metrics, by its label set rendered as `k="v",…`. */
export async function scrapeCounter(httpUrl: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${httpUrl.replace(/\/$/, '')}/metrics`)).text()
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^(\w+)(?:\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line)
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]))
  }
  return out
}
