// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ReplicaAgreement
/// @notice Which replicas of a redundancy or tolerance job agree (genesis/contracts/WorkMarket.md,
///         "Verification modes"). Pure: WorkMarket gathers the revealed replicas of a job and
///         applies the verdict (pay, slash, escalate, refund).
///          - Redundant: results agree when their session commitments are equal bit for bit
///            (the commitment binds the spec, the step counts, the checkpoint Merkle root, the
///            result hash and the metrics hash). The agreeing set is the largest such group
///            (the earliest revealed wins a tie of sizes).
///          - Tolerance: each replica reveals one metric (the spec's, in nano-units); a replica
///            agrees when it lies within `epsilon` of the median — the lower middle of the
///            sorted values, a value somebody reported, so with two replicas they agree iff they
///            differ by at most epsilon. A minority cannot move the median past the honest
///            values, which is why the median and not the mean is used.
library ReplicaAgreement {
    /// @param tolerance  compare metrics within epsilon (else commitments bit for bit)
    /// @param revealed   which entries were revealed (only those take part)
    /// @return agree     per entry: revealed and in the agreeing set
    /// @return agreeing  size of the agreeing set
    /// @return counted   revealed entries
    function decide(bool tolerance, bytes32[] memory keys, int256[] memory metrics, bool[] memory revealed, uint256 epsilon)
        internal
        pure
        returns (bool[] memory agree, uint256 agreeing, uint256 counted)
    {
        uint256 n = keys.length;
        agree = new bool[](n);
        for (uint256 i = 0; i < n; i++) if (revealed[i]) counted++;
        if (counted == 0) return (agree, 0, 0);
        if (tolerance) {
            int256 median = _lowerMedian(metrics, revealed, counted);
            for (uint256 i = 0; i < n; i++) {
                if (!revealed[i]) continue;
                int256 d = metrics[i] - median;
                if ((d < 0 ? uint256(-d) : uint256(d)) <= epsilon) {
                    agree[i] = true;
                    agreeing++;
                }
            }
            return (agree, agreeing, counted);
        }
        bytes32 best;
        for (uint256 i = 0; i < n; i++) {
            if (!revealed[i]) continue;
            uint256 c;
            for (uint256 j = 0; j < n; j++) if (revealed[j] && keys[j] == keys[i]) c++;
            if (c > agreeing) {
                agreeing = c;
                best = keys[i];
            }
        }
        for (uint256 i = 0; i < n; i++) agree[i] = revealed[i] && keys[i] == best;
    }

    /// The ((counted − 1) / 2)-th smallest revealed metric (insertion sort: at most 9 replicas).
    function _lowerMedian(int256[] memory metrics, bool[] memory revealed, uint256 counted) private pure returns (int256) {
        int256[] memory v = new int256[](counted);
        uint256 m;
        for (uint256 i = 0; i < metrics.length; i++) {
            if (!revealed[i]) continue;
            int256 x = metrics[i];
            uint256 k = m++;
            while (k > 0 && v[k - 1] > x) {
                v[k] = v[k - 1];
                k--;
            }
            v[k] = x;
        }
        return v[(counted - 1) / 2];
    }
}
