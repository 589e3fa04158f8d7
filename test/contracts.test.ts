/**
 * A Solidity contract compiled here with solc (npm), deployed and used through ethers v6 and
 * viem against a real dev node: custom errors, require strings and panics decoded by the
 * clients; reverting transactions mined with status 0 (Geth); logs through eth_getLogs and
 * live WebSocket subscriptions; eth_getBlockReceipts; debug_traceTransaction (struct logger
 * and callTracer); CREATE2 deployer; state overrides; block tags and EIP-1898 block params;
 * Prague rules (PUSH0, transient storage).
 */
import { Contract, ContractFactory, JsonRpcProvider, Wallet, WebSocketProvider, getCreate2Address, id, keccak256, zeroPadValue, toBeHex, type Log as EthersLog } from 'ethers'
import t from 'tap'
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  webSocket,
  type Abi,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { CHAIN_ID, CREATE2_DEPLOYER, DEV_KEYS, MULTICALL3, hex, rpc, rpcRaw, startInProcessNode, waitFor } from './helpers/devnode.js'
import { compileSolidity, opcodes } from './helpers/solidity.js'

const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

contract Vault {
    error Insufficient(uint256 have, uint256 want);
    event Deposited(address indexed who, uint256 indexed tag, uint256 amount);
    event Stored(uint256 indexed value, address indexed by);

    mapping(address => uint256) public balances;
    uint256 public stored;          // slot 1
    uint256 public lastTransient;   // slot 2

    function deposit(uint256 tag) external payable {
        balances[msg.sender] += msg.value;
        emit Deposited(msg.sender, tag, msg.value);
    }

    function withdraw(uint256 amount) external {
        uint256 have = balances[msg.sender];
        if (have < amount) revert Insufficient(have, amount);
        balances[msg.sender] = have - amount;
        payable(msg.sender).transfer(amount);
    }

    function setPositive(uint256 x) external {
        require(x > 0, "x must be positive");
        stored = x;
        emit Stored(x, msg.sender);
    }

    function half(uint256 x) external pure returns (uint256) {
        assert(x % 2 == 0);
        return x / 2;
    }

    /// EIP-1153: written and read back within the transaction, gone afterwards.
    function useTransient(uint256 v) external {
        uint256 r;
        assembly { tstore(7, v) r := tload(7) }
        lastTransient = r;
    }

    function readTransient() external view returns (uint256 r) {
        assembly { r := tload(7) }
    }
}

