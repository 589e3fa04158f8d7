/**
 * Issue 11: the attacks a byzantine validator can play against Proof of Value, each against
 * the real ChainService, ProofOfValueEngine, FinalityGadget, system contracts (ValidatorSet,
 * WorkMarket on a real LevelDB) and gossip prechecks. Each test is named after its finding and
 * failed on the code before the fix.
 */
import t from 'tap'
import { VOTE_DEPTH } from '../consensus/HeaderVotes.js'
import { signAttestation } from '../chain/Attestation.js'
import { Block } from '../chain/Block.js'
import { BlockHeader } from '../chain/Header.js'
import { sealHeader } from '../chain/Seal.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex, equalBytes } from '../common/bytes.js'
import { DEV_MNEMONIC, deriveKeys } from '../chain/DevKeys.js'
import type { Producer } from '../consensus/ChainService.js'
import type { PovContracts, WorkReceiptView } from '../consensus/PovContracts.js'
import { ProofOfValueEngine } from '../consensus/ProofOfValueEngine.js'
import { HeaderValidator, MAX_CLOCK_DISPARITY_SECONDS } from '../consensus/HeaderValidator.js'
import { headerVrf } from '../consensus/HeaderVrf.js'
import { epochSeed, nextMix } from '../consensus/WeightedLeaderSchedule.js'
import { devnetGenesis } from '../cli/devnet.js'
import { parseGenesis } from '../genesis/GenesisConfig.js'
import { NetworkAdapter } from '../node/NetworkAdapter.js'
import { createChainCommon } from '../chain/ChainCommon.js'
import { openTestChain, type TestChain } from './fixtures/TestChain.js'

const KEYS = deriveKeys(DEV_MNEMONIC, 4).slice(0, 3)
const PRODUCERS: Producer[] = KEYS.map((key) => ({ key, address: privateKeyToAddress(key) }))
const T0 = 1_800_000_000
// 2 s slots, 2-slot epochs: epoch e holds slots 2e and 2e + 1; a backup of rank 1 seals 1 s in.
const g = devnetGenesis({ producers: PRODUCERS.map((p) => bytesToHex(p.address)), slotSeconds: 2, epochLength: 2, chainId: 31_999, timestamp: T0 })
const SPEC = parseGenesis(g)
const common = createChainCommon(SPEC.chainId)
const slotStart = (slot: bigint) => BigInt(T0) + 2n * slot

/** Seals `slot` on `tc`'s head with whichever validator may (leader first, then rank 1). */
async function produce(tc: TestChain, slot: bigint): Promise<Block> {
  const ranking = await tc.chain.engine.ranking(tc.chain.head(), slot)
  for (let rank = 0; rank < 2 && rank < ranking.length; rank++) {
    const p = PRODUCERS.find((x) => equalBytes(x.address, ranking[rank]!))!
    const b = await tc.chain.produceBlock(p, { allowEmpty: true, slot, timestamp: slotStart(slot) + BigInt(rank) })
    if (b) return b
  }
  throw new Error(`nobody could seal slot ${slot}`)
}

const copy = (b: Block) => Block.decode(b.encode(), common)
const farFuture = T0 + 10_000_000

async function chains(t: { teardown(f: () => Promise<void>): void }, n: number): Promise<TestChain[]> {
  const out: TestChain[] = []
  for (let i = 0; i < n; i++) out.push(await openTestChain(undefined, SPEC))
  t.teardown(async () => {
    for (const c of out) await c.destroy()
  })
  return out
}

