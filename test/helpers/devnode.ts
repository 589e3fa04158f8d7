/**
 * Shared helpers of the end-to-end tests: a dev node as a child process (run from source
 * through tsx, so no build step is needed) or in-process, temp datadirs, raw JSON-RPC calls
 * and waiting for conditions without fixed sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HDNodeWallet, Mnemonic } from 'ethers'
import { silentLogger } from '../../common/logger.js'
import type { NodeConfig } from '../../node/NodeConfig.js'
import { PovNode } from '../../node/PovNode.js'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CHAIN_ID = 31337n
export const MNEMONIC = 'test test test test test test test test test test test junk'
export const MULTICALL3 = '0xcA11bde05977b3631167028862bE2a173976CA11'
export const CREATE2_DEPLOYER = '0x4e59b44847b379578588920cA78FbF26c0B4956C'
/** The first ten dev accounts' private keys (Hardhat mnemonic, m/44'/60'/0'/0/i). */
export const DEV_KEYS: string[] = (() => {
  const m = Mnemonic.fromPhrase(MNEMONIC)
  return Array.from({ length: 10 }, (_, i) => HDNodeWallet.fromMnemonic(m, `m/44'/60'/0'/0/${i}`).privateKey)
})()

/** A fresh temp directory, removed by `cleanup`. */
export function tempDir(prefix = 'povchain-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Polls `fn` until it returns a truthy value (or throws `what` after `timeoutMs`). */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v) return v as T
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export interface RpcResponse<T = unknown> {
  jsonrpc: string
  id: unknown
  result?: T
  error?: { code: number; message: string; data?: unknown }
}

let nextId = 1
/** One raw JSON-RPC call over HTTP; returns the whole response object (result or error). */
export async function rpcRaw<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<RpcResponse<T>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }) })
  return (await res.json()) as RpcResponse<T>
}

/** One JSON-RPC call over HTTP that must succeed. */
export async function rpc<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const r = await rpcRaw<T>(url, method, params)
  if (r.error) throw Object.assign(new Error(`${method}: ${r.error.message} (${r.error.code})`), { rpc: r.error })
  return r.result as T
}

export interface NodeProcess {
  proc: ChildProcess
  datadir: string
  httpUrl: string
  wsUrl: string
  /** Everything the node wrote to stderr/stdout so far (for diagnostics). */
  output(): string
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  alive(): boolean
  /** SIGTERM and wait for the exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL and wait for the exit. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * Starts `povchain node --dev` as a child process from source (node --import tsx
 * cli/cli.ts) on 127.0.0.1 with OS-chosen ports, and waits until it serves JSON-RPC.
 * The URLs are read from the node's startup log line, so keep the log level at info.
 */
export async function startNodeProcess(opts: {
  datadir: string
  args?: string[]
  timeoutMs?: number
  /** false: no --dev (pass --genesis … in args); default true. */
  dev?: boolean
  /** Extra environment variables of the process. */
  env?: Record<string, string>
  /** Flags for the node's Node binary itself (e.g. `--inspect=127.0.0.1:0`), before the script. */
  nodeArgs?: string[]
}): Promise<NodeProcess> {
  const args = [
    ...(opts.nodeArgs ?? []),
    '--import',
    'tsx',
    join(ROOT, 'cli', 'cli.ts'),
    'node',
    ...(opts.dev === false ? [] : ['--dev']),
    '--datadir',
    opts.datadir,
    '--http.addr',
    '127.0.0.1',
    '--http.port',
    '0',
    '--ws.addr',
    '127.0.0.1',
    '--ws.port',
    '0',
    '--log.format',
    'json',
    '--log.level',
    'info',
    ...(opts.args ?? []),
  ]
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...opts.env } })
  let out = ''
  let buffer = ''
  let resolveUrls!: (v: { http: string; ws: string }) => void
  let rejectUrls!: (e: Error) => void
  const urls = new Promise<{ http: string; ws: string }>((res, rej) => {
    resolveUrls = res
    rejectUrls = rej
  })
  const onData = (chunk: Buffer) => {
    const s = chunk.toString('utf8')
    out += s
    if (out.length > 2_000_000) out = out.slice(-1_000_000)
    buffer += s
    let nl: number
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      if (!line.startsWith('{')) continue
      try {
        const o = JSON.parse(line) as { http?: string; ws?: string; head?: number }
        if (typeof o.http === 'string' && typeof o.ws === 'string') resolveUrls({ http: o.http, ws: o.ws })
      } catch {
        /* not a log line */
      }
    }
  }
  proc.stdout!.on('data', onData)
  proc.stderr!.on('data', onData)
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    proc.on('exit', (code, signal) => {
      exitInfo = { code, signal }
      rejectUrls(new Error(`node exited (code ${code}, signal ${signal}) before serving RPC:\n${out.slice(-4000)}`))
      res(exitInfo)
    })
  })
  const timeoutMs = opts.timeoutMs ?? 30_000
  const timer = setTimeout(() => rejectUrls(new Error(`node did not start within ${timeoutMs} ms:\n${out.slice(-4000)}`)), timeoutMs)
  let u: { http: string; ws: string }
  try {
    u = await urls
  } catch (e) {
    if (!exitInfo) {
      proc.kill('SIGKILL')
      await exited
    }
    throw e
  } finally {
    clearTimeout(timer)
  }
  await waitFor(async () => (await rpcRaw(u.http, 'eth_blockNumber')).result !== undefined, 'RPC readiness', timeoutMs)
  const handle: NodeProcess = {
    proc,
    datadir: opts.datadir,
    httpUrl: u.http,
    wsUrl: u.ws,
    output: () => out,
    exited,
    alive: () => exitInfo === undefined,
    async stop(ms = 20_000) {
      if (exitInfo) return exitInfo
      proc.kill('SIGTERM')
      const t = setTimeout(() => proc.kill('SIGKILL'), ms)
      try {
        return await exited
      } finally {
        clearTimeout(t)
      }
    },
    async kill() {
      if (exitInfo) return exitInfo
      proc.kill('SIGKILL')
      return exited
    },
  }
  return handle
}

export interface InProcessNode {
  node: PovNode
  httpUrl: string
  wsUrl: string
  datadir: string
  stop(): Promise<void>
}

/** Starts a dev PovNode inside the test process (real LevelDB in a temp datadir, ports chosen by the OS). */
export async function startInProcessNode(opts: { datadir?: string; cfg?: Partial<NodeConfig>; rpc?: NodeConfig['rpc'] } = {}): Promise<InProcessNode> {
  const tmp = opts.datadir ? undefined : tempDir()
  const datadir = opts.datadir ?? tmp!.dir
  const cfg: NodeConfig = {
    dev: true,
    datadir,
    devPeriod: 0,
    txpool: {},
    logLevel: 'warn',
    ...opts.cfg,
    rpc: { httpAddr: '127.0.0.1', httpPort: 0, wsAddr: '127.0.0.1', wsPort: 0, ...opts.rpc },
  }
  const node = new PovNode(cfg, silentLogger)
  try {
    await node.start()
  } catch (e) {
    await node.stop().catch(() => {})
    tmp?.cleanup()
    throw e
  }
  return {
    node,
    httpUrl: node.httpUrl!,
    wsUrl: node.wsUrl!,
    datadir,
    async stop() {
      await node.stop()
      tmp?.cleanup()
    },
  }
}

export const hex = (n: bigint | number) => `0x${n.toString(16)}`
