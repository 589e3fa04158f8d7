import { getAddress, type HDNodeWallet } from 'ethers'
import { fromQty, type RpcClient } from './RpcClient.js'
import { log, round1 } from './stats.js'
import { currentFees, latestNonces, signBatch } from './txWorkload.js'

export interface GrowthResult {
  /** Blocks sealed by the growth, the head after it, seconds taken and blocks per second. */
  blocks: number
  head: number
  seconds: number
  blocks_per_s: number
}

/** Signed ahead in chunks so that signing stays out of the node's way and off the clock's start. */
const CHUNK = 2_000

/**
 * Grows the dev chain by `blocks` blocks of one native transfer each (to a fresh address, so the
 * state and the transaction index grow with the chain): one sender, one transaction in flight.
 * Automine answers each send once its block is sealed (node/DevMiner), so every send is a block.
 */
export async function growChain(rpc: RpcClient, wallet: HDNodeWallet, blocks: number, tag: number): Promise<GrowthResult> {
  const start = Number(fromQty(await rpc.call('eth_blockNumber'), 'eth_blockNumber'))
  const t0 = performance.now()
  let sent = 0
  let lastLog = t0
  while (sent < blocks) {
    const fees = await currentFees(rpc)
    const nonces = await latestNonces(rpc, [wallet])
    const n = Math.min(CHUNK, blocks - sent)
    const offset = sent
    const txs = signBatch([wallet], nonces, n, fees, (i) => ({ to: growthRecipient(tag, offset + i), value: 1n, data: '0x', gasLimit: 21_000n }))
    for (const tx of txs) {
      await rpc.call('eth_sendRawTransaction', [tx.raw])
      sent++
    }
    const now = performance.now()
    if (now - lastLog > 10_000 || sent === blocks) {
      lastLog = now
      log(`growth: ${sent}/${blocks} transfers, ${round1((sent * 1000) / (now - t0))} blocks/s`)
    }
  }
  const head = Number(fromQty(await rpc.call('eth_blockNumber'), 'eth_blockNumber'))
  const seconds = (performance.now() - t0) / 1000
  return { blocks: head - start, head, seconds: Math.round(seconds * 10) / 10, blocks_per_s: Math.round(((head - start) / seconds) * 10) / 10 }
}

function growthRecipient(tag: number, i: number): string {
  return getAddress(`0x${(0xd0000000 + tag * 0x01000000 + i).toString(16).padStart(40, '0')}`)
}
