/** Compiles Solidity sources in the test with solc-js (npm `solc`, standard JSON input). */
import solc from 'solc'

export interface Compiled {
  abi: unknown[]
  bytecode: `0x${string}`
  deployedBytecode: `0x${string}`
}

export function compileSolidity(sources: Record<string, string>, evmVersion = 'prague'): Record<string, Compiled> {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: {
      evmVersion,
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  }
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[]
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>
  }
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
  const result: Record<string, Compiled> = {}
  for (const file of Object.values(out.contracts))
    for (const [name, c] of Object.entries(file))
      result[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}`, deployedBytecode: `0x${c.evm.deployedBytecode.object}` }
  return result
}

/** The opcodes of EVM bytecode (PUSH data skipped), to check e.g. that PUSH0 or TSTORE are used. */
export function opcodes(code: string): Set<number> {
  const b = Buffer.from(code.replace(/^0x/, ''), 'hex')
  const ops = new Set<number>()
  for (let i = 0; i < b.length; i++) {
    const op = b[i]!
    ops.add(op)
    if (op >= 0x60 && op <= 0x7f) i += op - 0x5f
  }
  return ops
}

export const solcVersion = (): string => solc.version()
