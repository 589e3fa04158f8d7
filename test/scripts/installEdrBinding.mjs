// Hardhat (a real client in our tests, and the source chain of the bridge test) runs its EVM
// from a native platform package, @nomicfoundation/edr-<platform>, that EDR declares as an
// optional dependency requiring Node 22. `npm install` itself runs on the machine's Node (20
// on ours) and silently drops optional packages whose `engines` it does not meet — although
// everything here runs on the Node 22 pinned by the `node` devDependency. Run from `prepare`
// (where node_modules/.bin, and so Node 22, comes first on PATH), this fetches the package for
// this platform when it is missing, checked against the lockfile's integrity.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(join(root, 'package.json'))

function platformSuffix() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const glibc = process.report?.getReport()?.header?.glibcVersionRuntime
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

let edrManifestPath
try {
  // Its `exports` hide package.json; its entry point sits at the package root.
  edrManifestPath = join(dirname(require.resolve('@nomicfoundation/edr')), 'package.json')
} catch {
  process.exit(0) // no Hardhat here (a production install without devDependencies)
}
const edr = JSON.parse(readFileSync(edrManifestPath, 'utf8'))
const name = `@nomicfoundation/edr-${platformSuffix()}`
const version = edr.optionalDependencies?.[name]
if (!version) process.exit(0) // EDR has no binary for this platform; Hardhat says so itself
const target = join(dirname(edrManifestPath), '..', name.split('/')[1])
if (existsSync(join(target, 'package.json'))) process.exit(0)

const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'))
const expected = lock.packages?.[`node_modules/${name}`]?.integrity
const work = mkdtempSync(join(tmpdir(), 'povchain-edr-'))
try {
  const out = execFileSync('npm', ['pack', `${name}@${version}`, '--pack-destination', work, '--json', '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  const [packed] = JSON.parse(out)
  if (expected && packed.integrity !== expected) {
    throw new Error(`${name}@${version}: integrity ${packed.integrity} differs from package-lock.json's ${expected}`)
  }
  mkdirSync(target, { recursive: true })
  execFileSync('tar', ['-xzf', join(work, packed.filename), '-C', target, '--strip-components=1'])
  console.log(`installed ${name}@${version} into ${target} (Hardhat's EVM, which npm skips when it runs on a Node older than 22)`)
} catch (e) {
  // Only the Hardhat tests need it: say why they will fail, but do not fail the install.
  console.warn(`warning: could not install ${name}@${version}: ${e.message}`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
