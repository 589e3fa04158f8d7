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
  'function token() view returns (address)',
  'function nextNonce() view returns (uint256)',
  'function totalLocked() view returns (uint256)',
  'function lock(address recipient, uint256 amount) returns (uint256)',
  'event Locked(uint256 indexed nonce, address indexed from, address indexed recipient, uint256 amount)',
])
export const LOCKED_EVENT = parseAbiItem('event Locked(uint256 indexed nonce, address indexed from, address indexed recipient, uint256 amount)')

export const ERC20_ABI = parseAbi([
  'function balanceOf(address) view returns (uint256)',
  'function totalSupply() view returns (uint256)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
])
export const TRANSFER_EVENT = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)')
