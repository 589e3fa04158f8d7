import { execFileSync } from 'node:child_process'
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type Docker from 'dockerode'
import type { Logger } from '../common/logger.js'
import { ImageBuilder, type BuiltImage } from '../compute/index.js'
import type { TarEntry } from '../compute/runtime/TarArchive.js'
import { withParentDirs } from '../compute/runtime/ImageBuilder.js'
import { NodeError } from '../node/errors.js'

export const NODE_IMAGE_REPOSITORY = 'povchain/node'
/** Where the image keeps the node's data: mount a volume here. */
export const NODE_IMAGE_DATADIR = '/data'
const APP = 'opt/povchain'

/** Files a package ships that the node never reads at run time. */
const SKIPPED_FILE = /(\.d\.[cm]?ts|\.map|\.md|\.markdown|LICENSE-?\w*\.txt)$/i

export interface NodeImageOptions {
  repository?: string
  tag?: string
  /** The repository checkout to package (default: the one this CLI runs from). */
  root?: string
}

export interface BuiltNodeImage extends BuiltImage {
  version: string
  packages: number
}

/** The checkout this CLI runs from: dist/cli/NodeImage.js or cli/NodeImage.ts, one level under it. */
function checkoutRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const up = resolve(here, '..')
  return up.endsWith(`${'/'}dist`) ? resolve(up, '..') : up
}

function* files(dir: string, skipDirs: Set<string>): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    const st = lstatSync(p)
    if (st.isDirectory()) {
      if (!skipDirs.has(name)) yield* files(p, skipDirs)
    } else if (st.isFile() || st.isSymbolicLink()) yield p
  }
}

/**
 * `povchain image build`: the node as a container image, built without a registry or internet
 * the way `compute image build` builds the workload image — the Node 22 binary and the shared
 * libraries it loads, the built node (`dist/`, without tests and benchmarks) and the
 * production dependencies `npm ls --omit=dev` lists, in one deterministic layer loaded with
 * `docker load` (the same digest for the same files on every host). Entry point: the povchain
 * CLI, working directory and suggested volume /data.
 */
export async function buildNodeImage(docker: Docker, opts: NodeImageOptions, deps: { logger?: Logger } = {}): Promise<BuiltNodeImage> {
  const root = opts.root ?? checkoutRoot()
  const dist = join(root, 'dist')
  try {
    statSync(join(dist, 'cli', 'cli.js'))
  } catch {
    throw new NodeError('NOT_BUILT', `${dist}/cli/cli.js is missing: run \`npm run build\` (npm install does) in ${root} first`)
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  // The Node binary npm scripts run (the `node` devDependency), not whatever runs this command.
  const nodeBinary = [join(root, 'node_modules', 'node', 'bin', 'node'), process.execPath].find((p) => {
    try {
      return Number(/^v(\d+)/.exec(execFileSync(p, ['--version'], { encoding: 'utf8' }))?.[1]) >= 22
    } catch {
      return false
    }
  })
  if (!nodeBinary) throw new NodeError('NODE_VERSION', 'no Node 22 binary to put in the image: run `npm install` (it fetches one into node_modules/node)')
  const entries: TarEntry[] = ImageBuilder.nodeEntries(nodeBinary)
  const add = (abs: string, target: string) => {
    const st = lstatSync(abs)
    if (st.isSymbolicLink()) {
      const real = realpathSync(abs)
      entries.push({ path: target, source: { file: real, size: statSync(real).size }, mode: statSync(real).mode & 0o777 })
    } else entries.push({ path: target, source: { file: abs, size: st.size }, mode: st.mode & 0o111 ? 0o755 : 0o644 })
  }
  for (const f of files(dist, new Set(['test', 'bench']))) if (!SKIPPED_FILE.test(f)) add(f, `${APP}/dist/${relative(dist, f)}`)
  // The contract sources beside their artifacts: genesis checks dist/contracts against their hash.
  for (const dir of ['genesis/contracts', 'bridge/contracts'])
    for (const f of files(join(root, dir), new Set())) if (f.endsWith('.sol')) add(f, `${APP}/${relative(root, f)}`)
  entries.push({ path: `${APP}/package.json`, data: new TextEncoder().encode(JSON.stringify({ name: 'povchain', version: pkg.version, private: true, type: 'module' })), mode: 0o644 })

  let listing: string
  try {
    listing = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  } catch (e) {
    // npm ls exits 1 on extraneous or missing optional packages but still lists the tree.
    listing = String((e as { stdout?: string }).stdout ?? '')
    if (!listing) throw new NodeError('NPM_LS', `npm ls --omit=dev failed in ${root}: ${(e as Error).message}`)
  }
  const packages = listing.split('\n').map((l) => l.trim()).filter((l) => l && l !== root)
  for (const dir of packages) {
    // Each package without its own node_modules: nested packages are listed separately.
    for (const f of files(dir, new Set(['node_modules']))) if (!SKIPPED_FILE.test(f)) add(f, `${APP}/${relative(root, f)}`)
  }
  const all = withParentDirs(entries, ['data', 'tmp'])
  deps.logger?.info({ files: all.length, packages: packages.length }, 'node image: files collected')
  const built = await new ImageBuilder(docker, deps.logger ? { logger: deps.logger } : {}).buildFromEntries(
    all,
    {
      entrypoint: ['/usr/local/bin/node', `/${APP}/dist/cli/cli.js`],
      workdir: NODE_IMAGE_DATADIR,
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production'],
      labels: { 'org.opencontainers.image.title': 'povchain node', 'org.opencontainers.image.version': pkg.version },
    },
    { repository: opts.repository ?? NODE_IMAGE_REPOSITORY, tag: opts.tag ?? pkg.version },
  )
  return { ...built, version: pkg.version, packages: packages.length }
}
