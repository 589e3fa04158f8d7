/**
 * `povchain network new` and `povchain faucet`, as an operator uses them, with real processes:
 * - the kit: genesis (no published dev key funded), bundles with keys written 0600, bootnodes,
 *   README; a second run into the same directory is refused;
 * - the three validator bundles started with their own start.sh produce and finalise together;
 * - a node that joins with the README's command (genesis + bootnodes) syncs to their head;
 * - the faucet, signing with the kit's faucet key, sends coins that every node sees, refuses a
 *   second request for the same address and the requests beyond its per-IP limit (429 with
 *   Retry-After), a body that is not JSON (415), and serves its page.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex } from '../common/bytes.js'
import { portIsFree } from '../cli/FreePort.js'
import { ROOT, rpc, tempDir, waitFor } from './helpers/devnode.js'

const CHAIN_ID = 4242
const tmp = tempDir('povchain-kit-')
const procs: ChildProcess[] = []
const logs = new Map<ChildProcess, string>()
t.teardown(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  if (!t.passing()) for (const [p, out] of logs) console.error(`# ${p.spawnargs.slice(-4).join(' ')}:\n${out.slice(-3000)}`)
  tmp.cleanup()
})

// The tsx loader by absolute URL: the bundles run from their own directories, outside the repo.
const TSX = import.meta.resolve('tsx')
const CLI = [process.execPath, '--import', TSX, join(ROOT, 'cli', 'cli.ts')]

function run(argv: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): ChildProcess {
  const p = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...opts.env } })
  procs.push(p)
  logs.set(p, '')
  const keep = (b: Buffer) => logs.set(p, (logs.get(p)! + b.toString()).slice(-20_000))
  p.stdout!.on('data', keep)
  p.stderr!.on('data', keep)
  return p
}

async function finish(p: ChildProcess): Promise<{ code: number | null; out: string }> {
  const code = await new Promise<number | null>((res) => (p.exitCode !== null ? res(p.exitCode) : p.once('exit', (c) => res(c))))
  return { code, out: logs.get(p)! }
}

/** A base port with `n` free ports above it (and the same at +1000 for WebSocket). */
async function freeBase(n: number): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 20_000)
    let ok = true
    for (let i = 0; i < n && ok; i++) ok = (await portIsFree(base + i)) && (await portIsFree(base + 1000 + i))
    if (ok) return base
  }
}

const head = async (url: string) => Number(BigInt((await rpc<{ number: string }>(url, 'eth_getBlockByNumber', ['latest', false])).number))

