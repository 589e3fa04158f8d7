/**
 * Child processes of the bridge end-to-end tests: Hardhat's node (the source chain), one-shot
 * `povchain bridge …` commands and long-running relays, all from source through tsx.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { ROOT, rpcRaw, waitFor } from './devnode.js'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export interface Child {
  proc: ChildProcess
  output(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export function track(proc: ChildProcess): Child {
  let out = ''
  const add = (b: Buffer) => {
    out += b.toString('utf8')
    if (out.length > 1_000_000) out = out.slice(-500_000)
  }
  proc.stdout?.on('data', add)
  proc.stderr?.on('data', add)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on('exit', (code, signal) => res({ code, signal })))
  let done = false
  void exited.then(() => (done = true))
  return {
    proc,
    output: () => out,
    exited,
    async kill(signal = 'SIGTERM') {
      if (!done) proc.kill(signal)
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      try {
        return await exited
      } finally {
        clearTimeout(t)
      }
    },
  }
}

/** `hardhat node` (needs Node 22: we run Hardhat's CLI with this process's node binary). */
export async function startHardhat(): Promise<Child & { url: string }> {
  const port = await freePort()
  const proc = spawn(
    process.execPath,
    [join(ROOT, 'node_modules', 'hardhat', 'dist', 'src', 'cli.js'), '--config', join(ROOT, 'bridge', 'test', 'hardhat.config.js'), 'node', '--hostname', '127.0.0.1', '--port', String(port)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', DO_NOT_TRACK: '1' } },
  )
  const c = track(proc)
  const url = `http://127.0.0.1:${port}`
  await waitFor(async () => (await rpcRaw(url, 'eth_chainId')).result !== undefined, `hardhat node on ${url}\n${c.output()}`, 60_000, 200)
  return { ...c, url }
}

/** Starts `povchain <args…>` from source. */
export function startCli(args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'cli.ts'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  return track(proc)
}

/** Runs `povchain <args…>` to completion; rejects on a non-zero exit with its output. */
export async function runCli(args: string[]): Promise<string> {
  let stdout = ''
  const c = startCli(args)
  c.proc.stdout!.on('data', (b: Buffer) => (stdout += b.toString('utf8')))
  const { code, signal } = await c.exited
  if (code !== 0) throw new Error(`povchain ${args.slice(0, 2).join(' ')} exited with ${code ?? signal}:\n${c.output().slice(-4000)}`)
  return stdout
}

/** Like runCli, but expects failure and returns the output. */
export async function runCliFailing(args: string[]): Promise<string> {
  const c = startCli(args)
  const { code } = await c.exited
  if (code === 0) throw new Error(`povchain ${args.slice(0, 2).join(' ')} succeeded, expected a failure:\n${c.output()}`)
  return c.output()
}
