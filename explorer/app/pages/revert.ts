import { explorer } from '../context'
import { hexQ, num } from '../format'
import type { RpcReceipt, RpcTx } from './types'

/**
 * Why a failed transaction reverted: receipts carry no reason, so the call is replayed with
 * eth_call on the state before its block (as Etherscan and Otterscan do; exact when it was the
 * block's first transaction touching that state, close otherwise) and the revert data decoded.
 */
export async function decodeRevert(tx: RpcTx, receipt: RpcReceipt): Promise<string> {
  const { rpc, decoder } = explorer()
  const parent = hexQ(num(receipt.blockNumber) - 1n)
  const call = { from: tx.from, to: tx.to ?? undefined, data: tx.input, value: tx.value, gas: tx.gas }
  const [r] = await rpc.batchSettled([{ method: 'eth_call', params: [call, parent] }])
  if (!r!.error) return 'reverted (the replay on the parent state succeeds: it depended on an earlier transaction of its block)'
  const data = typeof r!.error.data === 'string' ? r!.error.data : undefined
  return decoder.error(data) ?? r!.error.message.replace(/^eth_call: /, '')
}
