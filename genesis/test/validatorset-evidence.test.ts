/**
 * ValidatorSet slashing with the node's real evidence precompile (vm/EvidencePrecompile.ts) at
 * EVIDENCE_PRECOMPILE: real sealed headers and signed votes go in, the precompile judges them,
 * the contract cuts the bond (unbonding included), pays the reporter, locks the rest as burned,
 * zeroes the weight and jails; kind 4 is checked against WorkMarket's receipts.
 */
import t from 'tap'
import { decodeFunctionResult, type Address, type Hex } from 'viem'
import { encodeAttestation, signAttestation } from '../../chain/Attestation.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { bytesToHex } from '../../common/bytes.js'
import { EvidenceKind, genesisJobId, genesisSessionId } from '../ValidatorSetGenesis.js'
import { CHAIN_ID, ETHER, key, PovHarness, sealedHeader, who } from './validatorsetHarness.js'

const ev = PovHarness.event
const byAddress = (a: Address, b: Address) => (BigInt(a) < BigInt(b) ? -1 : 1)
const REPORTER = who(7)
const hex = (b: Uint8Array) => bytesToHex(b) as Hex
const h32 = (n: number) => new Uint8Array(32).fill(n)

function vote(i: number, sourceHeight: bigint, targetHeight: bigint, target: number): Hex {
  return hex(encodeAttestation(signAttestation({ sourceHash: h32(1), sourceHeight, targetHash: h32(target), targetHeight, validator: privateKeyToAddress(key(i)) }, CHAIN_ID, key(i))))
}

async function twoValidators() {
  return PovHarness.deploy({
    validators: [
      { validator: who(0), bond: 10n * ETHER, weight: 10n * ETHER },
      { validator: who(1), bond: 10n * ETHER, weight: 10n * ETHER },
    ].sort((a, b) => byAddress(a.validator, b.validator)),
  })
}

t.test('double production: half the bond cut, 10 % of the cut to the reporter, the rest burned, weight zeroed, jailed for jailEpochs', async (t) => {
  const h = await twoValidators()
  const [v0, v1] = [who(0), who(1)]
  const a = hex(sealedHeader(0, 5n, { extra: 0 }).encode())
  const b = hex(sealedHeader(0, 5n, { extra: 1 }).encode())
  const r = await h.must(REPORTER, 'vs', 'submitEvidence', [EvidenceKind.DoubleProduction, a, b])
  const s = ev(r, 'Slashed')
  t.match(s, { offender: v0, kind: 1, amount: 5n * ETHER, reporter: REPORTER })
  t.equal(decodeFunctionResult({ abi: h.abi.vs, functionName: 'submitEvidence', data: r.returnValue }), v0, 'returns the offender')
  t.equal(await h.read('bondOf', [v0]), 5n * ETHER)
  t.equal(await h.weight(v0), 0n, 'live weight credits are gone')
  t.same(await h.read('creditsOf', [v0]), [])
  t.equal(await h.read('isJailed', [v0]), true)
  t.equal(await h.read('evidenceUsed', [s.evidenceId]), true)
  const books = await h.books()
  t.equal(books.burned, (5n * ETHER * 9n) / 10n, '4.5 coins locked for good')
  t.equal((await h.read<readonly bigint[]>('stakeOf', [REPORTER]))[3], ETHER / 2n, 'the reporter may withdraw 0.5')

  const again = await h.tx(REPORTER, 'vs', 'submitEvidence', [1, b, a])
  t.same([again.error, again.errorArgs?.[0]], ['EvidenceAlreadyUsed', s.evidenceId], 'the same offence in the other order has the same id: slashed once')
  t.same((await h.tx(REPORTER, 'vs', 'submitEvidence', [1, a, a])).errorArgs, [1], 'one header twice proves nothing: EvidenceProvesNothing(1)')
  t.equal((await h.tx(REPORTER, 'vs', 'submitEvidence', [1, '0x1234', '0x'])).error, 'EvidenceProvesNothing', 'undecodable evidence proves nothing')
  t.same((await h.tx(REPORTER, 'vs', 'submitEvidence', [9, a, b])).errorArgs, [9], 'UnknownEvidenceKind(9)')

  // Jail: out of the snapshots taken at transitions 1 and 2 (sets of epochs 2 and 3), and of epoch 0's reward.
  const r1 = await h.system(1n)
  t.match(ev(r1, 'EpochRewarded'), { paid: ETHER, recipients: 1n })
  t.match(ev(r1, 'RewardCredited'), { validator: v1, amount: ETHER }, 'the whole epoch reward goes to the honest validator')
  t.same((await h.snapshot(2n)).validators, [v1])
  await h.receipt(v0, who(9), ETHER) // it earns weight again while jailed
  t.equal(await h.read('isJailed', [v0]), true)
  await h.system(2n)
  t.same((await h.snapshot(3n)).validators, [v1], 'still jailed at the transition to epoch 2')
  t.equal(await h.read('isJailed', [v0]), false, 'free for the next snapshot')
  await h.system(3n)
  t.same((await h.snapshot(4n)).validators, [v0, v1].sort(byAddress), 'back in the set of epoch 4 with its new weight and remaining bond')
  const before = await h.balance(REPORTER)
  await h.must(REPORTER, 'vs', 'withdraw')
  t.equal((await h.balance(REPORTER)) - before, ETHER / 2n)
  await h.books()
  t.equal(await h.totalCoins(), h.minted, 'coins are conserved to the wei')
})

