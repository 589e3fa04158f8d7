// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Credit, CreditQueue} from "./ValidatorSetCredits.sol";
import {IValidatorSetReceipts} from "./ValidatorSetHook.sol";

/// The part of WorkMarket that evidence of kind 4 (a header naming a bad receipt) is checked against.
interface IWorkMarketReceipts {
    struct WorkReceipt {
        bytes32 jobId;
        bytes32 sessionId;
        address worker;
        address client;
        uint256 value;
        uint256 protocolFee;
        bytes32 workloadId;
        uint64 blockNumber;
        uint64 timestamp;
        uint8 status;
        bool control;
        uint8 mode;
    }

    function getReceipt(bytes32 sessionId) external view returns (WorkReceipt memory);

    function isAcceptedReceipt(bytes32 sessionId, address worker) external view returns (bool accepted, uint256 value, uint256 protocolFee, uint64 blockNumber);
}

/// @title ValidatorSet
/// @notice Proof of Value, step 5: accepted work receipts (reported by WorkMarket) become
///         producer weight — only the protocol's share of a fee counts, capped per
///         (client, worker) pair and per node, decayed linearly over a sliding window of blocks;
///         nodes with weight and a bond form the validator set of each epoch, snapshotted one
///         epoch ahead; the reward fund pays each finished epoch's set pro rata; evidence checked
///         by the EVIDENCE precompile slashes bonds and jails. Consensus drives it with the
///         system call epochTransition(epoch) at the start of each epoch's first block.
///         Documented in genesis/contracts/ValidatorSet.md.
contract ValidatorSet is IValidatorSetReceipts {
    using CreditQueue for Credit[];

    /// Consensus makes system calls from this address (as EIP-4788 does).
    address public constant SYSTEM_ADDRESS = address(uint160(type(uint160).max - 1));
    address public constant WORK_MARKET = address(0xB00);
    /// Native precompile judging evidence: abi.encode(kind, a, b) → abi.encode(offender, evidenceId, height, jobId, sessionId).
    address public constant EVIDENCE_PRECOMPILE = address(0xA0E);
    uint16 internal constant BPS = 10_000;
    /// How much of a receipt's protocol fee becomes weight, by the mode that verified it
    /// (WorkMarket.VerificationMode; genesis/contracts/ValidatorSet.md, "Weight by verification
    /// mode"): re-execution and bit-exact redundancy prove the work itself and count in full; a
    /// tolerance agreement only shows that k workers reached a metric within epsilon, which
    /// cheaper work (fewer epochs, a smaller model) can also reach, so it counts half.
    uint16 public constant REEXECUTION_WEIGHT_BPS = 10_000;
    uint16 public constant REDUNDANT_WEIGHT_BPS = 10_000;
    uint16 public constant TOLERANCE_WEIGHT_BPS = 5_000;
    /// Addresses considered at each snapshot (bounds the transition's gas).
    uint256 public constant MAX_CANDIDATES = 64;
    /// Credit entries kept per validator and per (client, worker) pair.
    uint256 public constant MAX_CREDITS = 16;
    uint256 public constant MAX_PAIR_CREDITS = 8;
    /// Bound on amounts so that amount × window and reward × weight never overflow.
    uint256 internal constant MAX_AMOUNT = type(uint128).max;

    uint8 public constant EVIDENCE_DOUBLE_PRODUCTION = 1;
    uint8 public constant EVIDENCE_DOUBLE_VOTE = 2;
    uint8 public constant EVIDENCE_SURROUND_VOTE = 3;
    uint8 public constant EVIDENCE_BAD_RECEIPT = 4;

    struct Config {
        /// Least active bond for a snapshot to elect a node.
        uint256 minBond;
        /// Most validators per snapshot (≤ MAX_CANDIDATES).
        uint16 maxValidators;
        /// Sliding window over which a credit decays linearly to zero, in blocks.
        uint64 weightWindowBlocks;
        /// Cap on a node's live weight.
        uint256 maxWeight;
        /// Most weight one (client, worker) pair can credit in any window.
        uint256 pairCapPerWindow;
        /// Wei paid from the reward fund per epoch transition to the finished epoch's set.
        uint256 rewardPerEpoch;
        /// Epochs between requestUnbond and withdrawability.
        uint64 unbondingEpochs;
        /// Share of bond (active and unbonding) a proven offence cuts.
        uint16 slashBps;
        /// Share of the cut credited to whoever submitted the evidence (the rest is burned).
        uint16 reporterBps;
        /// Snapshots an offender is excluded from.
        uint64 jailEpochs;
    }

    /// A validator placed by genesis (its bond is part of the genesis balance of this contract).
    struct GenesisValidator {
        address validator;
        uint256 bond;
        uint256 weight;
    }

    struct Stake {
        uint256 bonded;
        /// Requested for unbonding, slashable until `releaseEpoch`'s transition.
        uint256 unbonding;
        uint64 releaseEpoch;
        /// Transitions to epochs below this one treat the node as jailed.
        uint64 jailedUntil;
        /// lastEpoch + 1 at the latest slash (0: never slashed): no reward for that epoch.
        uint64 slashedMark;
        /// Withdrawable: rewards, reporter shares, matured unbonds settled so far.
        uint256 owed;
    }

    // ---------------------------------------------------------------- errors

    error InvalidConfig(string field);
    error NoGenesisValidators();
    error TooManyGenesisValidators(uint256 count, uint256 maxValidators);
    error GenesisValidatorsNotSorted(uint256 index);
    error BadGenesisValidator(uint256 index);
    error GenesisFundTooSmall(uint256 balance, uint256 bonds);
    error NotSystem(address caller);
    error NotWorkMarket(address caller);
    error ZeroAmount();
    error InsufficientBond(uint256 requested, uint256 bonded);
    error NothingToWithdraw();
    error TransferFailed(address to, uint256 amount);
    error UnknownEvidenceKind(uint8 kind);
    error EvidencePrecompileMissing(address precompile);
    error EvidenceRejected(uint8 kind, bytes reason);
    error EvidenceProvesNothing(uint8 kind);
    error EvidenceAlreadyUsed(bytes32 evidenceId);
    error ReceiptIsValid(bytes32 sessionId, address producer);

    // ---------------------------------------------------------------- events

    event Bonded(address indexed validator, uint256 amount, uint256 bonded);
    event UnbondRequested(address indexed validator, uint256 amount, uint64 releaseEpoch);
    event Withdrawn(address indexed to, uint256 amount);
    /// The trace from an accepted receipt to producer weight.
    event WeightForfeited(address indexed worker, bytes32 indexed sessionId, uint256 weight);
    event WeightCredited(address indexed worker, address indexed client, bytes32 indexed sessionId, bytes32 jobId, uint256 value, uint256 protocolFee, uint256 credit, uint256 weight, uint8 mode);
    event EpochTransitioned(uint64 indexed epoch, uint64 previous);
    event EpochRewarded(uint64 indexed rewardedEpoch, uint64 indexed atEpoch, uint256 paid, uint256 recipients);
    event RewardCredited(address indexed validator, uint64 indexed rewardedEpoch, uint256 amount);
    event ValidatorSetElected(uint64 indexed epoch, address[] validators, uint256[] weights);
    /// Nobody was eligible: the snapshot of `fromEpoch` stays in force for `epoch` (liveness).
    event ValidatorSetCarried(uint64 indexed epoch, uint64 fromEpoch);
    event CandidateAdded(address indexed validator);
    event CandidateRemoved(address indexed validator);
    event Slashed(address indexed offender, uint8 kind, bytes32 indexed evidenceId, uint256 amount, address indexed reporter);
    event Jailed(address indexed offender, uint64 untilEpoch);

    // ---------------------------------------------------------------- state

    uint256 public immutable minBond;
    uint16 public immutable maxValidators;
    uint64 public immutable weightWindowBlocks;
    uint256 public immutable maxWeight;
    uint256 public immutable pairCapPerWindow;
    uint256 public immutable rewardPerEpoch;
    uint64 public immutable unbondingEpochs;
    uint16 public immutable slashBps;
    uint16 public immutable reporterBps;
    uint64 public immutable jailEpochs;

    /// The epoch of the latest transition (0 until the first).
    uint64 public lastEpoch;
    uint256 public totalBonded;
    uint256 public totalUnbonding;
    uint256 public totalOwed;
    /// Slashed coins not paid to reporters: locked here for good (the EVM has no burn).
    uint256 public burned;
    /// Rewards credited since genesis.
    uint256 public totalRewarded;

    mapping(address => Stake) internal _stakes;
    mapping(address => Credit[]) internal _credits;
    mapping(bytes32 => Credit[]) internal _pairCredits;
    mapping(bytes32 => bool) public evidenceUsed;

    address[] internal _candidates;
    mapping(address => uint256) internal _candidateSlot; // index + 1

    uint64[] internal _snapshotEpochs;
    mapping(uint64 => address[]) internal _snapValidators;
    mapping(uint64 => uint256[]) internal _snapWeights;

    constructor(Config memory cfg, GenesisValidator[] memory genesisValidators) {
        require(cfg.maxValidators > 0 && cfg.maxValidators <= MAX_CANDIDATES, InvalidConfig("maxValidators"));
        require(cfg.weightWindowBlocks > 0, InvalidConfig("weightWindowBlocks"));
        require(cfg.maxWeight > 0 && cfg.maxWeight <= MAX_AMOUNT, InvalidConfig("maxWeight"));
        require(cfg.pairCapPerWindow > 0 && cfg.pairCapPerWindow <= MAX_AMOUNT, InvalidConfig("pairCapPerWindow"));
        require(cfg.rewardPerEpoch <= MAX_AMOUNT, InvalidConfig("rewardPerEpoch"));
        require(cfg.minBond > 0 && cfg.minBond <= MAX_AMOUNT, InvalidConfig("minBond"));
        require(cfg.unbondingEpochs > 0 && cfg.unbondingEpochs <= type(uint32).max, InvalidConfig("unbondingEpochs"));
        require(cfg.jailEpochs > 0 && cfg.jailEpochs <= type(uint32).max, InvalidConfig("jailEpochs"));
        require(cfg.slashBps <= BPS, InvalidConfig("slashBps"));
        require(cfg.reporterBps <= BPS, InvalidConfig("reporterBps"));
        minBond = cfg.minBond;
        maxValidators = cfg.maxValidators;
        weightWindowBlocks = cfg.weightWindowBlocks;
        maxWeight = cfg.maxWeight;
        pairCapPerWindow = cfg.pairCapPerWindow;
        rewardPerEpoch = cfg.rewardPerEpoch;
        unbondingEpochs = cfg.unbondingEpochs;
        slashBps = cfg.slashBps;
        reporterBps = cfg.reporterBps;
        jailEpochs = cfg.jailEpochs;

        uint256 n = genesisValidators.length;
        require(n > 0, NoGenesisValidators());
        require(n <= cfg.maxValidators, TooManyGenesisValidators(n, cfg.maxValidators));
        address[] memory vs = new address[](n);
        uint256[] memory ws = new uint256[](n);
        uint256 bonds = 0;
        for (uint256 i = 0; i < n; i++) {
            GenesisValidator memory g = genesisValidators[i];
            require(i == 0 || g.validator > genesisValidators[i - 1].validator, GenesisValidatorsNotSorted(i));
            require(g.validator != address(0) && g.bond >= cfg.minBond && g.bond <= MAX_AMOUNT && g.weight > 0 && g.weight <= MAX_AMOUNT, BadGenesisValidator(i));
            _stakes[g.validator].bonded = g.bond;
            bonds += g.bond;
            // The genesis weight is a credit at block 0 that decays like any other.
            _credits[g.validator].push(Credit(uint64(block.number), uint192(g.weight)));
            _addCandidate(g.validator);
            vs[i] = g.validator;
            ws[i] = g.weight < cfg.maxWeight ? g.weight : cfg.maxWeight;
        }
        // Genesis places this contract with a balance: the genesis bonds plus the reward fund.
        require(address(this).balance >= bonds, GenesisFundTooSmall(address(this).balance, bonds));
        totalBonded = bonds;
        _storeSnapshot(0, vs, ws);
    }

    // ================================================================ consensus

    /// @notice The system call at the start of the first block of `epoch`: (1) rewards the
    ///         finished epoch's set, (2) unbonds requested for `epoch` or earlier mature,
    ///         (3) snapshots the set for `epoch + 1`. A no-op for epochs already transitioned;
    ///         never reverts for the system caller (blocks must stay producible).
    function epochTransition(uint64 epoch) external {
        require(msg.sender == SYSTEM_ADDRESS, NotSystem(msg.sender));
        uint64 previous = lastEpoch;
        if (epoch <= previous) return;
        _reward(previous, epoch);
        // (2) Unbonds mature by epoch number: an unbond whose releaseEpoch ≤ lastEpoch is
        //     withdrawable and no longer slashable (settled lazily per account, see _settle).
        lastEpoch = epoch;
        // A branch with no block in epoch − 1 never ran that transition, so the set for `epoch`
        // was never stored: elect it now, from the same state and block number as a branch
        // that had the block would have (the anchor's state, anchor + 1). Every branch then
        // holds the set validatorsElectedFor(epoch) names, whatever epochs it skipped.
        if (previous + 1 < epoch) _snapshot(epoch - 1);
        // The last uint64 epoch has no successor to elect for (and must not revert either).
        if (epoch < type(uint64).max) _snapshot(epoch);
        emit EpochTransitioned(epoch, previous);
    }

    /// @notice The snapshot in force for `epoch`: the latest one stored for an epoch ≤ `epoch`,
    ///         sorted by address ascending, weights > 0.
    function validatorsAt(uint64 epoch) external view returns (address[] memory validators, uint256[] memory weights) {
        uint64 at = snapshotEpochFor(epoch);
        return (_snapValidators[at], _snapWeights[at]);
    }

    /// @notice The set that will be in force for `epoch` (≥ 1), asked of the state of the
    ///         epoch's anchor — the last block before epoch − 1 starts — at block number
    ///         anchor + 1: what epochTransition stores for `epoch` on every branch through that
    ///         anchor, whether or not the branch has a block in epoch − 1. Consensus reads the
    ///         sets this way, so a set is a function of the anchor alone.
    function validatorsElectedFor(uint64 epoch) external view returns (address[] memory validators, uint256[] memory weights) {
        require(epoch > 0, InvalidConfig("epoch"));
        (validators, weights) = _elect(epoch - 1);
        if (validators.length == 0) {
            uint64 at = _snapshotEpochs[_snapshotEpochs.length - 1];
            return (_snapValidators[at], _snapWeights[at]);
        }
    }

    /// @notice The epoch whose stored snapshot is in force for `epoch`.
    function snapshotEpochFor(uint64 epoch) public view returns (uint64) {
        uint256 lo = 0;
        uint256 hi = _snapshotEpochs.length; // _snapshotEpochs[0] == 0 ≤ epoch
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) / 2;
            if (_snapshotEpochs[mid] <= epoch) lo = mid;
            else hi = mid;
        }
        return _snapshotEpochs[lo];
    }

    /// @notice Epochs that have a stored snapshot, ascending.
    function snapshotEpochs() external view returns (uint64[] memory) {
        return _snapshotEpochs;
    }

    /// @notice Live weight: min(maxWeight, Σ credit × (window − age) / window over credits younger than the window).
    function weightOf(address v) public view returns (uint256) {
        uint256 w = _credits[v].decayed(block.number, weightWindowBlocks);
        return w < maxWeight ? w : maxWeight;
    }

    /// @notice A node's credits (block, amount), oldest first; expired ones may linger until the next credit.
    function creditsOf(address v) external view returns (Credit[] memory) {
        return _credits[v];
    }

    /// @notice What the (client, worker) pair has credited in the last window (≤ pairCapPerWindow).
    function pairUsed(address client, address worker) public view returns (uint256) {
        return _pairCredits[_pairKey(client, worker)].active(block.number, weightWindowBlocks);
    }

    function isJailed(address v) external view returns (bool) {
        return _jailedAt(v, lastEpoch + 1);
    }

    function candidates() external view returns (address[] memory) {
        return _candidates;
    }

    function config() external view returns (Config memory) {
        return Config(minBond, maxValidators, weightWindowBlocks, maxWeight, pairCapPerWindow, rewardPerEpoch, unbondingEpochs, slashBps, reporterBps, jailEpochs);
    }

    // ================================================================ work

    /// @notice WorkMarket reports an accepted receipt. Only the protocol's share of the fee
    ///         becomes weight, and a (client, worker) pair credits at most pairCapPerWindow per window.
    function onReceipt(address worker, address client, bytes32 jobId, bytes32 sessionId, uint256 value, uint256 protocolFee, uint8 mode) external {
        require(msg.sender == WORK_MARKET, NotWorkMarket(msg.sender));
        uint256 window = weightWindowBlocks;
        Credit[] storage pair = _pairCredits[_pairKey(client, worker)];
        uint256 used = pair.active(block.number, window);
        uint256 room = used < pairCapPerWindow ? pairCapPerWindow - used : 0;
        uint256 counted = (protocolFee * modeWeightBps(mode)) / BPS;
        uint256 credit = counted < room ? counted : room;
        if (credit > 0) {
            pair.add(block.number, window, credit, MAX_PAIR_CREDITS, false);
            _credits[worker].add(block.number, window, credit, MAX_CREDITS, true);
            if (_stakes[worker].bonded >= minBond) _addCandidate(worker);
        }
        emit WeightCredited(worker, client, sessionId, jobId, value, protocolFee, credit, weightOf(worker), mode);
    }

    /// @notice WorkMarket reports a rejected session: its worker forfeits every live credit, so
    ///         weight bought with forged sessions that escaped sampling is lost at the first one
    ///         that does not (a worker forging a share f of its sessions' segments keeps weight
    ///         only while none is caught: miss^n after n forged sessions). Snapshots already
    ///         taken keep it (the leader schedule they fixed is public); later ones do not.
    function onRejected(address worker, bytes32 sessionId) external {
        require(msg.sender == WORK_MARKET, NotWorkMarket(msg.sender));
        uint256 lost = weightOf(worker);
        delete _credits[worker];
        emit WeightForfeited(worker, sessionId, lost);
    }

    /// @notice The share (basis points) of a receipt's protocol fee that becomes weight, by the
    ///         mode that verified it (0 re-execution, 1 redundant, 2 tolerance; unknown: 0).
    function modeWeightBps(uint8 mode) public pure returns (uint16) {
        if (mode == 0) return REEXECUTION_WEIGHT_BPS;
        if (mode == 1) return REDUNDANT_WEIGHT_BPS;
        if (mode == 2) return TOLERANCE_WEIGHT_BPS;
        return 0;
    }

    // ================================================================ bonds

    /// @notice Adds msg.value to the caller's bond.
    function bond() external payable {
        require(msg.value > 0, ZeroAmount());
        Stake storage s = _stakes[msg.sender];
        s.bonded += msg.value;
        totalBonded += msg.value;
        if (s.bonded >= minBond) _addCandidate(msg.sender);
        emit Bonded(msg.sender, msg.value, s.bonded);
    }

    function bondOf(address v) external view returns (uint256) {
        return _stakes[v].bonded;
    }

    /// @notice Moves `amount` of the bond to unbonding: withdrawable once the transition to
    ///         epoch lastEpoch + unbondingEpochs has run; slashable until then.
    function requestUnbond(uint256 amount) external {
        require(amount > 0, ZeroAmount());
        Stake storage s = _stakes[msg.sender];
        require(amount <= s.bonded, InsufficientBond(amount, s.bonded));
        _settle(s);
        s.bonded -= amount;
        s.unbonding += amount;
        s.releaseEpoch = lastEpoch + unbondingEpochs;
        totalBonded -= amount;
        totalUnbonding += amount;
        emit UnbondRequested(msg.sender, amount, s.releaseEpoch);
    }

    /// @notice Pays the caller its matured unbonds, rewards and reporter shares.
    function withdraw() external {
        Stake storage s = _stakes[msg.sender];
        _settle(s);
        uint256 amount = s.owed;
        require(amount > 0, NothingToWithdraw());
        s.owed = 0;
        totalOwed -= amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok, ) = msg.sender.call{value: amount}("");
        require(ok, TransferFailed(msg.sender, amount));
    }

    /// @notice A node's stake as of now (matured unbonds shown as withdrawable).
    function stakeOf(address v) external view returns (uint256 bonded, uint256 unbonding, uint64 releaseEpoch, uint256 withdrawable, uint64 jailedUntil) {
        Stake memory s = _stakes[v];
        bool matured = s.unbonding > 0 && s.releaseEpoch <= lastEpoch;
        return (s.bonded, matured ? 0 : s.unbonding, s.releaseEpoch, s.owed + (matured ? s.unbonding : 0), s.jailedUntil);
    }

    /// @notice The reward fund: the balance that is not bonds, unbonds, owed or burned.
    function rewardFund() public view returns (uint256) {
        uint256 locked = totalBonded + totalUnbonding + totalOwed + burned;
        uint256 bal = address(this).balance;
        return bal > locked ? bal - locked : 0;
    }

    function accounting() external view returns (uint256 bonded, uint256 unbonding, uint256 owed, uint256 burnedTotal, uint256 fund, uint256 balance) {
        return (totalBonded, totalUnbonding, totalOwed, burned, rewardFund(), address(this).balance);
    }

    // ================================================================ slashing

    /// @notice Anyone submits evidence; the EVIDENCE precompile judges it natively. Kind 4 (a
    ///         header naming a receipt) slashes only when WorkMarket does not hold that receipt as
    ///         the producer's accepted one with the named job. Each evidence id slashes once.
    function submitEvidence(uint8 kind, bytes calldata a, bytes calldata b) external returns (address offender) {
        require(kind >= EVIDENCE_DOUBLE_PRODUCTION && kind <= EVIDENCE_BAD_RECEIPT, UnknownEvidenceKind(kind));
        (bool ok, bytes memory ret) = EVIDENCE_PRECOMPILE.staticcall(abi.encode(kind, a, b));
        require(ok, EvidenceRejected(kind, ret));
        require(ret.length >= 160, EvidencePrecompileMissing(EVIDENCE_PRECOMPILE));
        bytes32 evidenceId;
        bytes32 jobId;
        bytes32 sessionId;
        (offender, evidenceId, , jobId, sessionId) = abi.decode(ret, (address, bytes32, uint64, bytes32, bytes32));
        require(offender != address(0), EvidenceProvesNothing(kind));
        require(!evidenceUsed[evidenceId], EvidenceAlreadyUsed(evidenceId));
        if (kind == EVIDENCE_BAD_RECEIPT) {
            (bool accepted, , , ) = IWorkMarketReceipts(WORK_MARKET).isAcceptedReceipt(sessionId, offender);
            bool sameJob = IWorkMarketReceipts(WORK_MARKET).getReceipt(sessionId).jobId == jobId;
            require(!accepted || !sameJob, ReceiptIsValid(sessionId, offender));
        }
        evidenceUsed[evidenceId] = true;
        _slash(offender, kind, evidenceId);
    }

    function _slash(address offender, uint8 kind, bytes32 evidenceId) internal {
        Stake storage s = _stakes[offender];
        _settle(s);
        uint256 cut = ((s.bonded + s.unbonding) * slashBps) / BPS;
        uint256 fromBond = cut < s.bonded ? cut : s.bonded;
        s.bonded -= fromBond;
        totalBonded -= fromBond;
        s.unbonding -= cut - fromBond;
        totalUnbonding -= cut - fromBond;
        uint256 toReporter = (cut * reporterBps) / BPS;
        _stakes[msg.sender].owed += toReporter;
        totalOwed += toReporter;
        burned += cut - toReporter;
        delete _credits[offender];
        s.slashedMark = lastEpoch + 1;
        uint64 until = lastEpoch + 1 + jailEpochs;
        if (until > s.jailedUntil) s.jailedUntil = until;
        emit Slashed(offender, kind, evidenceId, cut, msg.sender);
        emit Jailed(offender, s.jailedUntil);
    }

    // ================================================================ internals

    /// Jailed for the transition to `epoch`: slashed during epoch L ⇒ out of the transitions to
    /// L+1 … L+jailEpochs (snapshots for L+2 … L+jailEpochs+1) and of their rewards.
    function _jailedAt(address v, uint64 epoch) internal view returns (bool) {
        return epoch < _stakes[v].jailedUntil;
    }

    function _unrewarded(address v, uint64 finished, uint64 epoch) internal view returns (bool) {
        Stake storage s = _stakes[v];
        return epoch < s.jailedUntil || s.slashedMark > finished;
    }

    function _settle(Stake storage s) internal {
        if (s.unbonding > 0 && s.releaseEpoch <= lastEpoch) {
            s.owed += s.unbonding;
            totalOwed += s.unbonding;
            totalUnbonding -= s.unbonding;
            s.unbonding = 0;
        }
    }

    /// (1) rewardPerEpoch (or what the fund holds) to the set that served `finished` — the
    ///     last epoch with blocks, which is epoch − 1 unless epochs were skipped — pro rata to
    ///     snapshot weight, skipping the jailed and those slashed in or after `finished`;
    ///     rounding dust stays in the fund.
    function _reward(uint64 finished, uint64 epoch) internal {
        uint256 fund = rewardFund();
        uint256 amount = rewardPerEpoch < fund ? rewardPerEpoch : fund;
        uint64 at = snapshotEpochFor(finished);
        address[] storage vs = _snapValidators[at];
        uint256[] storage ws = _snapWeights[at];
        uint256 n = vs.length;
        uint256 total = 0;
        for (uint256 i = 0; i < n; i++) if (!_unrewarded(vs[i], finished, epoch)) total += ws[i];
        uint256 paid = 0;
        uint256 recipients = 0;
        if (amount > 0 && total > 0)
            for (uint256 i = 0; i < n; i++) {
                address v = vs[i];
                if (_unrewarded(v, finished, epoch)) continue;
                uint256 share = (amount * ws[i]) / total;
                if (share == 0) continue;
                _stakes[v].owed += share;
                paid += share;
                recipients++;
                emit RewardCredited(v, finished, share);
            }
        totalOwed += paid;
        totalRewarded += paid;
        emit EpochRewarded(finished, epoch, paid, recipients);
    }

    /// (3) The set for epoch + 1 from live weights as of the end of epoch − 1 (this call runs
    ///     before the block's transactions), stored by address ascending (see _elect). When no
    ///     one is eligible the snapshot in force carries over. Candidates without bond or weight
    ///     leave the list (they re-enter with their next receipt or bond).
    function _snapshot(uint64 epoch) internal {
        (address[] memory vs, uint256[] memory ws) = _elect(epoch);
        for (uint256 i = _candidates.length; i > 0; i--) {
            address v = _candidates[i - 1];
            if (_stakes[v].bonded < minBond || weightOf(v) == 0) _removeCandidate(v);
        }
        uint64 target = epoch + 1;
        if (vs.length == 0) {
            emit ValidatorSetCarried(target, _snapshotEpochs[_snapshotEpochs.length - 1]);
            return;
        }
        _storeSnapshot(target, vs, ws);
    }

    /// The set a transition at `epoch` elects for epoch + 1 on this state and block number:
    /// bond ≥ minBond, weight > 0, not jailed at `epoch`; the maxValidators heaviest (ties: lower
    /// address); by address ascending. Empty when nobody is eligible. A view, so consensus can
    /// ask it of an anchor's state (validatorsElectedFor) and get what the transition stores.
    function _elect(uint64 epoch) internal view returns (address[] memory outV, uint256[] memory outW) {
        uint256 n = _candidates.length;
        address[] memory vs = new address[](n);
        uint256[] memory ws = new uint256[](n);
        uint256 m = 0;
        for (uint256 i = n; i > 0; i--) {
            address v = _candidates[i - 1];
            uint256 w = weightOf(v);
            if (_stakes[v].bonded < minBond || w == 0 || _jailedAt(v, epoch)) continue;
            // Insertion by (weight desc, address asc).
            uint256 j = m;
            while (j > 0 && (ws[j - 1] < w || (ws[j - 1] == w && vs[j - 1] > v))) {
                vs[j] = vs[j - 1];
                ws[j] = ws[j - 1];
                j--;
            }
            vs[j] = v;
            ws[j] = w;
            m++;
        }
        if (m > maxValidators) m = maxValidators;
        outV = new address[](m);
        outW = new uint256[](m);
        for (uint256 i = 0; i < m; i++) {
            uint256 j = i;
            while (j > 0 && outV[j - 1] > vs[i]) {
                outV[j] = outV[j - 1];
                outW[j] = outW[j - 1];
                j--;
            }
            outV[j] = vs[i];
            outW[j] = ws[i];
        }
    }

    function _storeSnapshot(uint64 epoch, address[] memory vs, uint256[] memory ws) internal {
        _snapshotEpochs.push(epoch);
        _snapValidators[epoch] = vs;
        _snapWeights[epoch] = ws;
        emit ValidatorSetElected(epoch, vs, ws);
    }

    /// Adds `v` to the candidates; when the list is full, `v` replaces the lightest candidate if
    /// it weighs strictly more (so zero-weight bonds cannot crowd out nodes that did work).
    function _addCandidate(address v) internal {
        if (_candidateSlot[v] != 0) return;
        uint256 n = _candidates.length;
        if (n >= MAX_CANDIDATES) {
            uint256 lightest = type(uint256).max;
            address out;
            for (uint256 i = 0; i < n; i++) {
                uint256 w = weightOf(_candidates[i]);
                if (w < lightest) {
                    lightest = w;
                    out = _candidates[i];
                }
            }
            if (weightOf(v) <= lightest) return;
            _removeCandidate(out);
        }
        _candidates.push(v);
        _candidateSlot[v] = _candidates.length;
        emit CandidateAdded(v);
    }

    function _removeCandidate(address v) internal {
        uint256 slot = _candidateSlot[v];
        if (slot == 0) return;
        address last = _candidates[_candidates.length - 1];
        _candidates[slot - 1] = last;
        _candidateSlot[last] = slot;
        _candidates.pop();
        delete _candidateSlot[v];
        emit CandidateRemoved(v);
    }

    function _pairKey(address client, address worker) internal pure returns (bytes32) {
        return keccak256(abi.encode(client, worker));
    }
}
