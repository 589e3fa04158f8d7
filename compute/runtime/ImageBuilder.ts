import { execFileSync } from 'node:child_process'
import { createReadStream, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type Docker from 'dockerode'
import type { Logger } from '../../common/logger.js'
import { silentLogger } from '../../common/logger.js'
import { ComputeError } from '../ComputeError.js'
import { builtInWorkloads } from '../workloads/WorkloadRegistry.js'
import { imageConfig, imageDigest, writeImageArchive, writeLayer, type ImageRuntimeConfig } from './ImageArchive.js'
import type { TarEntry } from './TarArchive.js'

export interface ImageBuildOptions {
  /** Node binary to put in the image; default: the one running this process. */
  nodeBinary?: string
  /** Optional name for `docker images`; specs pin the digest. */
  repository?: string
  tag?: string
  /** Extra image labels (part of the config, so of the digest). */
  labels?: Record<string, string>
}

export interface BuiltImage {
  /** The OCI manifest digest, `sha256:…`: the same on every host for the same files. */
  digest: string
  /** `repository@digest`: what a spec names as its image. */
  reference: string
  /** The local Docker image id (sha256 of the config); also host-independent. */
  id: string
  bytes: number
  files: number
}

const ENTRY = '/app/compute/runtime/containerRunner.js'
const SKIP_DIRS = new Set(['test', 'scripts', 'examples', 'node_modules'])
export const BUILTIN_REPOSITORY = 'povchain/workloads'

/**
 * Builds images without a registry and without `docker import` (whose image id contains the
 * import time): a layer tar we write deterministically, a config created at the epoch, loaded
 * with `docker load`. The built-in workload image holds the Node binary, the shared libraries
 * `ldd` lists for it, our compute code and its one runtime dependency (@noble/hashes).
 */
export class ImageBuilder {
  private readonly logger: Logger

  constructor(
    private readonly docker: Docker,
    deps: { logger?: Logger; workDir?: string } = {},
  ) {
    this.logger = (deps.logger ?? silentLogger).child({ component: 'image-builder' })
    this.workDir = deps.workDir ?? tmpdir()
  }

  private readonly workDir: string

  /** The Node binary and its shared libraries, as image entries (also used by test images). */
  static nodeEntries(nodeBinary?: string): TarEntry[] {
    const node = realpathSync(nodeBinary ?? process.execPath)
    const entries: TarEntry[] = [{ path: 'usr/local/bin/node', data: new Uint8Array(readFileSync(node)), mode: 0o755 }]
    for (const lib of sharedLibraries(node)) entries.push({ path: lib.replace(/^\/+/, ''), data: new Uint8Array(readFileSync(realpathSync(lib))), mode: 0o755 })
    return entries
  }

  async collect(opts: ImageBuildOptions = {}): Promise<TarEntry[]> {
    const entries: TarEntry[] = ImageBuilder.nodeEntries(opts.nodeBinary)
    const addFile = (p: string, data: Uint8Array, mode = 0o644) => entries.push({ path: p.replace(/^\/+/, ''), data, mode })

    const here = dirname(fileURLToPath(import.meta.url))
    const computeDir = resolve(here, '..')
    const commonDir = resolve(computeDir, '..', 'common')
    const fromSource = import.meta.url.endsWith('.ts')
    const transpile = fromSource ? await loadTranspiler() : undefined
    for (const [dir, target] of [[computeDir, 'app/compute'], [commonDir, 'app/common']] as const) {
      for (const file of walk(dir)) {
        const rel = relative(dir, file)
        if (fromSource) {
          if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue
          const js = transpile!(readFileSync(file, 'utf8'), file)
          addFile(`${target}/${rel.replace(/\.ts$/, '.js')}`, new TextEncoder().encode(js))
        } else if (file.endsWith('.js')) addFile(`${target}/${rel}`, new Uint8Array(readFileSync(file)))
      }
    }
    addFile('app/package.json', new TextEncoder().encode(JSON.stringify({ name: 'povchain-workloads', private: true, type: 'module' })))

    const require = createRequire(import.meta.url)
    const nobleDir = dirname(require.resolve('@noble/hashes/sha3.js'))
    for (const file of walk(nobleDir)) {
      if (file.endsWith('.js') || file.endsWith('package.json')) addFile(`app/node_modules/@noble/hashes/${relative(nobleDir, file)}`, new Uint8Array(readFileSync(file)))
    }
    return withParentDirs(entries, ['job/in', 'job/out', 'tmp'])
  }

  async build(opts: ImageBuildOptions = {}): Promise<BuiltImage> {
    const entries = await this.collect(opts)
    const workloads = builtInWorkloads().map((w) => `${w.id}@${w.version}`).join(',')
    return this.buildFromEntries(entries, { entrypoint: ['/usr/local/bin/node', ENTRY], workdir: '/app', labels: { ...opts.labels, 'povchain.workloads': workloads } }, {
      repository: opts.repository ?? BUILTIN_REPOSITORY,
      ...(opts.tag ? { tag: opts.tag } : {}),
    })
  }

  /** Any root filesystem given as entries → a loaded image with a host-independent digest. */
  async buildFromEntries(entries: TarEntry[], config: ImageRuntimeConfig, opts: { repository: string; tag?: string }): Promise<BuiltImage> {
    const bytes = entries.reduce((n, e) => n + (e.data?.length ?? e.source?.size ?? 0), 0)
    const dir = await mkdtemp(join(this.workDir, 'povchain-image-'))
    try {
      this.logger.info({ files: entries.length, bytes }, 'writing the image layer')
      const layer = { ...(await writeLayer(entries, join(dir, 'layer.tar'))), file: join(dir, 'layer.tar') }
      const parts = { config: imageConfig([layer], config), layers: [layer] }
      const { digest, id } = imageDigest(parts)
      const archive = join(dir, 'image.tar')
      await writeImageArchive(archive, parts, `${opts.repository}:${opts.tag ?? digest.slice(7, 19)}`)
      await loadArchive(this.docker, archive, id)
      this.logger.info({ digest, id }, 'image built')
      return { digest, reference: `${opts.repository}@${digest}`, id, bytes, files: entries.length }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** `docker load` of an archive, checking the engine ended up with the expected image id. */
export async function loadArchive(docker: Docker, archive: string, expectedId: string): Promise<void> {
  let text: string
  try {
    const stream = await docker.loadImage(createReadStream(archive), { quiet: true })
    text = await new Promise<string>((res, rej) => {
      let s = ''
      stream.on('data', (d: Buffer) => (s += d.toString()))
      stream.on('end', () => res(s))
      stream.on('error', rej)
    })
  } catch (e) {
    throw new ComputeError('COMPUTE_IMAGE_BUILD', `docker load failed: ${(e as Error).message}`, { cause: e })
  }
  if (/"error"/.test(text)) throw new ComputeError('COMPUTE_IMAGE_BUILD', `docker load failed: ${text.slice(0, 400)}`)
  const info = await docker.getImage(expectedId).inspect().catch(() => undefined)
  if (!info) throw new ComputeError('COMPUTE_IMAGE_BUILD', `docker load did not produce image ${expectedId}: ${text.slice(0, 300)}`)
}

/** Adds every parent directory (and the given extra directories) of the entries, /tmp sticky. */
export function withParentDirs(entries: TarEntry[], extraDirs: string[] = []): TarEntry[] {
  const have = new Set(entries.map((e) => e.path.replace(/\/+$/, '')))
  const dirs = new Set<string>()
  const addDirs = (p: string) => {
    const parts = p.split('/').filter(Boolean)
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'))
  }
  for (const e of entries) addDirs(e.path)
  for (const d of extraDirs) addDirs(d + '/x')
  const out = [...entries]
  for (const d of dirs) if (!have.has(d)) out.push({ path: d, mode: d === 'tmp' ? 0o1777 : 0o755 })
  return out
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    const st = statSync(p)
    if (st.isDirectory()) {
      if (!SKIP_DIRS.has(name)) yield* walk(p)
    } else if (st.isFile()) yield p
  }
}

/** Paths of the shared libraries the binary loads, as the dynamic loader will look for them. */
export function sharedLibraries(binary: string): string[] {
  let out: string
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8' })
  } catch (e) {
    const msg = (e as Error).message
    if (/not a dynamic executable/.test(msg)) return []
    throw new ComputeError('COMPUTE_IMAGE_BUILD', `cannot list the shared libraries of ${binary} (is ldd installed?): ${msg}`, { cause: e })
  }
  const libs: string[] = []
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line)
    if (m) libs.push(m[1]!)
  }
  return libs
}

/** From the sources, TypeScript's transpileModule turns each file into the JS the image runs. */
async function loadTranspiler(): Promise<(src: string, file: string) => string> {
  let ts: typeof import('typescript')
  try {
    ts = (await import('typescript')).default
  } catch (e) {
    throw new ComputeError('COMPUTE_IMAGE_BUILD', 'building from TypeScript sources needs the typescript package (or build dist/ first)', { cause: e })
  }
  return (src, file) =>
    ts.transpileModule(src, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: false, isolatedModules: true },
    }).outputText
}
