import type { Address, Hex } from 'viem'
import type { EthereumRpc } from './EthereumRpc.js'
import { SWAP_BRIDGE_ABI } from './SwapBridgeAbi.js'

export interface BridgeStatus {
  bridge: Address
  block: bigint
  merkleRoot: Hex
  snapshotTotal: bigint
  claimedTotal: bigint
  lockReserve: bigint
  releasedTotal: bigint
  balance: bigint
  deadline: bigint
  open: boolean
  finalized: boolean
  burned: bigint
  threshold: bigint
  attesters: readonly Address[]
  totalSupply: bigint
}

/** povchain's `pov_totalSupply`: the sum of every balance in the state at `block`. */
export async function readTotalSupply(rpc: EthereumRpc, block: bigint | 'latest' = 'latest'): Promise<bigint> {
  const tag = typeof block === 'bigint' ? `0x${block.toString(16)}` : block
  const r = await rpc.client.request<{ totalSupply: Hex }>('pov_totalSupply', [tag])
  return BigInt(r.totalSupply)
}

export async function readBridgeStatus(rpc: EthereumRpc, bridge: Address): Promise<BridgeStatus> {
  const block = await rpc.blockNumber()
  const read = <T>(fn: string) => rpc.read<T>(bridge, SWAP_BRIDGE_ABI, fn, [], block)
  const [merkleRoot, snapshotTotal, claimedTotal, lockReserve, releasedTotal, deadline, finalized, burned, threshold, attesters, balance, totalSupply] = await Promise.all([
    read<Hex>('merkleRoot'),
    read<bigint>('snapshotTotal'),
    read<bigint>('claimedTotal'),
    read<bigint>('lockReserve'),
    read<bigint>('releasedTotal'),
    read<bigint>('deadline'),
    read<boolean>('finalized'),
    read<bigint>('burned'),
    read<bigint>('threshold'),
    read<readonly Address[]>('attesters'),
    rpc.getBalance(bridge, block),
    readTotalSupply(rpc, block),
  ])
  return { bridge, block, merkleRoot, snapshotTotal, claimedTotal, lockReserve, releasedTotal, balance, deadline, open: !finalized && block < deadline, finalized, burned, threshold, attesters, totalSupply }
}
