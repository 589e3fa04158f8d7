/**
 * The token standards every wallet knows (ERC-20, ERC-721) and OpenZeppelin 5's standard errors
 * (ERC-6093): the ABIs the explorer applies to a contract the node has no ABI for, so a token
 * deployed with Hardhat or Foundry shows `transfer(to, value)` and `Transfer(from, to, value)`
 * instead of hex. Plain JSON ABI: viem's parseAbi would add its parser to the bundle.
 */
import type { Abi } from 'viem'

const address = (name: string, indexed?: boolean) => ({ name, type: 'address', ...(indexed === undefined ? {} : { indexed }) })
const uint = (name: string, indexed?: boolean) => ({ name, type: 'uint256', ...(indexed === undefined ? {} : { indexed }) })
const fn = (name: string, inputs: object[]) => ({ type: 'function', name, inputs, outputs: [], stateMutability: 'nonpayable' })
const err = (name: string, inputs: object[]) => ({ type: 'error', name, inputs })

export interface StandardAbi {
  name: string
  abi: Abi
}

/** Tried in this order; an ERC-721 Transfer differs from an ERC-20 one by its indexed third argument. */
export const STANDARD_ABIS: StandardAbi[] = [
  {
    name: 'ERC-20',
    abi: [
      fn('transfer', [address('to'), uint('value')]),
      fn('approve', [address('spender'), uint('value')]),
      fn('transferFrom', [address('from'), address('to'), uint('value')]),
      { type: 'event', name: 'Transfer', inputs: [address('from', true), address('to', true), uint('value', false)] },
      { type: 'event', name: 'Approval', inputs: [address('owner', true), address('spender', true), uint('value', false)] },
      err('ERC20InsufficientBalance', [address('sender'), uint('balance'), uint('needed')]),
      err('ERC20InvalidSender', [address('sender')]),
      err('ERC20InvalidReceiver', [address('receiver')]),
      err('ERC20InsufficientAllowance', [address('spender'), uint('allowance'), uint('needed')]),
      err('ERC20InvalidApprover', [address('approver')]),
      err('ERC20InvalidSpender', [address('spender')]),
    ] as Abi,
  },
  {
    name: 'ERC-721',
    abi: [
      fn('safeTransferFrom', [address('from'), address('to'), uint('tokenId')]),
      fn('setApprovalForAll', [address('operator'), { name: 'approved', type: 'bool' }]),
      { type: 'event', name: 'Transfer', inputs: [address('from', true), address('to', true), uint('tokenId', true)] },
      { type: 'event', name: 'Approval', inputs: [address('owner', true), address('approved', true), uint('tokenId', true)] },
      { type: 'event', name: 'ApprovalForAll', inputs: [address('owner', true), address('operator', true), { name: 'approved', type: 'bool', indexed: false }] },
      err('ERC721NonexistentToken', [uint('tokenId')]),
      err('ERC721IncorrectOwner', [address('sender'), uint('tokenId'), address('owner')]),
      err('ERC721InsufficientApproval', [address('operator'), uint('tokenId')]),
    ] as Abi,
  },
]
