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

/// @title ToleranceMetric
/// @notice Reads a tolerance job's metric out of a replica's metrics, so that what a replica
///         reveals is what it committed (genesis/contracts/WorkMarket.md, "Verification modes").
///         The metrics are compute's canonical JSON (keys sorted, no whitespace, numbers in
///         ECMAScript's shortest form) whose keccak is the commitment's `metricsHash`; the metric
///         is the number under the top-level key `key` (the spec's metric name, ASCII letters
///         and digits, right-padded with zero bytes), in nano-units: the decimal value × 10⁹,
///         truncated toward zero — exact, so the worker (market/worker/ToleranceMetric.ts) gets
///         the same integer from the same text.
library ToleranceMetric {
    error MetricNotFound(bytes32 key);
    error MetricNotNumeric(bytes32 key);

    /// @return nano the metric under `key` in nano-units
    function read(bytes memory json, bytes32 key) internal pure returns (int256 nano) {
        uint256 at = _valueAt(json, key);
        return _nano(json, at, key);
    }

    /// Index of the value after `"key":` at depth 1 (canonical JSON has no duplicate keys).
    function _valueAt(bytes memory json, bytes32 key) private pure returns (uint256) {
        uint256 klen;
        while (klen < 32 && key[klen] != 0) klen++;
        require(klen > 0, MetricNotFound(key));
        uint256 n = json.length;
        uint256 depth;
        bool inString;
        for (uint256 i = 0; i < n; i++) {
            bytes1 c = json[i];
            if (inString) {
                if (c == "\\") i++;
                else if (c == '"') inString = false;
                continue;
            }
            if (c == "{" || c == "[") depth++;
            else if (c == "}" || c == "]") depth--;
            else if (c == '"') {
                // A key at depth 1 opens right after '{' or ',' (a string value follows ':').
                if (depth == 1 && i > 0 && (json[i - 1] == "{" || json[i - 1] == ",") && i + klen + 2 < n && json[i + klen + 1] == '"' && json[i + klen + 2] == ":") {
                    bool same = true;
                    for (uint256 k = 0; k < klen && same; k++) same = json[i + 1 + k] == key[k];
                    if (same) return i + klen + 3;
                }
                inString = true;
            }
        }
        revert MetricNotFound(key);
    }

    /// A JSON number at `at` → value × 10⁹, truncated toward zero.
    function _nano(bytes memory json, uint256 at, bytes32 key) private pure returns (int256) {
        uint256 n = json.length;
        uint256 i = at;
        bool neg;
        if (i < n && json[i] == "-") {
            neg = true;
            i++;
        }
        uint256 mantissa;
        uint256 digits;
        int256 exp10 = 9;
        bool dot;
        for (; i < n; i++) {
            bytes1 c = json[i];
            if (c == "." && !dot) {
                dot = true;
                continue;
            }
            if (c < "0" || c > "9") break;
            require(++digits <= 40, MetricNotNumeric(key));
            mantissa = mantissa * 10 + uint8(c) - 48;
            if (dot) exp10--;
        }
        require(digits > 0, MetricNotNumeric(key));
        if (i < n && (json[i] == "e" || json[i] == "E")) {
            i++;
            bool eneg;
            if (i < n && (json[i] == "+" || json[i] == "-")) eneg = json[i++] == "-";
            uint256 e;
            uint256 edigits;
            for (; i < n && json[i] >= "0" && json[i] <= "9"; i++) {
                require(++edigits <= 4, MetricNotNumeric(key));
                e = e * 10 + uint8(json[i]) - 48;
            }
            require(edigits > 0, MetricNotNumeric(key));
            exp10 += eneg ? -int256(e) : int256(e);
        }
        // The value must end here (`,` or `}`): `"key":"1"` or `"key":[…]` is not a number.
        require(i < n && (json[i] == "," || json[i] == "}"), MetricNotNumeric(key));
        uint256 v;
        if (exp10 >= 0) {
            require(exp10 <= 30, MetricNotNumeric(key));
            v = mantissa * 10 ** uint256(exp10);
        } else if (exp10 >= -77) {
            v = mantissa / 10 ** uint256(-exp10);
        }
        return neg ? -int256(v) : int256(v);
    }
}
