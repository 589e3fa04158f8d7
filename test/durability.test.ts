/**
 * Durability of a real node process on a real LevelDB datadir:
 * - transactions stream in from several senders; the node is SIGKILLed mid-stream; after a
 *   restart every receipt a client had seen is still there (same block, same status), the head
 *   is a complete block, every block up to the head is readable, the node keeps producing, and
 *   re-executing every block from genesis in a fresh node gives the same state roots and hashes;
 * - a clean SIGTERM exits 0 and a restart continues from the same head and balances.
 */
import { join } from 'node:path'
import { Wallet, getAddress, hexlify, randomBytes } from 'ethers'
import t from 'tap'
import type { Block } from '../chain/Block.js'
import { BlockStore } from '../chain/BlockStore.js'
import { createChainCommon } from '../chain/ChainCommon.js'
import { openChainDB } from '../chain/Database.js'
import { bytesToHex } from '../common/bytes.js'
import { CHAIN_ID, DEV_KEYS, hex, rpc, rpcRaw, startInProcessNode, startNodeProcess, tempDir, waitFor, type NodeProcess } from './helpers/devnode.js'

const TARGET_SEEN = 300
const SENDERS = 8
const WINDOW = 4

interface SeenReceipt {
  hash: string
  blockHash: string
  blockNumber: string
  status: string
  from: string
}

interface RpcBlock {
  number: string
  hash: string
  parentHash: string
  stateRoot: string
  transactions: (string | { hash: string; blockHash: string })[]
}

const tmp = tempDir('povchain-durability-')
t.teardown(tmp.cleanup)
const datadir = tmp.dir
const running: NodeProcess[] = []
t.teardown(async () => {
  for (const n of running) await n.kill()
})

async function start(): Promise<NodeProcess> {
  const n = await startNodeProcess({ datadir })
  running.push(n)
  return n
}

const senders = DEV_KEYS.slice(1, 1 + SENDERS).map((k) => new Wallet(k))
const randomAddress = () => getAddress(hexlify(randomBytes(20)))
const sink = randomAddress()
const seen = new Map<string, SeenReceipt>()
/** Every tx hash eth_sendRawTransaction acknowledged before the kill. */
const acked: string[] = []
let postKillHead: RpcBlock

/** The head a node process reported restoring on startup. */
function node2Restored(output: string): { number: number; hash: string } | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('restored chain head')) continue
    const o = JSON.parse(line) as { number: number; hash: string }
    return { number: o.number, hash: o.hash }
  }
  return undefined
}
let lastSentBeforeStop = 0

