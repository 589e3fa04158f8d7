/**
 * SwapBridge in the in-process EVM: snapshot holders that are contracts claim through EIP-1271
 * (a small wallet compiled here with solc), attackers fail to claim for them; and the deadline
 * boundary — block `deadline` itself still claims and releases, the next block does not, and
 * finalize is possible only from the next block.
 */
import t from 'tap'
import { encodeAbiParameters, getAddress, parseAbi, type Address, type Hex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { bytesToHex, concatBytes, hexToBytes } from '../../common/bytes.js'
import { MerkleTree, proofToHex, snapshotLeaf } from '../MerkleTree.js'
import { addressOfKey, claimDigest, releaseDigest, signDigest, type SwapDomain } from '../SwapMessages.js'
import { BRIDGE, BridgeHarness, CHAIN_ID } from '../../test/helpers/swapBridgeHarness.js'
import { compileWallets } from '../../test/helpers/eip1271Wallets.js'

const domain: SwapDomain = { chainId: CHAIN_ID, bridge: BRIDGE }
const key = () => hexToBytes(generatePrivateKey())
const addr = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, '0')}`)
const WALLET_ABI = parseAbi(['function owner() view returns (address)', 'function calls() view returns (uint256)'])

t.test('a contract wallet in the snapshot claims with EIP-1271; attackers cannot claim for it', async (t) => {
  const code = compileWallets()
  const owner = key()
  const attacker = key()
  const eoa = key()
  // Snapshot holders: four contract wallets (at fixed addresses, as if deployed at the same
  // address on povchain as on the source chain) and one EOA.
  const wallet = addr(0xa11e7)
  const stateful = addr(0x57a7e)
  const short = addr(0x5407)
  const reverting = addr(0x7e7e)
  const holders: [Address, bigint][] = [
    [wallet, 1_000n],
    [stateful, 200n],
    [short, 300n],
    [reverting, 400n],
    [addressOfKey(eoa), 50n],
  ]
  const tree = new MerkleTree(holders.map(([a, v]) => snapshotLeaf(hexToBytes(a), v)))
  const proof = (a: Address, v: bigint) => proofToHex(tree.proof(snapshotLeaf(hexToBytes(a), v)))
  const total = holders.reduce((s, [, v]) => s + v, 0n)
  const b = await BridgeHarness.deploy({ merkleRoot: bytesToHex(tree.root) as Hex, snapshotTotal: total, lockReserve: 0n, deadline: 100n, attesters: [addr(1)], threshold: 1, sourceChainId: 1n, lockContract: addr(2) })
  await b.deployAt(wallet, concatBytes(code.OwnerWallet!, hexToBytes(encodeAbiParameters([{ type: 'address' }], [addressOfKey(owner)]))))
  await b.deployAt(stateful, code.StatefulWallet!)
  await b.deployAt(short, code.ShortAnswerWallet!)
  await b.deployAt(reverting, code.RevertingWallet!)
  t.equal(await b.callOther<Address>(wallet, WALLET_ABI, 'owner'), addressOfKey(owner), 'the wallet is deployed with its owner')

  const treasury = addr(0x7ea5)
  const thief = addressOfKey(attacker)
  const claim = (holder: Address, recipient: Address, amount: bigint, sig: Hex) => b.call('claim', [holder, recipient, amount, proof(holder, amount), sig])
  const digest = (holder: Address, recipient: Address, amount: bigint) => claimDigest(domain, { holder, recipient, amount })

  // The attacker's best strategies against the wallet's leaf:
  // 1. sign the claim with its own key (to itself, and to the wallet's chosen recipient);
  t.equal((await claim(wallet, thief, 1_000n, await signDigest(attacker, digest(wallet, thief, 1_000n)))).reason, 'SwapBridge: invalid signature', 'attacker key, attacker recipient')
  t.equal((await claim(wallet, treasury, 1_000n, await signDigest(attacker, digest(wallet, treasury, 1_000n)))).reason, 'SwapBridge: invalid signature', 'attacker key, any recipient')
  // 2. take the owner's valid signature and change the recipient (front-running the claim);
  const ownerSig = await signDigest(owner, digest(wallet, treasury, 1_000n))
  t.equal((await claim(wallet, thief, 1_000n, ownerSig)).reason, 'SwapBridge: invalid signature', "owner's signature, recipient swapped")
  // 3. replay an owner signature made for another chain or another bridge;
  const otherChain = await signDigest(owner, claimDigest({ ...domain, chainId: 1n }, { holder: wallet, recipient: thief, amount: 1_000n }))
  t.equal((await claim(wallet, thief, 1_000n, otherChain)).reason, 'SwapBridge: invalid signature', 'signature of another chain id')
  // 4. empty and malformed signatures (the wallet answers no; nothing falls through to yes).
  t.equal((await claim(wallet, thief, 1_000n, '0x')).reason, 'SwapBridge: invalid signature', 'empty signature')
  t.equal((await claim(wallet, thief, 1_000n, `0x${'00'.repeat(65)}`)).reason, 'SwapBridge: invalid signature', 'all-zero signature (ecrecover gives address 0)')
  t.equal(await b.balance(thief), 0n, 'the attacker got nothing')

  // The owner's signature, submitted by anyone (here: the attacker pays the gas), pays the wallet's recipient.
  const ok = await b.call('claim', [wallet, treasury, 1_000n, proof(wallet, 1_000n), ownerSig], thief)
  t.ok(ok.ok, `EIP-1271 claim: ${ok.reason ?? 'ok'}`)
  t.equal(await b.balance(treasury), 1_000n, 'the recipient the wallet signed for is paid')
  t.equal(await b.read('claimed', [wallet]), true)
  t.equal((await claim(wallet, treasury, 1_000n, ownerSig)).reason, 'SwapBridge: already claimed', 'the same signature twice')

  // Wallets that answer badly never claim: a state write under STATICCALL, a 4-byte answer, a revert.
  t.equal((await claim(stateful, thief, 200n, '0x01')).reason, 'SwapBridge: invalid signature', 'a wallet that writes state cannot approve (STATICCALL)')
  t.equal(await b.callOther<bigint>(stateful, WALLET_ABI, 'calls'), 0n, 'and its state is unchanged')
  t.equal((await claim(short, thief, 300n, '0x01')).reason, 'SwapBridge: invalid signature', 'magic value not ABI-encoded')
  t.equal((await claim(reverting, thief, 400n, '0x01')).reason, 'SwapBridge: invalid signature', 'a reverting wallet')

  // An EOA holder still claims with ECDSA; someone else's ECDSA for it still fails.
  const e = addressOfKey(eoa)
  t.equal((await claim(e, thief, 50n, await signDigest(attacker, digest(e, thief, 50n)))).reason, 'SwapBridge: invalid signature', 'EOA holder: attacker key')
  t.ok((await claim(e, e, 50n, await signDigest(eoa, digest(e, e, 50n)))).ok, 'EOA holder: its own key')
  t.equal(await b.read('claimedTotal'), 1_050n)
})

t.test('deadline boundary: block `deadline` claims and releases, block deadline + 1 does not; finalize from deadline + 1', async (t) => {
  const holder = key()
  const attester = key()
  const h = addressOfKey(holder)
  const tree = new MerkleTree([snapshotLeaf(hexToBytes(h), 10n), snapshotLeaf(hexToBytes(addr(9)), 5n)])
  const proof = proofToHex(tree.proof(snapshotLeaf(hexToBytes(h), 10n)))
  const DEADLINE = 20n
  const b = await BridgeHarness.deploy({ merkleRoot: bytesToHex(tree.root) as Hex, snapshotTotal: 15n, lockReserve: 100n, deadline: DEADLINE, attesters: [addressOfKey(attester)], threshold: 1, sourceChainId: 1n, lockContract: addr(2) })
  const r = addr(0xbeef)
  const release = async (nonce: bigint, amount: bigint) =>
    b.call('attest', [nonce, r, amount, [await signDigest(attester, releaseDigest(domain, { sourceChainId: 1n, lockContract: addr(2), nonce, recipient: r, amount }))]])
  const sig = await signDigest(holder, claimDigest(domain, { holder: h, recipient: h, amount: 10n }))

  b.blockNumber = DEADLINE
  t.equal((await b.call('finalize')).reason, 'SwapBridge: deadline not reached', 'finalize in the deadline block itself')
  t.ok((await b.call('claim', [h, h, 10n, proof, sig])).ok, 'a claim in the deadline block is paid')
  t.ok((await release(0n, 30n)).ok, 'a release in the deadline block is paid')
  t.equal(await b.read('released', [0n]), true)

  b.blockNumber = DEADLINE + 1n
  t.equal((await release(1n, 30n)).reason, 'SwapBridge: swap closed (deadline passed)', 'a release one block later')
  t.ok((await b.call('finalize')).ok, 'finalize one block later')
  t.equal((await release(1n, 30n)).reason, 'SwapBridge: swap closed (deadline passed)', 'and after finalize')
  t.equal(await b.read('burned'), 115n - 10n - 30n, 'everything not claimed or released in time is burned')
})
