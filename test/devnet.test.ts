/**
 * `povchain devnet` with real processes: three producer nodes on 127.0.0.1 wired by bootnodes.
 * - they mesh, agree on the head, and a transaction sent to one is mined and seen by all;
 * - a misbehaving peer (garbage gossip) is banned by the node it talks to, which keeps going;
 * - a node killed with SIGKILL is restarted with the command in devnet.json and catches up;
 *   meanwhile the backups fill its slots;
 * - a fresh node started late syncs from genesis to the head;
 * - Ctrl-C (SIGINT) on the devnet stops every node.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createChainCommon } from '../chain/ChainCommon.js'
import { BlockHeader } from '../chain/Header.js'
import { bytesToHex } from '../common/bytes.js'
import type { DevnetManifest } from '../cli/devnet.js'
import { ROOT, rpc, rpcRaw, tempDir, waitFor } from './helpers/devnode.js'
import { startRogue, transferTx } from './helpers/netcluster.js'

const CHAIN_ID = 31338n
const tmp = tempDir('povchain-devnet-')
const procs: ChildProcess[] = []
t.teardown(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  tmp.cleanup()
})

interface RpcBlock {
  number: string
  hash: string
}
const head = (url: string) => rpc<RpcBlock>(url, 'eth_getBlockByNumber', ['latest', false])
const blockHash = async (url: string, n: number) => (await rpc<RpcBlock | null>(url, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false]))?.hash
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function spawnLogged(argv: string[]): ChildProcess {
  const p = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
  procs.push(p)
  return p
}

/** Waits until every URL reports a head ≥ `min` and they agree on the block below the lowest head. */
async function agree(urls: string[], min: number, what: string, timeoutMs = 30_000): Promise<number> {
  return waitFor(
    async () => {
      const heads = await Promise.all(urls.map(async (u) => Number((await head(u)).number)))
      const low = Math.min(...heads)
      if (low < min) return false
      const hashes = await Promise.all(urls.map((u) => blockHash(u, low - 1)))
      return new Set(hashes).size === 1 ? low : false
    },
    what,
    timeoutMs,
    250,
  )
}

