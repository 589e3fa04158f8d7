// SPDX-License-Identifier: MIT
// Deployed on the source chain by the operator, so any 0.8 compiler from 0.8.20 may build it
// (the shipped artifact is built with the project's pinned solc, see bridge/README.md).
pragma solidity ^0.8.20;

interface ISwapLockToken {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function transfer(address to, uint256 amount) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
}

/// Source-chain side of the swap: tokens locked here are paid out as native coins on povchain
/// to `recipient` once an M-of-N quorum of attesters relays the `Locked` event. Each lock gets
/// the next nonce; the povchain SwapBridge pays every nonce at most once.
///
/// Life of a lock (bridge/README.md, "Lock deadline and refunds"):
///   1. `lock` is accepted while block.timestamp <= lockDeadline and totalLocked stays <= cap
///      (cap = the povchain lockReserve); otherwise it reverts and nothing moves.
///   2. The operator marks the locks SwapBridge released as Delivered (`markDelivered`).
///   3. Once block.timestamp > settleAfter the operator may `settle`: the delivered set is then
///      final and every lock still Pending becomes refundable to its locker (`refund`, once).
/// A lock is therefore never both paid on povchain and refunded here as long as the operator
/// settles only after SwapBridge stopped paying (its deadline passed: `bridge settle` checks
/// that SwapBridge is finalized) and has marked every released nonce first.
contract SwapLock {
    enum Status {
        None,
        Pending,
        Delivered,
        Refunded
    }

    struct Lock {
        address from;
        Status status;
        uint256 amount;
    }

    ISwapLockToken public immutable token;
    /// Last source-chain timestamp (seconds) at which `lock` is accepted.
    uint256 public immutable lockDeadline;
    /// `settle` (and so any refund) only when block.timestamp > settleAfter (>= lockDeadline).
    uint256 public immutable settleAfter;
    /// totalLocked never exceeds this: the povchain SwapBridge's lockReserve (base units).
    uint256 public immutable cap;
    /// Marks deliveries and settles (an attester multisig, or the bridge operator).
    address public immutable operator;

    uint256 public nextNonce;
    /// Everything ever received by `lock` (refunds do not lower it).
    uint256 public totalLocked;
    uint256 public totalDelivered;
    uint256 public totalRefunded;
    bool public settled;
    mapping(uint256 => Lock) public locks;

    event Locked(uint256 indexed nonce, address indexed from, address indexed recipient, uint256 amount);
    event Delivered(uint256 indexed nonce, uint256 amount);
    event Settled(uint256 totalLocked, uint256 totalDelivered);
    event Refunded(uint256 indexed nonce, address indexed to, uint256 amount);

    error ZeroRecipient();
    error ZeroAmount();
    error TransferFailed();
    error NothingReceived();
    /// `lock` after the lock deadline: the relay could no longer deliver it in time.
    error LockClosed(uint256 lockDeadline, uint256 time);
    /// `lock` that would take totalLocked beyond the povchain lock reserve.
    error CapExceeded(uint256 cap, uint256 totalAfter);
    error NotOperator();
    error SettleTooEarly(uint256 settleAfter, uint256 time);
    error AlreadySettled();
    error NotSettled();
    /// The nonce is not a pending lock (unknown, or already delivered or refunded).
    error NotPending(uint256 nonce, Status status);
    error BadSchedule();

    constructor(address token_, uint256 lockDeadline_, uint256 settleAfter_, uint256 cap_, address operator_) {
        if (token_.code.length == 0 || operator_ == address(0) || cap_ == 0) revert BadSchedule();
        if (lockDeadline_ <= block.timestamp || settleAfter_ < lockDeadline_) revert BadSchedule();
        token = ISwapLockToken(token_);
        lockDeadline = lockDeadline_;
        settleAfter = settleAfter_;
        cap = cap_;
        operator = operator_;
    }

    function lock(address recipient, uint256 amount) external returns (uint256 nonce) {
        if (block.timestamp > lockDeadline) revert LockClosed(lockDeadline, block.timestamp);
        if (recipient == address(0)) revert ZeroRecipient();
        if (amount == 0) revert ZeroAmount();
        // Count what arrived, not what was asked, in case the token takes a fee.
        uint256 before = token.balanceOf(address(this));
        _call(abi.encodeCall(ISwapLockToken.transferFrom, (msg.sender, address(this), amount)));
        uint256 received = token.balanceOf(address(this)) - before;
        if (received == 0) revert NothingReceived();
        uint256 total = totalLocked + received;
        if (total > cap) revert CapExceeded(cap, total);
        totalLocked = total;
        nonce = nextNonce++;
        locks[nonce] = Lock(msg.sender, Status.Pending, received);
        emit Locked(nonce, msg.sender, recipient, received);
    }

    /// Records locks SwapBridge released, so they can never be refunded. Nonces already marked
    /// are skipped (batches may overlap); anything else that is not pending reverts.
    function markDelivered(uint256[] calldata nonces) external {
        if (msg.sender != operator) revert NotOperator();
        if (settled) revert AlreadySettled();
        for (uint256 i = 0; i < nonces.length; i++) {
            Lock storage l = locks[nonces[i]];
            if (l.status == Status.Delivered) continue;
            if (l.status != Status.Pending) revert NotPending(nonces[i], l.status);
            l.status = Status.Delivered;
            totalDelivered += l.amount;
            emit Delivered(nonces[i], l.amount);
        }
    }

    /// Closes the delivered set: every lock still pending becomes refundable.
    function settle() external {
        if (msg.sender != operator) revert NotOperator();
        if (block.timestamp <= settleAfter) revert SettleTooEarly(settleAfter, block.timestamp);
        if (settled) revert AlreadySettled();
        settled = true;
        emit Settled(totalLocked, totalDelivered);
    }

    /// Returns a lock the relay never delivered to its locker. Anyone may call; the tokens go
    /// to the address that locked them.
    function refund(uint256 nonce) external {
        if (!settled) revert NotSettled();
        Lock storage l = locks[nonce];
        if (l.status != Status.Pending) revert NotPending(nonce, l.status);
        l.status = Status.Refunded;
        totalRefunded += l.amount;
        emit Refunded(nonce, l.from, l.amount);
        _call(abi.encodeCall(ISwapLockToken.transfer, (l.from, l.amount)));
    }

    /// A token call that must succeed; tokens that return nothing (USDT-style) are accepted.
    function _call(bytes memory data) private {
        (bool ok, bytes memory ret) = address(token).call(data);
        if (!ok || (ret.length != 0 && (ret.length < 32 || abi.decode(ret, (uint256)) != 1))) revert TransferFailed();
    }
}
