import t from 'tap'
import { BlockHeader } from '../../chain/Header.js'
import { sealHeader } from '../../chain/Seal.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { checkDoubleProduction, checkDoubleVote, checkSurroundVote } from '../SlashingEvidence.js'
import { finalityVote, signVote, verifyVote, type UnsignedVote } from '../SignedVote.js'

const key = (n: number) => new Uint8Array(32).fill(n)
const K1 = key(1)
const K2 = key(2)
const A1 = privateKeyToAddress(K1)
const h32 = (n: number) => new Uint8Array(32).fill(n)

function header(slot: bigint, producer: Uint8Array, extra = 0): BlockHeader {
  return new BlockHeader({
    parentHash: h32(9), coinbase: producer, stateRoot: h32(0), transactionsRoot: h32(0), receiptsRoot: h32(0),
    logsBloom: new Uint8Array(256), number: 5n, gasLimit: 30_000_000n, gasUsed: 0n, timestamp: 1000n + slot,
    vanity: Uint8Array.of(extra), mixHash: h32(0), baseFeePerGas: 7n, slot, producer, jobId: h32(1), sessionId: h32(2),
    workloadId: h32(3), vrfOutput: h32(4), vrfProof: new Uint8Array(0), attestations: [], seal: new Uint8Array(0),
  })
}

const CHAIN = 1n

t.test('two headers for one slot by one producer', async (t) => {
  const a = sealHeader(header(7n, A1, 0), CHAIN, K1)
  const b = sealHeader(header(7n, A1, 1), CHAIN, K1)
  const r = checkDoubleProduction(a, b, CHAIN)
  t.ok(r.ok && Buffer.from(r.offender).equals(Buffer.from(A1)), 'proves equivocation')
  t.notOk(checkDoubleProduction(a, a, CHAIN).ok, 'the same header twice is not evidence')
  t.notOk(checkDoubleProduction(a, sealHeader(header(8n, A1, 1), CHAIN, K1), CHAIN).ok, 'different slots')
  t.notOk(checkDoubleProduction(a, sealHeader(header(7n, A1, 1), CHAIN, K2), CHAIN).ok, 'second header sealed by someone else')
  t.notOk(checkDoubleProduction(a, header(7n, A1, 1), CHAIN).ok, 'unsealed header')
  t.notOk(checkDoubleProduction(a, sealHeader(header(7n, privateKeyToAddress(K2), 1), CHAIN, K2), CHAIN).ok, 'different producers')
})

const A2 = privateKeyToAddress(K2)
const vote = (over: Partial<UnsignedVote>): UnsignedVote => ({ sourceHash: h32(0), sourceHeight: 0n, targetHash: h32(1), targetHeight: 3n, validator: A1, ...over })
const sign = (over: Partial<UnsignedVote>, k = K1, chainId = CHAIN) => signVote(vote({ validator: privateKeyToAddress(k), ...over }), chainId, k)

t.test('two votes for different blocks at one height', async (t) => {
  const a = sign({})
  const b = sign({ targetHash: h32(2) })
  t.ok(verifyVote(a, CHAIN) && verifyVote(b, CHAIN))
  const r = checkDoubleVote(a, b, CHAIN)
  t.ok(r.ok && Buffer.from(r.offender).equals(Buffer.from(A1)))
  t.notOk(checkDoubleVote(a, sign({}), CHAIN).ok, 'same block twice')
  t.notOk(checkDoubleVote(a, sign({ targetHash: h32(2), targetHeight: 4n }), CHAIN).ok, 'different heights')
  t.notOk(checkDoubleVote(a, sign({ targetHash: h32(2) }, K2), CHAIN).ok, 'different validators')
  t.notOk(checkDoubleVote(a, sign({ targetHash: h32(2) }, K1, 2n), CHAIN).ok, 'a vote signed for another chain')
  t.notOk(checkDoubleVote(a, b, 2n).ok, 'checked against another chain')
  t.notOk(checkDoubleVote(a, { ...sign({ targetHash: h32(2) }, K2), validator: A1 }, CHAIN).ok, 'a vote naming A1 but signed by A2')
  const forged = { ...b, targetHash: h32(3) }
  const rf = checkDoubleVote(a, forged, CHAIN)
  t.notOk(rf.ok, 'a vote whose fields were changed after signing recovers someone else')
  t.match(rf, { reason: /second vote is not signed by its validator/ })
})

t.test('surround votes', async (t) => {
  const outer = sign({ sourceHeight: 1n, targetHeight: 10n })
  const inner = sign({ sourceHeight: 3n, targetHeight: 5n, sourceHash: h32(5), targetHash: h32(6) })
  t.ok(checkSurroundVote(outer, inner, CHAIN).ok)
  t.ok(checkSurroundVote(inner, outer, CHAIN).ok, 'either order')
  t.notOk(checkSurroundVote(outer, sign({ sourceHeight: 3n, targetHeight: 11n }), CHAIN).ok, 'overlap without surround')
  t.notOk(checkSurroundVote(outer, sign({ sourceHeight: 1n, targetHeight: 5n }), CHAIN).ok, 'same source is not a surround')
  t.notOk(checkSurroundVote(outer, sign({ sourceHeight: 3n, targetHeight: 5n }, K2), CHAIN).ok, 'different validators')
})

t.test('a verified vote becomes the finality tracker\'s link', async (t) => {
  const v = finalityVote(sign({ sourceHeight: 2n, targetHeight: 3n }, K2))
  t.same(v, { validator: '0x' + Buffer.from(A2).toString('hex'), source: '0x' + '00'.repeat(32), sourceHeight: 2n, target: '0x' + '01'.repeat(32), targetHeight: 3n })
})
