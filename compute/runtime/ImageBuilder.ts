import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type Docker from 'dockerode'
import type { Logger } from '../../common/logger.js'
import { silentLogger } from '../../common/logger.js'
import { ComputeError } from '../ComputeError.js'
import { builtInWorkloads } from '../workloads/WorkloadRegistry.js'
import { tarChunks, type TarEntry } from './TarArchive.js'

export interface ImageBuildOptions {
  /** Node binary to put in the image; default: the one running this process. */
  nodeBinary?: string
  /** Optional name for `docker images`; specs must still pin the digest. */
  repository?: string
  tag?: string
}

export interface BuiltImage {
  /** The image id, `sha256:…` — the reference a spec pins. */
  digest: string
  bytes: number
  files: number
}

const ENTRY = '/app/compute/runtime/containerRunner.js'
const SKIP_DIRS = new Set(['test', 'scripts', 'examples', 'node_modules'])

/**
 * Builds the built-in workload image without any registry: a root filesystem of the Node binary,
 * the shared libraries `ldd` lists for it, our compute code and its one runtime dependency
 * (@noble/hashes), streamed as a tar into `docker import`.
 */
export class ImageBuilder {
  private readonly logger: Logger

  constructor(
    private readonly docker: Docker,
    deps: { logger?: Logger } = {},
  ) {
    this.logger = (deps.logger ?? silentLogger).child({ component: 'image-builder' })
  }

  async collect(opts: ImageBuildOptions = {}): Promise<TarEntry[]> {
    const entries: TarEntry[] = []
    const dirs = new Set<string>()
    const addDirs = (p: string) => {
      const parts = p.split('/').filter(Boolean)
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'))
    }
    const addFile = (p: string, data: Uint8Array, mode = 0o644) => {
      addDirs(p)
      entries.push({ path: p.replace(/^\/+/, ''), data, mode })
    }

    const node = realpathSync(opts.nodeBinary ?? process.execPath)
    addFile('usr/local/bin/node', new Uint8Array(readFileSync(node)), 0o755)
    for (const lib of sharedLibraries(node)) addFile(lib, new Uint8Array(readFileSync(realpathSync(lib))), 0o755)

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
    for (const d of ['job/in', 'job/out', 'tmp']) addDirs(d + '/x')
    for (const d of dirs) entries.push({ path: d, mode: d === 'tmp' ? 0o1777 : 0o755 })
    return entries
  }

  async build(opts: ImageBuildOptions = {}): Promise<BuiltImage> {
    const entries = await this.collect(opts)
    const bytes = entries.reduce((n, e) => n + (e.data?.length ?? 0), 0)
    this.logger.info({ files: entries.length, bytes }, 'importing root filesystem')
    const workloads = builtInWorkloads().map((w) => `${w.id}@${w.version}`).join(',')
    let stream: NodeJS.ReadableStream
    try {
      stream = await this.docker.importImage(Readable.from(tarChunks(entries)), {
        changes: [`ENTRYPOINT ["/usr/local/bin/node", "${ENTRY}"]`, 'WORKDIR /app', `LABEL povchain.workloads=${workloads}`],
        ...(opts.repository ? { repo: opts.repository, tag: opts.tag ?? 'local' } : {}),
      })
    } catch (e) {
      throw new ComputeError('COMPUTE_IMAGE_BUILD', `docker import failed: ${(e as Error).message}`, { cause: e })
    }
    const text = await new Promise<string>((res, rej) => {
      let s = ''
      stream.on('data', (d: Buffer) => (s += d.toString()))
      stream.on('end', () => res(s))
      stream.on('error', rej)
    })
    const m = /sha256:[0-9a-f]{64}/.exec(text)
    if (!m) throw new ComputeError('COMPUTE_IMAGE_BUILD', `docker import returned no image id: ${text.slice(0, 300)}`)
    const info = await this.docker.getImage(m[0]).inspect()
    this.logger.info({ digest: info.Id }, 'image built')
    return { digest: info.Id, bytes, files: entries.length }
  }
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