t.test('double and surround votes slash; an unbonding amount is still slashable', async (t) => {
  const h = await twoValidators()
  const v1 = who(1)
  await h.must(v1, 'vs', 'requestUnbond', [8n * ETHER])
  const r = await h.must(REPORTER, 'vs', 'submitEvidence', [EvidenceKind.DoubleVote, vote(1, 1n, 5n, 7), vote(1, 1n, 5n, 8)])
  t.match(ev(r, 'Slashed'), { offender: v1, kind: 2, amount: 5n * ETHER })
  t.same((await h.read<readonly bigint[]>('stakeOf', [v1])).slice(0, 2), [0n, 5n * ETHER], 'the cut took the 2 bonded, then 3 of the 8 unbonding')
  const s = await h.must(REPORTER, 'vs', 'submitEvidence', [EvidenceKind.SurroundVote, vote(1, 1n, 10n, 7), vote(1, 2n, 5n, 8)])
  t.match(ev(s, 'Slashed'), { offender: v1, kind: 3, amount: (5n * ETHER) / 2n }, 'a second offence cuts half of what is left')
  t.equal((await h.tx(REPORTER, 'vs', 'submitEvidence', [EvidenceKind.SurroundVote, vote(1, 1n, 5n, 7), vote(1, 2n, 6n, 8)])).error, 'EvidenceProvesNothing', 'overlapping but not surrounding')
  t.equal((await h.tx(REPORTER, 'vs', 'submitEvidence', [EvidenceKind.DoubleVote, vote(1, 1n, 5n, 7), vote(0, 1n, 5n, 8)])).error, 'EvidenceProvesNothing', 'two validators')
  await h.system(1n)
  await h.system(2n)
  t.same(await h.read('stakeOf', [v1]), [0n, 0n, 2n, (5n * ETHER) / 2n, 3n], 'what was left of the unbond matured; jailed until the transition to epoch 3 (slashed in epoch 0, jailEpochs 2)')
  await h.books()
  t.equal(await h.totalCoins(), h.minted)
})

t.test('kind 4: a header naming its producer\'s accepted receipt is not evidence; another node\'s receipt or a wrong job id is', async (t) => {
  const h = await twoValidators()
  const [v0, v1] = [who(0), who(1)]
  const honest = hex(sealedHeader(0, 3n, { jobId: genesisJobId(v0), sessionId: genesisSessionId(v0) }).encode())
  const r = await h.tx(REPORTER, 'vs', 'submitEvidence', [EvidenceKind.BadReceipt, honest, '0x'])
  t.same([r.error, ...(r.errorArgs ?? [])], ['ReceiptIsValid', genesisSessionId(v0), v0])
  const stolen = hex(sealedHeader(0, 4n, { jobId: genesisJobId(v1), sessionId: genesisSessionId(v1) }).encode())
  t.match(ev(await h.must(REPORTER, 'vs', 'submitEvidence', [4, stolen, '0x']), 'Slashed'), { offender: v0, kind: 4, amount: 5n * ETHER }, "naming v1's receipt")
  const wrongJob = hex(sealedHeader(1, 5n, { jobId: genesisJobId(v0), sessionId: genesisSessionId(v1) }).encode())
  t.match(ev(await h.must(REPORTER, 'vs', 'submitEvidence', [4, wrongJob, '0x']), 'Slashed'), { offender: v1, kind: 4 }, 'its own session with another job id')
  const unknown = hex(sealedHeader(1, 6n).encode())
  t.match(ev(await h.must(REPORTER, 'vs', 'submitEvidence', [4, unknown, '0x']), 'Slashed'), { offender: v1 }, 'a session that does not exist')
  t.equal((await h.tx(REPORTER, 'vs', 'submitEvidence', [4, stolen, '0x'])).error, 'EvidenceAlreadyUsed')
  t.equal((await h.tx(REPORTER, 'vs', 'submitEvidence', [4, honest, honest])).error, 'EvidenceProvesNothing', 'kind 4 takes one header')
  await h.books()
  t.equal(await h.totalCoins(), h.minted)
})
