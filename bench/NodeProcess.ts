import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../cli/FreePort.js'
import { RpcClient } from './RpcClient.js'
import { log, sleep } from './stats.js'

/** dist/cli/cli.js next to this compiled file (dist/bench/NodeProcess.js). */
export const CLI_PATH = fileURLToPath(new URL('../cli/cli.js', import.meta.url))

/**
 * A povchain dev node in a child process on a fresh temporary datadir, on loopback and free
 * ports. Its output goes to our stderr; `stop()` sends SIGTERM (SIGKILL after 15 s) and
 * removes the datadir.
 */
export class NodeProcess {
  private child?: ChildProcess
  private exited?: Promise<number | null>
  readonly datadir: string
  url = ''
  pid?: number

  /** `nodeFlags` for the Node binary, `cliArgs` appended to `povchain node --dev …` (e.g. `--dev.period 2`). */
  constructor(
    private readonly nodeFlags: string[] = [],
    private readonly cliArgs: string[] = [],
  ) {
    this.datadir = mkdtempSync(join(tmpdir(), 'povchain-bench-'))
  }

  async start(): Promise<void> {
    const httpPort = await freePort()
    let wsPort = await freePort()
    while (wsPort === httpPort) wsPort = await freePort()
    const args = [
      ...this.nodeFlags,
      CLI_PATH,
      'node',
      '--dev',
      '--datadir', this.datadir,
      '--http.addr', '127.0.0.1',
      '--http.port', String(httpPort),
      '--ws.addr', '127.0.0.1',
      '--ws.port', String(wsPort),
      '--log.level', 'warn',
      '--log.format', 'json',
      ...this.cliArgs,
    ]
    const child = (this.child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
    this.pid = child.pid
    const forward = (b: Buffer) => process.stderr.write(b.toString('utf8').replace(/^(?=.)/gm, '[node] '))
    child.stdout!.on('data', forward)
    child.stderr!.on('data', forward)
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    this.url = `http://127.0.0.1:${httpPort}`
    const rpc = new RpcClient(this.url, 2)
    let dead = false
    void this.exited.then(() => (dead = true))
    const deadline = Date.now() + 60_000
    try {
      for (;;) {
        if (dead) throw new Error(`the node exited during start-up (see [node] lines above)`)
        try {
          await rpc.call('eth_chainId', [], 2000)
          break
        } catch {
          if (Date.now() > deadline) throw new Error(`the node did not answer on ${this.url} within 60 s`)
          await sleep(100)
        }
      }
    } finally {
      rpc.close()
    }
    log(`node pid ${this.pid} on ${this.url}, datadir ${this.datadir}`)
  }

  async stop(): Promise<void> {
    const child = this.child
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await this.exited
      clearTimeout(t)
    }
    rmSync(this.datadir, { recursive: true, force: true })
  }
}
