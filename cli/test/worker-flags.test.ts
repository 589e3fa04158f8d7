/**
 * `povchain node --worker.control-tasks` (cli/workerFlags.ts): the flags make the issuer's
 * config, and a real `--dev --worker --worker.control-tasks` process issues control tasks the
 * new way — posted by its client identities through postJob, opened by them after the votes,
 * reimbursed by the fund, the issuer bonded — with nothing sent by the issuer that names a job.
 */
import t from 'tap'
import { Command } from 'commander'
import { join } from 'node:path'
import { getAddress, type Address, type Hex } from 'viem'
import { WorkMarketReader } from '../../market/client/WorkMarketReader.js'
import { DEV_MNEMONIC, deriveKeys } from '../../chain/DevKeys.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { bytesToHex } from '../../common/bytes.js'
import { rpc, startNodeProcess, tempDir, waitFor } from '../../test/helpers/devnode.js'
import { addWorkerOptions, DEV_CONTROL_CLIENT_INDEXES, workerConfigFromOptions } from '../workerFlags.js'

const parse = (args: string[], dev = true) => {
  const cmd = addWorkerOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }))
  cmd.parse(['node', 'povchain', ...args])
  return workerConfigFromOptions(cmd.opts(), dev)
}
const DEV = deriveKeys(DEV_MNEMONIC, 20)
const devAddress = (i: number) => getAddress(bytesToHex(privateKeyToAddress(DEV[i]!))) as Address

t.test('--worker.control-tasks and --worker.control-clients', async (t) => {
  const cfg = parse(['--worker', '--worker.control-tasks'])!
  t.equal(cfg.issuer!.toLowerCase(), devAddress(19).toLowerCase(), 'the dev issuer: #19')
  t.match(cfg.issuerOptions, { intervalMs: 30_000 })
  t.same(cfg.issuerOptions!.clients!.map((a) => a.toLowerCase()), DEV_CONTROL_CLIENT_INDEXES.map((i) => devAddress(i).toLowerCase()), 'its client identities: dev #10–#13')
  const other = devAddress(5)
  const cfg2 = parse(['--worker', '--worker.control-tasks', '5', '--worker.control-clients', other])!
  t.match(cfg2.issuerOptions, { intervalMs: 5000, clients: [other] })
  t.throws(() => parse(['--worker', '--worker.account', other, '--worker.control-tasks'], false), /only with --dev/)
})

t.test('--worker.peer-images: announce and fetch what peers share (off by default)', async (t) => {
  t.equal(parse(['--worker', '--worker.peer-images'])!.peerImages, true)
  t.equal(parse(['--worker'])!.peerImages, undefined, 'off: a worker announces only what it holds or a registry it names lists')
})

t.test('--worker.pull-from names the registries a worker announces and pulls from', async (t) => {
  t.same(parse(['--worker', '--worker.pull-from', '127.0.0.1:5000,registry.example.org'])!.pullFrom, ['127.0.0.1:5000', 'registry.example.org'])
  t.equal(parse(['--worker'])!.pullFrom, undefined, 'none by default: only images the engine holds are announced')
  t.throws(() => parse(['--worker', '--worker.pull-from', 'http://127.0.0.1:5000']), /not a registry host\[:port\]/)
})

t.test('--worker.docker-host points the worker at its own Docker engine', async (t) => {
  t.equal(parse(['--worker', '--worker.docker-host', 'unix:///tmp/engine2/docker.sock'])!.dockerSocket, '/tmp/engine2/docker.sock')
  t.equal(parse(['--worker', '--worker.docker-host', '/run/docker-b.sock'])!.dockerSocket, '/run/docker-b.sock')
  t.equal(parse(['--worker'])!.dockerSocket, undefined, 'none by default: DOCKER_HOST or /var/run/docker.sock')
  t.throws(() => parse(['--worker', '--worker.docker-host', 'tcp://10.0.0.2:2375']), /not a unix socket/)
})

t.test('a `povchain node --dev --worker --worker.control-tasks 2` process posts control tasks as a client and opens them after the votes', async (t) => {
  const { dir, cleanup } = tempDir('povchain-control-tasks-')
  t.teardown(cleanup)
  const node = await startNodeProcess({ datadir: join(dir, 'node'), args: ['--worker', '--worker.control-tasks', '2'], timeoutMs: 120_000 })
  t.teardown(() => node.stop())
  const market = new WorkMarketReader({ call: async (to, data) => rpc<Hex>(node.httpUrl, 'eth_call', [{ to, data }, 'latest']) })
  const clients = DEV_CONTROL_CLIENT_INDEXES.map((i) => getAddress(devAddress(i)) as Address)
  const opened = await waitFor(
    async () => {
      for (const c of clients) {
        for (const id of await market.read<Hex[]>('jobsOf', [c])) {
          const j = await market.job(id)
          if (j?.control && j.status === 'accepted') return { id, client: c, job: j }
        }
      }
      return undefined
    },
    'a control task accepted',
    150_000,
    500,
  )
  t.equal(opened.job.client, opened.client, 'posted by one of the issuer\'s client identities')
  t.ok((await market.read<bigint>('issuerBond')) >= (await market.read<bigint>('issuerMinBond')), 'the issuer bonded itself')
  const receipt = await market.receipt(opened.job.session)
  t.match(receipt, { status: 'accepted', control: true })
  // Every transaction the issuer sent: bondIssuer, fundProtocol, registerSeals — none names the job.
  const issuer = devAddress(19).toLowerCase()
  const head = BigInt(await rpc<Hex>(node.httpUrl, 'eth_blockNumber', []))
  const sent: string[] = []
  for (let n = 1n; n <= head; n++) {
    const b = await rpc<{ transactions: { from: string; to: string; input: string }[] }>(node.httpUrl, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, true])
    for (const tx of b.transactions) if (tx.from.toLowerCase() === issuer) sent.push(tx.input.toLowerCase())
  }
  t.ok(sent.length >= 2, `the issuer sent ${sent.length} transactions`)
  t.notOk(sent.some((x) => x.includes(opened.id.slice(2).toLowerCase())), 'none of them names the control job')
  t.notOk(node.output().includes('"level":50'), 'no errors logged')
})