t.test('a three-validator test network from the kit, a joiner and the faucet', async (t) => {
  const out = join(tmp.dir, 'kit')
  const p2p = await freeBase(3)
  const http = await freeBase(4)
  const made = await finish(run([...CLI, 'network', 'new', '--validators', '3', '--chain-id', String(CHAIN_ID), '--out', out, '--p2p.port', String(p2p), '--http.port', String(http), '--slot-seconds', '2', '--epoch-length', '8']))
  t.equal(made.code, 0, `network new exits 0: ${made.out}`)
  t.match(made.out, `wrote a test network kit for chain ${CHAIN_ID} to ${out}`)
  t.match(made.out, /validator 2 0x[0-9a-f]{40}/)

  const network = JSON.parse(readFileSync(join(out, 'network.json'), 'utf8')) as { bootnodes: string[]; faucet: string; validators: { address: string }[] }
  t.equal(network.bootnodes.length, 3)
  t.equal(readFileSync(join(out, 'bootnodes.txt'), 'utf8').trim().split('\n').length, 3)
  for (let i = 0; i < 3; i++) {
    const v = join(out, `validator-${i}`)
    for (const f of ['genesis.json', 'node.toml', 'start.sh', 'password.txt', 'keystore']) t.ok(existsSync(join(v, f)), `validator-${i}/${f}`)
    t.equal(statSync(join(v, 'password.txt')).mode & 0o077, 0, 'the password file is private')
  }
  t.equal(statSync(join(out, 'faucet', 'password.txt')).mode & 0o077, 0)
  const genesis = JSON.parse(readFileSync(join(out, 'genesis.json'), 'utf8')) as { alloc: Record<string, unknown>; config: { chainId: number } }
  t.equal(genesis.config.chainId, CHAIN_ID)
  const devAccount0 = bytesToHex(privateKeyToAddress(deriveKeys(DEV_MNEMONIC, 1)[0]!))
  t.notOk(genesis.alloc[devAccount0], 'no account of the published dev mnemonic is funded')
  t.ok(genesis.alloc[network.faucet.toLowerCase()], 'the faucet is funded')
  const readme = readFileSync(join(out, 'README.md'), 'utf8')
  t.match(readme, '--bootnodes ' + network.bootnodes.join(','), 'the README gives joiners the bootnodes')
  t.match(readme, /secret/)

  const again = await finish(run([...CLI, 'network', 'new', '--validators', '3', '--chain-id', String(CHAIN_ID), '--out', out]))
  t.equal(again.code, 1, 'a second kit into the same directory is refused')
  t.match(again.out, /is not empty/)

  // The operators: each bundle started with its own start.sh, from its own directory.
  for (let i = 0; i < 3; i++) run(['sh', join(out, `validator-${i}`, 'start.sh')], { cwd: tmp.dir, env: { POVCHAIN: CLI.join(' ') } })
  const urls = [0, 1, 2].map((i) => `http://127.0.0.1:${http + i}`)
  const agreed = await waitFor(
    async () => {
      const heads = await Promise.all(urls.map(head))
      const low = Math.min(...heads)
      if (low < 4) return false
      const hashes = await Promise.all(urls.map(async (u) => (await rpc<{ hash: string }>(u, 'eth_getBlockByNumber', [`0x${(low - 1).toString(16)}`, false])).hash))
      return new Set(hashes).size === 1 ? low : false
    },
    'the three validators produce and agree',
    120_000,
    500,
  )
  t.ok(agreed >= 4, `the validators agree at block ${agreed}`)
  const producers = new Set<string>()
  for (let n = 1; n <= agreed; n++) producers.add((await rpc<{ miner: string }>(urls[0]!, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false])).miner.toLowerCase())
  t.ok(producers.size >= 2, `blocks come from more than one validator (${[...producers].join(', ')})`)
  const finalized = await waitFor(async () => {
    const b = await rpc<{ number: string } | null>(urls[1]!, 'eth_getBlockByNumber', ['finalized', false])
    return b && Number(BigInt(b.number)) > 0 ? Number(BigInt(b.number)) : false
  }, 'a finalized block', 120_000, 500)
  t.ok(finalized > 0, `block ${finalized} is finalized`)

  // A joiner, with the README's command.
  const joinerUrl = `http://127.0.0.1:${http + 3}`
  run([...CLI, 'node', '--genesis', join(out, 'genesis.json'), '--datadir', join(tmp.dir, 'joiner'), '--bootnodes', network.bootnodes.join(','), '--nodiscover', '--p2p.addr', '127.0.0.1', '--p2p.port', String(p2p + 3), '--http.port', String(http + 3), '--ws.port', String(http + 1003)])
  const target = await head(urls[0]!)
  await waitFor(async () => (await head(joinerUrl)) >= target, `the joiner syncs to block ${target}`, 120_000, 500)
  t.pass(`the joiner reached block ${target}`)

  // The faucet.
  const faucetPort = (await freeBase(1)) + 1
  const faucet = run([...CLI, 'faucet', '--rpc', urls[0]!, '--keystore', join(out, 'faucet', 'keystore'), '--password', join(out, 'faucet', 'password.txt'), '--amount', '2.5', '--per-ip', '2', '--port', String(faucetPort)])
  const faucetUrl = `http://127.0.0.1:${faucetPort}`
  await waitFor(() => /serving/.test(logs.get(faucet)!), 'the faucet starts', 60_000, 200)
  t.match(logs.get(faucet)!, /on chain 4242 holds 1000000 coins/)
  const page = await fetch(faucetUrl + '/')
  t.equal(page.status, 200)
  t.match(await page.text(), /<form/)
  const drip = (address: string, contentType = 'application/json') => fetch(faucetUrl + '/api/drip', { method: 'POST', headers: { 'content-type': contentType }, body: JSON.stringify({ address }) })
  const alice = '0x00000000000000000000000000000000000a11ce'
  const r1 = await drip(alice)
  const body1 = (await r1.json()) as { hash: string }
  t.equal(r1.status, 200, `the first drip is sent: ${JSON.stringify(body1)}`)
  t.match(body1.hash, /^0x[0-9a-f]{64}$/)
  await waitFor(async () => BigInt(await rpc<string>(urls[2]!, 'eth_getBalance', [alice, 'latest'])) === 2_500_000_000_000_000_000n, 'alice holds 2.5 coins on another validator', 60_000, 250)
  t.pass('the coins reached alice and every node sees them')
  const r2 = await drip(alice.toUpperCase().replace('0X', '0x'))
  t.equal(r2.status, 429, 'the same address (other case) again is refused')
  t.ok(Number(r2.headers.get('retry-after')) > 80_000, 'Retry-After says about a day')
  t.equal((await drip('0x00000000000000000000000000000000000000b0')).status, 200, 'a second address from this IP is served')
  const r4 = await drip('0x00000000000000000000000000000000000000c0')
  t.equal(r4.status, 429, 'a third address from the same IP is refused (--per-ip 2)')
  t.match(((await r4.json()) as { error: { message: string } }).error.message, /too many requests/)
  t.equal((await drip('0x00000000000000000000000000000000000000d0', 'text/plain')).status, 415, 'a text/plain post (a foreign page) is refused')
  t.equal((await fetch(faucetUrl + '/api/drip', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"address":"0x1234"}' })).status, 400, 'a malformed address is refused')
})
