import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bytesToHex, hexToBytes } from '../common/bytes.js'
import { keccak256 } from '../chain/keccak.js'
import { GenesisError } from './errors.js'

/**
 * Compiled Solidity of the project: the system contracts in `genesis/contracts/` (placed at
 * fixed addresses by genesis) and the source-chain contracts in `bridge/contracts/`.
 *
 * The build compiles them with the pinned solc (npm) into `dist/contracts/`, keyed by a hash of
 * the sources and settings; a node or a test that finds the artifacts missing or stale
 * compiles again (solc is then needed), so `dist/` can never serve bytecode of other sources.
 */
export const SOLC_VERSION = '0.8.30'
export const EVM_VERSION = 'prague'
/**
 * Each folder is compiled for the EVM it runs on: the system contracts for povchain (Prague);
 * the source-chain contracts (SwapLock, the test token) for any EVM chain the pre-launch token
 * may live on — Paris has no PUSH0, MCOPY or transient storage, which older chains reject.
 */
const CONTRACT_GROUPS = [
  { dir: 'genesis/contracts', evmVersion: EVM_VERSION },
  { dir: 'bridge/contracts', evmVersion: 'paris' },
] as const
const CONTRACT_DIRS = CONTRACT_GROUPS.map((g) => g.dir)

export interface ContractArtifact {
  name: string
  source: string
  abi: unknown[]
  /** Creation code (constructor arguments are appended ABI-encoded). */
  bytecode: Uint8Array
  deployedBytecode: Uint8Array
}

interface Manifest {
  sourcesHash: string
  solc: string
  contracts: Record<string, { source: string; evmVersion: string; abi: unknown[]; bytecode: string; deployedBytecode: string }>
}

/** The repository root: the nearest folder above this module with a package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new GenesisError('cannot find the project root (package.json) above ' + fileURLToPath(import.meta.url))
    dir = up
  }
  return dir
}

function readSources(root: string, dirs: readonly string[] = CONTRACT_DIRS): Record<string, { content: string }> {
  const sources: Record<string, { content: string }> = {}
  for (const d of dirs) {
    const abs = join(root, d)
    if (!existsSync(abs)) continue
    const walk = (dir: string) => {
      for (const f of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const p = join(dir, f.name)
        if (f.isDirectory()) walk(p)
        else if (f.name.endsWith('.sol')) sources[relative(root, p)] = { content: readFileSync(p, 'utf8') }
      }
    }
    walk(abs)
  }
  return sources
}

function settings(evmVersion: string) {
  return {
    optimizer: { enabled: true, runs: 200 },
    evmVersion,
    viaIR: true,
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  }
}

function hashSources(root: string): string {
  const groups = CONTRACT_GROUPS.map((g) => ({ settings: settings(g.evmVersion), sources: readSources(root, [g.dir]) }))
  const text = JSON.stringify({ solc: SOLC_VERSION, groups })
  return bytesToHex(keccak256(new TextEncoder().encode(text)))
}

/** Compiles every contract source with solc; throws with the compiler's messages on errors. */
export function compileContracts(root = projectRoot()): Manifest {
  const sourcesHash = hashSources(root)
  if (Object.keys(readSources(root)).length === 0) return { sourcesHash, solc: SOLC_VERSION, contracts: {} }
  const require = createRequire(import.meta.url)
  let solc: { compile(input: string): string; version(): string }
  try {
    solc = require('solc')
  } catch {
    throw new GenesisError('the contract artifacts are missing or stale and solc is not installed: run `npm install` (which builds them)')
  }
  if (!solc.version().startsWith(SOLC_VERSION)) throw new GenesisError(`solc ${SOLC_VERSION} expected, found ${solc.version()}`)
  const contracts: Manifest['contracts'] = {}
  for (const group of CONTRACT_GROUPS) {
    const sources = readSources(root, [group.dir])
    if (Object.keys(sources).length === 0) continue
    const out = JSON.parse(solc.compile(JSON.stringify({ language: 'Solidity', sources, settings: settings(group.evmVersion) }))) as {
      errors?: { severity: string; formattedMessage: string }[]
      contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>
    }
    const errors = (out.errors ?? []).filter((e) => e.severity === 'error')
    if (errors.length) throw new GenesisError(`Solidity compilation failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
    for (const [source, byName] of Object.entries(out.contracts ?? {}))
      for (const [name, c] of Object.entries(byName)) {
        if (contracts[name]) throw new GenesisError(`two contracts are named ${name} (${contracts[name]!.source} and ${source}): names must be unique`)
        contracts[name] = { source, evmVersion: group.evmVersion, abi: c.abi, bytecode: '0x' + c.evm.bytecode.object, deployedBytecode: '0x' + c.evm.deployedBytecode.object }
      }
  }
  return { sourcesHash, solc: solc.version(), contracts }
}

let loaded: Map<string, ContractArtifact> | undefined

/** All artifacts, compiling first when `dist/contracts` is missing or was built from other sources. */
export function loadContractArtifacts(root = projectRoot()): Map<string, ContractArtifact> {
  if (loaded) return loaded
  const file = join(root, 'dist', 'contracts', 'manifest.json')
  const want = hashSources(root)
  let manifest: Manifest | undefined
  if (existsSync(file)) {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest
    if (m.sourcesHash === want) manifest = m
  }
  if (!manifest) {
    manifest = compileContracts(root)
    writeArtifacts(root, manifest)
  }
  loaded = new Map(
    Object.entries(manifest.contracts).map(([name, c]) => [
      name,
      { name, source: c.source, abi: c.abi, bytecode: hexToBytes(c.bytecode), deployedBytecode: hexToBytes(c.deployedBytecode) },
    ]),
  )
  return loaded
}

export function contractArtifact(name: string): ContractArtifact {
  const a = loadContractArtifacts().get(name)
  if (!a) throw new GenesisError(`no contract named ${name} in ${CONTRACT_DIRS.join(' or ')}`)
  return a
}

/**
 * Writes dist/contracts/manifest.json, one ABI file per contract (for clients) and one
 * deployable artifact per contract in artifacts/ (name, ABI, creation and runtime bytecode,
 * compiler and EVM version: what `bridge deploy-lock`, ethers' ContractFactory or `cast send
 * --create` need to put SwapLock on a source chain).
 */
export function writeArtifacts(root: string, manifest: Manifest): void {
  const dir = join(root, 'dist', 'contracts')
  mkdirSync(join(dir, 'abi'), { recursive: true })
  mkdirSync(join(dir, 'artifacts'), { recursive: true })
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest))
  for (const [name, c] of Object.entries(manifest.contracts)) {
    writeFileSync(join(dir, 'abi', `${name}.json`), JSON.stringify(c.abi, null, 2))
    const artifact = { contractName: name, sourceName: c.source, compiler: `solc ${manifest.solc}`, evmVersion: c.evmVersion, abi: c.abi, bytecode: c.bytecode, deployedBytecode: c.deployedBytecode }
    writeFileSync(join(dir, 'artifacts', `${name}.json`), JSON.stringify(artifact, null, 2))
  }
}
