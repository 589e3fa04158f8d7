/**
 * A wallet that uses the node while it is fuzzed: every `intervalMs` a transfer from its own dev
 * account (one the fuzzer never names) sent with eth_sendRawTransaction and followed to its
 * receipt, with eth_blockNumber and eth_getBalance between. It records every failure and how
 * long each transfer took from send to receipt.
 */
import { Wallet } from 'ethers'

export interface HonestFigures {
  transfers: number
  mined: number
  reads: number
  failures: string[]
  /** Send → receipt, ms. */
  p50Ms: number
  maxMs: number
}

export class HonestClient {
  private stopped = false
  private loop?: Promise<void>
  private readonly latencies: number[] = []
  private readonly failures: string[] = []
  private transfers = 0
  private reads = 0
  private id = 1

  constructor(
    private readonly url: string,
    private readonly key: string,
    private readonly chainId: bigint,
    private readonly intervalMs = 250,
  ) {}

  private async call<T>(method: string, params: unknown[]): Promise<T> {
    const r = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: this.id++, method, params }) })
    const j = (await r.json()) as { result?: T; error?: { code: number; message: string } }
    if (j.error || j.result === undefined) throw new Error(`${method}: ${j.error ? `${j.error.code} ${j.error.message}` : 'no result'}`)
    return j.result
  }

  start(): void {
    const wallet = new Wallet(this.key)
    this.loop = (async () => {
      let nonce = BigInt(await this.call<string>('eth_getTransactionCount', [wallet.address, 'pending']))
      while (!this.stopped) {
        const t0 = performance.now()
        try {
          const raw = await wallet.signTransaction({ type: 2, chainId: this.chainId, nonce: Number(nonce), to: '0x000000000000000000000000000000000000dEaD', value: 1n, gasLimit: 21_000n, maxFeePerGas: 1_000n * 10n ** 9n, maxPriorityFeePerGas: 2n * 10n ** 9n })
          const hash = await this.call<string>('eth_sendRawTransaction', [raw])
          this.transfers++
          nonce++
          for (;;) {
            await this.call('eth_blockNumber', [])
            await this.call('eth_getBalance', [wallet.address, 'latest'])
            this.reads += 2
            const receipt = await this.call<{ status: string } | null>('eth_getTransactionReceipt', [hash]).catch(() => null)
            if (receipt) {
              if (receipt.status !== '0x1') this.failures.push(`transfer ${hash} reverted`)
              this.latencies.push(performance.now() - t0)
              break
            }
            if (performance.now() - t0 > 30_000) {
              this.failures.push(`transfer ${hash} not mined within 30 s`)
              break
            }
            await new Promise((r) => setTimeout(r, 20))
          }
        } catch (e) {
          this.failures.push((e as Error).message)
          nonce = BigInt(await this.call<string>('eth_getTransactionCount', [wallet.address, 'pending']).catch(() => `0x${nonce.toString(16)}`))
        }
        await new Promise((r) => setTimeout(r, this.intervalMs))
      }
    })()
  }

  async stop(): Promise<HonestFigures> {
    this.stopped = true
    await this.loop
    const sorted = [...this.latencies].sort((a, b) => a - b)
    return {
      transfers: this.transfers,
      mined: this.latencies.length,
      reads: this.reads,
      failures: this.failures,
      p50Ms: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
      maxMs: Math.round(sorted[sorted.length - 1] ?? 0),
    }
  }
}