t.test('finding 2, validator set of a skipped epoch: two branches through one anchor get one set, whatever a node saw first', async (t) => {
  const [x, y, fresh] = await chains(t, 3)
  // Common prefix: slots 1 (epoch 0) and 3 (epoch 1). The anchor of epoch 3 is the slot-3 block.
  for (const slot of [1n, 3n]) {
    const b = await produce(x!, slot)
    await y!.chain.importBlock(copy(b), farFuture)
    await fresh!.chain.importBlock(copy(b), farFuture)
  }
  const anchor = x!.chain.head()
  // Branch X has a block in epoch 2 (slot 4): its transition(2) stores the set for epoch 3.
  const xInEpoch2 = await produce(x!, 4n)
  const xInEpoch3 = await produce(x!, 6n)
  // Branch Y skips epoch 2: its first block after the anchor is in epoch 3.
  const yInEpoch3 = await produce(y!, 6n)
  // A node that saw X first, and one that never saw X, judge Y's block alike…
  await fresh!.chain.importBlock(copy(xInEpoch2), farFuture)
  await fresh!.chain.importBlock(copy(xInEpoch3), farFuture)
  const seenX = await fresh!.chain.engine.validatorsFor(anchor, 6n)
  const onlyY = await y!.chain.engine.validatorsFor(anchor, 6n)
  t.same(seenX.map((v) => [bytesToHex(v.address), v.weight]), onlyY.map((v) => [bytesToHex(v.address), v.weight]), 'the set of epoch 3 on the anchor is the same for both nodes')
  t.equal(await fresh!.chain.importBlock(copy(yInEpoch3), farFuture), 'side', "Y's honest block is valid for the node that saw X first")
  // …and the contract stored on Y the set every node computes (the late election of epoch 3).
  const yx = await y!.chain.engine.validatorsFor(y!.chain.head(), 7n)
  t.same(yx.map((v) => bytesToHex(v.address)), onlyY.map((v) => bytesToHex(v.address)))
})

/** A ValidatorSet and WorkMarket whose state is a map per state root: receipts exist on one branch only. */
class BranchContracts implements PovContracts {
  readonly receiptsByRoot = new Map<string, WorkReceiptView>()
  constructor(private readonly validators: { address: Uint8Array; weight: bigint }[]) {}
  async validatorsAt() {
    return this.validators
  }
  async electedFor() {
    return this.validators
  }
  async receipt(root: Uint8Array, session: Uint8Array) {
    return this.receiptsByRoot.get(`${bytesToHex(root)}:${bytesToHex(session)}`)
  }
  async recentReceipts() {
    return []
  }
  epochTransition() {
    return { to: new Uint8Array(20), data: new Uint8Array(0), label: 'epochTransition' }
  }
}

t.test('finding 1, receipt check leaks across branches: a receipt seen on branch A never vouches for a block on branch B', async (t) => {
  const who = PRODUCERS[0]!
  const contracts = new BranchContracts([{ address: who.address, weight: 1n }])
  const headers = new Map<string, BlockHeader>()
  const engine = new ProofOfValueEngine(
    { chainId: SPEC.chainId, genesisTimestamp: BigInt(T0), slotSeconds: 2, slotsPerEpoch: 32, backupDelaySeconds: 1, maxBackups: 0, receiptWindowBlocks: 1000n, genesisSeed: new Uint8Array(32) },
    { contracts, getHeader: async (h) => headers.get(bytesToHex(h)) },
  )
  const root = (n: number) => new Uint8Array(32).fill(n)
  const header = (parent: BlockHeader | undefined, number: bigint, stateRoot: Uint8Array, sessionId: Uint8Array) => {
    const slot = number
    const { vrfProof, vrfOutput } = headerVrf(who.key, epochSeed(0n, new Uint8Array(32), () => new Uint8Array(32)), slot)
    const h = new BlockHeader({
      parentHash: parent?.hash() ?? new Uint8Array(32), coinbase: who.address, stateRoot, transactionsRoot: root(0), receiptsRoot: root(0), logsBloom: new Uint8Array(256),
      number, gasLimit: 30_000_000n, gasUsed: 0n, timestamp: slotStart(slot), vanity: new Uint8Array(0), mixHash: nextMix(parent?.mixHash ?? new Uint8Array(32), vrfOutput),
      baseFeePerGas: 7n, slot, producer: who.address, jobId: root(7), sessionId, workloadId: root(8), vrfOutput, vrfProof, attestations: [], seal: new Uint8Array(0),
    })
    const sealed = sealHeader(h, SPEC.chainId, who.key)
    headers.set(bytesToHex(sealed.hash()), sealed)
    return sealed
  }
  const session = root(0x5e)
  // Branch A's state at block 1 holds an accepted receipt of `who`; branch B's does not.
  const g0 = header(undefined, 0n, root(1), root(0))
  const a1 = header(g0, 1n, root(0xa1), root(0))
  const b1 = header(g0, 1n, root(0xb1), root(0))
  contracts.receiptsByRoot.set(`${bytesToHex(a1.stateRoot)}:${bytesToHex(session)}`, {
    jobId: root(7), sessionId: session, worker: who.address, client: root(9).subarray(0, 20), workloadId: root(8), blockNumber: 1n, accepted: true, value: 1n, protocolFee: 1n,
  })
  // Blocks at height 4 name it: valid on A (the receipt is 3 blocks deep there)…
  const a2 = header(a1, 2n, root(0xa2), root(0))
  const a3 = header(a2, 3n, root(0xa2), root(0))
  contracts.receiptsByRoot.set(`${bytesToHex(a3.stateRoot)}:${bytesToHex(session)}`, contracts.receiptsByRoot.get(`${bytesToHex(a1.stateRoot)}:${bytesToHex(session)}`)!)
  const a4 = header(a3, 4n, root(0xa4), session)
  await engine.verify(a4, a3, a4.number - 2n)
  t.pass('on branch A the receipt vouches')
  // …and refused on B, even by the node that just checked A's block (a fresh node refuses it too).
  const b2 = header(b1, 2n, root(0xb2), root(0))
  const b3 = header(b2, 3n, root(0xb3), root(0))
  const b4 = header(b3, 4n, root(0xb4), session)
  await t.rejects(engine.verify(b4, b3, b4.number - 2n), { code: 'CONSENSUS_FAKE_RECEIPT' }, 'a receipt that only exists on branch A is refused on branch B')
})

