// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

interface ISwapLockToken {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
}

/// Source-chain side of the swap: tokens locked here are paid out as native coins on povchain
/// to `recipient` once an M-of-N quorum of attesters relays the `Locked` event. There is no
/// unlock — the tokens are retired for good. Each lock gets the next nonce; the povchain
/// SwapBridge pays every nonce at most once.
contract SwapLock {
    ISwapLockToken public immutable token;
    uint256 public nextNonce;
    uint256 public totalLocked;

    event Locked(uint256 indexed nonce, address indexed from, address indexed recipient, uint256 amount);

    constructor(address token_) {
        token = ISwapLockToken(token_);
    }

    function lock(address recipient, uint256 amount) external returns (uint256 nonce) {
        require(recipient != address(0), "SwapLock: zero recipient");
        require(amount > 0, "SwapLock: zero amount");
        // Count what arrived, not what was asked, in case the token takes a fee.
        uint256 before = token.balanceOf(address(this));
        require(token.transferFrom(msg.sender, address(this), amount), "SwapLock: transfer failed");
        uint256 received = token.balanceOf(address(this)) - before;
        require(received > 0, "SwapLock: nothing received");
        nonce = nextNonce++;
        totalLocked += received;
        emit Locked(nonce, msg.sender, recipient, received);
    }
}
