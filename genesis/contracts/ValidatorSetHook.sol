// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// What WorkMarket calls on the ValidatorSet system contract when a session is accepted
/// (Proof of Value step 5: an accepted receipt becomes producer weight) or rejected (a worker
/// caught producing a wrong result forfeits the weight it holds).
interface IValidatorSetReceipts {
    /// @param mode how the work was verified (WorkMarket.VerificationMode: 0 re-execution, 1 redundant, 2 tolerance)
    function onReceipt(address worker, address client, bytes32 jobId, bytes32 sessionId, uint256 value, uint256 protocolFee, uint8 mode) external;

    /// A session of `worker` was rejected by its verifiers (or its replica lost to the majority).
    function onRejected(address worker, bytes32 sessionId) external;
}