t.test('finding 3, publishing future slots: a block whose slot has not started is not imported, and the slot before it is still produced', async (t) => {
  const [a, b] = await chains(t, 2)
  const first = await produce(a!, 1n)
  await b!.chain.importBlock(copy(first), farFuture)
  // The node's real clock rule, not the test fixture's lenient one.
  const validator = new HeaderValidator({ genesisHash: a!.genesisHash, chainId: SPEC.chainId, producers: [], maxFutureSeconds: MAX_CLOCK_DISPARITY_SECONDS })
  t.ok(MAX_CLOCK_DISPARITY_SECONDS < SPEC.slotSeconds, 'the clock disparity is well under a slot')
  // The leader of slot 8 publishes at slot 2.
  const ahead = await produce(a!, 8n)
  const nowAtSlot2 = Number(slotStart(2n)) + 0.1
  t.throws(() => validator.validateAlone(ahead.header, nowAtSlot2), { code: 'CONSENSUS_FUTURE_BLOCK' }, 'refused while its slot has not started')
  t.doesNotThrow(() => validator.validateAlone(ahead.header, Number(slotStart(8n)) - MAX_CLOCK_DISPARITY_SECONDS / 2), 'accepted within the clock disparity')
  const adapter = new NetworkAdapter(SPEC.chainId, b!.genesisHash, { store: b!.store, chain: b!.chain, validator, pool: b!.pool, common })
  const realNow = Date.now
  Date.now = () => nowAtSlot2 * 1000
  try {
    t.same(await adapter.precheckBlock(copy(ahead)), { status: 'future' }, 'gossip neither imports nor relays it')
  } finally {
    Date.now = realNow
  }
  t.equal(b!.chain.head().number, 1n)
  t.ok(await produce(b!, 2n), 'the producer of slot 2 is not silenced')
})