t.test('SIGKILL while transactions stream in: nothing a client saw is lost', async (t) => {
  const T0 = Date.now()
  const node = await start()
  t.comment(`started in ${Date.now() - T0} ms`)
  const url = node.httpUrl
  const gasPrice = BigInt(await rpc<string>(url, 'eth_gasPrice'))
  let stop = false
  let sent = 0

  // Receipts are "seen" the way a wallet following the chain sees them: on each newHeads
  // notification (WebSocket) the client fetches the block's receipts over HTTP.
  const waiters = new Map<string, () => void>()
  let processed = 0
  let following = Promise.resolve()
  const follow = (upTo: number) => {
    following = following.then(async () => {
      while (processed < upTo) {
        const n = processed + 1
        const recs = await rpc<SeenReceipt[] & { transactionHash?: string }[]>(url, 'eth_getBlockReceipts', [hex(n)])
        for (const r of recs as unknown as (SeenReceipt & { transactionHash: string })[]) {
          seen.set(r.transactionHash, { hash: r.transactionHash, blockHash: r.blockHash, blockNumber: r.blockNumber, status: r.status, from: r.from })
          waiters.get(r.transactionHash)?.()
          waiters.delete(r.transactionHash)
        }
        processed = n
      }
    }).catch(() => {})
  }
  const ws = new WebSocket(node.wsUrl)
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve()
    ws.onerror = () => reject(new Error('ws connect failed'))
  })
  ws.onerror = () => {}
  t.teardown(() => ws.close())
  const subscribed = new Promise<void>((resolve) => {
    ws.onmessage = (ev) => {
      const m = JSON.parse(String(ev.data)) as { id?: number; method?: string; params?: { result: { number: string } } }
      if (m.id === 1) resolve()
      else if (m.method === 'eth_subscription') follow(Number(m.params!.result.number))
    }
  })
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }))
  await subscribed

  const sendLoop = async (w: Wallet, idx: number) => {
    let nonce = Number(await rpc<string>(url, 'eth_getTransactionCount', [w.address, 'pending']))
    while (!stop) {
      const pending: Promise<void>[] = []
      for (let i = 0; i < WINDOW && !stop; i++) {
        // Alternate legacy and 1559; send to new and existing accounts so the trie grows.
        const tx =
          (nonce + idx) % 2
            ? { type: 2, chainId: CHAIN_ID, nonce, to: i % 2 ? sink : randomAddress(), value: 1000n + BigInt(nonce), gasLimit: 21000n, maxFeePerGas: gasPrice * 4n, maxPriorityFeePerGas: 1n }
            : { type: 0, chainId: CHAIN_ID, nonce, to: sink, value: 1n, gasLimit: 21000n, gasPrice: gasPrice * 2n }
        const raw = await w.signTransaction(tx)
        const r = await rpcRaw<string>(url, 'eth_sendRawTransaction', [raw])
        if (r.error) throw new Error(`send failed: ${r.error.message}`)
        const h = r.result!
        acked.push(h)
        if (!seen.has(h)) pending.push(new Promise<void>((resolve) => waiters.set(h, resolve)))
        nonce++
        sent++
      }
      await Promise.race([Promise.all(pending), node.exited])
      if (seen.size >= TARGET_SEEN) stop = true
    }
  }

  // Senders run until the node dies under them; their errors after the kill are expected.
  const loops = senders.map((w, i) => sendLoop(w, i).catch((e: Error) => e))
  await waitFor(() => seen.size >= TARGET_SEEN, `${TARGET_SEEN} seen receipts`, 45_000, 2)
  const killedAt = seen.size
  t.comment(`streamed until ${Date.now() - T0} ms`)
  const exit = await node.kill()
  stop = true
  t.equal(exit.signal, 'SIGKILL', 'killed with SIGKILL')
  await Promise.all(loops)
  t.ok(killedAt >= TARGET_SEEN, `${killedAt} receipts seen of ${sent} sent before the kill`)

  const again = await start()
  t.comment(`restarted at ${Date.now() - T0} ms`)
  const u2 = again.httpUrl
  // Every seen receipt is there, in the same block with the same status.
  const seenList = [...seen.values()]
  let missing = 0
  let moved = 0
  for (let i = 0; i < seenList.length; i += 200) {
    const chunk = seenList.slice(i, i + 200)
    const res = (await (
      await fetch(u2, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chunk.map((s, j) => ({ jsonrpc: '2.0', id: j, method: 'eth_getTransactionReceipt', params: [s.hash] }))) })
    ).json()) as { id: number; result: SeenReceipt | null }[]
    for (const r of res) {
      const s = chunk[r.id]!
      if (!r.result) missing++
      else if (r.result.blockHash !== s.blockHash || r.result.blockNumber !== s.blockNumber || r.result.status !== s.status) moved++
    }
  }
  t.equal(missing, 0, `all ${seenList.length} seen receipts survive the SIGKILL`)
  t.equal(moved, 0, 'same block hash, number and status')
  t.ok(seenList.every((s) => s.status === '0x1'))

  // The head the node recovered (from its startup log) is a complete block: header, body,
  // receipts and the tx index agree. So is the current head (the journal may have added blocks).
  const restored = node2Restored(again.output())
  t.ok(restored, `the node logged its restored head (${restored?.hash})`)
  const maxSeen = Math.max(...seenList.map((s) => Number(s.blockNumber)))
  t.ok(restored!.number >= maxSeen, `restored head ${restored!.number} ≥ highest seen block ${maxSeen}`)
  const checkComplete = async (blockHash: string, what: string) => {
    const b = await rpc<RpcBlock>(u2, 'eth_getBlockByHash', [blockHash, true])
    t.equal(b.hash, blockHash, `${what}: header and body readable`)
    const receipts = await rpc<{ transactionHash: string; blockHash: string }[]>(u2, 'eth_getBlockReceipts', [b.hash])
    t.equal(receipts.length, b.transactions.length, `${what}: one receipt per transaction (${b.transactions.length})`)
    t.equal(await rpc(u2, 'eth_getBlockTransactionCountByHash', [b.hash]), hex(b.transactions.length), `${what}: tx count by hash`)
    t.equal(await rpc(u2, 'eth_getBlockTransactionCountByNumber', [b.number]), hex(b.transactions.length), `${what}: tx count by number`)
    let ok = 0
    for (const [i, tx] of b.transactions.entries()) {
      const h = typeof tx === 'string' ? tx : tx.hash
      const byHash = await rpc<{ blockHash: string } | null>(u2, 'eth_getTransactionByHash', [h])
      if (receipts[i]!.transactionHash === h && receipts[i]!.blockHash === b.hash && byHash?.blockHash === b.hash) ok++
    }
    t.equal(ok, b.transactions.length, `${what}: every tx has its receipt and index entry`)
    return b
  }
  const restoredBlock = await checkComplete(restored!.hash, 'restored head')
  t.equal(Number(restoredBlock.number), restored!.number)
  postKillHead = restoredBlock
  const head = await checkComplete((await rpc<RpcBlock>(u2, 'eth_getBlockByNumber', ['latest', false])).hash, 'latest head')

  // Every block up to the head is readable and linked; every tx in them has a receipt.
  const numbers = Array.from({ length: Number(head.number) + 1 }, (_, i) => i)
  const blocks: RpcBlock[] = []
  for (let i = 0; i < numbers.length; i += 500) {
    const res = (await (
      await fetch(u2, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(numbers.slice(i, i + 500).map((n) => ({ jsonrpc: '2.0', id: n, method: 'eth_getBlockByNumber', params: [hex(n), false] }))) })
    ).json()) as { id: number; result: RpcBlock | null }[]
    for (const r of res.sort((a, b) => a.id - b.id)) blocks.push(r.result!)
  }
  t.ok(blocks.every((b) => b !== null), `blocks 0..${head.number} all readable`)
  let linked = true
  for (let i = 1; i < blocks.length; i++) if (blocks[i]!.parentHash !== blocks[i - 1]!.hash || Number(blocks[i]!.number) !== i) linked = false
  t.ok(linked, 'parent hashes link the chain')
  const txTotal = blocks.reduce((s, b) => s + b.transactions.length, 0)
  t.ok(txTotal >= seenList.length, `${txTotal} transactions in ${blocks.length - 1} blocks`)

  // Acknowledged but not yet mined at the kill: the node's journal of local transactions
  // brings them back, so every acknowledged transaction is mined after the restart.
  const unseen = acked.filter((h) => !seen.has(h))
  t.comment(`${unseen.length} transactions were acknowledged but not seen mined at the kill`)
  for (const h of unseen) await waitFor(async () => (await rpcRaw(u2, 'eth_getTransactionReceipt', [h])).result, `acknowledged tx ${h} mined after restart`, 15_000)
  t.pass(`all ${acked.length} acknowledged transactions are mined after the restart`)

  // Nonces after restart equal what the chain holds; the node keeps producing valid blocks.
  const w = senders[0]!
  const nonce = Number(await rpc<string>(u2, 'eth_getTransactionCount', [w.address, 'latest']))
  t.equal(Number(await rpc<string>(u2, 'eth_getTransactionCount', [w.address, 'pending'])), nonce, 'no phantom pending txs after restart')
  const raw = await w.signTransaction({ type: 2, chainId: CHAIN_ID, nonce, to: sink, value: 5n, gasLimit: 21000n, maxFeePerGas: gasPrice * 4n, maxPriorityFeePerGas: 1n })
  const h = await rpc<string>(u2, 'eth_sendRawTransaction', [raw])
  const rec = await waitFor(async () => (await rpcRaw<SeenReceipt | null>(u2, 'eth_getTransactionReceipt', [h])).result, 'receipt after restart')
  t.equal(rec.status, '0x1', 'a new transaction is mined after the restart')
  t.ok(Number(rec.blockNumber) > Number(head.number), 'on top of the recovered head')
  lastSentBeforeStop = Number(rec.blockNumber)

  t.comment(`checked at ${Date.now() - T0} ms`)
  // Clean stop, so the datadir can be read for re-execution.
  const exit2 = await again.stop()
  t.equal(exit2.code, 0, 'SIGTERM: exit code 0')
})

