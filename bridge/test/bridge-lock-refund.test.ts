/**
 * The lock deadline, the cap and refunds, against Hardhat's node as the source chain and a
 * povchain node, with the attacker's best strategies: lock one second after the deadline,
 * lock beyond the reserve, refund before settlement, refund what povchain paid (including a
 * lock paid in the deadline block itself), refund twice; and an operator who settles too
 * early, where honest relays must stay out of the refund-then-mint race.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Contract, ContractFactory, hexlify, JsonRpcProvider, Wallet } from 'ethers'
import { getAddress, keccak256, type Address, type Hex } from 'viem'
import { bytesToHex, hexToBytes } from '../../common/bytes.js'
import { silentLogger } from '../../common/logger.js'
import { noopMetrics } from '../../common/metrics.js'
import { loadContractArtifacts } from '../../genesis/ContractArtifacts.js'
import { PRESETS } from '../../genesis/presets.js'
import { DEV_KEYS, rpc, rpcRaw, startInProcessNode, tempDir, type InProcessNode } from '../../test/helpers/devnode.js'
import { addSwapBridgeToGenesis, DEFAULT_SWAP_BRIDGE_ADDRESS, swapBridgeGenesisEntry } from '../BridgeGenesis.js'
import { EthereumRpc } from '../EthereumRpc.js'
import { LockRelay } from '../LockRelay.js'
import { settleLocks } from '../LockSettlement.js'
import { MerkleTree, proofToHex, snapshotLeaf } from '../MerkleTree.js'
import { describeRevert } from '../RevertReason.js'
import { checkSwapLockForGenesis } from '../SwapLockDeployment.js'
import { PROOF_KIND } from '../Snapshot.js'
import { SWAP_BRIDGE_ABI, SWAP_LOCK_ABI } from '../SwapBridgeAbi.js'
import { runCli, runCliFailing, startHardhat, type Child } from '../../test/helpers/bridgeProcesses.js'

const E18 = 10n ** 18n
const CAP = 100n * E18
const DEADLINE = 12n
const CONFIRMATIONS = 2
const BRIDGE = getAddress(DEFAULT_SWAP_BRIDGE_ADDRESS)
const PENDING = 1n
const DELIVERED = 2n
const REFUNDED = 3n

/** The custom error a call reverts with, decoded by name (or the message when it is not one). */
async function revertOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call()
    return 'no revert'
  } catch (e) {
    return describeRevert((e as { data?: unknown }).data) ?? (e as Error).message
  }
}

