/**
 * viem against a real dev node, over HTTP and WebSocket transports: legacy, EIP-2930 and
 * EIP-1559 transfers, receipts, Multicall3 (predeployed) balance reads, live blocks.
 */
import t, { type Test } from 'tap'
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  multicall3Abi,
  parseAbi,
  parseEther,
  parseGwei,
  webSocket,
  type Hash,
  type PublicClient,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { CHAIN_ID, DEV_KEYS, MULTICALL3, rpc, startInProcessNode } from './helpers/devnode.js'

const node = await startInProcessNode()
t.teardown(() => node.stop())

const povDev = defineChain({
  id: Number(CHAIN_ID),
  name: 'povchain dev',
  nativeCurrency: { name: 'Pov', symbol: 'POV', decimals: 18 },
  rpcUrls: { default: { http: [node.httpUrl], webSocket: [node.wsUrl] } },
  contracts: { multicall3: { address: MULTICALL3 } },
})

const account = privateKeyToAccount(DEV_KEYS[4] as `0x${string}`)
const httpPublic = createPublicClient({ chain: povDev, transport: http(node.httpUrl), pollingInterval: 50 })
const wsTransport = webSocket(node.wsUrl)
const wsPublic = createPublicClient({ chain: povDev, transport: wsTransport, pollingInterval: 50 })
const httpWallet = createWalletClient({ account, chain: povDev, transport: http(node.httpUrl) })
const wsWallet = createWalletClient({ account, chain: povDev, transport: wsTransport })
t.teardown(async () => {
  const rpcClient = await (wsPublic.transport as unknown as { getRpcClient: () => Promise<{ close: () => void }> }).getRpcClient()
  rpcClient.close()
})

const multicallExtraAbi = parseAbi(['function getBlockNumber() view returns (uint256)', 'function getChainId() view returns (uint256)'])
const recipients = Array.from({ length: 3 }, () => privateKeyToAccount(generatePrivateKey()).address)

t.test('chain id, block number and Multicall3 code over both transports', async (t) => {
  t.equal(await httpPublic.getChainId(), 31337)
  t.equal(await wsPublic.getChainId(), 31337)
  const code = await httpPublic.getCode({ address: MULTICALL3 })
  t.ok(code && code.length > 2, 'Multicall3 is predeployed')
  t.equal(await httpPublic.getBlockNumber({ cacheTime: 0 }), await wsPublic.getBlockNumber({ cacheTime: 0 }))
})

async function checkTx(t: Test, client: PublicClient, hash: Hash, type: 'legacy' | 'eip2930' | 'eip1559', to: `0x${string}`, value: bigint) {
  const receipt = await client.waitForTransactionReceipt({ hash, timeout: 15_000, pollingInterval: 50 })
  t.equal(receipt.status, 'success', `${type} status`)
  t.equal(receipt.type, type, `${type} receipt type`)
  t.equal(receipt.from.toLowerCase(), account.address.toLowerCase())
  t.equal(receipt.to?.toLowerCase(), to.toLowerCase())
  t.equal(receipt.gasUsed, type === 'eip2930' ? 23400n : 21000n)
  const tx = await client.getTransaction({ hash })
  t.equal(tx.type, type, `${type} tx type`)
  t.equal(tx.value, value)
  t.equal(tx.blockHash, receipt.blockHash)
  t.equal(tx.chainId, 31337, `${type} chainId`)
  if (type === 'legacy') t.ok(tx.v === 62709n || tx.v === 62710n, 'EIP-155 v')
  else t.ok(tx.yParity === 0 || tx.yParity === 1, `${type} yParity`)
  return receipt
}

t.test('legacy, EIP-2930 and EIP-1559 transfers over HTTP', async (t) => {
  const value = parseEther('0.25')
  const gasPrice = await httpPublic.getGasPrice()
  const h0 = await httpWallet.sendTransaction({ type: 'legacy', to: recipients[0]!, value, gasPrice })
  await checkTx(t, httpPublic, h0, 'legacy', recipients[0]!, value)
  const h1 = await httpWallet.sendTransaction({ type: 'eip2930', to: recipients[0]!, value, gasPrice, accessList: [{ address: recipients[0]!, storageKeys: [] }] })
  await checkTx(t, httpPublic, h1, 'eip2930', recipients[0]!, value)
  const h2 = await httpWallet.sendTransaction({ type: 'eip1559', to: recipients[0]!, value })
  await checkTx(t, httpPublic, h2, 'eip1559', recipients[0]!, value)
  t.equal(await httpPublic.getBalance({ address: recipients[0]! }), 3n * value)
})

