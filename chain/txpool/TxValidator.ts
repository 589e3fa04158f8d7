import type { Common } from '@ethereumjs/common'
import { getCalldataFloorGas, TransactionType, type TypedTransaction } from '@ethereumjs/tx'
import type { Address } from '@ethereumjs/util'
import { bytesToHex } from '../../common/bytes.js'
import { SUPPORTED_TX_TYPES } from '../Block.js'
import { TxPoolError } from './errors.js'
import type { TxPoolOptions } from './options.js'
import { feeFields, type PoolTx } from './PoolTx.js'
import { formatEther2 } from './pricing.js'

export type TxSource = 'local' | 'remote' | 'reinject'

const MAX_NONCE = 2n ** 64n - 1n

/** Generous bound on a tx's encoded size: data, lists, and the fixed fields at their widest. */
function sizeUpperBound(tx: TypedTransaction): number {
  let n = tx.data.length + 512
  const t = tx as { accessList?: [Uint8Array, Uint8Array[]][]; authorizationList?: unknown[] }
  if (t.accessList) for (const [, keys] of t.accessList) n += 32 + 34 * keys.length
  if (t.authorizationList) n += 200 * t.authorizationList.length
  return n
}

function hasLists(tx: TypedTransaction): boolean {
  const t = tx as { accessList?: unknown[]; authorizationList?: unknown[] }
  return (t.accessList?.length ?? 0) > 0 || (t.authorizationList?.length ?? 0) > 0
}

/**
 * The checks that need no account state, in the order Geth's ValidateTransaction runs
 * them. Recovers the sender exactly once; ethereumjs caches it on the (frozen) tx object.
 */
export class TxValidator {
  private readonly chainId: bigint

  constructor(
    private readonly options: TxPoolOptions,
    common: Common,
  ) {
    this.chainId = common.chainId()
  }

  /**
   * @param blockGasLimit the current head's gas limit, if a head is known
   * @param source 'local' (RPC: the tx fee cap applies, as in Geth's API layer), 'remote'
   *   (gossip), or 'reinject' (from a block a reorg removed: no price policy, it was valid once)
   */
  validate(tx: TypedTransaction, blockGasLimit: bigint | undefined, source: TxSource): PoolTx {
    if (!SUPPORTED_TX_TYPES.has(tx.type))
      throw new TxPoolError('TYPE_NOT_SUPPORTED', `tx type ${tx.type} not supported by this pool`)
    if (!tx.isSigned()) throw new TxPoolError('INVALID_SENDER')
    // Encoding costs ~30 µs; only do it when the tx could be near the limit.
    if (sizeUpperBound(tx) > this.options.maxTxBytes) {
      const size = tx.serialize().length
      if (size > this.options.maxTxBytes)
        throw new TxPoolError('OVERSIZED_DATA', `transaction size ${size}, limit ${this.options.maxTxBytes}`)
    }
    if (tx.to === undefined && tx.common.isActivatedEIP(3860)) {
      const limit = Number(tx.common.param('maxInitCodeSize'))
      if (tx.data.length > limit)
        throw new TxPoolError('MAX_INITCODE_SIZE', `code size ${tx.data.length}, limit ${limit}`)
    }
    if (blockGasLimit !== undefined && tx.gasLimit > blockGasLimit) throw new TxPoolError('GAS_LIMIT')
    const { feeCap, tip } = feeFields(tx)
    if (feeCap < tip) throw new TxPoolError('TIP_ABOVE_FEE_CAP')
    this.checkChainId(tx)
    // Once: ethereumjs caches the recovered public key, but hashes it to an address on every call.
    let senderAddress: Address
    try {
      senderAddress = tx.getSenderAddress()
    } catch (e) {
      throw new TxPoolError('INVALID_SENDER', undefined, { cause: e })
    }
    const sender = senderAddress.bytes
    if (tx.nonce >= MAX_NONCE) throw new TxPoolError('NONCE_MAX')
    // A plain value transfer is the common case; skip ethereumjs' param lookups for it.
    const plain = tx.data.length === 0 && tx.to !== undefined && !hasLists(tx)
    const intrinsic = plain ? tx.common.param('txGas') : tx.getIntrinsicGas()
    if (tx.gasLimit < intrinsic)
      throw new TxPoolError('INTRINSIC_GAS', `gas ${tx.gasLimit}, minimum needed ${intrinsic}`)
    // getIntrinsicGas() leaves out the EIP-7623 calldata floor (Prague); Geth checks it
    // separately. Without calldata the floor is the base cost, already covered above.
    if (!plain) {
      const floor = getCalldataFloorGas(tx, senderAddress)
      if (tx.gasLimit < floor) throw new TxPoolError('FLOOR_DATA_GAS', `gas ${tx.gasLimit}, minimum needed ${floor}`)
    }
    if (source !== 'reinject' && tip < this.options.minTip)
      throw new TxPoolError('UNDERPRICED', `gas tip cap ${tip}, minimum needed ${this.options.minTip}`)
    if (tx.type === TransactionType.EOACodeEIP7702 && (tx as { authorizationList: unknown[] }).authorizationList.length === 0)
      throw new TxPoolError('SET_CODE_NO_AUTH')
    const cap = this.options.txFeeCap
    if (source === 'local' && cap > 0n) {
      const fee = feeCap * tx.gasLimit
      if (fee > cap)
        throw new TxPoolError(
          'FEE_CAP_EXCEEDED',
          `tx fee (${formatEther2(fee)} ether) exceeds the configured cap (${formatEther2(cap)} ether)`,
        )
    }
    const hash = tx.hash()
    return {
      tx,
      hash,
      hashHex: bytesToHex(hash),
      sender,
      senderKey: bytesToHex(sender),
      nonce: tx.nonce,
      gasLimit: tx.gasLimit,
      feeCap,
      tip,
      cost: tx.gasLimit * feeCap + tx.value,
      seq: 0,
      pending: false,
      queuedSince: 0,
    }
  }

  private checkChainId(tx: TypedTransaction): void {
    let chainId: bigint | undefined
    if (tx.type !== TransactionType.Legacy) chainId = (tx as unknown as { chainId: bigint }).chainId
    else if (tx.v !== undefined && tx.v >= 35n) chainId = (tx.v - 35n) / 2n
    // Pre-EIP-155 legacy txs (v = 27/28) carry no chain id; Geth's pool accepts them.
    if (chainId !== undefined && chainId !== this.chainId)
      throw new TxPoolError('INVALID_CHAIN_ID')
  }
}
