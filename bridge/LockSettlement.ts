import { encodeFunctionData, getAddress, type Address, type Hex } from 'viem'
import type { Logger } from '../common/logger.js'
import { BridgeError } from './BridgeError.js'
import type { EthereumRpc } from './EthereumRpc.js'
import { SWAP_LOCK_ERROR_MEANINGS } from './RevertReason.js'
import { LOCK_STATUS, SWAP_BRIDGE_ABI, SWAP_LOCK_ABI } from './SwapBridgeAbi.js'
import { TransactionSender } from './TransactionSender.js'

export interface SettlementReport {
  /** SwapBridge's deadline: the last povchain block that may release; it was final when the set was copied. */
  deadlineBlock: bigint
  finalizedHead: bigint
  locks: number
  markedDelivered: bigint[]
  delivered: { count: number; amount: bigint }
  refundable: { nonces: bigint[]; amount: bigint }
  markTransactions: Hex[]
  settleTransaction: Hex
}

/** Nonces per markDelivered transaction: about 10k gas each (2 took 65k in the test, with the 21k base and the first write of totalDelivered), so ~2M a batch. */
const MARK_BATCH = 200
/** Locks read at once from each chain while settling. */
const READ_CHUNK = 16n

/**
 * The operator's settlement of SwapLock (bridge/README.md, "Lock deadline and refunds"): copies
 * SwapBridge's `released` set into SwapLock as Delivered, then settles, which makes every other
 * lock refundable. It refuses unless povchain block `deadline` is final: SwapBridge accepts
 * releases only in blocks up to `deadline`, so the set read at that block can never grow — the
 * one fact that rules out a lock both paid on povchain and refunded on the source.
 */
export async function settleLocks(
  d: { source: EthereumRpc; povchain: EthereumRpc; operatorKey: Uint8Array; logger: Logger },
  o: { lockContract: Address; bridge: Address },
): Promise<SettlementReport> {
  const lockAddr = getAddress(o.lockContract)
  const readBridge = <T>(fn: string, args: unknown[] = []) => d.povchain.read<T>(o.bridge, SWAP_BRIDGE_ABI, fn, args)
  const readLock = <T>(fn: string, args: unknown[] = []) => d.source.read<T>(lockAddr, SWAP_LOCK_ABI, fn, args)
  const [bridgeLock, bridgeSource, deadline, srcChain] = await Promise.all([readBridge<Address>('lockContract'), readBridge<bigint>('sourceChainId'), readBridge<bigint>('deadline'), d.source.chainId()])
  if (getAddress(bridgeLock) !== lockAddr) throw new BridgeError('WRONG_LOCK', `SwapBridge ${o.bridge} relays lock contract ${bridgeLock}, not ${lockAddr}`)
  if (bridgeSource !== srcChain) throw new BridgeError('WRONG_SOURCE', `SwapBridge expects source chain ${bridgeSource}, the source RPC is chain ${srcChain}`)
  const finalized = await d.povchain.block('finalized')
  if (!finalized || finalized.number < deadline)
    throw new BridgeError(
      'SWAP_OPEN',
      `the povchain swap still accepts releases up to block ${deadline} and the finalized head is ${finalized?.number ?? 'unknown'}: settle once block ${deadline} is final, or a lock could be paid there and refunded here`,
    )
  const sender = new TransactionSender(d.source, d.operatorKey, { abi: SWAP_LOCK_ABI, meanings: SWAP_LOCK_ERROR_MEANINGS })
  const [operator, settled, settleAfter, nextNonce, head] = await Promise.all([
    readLock<Address>('operator'),
    readLock<boolean>('settled'),
    readLock<bigint>('settleAfter'),
    readLock<bigint>('nextNonce'),
    d.source.requireBlock('latest'),
  ])
  if (getAddress(operator) !== sender.address) throw new BridgeError('NOT_OPERATOR', `the SwapLock operator is ${operator}; this key is ${sender.address}`)
  if (settled) throw new BridgeError('ALREADY_SETTLED', `SwapLock ${lockAddr} is already settled`)
  if (head.timestamp < settleAfter)
    throw new BridgeError('SETTLE_TOO_EARLY', `SwapLock settles only after ${new Date(Number(settleAfter) * 1000).toISOString()} (source time ${settleAfter}); the source head is at ${head.timestamp}`)

  const toMark: bigint[] = []
  const refundable: bigint[] = []
  let deliveredCount = 0
  let deliveredAmount = 0n
  let refundableAmount = 0n
  // Both chains are read in parallel chunks: one lock at a time is minutes for ten thousand locks.
  for (let first = 0n; first < nextNonce; first += READ_CHUNK) {
    const nonces = Array.from({ length: Number(nextNonce - first < READ_CHUNK ? nextNonce - first : READ_CHUNK) }, (_, i) => first + BigInt(i))
    const rows = await Promise.all(
      nonces.map(async (n) => {
        const [, status, amount] = await readLock<readonly [Address, number, bigint]>('locks', [n])
        const s = LOCK_STATUS[status]
        // No block after `deadline` can release, so with block `deadline` final the head's set is final.
        const paid = s === 'pending' ? await readBridge<boolean>('released', [n]) : false
        return { n, s, amount, paid }
      }),
    )
    for (const { n, s, amount, paid } of rows) {
      if (s === 'delivered' || paid) {
        if (paid) toMark.push(n)
        deliveredCount++
        deliveredAmount += amount
      } else if (s === 'pending') {
        refundable.push(n)
        refundableAmount += amount
      }
    }
  }
  const markTransactions: Hex[] = []
  for (let i = 0; i < toMark.length; i += MARK_BATCH) {
    const batch = toMark.slice(i, i + MARK_BATCH)
    const r = await sender.send({ to: lockAddr, data: encodeFunctionData({ abi: SWAP_LOCK_ABI, functionName: 'markDelivered', args: [batch] }) })
    markTransactions.push(r.transactionHash)
    d.logger.info({ nonces: batch.length, tx: r.transactionHash }, 'marked delivered')
  }
  const r = await sender.send({ to: lockAddr, data: encodeFunctionData({ abi: SWAP_LOCK_ABI, functionName: 'settle', args: [] }) })
  return {
    deadlineBlock: deadline,
    finalizedHead: finalized.number,
    locks: Number(nextNonce),
    markedDelivered: toMark,
    delivered: { count: deliveredCount, amount: deliveredAmount },
    refundable: { nonces: refundable, amount: refundableAmount },
    markTransactions,
    settleTransaction: r.transactionHash,
  }
}
