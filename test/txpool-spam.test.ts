/**
 * Tx pool spam (issue 17): a producing node (1 s slots) whose pool runs at reduced caps (the same
 * code paths as Geth's defaults, reached with fewer transactions) takes a flood of pre-signed
 * transactions from many funded senders, half through JSON-RPC batches and half as gossip from
 * a bare libp2p peer: runs of nonces past the per-account slots, nonce gaps past the queue caps,
 * replacement churn (each tx re-sent three times with a 12 % bump), and an underpriced flood (tip
 * below the pool's minimum). Meanwhile honest senders send one transfer a second with a fair tip.
 *
 * What must hold: pending and queued never exceed their caps (sampled every 50 ms) and pending
 * reaches its cap; every honest transaction is mined within HONEST_BLOCKS blocks of being sent;
 * the node keeps producing and logs no error. Figures printed: spam accepted/refused, CPU per
 * spam transaction (the whole process: node, RPC client and attacker), RSS.
 * POVCHAIN_SPAM_SENDERS scales the flood (default 30 senders ≈ 3,400 transactions).
 */
import { createTx, type TypedTransaction } from '@ethereumjs/tx'
import t from 'tap'
import { createChainCommon } from '../chain/ChainCommon.js'
import { keccak256 } from '../chain/keccak.js'
import { privateKeyToAddress } from '../chain/Signing.js'
import { bytesToHex } from '../common/bytes.js'
import type { Logger } from '../common/logger.js'
import { GossipTransaction } from '../network/Protobuf.js'
import { Attacker, gossipRpc } from './helpers/p2pAttacker.js'
import { Cluster, clusterGenesis, DEV_KEYS, randomKey, until } from './helpers/netcluster.js'

const CHAIN_ID = 31338n
const SENDERS = Number(process.env.POVCHAIN_SPAM_SENDERS ?? 30)
const POOL = { globalSlots: 96, globalQueue: 128, accountSlots: 4, accountQueue: 16 }
const HONEST_BLOCKS = 5
const GWEI = 10n ** 9n
const common = createChainCommon(CHAIN_ID)

function spamKey(i: number): Uint8Array {
  return keccak256(new TextEncoder().encode(`spam-${i}`))
}

function tx(key: Uint8Array, nonce: bigint, tip: bigint, feeCap = 200n * GWEI): TypedTransaction {
  return createTx({ type: 2, nonce, to: new Uint8Array(20).fill(0xaa), value: 1n, gasLimit: 21000n, maxFeePerGas: feeCap, maxPriorityFeePerGas: tip, chainId: CHAIN_ID }, { common }).sign(key)
}

