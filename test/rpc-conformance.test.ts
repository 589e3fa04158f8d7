/**
 * JSON-RPC conformance fixes found by an audit against the execution-apis OpenRPC spec, on a
 * real dev node with a real EVM: eth_getProof (proofs checked against the block's state root
 * by rebuilding the tries from the returned nodes), eth_createAccessList (the list, then a
 * type-1 transaction using it), eth_getStorageValues, eth_baseFee, eth_feeHistory with zero
 * blocks, argument checks that used to slip through (filter ids, uncle lookups), and the
 * spec methods povchain does not serve answering -32601 with a reason. viem's getProof and
 * createAccessList run against the node too.
 */
import { createMPTFromProof } from '@ethereumjs/mpt'
import { RLP } from '@ethereumjs/rlp'
import { Contract, ContractFactory, JsonRpcProvider, Wallet, getBytes, hexlify, keccak256, solidityPackedKeccak256, toQuantity, zeroPadValue } from 'ethers'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { createPublicClient, defineChain, http } from 'viem'
import { CHAIN_ID, DEV_KEYS, rpc, rpcRaw, startInProcessNode } from './helpers/devnode.js'
import { compileSolidity } from './helpers/solidity.js'

const SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Store {
  event Stored(address indexed who, uint256 indexed key, uint256 value);
  mapping(uint256 => uint256) public values; // slot 0
  uint256 public count;                      // slot 1
  function store(uint256 key, uint256 value) external { values[key] = value; count++; emit Stored(msg.sender, key, value); }
  function fail() external pure { revert("nope"); }
}`

const QUANTITY = /^0x(0|[1-9a-f][0-9a-f]*)$/
const EMPTY_TRIE_ROOT = '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421'
const EMPTY_CODE_HASH = keccak256('0x')

const node = await startInProcessNode()
t.teardown(() => node.stop())
const url = node.httpUrl
const provider = new JsonRpcProvider(url, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 })
t.teardown(() => provider.destroy())
const wallet = new Wallet(DEV_KEYS[6]!, provider)

const compiled = compileSolidity({ 'Store.sol': SOURCE }).Store!
const deployed = await new ContractFactory(compiled.abi as never, compiled.bytecode, wallet).deploy()
await deployed.waitForDeployment()
const store = deployed as unknown as Contract
const storeAddr = (await store.getAddress()).toLowerCase()
await (await store.getFunction('store')(1n, 42n)).wait()
const mappingSlot = (key: bigint) => solidityPackedKeccak256(['uint256', 'uint256'], [key, 0n])

interface ProofJson {
  address: string
  balance: string
  nonce: string
  codeHash: string
  storageHash: string
  accountProof: string[]
  storageProof: { key: string; value: string; proof: string[] }[]
}

/** Rebuilds a (secure) trie from proof nodes; its root must be the hash of the first node. */
async function proven(t: Test, root: string, proof: string[], key: Uint8Array): Promise<Uint8Array | null> {
  t.equal(keccak256(proof[0]!), root, 'the proof starts at the root')
  const trie = await createMPTFromProof(proof.map((p) => getBytes(p)), { useKeyHashing: true })
  return trie.get(key)
}

t.test('eth_getProof: account and storage proofs verify against the state root', async (t) => {
  const block = await rpc<{ stateRoot: string; number: string; hash: string }>(url, 'eth_getBlockByNumber', ['latest', false])
  const slot = mappingSlot(1n)
  const p = await rpc<ProofJson>(url, 'eth_getProof', [storeAddr, [slot, '0x1', '0x5'], block.number])
  t.equal(p.address, storeAddr)
  for (const k of ['balance', 'nonce'] as const) t.match(p[k], QUANTITY, `${k} is a quantity`)
  t.equal(p.nonce, '0x1', 'a contract starts at nonce 1')
  t.equal(p.codeHash, keccak256(await provider.getCode(storeAddr)))

  const acct = await proven(t, block.stateRoot, p.accountProof, getBytes(storeAddr))
  t.ok(acct, 'the account is in the trie')
  const [nonce, balance, storageRoot, codeHash] = RLP.decode(acct!) as Uint8Array[]
  t.equal(toQuantity(nonce!), p.nonce)
  t.equal(toQuantity(balance!), p.balance)
  t.equal(hexlify(storageRoot!), p.storageHash)
  t.equal(hexlify(codeHash!), p.codeHash)

  t.same(
    p.storageProof.map((s) => [s.key, s.value]),
    [
      [slot, '0x2a'],
      [zeroPadValue('0x01', 32), '0x1'],
      [zeroPadValue('0x05', 32), '0x0'],
    ],
    'keys as 32-byte words, values as quantities (no leading zeros)',
  )
  const v = await proven(t, p.storageHash, p.storageProof[0]!.proof, getBytes(slot))
  t.equal(toQuantity(RLP.decode(v!) as Uint8Array), '0x2a', 'the storage proof proves the value')
  t.equal(await proven(t, p.storageHash, p.storageProof[2]!.proof, getBytes(zeroPadValue('0x05', 32))), null, 'an empty slot is proven absent')

  const byHash = await rpc<ProofJson>(url, 'eth_getProof', [storeAddr, [], { blockHash: block.hash }])
  t.same(byHash.accountProof, p.accountProof, 'EIP-1898 block hash object')
})

t.test('eth_getProof: an account that does not exist is proven absent', async (t) => {
  const nobody = Wallet.createRandom().address.toLowerCase()
  const block = await rpc<{ stateRoot: string }>(url, 'eth_getBlockByNumber', ['latest', false])
  const p = await rpc<ProofJson>(url, 'eth_getProof', [nobody, ['0x0'], 'latest'])
  t.match(p, { balance: '0x0', nonce: '0x0', codeHash: EMPTY_CODE_HASH, storageHash: EMPTY_TRIE_ROOT })
  t.same(p.storageProof, [{ key: zeroPadValue('0x00', 32), value: '0x0', proof: [] }])
  t.equal(await proven(t, block.stateRoot, p.accountProof, getBytes(nobody)), null)
})

t.test('eth_getProof: bad arguments are -32602', async (t) => {
  for (const params of [[storeAddr, 'x', 'latest'], [storeAddr, ['0xzz']], ['0x12', []], [storeAddr, ['0x' + '1'.repeat(66)]], [storeAddr]]) {
    const r = await rpcRaw(url, 'eth_getProof', params)
    t.equal(r.error?.code, -32602, `${JSON.stringify(params)}: ${r.error?.message}`)
  }
})

t.test('eth_createAccessList: the touched slots, usable as a type-1 transaction', async (t) => {
  const data = store.interface.encodeFunctionData('store', [7n, 8n])
  const r = await rpc<{ accessList: { address: string; storageKeys: string[] }[]; gasUsed: string; error?: string }>(url, 'eth_createAccessList', [
    { from: wallet.address, to: storeAddr, data },
    'latest',
  ])
  t.equal(r.error, undefined)
  t.match(r.gasUsed, QUANTITY)
  t.same(r.accessList.map((a) => a.address), [storeAddr], 'only the callee (with slots); not the sender')
  t.same([...r.accessList[0]!.storageKeys].sort(), [mappingSlot(7n), zeroPadValue('0x01', 32)].sort())

  const tx = await wallet.sendTransaction({ type: 1, to: storeAddr, data, accessList: r.accessList, gasLimit: BigInt(r.gasUsed) })
  const receipt = await tx.wait()
  t.equal(receipt!.status, 1, 'mined with exactly the gas the list was priced at')
  t.equal(receipt!.gasUsed, BigInt(r.gasUsed), 'gasUsed is the cost with the list')

  const failing = await rpc<{ accessList: unknown[]; gasUsed: string; error?: string }>(url, 'eth_createAccessList', [
    { from: wallet.address, to: storeAddr, data: store.interface.encodeFunctionData('fail') },
  ])
  t.equal(failing.error, 'execution reverted: nope', 'a reverting request gets its list and the error')
  t.match(failing.gasUsed, QUANTITY)

  const bad = await rpcRaw(url, 'eth_createAccessList', [{ to: '0x1' }])
  t.equal(bad.error?.code, -32602)
})

t.test('viem getProof and createAccessList', async (t) => {
  const chain = defineChain({ id: Number(CHAIN_ID), name: 'pov', nativeCurrency: { name: 'P', symbol: 'P', decimals: 18 }, rpcUrls: { default: { http: [url] } } })
  const client = createPublicClient({ chain, transport: http(url) })
  const proof = await client.getProof({ address: storeAddr as `0x${string}`, storageKeys: [mappingSlot(1n) as `0x${string}`] })
  t.equal(proof.storageProof[0]!.value, 42n)
  t.equal(proof.nonce, 1)
  const acl = await client.createAccessList({
    account: wallet.address as `0x${string}`,
    to: storeAddr as `0x${string}`,
    data: store.interface.encodeFunctionData('store', [9n, 9n]) as `0x${string}`,
  })
  t.equal(acl.accessList.length, 1)
  t.ok(acl.gasUsed > 21000n)
})

t.test('eth_getStorageValues and eth_baseFee', async (t) => {
  const slot = mappingSlot(1n)
  const values = await rpc<Record<string, string[]>>(url, 'eth_getStorageValues', [{ [storeAddr]: [slot, '0x1'] }, 'latest'])
  t.same(values, { [storeAddr]: [await rpc(url, 'eth_getStorageAt', [storeAddr, slot, 'latest']), await rpc(url, 'eth_getStorageAt', [storeAddr, '0x1', 'latest'])] })
  t.equal((await rpcRaw(url, 'eth_getStorageValues', [{ [storeAddr]: 'x' }])).error?.code, -32602)

  const baseFee = await rpc<string>(url, 'eth_baseFee')
  const fh = await rpc<{ baseFeePerGas: string[] }>(url, 'eth_feeHistory', ['0x1', 'latest', []])
  t.match(baseFee, QUANTITY)
  t.equal(baseFee, fh.baseFeePerGas.at(-1), "the next block's base fee")
})

t.test('eth_feeHistory with blockCount 0 returns no blocks', async (t) => {
  t.same(await rpc(url, 'eth_feeHistory', ['0x0', 'latest', [50]]), { oldestBlock: '0x0', baseFeePerGas: [], gasUsedRatio: [] })
})

t.test('argument checks: filter ids and uncle lookups', async (t) => {
  for (const [method, params] of [
    ['eth_getFilterChanges', [123]],
    ['eth_getFilterLogs', [null]],
    ['eth_uninstallFilter', [{}]],
    ['eth_getUncleByBlockHashAndIndex', ['0x1', '0x0']],
    ['eth_getUncleByBlockHashAndIndex', [keccak256('0x'), 'x']],
    ['eth_getUncleByBlockNumberAndIndex', ['latest']],
  ] as const) {
    const r = await rpcRaw(url, method, [...params])
    t.equal(r.error?.code, -32602, `${method} ${JSON.stringify(params)}: ${r.error?.message}`)
  }
  t.equal(await rpc(url, 'eth_getUncleByBlockNumberAndIndex', ['latest', '0x0']), null, 'no uncles under Proof of Value')
  t.equal((await rpcRaw(url, 'eth_getFilterChanges', ['0x1234'])).error?.code, -32000, 'an unknown id is still "filter not found"')
})

t.test('spec methods not served say so, as -32601', async (t) => {
  for (const method of ['eth_blobBaseFee', 'eth_simulateV1', 'eth_fillTransaction', 'eth_getBlockAccessList', 'eth_config', 'eth_capabilities']) {
    const r = await rpcRaw(url, method, [])
    t.equal(r.error?.code, -32601, method)
    t.match(r.error?.message, new RegExp(`^the method ${method} is not supported: .+`), r.error?.message ?? 'no error')
  }
})

t.test('debug_getRawTransaction / Header / Block / Receipts', async (t) => {
  const receipt = await (await store.getFunction('store')(2n, 3n)).wait()
  const raw = await rpc<string>(url, 'debug_getRawTransaction', [receipt!.hash])
  t.equal(keccak256(raw), receipt!.hash, 'the EIP-2718 encoding hashes to the tx hash')
  t.equal(await rpc(url, 'debug_getRawTransaction', [keccak256('0x01')]), '0x', 'unknown: empty (Geth)')
  const block = await rpc<{ hash: string; number: string }>(url, 'eth_getBlockByHash', [receipt!.blockHash, false])
  const header = await rpc<string>(url, 'debug_getRawHeader', [block.number])
  t.equal(keccak256(header), block.hash, 'the header encoding hashes to the block hash')
  const rawBlock = await rpc<string>(url, 'debug_getRawBlock', [{ blockHash: block.hash }])
  t.ok(rawBlock.includes(header.slice(2)), 'the block encoding contains the header')
  t.ok(rawBlock.includes(raw.slice(4)), 'and the transaction')
  const receipts = await rpc<string[]>(url, 'debug_getRawReceipts', [block.hash])
  t.equal(receipts.length, 1)
  t.match(receipts[0], /^0x02f9/, 'a typed (EIP-1559) receipt: type byte, then the RLP list')
  t.equal((await rpcRaw(url, 'debug_getRawBlock', ['0xffffff'])).error?.code, -32000)
  t.equal((await rpcRaw(url, 'debug_getRawHeader', ['nope'])).error?.code, -32602)
})

t.test("eth_call / eth_estimateGas validation failures in Geth's words, eth_sendTransaction from an unknown account", async (t) => {
  const to = Wallet.createRandom().address
  for (const method of ['eth_call', 'eth_estimateGas']) {
    const broke = await rpcRaw(url, method, [{ from: wallet.address, to, value: '0xffffffffffffffffffffffffffffffff' }])
    t.equal(broke.error?.code, -32000)
    t.match(broke.error?.message, new RegExp(`^insufficient funds for gas \\* price \\+ value: address ${wallet.address.toLowerCase()} have \\d+ want 340282366920938463463374607431768211455$`), broke.error?.message ?? '')
    const low = await rpcRaw(url, method, [{ to, gas: '0x5207' }])
    t.equal(low.error?.message, 'intrinsic gas too low: have 20999, want 21000')
  }
  const stranger = Wallet.createRandom().address
  const r = await rpcRaw(url, 'eth_sendTransaction', [{ from: stranger, to }])
  t.same(r.error, { code: -32000, message: 'unknown account' }, 'checked before gas estimation')
})

t.test('eth_subscribe over HTTP: -32601 "notifications not supported" (Geth)', async (t) => {
  for (const [method, params] of [['eth_subscribe', ['newHeads']], ['eth_unsubscribe', ['0x1']]] as const)
    t.same((await rpcRaw(url, method, [...params])).error, { code: -32601, message: 'notifications not supported' }, method)
})

const castBinary = (() => {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@foundry-rs/cast-linux-amd64/package.json')), 'bin', 'cast')
  } catch {
    return undefined
  }
})()

t.test('Foundry cast proof and cast access-list', { skip: process.platform !== 'linux' || process.arch !== 'x64' || !castBinary ? 'no cast binary for this platform' : false }, async (t) => {
  const cast = (...args: string[]) => promisify(execFile)(castBinary!, [...args, '--rpc-url', url], { timeout: 60_000 }).then((r) => r.stdout)
  const proof = JSON.parse(await cast('proof', storeAddr, mappingSlot(1n), '--json')) as ProofJson
  t.equal(BigInt(proof.storageProof[0]!.value), 42n, 'cast proof reads the slot')
  t.ok(proof.accountProof.length > 0)
  const acl = await cast('access-list', '--from', wallet.address, storeAddr, 'store(uint256,uint256)', '11', '12', '--json')
  const parsed = JSON.parse(acl) as { access_list?: unknown[]; accessList?: unknown[]; gas_used?: string; gasUsed?: string }
  const list = (parsed.access_list ?? parsed.accessList) as { address: string; storageKeys: string[] }[]
  t.equal(list[0]!.address.toLowerCase(), storeAddr)
  t.same([...list[0]!.storageKeys].sort(), [mappingSlot(11n), zeroPadValue('0x01', 32)].sort())
})

t.test('a pool transaction has its block fields present and null (Geth), blockTimestamp included', async (t) => {
  const nonce = await provider.getTransactionCount(wallet.address, 'pending')
  const raw = await wallet.signTransaction({ to: wallet.address, value: 1n, nonce: nonce + 7, gasLimit: 21000n, maxFeePerGas: 10n ** 11n, maxPriorityFeePerGas: 1n, chainId: CHAIN_ID, type: 2 })
  const hash = await rpc<string>(url, 'eth_sendRawTransaction', [raw])
  const tx = await rpc<Record<string, unknown>>(url, 'eth_getTransactionByHash', [hash])
  t.match(tx, { hash, blockHash: null, blockNumber: null, blockTimestamp: null, transactionIndex: null })
  for (const k of ['blockHash', 'blockNumber', 'blockTimestamp', 'transactionIndex']) t.ok(Object.hasOwn(tx, k), `${k} present`)
  const mined = await rpc<Record<string, unknown>>(url, 'eth_getTransactionByHash', [deployed.deploymentTransaction()!.hash])
  const block = await rpc<{ timestamp: string }>(url, 'eth_getBlockByHash', [mined.blockHash, false])
  t.equal(mined.blockTimestamp, block.timestamp, 'mined: the block timestamp')
})
