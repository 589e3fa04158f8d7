// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// One weight credit: an amount recorded at a block. Packed in one storage slot.
struct Credit {
    uint64 blockNumber;
    uint192 amount;
}

/// @title CreditQueue
/// @notice Time-ordered credit lists with a sliding window of `window` blocks: a credit counts
///         while its age (now − blockNumber) is below the window. Lists are bounded: expired
///         credits are dropped when one is added, and a full list merges the new credit into
///         its newest entry (see `add`), so gas per list is bounded by `maxEntries`.
library CreditQueue {
    /// Σ amount × (window − age) / window over live credits: linear decay to zero at the window.
    function decayed(Credit[] storage q, uint256 nowBlock, uint256 window) internal view returns (uint256 sum) {
        uint256 n = q.length;
        for (uint256 i = 0; i < n; i++) {
            Credit memory c = q[i];
            uint256 age = nowBlock - c.blockNumber;
            if (age < window) sum += (uint256(c.amount) * (window - age)) / window;
        }
    }

    /// Σ amount over live credits (no decay): what a pair has been credited in the last window.
    function active(Credit[] storage q, uint256 nowBlock, uint256 window) internal view returns (uint256 sum) {
        uint256 n = q.length;
        for (uint256 i = 0; i < n; i++) {
            Credit memory c = q[i];
            if (nowBlock - c.blockNumber < window) sum += c.amount;
        }
    }

    /// Drops expired credits, keeping the order.
    function prune(Credit[] storage q, uint256 nowBlock, uint256 window) internal {
        uint256 n = q.length;
        uint256 kept = 0;
        for (uint256 i = 0; i < n; i++) {
            Credit memory c = q[i];
            if (nowBlock - c.blockNumber < window) {
                if (kept != i) q[kept] = c;
                kept++;
            }
        }
        while (q.length > kept) q.pop();
    }

    /// Appends `amount` at `nowBlock` after pruning. When the list is full the credit merges into
    /// the newest entry: `averageBlock` places the merged entry at the amount-weighted mean block,
    /// which keeps the decayed sum exact while both parts live and below the truth afterwards
    /// (weights are never overstated); otherwise the merged entry takes `nowBlock`, which keeps
    /// the undecayed window sum at or above the truth (caps are never exceeded).
    function add(Credit[] storage q, uint256 nowBlock, uint256 window, uint256 amount, uint256 maxEntries, bool averageBlock) internal {
        prune(q, nowBlock, window);
        uint256 n = q.length;
        if (n < maxEntries) {
            q.push(Credit(uint64(nowBlock), uint192(amount)));
            return;
        }
        Credit storage last = q[n - 1];
        uint256 total = uint256(last.amount) + amount;
        uint256 at = averageBlock ? (uint256(last.amount) * last.blockNumber + amount * nowBlock) / total : nowBlock;
        last.blockNumber = uint64(at);
        last.amount = uint192(total);
    }
}