t.test('re-executing every block from genesis gives the same state roots and hashes', async (t) => {
  // Read the stored blocks straight from the stopped node's database.
  const db = await openChainDB(join(datadir, 'chaindata'))
  const store = new BlockStore(db, createChainCommon(CHAIN_ID))
  const blocks: Block[] = []
  try {
    t.ok(await store.open(), 'datadir holds a chain')
    const head = store.head()
    t.equal(Number(head.number), lastSentBeforeStop, 'stored head = last block before SIGTERM')
    for (let n = 1n; n <= head.number; n++) {
      const hash = await store.canonicalHash(n)
      const b = hash && (await store.getBlock(hash))
      if (!b) throw new Error(`block ${n} missing from the store`)
      blocks.push(b)
    }
  } finally {
    await db.close()
  }
  t.equal(bytesToHex(blocks[Number(postKillHead.number) - 1]!.hash()), postKillHead.hash, 'the post-kill head is on the stored chain')

  // A fresh node imports them through ChainService.importBlock: the validator re-executes each
  // body and rejects any block whose state root, receipts root, bloom or gas differ.
  const fresh = await startInProcessNode()
  t.teardown(() => fresh.stop())
  const now = Number(blocks.at(-1)!.header.timestamp) + 1 // dev automine runs timestamps ahead of the clock
  let imported = 0
  for (const b of blocks) {
    const where = await fresh.node.chain.importBlock(b, now)
    if (where !== 'head') throw new Error(`block ${b.number} imported as ${where}`)
    imported++
  }
  t.equal(imported, blocks.length, `${imported} blocks re-executed and imported`)
  const freshHead = fresh.node.store.head()
  const last = blocks.at(-1)!
  t.equal(bytesToHex(freshHead.hash()), bytesToHex(last.hash()), 'same head hash')
  t.equal(bytesToHex(freshHead.stateRoot), bytesToHex(last.header.stateRoot), 'same state root')
  // Balances agree through RPC on the re-executed chain.
  const sinkBalance = await rpc<string>(fresh.httpUrl, 'eth_getBalance', [sink, 'latest'])
  t.ok(BigInt(sinkBalance) > 0n, 'the sink received transfers')
  finalCheck = { sinkBalance, headHash: bytesToHex(last.hash()) }
})