contract Caller {
    Vault public immutable vault;
    constructor(Vault v) { vault = v; }

    function callSet(uint256 x) external {
        vault.setPositive(x);
    }

    function trySet(uint256 x) external returns (bool ok) {
        try vault.setPositive(x) { ok = true; } catch { ok = false; }
    }
}
`

const compiled = compileSolidity({ 'Vault.sol': SOURCE })
const VAULT = compiled.Vault!
const CALLER = compiled.Caller!

const node = await startInProcessNode()
t.teardown(() => node.stop())
const url = node.httpUrl

const provider = new JsonRpcProvider(url, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 })
t.teardown(() => provider.destroy())
const deployer = new Wallet(DEV_KEYS[5]!, provider)
const user = new Wallet(DEV_KEYS[6]!, provider)

const chain = defineChain({
  id: Number(CHAIN_ID),
  name: 'povchain dev',
  nativeCurrency: { name: 'Pov', symbol: 'POV', decimals: 18 },
  rpcUrls: { default: { http: [url], webSocket: [node.wsUrl] } },
  contracts: { multicall3: { address: MULTICALL3 } },
})
const viemAccount = privateKeyToAccount(DEV_KEYS[7] as `0x${string}`)
const pub = createPublicClient({ chain, transport: http(url), pollingInterval: 50 })
const wallet = createWalletClient({ account: viemAccount, chain, transport: http(url) })
const wsPub = createPublicClient({ chain, transport: webSocket(node.wsUrl), pollingInterval: 50 })
t.teardown(async () => {
  const c = await (wsPub.transport as unknown as { getRpcClient: () => Promise<{ close: () => void }> }).getRpcClient()
  c.close()
})

const vaultAbi = VAULT.abi as Abi
let vault: Contract
let vaultAddress: string
let caller: Contract
let viemVaultAddress: `0x${string}`
let deployBlock: number

t.test('compiled for Prague: PUSH0 and TSTORE/TLOAD in the bytecode', async (t) => {
  const ops = opcodes(VAULT.deployedBytecode)
  t.ok(ops.has(0x5f), 'PUSH0')
  t.ok(ops.has(0x5d) && ops.has(0x5c), 'TSTORE and TLOAD')
})

t.test('deploy with ethers and viem', async (t) => {
  const factory = new ContractFactory(VAULT.abi as never, VAULT.bytecode, deployer)
  const v = await factory.deploy()
  const receipt = await v.deploymentTransaction()!.wait(1, 15_000)
  t.equal(receipt!.status, 1)
  vaultAddress = await v.getAddress()
  t.equal(receipt!.contractAddress, vaultAddress, 'receipt.contractAddress')
  deployBlock = receipt!.blockNumber
  vault = new Contract(vaultAddress, VAULT.abi as never, user)
  t.equal(await provider.getCode(vaultAddress), VAULT.deployedBytecode, 'runtime code stored')

  const cf = new ContractFactory(CALLER.abi as never, CALLER.bytecode, deployer)
  const c = await cf.deploy(vaultAddress)
  await c.waitForDeployment()
  caller = new Contract(await c.getAddress(), CALLER.abi as never, user)
  t.equal(await caller.getFunction('vault')(), vaultAddress)

  const hash = await wallet.deployContract({ abi: vaultAbi, bytecode: VAULT.bytecode })
  const r = await pub.waitForTransactionReceipt({ hash, timeout: 15_000, pollingInterval: 50 })
  t.equal(r.status, 'success')
  t.ok(r.contractAddress, 'viem deployment address')
  viemVaultAddress = r.contractAddress!
  t.equal(await pub.getCode({ address: viemVaultAddress }), VAULT.deployedBytecode)
})

t.test('calls and storage', async (t) => {
  const tx = await vault.getFunction('deposit')(42n, { value: 1000n })
  const r = await tx.wait(1, 15_000)
  t.equal(r.status, 1)
  t.equal(await vault.getFunction('balances')(user.address), 1000n)
  await (await vault.getFunction('setPositive')(5n)).wait(1, 15_000)
  t.equal(await vault.getFunction('stored')(), 5n)
  // The same slot through eth_getStorageAt.
  t.equal(BigInt(await provider.getStorage(vaultAddress, 1)), 5n)
  t.equal(await vault.getFunction('half')(10n), 5n)

  // viem writes and reads its own instance.
  const h = await wallet.writeContract({ address: viemVaultAddress, abi: vaultAbi, functionName: 'setPositive', args: [9n] })
  await pub.waitForTransactionReceipt({ hash: h, timeout: 15_000, pollingInterval: 50 })
  t.equal(await pub.readContract({ address: viemVaultAddress, abi: vaultAbi, functionName: 'stored' }), 9n)
})

t.test('transient storage is transaction-scoped (EIP-1153)', async (t) => {
  const r = await (await vault.getFunction('useTransient')(1234n)).wait(1, 15_000)
  t.equal(r.status, 1)
  t.equal(await vault.getFunction('lastTransient')(), 1234n, 'TLOAD saw TSTORE within the tx')
  t.equal(await vault.getFunction('readTransient')(), 0n, 'nothing left for the next call')
})

t.test('reverts in eth_call and eth_estimateGas: code 3 with data, decoded by the clients', async (t) => {
  const iface = vault.interface
  const withdrawData = iface.encodeFunctionData('withdraw', [5000n])
  const expectedData = iface.encodeErrorResult('Insufficient', [1000n, 5000n])

  for (const method of ['eth_call', 'eth_estimateGas']) {
    const r = await rpcRaw(url, method, [{ from: user.address, to: vaultAddress, data: withdrawData }, 'latest'])
    t.equal(r.error?.code, 3, `${method}: code 3`)
    t.equal(r.error?.data, expectedData, `${method}: revert data`)
    t.match(r.error?.message, /^execution reverted/, `${method}: message`)
    const rs = await rpcRaw(url, method, [{ from: user.address, to: vaultAddress, data: iface.encodeFunctionData('setPositive', [0n]) }])
    t.equal(rs.error?.code, 3)
    t.equal(rs.error?.message, 'execution reverted: x must be positive', `${method}: require string in the message`)
    t.equal(rs.error?.data, iface.encodeErrorResult('Error(string)' as never, ['x must be positive']))
  }

  // ethers: custom error decoded from the revert data.
  const e1 = await vault.getFunction('withdraw').staticCall(5000n).catch((e: unknown) => e)
  t.equal((e1 as { code?: string }).code, 'CALL_EXCEPTION')
  t.equal((e1 as { data?: string }).data, expectedData)
  const parsed = iface.parseError((e1 as { data: string }).data)
  t.equal(parsed?.name, 'Insufficient')
  t.same(parsed?.args.toArray(), [1000n, 5000n])
  t.equal((e1 as { revert?: { name: string } }).revert?.name, 'Insufficient', 'ethers decoded the custom error itself')

  const e2 = await vault.getFunction('withdraw').estimateGas(5000n).catch((e: unknown) => e)
  t.equal(iface.parseError((e2 as { data: string }).data)?.name, 'Insufficient', 'estimateGas: custom error')

  const e3 = await vault.getFunction('setPositive').staticCall(0n).catch((e: unknown) => e)
  t.equal((e3 as { reason?: string }).reason, 'x must be positive', 'ethers: require reason')
  const e4 = await vault.getFunction('half').staticCall(3n).catch((e: unknown) => e)
  t.same((e4 as { revert?: { name: string; args: unknown[] } }).revert?.name, 'Panic')
  t.equal(BigInt((e4 as { revert?: { args: bigint[] } }).revert!.args[0]!), 1n, 'assert → Panic(0x01)')

  // viem: ContractFunctionRevertedError with errorName/args and the reason.
  const viemRevert = async (fn: () => Promise<unknown>) => {
    const err = await fn().then(
      () => undefined,
      (e: unknown) => e,
    )
    t.ok(err instanceof BaseError, 'viem BaseError')
    const inner = (err as BaseError).walk((e) => e instanceof ContractFunctionRevertedError)
    t.ok(inner instanceof ContractFunctionRevertedError, 'ContractFunctionRevertedError')
    return inner as ContractFunctionRevertedError
  }
  const v1 = await viemRevert(() => pub.simulateContract({ account: user.address as `0x${string}`, address: vaultAddress as `0x${string}`, abi: vaultAbi, functionName: 'withdraw', args: [5000n] }))
  t.equal(v1.data?.errorName, 'Insufficient')
  t.same(v1.data?.args, [1000n, 5000n])
  const v2 = await viemRevert(() => pub.readContract({ address: vaultAddress as `0x${string}`, abi: vaultAbi, functionName: 'half', args: [3n] }))
  t.equal(v2.data?.errorName, 'Panic')
  t.match(v2.reason, /assert/, 'viem panic reason')
  t.same(v2.data?.args, [1n], 'Panic(0x01)')
  const v3 = await viemRevert(() => pub.estimateContractGas({ account: viemAccount, address: vaultAddress as `0x${string}`, abi: vaultAbi, functionName: 'setPositive', args: [0n] }))
  t.equal(v3.reason, 'x must be positive', 'viem require reason (estimateGas)')
  const v4 = await viemRevert(() => pub.simulateContract({ account: viemAccount, address: vaultAddress as `0x${string}`, abi: vaultAbi, functionName: 'setPositive', args: [0n] }))
  t.equal(v4.reason, 'x must be positive', 'viem require reason (eth_call)')
  t.equal(v4.data?.errorName, 'Error')
})

const reverted: { hash: string; block: number }[] = []

t.test('transactions that revert are accepted and mined with status 0 (Geth)', async (t) => {
  const nonce = await provider.getTransactionCount(user.address, 'pending')
  const before = await provider.getBalance(user.address)
  const tx = await vault.getFunction('withdraw')(5000n, { gasLimit: 100_000n, nonce })
  const err = await tx.wait(1, 15_000).catch((e: unknown) => e)
  t.equal((err as { code?: string }).code, 'CALL_EXCEPTION', 'ethers wait() reports the failed tx')
  const receipt = await provider.getTransactionReceipt(tx.hash)
  t.equal(receipt!.status, 0, 'status 0')
  t.ok(receipt!.gasUsed > 21000n && receipt!.gasUsed < 100_000n, 'gas used by the revert, not the whole limit')
  t.equal(await provider.getTransactionCount(user.address), nonce + 1, 'nonce consumed')
  t.equal(await provider.getBalance(user.address), before - receipt!.gasUsed * receipt!.gasPrice, 'fee paid')
  t.same(receipt!.logs, [], 'no logs from a reverted tx')
  reverted.push({ hash: tx.hash, block: receipt!.blockNumber })

  // viem: a require failure sent with an explicit gas limit.
  const h = await wallet.writeContract({ address: vaultAddress as `0x${string}`, abi: vaultAbi, functionName: 'setPositive', args: [0n], gas: 80_000n })
  const r = await pub.waitForTransactionReceipt({ hash: h, timeout: 15_000, pollingInterval: 50 })
  t.equal(r.status, 'reverted')

  // An internal call that reverts, through the Caller, also status 0.
  const tx2 = await caller.getFunction('callSet')(0n, { gasLimit: 120_000n })
  await tx2.wait(1, 15_000).catch(() => undefined)
  const r2 = await waitFor(() => provider.getTransactionReceipt(tx2.hash), 'receipt of callSet(0)')
  t.equal(r2.status, 0)
})

t.test('events: eth_getLogs by address and indexed topic, and live WebSocket subscriptions', async (t) => {
  // Live listeners first: ethers WebSocketProvider (eth_subscribe logs + newHeads), viem watchContractEvent.
  const ws = new WebSocketProvider(node.wsUrl, Number(CHAIN_ID), { staticNetwork: true })
  t.teardown(() => ws.destroy())
  const wsVault = new Contract(vaultAddress, VAULT.abi as never, ws)
  const seenEthers: EthersLog[] = []
  const heads: number[] = []
  const filter = wsVault.filters.Deposited!(null, 77n)
  await wsVault.on(filter, (...args: unknown[]) => {
    const ev = args.at(-1) as { log: EthersLog }
    seenEthers.push(ev.log)
  })
  await ws.on('block', (n: number) => heads.push(n))
  const seenViem: { args: Record<string, unknown>; transactionHash: string }[] = []
  const unwatch = wsPub.watchContractEvent({
    address: vaultAddress as `0x${string}`,
    abi: vaultAbi,
    eventName: 'Deposited',
    args: { tag: 77n },
    onLogs: (logs) => seenViem.push(...(logs as never[])),
  })
  t.teardown(unwatch)
  // Wait until the node holds all three subscriptions (ethers logs + newHeads, viem logs).
  await waitFor(async () => {
    const text = await (await fetch(`${url}/metrics`)).text()
    const m = /^povchain_rpc_subscriptions (\d+)/m.exec(text)
    return m && Number(m[1]) >= 3
  }, 'three live subscriptions', 10_000)

  const txs = []
  for (const tag of [77n, 78n, 77n]) txs.push(await vault.getFunction('deposit')(tag, { value: 10n }))
  const receipts = await Promise.all(txs.map((x) => x.wait(1, 15_000)))
  const tagged = receipts.filter((_, i) => i !== 1)
  t.ok(receipts.every((r) => r.status === 1))

  // eth_getLogs: address + topic0 + indexed tag.
  const topic0 = id('Deposited(address,uint256,uint256)')
  const logs = await rpc<{ transactionHash: string; topics: string[]; data: string; address: string; logIndex: string; blockHash: string }[]>(url, 'eth_getLogs', [
    { address: vaultAddress, fromBlock: hex(deployBlock), toBlock: 'latest', topics: [topic0, null, zeroPadValue(toBeHex(77n), 32)] },
  ])
  t.same(
    logs.map((l) => l.transactionHash),
    tagged.map((r) => r.hash),
    'eth_getLogs filtered by indexed tag',
  )
  t.equal(logs[0]!.topics[1], zeroPadValue(user.address.toLowerCase(), 32), 'indexed address topic')
  t.equal(BigInt(logs[0]!.data), 10n)
  t.equal(logs[0]!.address, vaultAddress.toLowerCase())
  // By the sender topic and a topic OR-list.
  const bySender = await provider.getLogs({ address: vaultAddress, fromBlock: deployBlock, topics: [topic0, zeroPadValue(user.address, 32), [zeroPadValue(toBeHex(77n), 32), zeroPadValue(toBeHex(78n), 32)]] })
  t.equal(bySender.filter((l) => receipts.some((r) => r.hash === l.transactionHash)).length, 3, 'topic OR-list')
  // ethers queryFilter and viem getContractEvents decode them.
  const q = await vault.queryFilter(vault.filters.Deposited!(null, 78n), deployBlock)
  t.equal(q.length, 1)
  t.equal((q[0] as unknown as { args: unknown[] }).args[2], 10n)
  const ve = await pub.getContractEvents({ address: vaultAddress as `0x${string}`, abi: vaultAbi, eventName: 'Deposited', args: { tag: 78n }, fromBlock: BigInt(deployBlock) })
  t.equal(ve.length, 1)
  t.equal((ve[0]!.args as { amount: bigint }).amount, 10n)
  // A different address yields nothing.
  t.same(await rpc(url, 'eth_getLogs', [{ address: viemVaultAddress, fromBlock: hex(deployBlock), topics: [topic0] }]), [])

  await waitFor(() => seenEthers.length >= 2, 'ethers WebSocket logs', 10_000)
  t.same(
    seenEthers.map((l) => l.transactionHash),
    tagged.map((r) => r.hash),
    'ethers received the tagged events live',
  )
  await waitFor(() => seenViem.length >= 2, 'viem WebSocket logs', 10_000)
  t.same(
    seenViem.map((l) => l.transactionHash),
    tagged.map((r) => r.hash),
    'viem received the tagged events live',
  )
  t.equal(seenViem[0]!.args.tag, 77n)
  const last = receipts.at(-1)!.blockNumber
  await waitFor(() => heads.includes(last) || heads.some((h) => h > last), 'newHeads', 10_000)
  t.pass(`newHeads seen (${heads.length} heads)`)
})

t.test('eth_getBlockReceipts', async (t) => {
  const tx = await vault.getFunction('deposit')(1n, { value: 1n })
  const r = await tx.wait(1, 15_000)
  for (const ref of [hex(r.blockNumber), r.blockHash, { blockHash: r.blockHash }]) {
    const receipts = await rpc<{ transactionHash: string; blockHash: string; logs: unknown[]; status: string }[]>(url, 'eth_getBlockReceipts', [ref])
    const block = await rpc<{ transactions: string[] }>(url, 'eth_getBlockByHash', [r.blockHash, false])
    t.equal(receipts.length, block.transactions.length, 'one receipt per tx')
    const mine = receipts.find((x) => x.transactionHash === tx.hash)
    t.ok(mine, 'contains the tx')
    t.equal(mine!.blockHash, r.blockHash)
    t.equal(mine!.logs.length, 1)
    t.equal(mine!.status, '0x1')
  }
  t.equal(await rpc(url, 'eth_getBlockReceipts', [hex(10_000_000)]), null, 'unknown block → null')
})

t.test('debug_traceTransaction: struct logger and callTracer on an internal call', async (t) => {
  const tx = await caller.getFunction('callSet')(11n)
  const r = await tx.wait(1, 15_000)
  t.equal(r.status, 1)
  const callerAddress = (await caller.getAddress()).toLowerCase()

  const trace = await rpc<{ gas: number; failed: boolean; returnValue: string; structLogs: { op: string; pc: number; gas: number; gasCost: number; depth: number; stack?: string[] }[] }>(url, 'debug_traceTransaction', [tx.hash])
  t.equal(trace.failed, false)
  t.equal(trace.gas, Number(r.gasUsed), 'trace gas = receipt gasUsed')
  t.ok(trace.structLogs.length > 50, `struct logs (${trace.structLogs.length})`)
  t.equal(trace.structLogs[0]!.pc, 0)
  t.equal(trace.structLogs[0]!.depth, 1)
  const ops = new Set(trace.structLogs.map((s) => s.op))
  for (const op of ['PUSH0', 'CALL', 'SSTORE', 'LOG3', 'STOP']) t.ok(ops.has(op), `has ${op}`)
  t.ok(trace.structLogs.some((s) => s.depth === 2), 'steps inside the internal call (depth 2)')
  t.ok(trace.structLogs.every((s) => typeof s.gas === 'number' && typeof s.gasCost === 'number'), 'gas fields')

  const ct = await rpc<{ type: string; from: string; to: string; input: string; gasUsed: string; calls?: { type: string; from: string; to: string; input: string; error?: string; revertReason?: string }[] }>(url, 'debug_traceTransaction', [tx.hash, { tracer: 'callTracer' }])
  t.equal(ct.type, 'CALL')
  t.equal(ct.from, user.address.toLowerCase())
  t.equal(ct.to, callerAddress)
  t.equal(BigInt(ct.gasUsed), r.gasUsed, 'callTracer gasUsed = receipt gasUsed')
  t.equal(ct.calls?.length, 1, 'one internal call')
  t.equal(ct.calls![0]!.type, 'CALL')
  t.equal(ct.calls![0]!.from, callerAddress)
  t.equal(ct.calls![0]!.to, vaultAddress.toLowerCase())
  t.equal(ct.calls![0]!.input, vault.interface.encodeFunctionData('setPositive', [11n]))

  // A caught internal revert: the inner frame carries the error and decoded reason.
  const tx2 = await caller.getFunction('trySet')(0n, { gasLimit: 150_000n })
  const r2 = await tx2.wait(1, 15_000)
  t.equal(r2.status, 1, 'outer call succeeds')
  const ct2 = await rpc<{ calls?: { error?: string; revertReason?: string; output?: string }[] }>(url, 'debug_traceTransaction', [tx2.hash, { tracer: 'callTracer' }])
  t.equal(ct2.calls?.[0]?.error, 'execution reverted')
  t.equal(ct2.calls?.[0]?.revertReason, 'x must be positive')

  // A tx mined with status 0: the struct logger says failed.
  const t3 = await rpc<{ failed: boolean; structLogs: { op: string }[] }>(url, 'debug_traceTransaction', [reverted[0]!.hash])
  t.equal(t3.failed, true)
  t.equal(t3.structLogs.at(-1)!.op, 'REVERT')
  const ct3 = await rpc<{ error?: string; output?: string }>(url, 'debug_traceTransaction', [reverted[0]!.hash, { tracer: 'callTracer' }])
  t.equal(ct3.error, 'execution reverted')
  t.equal(ct3.output, vault.interface.encodeErrorResult('Insufficient', [1000n, 5000n]))
})

t.test('CREATE2 deployer puts the contract at the predicted address', async (t) => {
  t.ok((await provider.getCode(CREATE2_DEPLOYER)).length > 2, 'deployer predeployed')
  const salt = id('povchain-salt')
  const initCode = VAULT.bytecode
  const predicted = getCreate2Address(CREATE2_DEPLOYER, salt, keccak256(initCode))
  const data = salt + initCode.slice(2)
  // The deployer returns the new address (20 bytes) — check through eth_call first.
  const ret = await provider.call({ from: deployer.address, to: CREATE2_DEPLOYER, data })
  t.equal(ret.toLowerCase(), predicted.toLowerCase(), 'eth_call returns the predicted address')
  const tx = await deployer.sendTransaction({ to: CREATE2_DEPLOYER, data })
  const r = await tx.wait(1, 15_000)
  t.equal(r!.status, 1)
  t.equal(await provider.getCode(predicted), VAULT.deployedBytecode, 'code at the predicted address')
  const c = new Contract(predicted, VAULT.abi as never, user)
  await (await c.getFunction('setPositive')(3n)).wait(1, 15_000)
  t.equal(await c.getFunction('stored')(), 3n, 'the CREATE2 contract works')
  // Same salt again: the deployer reverts (address taken).
  const again = await rpcRaw(url, 'eth_call', [{ from: deployer.address, to: CREATE2_DEPLOYER, data }])
  t.ok(again.error, 'redeploying at the same address fails')
})

t.test('eth_call with state overrides (balance, code, stateDiff)', async (t) => {
  const nobody = Wallet.createRandom().address
  const getEthBalance = new Contract(MULTICALL3, ['function getEthBalance(address) view returns (uint256)']).interface
  const data = getEthBalance.encodeFunctionData('getEthBalance', [nobody])
  const plain = await rpc<string>(url, 'eth_call', [{ to: MULTICALL3, data }, 'latest'])
  t.equal(BigInt(plain), 0n)
  const overridden = await rpc<string>(url, 'eth_call', [{ to: MULTICALL3, data }, 'latest', { [nobody]: { balance: '0xde0b6b3a7640000' } }])
  t.equal(BigInt(overridden), 10n ** 18n, 'balance override')

  // Code override: the Vault's runtime at an empty address, with its `stored` slot patched.
  const storedData = vault.interface.encodeFunctionData('stored')
  const withCode = await rpc<string>(url, 'eth_call', [{ to: nobody, data: storedData }, 'latest', { [nobody]: { code: VAULT.deployedBytecode, stateDiff: { [zeroPadValue('0x01', 32)]: zeroPadValue('0x2a', 32) } } }])
  t.equal(BigInt(withCode), 42n, 'code + stateDiff override')
  t.equal(await rpc(url, 'eth_call', [{ to: nobody, data: storedData }, 'latest']), '0x', 'no code without the override')
  // stateDiff on the real contract leaves the other slots; `state` replaces the whole storage.
  const realStored = BigInt(await rpc<string>(url, 'eth_call', [{ to: vaultAddress, data: storedData }, 'latest']))
  const diff = await rpc<string>(url, 'eth_call', [{ to: vaultAddress, data: storedData }, 'latest', { [vaultAddress]: { stateDiff: { [zeroPadValue('0x01', 32)]: zeroPadValue('0x07', 32) } } }])
  t.equal(BigInt(diff), 7n)
  const replaced = await rpc<string>(url, 'eth_call', [{ to: vaultAddress, data: storedData }, 'latest', { [vaultAddress]: { state: {} } }])
  t.equal(BigInt(replaced), 0n, 'state replaces all storage')
  t.equal(BigInt(await rpc<string>(url, 'eth_call', [{ to: vaultAddress, data: storedData }, 'latest'])), realStored, 'overrides do not persist')
  // Balance override lets an unfunded sender send value in eth_call / estimateGas.
  const est = await rpcRaw(url, 'eth_estimateGas', [{ from: nobody, to: vaultAddress, data: vault.interface.encodeFunctionData('deposit', [1n]), value: '0x1000' }, 'latest', { [nobody]: { balance: '0xffffffffffffffff' } }])
  t.ok(est.result && BigInt(est.result as string) > 21000n, `estimateGas with overrides (${est.result ?? JSON.stringify(est.error)})`)
})

t.test('block tags and EIP-1898 block parameters', async (t) => {
  const head = await provider.getBlockNumber()
  const latest = await rpc<{ number: string; hash: string }>(url, 'eth_getBlockByNumber', ['latest', false])
  t.equal(Number(latest.number), head)
  const earliest = await rpc<{ number: string; parentHash: string }>(url, 'eth_getBlockByNumber', ['earliest', false])
  t.equal(earliest.number, '0x0')
  t.equal(earliest.parentHash, `0x${'0'.repeat(64)}`)
  // Dev blocks are final by Proof of Value too: the single validator's vote for each head
  // justifies it (safe) and finalizes its parent; the vote follows the block asynchronously.
  for (const [tag, lag] of [['pending', 0], ['safe', 1], ['finalized', 2]] as const) {
    const b = await rpc<{ number: string } | null>(url, 'eth_getBlockByNumber', [tag, false])
    t.ok(b, `${tag} block`)
    t.ok(Number(b!.number) >= head - lag, `${tag} is at most ${lag} below the head in dev mode`)
  }

  // Storage before and after setPositive(5), read at an old block by number and by hash.
  const storedData = vault.interface.encodeFunctionData('stored')
  const atDeploy = await rpc<{ hash: string }>(url, 'eth_getBlockByNumber', [hex(deployBlock), false])
  t.equal(await rpc(url, 'eth_call', [{ to: vaultAddress, data: storedData }, { blockHash: atDeploy.hash }]), `0x${'0'.repeat(64)}`, 'eth_call at {blockHash} of the deploy block')
  t.equal(await rpc(url, 'eth_call', [{ to: vaultAddress, data: storedData }, { blockNumber: hex(deployBlock) }]), `0x${'0'.repeat(64)}`, '{blockNumber}')
  t.equal(await rpc(url, 'eth_call', [{ to: vaultAddress, data: storedData }, { blockHash: atDeploy.hash, requireCanonical: true }]), `0x${'0'.repeat(64)}`, 'requireCanonical')
  t.equal(await rpc(url, 'eth_getCode', [vaultAddress, hex(deployBlock - 1)]), '0x', 'no code before the deploy block')
  t.equal(await rpc(url, 'eth_getCode', [vaultAddress, { blockHash: atDeploy.hash }]), VAULT.deployedBytecode)
  t.equal(BigInt(await rpc<string>(url, 'eth_getBalance', [user.address, 'earliest'])), 10n ** 22n, 'earliest balance = genesis allocation')
  t.equal(BigInt(await rpc<string>(url, 'eth_getBalance', [user.address, { blockHash: latest.hash }])), await provider.getBalance(user.address, Number(latest.number)))
  const storage = await rpc<string>(url, 'eth_getStorageAt', [vaultAddress, '0x1', { blockHash: latest.hash }])
  t.equal(BigInt(storage), await vault.getFunction('stored')())
  t.equal(BigInt(await rpc<string>(url, 'eth_getTransactionCount', [user.address, { blockHash: latest.hash }])), BigInt(await provider.getTransactionCount(user.address, Number(latest.number))))
  for (const tag of ['pending', 'safe', 'finalized', 'earliest']) {
    const r = await rpcRaw(url, 'eth_getBalance', [user.address, tag])
    t.ok(r.result, `eth_getBalance at ${tag}`)
  }
  const unknown = await rpcRaw(url, 'eth_getBalance', [user.address, { blockHash: `0x${'ab'.repeat(32)}` }])
  t.ok(unknown.error, 'unknown block hash → error')
  t.match(unknown.error?.message ?? '', /not found/)
  const both = await rpcRaw(url, 'eth_getBalance', [user.address, { blockHash: atDeploy.hash, blockNumber: '0x1' }])
  t.equal(both.error?.code, -32602, 'blockHash and blockNumber together → invalid params')
  // viem's blockNumber/blockTag parameters.
  t.equal(await pub.readContract({ address: vaultAddress as `0x${string}`, abi: vaultAbi, functionName: 'stored', blockNumber: BigInt(deployBlock) }), 0n)
  t.equal(await pub.readContract({ address: vaultAddress as `0x${string}`, abi: vaultAbi, functionName: 'stored', blockTag: 'safe' }), await vault.getFunction('stored')())
})

t.test('Prague precompile: BLS12-381 G1ADD (EIP-2537) answers eth_call', async (t) => {
  // Adding the point at infinity to itself gives the point at infinity (128 zero bytes).
  const r = await rpcRaw<string>(url, 'eth_call', [{ to: '0x000000000000000000000000000000000000000b', data: `0x${'00'.repeat(256)}` }])
  t.equal(r.result, `0x${'00'.repeat(128)}`, JSON.stringify(r.error ?? ''))
})

