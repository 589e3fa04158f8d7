// Build step: compiles the project's Solidity into dist/contracts (see genesis/ContractArtifacts.ts).
import { compileContracts, projectRoot, writeArtifacts } from '../ContractArtifacts.js'

const root = projectRoot()
const t0 = Date.now()
const manifest = compileContracts(root)
writeArtifacts(root, manifest)
const names = Object.keys(manifest.contracts)
console.log(`contracts: ${names.length ? names.join(', ') : '(none)'} compiled with solc ${manifest.solc} in ${Date.now() - t0} ms -> dist/contracts`)

// EIP-170 caps runtime code at 24,576 bytes for contracts created by a transaction. The system
// contracts are placed in genesis, where the cap does not bind, so this is a notice, not an
// error: such a contract cannot be redeployed by `CREATE` on another chain as it stands.
const EIP170_LIMIT = 24_576
const over = names
  .map((n) => ({ n, bytes: (manifest.contracts[n]!.deployedBytecode.length - 2) / 2 }))
  .filter((c) => c.bytes > EIP170_LIMIT)
  .map((c) => `${c.n} ${c.bytes.toLocaleString('en-US')} bytes`)
if (over.length) console.log(`contracts over EIP-170's ${EIP170_LIMIT.toLocaleString('en-US')}-byte runtime cap (fine in genesis, not deployable by CREATE): ${over.join(', ')}`)
