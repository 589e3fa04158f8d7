import fc from 'fast-check'
import t from 'tap'
import { signAttestation, type Attestation } from '../../chain/Attestation.js'
import { BlockHeader } from '../../chain/Header.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { FinalityGadget } from '../FinalityGadget.js'

const CHAIN = 7n
const keys = [1, 2, 3, 4].map((n) => new Uint8Array(32).fill(n))
const addrs = keys.map((k) => privateKeyToAddress(k))
const validators = addrs.map((address) => ({ address, weight: 10n }))
const h32 = (n: number) => new Uint8Array(32).fill(n)

function header(number: bigint, parentHash: Uint8Array, attestations: Attestation[] = [], extra = 0): BlockHeader {
  return new BlockHeader({
    parentHash, coinbase: addrs[0]!, stateRoot: h32(0), transactionsRoot: h32(0), receiptsRoot: h32(0),
    logsBloom: new Uint8Array(256), number, gasLimit: 30_000_000n, gasUsed: 0n, timestamp: 1000n + number,
    vanity: Uint8Array.of(extra), mixHash: h32(0), baseFeePerGas: 7n, slot: number, producer: addrs[0]!, jobId: h32(1), sessionId: h32(2),
    workloadId: h32(3), vrfOutput: h32(4), vrfProof: new Uint8Array(0), attestations, seal: new Uint8Array(0),
  })
}

const vote = (i: number, source: BlockHeader, target: BlockHeader) =>
  signAttestation({ sourceHash: source.hash(), sourceHeight: source.number, targetHash: target.hash(), targetHeight: target.number, validator: addrs[i]! }, CHAIN, keys[i]!)

function chain(n: number) {
  const g = header(0n, h32(0xee))
  const blocks = [g]
  for (let i = 1; i <= n; i++) blocks.push(header(BigInt(i), blocks[i - 1]!.hash()))
  const gadget = new FinalityGadget(CHAIN, { hash: g.hash(), height: 0n })
  gadget.setWeights('e0', validators)
  return { blocks, gadget }
}

t.test('> 2/3 of the weight justifies; a justified child finalizes its parent', async (t) => {
  const { blocks, gadget } = chain(2)
  gadget.addBlock(blocks[1]!, ['e0'])
  gadget.addBlock(blocks[2]!, ['e0'])
  for (const i of [0, 1]) gadget.addAttestation(vote(i, blocks[0]!, blocks[1]!))
  t.notOk(gadget.isJustified(blocks[1]!.hash()), '2 of 4 equal votes are not enough')
  gadget.addAttestation(vote(2, blocks[0]!, blocks[1]!))
  t.ok(gadget.isJustified(blocks[1]!.hash()), '3 of 4 justify')
  t.equal(gadget.finalized.height, 0n)
  for (const i of [0, 1, 2]) gadget.addAttestation(vote(i, blocks[1]!, blocks[2]!))
  t.equal(gadget.finalized.height, 1n, 'block 1 final once its child is justified through 1 → 2')
  t.equal(gadget.justified.height, 2n)
  t.equal(gadget.attestationsFor(blocks[2]!.hash(), validators).length, 3, 'the votes wait for the next header')
})

t.test('votes that outrun their block count when it arrives; made-up targets stay bounded', async (t) => {
  const { blocks, gadget } = chain(1)
  for (const i of [0, 1, 2]) t.equal(gadget.addAttestation(vote(i, blocks[0]!, blocks[1]!)), 'accept', 'a vote for an unseen block is kept')
  t.notOk(gadget.isJustified(blocks[1]!.hash()))
  gadget.addBlock(blocks[1]!, ['e0'])
  t.ok(gadget.isJustified(blocks[1]!.hash()), 'replayed when the block is added')
  // A validator floods votes for blocks that do not exist.
  for (let i = 0; i < FinalityGadget.MAX_EARLY_VOTES + 500; i++) {
    const fake = header(5n + BigInt(i), h32(i % 250), [], i % 256)
    gadget.addAttestation(vote(3, blocks[0]!, fake))
  }
  t.ok((gadget as unknown as { earlyCount: number }).earlyCount <= FinalityGadget.MAX_EARLY_VOTES, 'early votes are capped')
})