t.test('a three-node devnet survives a kill, a rogue peer and a late joiner', async (t) => {
  const dir = join(tmp.dir, 'net')
  const devnet = spawnLogged([process.execPath, '--import', 'tsx', join(ROOT, 'cli', 'cli.ts'), 'devnet', '--nodes', '3', '--dir', dir, '--slot-seconds', '2'])
  let devnetOut = ''
  devnet.stderr!.on('data', (d: Buffer) => (devnetOut += d.toString()))
  const manifestPath = join(dir, 'devnet.json')
  await waitFor(() => existsSync(manifestPath), 'devnet.json', 90_000, 100) // three processes start and answer: 30–40 s on a loaded 2-core machine
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as DevnetManifest
  t.equal(m.nodes.length, 3)
  for (const n of m.nodes) {
    t.ok(n.pid && alive(n.pid), `node${n.index} has a live pid`)
    t.match(n.multiaddr, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo/)
    t.match(n.command, /cli\.ts node --genesis .* --producer 0x[0-9a-f]{40} /)
  }
  const urls = m.nodes.map((n) => n.rpc)
  await waitFor(async () => (await Promise.all(urls.map((u) => rpc<string>(u, 'net_peerCount')))).every((c) => c === '0x2'), 'full mesh', 40_000, 250)
  const info = await rpc<{ id: string; listenAddrs: string[] }>(urls[0]!, 'admin_nodeInfo')
  t.equal(info.id, m.nodes[0]!.peerId, 'admin_nodeInfo names the node key')
  await agree(urls, 3, 'three agreed blocks')

  // A second devnet on the same directory refuses to start (its nodes would die on the locked
  // datadirs while the running ones answer on the same ports, and be reported up).
  const second = spawnLogged([process.execPath, '--import', 'tsx', join(ROOT, 'cli', 'cli.ts'), 'devnet', '--nodes', '3', '--dir', dir])
  let secondErr = ''
  second.stderr!.on('data', (d: Buffer) => (secondErr += d.toString()))
  await waitFor(() => second.exitCode !== null, 'the second devnet to exit', 60_000, 100)
  t.equal(second.exitCode, 1, 'a second devnet on a running one exits 1')
  t.match(secondErr, /already running: node0 \(pid \d+\), node1 \(pid \d+\), node2 \(pid \d+\)/, `it says which nodes run: ${secondErr.slice(-300)}`)
  for (const n of m.nodes) t.ok(alive(n.pid!), `node${n.index} of the first devnet still runs`)

  // A transaction sent to node 2 is mined and visible everywhere.
  const tx = transferTx(CHAIN_ID, 3, 0n, new Uint8Array(20).fill(9), 777n)
  const hash = await rpc<string>(urls[2]!, 'eth_sendRawTransaction', [bytesToHex(tx.serialize())])
  await Promise.all(urls.map((u) => waitFor(() => rpc<{ blockHash: string } | null>(u, 'eth_getTransactionReceipt', [hash]), 'receipt', 20_000, 200)))
  // A competing block in an adjacent slot can hold the tx on one node for a moment; fork choice
  // must settle every node on one block.
  await waitFor(async () => {
    const rs = await Promise.all(urls.map((u) => rpc<{ blockHash: string } | null>(u, 'eth_getTransactionReceipt', [hash])))
    return rs.every((r) => r) && new Set(rs.map((r) => r!.blockHash)).size === 1
  }, 'the transaction in the same block on all nodes', 20_000, 200)
  t.pass('the transaction is in the same block on all nodes')

  // A rogue peer sending garbage on the blocks topic is banned by node 0; nothing stalls.
  const genesis = await rpcRaw<{ hash: string }>(urls[0]!, 'eth_getBlockByNumber', ['0x0', false])
  const genesisHeader = await headerOf(m.nodes[0]!.datadir, genesis.result!.hash)
  const rogue = await startRogue({ chainId: CHAIN_ID, genesis: genesisHeader, bootnodes: [m.nodes[0]!.multiaddr], common: createChainCommon(CHAIN_ID) })
  t.teardown(() => rogue.stop())
  await waitFor(async () => (await rpc<{ id: string }[]>(urls[0]!, 'admin_peers')).some((p) => p.id === rogue.peerId), 'rogue admitted', 15_000, 100)
  await waitFor(() => rogue.host.libp2p.services.pubsub.getSubscribers(rogue.gossip.topics.blocks).length > 0, 'rogue in the mesh', 15_000, 100)
  for (let i = 0; i < 3; i++) await rogue.gossip.publish('blocks', new Uint8Array([0x0a, 0xff, 0xff, 0xff, i]))
  await waitFor(async () => !(await rpc<{ id: string }[]>(urls[0]!, 'admin_peers')).some((p) => p.id === rogue.peerId), 'rogue dropped', 15_000, 100)
  t.match(readFileSync(m.nodes[0]!.log, 'utf8'), new RegExp(`"peer":"${rogue.peerId}","reason":"[^"]*malformed`), 'node0 logged the ban and its reason')
  await waitFor(() => rogue.peerCount() === 0, 'rogue kept out', 10_000, 100)

  // SIGKILL node 1; the others go on (backups fill its slots); the restart command brings it back.
  const n1 = m.nodes[1]!
  process.kill(n1.pid!, 'SIGKILL')
  await waitFor(() => !alive(n1.pid!), 'node1 dead', 5_000, 50)
  const before = Number((await head(urls[0]!)).number)
  await agree([urls[0]!, urls[2]!], before + 4, 'chain advances without node1', 30_000)
  // Slots that node1 leads (drawn by weight from the epoch seed) are sealed by a backup, one
  // second into the slot: pov_getBlockWork names each block's slot leader and its rank.
  const producers = m.nodes.map((n) => n.producer.toLowerCase())
  let seen = before
  const filled: { rank: number }[] = []
  await waitFor(
    async () => {
      const now = Number((await head(urls[0]!)).number)
      for (; seen < now; seen++) {
        const w = await rpc<{ leader: string; rank: number; producer: string }>(urls[0]!, 'pov_getBlockWork', [`0x${(seen + 1).toString(16)}`])
        if (w.leader.toLowerCase() === producers[1] && w.rank > 0 && w.producer.toLowerCase() !== producers[1]) filled.push(w)
      }
      return filled.length > 0
    },
    'a slot of node1 filled by a backup',
    60_000,
    500,
  )
  t.ok(filled.length > 0, `${filled.length} of node1's slots sealed by its backup`)
  const restarted = spawnLogged(n1.argv)
  await waitFor(async () => (await rpcRaw(n1.rpc, 'eth_blockNumber')).result !== undefined, 'node1 back', 30_000, 200)
  const target = Number((await head(urls[0]!)).number)
  await agree(urls, target, 'node1 caught up', 30_000)
  t.pass(`node1 restarted and caught up to ${target}`)

  // A fresh, non-producing node joins late and syncs from genesis.
  const fresh = join(tmp.dir, 'fresh')
  const freshProc = spawnLogged([
    ...n1.argv.slice(0, n1.argv.indexOf('node') + 1),
    '--genesis', m.genesis, '--datadir', fresh,
    '--p2p.addr', '127.0.0.1', '--p2p.port', '0', '--http.port', '0', '--ws.port', '0',
    '--bootnodes', m.nodes.map((n) => n.multiaddr).join(','), '--log.format', 'json',
  ])
  let freshOut = ''
  freshProc.stderr!.on('data', (d: Buffer) => (freshOut += d.toString()))
  const freshUrl = await waitFor(() => /"http":"(http:\/\/[^"]+)"/.exec(freshOut)?.[1], 'fresh node RPC', 30_000, 100)
  const now = Number((await head(urls[0]!)).number)
  await agree([...urls, freshUrl], now, 'fresh node synced', 30_000)
  t.pass(`a fresh node synced ${now} blocks`)
  freshProc.kill('SIGTERM')

  // Ctrl-C on the devnet stops its nodes.
  devnet.kill('SIGINT')
  await waitFor(() => devnet.exitCode !== null, 'devnet exit', 30_000, 100)
  t.equal(devnet.exitCode, 0, `devnet exits cleanly ${devnetOut.slice(-500)}`)
  for (const n of [m.nodes[0]!, m.nodes[2]!]) t.notOk(alive(n.pid!), `node${n.index} stopped`)
  t.ok(restarted.exitCode !== null || restarted.signalCode !== null || (await waitFor(() => restarted.exitCode !== null || restarted.signalCode !== null, 'node1 (restarted by hand) stopped', 20_000, 100)), 'the devnet also stops node1, restarted by hand from devnet.json (its pid file names it)')
  t.equal(restarted.signalCode ?? 'exited', 'exited', 'node1 stopped cleanly on SIGTERM, not killed')
})

/** The devnet's genesis header, rebuilt from its genesis.json (checked against the hash the RPC reports). */
async function headerOf(datadir: string, hash: string): Promise<BlockHeader> {
  const { parseGenesis } = await import('../genesis/GenesisConfig.js')
  const { buildGenesis } = await import('../genesis/GenesisBuilder.js')
  const { openChainDB } = await import('../chain/Database.js')
  const { WorldState } = await import('../vm/WorldState.js')
  const { BlockStore } = await import('../chain/BlockStore.js')
  const spec = parseGenesis(JSON.parse(readFileSync(join(datadir, '..', 'genesis.json'), 'utf8')))
  const common = createChainCommon(spec.chainId)
  const d = tempDir('povchain-genesis-')
  const db = await openChainDB(d.dir)
  try {
    const g = await buildGenesis(spec, new WorldState(db, common, new BlockStore(db, common)))
    if (bytesToHex(g.block.hash()) !== hash) throw new Error('genesis mismatch')
    return BlockHeader.decode(g.block.header.encode())
  } finally {
    await db.close()
    d.cleanup()
  }
}
