import { createMPT } from '@ethereumjs/mpt'
import { createAccountFromRLP } from '@ethereumjs/util'
import type { WorldState } from '../vm/WorldState.js'

export interface SupplyAudit {
  /** Sum of every account's balance in the state. */
  totalSupply: bigint
  accounts: number
}

/**
 * The native coin supply at a state root, by walking every account of the state trie and
 * adding up the balances: not a counter that could drift, but the state itself, so a burn
 * (coins deleted from the state, as SwapBridge.finalize does) shows as a lower total. It reads
 * the whole account trie: cheap on a dev or young chain, O(accounts) in general.
 */
export async function auditTotalSupply(state: WorldState, stateRoot: Uint8Array): Promise<SupplyAudit> {
  const trie = await createMPT({ db: state.trieDb, useKeyHashing: true, valueEncoding: 'view', cacheSize: 0, common: state.common, root: stateRoot })
  let totalSupply = 0n
  let accounts = 0
  await trie.walkAllValueNodes(async (node) => {
    const value = (node as { value(): Uint8Array | null }).value()
    if (!value) return
    totalSupply += createAccountFromRLP(value).balance
    accounts++
  })
  return { totalSupply, accounts }
}
