/**
 * ethers v6 against a real dev node over HTTP: legacy (type 0), EIP-2930 (type 1) and
 * EIP-1559 (type 2) transfers; receipts, balances and the transaction fields ethers reads.
 */
import { JsonRpcProvider, Signature, Transaction, Wallet, getAddress, parseEther, type TransactionResponse } from 'ethers'
import t, { type Test } from 'tap'
import { CHAIN_ID, DEV_KEYS, rpc, startInProcessNode } from './helpers/devnode.js'

const node = await startInProcessNode()
t.teardown(() => node.stop())

const provider = new JsonRpcProvider(node.httpUrl, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 })
t.teardown(() => provider.destroy())
const alice = new Wallet(DEV_KEYS[1]!, provider)
const bob = Wallet.createRandom().address

t.test('network and accounts', async (t) => {
  const net = await provider.getNetwork()
  t.equal(net.chainId, CHAIN_ID)
  t.equal(await provider.getBalance(alice.address), parseEther('10000'))
  t.equal(await provider.getTransactionCount(alice.address), 0)
  const accounts = await rpc<string[]>(node.httpUrl, 'eth_accounts')
  t.equal(accounts.length, 20)
  t.equal(getAddress(accounts[1]!), alice.address)
})

async function checkTransfer(t: Test, sent: TransactionResponse, type: 0 | 1 | 2, value: bigint) {
  const receipt = await sent.wait(1, 15_000)
  t.ok(receipt, 'receipt')
  t.equal(receipt!.status, 1, 'status 1')
  t.equal(receipt!.type, type, 'receipt type')
  t.equal(receipt!.gasUsed, type === 1 ? 21000n + 2400n : 21000n, 'gasUsed (2930: + one access-list address)')
  t.equal(receipt!.from, alice.address)
  t.equal(receipt!.to, bob)
  t.ok(receipt!.blockNumber > 0, 'mined')
  t.equal(receipt!.hash, sent.hash)

  const tx = await provider.getTransaction(sent.hash)
  t.ok(tx)
  t.equal(tx!.type, type, 'tx type')
  t.equal(tx!.chainId, CHAIN_ID, 'chainId')
  t.equal(tx!.value, value)
  t.equal(tx!.from, alice.address)
  t.equal(tx!.blockHash, receipt!.blockHash)
  t.equal(tx!.blockNumber, receipt!.blockNumber)
  // ethers re-derives the hash from the fields it read: everything round-trips.
  const rebuilt = Transaction.from({ ...tx!.toJSON(), signature: tx!.signature, hash: undefined, from: undefined, blockHash: undefined, blockNumber: undefined, index: undefined } as never)
  t.equal(rebuilt.hash, sent.hash, 're-serialised tx hashes to the same hash')
  t.equal(rebuilt.from, alice.address, 'sender recovered from v/r/s')

  // The raw JSON fields wallets read.
  const raw = await rpc<Record<string, unknown>>(node.httpUrl, 'eth_getTransactionByHash', [sent.hash])
  t.equal(raw.type, `0x${type}`)
  t.equal(raw.chainId, '0x7a69')
  t.match(raw.r, /^0x[0-9a-f]{1,64}$/)
  t.match(raw.s, /^0x[0-9a-f]{1,64}$/)
  if (type === 0) {
    // EIP-155: v = chainId * 2 + 35 + yParity
    t.ok(raw.v === '0xf4f5' || raw.v === '0xf4f6', `EIP-155 v (${raw.v})`)
    t.notOk('yParity' in raw, 'legacy tx has no yParity')
    t.equal(raw.gasPrice, `0x${tx!.gasPrice.toString(16)}`)
  } else {
    t.ok(raw.yParity === '0x0' || raw.yParity === '0x1', `yParity (${raw.yParity})`)
    t.equal(raw.v, raw.yParity, 'v equals yParity for typed txs')
    t.same(raw.accessList, type === 1 ? [{ address: bob.toLowerCase(), storageKeys: [] }] : [])
    if (type === 2) {
      t.ok(raw.maxFeePerGas && raw.maxPriorityFeePerGas, 'fee fields')
      t.equal(BigInt(raw.gasPrice as string), receipt!.gasPrice, 'gasPrice of a mined 1559 tx is the effective price')
    }
  }
  const sig = Signature.from(tx!.signature)
  t.equal(sig.yParity, tx!.signature.yParity)

  const rr = await rpc<Record<string, unknown>>(node.httpUrl, 'eth_getTransactionReceipt', [sent.hash])
  t.equal(rr.type, `0x${type}`)
  t.equal(rr.status, '0x1')
  t.equal(rr.transactionIndex, `0x${receipt!.index.toString(16)}`)
  t.ok(BigInt(rr.effectiveGasPrice as string) > 0n, 'effectiveGasPrice')
  t.equal(rr.contractAddress, null)
  t.same(rr.logs, [])
  return receipt!
}

