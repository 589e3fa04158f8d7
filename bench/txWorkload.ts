import { Transaction, type HDNodeWallet } from 'ethers'
import { boundedPool, lanes } from './concurrency.js'
import { CpuMeter } from './procCpu.js'
import { fromQty, type RpcClient, toQty } from './RpcClient.js'
import { latencySummary, log, round1, round3, sleep } from './stats.js'

export interface SignedTx {
  sender: number
  nonce: number
  raw: string
  hash: string
}

export interface TxTemplate {
  to: string
  value: bigint
  data: string
  gasLimit: bigint
}

export interface Fees {
  chainId: bigint
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
}

/** Fees that stay valid while the base fee moves: 2 × the next base fee + 1 gwei tip. */
export async function currentFees(rpc: RpcClient): Promise<Fees> {
  const chainId = fromQty(await rpc.call('eth_chainId'), 'eth_chainId')
  const head = await rpc.call<{ baseFeePerGas?: string }>('eth_getBlockByNumber', ['latest', false])
  const base = head.baseFeePerGas ? fromQty(head.baseFeePerGas, 'baseFeePerGas') : 1_000_000_000n
  const tip = 1_000_000_000n
  return { chainId, maxFeePerGas: 2n * base + tip, maxPriorityFeePerGas: tip }
}

export async function latestNonces(rpc: RpcClient, wallets: HDNodeWallet[]): Promise<number[]> {
  return Promise.all(wallets.map(async (w) => Number(fromQty(await rpc.call('eth_getTransactionCount', [w.address, 'latest']), 'nonce'))))
}

/**
 * Signs `n` EIP-1559 transactions offline (before any timing starts), round-robin over the
 * wallets with explicit consecutive nonces.
 */
export function signBatch(wallets: HDNodeWallet[], nonces: number[], n: number, fees: Fees, template: (i: number) => TxTemplate): SignedTx[] {
  const out: SignedTx[] = []
  for (let i = 0; i < n; i++) {
    const s = i % wallets.length
    const w = wallets[s]!
    const nonce = nonces[s]!++
    const t = template(i)
    const tx = Transaction.from({
      type: 2,
      chainId: fees.chainId,
      nonce,
      to: t.to,
      value: t.value,
      data: t.data,
      gasLimit: t.gasLimit,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    })
    tx.signature = w.signingKey.sign(tx.unsignedHash)
    out.push({ sender: s, nonce, raw: tx.serialized, hash: tx.hash! })
  }
  return out
}

export interface TxPhaseResult {
  n: number
  senders: number
  depth: number
  concurrency: number
  tps?: number
  wall_ms?: number
  first_block_ms?: number
  send?: ReturnType<typeof latencySummary>
  blocks: number
  max_txs_per_block: number
  mean_txs_per_block?: number
  gas_used: number
  server_cpu_ms?: number
  server_cpu_ms_per_tx?: number
  /** The kernel's (system) part of server_cpu_ms_per_tx. */
  server_sys_ms_per_tx?: number
  client_cpu_ms_per_tx?: number
}

interface ReceiptLite {
  transactionHash: string
  status: string
  blockNumber: string
  gasUsed: string
}

/**
 * Sends signed transactions with eth_sendRawTransaction (one lane per sender, `depth` in
 * flight per lane, `concurrency` overall) and waits until every sender's last transaction has
 * a receipt (nonce order implies the earlier ones are mined); checked each time the head moves.
 * Then verifies every receipt (status 1) and counts the blocks used.
 */
