/**
 * --dev automine answers eth_sendRawTransaction / eth_sendTransaction that reach an idle miner once
 * the block holding the transaction is sealed (as Hardhat and Anvil do), so a wallet's first
 * receipt poll finds it — no slot timer, no second poll; a burst still shares blocks. Asserted on order, not on time: the receipt must exist the
 * moment the send is answered. A queued transaction (nonce gap) and a node with --dev.period
 * answer without waiting for a block.
 */
import { JsonRpcProvider, Wallet, getAddress, parseEther } from 'ethers'
import t from 'tap'
import { CHAIN_ID, DEV_KEYS, hex, rpc, startInProcessNode, waitFor } from './helpers/devnode.js'

type Receipt = { status: string; blockNumber: string; transactionHash: string } | null

t.test('automine: the receipt exists when eth_sendRawTransaction answers', async (t) => {
  const node = await startInProcessNode()
  t.teardown(() => node.stop())
  // ethers' default 4 s block polling: a receipt missed by wait()'s first look costs 4 s here.
  const provider = new JsonRpcProvider(node.httpUrl, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 })
  t.teardown(() => provider.destroy())
  const wallets = DEV_KEYS.slice(1, 9).map((k) => new Wallet(k, provider))
  const fee = BigInt(await rpc<string>(node.httpUrl, 'eth_gasPrice')) * 2n

  // One transaction to an idle node.
  const before = BigInt(await rpc<string>(node.httpUrl, 'eth_blockNumber'))
  const raw = await wallets[0]!.signTransaction({ to: wallets[1]!.address, value: 1n, nonce: 0, gasLimit: 21_000n, maxFeePerGas: fee, maxPriorityFeePerGas: 1n, chainId: CHAIN_ID, type: 2 })
  const hash = await rpc<string>(node.httpUrl, 'eth_sendRawTransaction', [raw])
  const receipt = await rpc<Receipt>(node.httpUrl, 'eth_getTransactionReceipt', [hash])
  t.ok(receipt, 'the first receipt poll after the answer finds the receipt')
  t.equal(receipt?.status, '0x1')
  t.equal(BigInt(receipt!.blockNumber), before + 1n, 'sealed in the next block')
  t.equal(BigInt(await rpc<string>(node.httpUrl, 'eth_blockNumber')), before + 1n, 'and that block is the head')

  // One after another, each to an idle miner (as a wallet or a deploy script sends): each answer
  // comes after its own block.
  for (const [i, w] of wallets.entries()) {
    const r = await w.signTransaction({ to: getAddress(hex(0xbe00 + i).padEnd(42, '0')), value: 1n, nonce: i === 0 ? 1 : 0, gasLimit: 21_000n, maxFeePerGas: fee, maxPriorityFeePerGas: 1n, chainId: CHAIN_ID, type: 2 })
    const h = await rpc<string>(node.httpUrl, 'eth_sendRawTransaction', [r])
    const got = await rpc<Receipt>(node.httpUrl, 'eth_getTransactionReceipt', [h])
    t.equal(got?.status, '0x1', `sender ${i}: the receipt is there when the send is answered`)
  }

  // A burst from eight senders at once: the first finds the miner idle, the others arrive while
  // its block is built and are answered at once (they share the next block); all are mined.
  const burst = await Promise.all(
    wallets.map(async (w, i) => {
      const r = await w.signTransaction({ to: getAddress(hex(0xbf00 + i).padEnd(42, '0')), value: 1n, nonce: i === 0 ? 2 : 1, gasLimit: 21_000n, maxFeePerGas: fee, maxPriorityFeePerGas: 1n, chainId: CHAIN_ID, type: 2 })
      return rpc<string>(node.httpUrl, 'eth_sendRawTransaction', [r])
    }),
  )
  const receipts = await Promise.all(burst.map((h) => waitFor(() => rpc<Receipt>(node.httpUrl, 'eth_getTransactionReceipt', [h]), `receipt of ${h}`)))
  t.same(receipts.map((r) => r.status), wallets.map(() => '0x1'), 'the burst is mined')
  t.ok(new Set(receipts.map((r) => r.blockNumber)).size < burst.length, 'in fewer blocks than transactions')

  // ethers: sendTransaction, then wait() with a timeout below its 4 s polling interval.
  const sent = await wallets[2]!.sendTransaction({ to: wallets[3]!.address, value: parseEther('1') })
  const mined = await sent.wait(1, 2_000)
  t.equal(mined?.status, 1, "ethers' wait() returns on its first look")

  // eth_sendTransaction (an unlocked dev account) takes the same path.
  const accounts = await rpc<string[]>(node.httpUrl, 'eth_accounts')
  const h2 = await rpc<string>(node.httpUrl, 'eth_sendTransaction', [{ from: accounts[12], to: accounts[13], value: '0x1' }])
  t.ok(await rpc<Receipt>(node.httpUrl, 'eth_getTransactionReceipt', [h2]), 'eth_sendTransaction answers after its block too')

  // A nonce gap is queued, not mined: its answer does not wait for a block that will not take it.
  const head = await rpc<string>(node.httpUrl, 'eth_blockNumber')
  const gap = await wallets[4]!.signTransaction({ to: wallets[5]!.address, value: 1n, nonce: 5, gasLimit: 21_000n, maxFeePerGas: fee, maxPriorityFeePerGas: 1n, chainId: CHAIN_ID, type: 2 })
  const gapHash = await rpc<string>(node.httpUrl, 'eth_sendRawTransaction', [gap])
  t.equal(await rpc<Receipt>(node.httpUrl, 'eth_getTransactionReceipt', [gapHash]), null, 'the queued transaction has no receipt')
  t.equal(await rpc<string>(node.httpUrl, 'eth_blockNumber'), head, 'and no block was sealed for it')
  const status = await rpc<{ queued: string }>(node.httpUrl, 'txpool_status')
  t.equal(BigInt(status.queued), 1n, 'it waits in the queue')
})

t.test('--dev.period: the answer does not wait for the period', async (t) => {
  // An hour's period: no block can be sealed during the test, so an answer proves it did not wait.
  const node = await startInProcessNode({ cfg: { devPeriod: 3600 } })
  t.teardown(() => node.stop())
  const w = new Wallet(DEV_KEYS[1]!)
  const fee = BigInt(await rpc<string>(node.httpUrl, 'eth_gasPrice')) * 2n
  const head = await rpc<string>(node.httpUrl, 'eth_blockNumber')
  const raw = await w.signTransaction({ to: new Wallet(DEV_KEYS[2]!).address, value: 1n, nonce: 0, gasLimit: 21_000n, maxFeePerGas: fee, maxPriorityFeePerGas: 1n, chainId: CHAIN_ID, type: 2 })
  const hash = await rpc<string>(node.httpUrl, 'eth_sendRawTransaction', [raw])
  t.equal(await rpc<Receipt>(node.httpUrl, 'eth_getTransactionReceipt', [hash]), null, 'answered before any block')
  t.equal(await rpc<string>(node.httpUrl, 'eth_blockNumber'), head)
  t.equal(BigInt((await rpc<{ pending: string }>(node.httpUrl, 'txpool_status')).pending), 1n, 'pending for the next period')
})
