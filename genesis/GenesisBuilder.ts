import { Account, Address } from '@ethereumjs/util'
import { Block } from '../chain/Block.js'
import type { DbOp } from '../chain/Database.js'
import { BlockHeader } from '../chain/Header.js'
import { EMPTY_TRIE_ROOT } from '../chain/keccak.js'
import type { WorldState } from '../vm/WorldState.js'
import type { VM } from '@ethereumjs/vm'
import { concatBytes } from '../common/bytes.js'
import { toEthjsBlock } from '../vm/BlockExecutor.js'
import { loadContractArtifacts, type ContractArtifact } from './ContractArtifacts.js'
import { GenesisError } from './errors.js'
import type { GenesisSpec, SystemContractSpec } from './GenesisConfig.js'

/**
 * Runs a system contract's constructor at its fixed address (as BNB Smart Chain and Polygon
 * place theirs), so its initial storage is set by its own code, then installs the runtime code.
 */
async function deploySystemContract(vm: VM, sc: SystemContractSpec, spec: GenesisSpec, artifacts: () => Map<string, ContractArtifact>): Promise<void> {
  const artifact = artifacts().get(sc.name)
  if (!artifact) throw new GenesisError(`config.systemContracts.${sc.name}: no contract of that name in the project's Solidity sources`)
  const addr = new Address(sc.address)
  const sm = vm.stateManager
  const existing = await sm.getAccount(addr)
  await sm.putAccount(addr, new Account(1n, (existing?.balance ?? 0n) + sc.balance))
  const res = await vm.evm.runCode({
    code: concatBytes(artifact.bytecode, sc.args),
    to: addr,
    caller: new Address(Z20),
    gasLimit: 1_000_000_000n,
    block: toEthjsBlock({ number: 0n, timestamp: spec.timestamp, gasLimit: spec.gasLimit, baseFeePerGas: spec.baseFeePerGas, coinbase: Z20, mixHash: Z32 }, vm.common) as never,
  })
  if (res.exceptionError) throw new GenesisError(`system contract ${sc.name}: constructor failed (${res.exceptionError.error})`)
  await sm.putCode(addr, res.returnValue)
}

const Z32 = new Uint8Array(32)
const Z20 = new Uint8Array(20)

/** Writes the genesis allocations into an empty state and returns block 0 with its state writes. */
export async function buildGenesis(
  spec: GenesisSpec,
  state: WorldState,
  artifacts: () => Map<string, ContractArtifact> = () => loadContractArtifacts(),
): Promise<{ block: Block; stateOps: DbOp[]; stateKeys: string[] }> {
  const vm = await state.genesisVM()
  const sm = vm.stateManager
  for (const a of spec.alloc) {
    const addr = new Address(a.address)
    await sm.putAccount(addr, new Account(a.nonce, a.balance))
    if (a.code.length) await sm.putCode(addr, a.code)
    for (const [k, v] of a.storage) await sm.putStorage(addr, k, v)
  }
  for (const sc of spec.systemContracts) await deploySystemContract(vm, sc, spec, artifacts)
  const stateRoot = await sm.getStateRoot()
  const header = new BlockHeader({
    parentHash: Z32,
    coinbase: Z20,
    stateRoot,
    transactionsRoot: EMPTY_TRIE_ROOT,
    receiptsRoot: EMPTY_TRIE_ROOT,
    logsBloom: new Uint8Array(256),
    number: 0n,
    gasLimit: spec.gasLimit,
    gasUsed: 0n,
    timestamp: spec.timestamp,
    vanity: spec.extraData,
    mixHash: Z32,
    baseFeePerGas: spec.baseFeePerGas,
    slot: 0n,
    producer: Z20,
    jobId: Z32,
    sessionId: Z32,
    workloadId: Z32,
    vrfOutput: Z32,
    vrfProof: new Uint8Array(0),
    attestations: [],
    seal: new Uint8Array(0),
  })
  const { ops, keys } = state.trieDb.takeOps()
  return { block: new Block(header, []), stateOps: ops, stateKeys: keys }
}
