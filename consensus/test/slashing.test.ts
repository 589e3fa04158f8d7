import t from 'tap'
import { BlockHeader } from '../../chain/Header.js'
import { privateKeyToAddress, sealHeader } from '../../chain/Seal.js'
import { checkDoubleProduction, checkDoubleVote, checkSurroundVote } from '../SlashingEvidence.js'
import { signVote, type UnsignedVote } from '../SignedVote.js'

const key = (n: number) => new Uint8Array(32).fill(n)
const K1 = key(1)
const K2 = key(2)
const A1 = privateKeyToAddress(K1)
const h32 = (n: number) => new Uint8Array(32).fill(n)

function header(slot: bigint, producer: Uint8Array, extra = 0): BlockHeader {
  return new BlockHeader({
    parentHash: h32(9), coinbase: producer, stateRoot: h32(0), transactionsRoot: h32(0), receiptsRoot: h32(0),
    logsBloom: new Uint8Array(256), number: 5n, gasLimit: 30_000_000n, gasUsed: 0n, timestamp: 1000n + slot,
    extraData: Uint8Array.of(extra), mixHash: h32(0), baseFeePerGas: 7n, slot, producer, jobId: h32(1), sessionId: h32(2),
    workloadId: h32(3), vrfOutput: h32(4), vrfProof: new Uint8Array(0), attestations: [], seal: new Uint8Array(0),
  })
}

t.test('two headers for one slot by one producer', async (t) => {
  const a = sealHeader(header(7n, A1, 0), K1)
  const b = sealHeader(header(7n, A1, 1), K1)
  const r = checkDoubleProduction(a, b)
  t.ok(r.ok && Buffer.from(r.offender).equals(Buffer.from(A1)), 'proves equivocation')
  t.notOk(checkDoubleProduction(a, a).ok, 'the same header twice is not evidence')
  t.notOk(checkDoubleProduction(a, sealHeader(header(8n, A1, 1), K1)).ok, 'different slots')
  t.notOk(checkDoubleProduction(a, sealHeader(header(7n, A1, 1), K2)).ok, 'second header sealed by someone else')
  t.notOk(checkDoubleProduction(a, header(7n, A1, 1)).ok, 'unsealed header')
  t.notOk(checkDoubleProduction(a, sealHeader(header(7n, privateKeyToAddress(K2), 1), K2)).ok, 'different producers')
})

const vote = (over: Partial<UnsignedVote>): UnsignedVote => ({ chainId: 1n, source: h32(0), sourceHeight: 0n, target: h32(1), targetHeight: 3n, ...over })

t.test('two votes for different blocks at one height', async (t) => {
  const a = signVote(vote({}), K1)
  const b = signVote(vote({ target: h32(2) }), K1)
  const r = checkDoubleVote(a, b)
  t.ok(r.ok && Buffer.from(r.offender).equals(Buffer.from(A1)))
  t.notOk(checkDoubleVote(a, signVote(vote({}), K1)).ok, 'same block twice')
  t.notOk(checkDoubleVote(a, signVote(vote({ target: h32(2), targetHeight: 4n }), K1)).ok, 'different heights')
  t.notOk(checkDoubleVote(a, signVote(vote({ target: h32(2) }), K2)).ok, 'different validators')
  t.notOk(checkDoubleVote(a, signVote(vote({ target: h32(2), chainId: 2n }), K1)).ok, 'different chains')
  const forged = { ...b, targetHeight: 3n, target: h32(3) }
  const rf = checkDoubleVote(a, forged)
  t.notOk(rf.ok, 'a vote whose fields were changed after signing recovers someone else')
})

t.test('surround votes', async (t) => {
  const outer = signVote(vote({ sourceHeight: 1n, targetHeight: 10n }), K1)
  const inner = signVote(vote({ sourceHeight: 3n, targetHeight: 5n, source: h32(5), target: h32(6) }), K1)
  t.ok(checkSurroundVote(outer, inner).ok)
  t.ok(checkSurroundVote(inner, outer).ok, 'either order')
  t.notOk(checkSurroundVote(outer, signVote(vote({ sourceHeight: 3n, targetHeight: 11n }), K1)).ok, 'overlap without surround')
  t.notOk(checkSurroundVote(outer, signVote(vote({ sourceHeight: 3n, targetHeight: 5n }), K2)).ok, 'different validators')
})
