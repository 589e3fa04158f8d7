import type { Test } from 'tap'
import { DockerRuntime } from '../runtime/DockerRuntime.js'
import { debianMirror } from '../runtime/torch/TorchImage.js'

/**
 * Docker tests skip with a visible reason when no engine answers — unless
 * POVCHAIN_REQUIRE_DOCKER=1 (CI), where a missing engine is a failure.
 */
export async function requireDocker(t: Test): Promise<DockerRuntime | undefined> {
  const rt = new DockerRuntime()
  // Generous: on a loaded 2-core machine the first request (dockerode loading its modem) took
  // over 3 s and a running engine was reported missing — a skip that hid the Docker half.
  const probe = await rt.probe(15_000)
  if (probe.available) return rt
  if (process.env.POVCHAIN_REQUIRE_DOCKER === '1') {
    t.fail(`POVCHAIN_REQUIRE_DOCKER=1 but ${probe.reason}`)
    return undefined
  }
  t.comment(`SKIP docker tests: ${probe.reason} (set POVCHAIN_REQUIRE_DOCKER=1 to make this a failure)`)
  t.test('docker engine', { skip: `no Docker engine: ${probe.reason}` }, () => {})
  return undefined
}

/** A free TCP port on 127.0.0.1 (for a registry started by a test). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((res, rej) => {
    const s = createServer()
    s.once('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => res(port))
    })
  })
}

export interface SideProcess {
  stop(): Promise<void>
}

async function spawnUntil(cmd: string, args: string[], ready: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<SideProcess & { log: () => string }> {
  const { spawn } = await import('node:child_process')
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  p.stdout.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)))
  p.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)))
  const exited = new Promise<void>((r) => p.once('exit', () => r()))
  const stop = async () => {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    await exited
  }
  const deadline = Date.now() + timeoutMs
  while (!(await ready().catch(() => false))) {
    if (p.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`${what} did not start: ${log.slice(-2000)}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return { stop, log: () => log }
}

/** Debian's `docker-registry` (distribution 2.x) on 127.0.0.1, storing in `dir`. */
export async function startRegistry(dir: string): Promise<(SideProcess & { address: string }) | { missing: string }> {
  const { execFileSync } = await import('node:child_process')
  const { writeFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  try {
    execFileSync('sh', ['-c', 'command -v docker-registry'])
  } catch {
    return { missing: 'docker-registry is not installed (apt-get install docker-registry)' }
  }
  const port = await freePort()
  const config = join(dir, 'registry.yml')
  writeFileSync(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`)
  const address = `127.0.0.1:${port}`
  const p = await spawnUntil('docker-registry', ['serve', config], async () => (await fetch(`http://${address}/v2/`)).status === 200, 'docker-registry')
  return { ...p, address }
}

/**
 * A second Docker engine with its own data root and socket (a second "host"): needs dockerd and
 * root. `--iptables=false --bridge=none`: jobs have no network anyway.
 */
export async function startEngine(dir: string): Promise<(SideProcess & { socket: string }) | { missing: string }> {
  const { execFileSync } = await import('node:child_process')
  const { join } = await import('node:path')
  try {
    execFileSync('sh', ['-c', 'command -v dockerd'])
  } catch {
    return { missing: 'dockerd is not installed' }
  }
  if (process.getuid?.() !== 0) return { missing: 'a second dockerd needs root' }
  const socket = join(dir, 'docker.sock')
  const args = ['--iptables=false', '--bridge=none', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'pid'), '-H', `unix://${socket}`]
  const rt = new DockerRuntime({ socketPath: socket })
  const p = await spawnUntil('dockerd', args, async () => (await rt.probe(1000)).available, 'second dockerd', 60_000)
  return { ...p, socket }
}

/** Why the PyTorch image cannot be built here (debootstrap, root, a Debian mirror), or undefined. */
export async function torchBuildMissing(): Promise<string | undefined> {
  const { execFileSync } = await import('node:child_process')
  try {
    execFileSync('sh', ['-c', 'command -v debootstrap'])
  } catch {
    return 'debootstrap is not installed (apt-get install debootstrap)'
  }
  if (process.getuid?.() !== 0) return 'debootstrap needs root'
  try {
    debianMirror()
  } catch (e) {
    return (e as Error).message
  }
  return undefined
}