t.test('the same over WebSocket, receipts awaited through newHeads', async (t) => {
  const value = parseEther('0.5')
  const heads: bigint[] = []
  const unwatch = wsPublic.watchBlockNumber({ onBlockNumber: (n) => heads.push(n), emitMissed: true })
  t.teardown(unwatch)
  const gasPrice = await wsPublic.getGasPrice()
  const h0 = await wsWallet.sendTransaction({ type: 'legacy', to: recipients[1]!, value, gasPrice })
  const r0 = await checkTx(t, wsPublic, h0, 'legacy', recipients[1]!, value)
  const h1 = await wsWallet.sendTransaction({ type: 'eip2930', to: recipients[1]!, value, gasPrice: gasPrice + parseGwei('1'), accessList: [{ address: recipients[1]!, storageKeys: [] }] })
  await checkTx(t, wsPublic, h1, 'eip2930', recipients[1]!, value)
  const h2 = await wsWallet.sendTransaction({ type: 'eip1559', to: recipients[1]!, value, maxPriorityFeePerGas: 2n })
  const r2 = await checkTx(t, wsPublic, h2, 'eip1559', recipients[1]!, value)
  t.equal(await wsPublic.getBalance({ address: recipients[1]! }), 3n * value)
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`newHeads did not reach ${r2.blockNumber}: ${heads}`)), 10_000)
    const tick = setInterval(() => {
      if (heads.includes(r2.blockNumber)) {
        clearTimeout(deadline)
        clearInterval(tick)
        resolve()
      }
    }, 20)
  })
  t.ok(heads.includes(r0.blockNumber) || heads[0]! > r0.blockNumber, 'a newHeads notification for the mined blocks')
})

t.test('Multicall3 reads balances in one eth_call', async (t) => {
  const all = [...recipients, account.address, MULTICALL3] as `0x${string}`[]
  const results = await httpPublic.multicall({
    contracts: all.map((a) => ({ address: MULTICALL3, abi: multicall3Abi, functionName: 'getEthBalance', args: [a] }) as const),
    allowFailure: false,
  })
  for (let i = 0; i < all.length; i++) t.equal(results[i], await httpPublic.getBalance({ address: all[i]! }), `balance of ${all[i]}`)
  t.equal(results[0], parseEther('0.75'))
  t.equal(results[1], parseEther('1.5'))
  t.equal(results[2], 0n)
  const block = await httpPublic.multicall({
    contracts: [
      { address: MULTICALL3, abi: multicallExtraAbi, functionName: 'getBlockNumber' },
      { address: MULTICALL3, abi: multicallExtraAbi, functionName: 'getChainId' },
    ],
    allowFailure: false,
  })
  t.equal(block[1], 31337n, 'chainid opcode')
  t.equal(block[0], await httpPublic.getBlockNumber({ cacheTime: 0 }))
  // Also over the WebSocket transport, through viem's batching.
  const wsResults = await wsPublic.multicall({
    contracts: all.map((a) => ({ address: MULTICALL3, abi: multicall3Abi, functionName: 'getEthBalance', args: [a] }) as const),
    allowFailure: false,
  })
  t.same(wsResults, results)
})

t.test('parallel sends from one account with explicit nonces; every receipt seen', async (t) => {
  let nonce = await httpPublic.getTransactionCount({ address: account.address, blockTag: 'pending' })
  const hashes: Hash[] = []
  for (let i = 0; i < 8; i++)
    hashes.push(
      i % 2
        ? await httpWallet.sendTransaction({ to: recipients[2]!, value: 1n, nonce: nonce++, gas: 21000n, type: 'eip1559' })
        : await httpWallet.sendTransaction({ to: recipients[2]!, value: 1n, nonce: nonce++, gas: 21000n, type: 'legacy', gasPrice: parseGwei('2') }),
    )
  const receipts = await Promise.all(hashes.map((hash) => wsPublic.waitForTransactionReceipt({ hash, timeout: 15_000, pollingInterval: 50 })))
  t.ok(receipts.every((r) => r.status === 'success'))
  t.equal(await httpPublic.getBalance({ address: recipients[2]! }), 8n)
  const latest = await rpc<{ number: string }>(node.httpUrl, 'eth_getBlockByNumber', ['latest', false])
  t.ok(BigInt(latest.number) >= receipts.at(-1)!.blockNumber)
})
