import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import type { Logger } from '../../../common/logger.js'
import { silentLogger } from '../../../common/logger.js'
import { ComputeError } from '../../ComputeError.js'
import { imageConfig, imageDigest, writeImageArchive, writeLayer, type Descriptor } from '../ImageArchive.js'
import { withFileLock } from '../FileLock.js'
import { loadArchive, withParentDirs, type BuiltImage } from '../ImageBuilder.js'
import type { TarEntry } from '../TarArchive.js'
import { TORCH_RUNNER_PATH, TORCH_RUNNER_SOURCE } from './torchRunnerSource.js'

export const TORCH_PACKAGES = ['python3-torch', 'python3-numpy']
export const TORCH_REPOSITORY = 'povchain/torch'
export const TORCH_WORKLOADS = ['torch-mlp-train@1', 'torch-mlp-infer@1']

export interface TorchImageOptions {
  /** Where the root filesystem layer is cached, keyed by suite, mirror and package list. */
  cacheDir: string
  /** Debian mirror; default: the first one in /etc/apt/sources.list(.d). */
  mirror?: string
  suite?: string
  packages?: string[]
  /** A root already debootstrapped (same suite, mirror, packages) to use instead of running debootstrap. */
  rootfs?: string
  workDir?: string
}

/** Default cache of root file system layers: $POVCHAIN_IMAGE_CACHE or ~/.cache/povchain/images. */
export function defaultImageCache(): string {
  return process.env.POVCHAIN_IMAGE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'povchain', 'images')
}

export interface BuiltTorchImage extends BuiltImage {
  /** Whether the root filesystem layer came from the cache (no debootstrap run). */
  cached: boolean
  /** Whether this build loaded the image into the engine (false: the engine held it already, by its content id). */
  loaded: boolean
  /** Seconds spent in debootstrap (0 when cached) and in total. */
  debootstrapSeconds: number
  seconds: number
  rootfsLayer: string
}