let finalCheck: { sinkBalance: string; headHash: string } | undefined

t.test('after SIGTERM a restart continues from the same head and balances', async (t) => {
  const node = await start()
  const head = await rpc<RpcBlock>(node.httpUrl, 'eth_getBlockByNumber', ['latest', false])
  t.equal(head.hash, finalCheck?.headHash, 'same head')
  t.equal(await rpc(node.httpUrl, 'eth_getBalance', [sink, 'latest']), finalCheck?.sinkBalance, 'same balance')
  // Keep going once more and stop cleanly again.
  const w = senders[1]!
  const nonce = Number(await rpc<string>(node.httpUrl, 'eth_getTransactionCount', [w.address, 'pending']))
  const raw = await w.signTransaction({ type: 0, chainId: CHAIN_ID, nonce, to: sink, value: 1n, gasLimit: 21000n, gasPrice: BigInt(await rpc<string>(node.httpUrl, 'eth_gasPrice')) })
  const h = await rpc<string>(node.httpUrl, 'eth_sendRawTransaction', [raw])
  const rec = await waitFor(async () => (await rpcRaw<SeenReceipt | null>(node.httpUrl, 'eth_getTransactionReceipt', [h])).result, 'receipt')
  t.equal(Number(rec.blockNumber), Number(head.number) + 1)
  const exit = await node.stop()
  t.equal(exit.code, 0, 'exit code 0')
  t.equal(exit.signal, null)
})