t.test('header attestations: only signed votes for the parent by distinct members', async (t) => {
  const { blocks, gadget } = chain(2)
  gadget.addBlock(blocks[1]!, ['e0'])
  const parent = blocks[1]!
  const ok = [vote(0, blocks[0]!, parent), vote(1, blocks[0]!, parent)]
  t.doesNotThrow(() => gadget.checkHeaderAttestations(header(2n, parent.hash(), ok), parent, validators))
  const bad: [string, Attestation[]][] = [
    ['a vote for another block', [vote(0, blocks[0]!, blocks[0]!.with({ vanity: Uint8Array.of(9) }))]],
    ['two votes by one validator', [ok[0]!, ok[0]!]],
    ['a vote by a non-member', [signAttestation({ ...ok[0]!, validator: privateKeyToAddress(h32(9)) }, CHAIN, h32(9))]],
    ['a vote signed by another key', [{ ...ok[0]!, validator: addrs[1]! }]],
    ['a vote signed for another chain', [signAttestation({ ...ok[0]! }, CHAIN + 1n, keys[0]!)]],
  ]
  for (const [what, atts] of bad) t.throws(() => gadget.checkHeaderAttestations(header(2n, parent.hash(), atts), parent, validators), { code: 'CONSENSUS_BAD_ATTESTATION' }, what)
})

t.test('a second vote at one height by one validator is reported as a double vote', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 200 }), (who, extra) => {
      const { blocks, gadget } = chain(1)
      const seen: [Attestation, Attestation][] = []
      gadget.onDoubleVote((a, b) => seen.push([a, b]))
      gadget.addBlock(blocks[1]!, ['e0'])
      const twin = header(1n, blocks[0]!.hash(), [], extra)
      gadget.addBlock(twin, ['e0'])
      gadget.addAttestation(vote(who, blocks[0]!, blocks[1]!))
      gadget.addAttestation(vote(who, blocks[0]!, blocks[1]!))
      const repeats = seen.length // the same vote twice is no offence
      gadget.addAttestation(vote(who, blocks[0]!, twin))
      return repeats === 0 && seen.length === 1 && Buffer.from(seen[0]![1].validator).equals(Buffer.from(addrs[who]!))
    }),
    { numRuns: 50 },
  )
  t.pass('double votes reported, repeats not')
})

t.test('a vote whose link surrounds (or is surrounded by) the same validator’s earlier link is reported, and only then', async (t) => {
  const { checkSurroundVote } = await import('../../chain/Equivocation.js')
  const link = fc.integer({ min: 0, max: 9 }).chain((s) => fc.integer({ min: s + 1, max: 10 }).map((tt) => [s, tt] as const))
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 3 }), link, link, (who, [s1, t1], [s2, t2]) => {
      const { blocks, gadget } = chain(10)
      for (const b of blocks.slice(1)) gadget.addBlock(b, ['e0'])
      const seen: [Attestation, Attestation][] = []
      gadget.onSurroundVote((outer, inner) => seen.push([outer, inner]))
      gadget.addAttestation(vote(who, blocks[s1]!, blocks[t1]!))
      gadget.addAttestation(vote(who, blocks[s2]!, blocks[t2]!))
      gadget.addAttestation(vote((who + 1) % 4, blocks[s1 === 0 ? 0 : s1 - 1]!, blocks[10]!)) // another validator's votes never pair with these
      const surrounds = (s1 < s2 && t2 < t1) || (s2 < s1 && t1 < t2)
      if (!surrounds) return seen.length === 0
      if (seen.length !== 1) return false
      const [outer, inner] = seen[0]!
      return outer.sourceHeight < inner.sourceHeight && inner.targetHeight < outer.targetHeight && checkSurroundVote(outer, inner, CHAIN).ok
    }),
    { numRuns: 200 },
  )
  t.pass('surround votes reported exactly when the links nest strictly')

  // An honest validator's votes (each source the previous justified target) never nest.
  const { blocks, gadget } = chain(10)
  for (const b of blocks.slice(1)) gadget.addBlock(b, ['e0'])
  let reported = 0
  gadget.onSurroundVote(() => reported++)
  for (let i = 1; i <= 10; i++) gadget.addAttestation(vote(0, blocks[i - 1]!, blocks[i]!))
  t.equal(reported, 0, 'a chain of consecutive links is no offence')
})