/** The mirror the machine's apt already uses (deb822 `URIs:` or one-line `deb URL suite`). */
export function debianMirror(): string {
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').sort().map((f) => join('/etc/apt/sources.list.d', f)) : [])]
  for (const f of files) {
    let text: string
    try {
      text = readFileSync(f, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n')) {
      const m = /^\s*URIs:\s*(\S+)/.exec(line) ?? /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/.exec(line)
      if (m && !/security/.test(m[1]!)) return m[1]!
    }
  }
  throw new ComputeError('COMPUTE_IMAGE_BUILD', 'no Debian mirror in /etc/apt/sources.list(.d): pass --mirror URL')
}

/**
 * `povchain compute image build --torch`: a Debian bookworm root file system with PyTorch from
 * Debian's own packages (debootstrap from the machine's mirror, no pip, no other internet), plus
 * the runner (torchRunnerSource.ts) as a second layer, loaded with a host-independent digest
 * given the root layer. The root layer is cached: a rebuild with the same package list only
 * re-hashes it.
 */
export async function buildTorchImage(docker: Docker, opts: TorchImageOptions, deps: { logger?: Logger } = {}): Promise<BuiltTorchImage> {
  const log = (deps.logger ?? silentLogger).child({ component: 'torch-image' })
  const t0 = performance.now()
  const suite = opts.suite ?? 'bookworm'
  const packages = [...(opts.packages ?? TORCH_PACKAGES)].sort()
  const mirror = opts.mirror ?? debianMirror()
  // --rootfs stands for the root debootstrap would make from this mirror and list: same key.
  const key = createHash('sha256').update(JSON.stringify({ v: 1, suite, mirror, packages, variant: 'minbase' })).digest('hex').slice(0, 16)
  await mkdir(opts.cacheDir, { recursive: true })
  const layerFile = join(opts.cacheDir, `torch-rootfs-${key}.tar`)
  const metaFile = `${layerFile}.json`
  let rootLayer!: Descriptor
  let cached = true
  let debootstrapSeconds = 0
  // One writer of the cache entry at a time: a second build waits and then finds it cached.
  await withFileLock(`${layerFile}.lock`, async () => {
    const meta = await readFile(metaFile, 'utf8').then((t) => JSON.parse(t) as Descriptor, () => undefined)
    if (meta && existsSync(layerFile)) {
      rootLayer = meta
      log.info({ layer: layerFile, digest: meta.digest }, 'root file system layer from the cache')
    } else {
      cached = false
      const work = await mkdtemp(join(opts.workDir ?? opts.cacheDir, 'rootfs-'))
      try {
        let root = opts.rootfs
        if (!root) {
          root = join(work, 'root')
          const d0 = performance.now()
          await debootstrap(suite, root, mirror, packages, log)
          debootstrapSeconds = (performance.now() - d0) / 1000
        }
        log.info({ root }, 'writing the root file system layer')
        const tmp = `${layerFile}.${process.pid}.tmp`
        rootLayer = await writeLayer(await rootfsEntries(root), tmp)
        await rename(tmp, layerFile)
        await writeFile(metaFile, JSON.stringify(rootLayer))
      } finally {
        await rm(work, { recursive: true, force: true })
      }
    }
  }, { onWait: (holder) => log.info({ holder, layer: layerFile }, 'another build is writing the root layer: waiting for it') })

  const dir = await mkdtemp(join(opts.workDir ?? opts.cacheDir, 'torch-image-'))
  try {
    const runnerEntries = withParentDirs([{ path: TORCH_RUNNER_PATH.slice(1), data: new TextEncoder().encode(TORCH_RUNNER_SOURCE), mode: 0o644 }], ['job/in', 'job/out'])
    const runnerLayer = await writeLayer(runnerEntries, join(dir, 'runner.tar'))
    const layers = [
      { ...rootLayer, file: layerFile },
      { ...runnerLayer, file: join(dir, 'runner.tar') },
    ]
    const config = imageConfig(layers, {
      entrypoint: ['/usr/bin/python3', TORCH_RUNNER_PATH],
      workdir: '/app',
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'OMP_NUM_THREADS=1', 'MKL_NUM_THREADS=1', 'PYTHONDONTWRITEBYTECODE=1', 'PYTHONHASHSEED=0'],
      labels: { 'povchain.workloads': TORCH_WORKLOADS.join(','), 'povchain.packages': packages.join(',') },
    })
    const parts = { config, layers }
    const { digest, id } = imageDigest(parts)
    const tag = digest.slice(7, 19)
    // The id is the config's sha256, known before a byte is written: an engine that holds it holds
    // this very image (the config commits to every layer), so the 1.3 GB archive is neither written
    // nor loaded again — the torch test files and a rebuild pay the load once per engine. Under a
    // lock, so two builds at once (tap runs test files in parallel) load it once.
    const loaded = await withFileLock(join(opts.cacheDir, `torch-load-${id.slice(7, 23)}.lock`), async () => {
      if (await docker.getImage(id).inspect().then(() => true, () => false)) {
        await docker.getImage(id).tag({ repo: TORCH_REPOSITORY, tag })
        log.info({ digest, id }, 'the torch image is already on the engine (same content id): not loaded again')
        return false
      }
      const archive = join(dir, 'image.tar')
      await writeImageArchive(archive, parts, `${TORCH_REPOSITORY}:${tag}`)
      log.info({ digest }, 'loading the torch image')
      await loadArchive(docker, archive, id)
      return true
    })
    const seconds = (performance.now() - t0) / 1000
    log.info({ digest, id, seconds, cached, loaded }, 'torch image built')
    return { digest, id, reference: `${TORCH_REPOSITORY}@${digest}`, bytes: rootLayer.size + runnerLayer.size, files: runnerEntries.length, cached, loaded, debootstrapSeconds, seconds, rootfsLayer: layerFile }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function debootstrap(suite: string, root: string, mirror: string, packages: string[], log: Logger): Promise<void> {
  try {
    execFileSync('sh', ['-c', 'command -v debootstrap'])
  } catch {
    throw new ComputeError('COMPUTE_IMAGE_BUILD', 'debootstrap is not installed: apt-get install debootstrap')
  }
  if (process.getuid?.() !== 0) throw new ComputeError('COMPUTE_IMAGE_BUILD', 'debootstrap needs root (run the build as root, or pass --rootfs with a root made elsewhere)')
  log.info({ suite, mirror, packages }, 'debootstrap (several minutes the first time)')
  await new Promise<void>((res, rej) => {
    const p = spawn('debootstrap', ['--variant=minbase', `--include=${packages.join(',')}`, suite, root, mirror], { stdio: ['ignore', 'pipe', 'pipe'] })
    let tail = ''
    const onData = (d: Buffer) => {
      tail = (tail + d.toString()).slice(-4000)
      for (const l of d.toString().split('\n')) if (l.startsWith('I: Retrieving') === false && l.trim()) log.debug({ debootstrap: l }, 'debootstrap')
    }
    p.stdout.on('data', onData)
    p.stderr.on('data', onData)
    p.on('error', rej)
    p.on('exit', (code) => (code === 0 ? res() : rej(new ComputeError('COMPUTE_IMAGE_BUILD', `debootstrap failed (exit ${code}):\n${tail}`))))
  })
}

// Left out of the layer: caches, logs and the kernel's mount points (the engine provides those).
const SKIP = [/^var\/cache\/apt\/archives\/.+\.deb$/, /^var\/lib\/apt\/lists\/.+/, /^var\/log\/.+/, /^var\/cache\/debconf\/.+-old$/, /^(proc|sys|dev|run)\/.+/, /^debootstrap(\/|$)/]

/** Every file of a root, as layer entries: regular files streamed, symlinks, hard links kept. */
export async function rootfsEntries(root: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = []
  const byInode = new Map<string, TarEntry[]>()
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name
      if (SKIP.some((s) => s.test(r))) continue
      const abs = join(root, r)
      const st = await lstat(abs)
      if (st.isDirectory()) {
        entries.push({ path: r, mode: st.mode })
        await walk(r)
      } else if (st.isSymbolicLink()) entries.push({ path: r, symlink: await readlink(abs) })
      else if (st.isFile()) {
        const e: TarEntry = { path: r, source: { file: abs, size: st.size }, mode: st.mode }
        entries.push(e)
        if (st.nlink > 1) {
          const k = `${st.dev}:${st.ino}`
          byInode.set(k, [...(byInode.get(k) ?? []), e])
        }
      }
      // Devices, sockets and FIFOs: the engine creates /dev itself.
    }
  }
  await walk('')
  // Hard links: the first path in sort order carries the data, the others link to it.
  for (const group of byInode.values()) {
    group.sort((a, b) => (a.path < b.path ? -1 : 1))
    for (const e of group.slice(1)) {
      delete e.source
      e.hardlink = group[0]!.path
    }
  }
  return withParentDirs(entries, ['tmp'])
}
