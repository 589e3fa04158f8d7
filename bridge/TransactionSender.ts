import { type Abi, type Address, type Hex } from 'viem'
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { bytesToHex } from '../common/bytes.js'
import { BridgeError } from './BridgeError.js'
import type { EthereumRpc, RpcReceipt } from './EthereumRpc.js'
import { JsonRpcError } from './JsonRpcClient.js'
import { describeRevert } from './RevertReason.js'

/** A revert (or rejection) of a bridge transaction, with the node's reason. */
export class TransactionRejected extends BridgeError {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('TX_REJECTED', reason, options)
  }
}

/**
 * Signs and sends EIP-1559 transactions from one key over JSON-RPC and waits for them. Gas is
 * estimated first, so a call that would revert fails here with the contract's reason instead
 * of spending gas.
 */
export class TransactionSender {
  readonly account: PrivateKeyAccount
  private chainId?: number

  constructor(
    readonly rpc: EthereumRpc,
    privateKey: Uint8Array,
    /** Custom errors of the contract called, so a revert is reported by name and meaning. */
    private readonly errors?: { abi: Abi; meanings?: Record<string, string> },
  ) {
    this.account = privateKeyToAccount(bytesToHex(privateKey))
  }

  private rejected(e: JsonRpcError): TransactionRejected {
    const decoded = this.errors ? describeRevert(e.data, this.errors.abi, this.errors.meanings) : undefined
    return new TransactionRejected(decoded ?? e.rpcMessage, { cause: e })
  }

  get address(): Address {
    return this.account.address
  }

  /** Signs and submits (no `to`: a contract creation); returns the hash without waiting. */
  async submit(tx: { to?: Address; data: Hex; value?: bigint; nonce?: bigint }): Promise<Hex> {
    this.chainId ??= Number(await this.rpc.chainId())
    let gas: bigint
    try {
      gas = await this.rpc.estimateGas({ from: this.address, to: tx.to, data: tx.data, value: tx.value })
    } catch (e) {
      if (e instanceof JsonRpcError) throw this.rejected(e)
      throw e
    }
    const [head, tip, nonce] = await Promise.all([this.rpc.requireBlock('latest'), this.rpc.maxPriorityFeePerGas(), tx.nonce ?? this.rpc.nonce(this.address, 'pending')])
    const base = head.baseFeePerGas ?? 0n
    const raw = await this.account.signTransaction({
      type: 'eip1559',
      chainId: this.chainId,
      nonce: Number(nonce),
      to: tx.to,
      data: tx.data,
      value: tx.value ?? 0n,
      // Headroom: the estimate runs on the head; the transaction lands on a later state.
      gas: gas + gas / 5n + 10_000n,
      maxPriorityFeePerGas: tip,
      maxFeePerGas: 2n * base + tip,
    })
    try {
      return await this.rpc.sendRawTransaction(raw)
    } catch (e) {
      if (e instanceof JsonRpcError) throw this.rejected(e)
      throw e
    }
  }

  /** Submits and waits for the receipt; a reverted receipt is an error. */
  async send(tx: { to?: Address; data: Hex; value?: bigint }): Promise<RpcReceipt> {
    const hash = await this.submit(tx)
    const r = await this.rpc.waitForReceipt(hash)
    if (r.status !== 'success') throw new TransactionRejected(`transaction ${hash} reverted in block ${r.blockNumber}`)
    return r
  }
}
