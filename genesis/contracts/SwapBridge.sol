// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// Burns the native coins it is created with: SELFDESTRUCT to itself in the transaction that
/// created it deletes the account and its balance (EIP-6780 keeps this case), so the coins
/// leave the state — and the total supply — for good.
contract SwapBurner {
    constructor() payable {
        selfdestruct(payable(address(this)));
    }
}

/// The swap of the pre-launch ERC-20 into native coins (bridge/README.md).
///
/// Genesis runs this constructor at the contract's fixed address with a balance of exactly
/// `snapshotTotal + lockReserve`: `snapshotTotal` pays Merkle claims of the snapshot holders,
/// `lockReserve` pays tokens locked on the source chain after the snapshot and relayed by an
/// M-of-N quorum of attesters. Claims and releases are open up to and including block
/// `deadline`; after it anyone may call `finalize()`, which burns everything left.
///
/// Both signed messages are EIP-712 typed data under the domain
/// {name: "povchain SwapBridge", version: "1", chainId, verifyingContract: this}:
///   Claim(address holder,address recipient,uint256 amount)
///   Release(uint256 sourceChainId,address lockContract,uint256 nonce,address recipient,uint256 amount)
contract SwapBridge {
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 public constant CLAIM_TYPEHASH = keccak256("Claim(address holder,address recipient,uint256 amount)");
    bytes32 public constant RELEASE_TYPEHASH =
        keccak256("Release(uint256 sourceChainId,address lockContract,uint256 nonce,address recipient,uint256 amount)");
    // secp256k1n / 2: signatures with a higher s are the malleable twin of a lower-s one.
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    /// bytes4(keccak256("isValidSignature(bytes32,bytes)")): the selector, and what a wallet returns for yes.
    bytes4 private constant EIP1271_MAGIC = 0x1626ba7e;

    bytes32 public immutable merkleRoot;
    uint256 public immutable snapshotTotal;
    uint256 public immutable lockReserve;
    uint256 public immutable deadline;
    uint256 public immutable threshold;
    uint256 public immutable sourceChainId;
    address public immutable lockContract;

    address[] private attesterList;
    mapping(address => bool) public isAttester;

    mapping(address => bool) public claimed;
    uint256 public claimedTotal;

    /// lock nonce => released
    mapping(uint256 => bool) public released;
    uint256 public releasedTotal;
    /// Release digest => attester => signed; counted per digest so a lock seen differently by
    /// different attesters (a source reorg) never adds their votes together.
    mapping(bytes32 => mapping(address => bool)) public attested;
    mapping(bytes32 => uint256) public attestations;

    bool public finalized;
    uint256 public burned;

    event Claimed(address indexed holder, address indexed recipient, uint256 amount);
    event Attested(uint256 indexed nonce, bytes32 indexed digest, address indexed attester, uint256 count);
    event Released(uint256 indexed nonce, address indexed recipient, uint256 amount);
    event Finalized(uint256 burned, uint256 unclaimed, uint256 unreleased);

    constructor(
        bytes32 merkleRoot_,
        uint256 snapshotTotal_,
        uint256 lockReserve_,
        uint256 deadline_,
        address[] memory attesters_,
        uint256 threshold_,
        uint256 sourceChainId_,
        address lockContract_
    ) payable {
        // Genesis must fund exactly what the swap may pay out, no more and no less.
        require(address(this).balance == snapshotTotal_ + lockReserve_, "SwapBridge: balance != snapshotTotal + lockReserve");
        require(threshold_ > 0 && threshold_ <= attesters_.length, "SwapBridge: bad threshold");
        for (uint256 i = 0; i < attesters_.length; i++) {
            address a = attesters_[i];
            require(a != address(0) && !isAttester[a], "SwapBridge: bad or duplicate attester");
            isAttester[a] = true;
            attesterList.push(a);
        }
        merkleRoot = merkleRoot_;
        snapshotTotal = snapshotTotal_;
        lockReserve = lockReserve_;
        deadline = deadline_;
        threshold = threshold_;
        sourceChainId = sourceChainId_;
        lockContract = lockContract_;
    }

    function attesters() external view returns (address[] memory) {
        return attesterList;
    }

    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("povchain SwapBridge"), keccak256("1"), block.chainid, address(this)));
    }

    function claimDigest(address holder, address recipient, uint256 amount) public view returns (bytes32) {
        return _typed(keccak256(abi.encode(CLAIM_TYPEHASH, holder, recipient, amount)));
    }

    function releaseDigest(uint256 nonce, address recipient, uint256 amount) public view returns (bytes32) {
        return _typed(keccak256(abi.encode(RELEASE_TYPEHASH, sourceChainId, lockContract, nonce, recipient, amount)));
    }

    /// The snapshot leaf of (holder, amount): double-hashed so no inner node can pass as a leaf.
    function leaf(address holder, uint256 amount) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(holder, amount))));
    }

    function verifyProof(bytes32[] calldata proof, bytes32 leaf_) public view returns (bool) {
        bytes32 h = leaf_;
        for (uint256 i = 0; i < proof.length; i++) {
            bytes32 p = proof[i];
            h = h < p ? keccak256(abi.encode(h, p)) : keccak256(abi.encode(p, h));
        }
        return h == merkleRoot;
    }

    /// Pays `amount` to `recipient` for `holder`'s snapshot balance. Anyone may submit; the
    /// holder's signature over (chain, bridge, holder, recipient, amount) is the authorisation:
    /// an ECDSA signature by the holder's key, or, when the holder address has code on povchain
    /// (a contract wallet deployed at the same address), whatever its EIP-1271
    /// `isValidSignature(digest, signature)` accepts.
    function claim(address holder, address recipient, uint256 amount, bytes32[] calldata proof, bytes calldata signature) external {
        _requireOpen();
        require(!claimed[holder], "SwapBridge: already claimed");
        require(recipient != address(0), "SwapBridge: zero recipient");
        require(verifyProof(proof, leaf(holder, amount)), "SwapBridge: invalid proof");
        require(_isHolderSignature(holder, claimDigest(holder, recipient, amount), signature), "SwapBridge: invalid signature");
        claimed[holder] = true;
        claimedTotal += amount;
        emit Claimed(holder, recipient, amount);
        _pay(recipient, amount);
    }

    /// Records attester signatures over one lock of the source chain and releases the coins
    /// once `threshold` distinct attesters signed the same (nonce, recipient, amount).
    /// Signatures already counted are skipped, so attesters may each submit their own or anyone
    /// may submit a batch; a call that adds nothing reverts.
    function attest(uint256 nonce, address recipient, uint256 amount, bytes[] calldata signatures) external {
        _requireOpen();
        require(!released[nonce], "SwapBridge: already released");
        require(recipient != address(0), "SwapBridge: zero recipient");
        bytes32 digest = releaseDigest(nonce, recipient, amount);
        uint256 count = attestations[digest];
        uint256 added = 0;
        for (uint256 i = 0; i < signatures.length; i++) {
            address signer = _recover(digest, signatures[i]);
            require(isAttester[signer], "SwapBridge: not an attester");
            if (attested[digest][signer]) continue;
            attested[digest][signer] = true;
            count++;
            added++;
            emit Attested(nonce, digest, signer, count);
        }
        require(added > 0, "SwapBridge: already attested");
        attestations[digest] = count;
        if (count >= threshold) {
            require(releasedTotal + amount <= lockReserve, "SwapBridge: lock reserve exhausted");
            released[nonce] = true;
            releasedTotal += amount;
            emit Released(nonce, recipient, amount);
            _pay(recipient, amount);
        }
    }

    /// After the deadline: burns every coin the bridge still holds and closes the swap.
    function finalize() external {
        require(block.number > deadline, "SwapBridge: deadline not reached");
        require(!finalized, "SwapBridge: already finalized");
        finalized = true;
        uint256 amount = address(this).balance;
        burned = amount;
        emit Finalized(amount, snapshotTotal - claimedTotal, lockReserve - releasedTotal);
        if (amount > 0) new SwapBurner{value: amount}();
        require(address(this).balance == 0, "SwapBridge: burn failed");
    }

    function _requireOpen() private view {
        require(!finalized && block.number <= deadline, "SwapBridge: swap closed (deadline passed)");
    }

    function _typed(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    /// ECDSA first (an EOA, or an EOA with an EIP-7702 delegation); then EIP-1271 if the holder
    /// has code. The wallet is called with STATICCALL, so it cannot change state or re-enter.
    function _isHolderSignature(address holder, bytes32 digest, bytes calldata sig) private view returns (bool) {
        if (sig.length == 65) {
            address signer = _tryRecover(digest, sig);
            if (signer != address(0) && signer == holder) return true;
        }
        if (holder.code.length == 0) return false;
        (bool ok, bytes memory ret) = holder.staticcall(abi.encodeWithSelector(EIP1271_MAGIC, digest, sig));
        return ok && ret.length >= 32 && bytes4(abi.decode(ret, (bytes32))) == EIP1271_MAGIC;
    }

    /// The signer of a well-formed low-s signature, or address(0).
    function _tryRecover(bytes32 digest, bytes calldata sig) private pure returns (address) {
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27;
        if ((v != 27 && v != 28) || uint256(s) > HALF_N) return address(0);
        return ecrecover(digest, v, r, s);
    }

    function _recover(bytes32 digest, bytes calldata sig) private pure returns (address signer) {
        require(sig.length == 65, "SwapBridge: invalid signature");
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27;
        require((v == 27 || v == 28) && uint256(s) <= HALF_N, "SwapBridge: invalid signature");
        signer = ecrecover(digest, v, r, s);
        require(signer != address(0), "SwapBridge: invalid signature");
    }

    function _pay(address to, uint256 amount) private {
        (bool ok, ) = to.call{value: amount}("");
        require(ok, "SwapBridge: payment failed");
    }
}
