import type { Address, Hex } from 'viem'
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { JsonRpcClient, JsonRpcError } from '../../bridge/JsonRpcClient.js'
import { bytesToHex } from '../../common/bytes.js'

export class FaucetError extends Error {
  constructor(
    readonly code: 'EMPTY' | 'RPC' | 'REJECTED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** A plain transfer's gas: the faucet pays exactly this for each drip. */
const TRANSFER_GAS = 21_000n

/**
 * Signs and sends the faucet's transfers with its own key, one at a time: the nonce is kept
 * here (read once from the node's pending count, re-read after a refusal), so that drips sent
 * back to back never reuse one. A drip answers with its hash as soon as the node accepted it.
 */
export class FaucetSender {
  readonly address: Address
  private readonly account: PrivateKeyAccount
  private nonce?: bigint
  private chainId?: number
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly rpc: JsonRpcClient,
    key: Uint8Array,
    readonly amount: bigint,
  ) {
    this.account = privateKeyToAccount(bytesToHex(key) as Hex)
    this.address = this.account.address
  }

  async balance(): Promise<bigint> {
    return BigInt(await this.rpc.request<Hex>('eth_getBalance', [this.address, 'latest']))
  }

  async chain(): Promise<number> {
    this.chainId ??= Number(BigInt(await this.rpc.request<Hex>('eth_chainId')))
    return this.chainId
  }

  drip(to: Address): Promise<Hex> {
    const next = this.queue.then(() => this.send(to))
    this.queue = next.catch(() => undefined)
    return next
  }

  private async send(to: Address): Promise<Hex> {
    try {
      const chainId = await this.chain()
      this.nonce ??= BigInt(await this.rpc.request<Hex>('eth_getTransactionCount', [this.address, 'pending']))
      const [tip, head] = await Promise.all([
        this.rpc.request<Hex>('eth_maxPriorityFeePerGas'),
        this.rpc.request<{ baseFeePerGas: Hex }>('eth_getBlockByNumber', ['latest', false]),
      ])
      const maxFeePerGas = 2n * BigInt(head.baseFeePerGas) + BigInt(tip)
      if ((await this.balance()) < this.amount + TRANSFER_GAS * maxFeePerGas)
        throw new FaucetError('EMPTY', `the faucet ${this.address} has run dry; its operator must top it up`)
      const raw = await this.account.signTransaction({ type: 'eip1559', chainId, nonce: Number(this.nonce), to, value: this.amount, gas: TRANSFER_GAS, maxPriorityFeePerGas: BigInt(tip), maxFeePerGas })
      const hash = await this.rpc.request<Hex>('eth_sendRawTransaction', [raw])
      this.nonce += 1n
      return hash
    } catch (e) {
      this.nonce = undefined // the node's pending count is the truth after anything went wrong
      if (e instanceof FaucetError) throw e
      if (e instanceof JsonRpcError) throw new FaucetError('REJECTED', `the node refused the transfer: ${e.rpcMessage}`, { cause: e })
      throw new FaucetError('RPC', `cannot reach the node: ${(e as Error).message}`, { cause: e })
    }
  }
}
