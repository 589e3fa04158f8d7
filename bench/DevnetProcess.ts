import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI_PATH } from './NodeProcess.js'
import { RpcClient } from './RpcClient.js'
import { log, sleep } from './stats.js'

/** What the bench needs of one devnet node: its RPC and its process (for RSS and CPU). */
export interface DevnetNode {
  url: string
  pid: number
}

/**
 * `povchain devnet --nodes N` in a child process on a fresh temporary directory: N producers
 * on loopback, each its own process, gossiping transactions and blocks over libp2p. `start()`
 * returns once every node answers and sees all the others as peers; `stop()` sends SIGTERM to
 * the devnet (which stops its nodes) and removes the directory.
 */
export class DevnetProcess {
  private child?: ChildProcess
  private exited?: Promise<number | null>
  readonly dir: string
  nodes: DevnetNode[] = []
  chainId = 0n

  constructor(
    private readonly n: number,
    private readonly slotSeconds = 2,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'povchain-bench-devnet-'))
  }

  async start(): Promise<void> {
    const args = [CLI_PATH, 'devnet', '--nodes', String(this.n), '--dir', this.dir, '--slot-seconds', String(this.slotSeconds), '--log.level', 'warn']
    const child = (this.child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
    const forward = (b: Buffer) => process.stderr.write(b.toString('utf8').replace(/^(?=.)/gm, '[devnet] '))
    child.stdout!.on('data', forward)
    child.stderr!.on('data', forward)
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    let dead = false
    void this.exited.then(() => (dead = true))
    const manifest = join(this.dir, 'devnet.json')
    const deadline = Date.now() + 120_000
    const until = async (what: string, ok: () => Promise<boolean> | boolean) => {
      for (;;) {
        if (dead) throw new Error(`the devnet exited while ${what} (see [devnet] lines above; node logs in ${this.dir})`)
        if (await ok()) return
        if (Date.now() > deadline) throw new Error(`the devnet did not come up within 120 s: ${what} (node logs in ${this.dir})`)
        await sleep(200)
      }
    }
    await until('writing devnet.json', () => existsSync(manifest))
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { chainId: number; nodes: { rpc: string; pid?: number }[] }
    this.chainId = BigInt(m.chainId)
    this.nodes = m.nodes.map((x) => ({ url: x.rpc, pid: x.pid ?? 0 }))
    for (const node of this.nodes) {
      const rpc = new RpcClient(node.url, 2)
      try {
        await until(`${node.url} answering with ${this.n - 1} peers`, async () => {
          const peers = await rpc.call<string>('net_peerCount', [], 2000).catch(() => '0x0')
          return Number(peers) >= this.n - 1
        })
      } finally {
        rpc.close()
      }
    }
    log(`devnet of ${this.n} nodes up: ${this.nodes.map((x) => `${x.url} (pid ${x.pid})`).join(', ')}`)
  }

  async stop(): Promise<void> {
    const child = this.child
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000)
      await this.exited
      clearTimeout(t)
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}