t.test('finding 5, votes and evidence from anyone: votes of non-members are refused before double-vote detection', async (t) => {
  const [a] = await chains(t, 1)
  const b1 = await produce(a!, 1n)
  const b2 = await produce(a!, 2n)
  let reports = 0
  a!.chain.onEquivocation(() => reports++)
  const outsider = deriveKeys(DEV_MNEMONIC, 12)[11]!
  const who = privateKeyToAddress(outsider)
  const genesis = (await a!.store.canonicalHeader(0n))!
  const v1 = signAttestation({ sourceHash: genesis.hash(), sourceHeight: 0n, targetHash: b1.hash(), targetHeight: 1n, validator: who }, SPEC.chainId, outsider)
  const twin = b2.header.with({ vanity: Uint8Array.of(1) })
  const v2 = signAttestation({ sourceHash: genesis.hash(), sourceHeight: 0n, targetHash: twin.hash(), targetHeight: 1n, validator: who }, SPEC.chainId, outsider)
  t.equal(await a!.chain.addAttestation(v1), 'reject', 'a vote by a key outside the set is rejected (and its sender scored at gossip)')
  t.equal(await a!.chain.addAttestation(v2), 'ignore', 'a vote for an unknown block from a non-member is not kept or relayed')
  t.equal(reports, 0, 'no slashing report against a key that never had a bond')
  // A member's vote counts.
  const member = PRODUCERS[1]!
  const ok = signAttestation({ sourceHash: genesis.hash(), sourceHeight: 0n, targetHash: b1.hash(), targetHeight: 1n, validator: member.address }, SPEC.chainId, member.key)
  t.equal(await a!.chain.addAttestation(ok), 'accept')
})

t.test('finding 6, blocks relayed before eligibility: gossip refuses a well-sealed block by a producer not eligible for its slot', async (t) => {
  const [a, b] = await chains(t, 2)
  const first = await produce(a!, 1n)
  await b!.chain.importBlock(copy(first), farFuture)
  const good = await produce(a!, 2n)
  const outsider = deriveKeys(DEV_MNEMONIC, 12)[11]!
  const forged = new Block(sealHeader(good.header.with({ producer: privateKeyToAddress(outsider), coinbase: privateKeyToAddress(outsider) }), SPEC.chainId, outsider), good.transactions)
  const validator = new HeaderValidator({ genesisHash: b!.genesisHash, chainId: SPEC.chainId, producers: [], maxFutureSeconds: 1 << 30 })
  const adapter = new NetworkAdapter(SPEC.chainId, b!.genesisHash, { store: b!.store, chain: b!.chain, validator, pool: b!.pool, common })
  const verdict = await adapter.precheckBlock(forged)
  t.equal(verdict.status, 'invalid', 'not relayed')
  t.match(verdict.status === 'invalid' ? verdict.reason : '', /not the leader or a backup/)
  // A backup that seals before its delay, and a block with a bad VRF, are refused the same way.
  const early = new Block(sealHeader(good.header.with({ vrfOutput: new Uint8Array(32).fill(1) }), SPEC.chainId, PRODUCERS.find((p) => equalBytes(p.address, good.header.producer))!.key), good.transactions)
  t.equal((await adapter.precheckBlock(early)).status, 'invalid', 'a bad VRF output is refused before relaying')
  t.same(await adapter.precheckBlock(copy(good)), { status: 'ok' }, 'the honest block passes')
})

t.test('finding 7, unbounded memory: everything more than VOTE_DEPTH below the finalized block is forgotten', async (t) => {
  const [a] = await chains(t, 1)
  const sizes: number[] = []
  for (let slot = 1n; slot <= 120n; slot++) {
    const b = await produce(a!, slot)
    for (const p of PRODUCERS) {
      if (!a!.chain.finality.votesFor(b.hash(), p.address)) continue
      const unsigned = a!.chain.finality.voteFor(p.address, b.header)
      await a!.chain.addAttestation(signAttestation(unsigned, SPEC.chainId, p.key))
    }
    if (slot % 20n === 0n) sizes.push(a!.chain.memory().blocks!)
  }
  t.ok(a!.chain.finality.finalized.height >= 110n, `finality follows the head (finalized ${a!.chain.finality.finalized.height})`)
  // The tracker keeps VOTE_DEPTH blocks under the finalized one (producers carry the votes behind
  // justifications there: finding J), so it levels off at VOTE_DEPTH + a handful, whatever the length.
  const cap = Number(VOTE_DEPTH) + 4
  t.ok(Math.max(...sizes) <= cap, `finality holds at most ${cap} blocks, not the chain (${sizes.join(', ')})`)
  t.equal(sizes[sizes.length - 1], sizes[sizes.length - 2], 'and it has levelled off')
  const m = a!.chain.memory()
  t.ok(m.links! <= cap + 4 && m.inTurn! <= 4, `links ${m.links}, in-turn marks ${m.inTurn}`)
})
