// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title WorkerRegistry
/// @notice The workers of the work market: bonds, declared and measured capacity, the automatic
///         and manual rating (decayed with time), the stake-weighted random draw the market
///         assigns jobs and verifiers with, the registry's entry rule (a full registry admits a
///         newcomer whose bond × rating beats its weakest idle worker's by EVICT_MARGIN_BPS), and
///         the treasury every coin of the market is accounted in (genesis/contracts/WorkMarket.md,
///         "Who is drawn").
/// @dev    Invariant (checked by the tests after every step):
///         address(this).balance == totalEscrow + totalBonds + protocolFund + totalCredits.
abstract contract WorkerRegistry {
    // ---------------------------------------------------------------- constants

    uint16 public constant RATING_MAX = 1000;
    uint16 public constant RATING_NEUTRAL = 500;
    /// A new identity's rating, and the least any rating falls to: re-registering under a fresh
    /// address never raises a draw weight (a rating r ≥ RATING_ENTRY decays toward neutral along
    /// the same curve as a fresh one from RATING_ENTRY, never below it). Ratings are earned up.
    uint16 public constant RATING_ENTRY = 100;
    /// Workers are scanned by the draw: the number is bounded so that assignment gas is too. A
    /// full registry stays open: a newcomer displaces its weakest idle worker (register).
    uint256 public constant MAX_WORKERS = 256;
    /// How much more bond × rating a newcomer needs than the weakest idle worker to displace it:
    /// each round of an eviction war costs the bidder 10 % more stake than the last.
    uint16 public constant EVICT_MARGIN_BPS = 1_000;
    uint256 private constant MARGIN_DENOMINATOR = 10_000;
    /// Measured capacity (compute units per second) recorded; more is not believed.
    uint64 public constant CAPACITY_CAP = 10_000;
    uint8 public constant MAX_SLOTS = 16;
    /// Sessions a worker runs at once start at 1 and grow by one per this many timely accepted
    /// sessions (Worker.timely), up to what it declared: a claim of capacity is believed only as
    /// far as delivered work shows it.
    uint32 public constant TIMELY_PER_SLOT = 4;
    /// What a worker offers beyond the embedded runtime every worker has (Worker.offers bits);
    /// a job's `needs` use the same bits, and only workers offering all of them are drawn for it.
    uint32 public constant OFFERS_DOCKER = 1;
    uint32 public constant OFFERS_GPU = 2;
    /// A job's `needs` = OFFERS_* bits (bits 0–7) | GPUs needed (bits 8–11, up to 15) << 8 |
    /// memory each of them needs in MiB (bits 12–31, up to 1 TiB) << 12. A worker offers only
    /// OFFERS_* bits; the GPU fields are compared with what it announced (setGpus).
    uint32 public constant NEEDS_OFFERS_MASK = 0xff;
    uint256 public constant MAX_ENDPOINT_BYTES = 256;
    /// Images a worker announces (setImages); bounded so that the draw's check stays cheap.
    uint256 public constant MAX_IMAGES = 32;

    /// Why a rating moved (RatingChanged.reason).
    enum RatingReason {
        Success,
        Rejected,
        ControlFailed,
        Expired,
        Abandoned,
        VerifiedCorrectly,
        VerifierFault,
        MinorityVote,
        ClientRating
    }

    struct Worker {
        bool registered;
        /// Sessions it declares it can run at once: the most it gets (slotsOf: what it has earned).
        uint8 slots;
        /// Sessions assigned to it and not yet committed.
        uint8 running;
        /// Rating RATING_ENTRY..RATING_MAX (100..1000) as of `ratedAt` (read it decayed with ratingOf).
        uint16 rating;
        /// Unfinished sessions (as worker) and votes (as verifier): the bond stays locked.
        uint32 pending;
        /// OFFERS_* bits: what it can run besides the embedded runtime (setOffers).
        uint32 offers;
        /// Compute units per second it declared (`povchain compute bench`): shown, never drawn on.
        uint64 capacity;
        uint64 ratedAt;
        uint64 registeredAt;
        /// 0 while active; after requestExit, the time the bond becomes withdrawable.
        uint64 exitAt;
        uint256 bond;
        uint32 successes;
        uint32 failures;
        uint32 controlsPassed;
        uint32 controlsFailed;
        uint32 verifications;
        uint32 verifierFaults;
        uint32 clientRatings;
        uint32 clientStars;
        /// Where its node serves blobs until the network layer does (an RPC URL or a multiaddr).
        string endpoint;
        /// The least it works for, in wei per compute unit (setUnitPrice; 0: any price).
        uint256 minUnitPrice;
        /// Bond held for its pending votes: what a wrong vote on each can cost (wrongVotePenalty
        /// of the job's price). A verifier draw counts only the bond beyond it (freeBondOf).
        uint128 locked;
        /// Accepted sessions committed within half their time, halved by every session it did
        /// not deliver (missed, abandoned, rejected): its slots grow with it (slotsOf).
        uint32 timely;
        /// Compute units per second × 1000, measured over its accepted sessions from assignment
        /// to commitment (moving average, 1/8 per session; capped at CAPACITY_CAP units/s).
        uint64 measuredCapacity;
    }

    /// Why a worker left the registry without asking: who displaced it, when, and the bond that
    /// was credited to it (withdraw()).
    struct Eviction {
        address by;
        uint64 at;
        uint256 bond;
        /// Its bond × rating then, and the newcomer's.
        uint256 standing;
        uint256 newcomerStanding;
    }

    // ---------------------------------------------------------------- errors

    error AlreadyRegistered();
    error NotRegistered();
    error BondTooSmall(uint256 sent, uint256 minimum);
    error BadCapacity();
    error BadSlots();
    error EndpointTooLong();
    /// The registry is full and the sender's bond × rating does not beat the weakest idle worker's
    /// by EVICT_MARGIN_BPS: `bondToEnter` is the least bond that would at the sender's rating
    /// (type(uint256).max: every worker has pending work, nobody can be displaced now).
    error RegistryFull(uint256 bondToEnter);
    error Exiting();
    error NotExiting();
    error UnbondingNotOver(uint64 at);
    error HasPendingWork(uint32 pending);
    error NothingToWithdraw();
    error ZeroValue();
    error Reentrancy();
    error TooManyImages(uint256 max);

    // ---------------------------------------------------------------- events

    event WorkerRegistered(address indexed worker, uint256 bond, uint64 capacity, uint8 slots, string endpoint);
    event WorkerUpdated(address indexed worker, uint64 capacity, uint8 slots, string endpoint);
    event OffersUpdated(address indexed worker, uint32 offers);
    /// What a worker's GPUs are (setGpus): how many, and the memory of the smallest (MiB).
    event GpusUpdated(address indexed worker, uint8 count, uint32 memoryMb);
    /// The image digests (sha256 of the OCI/Docker image reference's digest) a worker holds.
    event ImagesUpdated(address indexed worker, bytes32[] images);
    event UnitPriceUpdated(address indexed worker, uint256 minUnitPrice);
    event BondAdded(address indexed worker, uint256 amount, uint256 bond);
    event ExitRequested(address indexed worker, uint64 exitAt);
    /// A full registry's weakest idle worker was displaced by a newcomer with more bond × rating;
    /// its whole bond was credited to it (withdraw()).
    event WorkerEvicted(address indexed worker, address indexed by, uint256 bond, uint256 standing, uint256 newcomerStanding);
    event BondWithdrawn(address indexed worker, uint256 amount);
    event Slashed(address indexed worker, uint256 amount, bytes32 indexed ref);
    event RatingChanged(address indexed worker, uint16 from, uint16 to, RatingReason reason);
    /// A payment out of the market: sent, or credited for `withdraw` when the transfer failed.
    event Payment(address indexed to, uint256 amount, bool credited, bytes32 indexed ref);
    event Withdrawal(address indexed to, uint256 amount);
    event ProtocolFunded(address indexed from, uint256 amount);

    // ---------------------------------------------------------------- state

    uint256 public immutable minBond;
    uint64 public immutable unbondDelay;
    uint64 public immutable ratingHalfLife;

    mapping(address => Worker) internal _workers;
    address[] internal _workerList;
    /// Image digests each worker announced (setImages): a job naming an image is drawn only among them.
    mapping(address => bytes32[]) internal _imagesOf;
    mapping(address => mapping(bytes32 => bool)) internal _hasImage;
    /// GPUs each worker announced (setGpus): a job needing GPUs is drawn only among those with enough.
    mapping(address => Gpus) public gpusOf;

    /// A worker's GPUs as the draw compares them: `count` GPUs of at least `memoryMb` MiB each.
    struct Gpus {
        uint8 count;
        uint32 memoryMb;
    }
    /// The last time each worker was displaced from the registry (evictionOf).
    mapping(address => Eviction) internal _evictions;

    /// Coins the market holds for others, by purpose (see the invariant above).
    uint256 public totalEscrow;
    uint256 public totalBonds;
    uint256 public protocolFund;
    uint256 public totalCredits;
    mapping(address => uint256) public credits;

    constructor(uint256 minBond_, uint64 unbondDelay_, uint64 ratingHalfLife_) {
        require(ratingHalfLife_ > 0, BadCapacity());
        minBond = minBond_;
        unbondDelay = unbondDelay_;
        ratingHalfLife = ratingHalfLife_;
    }

    /// One guard for every function that moves coins: a recipient cannot re-enter.
    modifier nonReentrant() {
        bool locked;
        assembly {
            locked := tload(0)
        }
        require(!locked, Reentrancy());
        assembly {
            tstore(0, 1)
        }
        _;
        assembly {
            tstore(0, 0)
        }
    }

    // ---------------------------------------------------------------- registration

    /// @notice Registers the sender as a worker with a bond (msg.value ≥ minBond), the capacity it
    ///         claims (`povchain compute bench`, compute units per second: shown, not drawn on),
    ///         the most sessions it runs at once (it starts with one; see slotsOf), and where it
    ///         serves blobs. A full registry admits it by displacing the idle worker (no pending
    ///         session or vote) of least bond × rating, when the sender's bond × rating exceeds
    ///         that by EVICT_MARGIN_BPS; the displaced worker's whole bond is credited to it.
    function register(uint64 capacity, uint8 slots, string calldata endpoint) external payable nonReentrant {
        Worker storage w = _workers[msg.sender];
        require(!w.registered, AlreadyRegistered());
        require(msg.value >= minBond, BondTooSmall(msg.value, minBond));
        _checkParams(capacity, slots, endpoint);
        // A worker that left (or was displaced) and comes back keeps its rating: leaving must not whitewash it.
        // A fresh address starts at the floor, so a new identity cannot whitewash one either.
        if (w.registeredAt == 0) {
            w.rating = RATING_ENTRY;
            w.ratedAt = uint64(block.timestamp);
        }
        if (_workerList.length >= MAX_WORKERS) _evictFor(msg.sender, msg.value * _registryRating(_decayed(w.rating, w.ratedAt)));
        w.registered = true;
        w.bond = msg.value;
        w.capacity = capacity;
        w.slots = slots;
        w.endpoint = endpoint;
        w.registeredAt = uint64(block.timestamp);
        w.exitAt = 0;
        _workerList.push(msg.sender);
        totalBonds += msg.value;
        emit WorkerRegistered(msg.sender, msg.value, capacity, slots, endpoint);
    }

    /// Makes room for `newcomer` (of bond × rating `standing`) by displacing the weakest idle worker.
    function _evictFor(address newcomer, uint256 standing) private {
        (uint256 at, uint256 weakest) = _weakestIdle();
        if (at >= _workerList.length || standing * MARGIN_DENOMINATOR <= weakest * (MARGIN_DENOMINATOR + EVICT_MARGIN_BPS))
            revert RegistryFull(_bondToBeat(at, weakest, _entryRating(newcomer)));
        address victim = _workerList[at];
        _workerList[at] = _workerList[_workerList.length - 1];
        _workerList.pop();
        Worker storage v = _workers[victim];
        uint256 bond = v.bond;
        v.bond = 0;
        v.registered = false;
        v.exitAt = 0;
        totalBonds -= bond;
        credits[victim] += bond;
        totalCredits += bond;
        _evictions[victim] = Eviction(newcomer, uint64(block.timestamp), bond, weakest, standing);
        emit WorkerEvicted(victim, newcomer, bond, weakest, standing);
    }

    /// The idle worker (nothing pending: no session, no vote, so nothing its bond still answers
    /// for) of least bond × rating (a leaving or under-bonded one counts 0); index = length if none.
    function _weakestIdle() private view returns (uint256 at, uint256 weakest) {
        uint256 n = _workerList.length;
        at = n;
        for (uint256 i = 0; i < n; i++) {
            Worker storage w = _workers[_workerList[i]];
            if (w.pending > 0) continue;
            uint256 s = _registryStanding(w);
            if (at == n || s < weakest) {
                at = i;
                weakest = s;
            }
        }
    }

    /// The least bond that displaces `weakest` at `rating`; max when nobody idle or the rating is 0.
    function _bondToBeat(uint256 at, uint256 weakest, uint256 rating) private view returns (uint256) {
        if (at >= _workerList.length || rating == 0) return type(uint256).max;
        uint256 b = (weakest * (MARGIN_DENOMINATOR + EVICT_MARGIN_BPS)) / MARGIN_DENOMINATOR / rating + 1;
        return b < minBond ? minBond : b;
    }

    /// The rating a registration counts in the registry: a returning worker keeps its own (at least neutral, _registryRating).
    function _entryRating(address a) private view returns (uint256) {
        Worker storage w = _workers[a];
        return w.registeredAt == 0 ? RATING_NEUTRAL : _registryRating(_decayed(w.rating, w.ratedAt));
    }

    /// The registry counts a rating below neutral as neutral: a fresh identity starts at
    /// RATING_ENTRY (the draws' answer to whitewashing), and an idle squatter's identities decay
    /// back up to neutral by waiting, so counting ratings below neutral would let an aged squatter
    /// keep out a newcomer with up to 5 × less bond. Ratings above neutral are earned and count.
    function _registryRating(uint256 r) private pure returns (uint256) {
        return r < RATING_NEUTRAL ? RATING_NEUTRAL : r;
    }

    /// Bond × rating as the registry counts it (_registryRating); 0 while leaving or under-bonded.
    function _registryStanding(Worker storage w) private view returns (uint256) {
        if (!_activeWithBond(w)) return 0;
        return w.bond * _registryRating(_decayed(w.rating, w.ratedAt));
    }

    function updateWorker(uint64 capacity, uint8 slots, string calldata endpoint) external {
        Worker storage w = _workers[msg.sender];
        require(w.registered, NotRegistered());
        _checkParams(capacity, slots, endpoint);
        w.capacity = capacity;
        w.slots = slots;
        w.endpoint = endpoint;
        emit WorkerUpdated(msg.sender, capacity, slots, endpoint);
    }

    /// @notice Declares what the sender can run besides the embedded runtime (OFFERS_* bits):
    ///         it is drawn only for jobs whose needs it offers, and clients read it to tell
    ///         whether anyone can run their spec before they post it.
    function setOffers(uint32 offers) external {
        Worker storage w = _workers[msg.sender];
        require(w.registered, NotRegistered());
        w.offers = offers;
        emit OffersUpdated(msg.sender, offers);
    }

    /// @notice Declares the sender's GPUs (the node reads them with nvidia-smi): how many, and the
    ///         memory of the smallest in MiB — one figure for all, so a job asking for n GPUs of
    ///         m MiB is drawn only for workers with count ≥ n and memoryMb ≥ m, whichever of its
    ///         GPUs Docker hands the job. A job's GPU needs travel in its `needs` (NEEDS_GPU_*).
    function setGpus(uint8 count, uint32 memoryMb) external {
        require(_workers[msg.sender].registered, NotRegistered());
        gpusOf[msg.sender] = Gpus(count, memoryMb);
        emit GpusUpdated(msg.sender, count, memoryMb);
    }

    /// @notice Declares the container images (their sha256 digests, as a spec pins them) the
    ///         sender holds and runs: a job that names an image is drawn only among workers that
    ///         announced it. Replaces the previous list.
    function setImages(bytes32[] calldata images) external {
        Worker storage w = _workers[msg.sender];
        require(w.registered, NotRegistered());
        require(images.length <= MAX_IMAGES, TooManyImages(MAX_IMAGES));
        bytes32[] storage old = _imagesOf[msg.sender];
        for (uint256 i = 0; i < old.length; i++) delete _hasImage[msg.sender][old[i]];
        delete _imagesOf[msg.sender];
        for (uint256 i = 0; i < images.length; i++) {
            _hasImage[msg.sender][images[i]] = true;
            _imagesOf[msg.sender].push(images[i]);
        }
        emit ImagesUpdated(msg.sender, images);
    }

    /// @notice The least the sender works for, in wei per compute unit (per replica): it is
    ///         drawn only for jobs whose price per unit meets it. 0 takes any price.
    function setUnitPrice(uint256 minUnitPrice) external {
        Worker storage w = _workers[msg.sender];
        require(w.registered, NotRegistered());
        w.minUnitPrice = minUnitPrice;
        emit UnitPriceUpdated(msg.sender, minUnitPrice);
    }

    function imagesOf(address worker) external view returns (bytes32[] memory) {
        return _imagesOf[worker];
    }

    function addBond() external payable nonReentrant {
        Worker storage w = _workers[msg.sender];
        require(w.registered, NotRegistered());
        require(msg.value > 0, ZeroValue());
        w.bond += msg.value;
        totalBonds += msg.value;
        emit BondAdded(msg.sender, msg.value, w.bond);
    }

    /// @notice Stops new assignments and verifier draws; the bond is withdrawable after
    ///         unbondDelay once every pending session and vote is final (it can still be cut).
    function requestExit() external {
        Worker storage w = _workers[msg.sender];
        require(w.registered, NotRegistered());
        require(w.exitAt == 0, Exiting());
        w.exitAt = uint64(block.timestamp) + unbondDelay;
        emit ExitRequested(msg.sender, w.exitAt);
    }

    function withdrawBond() external nonReentrant {
        Worker storage w = _workers[msg.sender];
        require(w.registered, NotRegistered());
        require(w.exitAt != 0, NotExiting());
        require(block.timestamp >= w.exitAt, UnbondingNotOver(w.exitAt));
        require(w.pending == 0, HasPendingWork(w.pending));
        uint256 amount = w.bond;
        w.bond = 0;
        w.registered = false;
        totalBonds -= amount;
        uint256 n = _workerList.length;
        for (uint256 i = 0; i < n; i++) {
            if (_workerList[i] == msg.sender) {
                _workerList[i] = _workerList[n - 1];
                _workerList.pop();
                break;
            }
        }
        emit BondWithdrawn(msg.sender, amount);
        _pay(msg.sender, amount, bytes32(0));
    }

    /// @notice Pays out what the market credited to the sender (payments whose transfer failed).
    function withdraw() external nonReentrant {
        uint256 amount = credits[msg.sender];
        require(amount > 0, NothingToWithdraw());
        credits[msg.sender] = 0;
        totalCredits -= amount;
        emit Withdrawal(msg.sender, amount);
        (bool ok, ) = msg.sender.call{value: amount}("");
        require(ok, NothingToWithdraw());
    }

    /// @notice Adds to the protocol fund (which pays control tasks and trap rewards).
    function fundProtocol() external payable nonReentrant {
        require(msg.value > 0, ZeroValue());
        protocolFund += msg.value;
        emit ProtocolFunded(msg.sender, msg.value);
    }

    function _checkParams(uint64 capacity, uint8 slots, string calldata endpoint) private pure {
        require(capacity > 0, BadCapacity());
        require(slots > 0 && slots <= MAX_SLOTS, BadSlots());
        require(bytes(endpoint).length <= MAX_ENDPOINT_BYTES, EndpointTooLong());
    }

    // ---------------------------------------------------------------- views

    function getWorker(address worker) external view returns (Worker memory) {
        return _workers[worker];
    }

    function workers() external view returns (address[] memory) {
        return _workerList;
    }

    /// @notice Why `worker` last left the registry without asking (by = 0: never displaced).
    function evictionOf(address worker) external view returns (Eviction memory) {
        return _evictions[worker];
    }

    /// @notice The least bond with which `who` (at its rating; a newcomer's is neutral) can
    ///         register now: minBond while the registry has room, else what displaces its weakest
    ///         idle worker (type(uint256).max when every worker has pending work).
    function bondToEnter(address who) external view returns (uint256) {
        if (_workerList.length < MAX_WORKERS) return minBond;
        (uint256 at, uint256 weakest) = _weakestIdle();
        return _bondToBeat(at, weakest, _entryRating(who));
    }

    /// @notice A worker's weight in the draws — bond × rating (0 while leaving or under-bonded) —
    ///         and the sum over the registry: its share of every draw it is eligible for. A verifier
    ///         draw weighs the free bond instead (freeBondOf), a job draw needs a free slot.
    function drawWeight(address worker) external view returns (uint256 weight, uint256 total) {
        weight = _standing(_workers[worker]);
        for (uint256 i = 0; i < _workerList.length; i++) total += _standing(_workers[_workerList[i]]);
    }

    /// @notice Sessions `worker` may run at once: 1 + timely / TIMELY_PER_SLOT, at most what it declared.
    function slotsOf(address worker) public view returns (uint256) {
        return _slotsOf(_workers[worker]);
    }

    /// @notice The bond not held for pending votes: what a verifier draw weighs and checks.
    function freeBondOf(address worker) external view returns (uint256) {
        return _freeBond(_workers[worker]);
    }

    /// @notice The rating now: the stored rating moved halfway back to neutral every ratingHalfLife.
    function ratingOf(address worker) public view returns (uint16) {
        Worker storage w = _workers[worker];
        if (!w.registered) return 0;
        return _decayed(w.rating, w.ratedAt);
    }

    /// @notice Balance sheet of the market (the invariant's terms).
    function accounting() external view returns (uint256 escrow, uint256 bonds, uint256 fund, uint256 credited, uint256 balance) {
        return (totalEscrow, totalBonds, protocolFund, totalCredits, address(this).balance);
    }

    // ---------------------------------------------------------------- rating

    function _decayed(uint16 r, uint64 at) internal view returns (uint16) {
        uint256 halvings = (block.timestamp - at) / ratingHalfLife;
        if (halvings >= 16) return RATING_NEUTRAL;
        if (r >= RATING_NEUTRAL) return uint16(RATING_NEUTRAL + ((r - RATING_NEUTRAL) >> halvings));
        return uint16(RATING_NEUTRAL - ((RATING_NEUTRAL - r) >> halvings));
    }

    /// Moves the (decayed) rating 1/divisor of the way to `target`.
    function _rate(address worker, uint16 target, uint16 divisor, RatingReason reason) internal {
        Worker storage w = _workers[worker];
        if (!w.registered) return;
        uint16 from = _decayed(w.rating, w.ratedAt);
        uint16 to = target >= from ? from + (target - from + divisor - 1) / divisor : from - (from - target + divisor - 1) / divisor;
        // Never below a fresh identity's: a worker rated lower would gain by re-registering.
        if (to < RATING_ENTRY) to = RATING_ENTRY;
        w.rating = to;
        w.ratedAt = uint64(block.timestamp);
        emit RatingChanged(worker, from, to, reason);
    }

    // ---------------------------------------------------------------- draws

    function _activeWithBond(Worker storage w) internal view returns (bool) {
        return w.registered && w.exitAt == 0 && w.bond >= minBond;
    }

    /// Bond × decayed rating: a worker's standing in the registry and its weight in the draws.
    /// Linear in the bond, so that one bond split over N identities weighs exactly what it
    /// weighs whole (no rounding: the bond is counted in wei); 0 when it cannot be drawn.
    function _standing(Worker storage w) internal view returns (uint256) {
        if (!_activeWithBond(w)) return 0;
        return w.bond * _decayed(w.rating, w.ratedAt);
    }

    function _slotsOf(Worker storage w) internal view returns (uint256) {
        uint256 earned = 1 + uint256(w.timely) / TIMELY_PER_SLOT;
        return earned < w.slots ? earned : w.slots;
    }

    function _freeBond(Worker storage w) internal view returns (uint256) {
        return w.bond > w.locked ? w.bond - w.locked : 0;
    }

    /// Weight of a worker in the draw of a job that needs `needs` (and `image`, unless 0) and
    /// pays `unitPay` wei per compute unit to each worker: bond × rating; 0 when it cannot take
    /// the job (inactive, no free slot of those it earned, short of an offer or of the image, or
    /// the job pays less than the worker's minimum). Declared capacity does not count.
    function _jobWeight(address a, uint32 needs, bytes32 image, uint256 unitPay) internal view returns (uint256) {
        Worker storage w = _workers[a];
        // An idle worker always has its first slot: the earned count (another storage slot) is read only when busy.
        uint32 bits = needs & NEEDS_OFFERS_MASK;
        if (!_activeWithBond(w) || (w.running > 0 && w.running >= _slotsOf(w)) || (w.offers & bits) != bits) return 0;
        // GPUs: read (another storage slot) only for jobs that need them.
        uint32 gpus = (needs >> 8) & 0xf;
        if (gpus > 0) {
            Gpus storage g = gpusOf[a];
            if (g.count < gpus || g.memoryMb < needs >> 12) return 0;
        }
        if (image != bytes32(0) && !_hasImage[a][image]) return 0;
        if (unitPay < w.minUnitPrice) return 0;
        return w.bond * _decayed(w.rating, w.ratedAt);
    }

    /// Weight of a worker in a verifier draw whose wrong vote can cost `stake`: free bond × rating;
    /// 0 when it cannot verify or its free bond does not cover the stake.
    function _verifierWeight(address a, uint256 stake) internal view returns (uint256) {
        Worker storage w = _workers[a];
        if (!_activeWithBond(w)) return 0;
        // Nothing pending, nothing held: the held amount (another storage slot) is read only when needed.
        uint256 free = w.pending == 0 ? w.bond : _freeBond(w);
        if (free < stake) return 0;
        return free * _decayed(w.rating, w.ratedAt);
    }

    /// Holds `amount` of a drawn verifier's bond until its vote is judged (_unlock).
    function _lock(address a, uint256 amount) internal {
        _workers[a].locked += uint128(amount);
    }

    function _unlock(address a, uint256 amount) internal {
        Worker storage w = _workers[a];
        w.locked = amount >= w.locked ? 0 : w.locked - uint128(amount);
    }

    /// An accepted session of `units` committed `took` seconds after assignment (of `maxDuration`
    /// allowed): within half the time it earns toward a slot; its speed feeds the measured capacity.
    function _delivered(address a, uint64 units, uint64 took, uint64 maxDuration) internal {
        Worker storage w = _workers[a];
        if (took <= maxDuration / 2 && w.timely < type(uint32).max) w.timely++;
        uint256 rate = (uint256(units) * 1000) / (took > 0 ? took : 1);
        if (rate > uint256(CAPACITY_CAP) * 1000) rate = uint256(CAPACITY_CAP) * 1000;
        w.measuredCapacity = uint64(w.measuredCapacity == 0 ? rate : (uint256(w.measuredCapacity) * 7 + rate) / 8);
    }

    /// A session it did not deliver (missed, abandoned, rejected): half its earned slots go.
    function _undelivered(address a) internal {
        _workers[a].timely /= 2;
    }

    // ---------------------------------------------------------------- treasury

    /// Cuts up to `amount` of a bond; returns what was cut (the caller decides where it goes).
    function _cutBond(address worker, uint256 amount, bytes32 ref) internal returns (uint256 cut) {
        Worker storage w = _workers[worker];
        cut = amount > w.bond ? w.bond : amount;
        if (cut == 0) return 0;
        w.bond -= cut;
        totalBonds -= cut;
        emit Slashed(worker, cut, ref);
    }

    /// Sends coins already taken out of escrow, bonds or the fund; a failing recipient is credited.
    function _pay(address to, uint256 amount, bytes32 ref) internal {
        if (amount == 0) return;
        (bool ok, ) = to.call{value: amount, gas: 30_000}("");
        if (!ok) {
            credits[to] += amount;
            totalCredits += amount;
        }
        emit Payment(to, amount, !ok, ref);
    }
}
