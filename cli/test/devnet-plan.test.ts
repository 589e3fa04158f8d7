/**
 * `povchain devnet --http.port P --ws.port W --p2p.port Q`: node i of a new devnet gets P + i,
 * W + i, Q + i; a port in use is refused; a devnet that exists keeps its ports and says so.
 */
import t from 'tap'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { silentLogger } from '../../common/logger.js'
import { prepareDevnet } from '../devnet.js'
import { freePort } from '../FreePort.js'
import { tempDir } from '../../test/helpers/devnode.js'

/** A base port whose next `n` ports are all free (checked by listening). */
async function freeRun(n: number): Promise<number> {
  for (;;) {
    const base = await freePort()
    if (base + n > 65535) continue
    let ok = true
    for (let i = 1; i < n && ok; i++) ok = await new Promise<boolean>((res) => {
      const s = createServer().once('error', () => res(false))
      s.listen(base + i, '127.0.0.1', () => s.close(() => res(true)))
    })
    if (ok) return base
  }
}

t.test('port flags place each node at base + index, and are fixed once the devnet exists', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const [http, ws, p2p] = [await freeRun(3), await freeRun(3), await freeRun(3)]
  const opts = { nodes: 3, dir: join(dir, 'net'), slotSeconds: 2, chainId: 31338, logLevel: 'info', basePorts: { http, ws, p2p } }
  const plan = await prepareDevnet(opts, silentLogger)
  t.same(plan.nodes.map((n) => [n.httpPort, n.wsPort, n.p2pPort]), [0, 1, 2].map((i) => [http + i, ws + i, p2p + i]))
  t.same(plan.nodes.map((n) => n.rpc), [0, 1, 2].map((i) => `http://127.0.0.1:${http + i}`))
  t.ok(plan.nodes.every((n) => n.argv.includes(String(n.httpPort)) && n.argv.includes(String(n.p2pPort))), 'the node commands use them')
  const again = await prepareDevnet(opts, silentLogger)
  t.same(again.nodes.map((n) => n.httpPort), plan.nodes.map((n) => n.httpPort), 'reused as created')
  await t.rejects(prepareDevnet({ ...opts, basePorts: { http: http + 7 } }, silentLogger), { code: 'NODE_DEVNET_EXISTS', message: /node 0 uses http port \d+: ports are fixed when a devnet is created/ })
})

t.test('a port in use is refused before anything is created', async (t) => {
  const { dir, cleanup } = tempDir()
  t.teardown(cleanup)
  const base = await freeRun(2)
  const blocker = createServer()
  await new Promise<void>((res) => blocker.listen(base + 1, '127.0.0.1', () => res()))
  t.teardown(() => blocker.close())
  await t.rejects(prepareDevnet({ nodes: 2, dir: join(dir, 'net'), slotSeconds: 2, chainId: 31338, logLevel: 'info', basePorts: { http: base } }, silentLogger), {
    code: 'NODE_PORT_IN_USE',
    message: new RegExp(`--http.port ${base}: port ${base + 1} \\(node 1\\) is in use`),
  })
})