t.test('legacy, EIP-2930 and EIP-1559 transfers', async (t) => {
  const value = parseEther('1.5')
  const fees = await provider.getFeeData()
  t.ok(fees.gasPrice && fees.maxFeePerGas && fees.maxPriorityFeePerGas, 'fee data')

  let expectedBob = 0n
  let spent = 0n
  const aliceStart = await provider.getBalance(alice.address)

  const legacy = await alice.sendTransaction({ type: 0, to: bob, value, gasPrice: fees.gasPrice })
  t.equal(legacy.type, 0)
  const r0 = await checkTransfer(t, legacy, 0, value)
  expectedBob += value
  spent += value + r0.gasUsed * r0.gasPrice
  t.equal(await provider.getBalance(bob), expectedBob, 'bob after legacy')

  const eip2930 = await alice.sendTransaction({ type: 1, to: bob, value, gasPrice: fees.gasPrice, accessList: [{ address: bob, storageKeys: [] }] })
  t.equal(eip2930.type, 1)
  const r1 = await checkTransfer(t, eip2930, 1, value)
  expectedBob += value
  spent += value + r1.gasUsed * r1.gasPrice

  const eip1559 = await alice.sendTransaction({ type: 2, to: bob, value })
  t.equal(eip1559.type, 2)
  const r2 = await checkTransfer(t, eip1559, 2, value)
  expectedBob += value
  spent += value + r2.gasUsed * r2.gasPrice

  t.equal(await provider.getBalance(bob), expectedBob, 'bob received all three')
  t.equal(await provider.getBalance(alice.address), aliceStart - spent, 'alice paid value + gas * effective price')
  t.equal(await provider.getTransactionCount(alice.address), 3, 'nonce advanced')
  t.equal(await provider.getTransactionCount(alice.address, 'pending'), 3, 'pending nonce')

  // The block the 1559 tx landed in: header fields ethers needs.
  const block = await provider.getBlock(r2.blockNumber, true)
  t.ok(block)
  t.ok(block!.baseFeePerGas !== null && block!.baseFeePerGas > 0n, 'baseFeePerGas')
  t.ok(block!.prefetchedTransactions.some((x) => x.hash === eip1559.hash), 'full transactions in block')
  t.equal(block!.hash, r2.blockHash)
  const parent = await provider.getBlock(r2.blockNumber - 1)
  t.equal(block!.parentHash, parent!.hash, 'parent link')
})

t.test('a burst of 1559 transfers with explicit nonces lands in order', async (t) => {
  const carol = new Wallet(DEV_KEYS[2]!, provider)
  const start = await provider.getTransactionCount(carol.address)
  const sent: TransactionResponse[] = []
  for (let i = 0; i < 10; i++) sent.push(await carol.sendTransaction({ to: bob, value: 1n, nonce: start + i, gasLimit: 21000 }))
  const receipts = await Promise.all(sent.map((s) => s.wait(1, 15_000)))
  t.ok(receipts.every((r) => r?.status === 1), 'all mined with status 1')
  t.equal(await provider.getTransactionCount(carol.address), start + 10)
  for (let i = 1; i < receipts.length; i++) {
    const a = receipts[i - 1]!
    const b = receipts[i]!
    t.ok(b.blockNumber > a.blockNumber || (b.blockNumber === a.blockNumber && b.index > a.index), `tx ${i} after tx ${i - 1}`)
  }
})

t.test('eth_sendTransaction through the unlocked dev account (JsonRpcSigner)', async (t) => {
  const signer = await provider.getSigner(3)
  const before = await provider.getBalance(bob)
  const sent = await signer.sendTransaction({ to: bob, value: 7n })
  const r = await sent.wait(1, 15_000)
  t.equal(r!.status, 1)
  t.equal(r!.type, 2, 'node fills a 1559 tx')
  t.equal(await provider.getBalance(bob), before + 7n)
})
