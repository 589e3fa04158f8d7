import { encodeDeployData, getAddress, type Address, type Hex } from 'viem'
import { BridgeError } from './BridgeError.js'
import type { EthereumRpc } from './EthereumRpc.js'
import { SWAP_LOCK_ERROR_MEANINGS } from './RevertReason.js'
import { SWAP_LOCK_ABI } from './SwapBridgeAbi.js'
import { TransactionSender } from './TransactionSender.js'

/** SwapLock's constructor arguments (bridge/contracts/SwapLock.sol). */
export interface SwapLockParams {
  token: Address
  /** Last source-chain timestamp (unix seconds) at which `lock` is accepted. */
  lockDeadline: bigint
  /** The operator may settle (open refunds) only after this source-chain timestamp. */
  settleAfter: bigint
  /** Most that may ever be locked, in token base units: the povchain lock reserve. */
  cap: bigint
  operator: Address
}

export interface SwapLockDeployment {
  address: Address
  transactionHash: Hex
  blockNumber: bigint
  chainId: bigint
  params: SwapLockParams
}

/**
 * Deploys SwapLock from the shipped artifact (its creation code) to a source chain over
 * JSON-RPC, after checking what the constructor would refuse, and reads the deployed
 * schedule back.
 */
export async function deploySwapLock(d: { rpc: EthereumRpc; key: Uint8Array; bytecode: Hex }, p: SwapLockParams): Promise<SwapLockDeployment> {
  const [head, code, chainId] = await Promise.all([d.rpc.requireBlock('latest'), d.rpc.getCode(p.token), d.rpc.chainId()])
  if (code === '0x') throw new BridgeError('BAD_PARAMS', `no contract at --token ${p.token} on source chain ${chainId}`)
  if (p.lockDeadline <= head.timestamp)
    throw new BridgeError('BAD_PARAMS', `the lock deadline ${p.lockDeadline} is not in the future (source head time ${head.timestamp})`)
  if (p.settleAfter < p.lockDeadline) throw new BridgeError('BAD_PARAMS', 'settle-after must not be before the lock deadline')
  if (p.cap <= 0n) throw new BridgeError('BAD_PARAMS', 'the cap must be positive: it is the povchain lock reserve')
  const sender = new TransactionSender(d.rpc, d.key, { abi: SWAP_LOCK_ABI, meanings: SWAP_LOCK_ERROR_MEANINGS })
  const data = encodeDeployData({ abi: SWAP_LOCK_ABI, bytecode: d.bytecode, args: [getAddress(p.token), p.lockDeadline, p.settleAfter, p.cap, getAddress(p.operator)] })
  const r = await sender.send({ data })
  if (!r.contractAddress) throw new BridgeError('DEPLOY_FAILED', `transaction ${r.transactionHash} created no contract`)
  const address = getAddress(r.contractAddress)
  const deployed = await d.rpc.read<bigint>(address, SWAP_LOCK_ABI, 'lockDeadline', [], r.blockNumber)
  if (deployed !== p.lockDeadline) throw new BridgeError('DEPLOY_FAILED', `SwapLock at ${address} reports lock deadline ${deployed}, expected ${p.lockDeadline}`)
  return { address, transactionHash: r.transactionHash, blockNumber: r.blockNumber, chainId, params: p }
}

/**
 * Reads a deployed SwapLock and checks it against the swap's genesis: same source chain and
 * token as the snapshot, and a cap no larger than the lock reserve (a lock beyond the reserve
 * could never be released, only refunded after settlement).
 */
export async function checkSwapLockForGenesis(
  rpc: EthereumRpc,
  lock: Address,
  expect: { sourceChainId: bigint; token: Address; lockReserve: bigint },
): Promise<SwapLockParams> {
  const read = <T>(fn: string) => rpc.read<T>(lock, SWAP_LOCK_ABI, fn)
  const [chainId, token, lockDeadline, settleAfter, cap, operator] = await Promise.all([
    rpc.chainId(),
    read<Address>('token'),
    read<bigint>('lockDeadline'),
    read<bigint>('settleAfter'),
    read<bigint>('cap'),
    read<Address>('operator'),
  ])
  if (chainId !== expect.sourceChainId) throw new BridgeError('WRONG_SOURCE', `the snapshot is of chain ${expect.sourceChainId}, --source-rpc is chain ${chainId}`)
  if (getAddress(token) !== getAddress(expect.token)) throw new BridgeError('WRONG_TOKEN', `SwapLock ${lock} locks ${token}, the snapshot is of ${expect.token}`)
  if (cap > expect.lockReserve)
    throw new BridgeError('CAP_ABOVE_RESERVE', `SwapLock ${lock} takes up to ${cap} but --lock-reserve is ${expect.lockReserve}: locks beyond the reserve could never be released; use --lock-reserve ${cap}`)
  return { token: getAddress(token), lockDeadline, settleAfter, cap, operator: getAddress(operator) }
}