t.test('lock deadline, cap, settlement and refunds: no lock is both paid on povchain and refunded', { timeout: 240_000 }, async (t) => {
  const tmp = tempDir('povchain-bridge-refund-')
  const children: Child[] = []
  let pov: InProcessNode | undefined
  t.teardown(async () => {
    for (const c of children) await c.kill('SIGKILL').catch(() => {})
    await pov?.stop().catch(() => {})
    tmp.cleanup()
  })
  const keyFile = (name: string, key: string) => {
    const f = join(tmp.dir, `${name}.key`)
    writeFileSync(f, key)
    return f
  }

  // ── source chain: token, buyer, SwapLock through `bridge deploy-lock` ─────────────────
  const hh = await startHardhat()
  children.push(hh)
  const src = new JsonRpcProvider(hh.url, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 })
  const hhRpc = <T>(method: string, params: unknown[] = []) => rpc<T>(hh.url, method, params)
  const mine = (n: number) => hhRpc('hardhat_mine', [`0x${n.toString(16)}`])
  const nextTimestamp = (ts: bigint) => hhRpc('evm_setNextBlockTimestamp', [Number(ts)])
  const operator = new Wallet(DEV_KEYS[0]!, src)
  const artifacts = loadContractArtifacts()
  const deploy = async (name: string, args: unknown[] = [], value = 0n) => {
    const a = artifacts.get(name)!
    const c = await new ContractFactory(a.abi as never, hexlify(a.bytecode), operator).deploy(...args, { value })
    await c.waitForDeployment()
    return c as Contract
  }
  const token = await deploy('BridgeTestToken')
  const tokenAddr = getAddress(await token.getAddress())
  const buyer = Wallet.createRandom().connect(src)
  await (await operator.sendTransaction({ to: buyer.address, value: E18 })).wait()
  await (await token.getFunction('mint')(buyer.address, 1000n * E18)).wait()

  const srcNow = BigInt((await src.getBlock('latest'))!.timestamp)
  const lockDeadline = srcNow + 3600n
  const settleAfter = lockDeadline + 600n
  const opKey = keyFile('operator', DEV_KEYS[0]!)
  const deployOut = await runCli([
    'bridge', 'deploy-lock', '--rpc', hh.url, '--token', tokenAddr, '--lock-deadline', String(lockDeadline),
    '--settle-after', new Date(Number(settleAfter) * 1000).toISOString(), '--cap', '100e18', '--key-file', opKey,
  ])
  const m = /SwapLock deployed at (0x[0-9a-fA-F]{40}) on source chain 31337\n\s+transaction (0x[0-9a-f]{64}) in block (\d+)/.exec(deployOut)
  t.ok(m, `deploy-lock prints address, transaction and block:\n${deployOut}`)
  t.match(deployOut, new RegExp(`lock deadline\\s+${new Date(Number(lockDeadline) * 1000).toISOString()} \\(${lockDeadline}\\)`), 'and the lock deadline')
  const lockAddr = getAddress(m![1]!)
  const deployBlock = BigInt(m![3]!)
  const receipt = await src.getTransactionReceipt(m![2]!)
  t.equal(getAddress(receipt!.contractAddress!), lockAddr, 'the printed transaction created the printed address')
  const lock = new Contract(lockAddr, SWAP_LOCK_ABI as never, src)
  t.equal(BigInt(await lock.getFunction('lockDeadline')()), lockDeadline)
  t.equal(BigInt(await lock.getFunction('settleAfter')()), settleAfter, 'an ISO date is read as the same unix time')
  t.equal(BigInt(await lock.getFunction('cap')()), CAP)
  t.equal(getAddress(await lock.getFunction('operator')()), operator.address, 'the deploying key operates by default')
  t.match(await runCliFailing(['bridge', 'deploy-lock', '--rpc', hh.url, '--token', tokenAddr, '--lock-deadline', String(srcNow - 1n), '--cap', '1', '--key-file', opKey]), /not in the future/, 'a deadline in the past is refused before sending')
  // The genesis check of the lock: chain and token of the snapshot, cap within the reserve.
  const srcRpc = EthereumRpc.at(hh.url)
  t.equal((await checkSwapLockForGenesis(srcRpc, lockAddr, { sourceChainId: 31337n, token: tokenAddr, lockReserve: CAP })).cap, CAP)
  await t.rejects(checkSwapLockForGenesis(srcRpc, lockAddr, { sourceChainId: 31337n, token: tokenAddr, lockReserve: CAP - 1n }), { code: 'BRIDGE_CAP_ABOVE_RESERVE' }, 'a reserve below the cap is refused')
  await t.rejects(checkSwapLockForGenesis(srcRpc, lockAddr, { sourceChainId: 31337n, token: lockAddr, lockReserve: CAP }), { code: 'BRIDGE_WRONG_TOKEN' }, 'a lock of another token is refused')
  const asBuyer = lock.connect(buyer) as Contract
  await (await (token.connect(buyer) as Contract).getFunction('approve')(lockAddr, 2n ** 256n - 1n)).wait()

  // ── povchain with SwapBridge (lock reserve = the cap, deadline block 12) ────────────────
  const claimer = Wallet.createRandom()
  const tree = new MerkleTree([snapshotLeaf(hexToBytes(claimer.address as Hex), 5n * E18), snapshotLeaf(hexToBytes('0x00000000000000000000000000000000000000aa'), 7n * E18)])
  const proofFile = join(tmp.dir, 'proof.json')
  writeFileSync(proofFile, JSON.stringify({ kind: PROOF_KIND, root: bytesToHex(tree.root), holder: claimer.address, amount: (5n * E18).toString(), proof: proofToHex(tree.proof(snapshotLeaf(hexToBytes(claimer.address as Hex), 5n * E18))) }))
  const attester = Wallet.createRandom()
  const genesis = addSwapBridgeToGenesis(
    PRESETS.dev!(),
    swapBridgeGenesisEntry({ merkleRoot: bytesToHex(tree.root) as Hex, snapshotTotal: 12n * E18, lockReserve: CAP, deadline: DEADLINE, attesters: [getAddress(attester.address)], threshold: 1, sourceChainId: 31337n, lockContract: lockAddr }),
    { attesters: [getAddress(attester.address)], attesterBalance: E18, chainId: 7777n },
  )
  const genesisFile = join(tmp.dir, 'genesis.json')
  writeFileSync(genesisFile, JSON.stringify(genesis))
  pov = await startInProcessNode({ cfg: { genesisFile } })
  const dst = new JsonRpcProvider(pov.httpUrl, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 })
  const bridge = new Contract(BRIDGE, SWAP_BRIDGE_ABI as never, dst)
  const filler = new Wallet(DEV_KEYS[3]!, dst)
  const povHead = async () => BigInt(await dst.getBlockNumber())
  const povTo = async (n: bigint) => {
    while ((await povHead()) < n) await (await filler.sendTransaction({ to: filler.address, value: 0n })).wait()
  }
  const released = async (n: bigint) => Boolean(await bridge.getFunction('released')(n))
  const relayState = join(tmp.dir, 'relay.json')
  const relay = (stateFile: string) =>
    new LockRelay(
      { lockContract: lockAddr, bridge: BRIDGE, confirmations: CONFIRMATIONS, fromBlock: deployBlock, maxRange: 1000n, pollMs: 100, stateFile },
      { source: EthereumRpc.at(hh.url), povchain: EthereumRpc.at(pov.httpUrl), attesterKey: hexToBytes(attester.privateKey as Hex), logger: silentLogger, metrics: noopMetrics },
    )
  const r1 = relay(relayState)
  await r1.init()
  const recipients = Array.from({ length: 3 }, () => Wallet.createRandom().address)

  // ── locks: one relayed early, one beyond the cap, one left for the deadline block ───────
  await (await asBuyer.getFunction('lock')(recipients[0], 30n * E18)).wait()
  await mine(CONFIRMATIONS)
  await r1.catchUp()
  t.ok(await released(0n), 'lock 0 released on povchain')
  t.equal(await revertOf(() => asBuyer.getFunction('lock').staticCall(recipients[1], 80n * E18)), `CapExceeded(${CAP}, ${110n * E18}): this lock would take the total locked beyond the povchain lock reserve: lock less`, 'beyond the cap: refused at lock time, nothing is lost')
  await (await asBuyer.getFunction('lock')(recipients[1], 20n * E18)).wait()

  // The source boundary: a lock at exactly lockDeadline is taken; one second later it reverts.
  await nextTimestamp(lockDeadline)
  const atDeadline = await (await asBuyer.getFunction('lock')(recipients[2], 25n * E18)).wait()
  t.equal(BigInt((await src.getBlock(atDeadline!.blockNumber))!.timestamp), lockDeadline, 'lock 2 mined at exactly the lock deadline')
  await nextTimestamp(lockDeadline + 1n)
  const balanceBefore = BigInt(await token.getFunction('balanceOf')(buyer.address))
  // Sent as a signed transaction with its own gas limit, so no estimate stops it before it is mined.
  const raw = await buyer.signTransaction({
    to: lockAddr, data: lock.interface.encodeFunctionData('lock', [recipients[2], 9n * E18]), gasLimit: 300_000n,
    nonce: await src.getTransactionCount(buyer.address), chainId: 31337n, type: 2, maxFeePerGas: 100n * 10n ** 9n, maxPriorityFeePerGas: 1n,
  })
  await rpcRaw(hh.url, 'eth_sendRawTransaction', [raw]) // Hardhat may answer with the revert; the transaction is mined either way
  const late = await src.getTransactionReceipt(keccak256(raw as Hex))
  t.equal(late?.status, 0, 'a lock one second after the deadline is mined and reverts')
  t.equal(BigInt((await src.getBlock(late!.blockNumber))!.timestamp), lockDeadline + 1n)
  t.equal(BigInt(await token.getFunction('balanceOf')(buyer.address)), balanceBefore, 'and takes no tokens')
  t.equal(BigInt(await lock.getFunction('nextNonce')()), 3n, 'and gets no nonce')
  t.match(await revertOf(() => asBuyer.getFunction('lock').staticCall(recipients[2], 9n * E18)), new RegExp(`^LockClosed\\(${lockDeadline}, \\d+\\): the lock deadline has passed`), 'decoded by name')
  await mine(CONFIRMATIONS)

  // ── the povchain boundary: the relay reaches lock 1 with the head at deadline − 1 ───────
  await povTo(DEADLINE - 1n)
  await r1.catchUp()
  const releasedLogs = await dst.getLogs({ address: BRIDGE, topics: [bridge.interface.getEvent('Released')!.topicHash], fromBlock: 0, toBlock: 'latest' })
  const lock1 = releasedLogs.map((l) => ({ l, a: bridge.interface.parseLog(l)!.args })).find((x) => x.a.nonce === 1n)
  t.equal(BigInt(lock1?.l.blockNumber ?? -1), DEADLINE, 'lock 1 released in the deadline block itself')
  t.notOk(await released(2n), 'lock 2 reached the relay when the next block was past the deadline: not relayed')
  const state = JSON.parse(readFileSync(relayState, 'utf8')) as { locks: Record<string, { status: string }> }
  t.equal(state.locks['2']?.status, 'expired', 'the relay recorded lock 2 as expired')
  t.equal(await dst.getTransactionCount(attester.address), 2, 'the attester sent two attestations, none that could revert')
  t.equal(await povHead(), DEADLINE)

  // A claim when the head is the deadline block would land in the next one: refused, nothing sent.
  const gasPayer = new Wallet(DEV_KEYS[1]!, dst)
  const payerNonce = await dst.getTransactionCount(gasPayer.address)
  const claimOut = await runCliFailing(['bridge', 'claim', '--rpc', pov.httpUrl, '--key-file', keyFile('claimer', claimer.privateKey), '--proof-file', proofFile, '--gas-key-file', keyFile('gas', DEV_KEYS[1]!)])
  t.match(claimOut, new RegExp(`claims up to block ${DEADLINE}; the head is ${DEADLINE}, so a claim would land in block ${DEADLINE + 1n} and revert — nothing sent`), 'claim at the deadline head refused with the reason')
  t.equal(await dst.getTransactionCount(gasPayer.address), payerNonce, 'and no gas spent')

  // ── before settlement: no refund, no early settle ───────────────────────────────────────
  t.equal(await revertOf(() => asBuyer.getFunction('refund').staticCall(2n)), 'NotSettled(): refunds open once the operator has settled (after the povchain swap closed and every released lock was marked delivered)', 'refund before settlement')
  t.match(await revertOf(() => (lock.connect(operator) as Contract).getFunction('settle').staticCall()), /^SettleTooEarly\(/, 'the operator cannot settle before settleAfter')
  const settleDeps = { source: EthereumRpc.at(hh.url), povchain: EthereumRpc.at(pov.httpUrl), operatorKey: hexToBytes(DEV_KEYS[0]! as Hex), logger: silentLogger }
  await t.rejects(settleLocks(settleDeps, { lockContract: lockAddr, bridge: BRIDGE }), { code: 'BRIDGE_SWAP_OPEN' }, 'settle refused while povchain block 12 is not final')

  // ── after the povchain deadline block is final and settleAfter has passed ───────────────
  await povTo(DEADLINE + 2n)
  await (await (bridge.connect(filler) as Contract).getFunction('finalize')()).wait()
  await nextTimestamp(settleAfter + 1n)
  await mine(1)
  const settled = JSON.parse(await runCli(['bridge', 'settle', '--source-rpc', hh.url, '--lock', lockAddr, '--rpc', pov.httpUrl, '--key-file', opKey, '--json'])) as {
    markTransactions: Hex[]
    markedDelivered: string[]
    refundable: { nonces: string[]; amount: string }
    delivered: { amount: string }
  }
  t.same(settled.markedDelivered, ['0', '1'], 'settle marks both released locks delivered (lock 1 paid in the deadline block too)')
  const markGas = (await src.getTransactionReceipt(settled.markTransactions[0]!))!.gasUsed
  t.comment(`markDelivered of 2 nonces: ${markGas} gas`)
  t.ok(markGas < 100_000n, 'marking is cheap enough for 200 nonces a transaction')
  t.same(settled.refundable, { nonces: ['2'], amount: (25n * E18).toString() }, 'and leaves lock 2 refundable')
  const status = async (n: bigint) => BigInt((await lock.getFunction('locks')(n))[1])
  t.same([await status(0n), await status(1n), await status(2n)], [DELIVERED, DELIVERED, PENDING])

  // The attacker (the locker) tries to be paid twice.
  t.equal(await revertOf(() => asBuyer.getFunction('refund').staticCall(0n)), `NotPending(0, 2): that nonce is not a pending lock (unknown, delivered on povchain, or already refunded)`, 'refund of a lock povchain paid')
  t.match(await revertOf(() => asBuyer.getFunction('refund').staticCall(1n)), /^NotPending\(1, 2\)/, 'refund of the lock paid in the deadline block')
  t.match(await revertOf(() => (lock.connect(operator) as Contract).getFunction('markDelivered').staticCall([2n])), /^AlreadySettled\(\)/, 'after settling, the operator cannot take a refund away')
  // Anyone may send the refund; the tokens go back to the locker.
  const helper = keyFile('helper', DEV_KEYS[5]!)
  const refundOut = await runCli(['bridge', 'refund', '--rpc', hh.url, '--lock', lockAddr, '--nonce', '2', '--key-file', helper])
  t.match(refundOut, new RegExp(`refunded lock 2: ${25n * E18} to ${buyer.address}`))
  t.equal(BigInt(await token.getFunction('balanceOf')(buyer.address)), balanceBefore + 25n * E18, 'the locker has lock 2 back')
  t.match(await revertOf(() => asBuyer.getFunction('refund').staticCall(2n)), /^NotPending\(2, 3\)/, 'a second refund of the same lock')
  t.equal(await status(2n), REFUNDED)

  // Accounting: every locked token is exactly once paid on povchain or refunded.
  const totalLocked = BigInt(await lock.getFunction('totalLocked')())
  const delivered = BigInt(await lock.getFunction('totalDelivered')())
  const refunded = BigInt(await lock.getFunction('totalRefunded')())
  t.equal(BigInt(await bridge.getFunction('releasedTotal')()), delivered, 'released on povchain = delivered on the source')
  t.equal(delivered + refunded, totalLocked, 'delivered + refunded = locked')
  t.same([await dst.getBalance(recipients[0]!), await dst.getBalance(recipients[1]!), await dst.getBalance(recipients[2]!)], [30n * E18, 20n * E18, 0n])

  // A relay started afresh (lost state) rescans everything and sends nothing.
  const r2 = relay(join(tmp.dir, 'relay-fresh.json'))
  await r2.init()
  await r2.catchUp()
  t.equal(await dst.getTransactionCount(attester.address), 2, 'a fresh relay attests nothing after the swap closed')

  // ── an operator who settles too early: honest relays stay out of the race ───────────────
  // SwapBridge here runs on the Hardhat chain itself (deployed with its exact funding), so the
  // swap is still open when the careless operator settles; the relay must not pay what the
  // source refunded, or may refund at any moment.
  const head = await src.getBlock('latest')
  const lock2 = await deploy('SwapLock', [tokenAddr, BigInt(head!.timestamp) + 100n, BigInt(head!.timestamp) + 100n, CAP, operator.address])
  const lock2Addr = getAddress(await lock2.getAddress())
  const lock2Block = BigInt(await src.getBlockNumber())
  const attester2 = new Wallet(DEV_KEYS[6]!, src)
  const bridge2 = await deploy('SwapBridge', [keccak256('0x01'), 0n, CAP, BigInt(await src.getBlockNumber()) + 10_000n, [attester2.address], 1n, 31337n, lock2Addr], CAP)
  const bridge2Addr = getAddress(await bridge2.getAddress()) as Address
  await (await (token.connect(buyer) as Contract).getFunction('approve')(lock2Addr, 2n ** 256n - 1n)).wait()
  const asBuyer2 = lock2.connect(buyer) as Contract
  await (await asBuyer2.getFunction('lock')(recipients[0], 10n * E18)).wait()
  await (await asBuyer2.getFunction('lock')(recipients[1], 10n * E18)).wait()
  await nextTimestamp(BigInt(head!.timestamp) + 200n)
  await mine(CONFIRMATIONS)
  await t.rejects(settleLocks({ ...settleDeps, povchain: EthereumRpc.at(hh.url) }, { lockContract: lock2Addr, bridge: bridge2Addr }), { code: 'BRIDGE_SWAP_OPEN' }, 'bridge settle refuses while the swap is open')
  await (await (lock2.connect(operator) as Contract).getFunction('settle')()).wait() // the careless operator, bypassing the CLI
  await (await asBuyer2.getFunction('refund')(0n)).wait() // the attacker refunds at once
  const attester2Nonce = await src.getTransactionCount(attester2.address)
  const r3 = new LockRelay(
    { lockContract: lock2Addr, bridge: bridge2Addr, confirmations: CONFIRMATIONS, fromBlock: lock2Block, maxRange: 1000n, pollMs: 100, stateFile: join(tmp.dir, 'relay2.json') },
    { source: EthereumRpc.at(hh.url), povchain: EthereumRpc.at(hh.url), attesterKey: hexToBytes(DEV_KEYS[6]! as Hex), logger: silentLogger, metrics: noopMetrics },
  )
  await r3.init()
  await r3.catchUp()
  t.notOk(await bridge2.getFunction('released')(0n), 'the refunded lock is not paid')
  t.notOk(await bridge2.getFunction('released')(1n), 'nor the refundable one')
  t.equal(await src.getTransactionCount(attester2.address), attester2Nonce, 'the relay sent nothing')
  const st2 = JSON.parse(readFileSync(join(tmp.dir, 'relay2.json'), 'utf8')) as { locks: Record<string, { status: string }> }
  t.same([st2.locks['0']?.status, st2.locks['1']?.status], ['expired', 'expired'])
})
