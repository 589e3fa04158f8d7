import { type Address, type Hex } from 'viem'
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { JsonRpcClient, JsonRpcError } from '../../bridge/JsonRpcClient.js'
import { bytesToHex } from '../../common/bytes.js'
import { JobError } from './JobError.js'
import { MARKET_TX_GAS, revertError, type MarketChain, type MarketLog, type MarketTxReceipt } from './MarketChain.js'

const q = (n: bigint) => `0x${n.toString(16)}`

/**
 * The market over a node's JSON-RPC (the job CLI): reads with eth_call; transactions signed
 * here with a local key (keystore), or — without one — sent with eth_sendTransaction from an
 * account the node holds unlocked (the dev chain's).
 */
export class RpcMarketChain implements MarketChain {
  private chainId?: number

  private constructor(
    readonly rpc: JsonRpcClient,
    readonly from: Address,
    private readonly account?: PrivateKeyAccount,
  ) {}

  static async connect(url: string, opts: { key?: Uint8Array; from?: Address } = {}): Promise<RpcMarketChain> {
    const rpc = new JsonRpcClient({ url, retries: 2 })
    if (opts.key) {
      const account = privateKeyToAccount(bytesToHex(opts.key) as Hex)
      return new RpcMarketChain(rpc, account.address, account)
    }
    let from = opts.from
    if (!from) {
      const accounts = await rpc.request<Address[]>('eth_accounts').catch((e: Error) => {
        throw new JobError('RPC', `cannot reach the node at ${url}: ${e.message}`, { cause: e })
      })
      from = accounts[0]
    }
    if (!from) throw new JobError('NO_KEY', `the node at ${url} holds no unlocked account: pass --keystore FILE (or --key-file FILE)`)
    return new RpcMarketChain(rpc, from)
  }

  async call(to: Address, data: Hex): Promise<Hex> {
    try {
      return await this.rpc.request<Hex>('eth_call', [{ from: this.from, to, data }, 'latest'])
    } catch (e) {
      if (e instanceof JsonRpcError) throw revertError('call', e.data as Hex | undefined, e.rpcMessage)
      throw new JobError('RPC', (e as Error).message, { cause: e })
    }
  }

  async check(to: Address, data: Hex, opts: { value?: bigint } = {}): Promise<void> {
    try {
      await this.rpc.request<Hex>('eth_call', [{ from: this.from, to, data, value: q(opts.value ?? 0n), gas: q(MARKET_TX_GAS) }, 'pending'])
    } catch (e) {
      if (e instanceof JsonRpcError) throw revertError('would revert', e.data as Hex | undefined, e.rpcMessage)
      throw new JobError('RPC', (e as Error).message, { cause: e })
    }
  }

  async head(): Promise<{ number: bigint; timestamp: bigint }> {
    const b = await this.rpc.request<{ number: Hex; timestamp: Hex }>('eth_getBlockByNumber', ['latest', false])
    return { number: BigInt(b.number), timestamp: BigInt(b.timestamp) }
  }

  async balance(a: Address = this.from): Promise<bigint> {
    return BigInt(await this.rpc.request<Hex>('eth_getBalance', [a, 'latest']))
  }

  async send(to: Address, data: Hex, opts: { value?: bigint; gas?: bigint } = {}): Promise<MarketTxReceipt> {
    const value = opts.value ?? 0n
    const gas = opts.gas ?? MARKET_TX_GAS
    let hash: Hex
    try {
      if (this.account) {
        this.chainId ??= Number(BigInt(await this.rpc.request<Hex>('eth_chainId')))
        const [nonce, tip, head] = await Promise.all([
          this.rpc.request<Hex>('eth_getTransactionCount', [this.from, 'pending']),
          this.rpc.request<Hex>('eth_maxPriorityFeePerGas'),
          this.rpc.request<{ baseFeePerGas: Hex }>('eth_getBlockByNumber', ['latest', false]),
        ])
        const raw = await this.account.signTransaction({
          type: 'eip1559',
          chainId: this.chainId,
          nonce: Number(BigInt(nonce)),
          to,
          data,
          value,
          gas,
          maxPriorityFeePerGas: BigInt(tip),
          maxFeePerGas: 2n * BigInt(head.baseFeePerGas) + BigInt(tip),
        })
        hash = await this.rpc.request<Hex>('eth_sendRawTransaction', [raw])
      } else hash = await this.rpc.request<Hex>('eth_sendTransaction', [{ from: this.from, to, data, value: q(value), gas: q(gas) }])
    } catch (e) {
      // -32601 on eth_sendTransaction: the node does not sign for its accounts over RPC (only --dev, or --http.api …,personal, does).
      if (e instanceof JsonRpcError && e.rpcCode === -32601 && !this.account)
        throw new JobError('TX_REJECTED', `the node does not send transactions for ${this.from} (${e.rpcMessage}): sign here (--keystore FILE or --key-file FILE), or start the node with --unlock and --http.api including personal`, { cause: e })
      if (e instanceof JsonRpcError) throw new JobError('TX_REJECTED', `the node refused the transaction: ${e.rpcMessage}`, { cause: e })
      throw e
    }
    const until = Date.now() + 120_000
    for (;;) {
      const r = await this.rpc.request<{ status: Hex; blockNumber: Hex; logs: MarketLog[] } | null>('eth_getTransactionReceipt', [hash])
      if (r) {
        const out = { hash, blockNumber: BigInt(r.blockNumber), logs: r.logs.map((l) => ({ address: l.address, topics: l.topics, data: l.data })) }
        if (r.status === '0x1') return out
        // Replay on the parent state for the contract's reason (best effort).
        let reason: Hex | undefined
        try {
          await this.rpc.request('eth_call', [{ from: this.from, to, data, value: q(value) }, q(out.blockNumber - 1n)])
        } catch (e) {
          if (e instanceof JsonRpcError) reason = e.data as Hex | undefined
        }
        throw revertError(`transaction ${hash} reverted`, reason, 'reverted')
      }
      if (Date.now() > until) throw new JobError('TX_TIMEOUT', `transaction ${hash} was not mined within 120 s`)
      await new Promise((res) => setTimeout(res, 100))
    }
  }
}
