// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Bytes32Set
/// @notice An enumerable set of bytes32 with O(1) add and remove (swap and pop), so the work
///         market can list a node's open duties and the open jobs in one view call.
library Bytes32Set {
    struct Set {
        bytes32[] items;
        /// index + 1 of each member (0 = absent)
        mapping(bytes32 => uint256) position;
    }

    function add(Set storage s, bytes32 value) internal returns (bool) {
        if (s.position[value] != 0) return false;
        s.items.push(value);
        s.position[value] = s.items.length;
        return true;
    }

    function remove(Set storage s, bytes32 value) internal returns (bool) {
        uint256 pos = s.position[value];
        if (pos == 0) return false;
        uint256 last = s.items.length;
        if (pos != last) {
            bytes32 moved = s.items[last - 1];
            s.items[pos - 1] = moved;
            s.position[moved] = pos;
        }
        s.items.pop();
        delete s.position[value];
        return true;
    }

    function contains(Set storage s, bytes32 value) internal view returns (bool) {
        return s.position[value] != 0;
    }

    function length(Set storage s) internal view returns (uint256) {
        return s.items.length;
    }

    function values(Set storage s) internal view returns (bytes32[] memory) {
        return s.items;
    }
}
