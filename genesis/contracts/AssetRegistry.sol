// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {WorkMarket} from "./WorkMarket.sol";

/// The callback a contract must implement to receive assets by `safeTransferFrom` (ERC-721).
interface IAssetReceiver {
    function onERC721Received(address operator, address from, uint256 tokenId, bytes calldata data) external returns (bytes4);
}

/// @title AssetRegistry
/// @notice The marketplace of models and datasets (issue 8, genesis/contracts/AssetRegistry.md):
///         an ERC-721 whose tokens are assets named by content hash, with an access mode
///         (free / paid / closed / removed), sealed-key grants for closed assets, verified usage
///         and per-use fees reported by the WorkMarket, once-only ratings by verified users, a
///         Bayesian score, periodic rewards for the top free assets of each kind, and bounties.
///         Jobs of the WorkMarket use assets through `useInJob` / `settle`, which read the job's
///         state from the WorkMarket (so the market needs no change to charge asset fees).
///         Every payment is a credit withdrawn with `withdraw()` (pull), so no transfer to an
///         owner can make a market call fail. Balance = rewardFund + escrow + credits, always.
contract AssetRegistry {
    // ---------------------------------------------------------------- types

    enum Kind {
        Model,
        Dataset
    }

    enum Access {
        Free, // anyone may fetch and use it
        Paid, // every use (and download) pays the owner's price
        Closed, // encrypted blob; the content key is sealed to grantees (ECIES)
        Removed // delisted: no new use; final
    }

    enum Rule {
        First, // the first passing evaluation wins at once
        Best // the best passing evaluation wins at settlement (ties: earlier submission)
    }

    struct Asset {
        bytes32 contentHash;
        bytes32 metadataHash; // keccak256 of the canonical metadata JSON document
        uint64 size; // bytes of the (plaintext) blob
        uint64 publishedAt; // block
        uint64 usage; // verified uses (accepted sessions of clients other than the owner)
        uint32 ratingCount;
        uint32 ratingSum;
        Kind kind;
        Access access;
        uint128 pricePerUse; // Paid and Closed only
        uint128 pricePerDownload; // Paid and Closed only
    }

    /// A grant of a closed asset's content key to one participant of one WorkMarket job (its
    /// worker or a verifier drawn for its session), for that job only: never a standing grant.
    struct JobGrant {
        address grantee; // zero: no request recorded
        bool fulfilled;
        bytes sealedKey; // ECIES(grantee's public key, content key)
    }

    struct Bounty {
        address client;
        uint64 deadline; // last block for submissions
        Rule rule;
        bool settled;
        uint128 prize;
        uint256 datasetId; // held-out closed dataset
        uint256 threshold; // passing: metric >= threshold (higher is better)
        uint256 bestMetric;
        uint32 winner; // submission index + 1 (0: none yet)
        /// The content hash an evaluation spec names as its dataset: the held-out data as workers
        /// read it (the decrypted bytes' hash, the metadata's `plaintextHash`).
        bytes32 inputHash;
    }

    /// The assets a client named for one WorkMarket job, with the fees escrowed at link time.
    struct JobUse {
        address client;
        bool settled;
        uint256[] ids;
        uint256[] fees;
    }

    struct Submission {
        uint256 modelId;
        address submitter;
        bool evaluated;
        uint256 metric; // accuracy in ppm, once evaluated
        bytes32 jobId; // the last evaluation job linked (0: none yet); the one evaluated once `evaluated`
    }

    /// An evaluation job of the WorkMarket linked to a bounty submission (index + 1; 0: none).
    struct EvaluationLink {
        uint256 bountyId;
        uint256 index1;
    }

    // ---------------------------------------------------------------- errors

    error NotMarket();
    error NoSuchAsset(uint256 id);
    error NotOwner(uint256 id, address caller);
    error NotAuthorized(uint256 id, address caller);
    error ZeroAddress();
    error WrongFrom(address owner, address from);
    error NotReceiver(address to);
    error ApproveToOwner();
    error EmptyContentHash();
    error AssetRemoved(uint256 id);
    error PriceNotAllowed(Access access);
    error NotClosed(uint256 id);
    error NotPaid(uint256 id);
    error WrongPayment(uint256 expected, uint256 paid);
    error EmptyKey();
    error NoGrant(uint256 id, address grantee);
    error JobGrantExists(uint256 id, bytes32 jobId, address grantee);
    error NoJobGrant(uint256 id, bytes32 jobId, address grantee);
    error BadScore(uint8 score);
    error NotVerifiedUser(uint256 id, address client);
    error AlreadyRated(uint256 id, address client);
    error NotJobClient(bytes32 jobId, address caller);
    error JobNotOpen(bytes32 jobId);
    error JobNotRunning(bytes32 jobId);
    error JobNotFinal(bytes32 jobId);
    error JobAlreadyLinked(bytes32 jobId);
    error JobNotLinked(bytes32 jobId);
    error JobAlreadySettled(bytes32 jobId);
    error BadAssetList(uint256 length);
    error DuplicateAsset(uint256 id);
    error BadPublicKey();
    error ZeroPrize();
    error DeadlinePassed(uint64 deadline);
    error NotDataset(uint256 id);
    error NotModel(uint256 id);
    error NoSuchBounty(uint256 bountyId);
    error NoSuchSubmission(uint256 bountyId, uint256 index);
    error AlreadyEvaluated(uint256 bountyId, uint256 index);
    error BountySettled(uint256 bountyId);
    error EvaluationClosed(uint256 bountyId);
    error TooEarly(uint256 bountyId);
    error ModelClosed(uint256 id);
    error NotInferenceJob(bytes32 jobId, bytes32 workloadId);
    error SpecMismatch(bytes32 jobId, bytes32 specHash);
    error SpecMissing(bytes32 jobId, string field);
    error NotEvaluationJob(bytes32 jobId);
    error JobNotAccepted(bytes32 jobId);
    error MetricsMismatch(bytes32 committed, bytes32 supplied);
    error BadMetrics(string why);
    error NothingToWithdraw();
    error TransferFailed();
    error Reentrancy();
    error GranteeKeyMismatch(uint256 grantees, uint256 sealedKeys);

    // ---------------------------------------------------------------- events

    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);
    event Published(uint256 indexed id, address indexed owner, Kind kind, bytes32 contentHash, uint64 size, Access access);
    event MetadataUpdated(uint256 indexed id, bytes32 metadataHash, string uri);
    event AccessChanged(uint256 indexed id, Access access, uint128 pricePerUse, uint128 pricePerDownload);
    event Granted(uint256 indexed id, address indexed grantee, bytes sealedKey);
    event Revoked(uint256 indexed id, address indexed grantee);
    /// A closed asset's content key was rotated: from now on `contentHash` is the blob encrypted
    /// under the key of `version`, and only the grants sealed in this transaction (`Granted`
    /// events, `grantees` of them) open it; every earlier standing grant and job grant has ended.
    event KeyRotated(uint256 indexed id, uint32 version, bytes32 contentHash, uint64 size, uint256 grantees);
    event JobGrantRequested(uint256 indexed id, bytes32 indexed jobId, address indexed grantee);
    event JobGrantIssued(uint256 indexed id, bytes32 indexed jobId, address indexed grantee, bytes sealedKey);
    event JobGrantEnded(uint256 indexed id, bytes32 indexed jobId, address indexed grantee);
    event Used(uint256 indexed id, bytes32 indexed jobId, address indexed client, address owner, uint256 fee, bool counted);
    event DownloadPaid(uint256 indexed id, address indexed payer, address owner, uint256 fee);
    event Rated(uint256 indexed id, address indexed client, uint8 score);
    event JobAssetsLinked(bytes32 indexed jobId, address indexed client, uint256[] ids, uint256 fees);
    event JobSettled(bytes32 indexed jobId, address indexed client, bool accepted, uint256 paid, uint256 refunded);
    event PublicKeySet(address indexed account, bytes publicKey);
    event Rewarded(uint256 indexed period, uint256 indexed id, address indexed owner, uint8 rank, uint256 amount);
    event RewardsDistributed(uint256 indexed period, uint256 total);
    event FundAdded(address indexed from, uint256 amount);
    event BountyPosted(uint256 indexed bountyId, address indexed client, uint256 datasetId, uint256 threshold, Rule rule, uint64 deadline, uint256 prize);
    event BountySubmission(uint256 indexed bountyId, uint256 index, uint256 indexed modelId, address indexed submitter);
    event EvaluationLinked(uint256 indexed bountyId, uint256 index, bytes32 indexed jobId, address indexed client);
    event EvaluationReported(uint256 indexed bountyId, uint256 index, uint256 metric, bool passed);
    event BountyWon(uint256 indexed bountyId, uint256 index, uint256 indexed modelId, address indexed payee, uint256 prize);
    event BountyRefunded(uint256 indexed bountyId, address indexed client, uint256 prize);
    event Withdrawn(address indexed account, uint256 amount);

    // ---------------------------------------------------------------- constants & config

    /// Bayesian prior of ratings: PRIOR_WEIGHT virtual votes of PRIOR_MEAN stars.
    uint256 public constant PRIOR_MEAN = 3;
    uint256 public constant PRIOR_WEIGHT = 5;
    uint256 public constant SCORE_SCALE = 1e6;
    /// Shares of a kind's half of the period's reward, ranks 1–3 (out of 6).
    uint256 internal constant SHARE_TOTAL = 6;
    /// Most assets one job may name (bounds the gas of `useInJob` and `settle`).
    uint256 public constant MAX_ASSETS_PER_JOB = 16;
    /// The workload of evaluation jobs: keccak256 of "mlp-infer" at version 1 (node/jobs/JobEstimate.ts).
    bytes32 public constant EVALUATION_WORKLOAD = keccak256("mlp-infer@1");
    /// Longest metrics document `evaluate` parses (mlp-infer writes ~60 bytes).
    uint256 internal constant MAX_METRICS_BYTES = 1024;

    address public immutable market;
    uint64 public immutable periodBlocks;
    uint256 public immutable rewardPerPeriod;
    uint64 public immutable evaluationWindow;

    // ---------------------------------------------------------------- state

    uint256 public assetCount;
    mapping(uint256 => Asset) internal assets;
    mapping(uint256 => string) internal uris;
    mapping(uint256 => address) internal owners;
    mapping(address => uint256) public balanceOf;
    mapping(uint256 => address) public getApproved;
    mapping(address => mapping(address => bool)) public isApprovedForAll;

    mapping(uint256 => mapping(address => bytes)) internal grants;
    /// The key version of a closed asset (0 at publish, +1 per `rotateKey`).
    mapping(uint256 => uint32) public keyVersion;
    /// The key version each standing grant was sealed for: one of an earlier version opens nothing current.
    mapping(uint256 => mapping(address => uint32)) internal grantVersion;
    /// The key version each fulfilled job grant was sealed for.
    mapping(uint256 => mapping(bytes32 => mapping(address => uint32))) internal jobGrantVersion;
    /// Content hash → the closed asset whose key rotation made it its content (the latest one; 0: none).
    /// Nodes index contents at publish; this tells them about the blobs a rotation brings.
    mapping(bytes32 => uint256) public rotatedAssetOf;
    /// asset → job → grantee (the job's worker or one of its session's verifiers) → job grant.
    mapping(uint256 => mapping(bytes32 => mapping(address => JobGrant))) internal jobGrants;
    /// 1: used in a verified (counted) job, 2: rated.
    mapping(uint256 => mapping(address => uint8)) public userState;

    mapping(bytes32 => JobUse) internal jobUses;
    /// 64-byte uncompressed secp256k1 public keys (no 0x04 prefix) that grants are sealed to.
    mapping(address => bytes) public publicKeyOf;

    mapping(uint256 => bool) public distributed;
    mapping(address => uint256) public credits;
    uint256 public rewardFund;
    uint256 public escrow;
    uint256 public totalCredits;

    uint256 public bountyCount;
    mapping(uint256 => Bounty) internal bounties;
    mapping(uint256 => Submission[]) internal submissions;
    /// WorkMarket job → the bounty submission it evaluates.
    mapping(bytes32 => EvaluationLink) public evaluationOf;

    uint256 private locked = 1;

    modifier nonReentrant() {
        if (locked != 1) revert Reentrancy();
        locked = 2;
        _;
        locked = 1;
    }

    modifier onlyMarket() {
        if (msg.sender != market) revert NotMarket();
        _;
    }

    /// Genesis runs this constructor at the fixed address with the reward fund as balance.
    constructor(address market_, uint64 periodBlocks_, uint256 rewardPerPeriod_, uint64 evaluationWindow_) payable {
        if (market_ == address(0) || periodBlocks_ == 0) revert ZeroAddress();
        market = market_;
        periodBlocks = periodBlocks_;
        rewardPerPeriod = rewardPerPeriod_;
        evaluationWindow = evaluationWindow_;
        rewardFund = address(this).balance;
    }

    // ---------------------------------------------------------------- ERC-165 / ERC-721

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x01ffc9a7 || id == 0x80ac58cd || id == 0x5b5e139f;
    }

    function name() external pure returns (string memory) {
        return "povchain assets";
    }

    function symbol() external pure returns (string memory) {
        return "POVA";
    }

    function ownerOf(uint256 id) public view returns (address o) {
        o = owners[id];
        if (o == address(0)) revert NoSuchAsset(id);
    }

    function tokenURI(uint256 id) external view returns (string memory) {
        ownerOf(id);
        return uris[id];
    }

    function approve(address to, uint256 id) external {
        address o = ownerOf(id);
        if (to == o) revert ApproveToOwner();
        if (msg.sender != o && !isApprovedForAll[o][msg.sender]) revert NotAuthorized(id, msg.sender);
        getApproved[id] = to;
        emit Approval(o, to, id);
    }

    function setApprovalForAll(address operator, bool approved) external {
        isApprovedForAll[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function transferFrom(address from, address to, uint256 id) public {
        address o = ownerOf(id);
        if (o != from) revert WrongFrom(o, from);
        if (to == address(0)) revert ZeroAddress();
        if (msg.sender != o && getApproved[id] != msg.sender && !isApprovedForAll[o][msg.sender]) revert NotAuthorized(id, msg.sender);
        delete getApproved[id];
        unchecked {
            balanceOf[from]--;
            balanceOf[to]++;
        }
        owners[id] = to;
        emit Transfer(from, to, id);
    }

    function safeTransferFrom(address from, address to, uint256 id) external {
        safeTransferFrom(from, to, id, "");
    }

    function safeTransferFrom(address from, address to, uint256 id, bytes memory data) public {
        transferFrom(from, to, id);
        if (to.code.length > 0) {
            (bool ok, bytes memory ret) = to.call(abi.encodeCall(IAssetReceiver.onERC721Received, (msg.sender, from, id, data)));
            if (!ok || ret.length < 32 || bytes4(ret) != IAssetReceiver.onERC721Received.selector) revert NotReceiver(to);
        }
    }

    // ---------------------------------------------------------------- publishing & access

    /// Mints a new asset to the caller; ids start at 1.
    function publish(Kind kind, bytes32 contentHash, uint64 size, bytes32 metadataHash, string calldata uri, Access access, uint128 pricePerUse, uint128 pricePerDownload)
        external
        returns (uint256 id)
    {
        if (contentHash == bytes32(0)) revert EmptyContentHash();
        _checkPrices(access, pricePerUse, pricePerDownload);
        id = ++assetCount;
        assets[id] = Asset(contentHash, metadataHash, size, uint64(block.number), 0, 0, 0, kind, access, pricePerUse, pricePerDownload);
        uris[id] = uri;
        owners[id] = msg.sender;
        unchecked {
            balanceOf[msg.sender]++;
        }
        emit Transfer(address(0), msg.sender, id);
        emit Published(id, msg.sender, kind, contentHash, size, access);
        emit MetadataUpdated(id, metadataHash, uri);
        if (access != Access.Free) emit AccessChanged(id, access, pricePerUse, pricePerDownload);
    }

    function setMetadata(uint256 id, bytes32 metadataHash, string calldata uri) external {
        _live(id, _owned(id));
        assets[id].metadataHash = metadataHash;
        uris[id] = uri;
        emit MetadataUpdated(id, metadataHash, uri);
    }

    /// Changes the access mode (not to Removed: use `remove`). Prices are allowed for Paid and Closed.
    function setAccess(uint256 id, Access access, uint128 pricePerUse, uint128 pricePerDownload) external {
        Asset storage a = _live(id, _owned(id));
        _checkPrices(access, pricePerUse, pricePerDownload);
        a.access = access;
        a.pricePerUse = pricePerUse;
        a.pricePerDownload = pricePerDownload;
        emit AccessChanged(id, access, pricePerUse, pricePerDownload);
    }

    /// Delists the asset for good: no new job may use it, nodes drop their copies.
    function remove(uint256 id) external {
        Asset storage a = _live(id, _owned(id));
        a.access = Access.Removed;
        a.pricePerUse = 0;
        a.pricePerDownload = 0;
        emit AccessChanged(id, Access.Removed, 0, 0);
    }

    function _checkPrices(Access access, uint128 pricePerUse, uint128 pricePerDownload) internal pure {
        if (access == Access.Removed) revert PriceNotAllowed(access);
        if (access == Access.Free && (pricePerUse != 0 || pricePerDownload != 0)) revert PriceNotAllowed(access);
    }

    // ---------------------------------------------------------------- grants (closed assets)

    /// The owner records a sealed content key for `grantee` (replacing any earlier one).
    function grant(uint256 id, address grantee, bytes calldata sealedKey) external {
        Asset storage a = _live(id, _owned(id));
        if (a.access != Access.Closed) revert NotClosed(id);
        if (grantee == address(0)) revert ZeroAddress();
        if (sealedKey.length == 0) revert EmptyKey();
        grants[id][grantee] = sealedKey;
        grantVersion[id][grantee] = keyVersion[id];
        emit Granted(id, grantee, sealedKey);
    }

    /// Ends a standing grant. The grantee keeps what it already read (the key it opened, any copy
    /// of the blob): only `rotateKey` closes later versions to it.
    function revoke(uint256 id, address grantee) external {
        _owned(id);
        if (_grant(id, grantee).length == 0) revert NoGrant(id, grantee);
        delete grants[id][grantee];
        delete grantVersion[id][grantee];
        emit Revoked(id, grantee);
    }

    /// The grantee's sealed key of the asset's current key version (empty: none, or one of an earlier version).
    function grantOf(uint256 id, address grantee) external view returns (bytes memory) {
        return _grant(id, grantee);
    }

    function _grant(uint256 id, address grantee) internal view returns (bytes memory) {
        if (grantVersion[id][grantee] != keyVersion[id]) return "";
        return grants[id][grantee];
    }

    /// The owner re-encrypted its closed asset under a fresh content key (issue 17): the asset's
    /// content becomes `contentHash` (the new ciphertext, `size` plaintext bytes), the key version
    /// goes up by one, and exactly `grantees[i]` hold a grant of it (`sealedKeys[i]`, the new key
    /// sealed to each; the owner lists itself to keep the key). Every other standing grant and every
    /// job grant sealed before stops opening anything current (`grantOf` / `jobGrantOf` return none);
    /// the old ciphertext and keys already handed out cannot be taken back.
    function rotateKey(uint256 id, bytes32 contentHash, uint64 size, address[] calldata grantees, bytes[] calldata sealedKeys) external {
        Asset storage a = _live(id, _owned(id));
        if (a.access != Access.Closed) revert NotClosed(id);
        if (contentHash == bytes32(0)) revert EmptyContentHash();
        if (grantees.length != sealedKeys.length) revert GranteeKeyMismatch(grantees.length, sealedKeys.length);
        uint32 v = keyVersion[id] + 1;
        keyVersion[id] = v;
        a.contentHash = contentHash;
        a.size = size;
        rotatedAssetOf[contentHash] = id;
        emit KeyRotated(id, v, contentHash, size, grantees.length);
        for (uint256 i = 0; i < grantees.length; i++) {
            if (grantees[i] == address(0)) revert ZeroAddress();
            if (sealedKeys[i].length == 0) revert EmptyKey();
            grants[id][grantees[i]] = sealedKeys[i];
            grantVersion[id][grantees[i]] = v;
            emit Granted(id, grantees[i], sealedKeys[i]);
        }
    }

    /// WorkMarket hook, step 1: `grantee` (a worker or verifier) takes part in job `jobId` that
    /// uses closed asset `id`. The owner's node sees `JobGrantRequested` and answers with `fulfilJobGrant`.
    function requestJobGrant(uint256 id, bytes32 jobId, address grantee) external onlyMarket {
        Asset storage a = _live(id, _asset(id));
        if (a.access != Access.Closed) revert NotClosed(id);
        if (grantee == address(0)) revert ZeroAddress();
        if (jobGrants[id][jobId][grantee].grantee != address(0)) revert JobGrantExists(id, jobId, grantee);
        jobGrants[id][jobId][grantee].grantee = grantee;
        emit JobGrantRequested(id, jobId, grantee);
    }

    /// Step 2: the owner seals the content key to `grantee`, whose request for job `jobId` is on
    /// record (valid for that job only; no standing grant). Sealing again replaces the key.
    function fulfilJobGrant(uint256 id, bytes32 jobId, address grantee, bytes calldata sealedKey) external {
        _owned(id);
        JobGrant storage g = jobGrants[id][jobId][grantee];
        if (g.grantee == address(0)) revert NoJobGrant(id, jobId, grantee);
        if (sealedKey.length == 0) revert EmptyKey();
        g.fulfilled = true;
        g.sealedKey = sealedKey;
        jobGrantVersion[id][jobId][grantee] = keyVersion[id];
        emit JobGrantIssued(id, jobId, grantee, sealedKey);
    }

    /// Step 3 (push hook): the market ends a participant's grant when its session ends.
    function endJobGrant(uint256 id, bytes32 jobId, address grantee) external onlyMarket {
        if (jobGrants[id][jobId][grantee].grantee == address(0)) revert NoJobGrant(id, jobId, grantee);
        delete jobGrants[id][jobId][grantee];
        delete jobGrantVersion[id][jobId][grantee];
        emit JobGrantEnded(id, jobId, grantee);
    }

    /// The job grant of `grantee` for job `jobId` on asset `id` (`grantee` zero: none requested).
    /// A grant sealed for an earlier key version reads as an open request (not fulfilled, no key):
    /// the owner may seal the current key again for a job that still runs.
    function jobGrantOf(uint256 id, bytes32 jobId, address grantee) external view returns (JobGrant memory g) {
        g = jobGrants[id][jobId][grantee];
        if (g.fulfilled && jobGrantVersion[id][jobId][grantee] != keyVersion[id]) {
            g.fulfilled = false;
            g.sealedKey = "";
        }
    }

    // ---------------------------------------------------------------- usage, fees, downloads

    /// Whether a new job may name the asset.
    function usable(uint256 id) external view returns (bool) {
        return owners[id] != address(0) && assets[id].access != Access.Removed;
    }

    /// The per-use fee the market escrows when `client` posts a job using the asset.
    function useFee(uint256 id, address client) public view returns (uint256) {
        Asset storage a = _asset(id);
        if (client == owners[id] || a.access == Access.Free || a.access == Access.Removed) return 0;
        return a.pricePerUse;
    }

    /// WorkMarket hook, called when a session using asset `id` is accepted: the fee the market
    /// escrowed is forwarded as `msg.value` and credited to the current owner; the use counts
    /// (and lets `client` rate) unless the client owns the asset. A job accepted after the asset
    /// was removed still completes (its use began before the removal).
    function recordUsage(uint256 id, bytes32 jobId, address client) external payable onlyMarket returns (bool counted) {
        _asset(id);
        return _use(id, jobId, client, msg.value);
    }

    /// Credits `fee` to the current owner; counts the use (and lets `client` rate) unless the client owns the asset.
    function _use(uint256 id, bytes32 jobId, address client, uint256 fee) internal returns (bool counted) {
        address o = owners[id];
        counted = client != o;
        if (counted) {
            assets[id].usage += 1;
            if (userState[id][client] == 0) userState[id][client] = 1;
        }
        _credit(o, fee);
        emit Used(id, jobId, client, o, fee, counted);
    }

    // ---------------------------------------------------------------- jobs of the WorkMarket

    /// The client of WorkMarket job `jobId` names the assets the job uses and pays their per-use
    /// fees (`msg.value` = Σ useFee, held in escrow until `settle`). Once per job, while the job
    /// is not final: the WorkMarket draws its worker a few blocks after the posting, so "open"
    /// means Open or Running. Removed assets are refused, and so are closed assets the
    /// client holds no grant for (unless it owns them). Fees are fixed at link time.
    function useInJob(bytes32 jobId, uint256[] calldata ids) external payable nonReentrant {
        WorkMarket.Job memory j = WorkMarket(market).getJob(jobId);
        if (j.client != msg.sender || j.control) revert NotJobClient(jobId, msg.sender);
        JobUse storage u = jobUses[jobId];
        if (u.client != address(0)) revert JobAlreadyLinked(jobId);
        if (ids.length == 0 || ids.length > MAX_ASSETS_PER_JOB) revert BadAssetList(ids.length);
        uint256 total;
        for (uint256 i = 0; i < ids.length; i++) {
            uint256 id = ids[i];
            for (uint256 k = 0; k < i; k++) if (ids[k] == id) revert DuplicateAsset(id);
            Asset storage a = _live(id, _asset(id));
            if (a.access == Access.Closed && owners[id] != msg.sender && _grant(id, msg.sender).length == 0) revert NoGrant(id, msg.sender);
            uint256 fee = useFee(id, msg.sender);
            u.ids.push(id);
            u.fees.push(fee);
            total += fee;
        }
        // Checked after the assets, so a removed or ungranted asset is refused whatever the job's state.
        if (j.status != WorkMarket.JobStatus.Open && j.status != WorkMarket.JobStatus.Running) revert JobNotOpen(jobId);
        if (msg.value != total) revert WrongPayment(total, msg.value);
        u.client = msg.sender;
        escrow += total;
        emit JobAssetsLinked(jobId, msg.sender, ids, total);
    }

    /// Anyone, once the job is final. Accepted: each fee goes to the asset's current owner and
    /// the use counts (never for the owner's own job); closed assets get a job grant record for
    /// the worker that did the job. Refunded: the fees go back to the client.
    function settle(bytes32 jobId) external nonReentrant {
        JobUse storage u = jobUses[jobId];
        if (u.client == address(0)) revert JobNotLinked(jobId);
        if (u.settled) revert JobAlreadySettled(jobId);
        WorkMarket.Job memory j = WorkMarket(market).getJob(jobId);
        uint256 total;
        uint256 n = u.ids.length;
        for (uint256 i = 0; i < n; i++) total += u.fees[i];
        u.settled = true;
        escrow -= total;
        if (evaluationOf[jobId].bountyId != 0) {
            // An evaluation job charges no fee and is no market use (it neither counts nor rates).
            if (j.status != WorkMarket.JobStatus.Accepted && j.status != WorkMarket.JobStatus.Refunded) revert JobNotFinal(jobId);
            emit JobSettled(jobId, u.client, j.status == WorkMarket.JobStatus.Accepted, 0, 0);
        } else if (j.status == WorkMarket.JobStatus.Accepted) {
            address worker = WorkMarket(market).getSession(j.session).worker;
            for (uint256 i = 0; i < n; i++) {
                uint256 id = u.ids[i];
                _use(id, jobId, u.client, u.fees[i]);
                _requestJobGrant(id, jobId, worker);
            }
            emit JobSettled(jobId, u.client, true, total, 0);
        } else if (j.status == WorkMarket.JobStatus.Refunded) {
            _credit(u.client, total);
            emit JobSettled(jobId, u.client, false, 0, total);
        } else revert JobNotFinal(jobId);
    }

    /// Anyone, while the job runs (assigned or under verification): records a job grant request
    /// on every closed asset of the job for the current session's worker and for each verifier
    /// drawn for it (read from the WorkMarket), unless one is on record; the owner's node answers
    /// with `fulfilJobGrant`. A reassignment or a new draw of verifiers brings new participants,
    /// so calling again records theirs. The owner needs none (it holds the key). Returns how
    /// many requests were recorded.
    function requestJobGrants(bytes32 jobId) external returns (uint256 requested) {
        JobUse storage u = jobUses[jobId];
        if (u.client == address(0)) revert JobNotLinked(jobId);
        WorkMarket.Job memory j = WorkMarket(market).getJob(jobId);
        if (j.status != WorkMarket.JobStatus.Running) revert JobNotRunning(jobId);
        WorkMarket.Session memory s = WorkMarket(market).getSession(j.session);
        for (uint256 i = 0; i < u.ids.length; i++) {
            if (_requestJobGrant(u.ids[i], jobId, s.worker)) requested++;
            for (uint256 k = 0; k < s.verifiers.length; k++) if (_requestJobGrant(u.ids[i], jobId, s.verifiers[k])) requested++;
        }
    }

    /// A job grant request for `grantee` on closed asset `id`, unless it has one for this job or owns the asset.
    function _requestJobGrant(uint256 id, bytes32 jobId, address grantee) internal returns (bool) {
        if (assets[id].access != Access.Closed || grantee == owners[id]) return false;
        JobGrant storage g = jobGrants[id][jobId][grantee];
        if (g.grantee != address(0)) return false;
        g.grantee = grantee;
        emit JobGrantRequested(id, jobId, grantee);
        return true;
    }

    function jobUseOf(bytes32 jobId) external view returns (JobUse memory) {
        return jobUses[jobId];
    }

    /// Publishes the caller's secp256k1 public key (64 bytes, x ‖ y) so owners can seal content
    /// keys to it; the key must hash to the caller's address.
    function setPublicKey(bytes calldata key) external {
        if (key.length != 64 || address(uint160(uint256(keccak256(key)))) != msg.sender) revert BadPublicKey();
        publicKeyOf[msg.sender] = key;
        emit PublicKeySet(msg.sender, key);
    }

    /// Pays the owner's download price (nodes serve the blob to accounts that paid).
    function payDownload(uint256 id) external payable {
        Asset storage a = _live(id, _asset(id));
        if (a.access != Access.Paid && a.access != Access.Closed) revert NotPaid(id);
        if (msg.value != a.pricePerDownload) revert WrongPayment(a.pricePerDownload, msg.value);
        address o = owners[id];
        downloads[id][msg.sender]++;
        _credit(o, msg.value);
        emit DownloadPaid(id, msg.sender, o, msg.value);
    }

    mapping(uint256 => mapping(address => uint256)) public downloads;

    // ---------------------------------------------------------------- ratings & score

    function rate(uint256 id, uint8 score) external {
        _asset(id);
        if (score < 1 || score > 5) revert BadScore(score);
        uint8 s = userState[id][msg.sender];
        if (s == 0 || owners[id] == msg.sender) revert NotVerifiedUser(id, msg.sender); // an owner never rates its own asset
        if (s == 2) revert AlreadyRated(id, msg.sender);
        userState[id][msg.sender] = 2;
        Asset storage a = assets[id];
        a.ratingCount += 1;
        a.ratingSum += score;
        emit Rated(id, msg.sender, score);
    }

    /// Bayesian average of the ratings, scaled by SCORE_SCALE:
    /// (PRIOR_WEIGHT·PRIOR_MEAN + Σ stars) / (PRIOR_WEIGHT + n). k extreme votes move it by at
    /// most 4k/(PRIOR_WEIGHT + n) stars.
    function ratingScore(uint256 id) public view returns (uint256) {
        Asset storage a = _asset(id);
        return ((PRIOR_WEIGHT * PRIOR_MEAN + a.ratingSum) * SCORE_SCALE) / (PRIOR_WEIGHT + a.ratingCount);
    }

    /// ratingScore · (1 + ⌊log2(1 + usage)⌋): verified usage raises the score with diminishing returns.
    function score(uint256 id) public view returns (uint256) {
        return ratingScore(id) * (1 + _log2(uint256(assets[id].usage) + 1));
    }

    function _log2(uint256 x) internal pure returns (uint256 r) {
        while (x > 1) {
            x >>= 1;
            r++;
        }
    }

    function getAsset(uint256 id) external view returns (Asset memory a, address owner, string memory uri) {
        a = _asset(id);
        owner = owners[id];
        uri = uris[id];
    }

    // ---------------------------------------------------------------- rewards

    function currentPeriod() public view returns (uint256) {
        return block.number / periodBlocks;
    }

    /// The top three free assets of `kind` with verified usage, by score (ties: lower id); 0 = none.
    function topFree(Kind kind) public view returns (uint256[3] memory ids) {
        uint256[3] memory best;
        uint256 n = assetCount;
        for (uint256 id = 1; id <= n; id++) {
            Asset storage a = assets[id];
            if (a.kind != kind || a.access != Access.Free || a.usage == 0) continue;
            uint256 s = score(id);
            for (uint256 r = 0; r < 3; r++) {
                if (ids[r] == 0 || s > best[r]) {
                    for (uint256 k = 2; k > r; k--) {
                        ids[k] = ids[k - 1];
                        best[k] = best[k - 1];
                    }
                    ids[r] = id;
                    best[r] = s;
                    break;
                }
            }
        }
    }

    /// Pays the reward of the period that just ended (min(rewardPerPeriod, fund)): half to each
    /// kind, split 3:2:1 among its top three free assets; unpaid shares and rounding stay in the
    /// fund. Anyone may call it — a node, a user, or consensus as a system transaction from
    /// SYSTEM_ADDRESS — and it never reverts for lack of work: in period 0, or when the ended
    /// period was already paid, it returns false. A period nobody distributed in the next one is
    /// forfeited (its budget stays in the fund).
    function distributeRewards() external nonReentrant returns (bool paid) {
        uint256 cur = currentPeriod();
        if (cur == 0 || distributed[cur - 1]) return false;
        uint256 period = cur - 1;
        distributed[period] = true;
        uint256 budget = rewardPerPeriod < rewardFund ? rewardPerPeriod : rewardFund;
        uint256 half = budget / 2;
        uint256 total;
        for (uint8 k = 0; k < 2; k++) {
            uint256[3] memory top = topFree(Kind(k));
            for (uint8 r = 0; r < 3; r++) {
                if (top[r] == 0) break;
                uint256 amount = (half * (3 - r)) / SHARE_TOTAL;
                address o = owners[top[r]];
                total += amount;
                _credit(o, amount);
                emit Rewarded(period, top[r], o, r + 1, amount);
            }
        }
        rewardFund -= total;
        emit RewardsDistributed(period, total);
        return true;
    }

    /// Adds to the reward fund.
    function fundRewards() external payable {
        rewardFund += msg.value;
        emit FundAdded(msg.sender, msg.value);
    }

    // ---------------------------------------------------------------- bounties

    /// The owner of closed dataset `datasetId` offers `msg.value` for a model whose accuracy on
    /// it reaches `threshold` ppm; posting is the owner's consent that evaluation jobs linked to
    /// the bounty may give their worker and verifiers job grants. `inputHash` is the dataset hash evaluation
    /// specs name (what workers read: the decrypted bytes; 0 = the asset's content hash).
    function postBounty(uint256 datasetId, bytes32 inputHash, uint256 threshold, Rule rule, uint64 deadline) external payable returns (uint256 bountyId) {
        if (msg.value == 0 || msg.value > type(uint128).max) revert ZeroPrize();
        if (deadline < block.number) revert DeadlinePassed(deadline);
        Asset storage d = _live(datasetId, _owned(datasetId));
        if (d.kind != Kind.Dataset) revert NotDataset(datasetId);
        if (d.access != Access.Closed) revert NotClosed(datasetId);
        if (inputHash == bytes32(0)) inputHash = d.contentHash;
        bountyId = ++bountyCount;
        bounties[bountyId] = Bounty(msg.sender, deadline, rule, false, uint128(msg.value), datasetId, threshold, 0, 0, inputHash);
        escrow += msg.value;
        emit BountyPosted(bountyId, msg.sender, datasetId, threshold, rule, deadline, msg.value);
    }

    /// The owner of model asset `modelId` submits it (up to the deadline block). Closed models
    /// are refused: an evaluation spec names the model blob workers run, which must be readable.
    function submit(uint256 bountyId, uint256 modelId) external returns (uint256 index) {
        Bounty storage b = _bounty(bountyId);
        if (b.settled) revert BountySettled(bountyId);
        if (block.number > b.deadline) revert DeadlinePassed(b.deadline);
        Asset storage m = _live(modelId, _owned(modelId));
        if (m.kind != Kind.Model) revert NotModel(modelId);
        if (m.access == Access.Closed) revert ModelClosed(modelId);
        index = submissions[bountyId].length;
        submissions[bountyId].push(Submission(modelId, msg.sender, false, 0, bytes32(0)));
        emit BountySubmission(bountyId, index, modelId, msg.sender);
    }

    /// The client of WorkMarket job `jobId` (anyone: the submitter, the bounty's client, a third
    /// party) links it as the evaluation of submission `index`. `spec` is the job spec's canonical
    /// JSON (its keccak must be the job's specHash); it must be an mlp-infer (version 1) inference of the
    /// submitted model's blob on the bounty's held-out input, verified by re-executing every segment. The job then uses exactly
    /// [modelId, datasetId] (no fees, no usage): `requestJobGrants` records job grant requests for
    /// its worker and verifiers (they re-execute every segment on the held-out data), which the
    /// dataset's owner fulfils. Several jobs may be linked (e.g. after one
    /// was refunded); the first accepted one that is `evaluate`d decides.
    function linkEvaluation(uint256 bountyId, uint256 index, bytes32 jobId, bytes calldata spec) external {
        Bounty storage b = _bounty(bountyId);
        Submission storage s = _openSubmission(bountyId, b, index);
        WorkMarket.Job memory j = WorkMarket(market).getJob(jobId);
        if (j.client != msg.sender || j.control) revert NotJobClient(jobId, msg.sender);
        if (j.status != WorkMarket.JobStatus.Open && j.status != WorkMarket.JobStatus.Running) revert JobNotOpen(jobId);
        if (jobUses[jobId].client != address(0)) revert JobAlreadyLinked(jobId);
        if (j.workloadId != EVALUATION_WORKLOAD) revert NotInferenceJob(jobId, j.workloadId);
        if (keccak256(spec) != j.specHash) revert SpecMismatch(jobId, j.specHash);
        Asset storage m = _live(s.modelId, _asset(s.modelId));
        _live(b.datasetId, _asset(b.datasetId));
        // A spec the market's workers accept is canonical JSON with no quote inside any string
        // (JobSpec validation), so each of these fragments can only be the field itself.
        if (!_contains(spec, bytes('"kind":"infer"'))) revert SpecMissing(jobId, "kind");
        if (!_contains(spec, bytes('"workload":{"id":"mlp-infer","version":1}'))) revert SpecMissing(jobId, "workload");
        // Re-execution with the most samples a spec may ask: every verifier re-runs every segment
        // (samples are capped at the segment count), so a forged final state cannot slip through.
        if (!_contains(spec, bytes('"verification":{"mode":"reexecution","samples":10000,'))) revert SpecMissing(jobId, "verification");
        if (!_contains(spec, abi.encodePacked('"dataset":"', _hex32(b.inputHash), '"'))) revert SpecMissing(jobId, "dataset");
        if (!_contains(spec, abi.encodePacked('"model":"', _hex32(m.contentHash), '"'))) revert SpecMissing(jobId, "model");
        JobUse storage u = jobUses[jobId];
        u.client = msg.sender;
        u.ids.push(s.modelId);
        u.ids.push(b.datasetId);
        u.fees.push(0);
        u.fees.push(0);
        evaluationOf[jobId] = EvaluationLink(bountyId, index + 1);
        s.jobId = jobId;
        emit EvaluationLinked(bountyId, index, jobId, msg.sender);
    }

    /// Anyone, once a linked evaluation job is Accepted (verified by re-execution): `metrics` is
    /// the session's metrics document (canonical JSON, compute's WorkloadMetrics); its keccak must
    /// be the accepted commitment's `metricsHash`. Its `accuracy` in ppm (rounded down) is the
    /// submission's metric: rule First pays the first passing submission at once, rule Best keeps
    /// the best for `settleBounty`. Up to `evaluationWindow` blocks after the deadline.
    function evaluate(bytes32 jobId, bytes calldata metrics) external nonReentrant returns (uint256 metric) {
        EvaluationLink memory l = evaluationOf[jobId];
        if (l.bountyId == 0) revert NotEvaluationJob(jobId);
        Bounty storage b = bounties[l.bountyId];
        uint256 index = l.index1 - 1;
        Submission storage s = _openSubmission(l.bountyId, b, index);
        WorkMarket.Job memory j = WorkMarket(market).getJob(jobId);
        if (j.status != WorkMarket.JobStatus.Accepted) revert JobNotAccepted(jobId);
        bytes32 committed = WorkMarket(market).getSession(j.session).result.metricsHash;
        if (keccak256(metrics) != committed) revert MetricsMismatch(committed, keccak256(metrics));
        metric = _accuracyPpm(metrics);
        s.evaluated = true;
        s.metric = metric;
        s.jobId = jobId;
        bool passed = metric >= b.threshold;
        emit EvaluationReported(l.bountyId, index, metric, passed);
        if (!passed) return metric;
        if (b.rule == Rule.First) {
            b.winner = uint32(index + 1);
            b.bestMetric = metric;
            _payWinner(l.bountyId, b);
        } else if (b.winner == 0 || metric > b.bestMetric || (metric == b.bestMetric && index + 1 < b.winner)) {
            b.winner = uint32(index + 1);
            b.bestMetric = metric;
        }
    }

    /// A submission that may still be evaluated (bounty open, within the evaluation window).
    function _openSubmission(uint256 bountyId, Bounty storage b, uint256 index) internal view returns (Submission storage s) {
        if (index >= submissions[bountyId].length) revert NoSuchSubmission(bountyId, index);
        s = submissions[bountyId][index];
        if (s.evaluated) revert AlreadyEvaluated(bountyId, index);
        if (b.settled) revert BountySettled(bountyId);
        if (block.number > uint256(b.deadline) + evaluationWindow) revert EvaluationClosed(bountyId);
    }

    /// After the evaluation window: pays the best passing submission, or refunds the client.
    function settleBounty(uint256 bountyId) external nonReentrant {
        Bounty storage b = _bounty(bountyId);
        if (b.settled) revert BountySettled(bountyId);
        if (block.number <= uint256(b.deadline) + evaluationWindow) revert TooEarly(bountyId);
        if (b.winner != 0) {
            _payWinner(bountyId, b);
        } else {
            b.settled = true;
            escrow -= b.prize;
            _credit(b.client, b.prize);
            emit BountyRefunded(bountyId, b.client, b.prize);
        }
    }

    /// The prize goes to the current owner of the winning model (transfers move the right to it).
    function _payWinner(uint256 bountyId, Bounty storage b) internal {
        b.settled = true;
        Submission storage s = submissions[bountyId][b.winner - 1];
        address payee = owners[s.modelId];
        escrow -= b.prize;
        _credit(payee, b.prize);
        emit BountyWon(bountyId, b.winner - 1, s.modelId, payee, b.prize);
    }

    /// The metric `evaluate` reads from a metrics document: accuracy in ppm (reverts BadMetrics).
    function metricOf(bytes calldata metrics) external pure returns (uint256) {
        return _accuracyPpm(metrics);
    }

    /// floor(accuracy · 1e6) of a canonical metrics document `{"accuracy":<number>,…}`. The
    /// number is JSON as JavaScript prints it: digits, an optional fraction, an optional exponent
    /// (e.g. `1`, `0.9666666666666667`, `5e-7`). Exact on the decimal text.
    function _accuracyPpm(bytes calldata m) internal pure returns (uint256) {
        if (m.length > MAX_METRICS_BYTES) revert BadMetrics("too long");
        bytes memory key = bytes('"accuracy":');
        uint256 at = _find(m, key);
        if (at == type(uint256).max) revert BadMetrics("no accuracy");
        uint256 i = at + key.length;
        uint256 mant;
        uint256 digits;
        uint256 frac;
        bool dot;
        for (; i < m.length; i++) {
            uint8 c = uint8(m[i]);
            if (c >= 48 && c <= 57) {
                if (++digits > 40) revert BadMetrics("too many digits");
                mant = mant * 10 + (c - 48);
                if (dot) frac++;
            } else if (c == 46 && !dot) dot = true;
            else break;
        }
        if (digits == 0) revert BadMetrics("accuracy is not a number");
        int256 exp;
        if (i < m.length && (m[i] == "e" || m[i] == "E")) {
            i++;
            bool neg = i < m.length && m[i] == "-";
            if (i < m.length && (m[i] == "-" || m[i] == "+")) i++;
            uint256 e;
            uint256 n;
            for (; i < m.length && uint8(m[i]) >= 48 && uint8(m[i]) <= 57; i++) {
                if (++n > 3) revert BadMetrics("exponent too large");
                e = e * 10 + (uint8(m[i]) - 48);
            }
            if (n == 0) revert BadMetrics("empty exponent");
            exp = neg ? -int256(e) : int256(e);
        }
        if (i < m.length && m[i] != "," && m[i] != "}") revert BadMetrics("accuracy is not a number");
        // value = mant · 10^(exp − frac); ppm = mant · 10^(6 + exp − frac)
        int256 p = 6 + exp - int256(frac);
        if (p >= 0) {
            if (p > 12) revert BadMetrics("accuracy out of range");
            return mant * 10 ** uint256(p);
        }
        if (p < -77) return 0;
        return mant / 10 ** uint256(-p);
    }

    /// Whether `needle` occurs in `hay`.
    function _contains(bytes calldata hay, bytes memory needle) internal pure returns (bool) {
        return _find(hay, needle) != type(uint256).max;
    }

    /// The first offset of `needle` (1 … 32+ bytes) in `hay`, or type(uint256).max. Compares a
    /// word at each offset first and hashes only on a match of the first 32 bytes.
    function _find(bytes calldata hay, bytes memory needle) internal pure returns (uint256) {
        uint256 n = needle.length;
        if (n == 0 || n > hay.length) return type(uint256).max;
        uint256 k = n < 32 ? n : 32;
        bytes32 mask = bytes32(type(uint256).max << (8 * (32 - k)));
        bytes32 first;
        bytes32 whole = keccak256(needle);
        assembly {
            first := mload(add(needle, 32))
        }
        first &= mask;
        bytes memory h = hay; // copied once so words can be read past single bytes
        uint256 last = h.length - n;
        for (uint256 i = 0; i <= last; i++) {
            bytes32 w;
            bytes32 hw;
            assembly {
                let p := add(add(h, 32), i)
                w := mload(p)
                if eq(and(w, mask), first) {
                    hw := keccak256(p, n)
                }
            }
            if ((w & mask) == first && hw == whole) return i;
        }
        return type(uint256).max;
    }

    /// "0x" and 64 lowercase hex digits (how specs write content hashes).
    function _hex32(bytes32 v) internal pure returns (bytes memory out) {
        out = new bytes(66);
        out[0] = "0";
        out[1] = "x";
        bytes16 digits = "0123456789abcdef";
        for (uint256 i = 0; i < 32; i++) {
            out[2 + 2 * i] = digits[uint8(v[i]) >> 4];
            out[3 + 2 * i] = digits[uint8(v[i]) & 15];
        }
    }

    function getBounty(uint256 bountyId) external view returns (Bounty memory b, Submission[] memory subs) {
        b = _bounty(bountyId);
        subs = submissions[bountyId];
    }

    // ---------------------------------------------------------------- payments

    function withdraw() external nonReentrant {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0;
        totalCredits -= amount;
        (bool ok, ) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
        emit Withdrawn(msg.sender, amount);
    }

    /// rewardFund + escrow + totalCredits == balance, always.
    function accounting() external view returns (uint256 fund, uint256 escrowed, uint256 owed, uint256 balance) {
        return (rewardFund, escrow, totalCredits, address(this).balance);
    }

    function _credit(address to, uint256 amount) internal {
        if (amount == 0) return;
        credits[to] += amount;
        totalCredits += amount;
    }

    // ---------------------------------------------------------------- internals

    function _asset(uint256 id) internal view returns (Asset storage) {
        if (owners[id] == address(0)) revert NoSuchAsset(id);
        return assets[id];
    }

    function _owned(uint256 id) internal view returns (Asset storage) {
        address o = owners[id];
        if (o == address(0)) revert NoSuchAsset(id);
        if (o != msg.sender) revert NotOwner(id, msg.sender);
        return assets[id];
    }

    function _live(uint256 id, Asset storage a) internal view returns (Asset storage) {
        if (a.access == Access.Removed) revert AssetRemoved(id);
        return a;
    }

    function _bounty(uint256 bountyId) internal view returns (Bounty storage b) {
        b = bounties[bountyId];
        if (b.client == address(0)) revert NoSuchBounty(bountyId);
    }
}
