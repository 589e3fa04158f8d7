import t from 'tap'
import fc from 'fast-check'
import { getAddress, keccak256, type Address, type Hex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { MerkleTree, proofToHex, snapshotLeaf } from '../MerkleTree.js'
import { BRIDGE, BridgeHarness, CHAIN_ID } from '../../test/helpers/swapBridgeHarness.js'
import { addressOfKey, claimDigest, releaseDigest, signDigest, type SwapDomain } from '../SwapMessages.js'

const domain: SwapDomain = { chainId: CHAIN_ID, bridge: BRIDGE }
const SOURCE_CHAIN = 31337n
const LOCK: Address = getAddress('0x00000000000000000000000000000000000010cc')
const key = () => hexToBytes(generatePrivateKey())
const addr = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, '0')}`)

function snapshot(holders: { key: Uint8Array; amount: bigint }[]) {
  const entries = holders.map((h) => ({ ...h, address: addressOfKey(h.key) }))
  const tree = new MerkleTree(entries.map((e) => snapshotLeaf(hexToBytes(e.address), e.amount)))
  const proof = (e: (typeof entries)[number]) => proofToHex(tree.proof(snapshotLeaf(hexToBytes(e.address), e.amount)))
  return { entries, root: bytesToHex(tree.root) as Hex, total: entries.reduce((s, e) => s + e.amount, 0n), proof }
}

t.test('claims: digests agree with the contract; wrong proof, wrong signature, double claim, deadline', async (t) => {
  const snap = snapshot([{ key: key(), amount: 1000n }, { key: key(), amount: 2500n }, { key: key(), amount: 7n }])
  const attester = key()
  const b = await BridgeHarness.deploy({ merkleRoot: snap.root, snapshotTotal: snap.total, lockReserve: 500n, deadline: 10n, attesters: [addressOfKey(attester)], threshold: 1, sourceChainId: SOURCE_CHAIN, lockContract: LOCK })
  const [a, c] = snap.entries
  const recipient = addr(0xabc)
  t.equal(await b.read('claimDigest', [a!.address, recipient, a!.amount]), claimDigest(domain, { holder: a!.address, recipient, amount: a!.amount }), 'claim digest: TS = Solidity')
  t.equal(
    await b.read('releaseDigest', [3n, recipient, 9n]),
    releaseDigest(domain, { sourceChainId: SOURCE_CHAIN, lockContract: LOCK, nonce: 3n, recipient, amount: 9n }),
    'release digest: TS = Solidity',
  )
  const sig = await signDigest(a!.key, claimDigest(domain, { holder: a!.address, recipient, amount: a!.amount }))
  t.equal((await b.call('claim', [a!.address, recipient, a!.amount, snap.proof(c!), sig])).reason, 'SwapBridge: invalid proof')
  t.equal((await b.call('claim', [a!.address, recipient, a!.amount + 1n, snap.proof(a!), sig])).reason, 'SwapBridge: invalid proof', 'more than the leaf')
  const otherSig = await signDigest(c!.key, claimDigest(domain, { holder: a!.address, recipient, amount: a!.amount }))
  t.equal((await b.call('claim', [a!.address, recipient, a!.amount, snap.proof(a!), otherSig])).reason, 'SwapBridge: invalid signature', 'signed by another key')
  t.equal((await b.call('claim', [a!.address, addr(0xdef), a!.amount, snap.proof(a!), sig])).reason, 'SwapBridge: invalid signature', 'recipient swapped')
  const wrongChain = await signDigest(a!.key, claimDigest({ ...domain, chainId: 1n }, { holder: a!.address, recipient, amount: a!.amount }))
  t.equal((await b.call('claim', [a!.address, recipient, a!.amount, snap.proof(a!), wrongChain])).reason, 'SwapBridge: invalid signature', 'other chain id')
  t.ok((await b.call('claim', [a!.address, recipient, a!.amount, snap.proof(a!), sig])).ok, 'valid claim')
  t.equal(await b.balance(recipient), a!.amount)
  t.equal((await b.call('claim', [a!.address, recipient, a!.amount, snap.proof(a!), sig])).reason, 'SwapBridge: already claimed')
  t.equal((await b.call('finalize')).reason, 'SwapBridge: deadline not reached')
  b.blockNumber = 11n
  const sigC = await signDigest(c!.key, claimDigest(domain, { holder: c!.address, recipient: c!.address, amount: c!.amount }))
  t.equal((await b.call('claim', [c!.address, c!.address, c!.amount, snap.proof(c!), sigC])).reason, 'SwapBridge: swap closed (deadline passed)')
  // finalize burns the rest: the bridge's balance leaves the state, no account receives it.
  const before = await b.balance(BRIDGE)
  t.equal(before, snap.total + 500n - a!.amount)
  t.ok((await b.call('finalize')).ok)
  t.equal(await b.balance(BRIDGE), 0n)
  t.equal(await b.read('burned'), before)
  t.equal((await b.call('finalize')).reason, 'SwapBridge: already finalized')
  t.equal((await b.call('attest', [0n, recipient, 1n, [await signDigest(attester, releaseDigest(domain, { sourceChainId: SOURCE_CHAIN, lockContract: LOCK, nonce: 0n, recipient, amount: 1n }))]])).reason, 'SwapBridge: swap closed (deadline passed)')
})

t.test('genesis must fund exactly snapshotTotal + lockReserve; threshold and attesters are checked', async (t) => {
  const p = { merkleRoot: keccak256('0x01'), snapshotTotal: 100n, lockReserve: 5n, deadline: 10n, attesters: [addr(1), addr(2)], threshold: 2, sourceChainId: 1n, lockContract: LOCK }
  await t.rejects(BridgeHarness.deploy(p, 104n), /balance != snapshotTotal \+ lockReserve/)
  await t.resolves(BridgeHarness.deploy(p, 105n))
})

/**
 * Property: for random attester sets, thresholds and sequences of submissions (single or batched
 * signatures, duplicates, outsiders, signatures over another amount or recipient), a lock is
 * released exactly when M distinct attesters signed the same message — never with fewer — and
 * at most once.
 */
t.test('property: no set of fewer than M distinct attesters releases coins', async (t) => {
  const keys = Array.from({ length: 5 }, key)
  const outsider = key()
  const recipient = addr(0x77)
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n }))),
      fc.array(fc.array(fc.record({ who: fc.integer({ min: 0, max: 5 }), variant: fc.integer({ min: 0, max: 4 }) }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
      async ([n, m], submissions) => {
        const attesters = keys.slice(0, n)
        const b = await BridgeHarness.deploy({ merkleRoot: keccak256('0x01'), snapshotTotal: 0n, lockReserve: 1000n, deadline: 100n, attesters: attesters.map(addressOfKey), threshold: m, sourceChainId: SOURCE_CHAIN, lockContract: LOCK })
        const amount = 10n
        // variant 0..2: the true lock; 3: another amount; 4: another recipient (a reorged view)
        const msg = (variant: number) => ({ sourceChainId: SOURCE_CHAIN, lockContract: LOCK, nonce: 0n, recipient: variant === 4 ? addr(0x78) : recipient, amount: variant === 3 ? amount + 1n : amount })
        const signers = new Map<string, Set<number>>()
        let released: string | undefined
        for (const batch of submissions) {
          const variant = batch[0]!.variant
          const m0 = msg(variant)
          const sigs: Hex[] = []
          let outsiderIn = false
          for (const s of batch) {
            const k = s.who < n ? attesters[s.who]! : outsider
            if (s.who >= n) outsiderIn = true
            sigs.push(await signDigest(k, releaseDigest(domain, m0)))
          }
          const r = await b.call('attest', [m0.nonce, m0.recipient, m0.amount, sigs])
          const id = `${m0.recipient}:${m0.amount}`
          // The model of the contract.
          if (released) {
            if (r.ok || r.reason !== 'SwapBridge: already released') return false
            continue
          }
          if (outsiderIn) {
            if (r.ok || r.reason !== 'SwapBridge: not an attester') return false
            continue
          }
          const set = signers.get(id) ?? new Set<number>()
          const added = batch.filter((s) => !set.has(s.who)).length
          for (const s of batch) set.add(s.who)
          signers.set(id, set)
          if (!added) {
            if (r.ok || r.reason !== 'SwapBridge: already attested') return false
            continue
          }
          if (!r.ok) return false
          if (set.size >= m) released = id
        }
        const paid = (await b.balance(recipient)) + (await b.balance(addr(0x78)))
        const isReleased = await b.read<boolean>('released', [0n])
        if (isReleased !== Boolean(released)) return false
        if (paid !== (released ? (released.endsWith(':11') ? amount + 1n : amount) : 0n)) return false
        // Never more than one payment, whatever the views: the nonce is paid once.
        return (await b.read<bigint>('releasedTotal')) === paid
      },
    ),
    { numRuns: 60 },
  )
  t.pass()
})
