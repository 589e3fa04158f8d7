import { Account, Address } from '@ethereumjs/util'
import { Block } from '../chain/Block.js'
import type { DbOp } from '../chain/Database.js'
import { BlockHeader } from '../chain/Header.js'
import { EMPTY_TRIE_ROOT } from '../chain/keccak.js'
import type { WorldState } from '../vm/WorldState.js'
import type { GenesisSpec } from './GenesisConfig.js'

const Z32 = new Uint8Array(32)
const Z20 = new Uint8Array(20)

/** Writes the genesis allocations into an empty state and returns block 0 with its state writes. */
export async function buildGenesis(spec: GenesisSpec, state: WorldState): Promise<{ block: Block; stateOps: DbOp[]; stateKeys: string[] }> {
  const vm = await state.genesisVM()
  const sm = vm.stateManager
  for (const a of spec.alloc) {
    const addr = new Address(a.address)
    await sm.putAccount(addr, new Account(a.nonce, a.balance))
    if (a.code.length) await sm.putCode(addr, a.code)
    for (const [k, v] of a.storage) await sm.putStorage(addr, k, v)
  }
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
    extraData: spec.extraData,
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