export async function runTxPhase(
  rpc: RpcClient,
  txs: SignedTx[],
  opts: { depth: number; concurrency: number; timeoutSec: number; serverPid?: number; label: string },
): Promise<TxPhaseResult> {
  const bySender = new Map<number, SignedTx[]>()
  for (const t of txs) {
    let l = bySender.get(t.sender)
    if (!l) bySender.set(t.sender, (l = []))
    l.push(t)
  }
  for (const l of bySender.values()) l.sort((a, b) => a.nonce - b.nonce)
  const lastHash = new Map<number, string>([...bySender].map(([s, l]) => [s, l[l.length - 1]!.hash]))
  const startBlock = Number(fromQty(await rpc.call('eth_blockNumber'), 'eth_blockNumber'))

  const sendLat: number[] = []
  const meter = new CpuMeter(opts.serverPid)
  const t0 = performance.now()
  let firstBlockMs: number | undefined
  let sendsDone = false
  let sendError: unknown

  const sending = lanes([...bySender.values()], opts.concurrency, opts.depth, async (t) => {
    const s = performance.now()
    const h = await rpc.call<string>('eth_sendRawTransaction', [t.raw])
    sendLat.push(performance.now() - s)
    if (h.toLowerCase() !== t.hash.toLowerCase()) throw new Error(`eth_sendRawTransaction returned ${h}, expected ${t.hash}`)
  }).then(
    () => (sendsDone = true),
    (e) => (sendError = e),
  )

  const deadline = t0 + opts.timeoutSec * 1000
  const pending = new Set(lastHash.keys())
  let seenBlock = startBlock
  while (pending.size) {
    if (sendError) throw sendError
    if (performance.now() > deadline) throw new Error(`${opts.label}: ${pending.size} senders still without their last receipt after ${opts.timeoutSec} s`)
    const bn = Number(fromQty(await rpc.call('eth_blockNumber'), 'eth_blockNumber'))
    if (bn !== seenBlock) {
      seenBlock = bn
      firstBlockMs ??= performance.now() - t0
      await Promise.all(
        [...pending].map(async (s) => {
          const r = await rpc.call<ReceiptLite | null>('eth_getTransactionReceipt', [lastHash.get(s)])
          if (r) pending.delete(s)
        }),
      )
      if (!pending.size) break
    }
    await sleep(sendsDone ? 5 : 10)
  }
  const wallMs = performance.now() - t0
  const cpu = meter.stop()
  await sending
  if (sendError) throw sendError

  // Verification and block statistics, outside the timed window.
  const endBlock = Number(fromQty(await rpc.call('eth_blockNumber'), 'eth_blockNumber'))
  const want = new Set(txs.map((t) => t.hash.toLowerCase()))
  const perBlock: number[] = []
  let gasUsed = 0n
  await boundedPool(endBlock - startBlock, 8, async (i) => {
    const receipts = await rpc.call<ReceiptLite[]>('eth_getBlockReceipts', [toQty(startBlock + 1 + i)])
    let mine = 0
    for (const r of receipts ?? []) {
      if (!want.delete(r.transactionHash.toLowerCase())) continue
      if (r.status !== '0x1') throw new Error(`${opts.label}: tx ${r.transactionHash} failed (status ${r.status})`)
      gasUsed += fromQty(r.gasUsed, 'gasUsed')
      mine++
    }
    if (mine) perBlock.push(mine)
  })
  if (want.size) throw new Error(`${opts.label}: ${want.size} transactions have no receipt in blocks ${startBlock + 1}..${endBlock}`)
  const n = txs.length
  log(`${opts.label}: ${n} txs in ${Math.round(wallMs)} ms = ${Math.round((n * 1000) / wallMs)} tx/s over ${perBlock.length} blocks` +
    (cpu.serverMs !== undefined ? `, server CPU ${(cpu.serverMs / n).toFixed(2)} ms/tx` : ''))
  return {
    n,
    senders: bySender.size,
    depth: opts.depth,
    concurrency: opts.concurrency,
    tps: round1((n * 1000) / wallMs),
    wall_ms: Math.round(wallMs),
    first_block_ms: round1(firstBlockMs),
    send: latencySummary(sendLat),
    blocks: perBlock.length,
    max_txs_per_block: Math.max(0, ...perBlock),
    mean_txs_per_block: round1(perBlock.length ? n / perBlock.length : undefined),
    gas_used: Number(gasUsed),
    server_cpu_ms: round1(cpu.serverMs),
    server_cpu_ms_per_tx: round3(cpu.serverMs !== undefined ? cpu.serverMs / n : undefined),
    server_sys_ms_per_tx: round3(cpu.serverSystemMs !== undefined ? cpu.serverSystemMs / n : undefined),
    client_cpu_ms_per_tx: round3(cpu.clientMs / n),
  }
}
