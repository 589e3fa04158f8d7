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
const CONTRACT_DIRS = ['genesis/contracts', 'bridge/contracts']

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
  contracts: Record<string, { source: string; abi: unknown[]; bytecode: string; deployedBytecode: string }>
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

function readSources(root: string): Record<string, { content: string }> {
  const sources: Record<string, { content: string }> = {}
  for (const d of CONTRACT_DIRS) {
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

function settings() {
  return {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: EVM_VERSION,
    viaIR: true,
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  }
}

function hashSources(sources: Record<string, { content: string }>): string {
  const text = JSON.stringify({ solc: SOLC_VERSION, settings: settings(), sources })
  return bytesToHex(keccak256(new TextEncoder().encode(text)))
}

/** Compiles every contract source with solc; throws with the compiler's messages on errors. */
export function compileContracts(root = projectRoot()): Manifest {
  const sources = readSources(root)
  if (Object.keys(sources).length === 0) return { sourcesHash: hashSources(sources), solc: SOLC_VERSION, contracts: {} }
  const require = createRequire(import.meta.url)
  let solc: { compile(input: string): string; version(): string }
  try {
    solc = require('solc')
  } catch {
    throw new GenesisError('the contract artifacts are missing or stale and solc is not installed: run `npm install` (which builds them)')
  }
  if (!solc.version().startsWith(SOLC_VERSION)) throw new GenesisError(`solc ${SOLC_VERSION} expected, found ${solc.version()}`)
  const out = JSON.parse(solc.compile(JSON.stringify({ language: 'Solidity', sources, settings: settings() }))) as {
    errors?: { severity: string; formattedMessage: string }[]
    contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>
  }
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length) throw new GenesisError(`Solidity compilation failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
  const contracts: Manifest['contracts'] = {}
  for (const [source, byName] of Object.entries(out.contracts ?? {}))
    for (const [name, c] of Object.entries(byName)) {
      if (contracts[name]) throw new GenesisError(`two contracts are named ${name} (${contracts[name]!.source} and ${source}): names must be unique`)
      contracts[name] = { source, abi: c.abi, bytecode: '0x' + c.evm.bytecode.object, deployedBytecode: '0x' + c.evm.deployedBytecode.object }
    }
  return { sourcesHash: hashSources(sources), solc: solc.version(), contracts }
}

let loaded: Map<string, ContractArtifact> | undefined

/** All artifacts, compiling first when `dist/contracts` is missing or was built from other sources. */
export function loadContractArtifacts(root = projectRoot()): Map<string, ContractArtifact> {
  if (loaded) return loaded
  const file = join(root, 'dist', 'contracts', 'manifest.json')
  const want = hashSources(readSources(root))
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

/** Writes dist/contracts/manifest.json and one ABI file per contract (for clients). */
export function writeArtifacts(root: string, manifest: Manifest): void {
  const dir = join(root, 'dist', 'contracts')
  mkdirSync(join(dir, 'abi'), { recursive: true })
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest))
  for (const [name, c] of Object.entries(manifest.contracts)) writeFileSync(join(dir, 'abi', `${name}.json`), JSON.stringify(c.abi, null, 2))
}
