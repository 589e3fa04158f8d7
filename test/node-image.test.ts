/**
 * `povchain image build` and the image under Docker, as the README shows it (issue 16):
 * - the build needs no registry or internet and gives the same digest twice;
 * - `docker run … node --dev --datadir /data` with a host directory as the volume serves
 *   JSON-RPC; a transaction is mined; after `docker stop` (SIGTERM: a clean shutdown) a new
 *   container on the same volume has the chain and the transaction.
 * Skips with a visible reason without a Docker engine (CI has one: POVCHAIN_REQUIRE_DOCKER=1).
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { requireDocker, freePort } from '../compute/test/dockerSupport.js'
import { ROOT, rpc, tempDir, waitFor } from './helpers/devnode.js'

const run = promisify(execFile)
const TAG = 'povchain/node:image-test'
const CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'cli', 'cli.ts')]

t.test('the node image builds reproducibly and runs a dev chain on a volume', async (t) => {
  if (!(await requireDocker(t))) return
  const tmp = tempDir('povchain-image-')
  const containers: string[] = []
  t.teardown(async () => {
    for (const c of containers) await run('docker', ['rm', '-f', c]).catch(() => undefined)
    await run('docker', ['rmi', '-f', TAG]).catch(() => undefined)
    tmp.cleanup()
  })
  const build = async () => {
    const { stdout } = await run(CLI[0]!, [...CLI.slice(1), 'image', 'build', '--tag', TAG, '--json'], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 })
    return JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; digest: string; id: string; bytes: number; name: string }
  }
  const first = await build()
  t.ok(first.ok && /^sha256:[0-9a-f]{64}$/.test(first.digest), `built ${first.name} (${(first.bytes / 1e6).toFixed(0)} MB)`)
  const second = await build()
  t.equal(second.digest, first.digest, 'a second build of the same files gives the same digest')

  const port = await freePort()
  const wsPort = await freePort()
  const url = `http://127.0.0.1:${port}`
  const start = async (name: string) => {
    containers.push(name)
    await run('docker', ['run', '-d', '--name', name, '--network', 'host', '-v', `${tmp.dir}:/data`, TAG, 'node', '--dev', '--datadir', '/data', '--http.port', String(port), '--ws.port', String(wsPort)])
    await waitFor(async () => (await rpc<string>(url, 'eth_chainId').catch(() => undefined)) === '0x7a69', `${name} serves JSON-RPC`, 90_000, 250)
  }
  await start('povchain-image-test-1')
  const [from] = await rpc<string[]>(url, 'eth_accounts')
  const hash = await rpc<string>(url, 'eth_sendTransaction', [{ from, to: '0x00000000000000000000000000000000000000aa', value: '0x1234' }])
  const receipt = await waitFor(() => rpc<{ blockNumber: string } | null>(url, 'eth_getTransactionReceipt', [hash]), 'the transaction is mined', 30_000, 100)
  await run('docker', ['stop', '-t', '20', 'povchain-image-test-1'])
  const { stdout: logs } = await run('docker', ['logs', 'povchain-image-test-1'])
  const { stderr: errLogs } = await run('docker', ['logs', 'povchain-image-test-1'])
  t.match(logs + errLogs, /povchain \S+ running — datadir \/data/, 'the node said where it keeps its data')

  await start('povchain-image-test-2')
  t.ok(Number(BigInt(await rpc<string>(url, 'eth_blockNumber'))) >= Number(BigInt(receipt.blockNumber)), 'the second container continues the chain on the volume')
  t.equal(await rpc<string>(url, 'eth_getBalance', ['0x00000000000000000000000000000000000000aa', 'latest']), '0x1234', 'and holds the transfer')
})
