/**
 * Slashing end to end on a PoV node: validator B seals two different headers for one slot and
 * signs two votes for different blocks at one height, and seals a header naming a receipt that
 * is not its own; the node (validator A) sees both, its
 * EvidenceReporter submits ValidatorSet.submitEvidence transactions, the EVIDENCE precompile
 * re-checks them natively, and the contract slashes B's bond, jails it and rewards A.
 */
import t from 'tap'
import { decodeFunctionResult, encodeFunctionData, parseAbi, parseEventLogs, type Hex } from 'viem'
import { Block } from '../chain/Block.js'
import { signAttestation } from '../chain/Attestation.js'
import { sealHeader } from '../chain/Seal.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex } from '../common/bytes.js'
import { VALIDATOR_SET } from '../node/PovContractReader.js'
import { rpc } from './helpers/devnode.js'
import { Cluster, clusterGenesis, randomKey, until } from './helpers/netcluster.js'

const abi = parseAbi([
  'function isJailed(address v) view returns (bool)',
  'function bondOf(address v) view returns (uint256)',
  'event Slashed(address indexed offender, uint8 kind, bytes32 indexed evidenceId, uint256 amount, address indexed reporter)',
])

t.test('double production, double and surround votes are reported, checked natively and slashed', async (t) => {
  const [kA, kB] = [randomKey(20), randomKey(21)]
  const [A, B] = [privateKeyToAddress(kA!), privateKeyToAddress(kB!)]
  const c = new Cluster(clusterGenesis({ producers: [kA!, kB!], slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) - 5 }))
  t.teardown(() => c.destroy())
  const a = await c.start({ name: 'a', producerKey: kA })
  const node = a.node
  await until(() => node.store.head().number >= 2n, 'A producing (backing up B’s silent slots)')
  const call = async (fn: 'isJailed' | 'bondOf', who: Uint8Array) => {
    const out = await rpc<Hex>(a.httpUrl, 'eth_call', [{ to: VALIDATOR_SET, data: encodeFunctionData({ abi, functionName: fn, args: [bytesToHex(who)] }) }, 'latest'])
    return decodeFunctionResult({ abi, functionName: fn, data: out })
  }
  const bondBefore = (await call('bondOf', B)) as bigint
  t.ok(bondBefore > 0n, `B is bonded (${bondBefore})`)

  // B leads a coming slot: it seals a block there, then a second, different header for it.
  const engine = node.chain.engine
  let slot = node.store.head().slot + 2n
  while (bytesToHex((await engine.ranking(node.store.head(), slot))[0]!) !== bytesToHex(B)) slot++
  const first = await node.chain.produceBlock({ key: kB!, address: B }, { allowEmpty: true, slot, timestamp: node.chain.slotStart(slot) })
  t.ok(first, `B sealed block ${first?.number} in slot ${slot}`)
  const twin = new Block(sealHeader(first!.header.with({ vanity: Uint8Array.of(1) }), node.chain.chainId, kB!), first!.transactions)
  // B sealed ahead of the clock; import as of the slot's start (a node refuses blocks from its future).
  const atSlot = Number(node.chain.slotStart(slot))
  t.equal(await node.chain.importBlock(twin, atSlot), 'side', 'the second header is valid on its own (a fork)')

  // B seals a header for the same slot that names a receipt it does not own: refused, and reported.
  const fake = new Block(sealHeader(first!.header.with({ sessionId: new Uint8Array(32).fill(0x5e), vanity: Uint8Array.of(2) }), node.chain.chainId, kB!), first!.transactions)
  await t.rejects(node.chain.importBlock(fake, atSlot), { code: 'CONSENSUS_FAKE_RECEIPT' }, 'a header naming a receipt that is not its producer’s is refused')

  // B also signs two votes for different blocks at one height.
  const parent = (await node.store.getHeader(first!.header.parentHash))!
  const vote = (target: Uint8Array) =>
    signAttestation({ sourceHash: parent.parentHash, sourceHeight: parent.number - 1n, targetHash: target, targetHeight: first!.number, validator: B }, 31338n, kB!)
  t.equal(await node.chain.addAttestation(vote(first!.hash())), 'accept', 'a vote for the first block')
  t.equal(await node.chain.addAttestation(vote(twin.hash())), 'accept', 'a vote for its twin (same height)')

  // And a vote whose link surrounds those: from further back to a later block (FFG's second offence).
  await until(() => node.store.head().number > first!.number, 'a block above the double vote')
  const [outerSource, outerTarget] = [(await node.store.canonicalHeader(first!.number - 3n))!, (await node.store.canonicalHeader(first!.number + 1n))!]
  const outer = signAttestation(
    { sourceHash: outerSource.hash(), sourceHeight: outerSource.number, targetHash: outerTarget.hash(), targetHeight: outerTarget.number, validator: B },
    31338n,
    kB!,
  )
  t.ok(await node.chain.addAttestation(outer), `a vote ${outerSource.number} → ${outerTarget.number} surrounding ${parent.number - 1n} → ${first!.number}`)

  // A reports them all; its next blocks carry the evidence and the contract slashes B each time.
  const slashed = await until(
    async () => {
      const logs = await rpc<{ topics: Hex[]; data: Hex; transactionHash: Hex }[]>(a.httpUrl, 'eth_getLogs', [{ address: VALIDATOR_SET, fromBlock: '0x0', toBlock: 'latest' }])
      const events = parseEventLogs({ abi, logs: logs as never, eventName: 'Slashed' })
      return events.length >= 4 ? events : false
    },
    'four Slashed events',
    30_000,
    200,
  )
  const kinds = slashed.map((e) => Number(e.args.kind)).sort()
  t.same(kinds, [1, 2, 3, 4], 'double production (kind 1), the double vote (kind 2), the surround vote (kind 3), the fake receipt (kind 4)')
  for (const e of slashed) {
    t.equal(e.args.offender.toLowerCase(), bytesToHex(B), 'B is the offender')
    t.equal(e.args.reporter.toLowerCase(), bytesToHex(A), 'A reported it')
    t.ok(e.args.amount > 0n, `slashed ${e.args.amount} wei`)
  }
  t.ok(((await call('bondOf', B)) as bigint) < bondBefore, 'B’s bond was cut')
  t.equal(await call('isJailed', B), true, 'B is jailed: out of the next snapshots')
})
