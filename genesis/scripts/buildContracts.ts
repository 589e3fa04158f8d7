// Build step: compiles the project's Solidity into dist/contracts (see genesis/ContractArtifacts.ts).
import { compileContracts, projectRoot, writeArtifacts } from '../ContractArtifacts.js'

const root = projectRoot()
const t0 = Date.now()
const manifest = compileContracts(root)
writeArtifacts(root, manifest)
const names = Object.keys(manifest.contracts)
console.log(`contracts: ${names.length ? names.join(', ') : '(none)'} compiled with solc ${manifest.solc} in ${Date.now() - t0} ms -> dist/contracts`)
