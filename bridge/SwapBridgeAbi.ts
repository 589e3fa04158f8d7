import { parseAbi, parseAbiItem } from 'viem'

/** The SwapBridge system contract's interface (genesis/contracts/SwapBridge.sol). */
export const SWAP_BRIDGE_ABI = parseAbi([
  'function merkleRoot() view returns (bytes32)',
  'function snapshotTotal() view returns (uint256)',
  'function lockReserve() view returns (uint256)',
  'function deadline() view returns (uint256)',
  'function threshold() view returns (uint256)',
  'function sourceChainId() view returns (uint256)',
  'function lockContract() view returns (address)',
  'function attesters() view returns (address[])',
  'function isAttester(address) view returns (bool)',
  'function claimed(address) view returns (bool)',
  'function claimedTotal() view returns (uint256)',
  'function released(uint256) view returns (bool)',
  'function releasedTotal() view returns (uint256)',
  'function attested(bytes32, address) view returns (bool)',
  'function attestations(bytes32) view returns (uint256)',
  'function finalized() view returns (bool)',
  'function burned() view returns (uint256)',
  'function claimDigest(address holder, address recipient, uint256 amount) view returns (bytes32)',
  'function releaseDigest(uint256 nonce, address recipient, uint256 amount) view returns (bytes32)',
  'function claim(address holder, address recipient, uint256 amount, bytes32[] proof, bytes signature)',
  'function attest(uint256 nonce, address recipient, uint256 amount, bytes[] signatures)',
  'function finalize()',
  'event Claimed(address indexed holder, address indexed recipient, uint256 amount)',
  'event Attested(uint256 indexed nonce, bytes32 indexed digest, address indexed attester, uint256 count)',
  'event Released(uint256 indexed nonce, address indexed recipient, uint256 amount)',
  'event Finalized(uint256 burned, uint256 unclaimed, uint256 unreleased)',
])

/** The source-chain lock contract (bridge/contracts/SwapLock.sol). */
export const SWAP_LOCK_ABI = parseAbi([
  'constructor(address token, uint256 lockDeadline, uint256 settleAfter, uint256 cap, address operator)',
  'function token() view returns (address)',
  'function lockDeadline() view returns (uint256)',
  'function settleAfter() view returns (uint256)',
  'function cap() view returns (uint256)',
  'function operator() view returns (address)',
  'function nextNonce() view returns (uint256)',
  'function totalLocked() view returns (uint256)',
  'function totalDelivered() view returns (uint256)',
  'function totalRefunded() view returns (uint256)',
  'function settled() view returns (bool)',
  'function locks(uint256 nonce) view returns (address from, uint8 status, uint256 amount)',
  'function lock(address recipient, uint256 amount) returns (uint256)',
  'function markDelivered(uint256[] nonces)',
  'function settle()',
  'function refund(uint256 nonce)',
  'event Locked(uint256 indexed nonce, address indexed from, address indexed recipient, uint256 amount)',
  'event Delivered(uint256 indexed nonce, uint256 amount)',
  'event Settled(uint256 totalLocked, uint256 totalDelivered)',
  'event Refunded(uint256 indexed nonce, address indexed to, uint256 amount)',
  'error ZeroRecipient()',
  'error ZeroAmount()',
  'error TransferFailed()',
  'error NothingReceived()',
  'error LockClosed(uint256 lockDeadline, uint256 time)',
  'error CapExceeded(uint256 cap, uint256 totalAfter)',
  'error NotOperator()',
  'error SettleTooEarly(uint256 settleAfter, uint256 time)',
  'error AlreadySettled()',
  'error NotSettled()',
  'error NotPending(uint256 nonce, uint8 status)',
  'error BadSchedule()',
])

/** SwapLock's `Status` enum, by its uint8 value. */
export const LOCK_STATUS = ['none', 'pending', 'delivered', 'refunded'] as const
export type LockStatus = (typeof LOCK_STATUS)[number]

export const LOCKED_EVENT = parseAbiItem('event Locked(uint256 indexed nonce, address indexed from, address indexed recipient, uint256 amount)')

export const ERC20_ABI = parseAbi([
  'function balanceOf(address) view returns (uint256)',
  'function totalSupply() view returns (uint256)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
])
export const TRANSFER_EVENT = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)')
