/**
 * Small EIP-1271 wallets for the bridge tests, compiled with solc when a test needs them: a
 * one-owner wallet that approves what its owner's key signed, and three that answer badly.
 */
import { createRequire } from 'node:module'
import { hexToBytes } from '../../common/bytes.js'

export const WALLETS = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;
/// A one-owner smart wallet: EIP-1271 yes when the owner's key signed the hash.
contract OwnerWallet {
    address public immutable owner;
    constructor(address o) payable { owner = o; }
    function isValidSignature(bytes32 hash, bytes calldata sig) external view returns (bytes4) {
        if (sig.length != 65) return 0xffffffff;
        uint8 v = uint8(sig[64]);
        return ecrecover(hash, v < 27 ? v + 27 : v, bytes32(sig[0:32]), bytes32(sig[32:64])) == owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
    }
    receive() external payable {}
}
/// Says yes, but only after writing state: under STATICCALL the write fails, so it never says yes.
contract StatefulWallet {
    uint256 public calls;
    function isValidSignature(bytes32, bytes calldata) external returns (bytes4) { calls++; return 0x1626ba7e; }
}
/// Answers the magic value in 4 bytes instead of an ABI word.
contract ShortAnswerWallet {
    fallback() external {
        assembly { mstore(0, 0x1626ba7e00000000000000000000000000000000000000000000000000000000) return(0, 4) }
    }
}
/// Reverts on every question.
contract RevertingWallet {
    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4) { revert("no"); }
}
`

export function compileWallets(): Record<string, Uint8Array> {
  const solc = createRequire(import.meta.url)('solc') as { compile(i: string): string }
  const out = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: 'Solidity',
        sources: { 'Wallets.sol': { content: WALLETS } },
        settings: { evmVersion: 'prague', optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['evm.bytecode.object'] } } },
      }),
    ),
  ) as { errors?: { severity: string; formattedMessage: string }[]; contracts: Record<string, Record<string, { evm: { bytecode: { object: string } } }>> }
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'))
  return Object.fromEntries(Object.entries(out.contracts['Wallets.sol']!).map(([n, c]) => [n, hexToBytes(`0x${c.evm.bytecode.object}`)]))
}
