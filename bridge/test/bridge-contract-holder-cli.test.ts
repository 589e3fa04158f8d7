/**
 * A contract wallet in the snapshot claims from the CLI on a povchain node: the wallet is
 * deployed at its snapshot address (the deployer's CREATE address, as on the source chain),
 * `bridge claim-message` prints what its owner signs, `bridge claim --holder --signature`
 * submits it with another key paying the gas; the attacker's signature and the owner's
 * signature bent to another recipient are refused with the contract's reason.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Contract, ContractFactory, getCreateAddress, hexlify, JsonRpcProvider, SigningKey, TypedDataEncoder, Wallet } from 'ethers'
import { getAddress, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { PRESETS } from '../../genesis/presets.js'
import { DEV_KEYS, startInProcessNode, tempDir, type InProcessNode } from '../../test/helpers/devnode.js'
import { runCli, runCliFailing } from '../../test/helpers/bridgeProcesses.js'
import { compileWallets } from '../../test/helpers/eip1271Wallets.js'
import { addSwapBridgeToGenesis, DEFAULT_SWAP_BRIDGE_ADDRESS, swapBridgeGenesisEntry } from '../BridgeGenesis.js'
import { MerkleTree, proofToHex, snapshotLeaf } from '../MerkleTree.js'
import { PROOF_KIND } from '../Snapshot.js'
import { SWAP_BRIDGE_ABI } from '../SwapBridgeAbi.js'

const E18 = 10n ** 18n
const BRIDGE = getAddress(DEFAULT_SWAP_BRIDGE_ADDRESS)

t.test('bridge claim for a contract wallet (EIP-1271) from the CLI', { timeout: 120_000 }, async (t) => {
  const tmp = tempDir('povchain-bridge-1271-')
  let pov: InProcessNode | undefined
  t.teardown(async () => {
    await pov?.stop().catch(() => {})
    tmp.cleanup()
  })
  const owner = Wallet.createRandom()
  const attacker = Wallet.createRandom()
  const deployer = new Wallet(DEV_KEYS[7]!)
  // The wallet's address is its deployer's first CREATE address, on the source chain and on povchain.
  const walletAddr = getAddress(getCreateAddress({ from: deployer.address, nonce: 0 }))
  const amount = 4n * E18
  const tree = new MerkleTree([snapshotLeaf(hexToBytes(walletAddr), amount), snapshotLeaf(hexToBytes('0x00000000000000000000000000000000000000bb'), E18)])
  const proofFile = join(tmp.dir, 'proof.json')
  writeFileSync(proofFile, JSON.stringify({ kind: PROOF_KIND, root: bytesToHex(tree.root), holder: walletAddr, amount: amount.toString(), proof: proofToHex(tree.proof(snapshotLeaf(hexToBytes(walletAddr), amount))) }))
  const genesis = addSwapBridgeToGenesis(
    PRESETS.dev!(),
    swapBridgeGenesisEntry({ merkleRoot: bytesToHex(tree.root) as Hex, snapshotTotal: amount + E18, lockReserve: 0n, deadline: 1000n, attesters: [getAddress(owner.address)], threshold: 1, sourceChainId: 1n, lockContract: walletAddr }),
    { chainId: 7777n },
  )
  const genesisFile = join(tmp.dir, 'genesis.json')
  writeFileSync(genesisFile, JSON.stringify(genesis))
  pov = await startInProcessNode({ cfg: { genesisFile } })
  const dst = new JsonRpcProvider(pov.httpUrl, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 })
  t.equal(await dst.getTransactionCount(deployer.address), 0, 'the deployer has not sent anything on povchain yet')
  const walletCode = compileWallets().OwnerWallet!
  const w = await new ContractFactory(['constructor(address)'], hexlify(walletCode), deployer.connect(dst)).deploy(owner.address)
  await w.waitForDeployment()
  t.equal(getAddress(await w.getAddress()), walletAddr, 'the wallet sits at the snapshot holder address')

  const recipient = Wallet.createRandom().address
  const payerKey = join(tmp.dir, 'payer.key')
  writeFileSync(payerKey, DEV_KEYS[8]!)
  const msg = JSON.parse(await runCli(['bridge', 'claim-message', '--rpc', pov.httpUrl, '--proof-file', proofFile, '--holder', walletAddr, '--recipient', recipient])) as {
    digest: Hex
    typedData: { domain: Record<string, unknown>; types: Record<string, { name: string; type: string }[]>; message: Record<string, unknown> }
  }
  const bridge = new Contract(BRIDGE, SWAP_BRIDGE_ABI as never, dst)
  t.equal(msg.digest, await bridge.getFunction('claimDigest')(walletAddr, recipient, amount), 'claim-message prints the digest the contract checks')
  t.equal(TypedDataEncoder.hash(msg.typedData.domain, msg.typedData.types, msg.typedData.message), msg.digest, 'and typed data that hashes to it (eth_signTypedData_v4)')

  const claim = (signature: string, to = recipient) => ['bridge', 'claim', '--rpc', pov.httpUrl, '--proof-file', proofFile, '--holder', walletAddr, '--recipient', to, '--signature', signature, '--key-file', payerKey]
  const attackerSig = new SigningKey(attacker.privateKey).sign(msg.digest).serialized
  t.match(await runCliFailing(claim(attackerSig)), /SwapBridge: invalid signature/, "the attacker's signature for the wallet is refused")
  const ownerSig = new SigningKey(owner.privateKey).sign(msg.digest).serialized
  t.match(await runCliFailing(claim(ownerSig, attacker.address)), /SwapBridge: invalid signature/, "the owner's signature sent to another recipient is refused")
  t.equal(await dst.getBalance(attacker.address), 0n)
  const out = await runCli(claim(ownerSig))
  t.match(out, new RegExp(`claimed ${amount} \\(4 coins\\) of ${walletAddr} to ${recipient}`))
  t.equal(await dst.getBalance(recipient), amount, 'the recipient the wallet signed for is paid')
  t.equal(await bridge.getFunction('claimed')(walletAddr), true)
})
