/**
 * A header with every field filled (distinct fills, so an encoding that drops or swaps a field
 * shows) for tests that need a block context or a chain of stored blocks, not a valid one:
 * `fixtureHeader({ number, parentHash, … })` overrides what the test cares about.
 */
import { BlockHeader, type HeaderData } from '../Header.js'
import { EMPTY_TRIE_ROOT } from '../keccak.js'

const z = (n: number, fill = 0) => new Uint8Array(n).fill(fill)

export function fixtureHeader(fields: Partial<HeaderData> = {}): BlockHeader {
  const number = fields.number ?? 1n
  return new BlockHeader({
    parentHash: z(32),
    coinbase: z(20, 0xc0),
    stateRoot: EMPTY_TRIE_ROOT,
    transactionsRoot: EMPTY_TRIE_ROOT,
    receiptsRoot: EMPTY_TRIE_ROOT,
    logsBloom: z(256),
    number,
    gasLimit: 30_000_000n,
    gasUsed: 0n,
    timestamp: 1_700_000_000n + number * 2n,
    vanity: z(0),
    mixHash: z(32),
    baseFeePerGas: 1_000_000_000n,
    slot: number,
    producer: z(20, 0x50),
    jobId: z(32, 1),
    sessionId: z(32, 2),
    workloadId: z(32, 3),
    vrfOutput: z(32, 4),
    vrfProof: z(80, 5),
    attestations: [],
    seal: z(65, 7),
    ...fields,
  })
}