function capturingLogger(lines: string[]): Logger {
  const noop = () => {}
  const at = (level: string) => (o: unknown, msg?: string) => lines.push(`${level} ${typeof o === 'string' ? o : `${msg ?? ''} ${JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`}`)
  const l: Logger = { trace: noop, debug: noop, info: noop, warn: at('warn'), error: at('error'), child: () => l }
  return l
}

t.test('tx pool under spam through JSON-RPC and gossip: caps hold, honest transactions land', async (t) => {
  const producer = randomKey(0)
  const genesis = clusterGenesis({ producers: [producer], slotSeconds: 1, timestamp: Math.floor(Date.now() / 1000) })
  const keys = Array.from({ length: SENDERS + 40 }, (_, i) => spamKey(i))
  for (const k of keys) genesis.alloc[bytesToHex(privateKeyToAddress(k)).toLowerCase()] = { balance: `0x${(10n ** 24n).toString(16)}` }
  // Blocks of 14 transfers: the pool fills whatever the machine's load, as a spammed network's
  // does. With 30 M gas every block emptied the pool, so "pending reaches its cap" depended on
  // the spam arriving faster than once a slot (at load 13, 36–51 of 96 pending).
  genesis.gasLimit = 14 * 21_000
  const c = new Cluster(genesis)
  t.teardown(() => c.destroy())
  const errors: string[] = []
  const a = await c.start({ name: 'a', producerKey: producer, txpool: POOL, logger: capturingLogger(errors) })
  await until(() => a.node.store.head().number >= 1n, 'first block')

  // Pre-signed, so that signing is not measured.
  const spam: { raw: Uint8Array; kind: string }[] = []
  for (let s = 0; s < SENDERS; s++) {
    const k = keys[s]!
    for (let n = 0; n < 24; n++) spam.push({ raw: tx(k, BigInt(n), GWEI).serialize(), kind: 'run' }) // past accountSlots
    for (let n = 40; n < 80; n++) spam.push({ raw: tx(k, BigInt(n), GWEI).serialize(), kind: 'gap' }) // past accountQueue
    for (let bump = 1; bump <= 3; bump++)
      for (let n = 0; n < 8; n++) {
        const tip = (GWEI * 112n ** BigInt(bump)) / 100n ** BigInt(bump) + 1n
        spam.push({ raw: tx(k, BigInt(n), tip, (200n * GWEI * 112n ** BigInt(bump)) / 100n ** BigInt(bump) + 1n).serialize(), kind: 'replace' })
      }
  }
  for (let s = SENDERS; s < SENDERS + 40; s++) for (let n = 0; n < 25; n++) spam.push({ raw: tx(keys[s]!, BigInt(n), 0n).serialize(), kind: 'underpriced' })
  // Interleave the kinds as a spammer would, deterministically.
  spam.sort((x, y) => (keccak256(x.raw)[0]! - keccak256(y.raw)[0]!))
  t.comment(`${spam.length} spam transactions from ${SENDERS + 40} senders, pool caps ${JSON.stringify(POOL)}`)

  let maxPending = 0
  let maxQueued = 0
  const sampler = setInterval(() => {
    const st = a.node.pool.status()
    maxPending = Math.max(maxPending, st.pending)
    maxQueued = Math.max(maxQueued, st.queued)
  }, 50)
  t.teardown(() => clearInterval(sampler))

  // Honest senders: dev accounts 1..5, one transfer a second each, tip 3 gwei (spam pays 1–1.4).
  const honest: { hash: string; sentAt: bigint }[] = []
  let stopHonest = false
  const honestLoop = (async () => {
    const nonces = [0n, 0n, 0n, 0n, 0n]
    while (!stopHonest) {
      for (let i = 0; i < 5; i++) {
        // Full blocks raise the base fee 12.5 % a block, until the spam (cap 200 gwei) cannot pay
        // it: the honest cap (0.21 coin a transfer, under the RPC fee cap of 1) stays above that.
        const raw = bytesToHex(tx(DEV_KEYS[i + 1]!, nonces[i]!, 3n * GWEI, 10_000n * GWEI).serialize())
        const sentAt = a.node.store.head().number
        const r = (await (await fetch(a.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] }) })).json()) as { result?: string; error?: { message: string } }
        if (r.result) {
          honest.push({ hash: r.result, sentAt })
          nonces[i]!++
        } else t.fail(`honest transaction refused: ${r.error?.message}`)
      }
      await new Promise((r) => setTimeout(r, 1000))
    }
  })()

  const att = await Attacker.connect(a.multiaddr, { chainId: CHAIN_ID, genesisHash: (await a.node.store.canonicalHeader(0n))!.hash(), headNumber: 0n, headHash: (await a.node.store.canonicalHeader(0n))!.hash(), finalizedNumber: 0n, finalizedHash: new Uint8Array(0), client: 'spam/1' })
  t.teardown(() => att.stop())
  await until(() => a.node.network!.peers().some((p) => p.id === att.peerId), 'the spammer is a peer')
  const topic = a.node.network!.gossip.topics.transactions
  const rpcResults = new Map<string, number>()
  const cpu0 = process.cpuUsage()
  const started = Date.now()
  const rss0 = process.memoryUsage().rss
  let rssMax = rss0
  let gossiped = 0
  let unwritten = 0
  for (let i = 0; i < spam.length; i += 100) {
    const chunk = spam.slice(i, i + 100)
    // Half of each chunk each way, the last (shorter) chunk too: it used to go all by RPC, so
    // "half the spam" overstated the gossiped count by half the last chunk (the 10 of 2,260 and
    // 20 of 1,820 "never validated" of earlier runs: they were never gossiped).
    const viaRpc = chunk.slice(0, Math.ceil(chunk.length / 2))
    const viaGossip = chunk.slice(viaRpc.length)
    gossiped += viaGossip.length
    const body = JSON.stringify(viaRpc.map((s, j) => ({ jsonrpc: '2.0', id: j, method: 'eth_sendRawTransaction', params: [bytesToHex(s.raw)] })))
    const [res] = await Promise.all([
      fetch(a.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.json() as Promise<{ result?: string; error?: { message: string } }[]>),
      att.gossip(gossipRpc(viaGossip.map((s) => ({ topic, data: GossipTransaction.encode({ raw: s.raw }) })))).then((written) => {
        if (!written) unwritten++
      }),
    ])
    for (const r of res) {
      const key = r.result ? 'accepted' : (r.error?.message ?? '?').replace(/[0-9a-fx]{8,}|\d+/g, 'N').slice(0, 60)
      rpcResults.set(key, (rpcResults.get(key) ?? 0) + 1)
    }
    rssMax = Math.max(rssMax, process.memoryUsage().rss)
  }
  const gossipCount = async () => {
    const m = (await a.node.metrics.render()).body
    return [...m.matchAll(/^povchain_network_gossip_received_total\{topic="transactions",verdict="[a-z]+"\} (\d+)/gm)].reduce((x, y) => x + Number(y[1]), 0)
  }
  t.equal(unwritten, 0, 'every gossip frame written to the node')
  const gossipDone = await until(async () => ((await gossipCount()) >= gossiped ? gossipCount() : undefined), 'every gossiped spam transaction validated', 180_000).catch(gossipCount)
  const gossipsubCounts = (await a.node.metrics.render()).body.split('\n').filter((l) => /^povchain_gossipsub_(pre_validation_duplicate|rpc_data_err|peer_read_stream_err|msg_received_invalid|rpc_recv_message)/.test(l))
  t.comment(`gossipsub: ${gossipsubCounts.join('; ')}`)
  t.equal(gossipDone, gossiped, `every gossiped spam transaction validated and counted (${gossipDone} of ${gossiped})`)
  t.ok(att.connected(), 'the spammer relaying valid-but-unwanted transactions is not banned (an honest relay would do the same)')
  const cpu = process.cpuUsage(cpu0)
  const secs = (Date.now() - started) / 1000
  const cpuUs = (cpu.user + cpu.system) / spam.length
  t.comment(`spam in ${secs.toFixed(1)} s (${Math.round(spam.length / secs)} tx/s); CPU ${cpuUs.toFixed(0)} µs per spam tx (whole process); gossip validated ${gossipDone}; RPC answers ${JSON.stringify(Object.fromEntries(rpcResults))}`)
  t.comment(`pool max pending ${maxPending} (cap ${POOL.globalSlots}), max queued ${maxQueued} (cap ${POOL.globalQueue}); RSS ${(rss0 / 2 ** 20).toFixed(0)} → max ${(rssMax / 2 ** 20).toFixed(0)} MiB`)

  // Let the honest senders go on a few more blocks while the pool drains spam.
  const headAfterSpam = a.node.store.head().number
  await until(() => a.node.store.head().number >= headAfterSpam + 5n, 'five more blocks', 30_000)
  stopHonest = true
  await honestLoop
  clearInterval(sampler)

  t.ok(maxPending <= POOL.globalSlots, `pending never above its cap (${maxPending} ≤ ${POOL.globalSlots})`)
  t.ok(maxQueued <= POOL.globalQueue, `queued never above its cap (${maxQueued} ≤ ${POOL.globalQueue})`)
  t.ok(maxPending >= POOL.globalSlots * 0.9, `the flood filled the pool (${maxPending} pending at most)`)
  t.ok((rpcResults.get('transaction underpriced') ?? 0) > 0 || [...rpcResults.keys()].some((k) => /underpriced|tip/.test(k)), 'underpriced transactions refused as such')

  // Every honest transaction mined, and how many blocks after it was sent.
  const delays: number[] = []
  await until(async () => {
    delays.length = 0
    for (const h of honest) {
      const r = (await (await fetch(a.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getTransactionReceipt', params: [h.hash] }) })).json()) as { result?: { blockNumber: string } }
      if (!r.result) return false
      delays.push(Number(BigInt(r.result.blockNumber) - h.sentAt))
    }
    return true
  }, 'every honest transaction mined', 30_000)
  delays.sort((x, y) => x - y)
  t.comment(`${honest.length} honest transactions: mined within ${delays[0]}…${delays[delays.length - 1]} blocks of sending (median ${delays[Math.floor(delays.length / 2)]})`)
  t.ok(delays[delays.length - 1]! <= HONEST_BLOCKS, `every honest transaction mined within ${HONEST_BLOCKS} blocks of being sent`)
  t.same(errors.filter((l) => !l.includes('the process stalled')), [], 'no warn or error log line')
})
