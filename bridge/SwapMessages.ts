import { getAddress, hashTypedData, recoverAddress, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { bytesToHex } from '../common/bytes.js'

/**
 * The two messages the SwapBridge contract accepts signatures over, as EIP-712 typed data
 * (so any wallet can sign them with eth_signTypedData_v4 and shows what is signed):
 *
 *   domain  { name: "povchain SwapBridge", version: "1", chainId: <povchain chain id>,
 *             verifyingContract: <SwapBridge address> }
 *   Claim   (address holder, address recipient, uint256 amount)
 *   Release (uint256 sourceChainId, address lockContract, uint256 nonce, address recipient,
 *            uint256 amount)
 *
 * digest = keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(message)). The chain id and the
 * contract address in the domain keep a signature from being replayed on another chain or
 * another bridge; a claim names its holder and a release names the exact lock event.
 */
export const SWAP_DOMAIN_NAME = 'povchain SwapBridge'
export const SWAP_DOMAIN_VERSION = '1'

export interface SwapDomain {
  chainId: bigint
  bridge: Address
}

export const CLAIM_TYPES = {
  Claim: [
    { name: 'holder', type: 'address' },
    { name: 'recipient', type: 'address' },
    { name: 'amount', type: 'uint256' },
  ],
} as const

export const RELEASE_TYPES = {
  Release: [
    { name: 'sourceChainId', type: 'uint256' },
    { name: 'lockContract', type: 'address' },
    { name: 'nonce', type: 'uint256' },
    { name: 'recipient', type: 'address' },
    { name: 'amount', type: 'uint256' },
  ],
} as const

export interface ClaimMessage {
  holder: Address
  recipient: Address
  amount: bigint
}

/** One lock event of the source chain, as attesters sign it. */
export interface ReleaseMessage {
  sourceChainId: bigint
  lockContract: Address
  nonce: bigint
  recipient: Address
  amount: bigint
}

function domain(d: SwapDomain) {
  return { name: SWAP_DOMAIN_NAME, version: SWAP_DOMAIN_VERSION, chainId: d.chainId, verifyingContract: getAddress(d.bridge) } as const
}

/** The full typed-data object for a claim, as wallets take it (eth_signTypedData_v4). */
export function claimTypedData(d: SwapDomain, m: ClaimMessage) {
  return { domain: domain(d), types: CLAIM_TYPES, primaryType: 'Claim' as const, message: { ...m, holder: getAddress(m.holder), recipient: getAddress(m.recipient) } }
}

export function releaseTypedData(d: SwapDomain, m: ReleaseMessage) {
  return {
    domain: domain(d),
    types: RELEASE_TYPES,
    primaryType: 'Release' as const,
    message: { ...m, lockContract: getAddress(m.lockContract), recipient: getAddress(m.recipient) },
  }
}

export function claimDigest(d: SwapDomain, m: ClaimMessage): Hex {
  return hashTypedData(claimTypedData(d, m))
}

export function releaseDigest(d: SwapDomain, m: ReleaseMessage): Hex {
  return hashTypedData(releaseTypedData(d, m))
}

/** A 65-byte r ‖ s ‖ v signature (v = 27/28, low s) of `digest` by `privateKey`. */
export async function signDigest(privateKey: Uint8Array, digest: Hex): Promise<Hex> {
  return privateKeyToAccount(bytesToHex(privateKey)).sign({ hash: digest })
}

export async function recoverSigner(digest: Hex, signature: Hex): Promise<Address> {
  return recoverAddress({ hash: digest, signature })
}

export function addressOfKey(privateKey: Uint8Array): Address {
  return privateKeyToAccount(bytesToHex(privateKey)).address
}
