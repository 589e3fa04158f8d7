// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Bytes32Set} from "./WorkMarketSets.sol";
import {WorkerRegistry} from "./WorkMarketWorkers.sol";
import {ReplicaAgreement, ToleranceMetric} from "./WorkMarketReplicas.sol";
import {IValidatorSetReceipts} from "./ValidatorSetHook.sol";

/// @title WorkMarket
/// @notice Proof of Value, steps 1–4: a client posts a job (spec hash, price in escrow,
///         deadline, verifier count); the contract — never the client — draws a worker by
///         bond × rating among those with a free slot; the worker commits its result, checkpoint Merkle root and
///         metrics; verifiers (and, off chain, the segments they re-execute) are drawn; verifiers
///         vote by commit and reveal; finalisation pays the
///         worker, the verifiers and the protocol and records a work receipt, or cuts the
///         worker's bond and reassigns the job. Control tasks (client jobs whose answer the
///         bonded control issuer sealed in advance, told apart from any job only once opened)
///         test workers; hidden traps (wrong results committed by the issuer's identities) test
///         verifiers. An opened answer decides only when no revealed vote disputes it; disputed,
///         a fresh panel re-executes and the issuer's bond pays when the panel refutes it.
///         Documented in genesis/contracts/WorkMarket.md and market/worker/README.md.
///
///         Every draw (the worker of a job, the verifiers of a session, hence each verifier's
///         segment sample) is made by the protocol itself: the act that calls for it (posting or
///         reopening a job, committing a result, a tied round) only schedules it DRAW_DELAY blocks
///         ahead, and consensus's per-block system call `onBlock` makes it at the start of that
///         block, before its transactions, with that block's PREVRANDAO over the state the
///         previous block left. Nobody triggers it, nobody can retry it, and nobody who acted
///         could see its randomness when acting (genesis/contracts/WorkMarket.md, "Draws").
contract WorkMarket is WorkerRegistry {
    using Bytes32Set for Bytes32Set.Set;

    uint8 public constant MAX_VERIFIERS = 8;
    /// Replicas a redundancy or tolerance job may ask for (k); a disagreement draws k + 1 more,
    /// so at most MAX_REPLICA_TOTAL ever run one job.
    uint8 public constant MAX_REPLICAS = 4;
    uint8 public constant MAX_REPLICA_TOTAL = 9;
    /// Verification rounds: a tie in round 0 is decided by a larger, odd panel in round 1; a tie
    /// in the last round rejects the session (a result is accepted only by a strict majority).
    uint8 public constant MAX_ROUNDS = 2;
    /// Blocks between the act that calls for a draw and the block whose PREVRANDAO makes it.
    /// To foresee a draw when acting, a producer would have to seal all DRAW_DELAY + 1 blocks
    /// from its own transaction's block to the draw's (it knows its own VRF outputs, no one
    /// else's); with weight share w that is w^(DRAW_DELAY+1) per slot.
    uint64 public constant DRAW_DELAY = 4;
    /// Consensus's system calls come from this address (as EIP-4788's), never a transaction.
    address public constant SYSTEM_ADDRESS = address(uint160(type(uint160).max - 1));
    /// Seconds from the last vote commitment of a round before it may be finalised early (all
    /// revealed): the issuer's window to open a control task's answer or a hidden trap, the same
    /// for every session so that it tells nothing.
    uint64 public constant OPEN_GRACE = 4;
    /// The control issuer must hold ISSUER_BOND_FACTOR × minBond in the market to open a claim.
    uint256 public constant ISSUER_BOND_FACTOR = 10;
    /// Seals registerSeals takes at once (the issuer mixes dummies in).
    uint256 public constant MAX_SEALS = 64;
    /// onBlock stops drawing when less gas than this is left (the rest waits for the next block).
    uint256 internal constant DRAW_GAS_RESERVE = 3_000_000;
    uint16 internal constant BPS = 10_000;
    /// revealFinding's segment when a reject names none (a whole-session fault: result, metrics,
    /// initial state, unavailable checkpoints) or the vote accepts.
    uint32 public constant NO_SEGMENT = type(uint32).max;
    /// The sample floor the contract recomputes (sampleFloor): a verifier's declared sample excuses
    /// a missed forgery only if it is at least what catches a quarter forged 95 % of the time
    /// (compute's DEFAULT_SAMPLING_POLICY).
    uint256 internal constant FLOOR_FAULT_BPS = 2_500;
    uint256 internal constant FLOOR_MISS_WAD = 0.05e18;
    /// The per-session bound every verifier's sample serves (WorkMarket.md "The per-session bound"):
    /// a session with at least BOUND_FORGED_BPS of its segments forged is accepted with probability
    /// at most BOUND_ACCEPT_WAD / 1e18 when every verifier of the round re-executes boundSamples.
    uint256 internal constant BOUND_FORGED_BPS = 1_000;
    uint256 internal constant BOUND_ACCEPT_WAD = 1e12; // 10⁻⁶
    /// The most segments a re-execution session may commit (checkpointCount − 1): the contract
    /// recomputes samples of up to this many segments (memory), so that every session's verifiers
    /// can be judged by the fraud-proof rule; a commitment above it reverts (TooManySegments).
    uint256 public constant MAX_SAMPLED_SEGMENTS = 4096;
    /// The most segments one revealFindings names (storage): a verifier that found more names its lowest MAX_NAMED.
    uint256 public constant MAX_NAMED = 32;
    /// The ValidatorSet system contract (genesis places it; absent, receipts credit no weight).
    address internal constant VALIDATOR_SET = address(0xA00);

    enum JobStatus {
        None,
        Open, // waiting for a worker
        Running, // a session is assigned or being verified
        Accepted, // paid; final
        Refunded // returned to the client (or the protocol fund); final
    }

    enum SessionStatus {
        None,
        Assigned,
        Committed,
        Accepted,
        Rejected,
        Expired,
        /// Replica jobs: the worker committed the hash of its result (commitReplica), not the result.
        Sealed,
        /// Replica jobs: the worker opened its result (revealReplica); judged when the job settles.
        Revealed
    }

    /// How a job's result is checked (compute/README.md, "Verification modes"). Reexecution: one
    /// worker, verifiers re-execute sampled segments (deterministic built-in workloads).
    /// Redundant: k drawn workers each run it and must agree bit for bit. Tolerance: k drawn
    /// workers each run it and must agree on a metric within epsilon.
    enum VerificationMode {
        Reexecution,
        Redundant,
        Tolerance
    }

    enum Verdict {
        None,
        Accept,
        Reject
    }

    struct Config {
        uint256 minBond;
        uint256 minJobPrice;
        /// Wei per compute unit quoted before any job has set a price.
        uint256 defaultUnitPrice;
        /// Share of the price for the verifiers that voted with the outcome.
        uint16 verifierFeeBps;
        /// Share of the price the protocol keeps (what consensus counts as the cost of a receipt).
        uint16 protocolFeeBps;
        /// Share of its bond a worker loses when its session is rejected.
        uint16 slashBps;
        /// Sessions a job may go through before it is refunded.
        uint8 maxAttempts;
        /// Bond cut for a missed commitment, a missing vote, or a wrong vote on a known answer.
        uint256 faultPenalty;
        /// Paid from the fund to each verifier that rejects a trap.
        uint256 trapReward;
        uint64 voteWindow;
        uint64 revealWindow;
        uint64 unbondDelay;
        uint64 ratingHalfLife;
        /// Registers control seals, opens hidden traps; bonded (bondIssuer) and cut when refuted.
        address controlIssuer;
        /// Most the fund reimburses control tasks' clients per controlPeriod.
        uint256 controlBudget;
        uint64 controlPeriod;
        /// A verifier is drawn for a job only while its free bond is at least this many times the
        /// job's price (and covers wrongVotePenalty): what a wrong vote on a known answer costs it
        /// (slashBps of the bond) then grows with the price it verifies (WorkMarket.md, section 3).
        uint16 verifierBondRatio;
    }

    /// A receipt placed by genesis so a new network has producers (consensus bootstrap).
    struct GenesisReceipt {
        address worker;
        bytes32 jobId;
        bytes32 sessionId;
        uint256 value;
    }

    struct Job {
        address client;
        JobStatus status;
        bool control;
        bool rated;
        uint8 verifiers;
        uint8 attempts;
        uint64 deadline;
        uint64 maxDuration;
        uint64 units;
        uint64 postedAt;
        /// While open: the block whose randomness draws its worker (0: no draw scheduled).
        uint64 drawBlock;
        /// OFFERS_* bits a worker must offer to be drawn for it (0: the embedded runtime suffices).
        uint32 needs;
        uint256 price;
        bytes32 specHash;
        bytes32 workloadId;
        /// Control tasks, once opened (zero before): controlSeal(jobId, answer, salt).
        bytes32 sealedAnswer;
        /// Control tasks: the salt, once the client opened the seal (openControl).
        bytes32 controlSalt;
        /// The current (or the accepted) session.
        bytes32 session;
        VerificationMode mode;
        /// Redundant/Tolerance: the workers drawn in round 0 (k); 0 for Reexecution.
        uint8 replicas;
        /// Tolerance: the largest distance from the median metric that still agrees, in nano-units.
        uint64 epsilon;
        /// sha256 digest of the container image the spec pins (0: none): only workers that
        /// announced it (setImages) are drawn.
        bytes32 image;
    }

    /// What a worker commits (compute/verify/SessionCommitment.ts).
    struct Commitment {
        uint64 checkpointInterval;
        uint64 totalSteps;
        uint64 checkpointCount;
        bytes32 checkpointRoot;
        bytes32 resultHash;
        bytes32 metricsHash;
        /// Blob hash of the worker's session record, where verifiers find the checkpoints.
        bytes32 manifest;
        /// Random-looking to all but the worker: trapSeal(sessionId, salt) when the session is a
        /// hidden trap of the control issuer (openTrap opens it after the votes); any other value
        /// otherwise (honest nodes put random bytes). Not part of `commitment`.
        bytes32 seal;
        /// commitmentHash(specHash, …): checked on chain.
        bytes32 commitment;
    }

    struct Session {
        bytes32 jobId;
        address worker;
        SessionStatus status;
        bool trap;
        uint8 round;
        uint64 assignedAt;
        uint64 commitBy;
        uint64 committedAt;
        uint64 commitBlock;
        uint64 selectedBlock;
        uint64 votesBy;
        uint64 revealBy;
        uint64 finalizedAt;
        /// The block whose randomness draws the next round's verifiers (0: no draw scheduled).
        uint64 drawBlock;
        /// PREVRANDAO of the draw block mixed with the session and round; seeds the verifier draw
        /// and, through verifierSeed, each verifier's segment sample.
        bytes32 randomness;
        Commitment result;
        address[] verifiers;
        /// Round 0's verifiers after a tie: judged with round 1's against the final outcome.
        address[] previous;
    }

    /// A scheduled draw: a job's worker(s) (kind 0), a session's verifiers (1), or a replica job's escalation (2).
    struct Draw {
        bytes32 id;
        uint64 dueBlock;
        uint8 kind;
    }

    /// The replicas of a Redundant or Tolerance job: round 0 draws k workers; if they do not all
    /// reveal one agreeing result, round 1 draws k + 1 more and the majority of all decides.
    struct Replicas {
        uint8 round;
        /// Index in `sessions` where the current round's replicas start.
        uint8 roundStart;
        /// The current round's replicas seal by then.
        uint64 commitBy;
        /// When the current round's last seal arrived (0 until all sealed): reveals are open from then.
        uint64 sealedAt;
        /// The block whose randomness draws round 1 (0: none scheduled).
        uint64 drawBlock;
        /// Every replica session of the job, both rounds.
        bytes32[] sessions;
        /// Tolerance: the spec's metric name (ASCII, right-padded), read from each replica's metrics at reveal.
        bytes32 metricKey;
    }

    struct Vote {
        bytes32 hash;
        Verdict verdict;
        /// A reject's fraud claim (revealFinding): the mismatching segment + 1 (0: none named).
        /// Round 1's panel re-executes every segment round 0 named (claimedSegments).
        uint32 named;
        /// How many segments of its seeded order the verifier says it re-executed (0: not stated):
        /// its sample is the first `samples` of sampleOrder, which the contract recomputes.
        uint32 samples;
    }

    /// What the deciding round found (the fraud-proof rule, WorkMarket.md "Fraud proofs"): the
    /// segment a strict majority of its votes named as forged (+1; 0: none) and every segment
    /// its rejects named (+1), for a reject; panel: decided by round 1, whose members all
    /// re-executed the segments round 0 named.
    struct Finding {
        uint32 proven;
        /// Every segment (+1) a strict majority of the panel named (proven holds the first).
        uint32[] provenSet;
        uint32[] named;
        bool panel;
        /// Memory the sample recomputation reuses for every verifier judged (allocated once).
        uint256[] scratch;
        /// The round being judged: its verifier count and samplesDue(m, that count) (0: not computed yet).
        uint256 verifiers;
        uint256 due;
        /// The panel was drawn because round 0's accepts fell short (sampleShort): no claim led it,
        /// so its members named what their own samples found and a majority rarely names one segment.
        bool afterShort;
    }

    /// The fact consensus turns into producer weight (read with getReceipt / isAcceptedReceipt).
    struct WorkReceipt {
        bytes32 jobId;
        bytes32 sessionId;
        address worker;
        address client;
        /// The price paid for the work (0 for a rejected session).
        uint256 value;
        /// What the protocol kept of the price.
        uint256 protocolFee;
        bytes32 workloadId;
        uint64 blockNumber;
        uint64 timestamp;
        SessionStatus status;
        bool control;
        /// How the result was verified: consensus weighs receipts by it (ValidatorSet.modeWeightBps).
        VerificationMode mode;
    }

    // ---------------------------------------------------------------- errors

    error PriceTooLow(uint256 price, uint256 minimum);
    error BadSpec();
    error BadDeadline();
    error BadDuration();
    error BadVerifierCount();
    error UnknownJob();
    error UnknownSession();
    error WrongJobStatus(JobStatus status);
    error WrongSessionStatus(SessionStatus status);
    error NotClient();
    error NotSessionWorker();
    error NotVerifier();
    error NotIssuer();
    error NoWorkerAvailable();
    error NoVerifierAvailable();
    error NotExpired();
    error CommitTooLate(uint64 commitBy);
    error BadCommitment(bytes32 expected);
    error VerificationAlreadyOpen();
    error VerificationNotOpen();
    error VoteClosed();
    error AlreadyVoted();
    error RevealNotOpen();
    error NoVoteCommitted();
    error AlreadyRevealed();
    error VoteMismatch();
    error VotingNotOver();
    error AlreadyRated();
    error BadStars();
    error SealNotRegistered();
    error IssuerBondTooSmall(uint256 bond, uint256 minimum);
    error IssuerExiting();
    error IssuerHasClaims(uint32 claims);
    error ControlBudgetExceeded(uint256 remaining);
    error FundTooSmall(uint256 fund);
    error BadConfig();
    error SaltAlreadyOpened();
    error BadSeal();
    error NotSystem(address caller);
    error DrawPending(uint64 drawBlock);
    error WrongMode(VerificationMode mode);
    error BadReplicaCount();
    error SealMismatch();
    /// Tolerance: the revealed metrics do not hash to the committed metricsHash.
    error MetricsMismatch(bytes32 committed);
    /// Tolerance: the revealed metric is not the one the revealed metrics hold.
    error MetricMismatch(int256 inMetrics);
    error RevealNotOpenYet();
    error RevealClosed(uint64 revealBy);
    error RoundNotOver(uint64 revealBy);
    /// revealFinding: an accept names a segment, or a reject names one the session does not have.
    error BadFinding(uint32 segment, uint64 segments);
    /// commitResult: more segments than the contract can judge samples of (MAX_SAMPLED_SEGMENTS).
    /// A plain revealVote cannot accept: an accept declares its sample (revealFinding / revealFindings)
    /// and answers for it (WorkMarket.md, "The silent-verifier rule").
    error AcceptNeedsSample();
    error TooManySegments(uint64 segments, uint256 maximum);

    // ---------------------------------------------------------------- events

    /// Carries nothing that tells a control task from a client's job (control is learnt at openControl).
    event JobPosted(bytes32 indexed jobId, address indexed client, bytes32 specHash, bytes32 workloadId, uint256 price, uint64 deadline, uint64 maxDuration, uint64 units, uint8 verifiers);
    event JobAssigned(bytes32 indexed jobId, bytes32 indexed sessionId, address indexed worker, uint8 attempt, uint64 commitBy);
    event ResultCommitted(bytes32 indexed sessionId, bytes32 indexed jobId, address indexed worker, bytes32 commitment, bytes32 resultHash, bytes32 checkpointRoot, bytes32 manifest);
    event SessionExpired(bytes32 indexed sessionId, bytes32 indexed jobId, address indexed worker, bool abandoned);
    /// A draw was scheduled: made at the start of block `drawBlock` (of a job's worker, or of a session's verifiers).
    event DrawScheduled(bytes32 indexed id, bool verifiers, uint64 drawBlock);
    /// A session's verifier draw found nobody eligible (openVerification schedules another).
    event NoVerifierDrawn(bytes32 indexed sessionId, uint8 round);
    event VerifiersSelected(bytes32 indexed sessionId, uint8 round, bytes32 randomness, address[] verifiers, uint64 votesBy, uint64 revealBy);
    event VoteCommitted(bytes32 indexed sessionId, address indexed verifier, uint8 round);
    event VoteRevealed(bytes32 indexed sessionId, address indexed verifier, uint8 round, bool accept);
    /// A revealed vote's finding: the segment a reject names (NO_SEGMENT: none) and the sample size the verifier declares.
    event FindingRevealed(bytes32 indexed sessionId, address indexed verifier, uint8 round, uint32 segment, uint32 samples);
    /// A minority accept whose declared sample held none of the segments the outcome named: a miss, not a lazy vote (no cut).
    event VerifierExcused(bytes32 indexed sessionId, address indexed verifier, uint32 proven);
    /// correct: voted with the outcome; faulted: bond cut (no vote, or a wrong vote on a known answer).
    event VerifierJudged(bytes32 indexed sessionId, address indexed verifier, bool correct, bool faulted);
    event VerificationRestarted(bytes32 indexed sessionId, uint8 round);
    /// The silent-verifier rule: round 0's revealed accepts did not declare enough sample to
    /// reach the per-session bound (boundCovered); a fresh panel decides.
    event SampleShort(bytes32 indexed sessionId, uint8 round);
    /// A control task's seal opened by its client: from now on the job is known as control, and its client was reimbursed.
    event ControlOpened(bytes32 indexed jobId, bytes32 salt, bytes32 answer, uint256 reimbursed);
    /// The issuer registered `count` control seals (real ones mixed with dummies; none names a job).
    event SealsRegistered(uint256 count);
    event IssuerBonded(uint256 amount, uint256 bond);
    event IssuerExitRequested(uint64 exitAt);
    /// A panel's majority refuted an opened claim (control answer or trap): the issuer's bond was cut.
    event IssuerRefuted(bytes32 indexed sessionId, bytes32 indexed jobId, uint256 cut);
    /// A hidden trap opened after the votes were committed: the session's result is known to be wrong.
    event TrapOpened(bytes32 indexed sessionId, bytes32 indexed jobId);
    event SessionFinalized(bytes32 indexed sessionId, bytes32 indexed jobId, address indexed worker, SessionStatus status, uint256 value, uint256 protocolFee);
    event JobReopened(bytes32 indexed jobId, uint8 attempts);
    event JobAccepted(bytes32 indexed jobId, bytes32 indexed sessionId, address indexed worker);
    event JobRefunded(bytes32 indexed jobId, address indexed client, uint256 amount);
    event WorkerRated(bytes32 indexed jobId, address indexed worker, uint8 stars);
    /// A replica job was posted (after its JobPosted): its mode, k, epsilon and image.
    event ReplicaJobPosted(bytes32 indexed jobId, VerificationMode mode, uint8 replicas, uint64 epsilon, bytes32 image);
    event ReplicaSealed(bytes32 indexed sessionId, bytes32 indexed jobId, address indexed worker, bytes32 seal);
    event ReplicaRevealed(bytes32 indexed sessionId, bytes32 indexed jobId, address indexed worker, bytes32 commitment, bytes32 resultHash, int256 metric);
    /// Round 0 did not agree: `extra` more replicas are drawn DRAW_DELAY blocks later.
    event ReplicasEscalated(bytes32 indexed jobId, uint8 extra, uint64 drawBlock);
    /// accepted: a majority agreed (`agreeing` of `revealed`); otherwise the client was refunded.
    event ReplicasSettled(bytes32 indexed jobId, bool accepted, uint8 agreeing, uint8 revealed);

    // ---------------------------------------------------------------- state

    uint256 public immutable minJobPrice;
    uint256 public immutable defaultUnitPrice;
    uint16 public immutable verifierFeeBps;
    uint16 public immutable protocolFeeBps;
    uint16 public immutable slashBps;
    uint8 public immutable maxAttempts;
    uint256 public immutable faultPenalty;
    uint256 public immutable trapReward;
    uint64 public immutable voteWindow;
    uint64 public immutable revealWindow;
    address public immutable controlIssuer;
    uint256 public immutable controlBudget;
    uint64 public immutable controlPeriod;
    uint16 public immutable verifierBondRatio;

    mapping(bytes32 => Job) internal _jobs;
    mapping(bytes32 => Session) internal _sessions;
    mapping(bytes32 => mapping(uint8 => mapping(address => Vote))) internal _votes;
    /// revealFindings: every segment (ascending, + 1) a reject found forged, when it named more than one.
    mapping(bytes32 => mapping(uint8 => mapping(address => uint32[]))) internal _namedAll;
    mapping(bytes32 => WorkReceipt) internal _receipts;
    mapping(address => bytes32[]) internal _receiptsOf;
    mapping(address => bytes32[]) internal _clientJobs;
    mapping(bytes32 => bytes32[]) internal _jobSessions;
    /// Workers that already had a session of the job: never drawn for it again.
    mapping(bytes32 => mapping(address => bool)) internal _tried;
    mapping(address => uint256) public jobNonce;
    mapping(address => Bytes32Set.Set) internal _workerSessions;
    mapping(address => Bytes32Set.Set) internal _verifierSessions;
    Bytes32Set.Set internal _openJobs;
    /// Open jobs not known as control tasks (an unopened control task counts: nothing tells it apart).
    uint256 public openClientJobs;
    /// Moving average of accepted prices per compute unit (wei), for estimates.
    uint256 public unitPriceAverage;
    uint64 public controlPeriodStart;
    uint256 public controlSpent;
    /// The control issuer's bond (counted in totalBonds): at least issuerMinBond to open a claim.
    uint256 public issuerBond;
    uint256 public immutable issuerMinBond;
    /// Opened claims not decided yet (control jobs not final, trap sessions not final): the bond stays.
    uint32 public issuerClaims;
    /// 0 while the issuer may claim; after requestIssuerExit, when its bond can be withdrawn.
    uint64 public issuerExitAt;
    /// When the issuer registered a control seal (0: never): a job's seal must predate the job.
    mapping(bytes32 => uint64) public sealRegisteredAt;
    /// When a session's current round got its last vote commitment (0 until all are in).
    mapping(bytes32 => uint64) public votesInAt;
    /// Sessions whose round 0 went to a panel because its accepts fell short of the bound (no reject, no claim).
    mapping(bytes32 => bool) public sampleShort;
    /// The draw queue (FIFO; due blocks never decrease): [drawHead, drawTail).
    mapping(uint256 => Draw) internal _drawQueue;
    uint64 public drawHead;
    uint64 public drawTail;
    mapping(bytes32 => Replicas) internal _replicas;
    /// A replica session's sealed result: replicaSealHash(sessionId, commitment, metric, salt).
    mapping(bytes32 => bytes32) public replicaSeal;
    /// A revealed replica's metric (Tolerance; nano-units).
    mapping(bytes32 => int256) public replicaMetric;
    /// Each round's randomness (Session.randomness is the current round's): round 0's verifiers'
    /// samples are judged after round 1 was drawn.
    mapping(bytes32 => mapping(uint8 => bytes32)) public roundRandomness;

    constructor(Config memory cfg, GenesisReceipt[] memory genesisReceipts) WorkerRegistry(cfg.minBond, cfg.unbondDelay, cfg.ratingHalfLife) {
        require(uint256(cfg.verifierFeeBps) + cfg.protocolFeeBps <= BPS && cfg.slashBps <= BPS, BadConfig());
        require(cfg.maxAttempts > 0 && cfg.voteWindow > 0 && cfg.revealWindow > 0 && cfg.controlPeriod > 0, BadConfig());
        minJobPrice = cfg.minJobPrice;
        defaultUnitPrice = cfg.defaultUnitPrice;
        verifierFeeBps = cfg.verifierFeeBps;
        protocolFeeBps = cfg.protocolFeeBps;
        slashBps = cfg.slashBps;
        maxAttempts = cfg.maxAttempts;
        faultPenalty = cfg.faultPenalty;
        trapReward = cfg.trapReward;
        voteWindow = cfg.voteWindow;
        revealWindow = cfg.revealWindow;
        controlIssuer = cfg.controlIssuer;
        controlBudget = cfg.controlBudget;
        controlPeriod = cfg.controlPeriod;
        issuerMinBond = cfg.minBond * ISSUER_BOND_FACTOR;
        verifierBondRatio = cfg.verifierBondRatio;
        // Genesis places the contract with a balance: that is the protocol fund.
        protocolFund = address(this).balance;
        for (uint256 i = 0; i < genesisReceipts.length; i++) {
            GenesisReceipt memory g = genesisReceipts[i];
            _receipts[g.sessionId] = WorkReceipt(g.jobId, g.sessionId, g.worker, address(0), g.value, g.value, bytes32(0), uint64(block.number), uint64(block.timestamp), SessionStatus.Accepted, true, VerificationMode.Reexecution);
            _receiptsOf[g.worker].push(g.sessionId);
        }
    }

    modifier onlyIssuer() {
        require(msg.sender == controlIssuer, NotIssuer());
        _;
    }

    // ================================================================ jobs

    /// @notice Posts a job with msg.value in escrow. Its worker is drawn at the start of block
    ///         block.number + DRAW_DELAY (if nobody is free then, anyone may call assign to
    ///         schedule another draw). jobId = keccak256(chainid, client, specHash, client's job
    ///         nonce), so two clients may post the same spec.
    /// @param deadline  unix seconds by which the work must be committed
    /// @param maxDuration seconds a worker has to commit after assignment
    /// @param units     compute units the spec needs (estimates and the price average)
    /// @param verifiers verifiers per session (1..8)
    function postJob(bytes32 specHash, bytes32 workloadId, uint64 deadline, uint64 maxDuration, uint64 units, uint8 verifiers) external payable nonReentrant returns (bytes32 jobId) {
        return _postJob(specHash, workloadId, deadline, maxDuration, units, verifiers, 0);
    }

    /// @notice postJob for a spec that needs more than the embedded runtime: only workers
    ///         offering every bit of `needs` (OFFERS_DOCKER, OFFERS_GPU) are drawn for it.
    function postJobWith(bytes32 specHash, bytes32 workloadId, uint64 deadline, uint64 maxDuration, uint64 units, uint8 verifiers, uint32 needs)
        external
        payable
        nonReentrant
        returns (bytes32 jobId)
    {
        return _postJob(specHash, workloadId, deadline, maxDuration, units, verifiers, needs);
    }

    function _postJob(bytes32 specHash, bytes32 workloadId, uint64 deadline, uint64 maxDuration, uint64 units, uint8 verifiers, uint32 needs) internal returns (bytes32 jobId) {
        require(msg.value >= minJobPrice, PriceTooLow(msg.value, minJobPrice));
        jobId = _newJob(msg.sender, specHash, workloadId, deadline, maxDuration, units, verifiers, msg.value);
        Job storage j = _jobs[jobId];
        j.needs = needs;
        openClientJobs++;
        _scheduleAssign(jobId, j);
    }

    /// @notice Schedules a worker draw for an open job that has none pending (its last draw found
    ///         nobody free); anyone may call. Reverts, so a node can tell with eth_call before
    ///         sending, unless some registered worker could be drawn now.
    function assign(bytes32 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        require(j.status == JobStatus.Open, WrongJobStatus(j.status));
        require(j.drawBlock == 0, DrawPending(j.drawBlock));
        require(block.timestamp + j.maxDuration <= j.deadline, BadDeadline());
        require(_workerCandidates(jobId, j) >= (j.mode == VerificationMode.Reexecution ? 1 : j.replicas), NoWorkerAvailable());
        _scheduleAssign(jobId, j);
    }

    /// @notice Consensus's system call at the start of every block, before its transactions:
    ///         makes the draws due at this block (or earlier, if a previous block ran out of
    ///         gas for them) with this block's PREVRANDAO, oldest first.
    function onBlock() external {
        require(msg.sender == SYSTEM_ADDRESS, NotSystem(msg.sender));
        uint64 head = drawHead;
        uint64 tail = drawTail;
        while (head < tail) {
            Draw memory d = _drawQueue[head];
            if (d.dueBlock > block.number || gasleft() < DRAW_GAS_RESERVE) break;
            delete _drawQueue[head];
            head++;
            if (d.kind == 1) _drawRound(d.id, d.dueBlock);
            else if (d.kind == 2) _drawEscalation(d.id, d.dueBlock);
            else _drawWorker(d.id, d.dueBlock);
        }
        drawHead = head;
    }

    /// @notice The block of the oldest draw not yet made (0 when none waits): a dev node seals
    ///         blocks until it has passed.
    function nextDrawBlock() external view returns (uint64) {
        return drawHead < drawTail ? _drawQueue[drawHead].dueBlock : 0;
    }

    /// @notice Returns the escrow of an open job whose deadline can no longer be met (anyone may call).
    function refund(bytes32 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        require(j.status == JobStatus.Open, WrongJobStatus(j.status));
        require(block.timestamp + j.maxDuration > j.deadline, NotExpired());
        _refund(jobId, j);
    }

    /// @notice The client takes back a job no worker has started.
    function cancel(bytes32 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        require(msg.sender == j.client, NotClient());
        require(j.status == JobStatus.Open, WrongJobStatus(j.status));
        _refund(jobId, j);
    }

    /// @notice The client of an accepted job rates its worker once (1–5 stars).
    function rateWorker(bytes32 jobId, uint8 stars) external nonReentrant {
        Job storage j = _job(jobId);
        require(msg.sender == j.client && !j.control, NotClient());
        require(j.status == JobStatus.Accepted, WrongJobStatus(j.status));
        require(!j.rated, AlreadyRated());
        require(stars >= 1 && stars <= 5, BadStars());
        j.rated = true;
        address worker = _sessions[j.session].worker;
        Worker storage w = _workers[worker];
        w.clientRatings++;
        w.clientStars += stars;
        _rate(worker, uint16(stars - 1) * 250, 8, RatingReason.ClientRating);
        emit WorkerRated(jobId, worker, stars);
    }

    // ================================================================ sessions

    /// @notice The worker commits its session: the fields of compute's SessionCommitment, bound
    ///         by `commitment` (recomputed here), and the blob hash of its session record.
    function commitResult(bytes32 sessionId, Commitment calldata c) external nonReentrant {
        Session storage s = _session(sessionId);
        require(msg.sender == s.worker, NotSessionWorker());
        require(s.status == SessionStatus.Assigned, WrongSessionStatus(s.status));
        require(block.timestamp <= s.commitBy, CommitTooLate(s.commitBy));
        _requireReexecution(_jobs[s.jobId]);
        bytes32 expected = commitmentHash(_jobs[s.jobId].specHash, c);
        require(c.commitment == expected && c.checkpointCount > 0, BadCommitment(expected));
        // Every session's verifiers must be judgeable (excused or proven lazy): bounded sample recomputation.
        require(c.checkpointCount - 1 <= MAX_SAMPLED_SEGMENTS, TooManySegments(c.checkpointCount - 1, MAX_SAMPLED_SEGMENTS));
        s.result = c;
        s.status = SessionStatus.Committed;
        s.committedAt = uint64(block.timestamp);
        s.commitBlock = uint64(block.number);
        _workers[msg.sender].running--;
        emit ResultCommitted(sessionId, s.jobId, msg.sender, c.commitment, c.resultHash, c.checkpointRoot, c.manifest);
        // The verifiers (and their samples) come from a block the worker cannot see now.
        _scheduleRound(sessionId, s);
    }

    /// @notice The worker gives an assigned session up in time (e.g. it restarted and cannot
    ///         finish): a small rating cost and abandonPenalty from the bond (faultPenalty × the
    ///         share of the commit window it held the session); the job is reassigned. After
    ///         commitBy only expire remains, with the whole faultPenalty.
    function abandon(bytes32 sessionId) external nonReentrant {
        Session storage s = _session(sessionId);
        require(msg.sender == s.worker, NotSessionWorker());
        require(s.status == SessionStatus.Assigned, WrongSessionStatus(s.status));
        require(block.timestamp <= s.commitBy, CommitTooLate(s.commitBy));
        _requireReexecution(_jobs[s.jobId]);
        // Holding a session others could have run costs bond: faultPenalty × the share of the
        // commit window held (what missing it costs, at the end), so an earned slot hoarded and
        // abandoned at the commit time costs what a missed one does; one left at once costs ~0.
        protocolFund += _cutBond(s.worker, abandonPenalty(sessionId), sessionId);
        _rate(s.worker, 0, 10, RatingReason.Abandoned);
        _undelivered(s.worker);
        _expire(sessionId, s, true);
    }

    /// @notice What abandoning an assigned session costs now: faultPenalty × (now − assignedAt) /
    ///         (commitBy − assignedAt), rounded up (abandon).
    function abandonPenalty(bytes32 sessionId) public view returns (uint256) {
        Session storage s = _sessions[sessionId];
        if (s.status != SessionStatus.Assigned || block.timestamp <= s.assignedAt) return 0;
        uint256 window = s.commitBy > s.assignedAt ? s.commitBy - s.assignedAt : 1;
        uint256 held = block.timestamp - s.assignedAt;
        if (held > window) held = window;
        return _ceilDiv(faultPenalty * held, window);
    }

    /// @notice Ends a session that missed its commit time (the worker loses faultPenalty and
    ///         rating), or a committed one whose last verifier draw found nobody eligible and
    ///         that nobody could verify before the job's deadline (no penalty: the worker cannot
    ///         bring that about, and every committed session is drawn by the protocol, so there
    ///         is no way to leave one unverified after seeing its draw). Anyone may call.
    function expire(bytes32 sessionId) external nonReentrant {
        Session storage s = _session(sessionId);
        // A replica job's sessions end together, in settleReplicas.
        _requireReexecution(_jobs[s.jobId]);
        if (s.status == SessionStatus.Assigned) {
            require(block.timestamp > s.commitBy, NotExpired());
            Worker storage w = _workers[s.worker];
            w.failures++;
            protocolFund += _cutBond(s.worker, faultPenalty, sessionId);
            _rate(s.worker, 0, 4, RatingReason.Expired);
            _undelivered(s.worker);
            _expire(sessionId, s, false);
        } else {
            require(s.status == SessionStatus.Committed && s.verifiers.length == 0 && s.drawBlock == 0 && !s.trap, WrongSessionStatus(s.status));
            require(block.timestamp > _jobs[s.jobId].deadline + voteWindow + revealWindow, NotExpired());
            _releasePrevious(sessionId, s);
            _expire(sessionId, s, false);
        }
    }

    // ================================================================ verification

    /// @notice Schedules another verifier draw for a committed session whose last draw found
    ///         nobody eligible (the commitment schedules the first one itself); anyone may call.
    ///         Like every draw it is made DRAW_DELAY blocks later by onBlock, so calling it (from
    ///         a contract, in whichever block) shows nothing and chooses nothing.
    function openVerification(bytes32 sessionId) external nonReentrant {
        Session storage s = _session(sessionId);
        require(s.status == SessionStatus.Committed, WrongSessionStatus(s.status));
        require(s.verifiers.length == 0, VerificationAlreadyOpen());
        require(s.drawBlock == 0, DrawPending(s.drawBlock));
        require(_verifierCandidates(s, _jobs[s.jobId].client) > 0, NoVerifierAvailable());
        _scheduleRound(sessionId, s);
    }

    /// @notice A verifier commits voteHash(sessionId, round, verifier, accept, salt).
    function commitVote(bytes32 sessionId, bytes32 hash) external nonReentrant {
        Session storage s = _session(sessionId);
        require(s.status == SessionStatus.Committed && s.verifiers.length > 0, VerificationNotOpen());
        require(_isVerifier(s, msg.sender), NotVerifier());
        require(block.timestamp <= s.votesBy, VoteClosed());
        Vote storage v = _votes[sessionId][s.round][msg.sender];
        require(v.hash == bytes32(0) && hash != bytes32(0), AlreadyVoted());
        v.hash = hash;
        if (_allCommitted(sessionId, s)) votesInAt[sessionId] = uint64(block.timestamp);
        emit VoteCommitted(sessionId, msg.sender, s.round);
    }

    /// @notice Opens a committed vote, once every verifier committed or the vote window closed.
    ///         A vote opened this way names no segment and declares no sample (revealFinding does),
    ///         so it can only reject: an accept must declare the sample it re-executed and answer
    ///         for it (AcceptNeedsSample), else a colluder would be counted samplesDue for nothing.
    function revealVote(bytes32 sessionId, bool accept, bytes32 salt) external nonReentrant {
        require(!accept, AcceptNeedsSample());
        (Session storage s, Vote storage v) = _revealable(sessionId);
        require(v.hash == voteHash(sessionId, s.round, msg.sender, accept, salt), VoteMismatch());
        _reveal(sessionId, s, v, accept);
    }

    /// @notice Opens a vote committed as findingHash: a reject names the segment whose re-executed
    ///         end checkpoint did not match the committed leaf (NO_SEGMENT: a fault of the whole
    ///         session), and every vote declares how many segments of its seeded order
    ///         (sampleOrder) the verifier re-executed. A named segment is a fraud claim: round 1's
    ///         panel re-executes it, and a claim the panel refutes costs what a wrong vote on a known
    ///         answer costs. The declared sample lets a minority accept whose sample held no forged
    ///         segment the outcome named be excused (WorkMarket.md, "Fraud proofs").
    function revealFinding(bytes32 sessionId, bool accept, uint32 segment, uint32 samples, bytes32 salt) external nonReentrant {
        (Session storage s, Vote storage v) = _revealable(sessionId);
        require(v.hash == findingHash(sessionId, s.round, msg.sender, accept, segment, samples, salt), VoteMismatch());
        uint64 m = s.result.checkpointCount - 1;
        require(segment == NO_SEGMENT || (!accept && segment < m), BadFinding(segment, m));
        if (segment != NO_SEGMENT) v.named = segment + 1;
        v.samples = samples;
        emit FindingRevealed(sessionId, msg.sender, s.round, segment, samples);
        _reveal(sessionId, s, v, accept);
    }

    /// @notice Opens a vote committed as findingsHash: as revealFinding, but a reject names EVERY
    ///         segment it found forged (ascending, at most MAX_NAMED: the lowest ones), so that an
    ///         accepter whose declared sample held any of them is not excused (WorkMarket.md,
    ///         "Fraud proofs"). The first (lowest) is the vote's claim a panel re-executes.
    function revealFindings(bytes32 sessionId, bool accept, uint32[] calldata segments, uint32 samples, bytes32 salt) external nonReentrant {
        (Session storage s, Vote storage v) = _revealable(sessionId);
        require(v.hash == findingsHash(sessionId, s.round, msg.sender, accept, segments, samples, salt), VoteMismatch());
        uint64 m = s.result.checkpointCount - 1;
        require(segments.length <= MAX_NAMED && (!accept || segments.length == 0), BadFinding(segments.length > 0 ? segments[0] : NO_SEGMENT, m));
        for (uint256 i = 0; i < segments.length; i++) require(segments[i] < m && (i == 0 || segments[i] > segments[i - 1]), BadFinding(segments[i], m));
        if (segments.length > 0) v.named = segments[0] + 1;
        if (segments.length > 1) {
            uint32[] storage all = _namedAll[sessionId][s.round][msg.sender];
            for (uint256 i = 0; i < segments.length; i++) all.push(segments[i] + 1);
        }
        v.samples = samples;
        emit FindingRevealed(sessionId, msg.sender, s.round, segments.length > 0 ? segments[0] : NO_SEGMENT, samples);
        _reveal(sessionId, s, v, accept);
    }

    /// @notice Every segment a vote named (revealFinding: one; revealFindings: all, ascending).
    function namedSegments(bytes32 sessionId, uint8 round, address verifier) external view returns (uint256[] memory out) {
        uint32[] storage all = _namedAll[sessionId][round][verifier];
        uint32 first = _votes[sessionId][round][verifier].named;
        uint256 n = all.length > 0 ? all.length : (first != 0 ? 1 : 0);
        out = new uint256[](n);
        for (uint256 i = 0; i < n; i++) out[i] = (all.length > 0 ? all[i] : first) - 1;
    }

    function _revealable(bytes32 sessionId) internal view returns (Session storage s, Vote storage v) {
        s = _session(sessionId);
        require(s.status == SessionStatus.Committed && s.verifiers.length > 0, VerificationNotOpen());
        require(_isVerifier(s, msg.sender), NotVerifier());
        require(block.timestamp > s.votesBy || _allCommitted(sessionId, s), RevealNotOpen());
        require(block.timestamp <= s.revealBy, VoteClosed());
        v = _votes[sessionId][s.round][msg.sender];
        require(v.hash != bytes32(0), NoVoteCommitted());
        require(v.verdict == Verdict.None, AlreadyRevealed());
    }

    function _reveal(bytes32 sessionId, Session storage s, Vote storage v, bool accept) internal {
        v.verdict = accept ? Verdict.Accept : Verdict.Reject;
        emit VoteRevealed(sessionId, msg.sender, s.round, accept);
    }

    /// How a round ended. truth: the verdict (None: nobody voted); known: the voters are judged
    /// against a known answer (an undisputed claim, or one a panel's majority confirmed); tie:
    /// round 1 must decide; refuted: a panel's majority decided against the issuer's claim;
    /// unjudged: the verdict is the trap's worker's own admission, nobody is judged on it.
    struct Outcome {
        Verdict truth;
        bool known;
        bool tie;
        bool refuted;
        bool unjudged;
        /// The majority accepted but its accepts' samples did not reach the bound (boundCovered).
        bool sampleShort;
    }

    /// @notice Decides a session once every vote is revealed or the reveal window closed
    ///         (anyone may call). An opened claim of the issuer (control answer, hidden trap)
    ///         decides round 0 only when no revealed vote disputes it (and, for a control task,
    ///         the worker's result is the sealed answer); disputed, it goes to round 1 like a tie.
    ///         Otherwise a strict majority of the revealed votes decides. A tie in round 0 goes to
    ///         a fresh, larger and odd panel (round 1), and round 0's voters are judged with
    ///         round 1's against its outcome — so forcing a tie costs the one who forced it; a
    ///         tie in the last round rejects the session. A round without a single vote (every
    ///         verifier faulted) is drawn again, and after the last round the session expires.
    function finalize(bytes32 sessionId) external nonReentrant {
        Session storage s = _session(sessionId);
        require(s.status == SessionStatus.Committed && s.verifiers.length > 0, VerificationNotOpen());
        require(block.timestamp > s.revealBy || (_allRevealed(sessionId, s) && block.timestamp >= votesInAt[sessionId] + OPEN_GRACE), VotingNotOver());
        Job storage j = _jobs[s.jobId];
        Outcome memory o = _outcome(sessionId, s, j);
        if (o.sampleShort) {
            sampleShort[sessionId] = true;
            emit SampleShort(sessionId, s.round);
        }
        if (o.tie) {
            // Round 0's panel waits for round 1's verdict (and is judged by it).
            _escalate(sessionId, s);
            return;
        }
        if (o.truth == Verdict.None) {
            _judgeVerifiers(sessionId, s.round, s.verifiers, Verdict.None, false, j, _noFinding());
            if (s.round + 1 < MAX_ROUNDS) {
                s.round++;
                delete s.verifiers;
                emit VerificationRestarted(sessionId, s.round);
                _scheduleRound(sessionId, s);
            } else {
                _releasePrevious(sessionId, s);
                _expire(sessionId, s, false);
            }
            return;
        }
        _settle(sessionId, s, j, o);
    }

    /// The outcome of the current round (Outcome). A claim the re-execution of others disputes
    /// never decides by itself: a fresh panel does, and the claim is judged by it; with nobody
    /// left to draw the claim is set aside and the votes decide as for any job (a disputed trap
    /// is still rejected — its worker's own admission — but nobody is judged on it). A tie in the
    /// last round, or with nobody left to draw, is a reject: the session failed to win a majority.
    function _outcome(bytes32 sessionId, Session storage s, Job storage j) internal view returns (Outcome memory o) {
        Verdict claim = _claimOf(s, j);
        (uint256 acc, uint256 rej) = _tally(sessionId, s);
        if (claim != Verdict.None && s.round == 0) {
            // Disputed: a revealed vote against the claim, or a control worker whose result it calls wrong.
            bool disputed = (claim == Verdict.Accept ? rej : acc) > 0 || (j.control && claim == Verdict.Reject);
            if (!disputed) return Outcome(claim, true, false, false, false, false);
            if (_canEscalate(s, j)) return Outcome(Verdict.None, false, true, false, false, false);
            if (s.trap) return Outcome(Verdict.Reject, false, false, false, true, false);
            claim = Verdict.None;
        }
        if (acc == 0 && rej == 0) return o;
        // Union, not majority: any revealed reject in round 0 goes to a fresh, larger panel that
        // re-executes the segments the rejects named. One verifier that found a forged segment is
        // not outvoted by accepters that may not have looked (lazy, or the worker's colluders), and
        // no worker is cut on the word of round 0 alone (a false claim costs its claimant).
        if (rej > 0 && _canEscalate(s, j)) {
            o.tie = true;
            return o;
        }
        o.truth = acc > rej ? Verdict.Accept : Verdict.Reject;
        // The silent-verifier rule: the per-session bound is the union of round 0's samples; a
        // verifier that stays silent (a colluder pays only faultPenalty) shrinks it. Round 0's
        // accept stands only when its revealed accepts' declared samples together reach the bound:
        // else a fresh panel decides, as after a reject. Round 1 is decided by its majority, as
        // before; with nobody fresh to draw, round 0's majority decides as before. Claims keep
        // their rule (a known answer needs no sample).
        if (o.truth == Verdict.Accept && claim == Verdict.None && s.round == 0 && !_covered(sessionId, s) && _canEscalate(s, j)) {
            o.truth = Verdict.None;
            o.sampleShort = true;
            o.tie = true;
            return o;
        }
        // Round 1 (after a dispute, or a claim opened in round 1): its majority judges the claim.
        bool majority = acc != rej;
        o.known = claim != Verdict.None && majority && o.truth == claim;
        o.refuted = claim != Verdict.None && majority && o.truth != claim;
    }

    /// Whether a round 1 can be drawn: this is round 0 and someone fresh is eligible (a registry scan: only on a tie or dispute).
    function _canEscalate(Session storage s, Job storage j) internal view returns (bool) {
        return s.round + 1 < MAX_ROUNDS && _freshCandidates(s, j.client) > 0;
    }

    /// Judges both panels against the outcome, cuts the issuer if its claim was refuted, and
    /// settles the session.
    function _settle(bytes32 sessionId, Session storage s, Job storage j, Outcome memory o) internal {
        Verdict judged = o.unjudged ? Verdict.None : o.truth;
        Finding memory f = _finding(sessionId, s, judged);
        address[] memory rewarded = _judgeVerifiers(sessionId, s.round, s.verifiers, judged, o.known, j, f);
        if (s.previous.length > 0) rewarded = _concat(rewarded, _judgeVerifiers(sessionId, 0, s.previous, judged, o.known, j, f));
        s.finalizedAt = uint64(block.timestamp);
        if (s.trap) issuerClaims--;
        if (o.refuted) _refuteIssuer(sessionId, s, rewarded, !s.trap && o.truth == Verdict.Accept);
        if (s.trap && o.truth == Verdict.Reject) _springTrap(sessionId, s, j, rewarded);
        else if (o.truth == Verdict.Accept) _accept(sessionId, s, j, rewarded);
        else _reject(sessionId, s, j, rewarded);
    }

    // ================================================================ replica jobs (Redundant, Tolerance)

    /// @notice Posts a job verified by replication instead of re-execution: k = `replicas`
    ///         workers (2..MAX_REPLICAS), drawn by the protocol DRAW_DELAY blocks later among those
    ///         offering `needs` and holding `image` (0: any), each run it and commit to their
    ///         result by commit–reveal; they must agree bit for bit (Redundant) or on the spec's
    ///         metric within `epsilon` nano-units of the median (Tolerance). Disagreement draws
    ///         k + 1 more replicas and the majority of all decides; losers lose slashBps of their
    ///         bond. The price pays every replica: at least minJobPrice × k.
    function postReplicatedJob(
        bytes32 specHash,
        bytes32 workloadId,
        uint64 deadline,
        uint64 maxDuration,
        uint64 units,
        uint32 needs,
        VerificationMode mode,
        uint8 replicas,
        uint64 epsilon,
        bytes32 image,
        bytes32 metric
    ) external payable nonReentrant returns (bytes32 jobId) {
        require(mode != VerificationMode.Reexecution, WrongMode(mode));
        require(mode != VerificationMode.Tolerance || metric != 0, ToleranceMetric.MetricNotFound(metric));
        require(replicas >= 2 && replicas <= MAX_REPLICAS, BadReplicaCount());
        require(msg.value >= minJobPrice * replicas, PriceTooLow(msg.value, minJobPrice * replicas));
        jobId = _newJob(msg.sender, specHash, workloadId, deadline, maxDuration, units, replicas, msg.value);
        Job storage j = _jobs[jobId];
        j.needs = needs;
        j.mode = mode;
        j.replicas = replicas;
        j.epsilon = epsilon;
        j.image = image;
        _replicas[jobId].metricKey = metric;
        openClientJobs++;
        emit ReplicaJobPosted(jobId, mode, replicas, epsilon, image);
        _scheduleAssign(jobId, j);
    }

    /// @notice A drawn replica commits to its result without showing it: `seal` =
    ///         replicaSealHash(sessionId, commitment, metric, salt). The session id binds the
    ///         seal to this worker, so copying another's seal gives one it cannot open; results
    ///         are shown only once every replica of the round sealed (or the commit time passed),
    ///         so nobody can seal what another revealed.
    function commitReplica(bytes32 sessionId, bytes32 seal) external nonReentrant {
        Session storage s = _session(sessionId);
        require(msg.sender == s.worker, NotSessionWorker());
        require(s.status == SessionStatus.Assigned, WrongSessionStatus(s.status));
        require(block.timestamp <= s.commitBy, CommitTooLate(s.commitBy));
        require(seal != bytes32(0), BadCommitment(bytes32(0)));
        replicaSeal[sessionId] = seal;
        s.status = SessionStatus.Sealed;
        s.committedAt = uint64(block.timestamp);
        s.commitBlock = uint64(block.number);
        _workers[msg.sender].running--;
        Replicas storage r = _replicas[s.jobId];
        if (_roundSealed(r)) r.sealedAt = uint64(block.timestamp);
        emit ReplicaSealed(sessionId, s.jobId, msg.sender, seal);
    }

    /// @notice Opens a sealed replica result once the round's seals are in (all of them, or the
    ///         commit time passed) and before revealBy: the fields of compute's SessionCommitment
    ///         (checked as in commitResult), the metric (Tolerance) and the salt. Tolerance: also
    ///         the metrics (compute's canonical JSON), which must hash to the committed
    ///         metricsHash and hold `metric` under the job's metric key, so a replica reveals the
    ///         metric of the result it committed, not a value it chose after the fact; one that
    ///         cannot is a replica that sealed and never revealed (slashBps at settlement).
    function revealReplica(bytes32 sessionId, Commitment calldata c, int256 metric, bytes calldata metrics, bytes32 salt) external nonReentrant {
        Session storage s = _session(sessionId);
        require(msg.sender == s.worker, NotSessionWorker());
        require(s.status == SessionStatus.Sealed, WrongSessionStatus(s.status));
        Replicas storage r = _replicas[s.jobId];
        require(_inCurrentRound(r, sessionId), WrongSessionStatus(s.status));
        require(r.sealedAt != 0 || block.timestamp > r.commitBy, RevealNotOpenYet());
        uint64 until = _revealBy(r);
        require(block.timestamp <= until, RevealClosed(until));
        require(replicaSeal[sessionId] == replicaSealHash(sessionId, c.commitment, metric, salt), SealMismatch());
        bytes32 expected = commitmentHash(_jobs[s.jobId].specHash, c);
        require(c.commitment == expected && c.checkpointCount > 0, BadCommitment(expected));
        if (_jobs[s.jobId].mode == VerificationMode.Tolerance) {
            require(keccak256(metrics) == c.metricsHash, MetricsMismatch(c.metricsHash));
            int256 inMetrics = ToleranceMetric.read(metrics, r.metricKey);
            require(inMetrics == metric, MetricMismatch(inMetrics));
        }
        s.result = c;
        s.status = SessionStatus.Revealed;
        replicaMetric[sessionId] = metric;
        emit ReplicaRevealed(sessionId, s.jobId, msg.sender, c.commitment, c.resultHash, metric);
    }

    /// @notice Decides a replica job once its round is over (every replica revealed, or the
    ///         reveal time passed); anyone may call. Round 0: all k revealed and agreeing →
    ///         accepted; anything else → k + 1 more replicas are drawn (round 1). Round 1 (or
    ///         nobody left to draw): a strict majority of the revealed results, at least two,
    ///         is accepted and paid; the others lose slashBps of their bond (a sealed result
    ///         never revealed too; a replica that never sealed faultPenalty). No majority: the
    ///         client is refunded.
    function settleReplicas(bytes32 jobId) external nonReentrant {
        Job storage j = _job(jobId);
        require(j.mode != VerificationMode.Reexecution, WrongMode(j.mode));
        require(j.status == JobStatus.Running, WrongJobStatus(j.status));
        Replicas storage r = _replicas[jobId];
        require(r.drawBlock == 0, DrawPending(r.drawBlock));
        uint64 until = _revealBy(r);
        require(block.timestamp > until || _roundRevealed(r), RoundNotOver(until));
        (bool[] memory agree, uint256 agreeing, uint256 revealed) = _replicaVerdict(j, r);
        if (r.round == 0) {
            if (agreeing == j.replicas && revealed == j.replicas) {
                _acceptReplicas(jobId, j, r, agree, agreeing, revealed);
                return;
            }
            uint256 extra = uint256(j.replicas) + 1;
            if (r.sessions.length + extra > MAX_REPLICA_TOTAL) extra = MAX_REPLICA_TOTAL - r.sessions.length;
            r.round = 1;
            r.drawBlock = _schedule(jobId, 2);
            emit ReplicasEscalated(jobId, uint8(extra), r.drawBlock);
            return;
        }
        if (agreeing >= 2 && agreeing * 2 > revealed) _acceptReplicas(jobId, j, r, agree, agreeing, revealed);
        else _failReplicas(jobId, j, r, agreeing, revealed);
    }

    /// @notice A drawn replica that cannot run the job (its image could not be pulled, the job
    ///         reports no metric) says so before its commit time: what an abandon costs (the
    ///         rating and `timely` cost, and abandonPenalty from the bond: ~0 when released at
    ///         once, the whole faultPenalty at the commit time, so a held replica slot is not a
    ///         free option); the session ends (released) and the round goes on without it — a
    ///         round 0 short of k revealed results escalates as always. Staying silent instead
    ///         costs faultPenalty at settlement.
    function releaseReplica(bytes32 sessionId) external nonReentrant {
        Session storage s = _session(sessionId);
        require(msg.sender == s.worker, NotSessionWorker());
        require(s.status == SessionStatus.Assigned, WrongSessionStatus(s.status));
        require(block.timestamp <= s.commitBy, CommitTooLate(s.commitBy));
        require(_jobs[s.jobId].mode != VerificationMode.Reexecution, WrongMode(VerificationMode.Reexecution));
        protocolFund += _cutBond(s.worker, abandonPenalty(sessionId), sessionId);
        _rate(s.worker, 0, 10, RatingReason.Abandoned);
        _undelivered(s.worker);
        _releaseWorker(sessionId, s);
        s.status = SessionStatus.Expired;
        s.finalizedAt = uint64(block.timestamp);
        Replicas storage r = _replicas[s.jobId];
        if (_roundSealed(r)) r.sealedAt = uint64(block.timestamp);
        emit SessionExpired(sessionId, s.jobId, s.worker, true);
    }

    /// @notice A tolerance job's metric name (ASCII, right-padded with zero bytes).
    function replicaMetricKey(bytes32 jobId) external view returns (bytes32) {
        return _replicas[jobId].metricKey;
    }

    /// @notice The metric revealReplica reads from a replica's metrics (ToleranceMetric: the
    ///         number under `key` in compute's canonical JSON, × 10⁹ truncated toward zero).
    function toleranceMetric(bytes calldata metrics, bytes32 key) external pure returns (int256) {
        return ToleranceMetric.read(metrics, key);
    }

    /// @notice keccak("povchain/replica-seal/v1" ‖ 0x00 ‖ sessionId ‖ commitment ‖ metric ‖ salt).
    function replicaSealHash(bytes32 sessionId, bytes32 commitment, int256 metric, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encodePacked("povchain/replica-seal/v1", uint8(0), sessionId, commitment, metric, salt));
    }

    /// @notice A replica job's rounds: the current round, its commit and reveal times, a pending
    ///         escalation draw, and every replica session (both rounds; the current one from `roundStart`).
    function getReplicas(bytes32 jobId) external view returns (uint8 round, uint8 roundStart, uint64 commitBy, uint64 sealedAt, uint64 revealBy, uint64 drawBlock, bytes32[] memory sessions) {
        Replicas storage r = _replicas[jobId];
        return (r.round, r.roundStart, r.commitBy, r.sealedAt, _revealBy(r), r.drawBlock, r.sessions);
    }

    function _requireReexecution(Job storage j) internal view {
        require(j.mode == VerificationMode.Reexecution, WrongMode(j.mode));
    }

    /// What a job pays each worker per compute unit: the bar of the workers' minimum prices.
    function _unitPay(Job storage j) internal view returns (uint256) {
        uint256 workers = j.mode == VerificationMode.Reexecution ? 1 : j.replicas;
        return j.price / workers / (j.units > 0 ? j.units : 1);
    }

    function _inCurrentRound(Replicas storage r, bytes32 sessionId) internal view returns (bool) {
        for (uint256 i = r.roundStart; i < r.sessions.length; i++) if (r.sessions[i] == sessionId) return true;
        return false;
    }

    function _roundSealed(Replicas storage r) internal view returns (bool) {
        for (uint256 i = r.roundStart; i < r.sessions.length; i++) if (_sessions[r.sessions[i]].status == SessionStatus.Assigned) return false;
        return true;
    }

    function _roundRevealed(Replicas storage r) internal view returns (bool) {
        for (uint256 i = r.roundStart; i < r.sessions.length; i++) {
            SessionStatus st = _sessions[r.sessions[i]].status;
            // Expired before settlement: released (releaseReplica), nothing more to wait for.
            if (st != SessionStatus.Revealed && st != SessionStatus.Expired) return false;
        }
        return true;
    }

    /// Reveals close revealWindow after the round's last seal, or after its commit time.
    function _revealBy(Replicas storage r) internal view returns (uint64) {
        return (r.sealedAt != 0 ? r.sealedAt : r.commitBy) + revealWindow;
    }

    function _replicaVerdict(Job storage j, Replicas storage r) internal view returns (bool[] memory agree, uint256 agreeing, uint256 revealed) {
        uint256 n = r.sessions.length;
        bytes32[] memory keys = new bytes32[](n);
        int256[] memory metrics = new int256[](n);
        bool[] memory open = new bool[](n);
        for (uint256 i = 0; i < n; i++) {
            Session storage s = _sessions[r.sessions[i]];
            open[i] = s.status == SessionStatus.Revealed;
            keys[i] = s.result.commitment;
            metrics[i] = replicaMetric[r.sessions[i]];
        }
        return ReplicaAgreement.decide(j.mode == VerificationMode.Tolerance, keys, metrics, open, j.epsilon);
    }

    /// onBlock: round 1's replicas of a job whose round 0 disagreed.
    function _drawEscalation(bytes32 jobId, uint64 due) internal {
        Job storage j = _jobs[jobId];
        Replicas storage r = _replicas[jobId];
        if (j.status != JobStatus.Running || r.drawBlock != due) return;
        r.drawBlock = 0;
        uint256 extra = uint256(j.replicas) + 1;
        if (r.sessions.length + extra > MAX_REPLICA_TOTAL) extra = MAX_REPLICA_TOTAL - r.sessions.length;
        _drawReplicas(jobId, j, extra);
    }

    /// Draws `n` distinct workers for a replica job, weighted as a worker draw, never the client
    /// nor a worker it already had, and opens a session for each. Round 0 needs all k (else the
    /// job stays open for `assign`); round 1 takes whoever is left — nobody makes the round end
    /// at once (settleReplicas then decides on round 0's results).
    function _drawReplicas(bytes32 jobId, Job storage j, uint256 n) internal {
        Replicas storage r = _replicas[jobId];
        bool first = j.status == JobStatus.Open;
        if (first && block.timestamp + j.maxDuration > j.deadline) return;
        uint256 count = _workerList.length;
        uint256[] memory weight = new uint256[](count);
        uint256 total;
        uint256 candidates;
        uint256 pay = _unitPay(j);
        for (uint256 i = 0; i < count; i++) {
            address a = _workerList[i];
            if (a == j.client || _tried[jobId][a]) continue;
            weight[i] = _jobWeight(a, j.needs, j.image, pay);
            total += weight[i];
            if (weight[i] > 0) candidates++;
        }
        if (first && candidates < n) return;
        if (n > candidates) n = candidates;
        uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, jobId, r.round)));
        r.roundStart = uint8(r.sessions.length);
        r.commitBy = uint64(block.timestamp) + j.maxDuration;
        r.sealedAt = 0;
        for (uint256 c = 0; c < n; c++) {
            uint256 pick = uint256(keccak256(abi.encode(seed, c))) % total;
            for (uint256 i = 0; i < count; i++) {
                if (pick < weight[i]) {
                    total -= weight[i];
                    weight[i] = 0;
                    _openReplica(jobId, r, _workerList[i]);
                    break;
                }
                pick -= weight[i];
            }
        }
        if (first) {
            j.attempts = 1;
            j.status = JobStatus.Running;
            j.session = r.sessions[0];
            _openJobs.remove(jobId);
            if (!j.control) openClientJobs--;
        }
        // Round 1 with nobody to draw has no replica: it is over at once (settleReplicas decides on round 0).
    }

    function _openReplica(bytes32 jobId, Replicas storage r, address worker) internal {
        bytes32 sessionId = keccak256(abi.encode(jobId, worker, blockhash(block.number - 1)));
        _tried[jobId][worker] = true;
        Session storage s = _sessions[sessionId];
        s.jobId = jobId;
        s.worker = worker;
        s.status = SessionStatus.Assigned;
        s.round = r.round;
        s.assignedAt = uint64(block.timestamp);
        s.commitBy = r.commitBy;
        Worker storage w = _workers[worker];
        w.running++;
        w.pending++;
        _workerSessions[worker].add(sessionId);
        _jobSessions[jobId].push(sessionId);
        r.sessions.push(sessionId);
        emit JobAssigned(jobId, sessionId, worker, r.round + 1, s.commitBy);
    }

    /// Pays the agreeing replicas (price − protocol fee, shared equally; each gets an accepted
    /// receipt carrying its share and the mode), judges the rest, and half of what the losers
    /// lose goes to the agreeing replicas (they caught it), the rest to the fund.
    function _acceptReplicas(bytes32 jobId, Job storage j, Replicas storage r, bool[] memory agree, uint256 agreeing, uint256 revealed) internal {
        uint256 n = r.sessions.length;
        uint256 price = j.price;
        totalEscrow -= price;
        uint256 protocolFee = (price * protocolFeeBps) / BPS;
        uint256 each = (price - protocolFee) / agreeing;
        uint256 feeEach = protocolFee / agreeing;
        uint256 cuts = _judgeLosers(j, r, agree);
        uint256 bonus = cuts / 2 / agreeing;
        protocolFund += protocolFee + (price - protocolFee - each * agreeing) + (cuts - bonus * agreeing);
        address[] memory paid = new address[](agreeing);
        uint256 m;
        bytes32 rep;
        for (uint256 i = 0; i < n; i++) {
            if (!agree[i]) continue;
            bytes32 sid = r.sessions[i];
            Session storage s = _sessions[sid];
            if (rep == bytes32(0)) rep = sid;
            _releaseWorker(sid, s);
            s.status = SessionStatus.Accepted;
            s.finalizedAt = uint64(block.timestamp);
            _workers[s.worker].successes++;
            _rate(s.worker, RATING_MAX, 8, RatingReason.Success);
            _delivered(s.worker, j.units, s.committedAt - s.assignedAt, j.maxDuration);
            _recordReceipt(sid, s, j, SessionStatus.Accepted, each + feeEach, feeEach);
            paid[m++] = s.worker;
        }
        j.status = JobStatus.Accepted;
        j.session = rep;
        if (!j.control && j.units > 0) {
            uint256 unit = price / j.replicas / j.units;
            unitPriceAverage = unitPriceAverage == 0 ? unit : (unitPriceAverage * 7 + unit) / 8;
        }
        emit ReplicasSettled(jobId, true, uint8(agreeing), uint8(revealed));
        emit JobAccepted(jobId, rep, _sessions[rep].worker);
        for (uint256 i = 0; i < m; i++) _pay(paid[i], each + bonus, jobId);
    }

    /// No majority: nobody's result is known to be wrong, so revealed replicas are released
    /// without a cut (and without pay); sealed-but-hidden and missing ones are judged as always.
    /// The client gets the whole price back.
    function _failReplicas(bytes32 jobId, Job storage j, Replicas storage r, uint256 agreeing, uint256 revealed) internal {
        bool[] memory shown = new bool[](r.sessions.length);
        for (uint256 i = 0; i < r.sessions.length; i++) shown[i] = _sessions[r.sessions[i]].status == SessionStatus.Revealed;
        protocolFund += _judgeLosers(j, r, shown);
        for (uint256 i = 0; i < r.sessions.length; i++) {
            if (!shown[i]) continue;
            bytes32 sid = r.sessions[i];
            Session storage s = _sessions[sid];
            _releaseWorker(sid, s);
            s.status = SessionStatus.Expired;
            s.finalizedAt = uint64(block.timestamp);
            emit SessionExpired(sid, jobId, s.worker, false);
        }
        emit ReplicasSettled(jobId, false, uint8(agreeing), uint8(revealed));
        _refund(jobId, j);
    }

    /// Judges every replica not in `spared`: revealed a different result, or sealed and never
    /// revealed → slashBps of the bond (hiding a sealed result after seeing the others' is the
    /// same as losing); never sealed → faultPenalty. Returns the sum cut.
    function _judgeLosers(Job storage j, Replicas storage r, bool[] memory spared) internal returns (uint256 cuts) {
        for (uint256 i = 0; i < r.sessions.length; i++) {
            bytes32 sid = r.sessions[i];
            Session storage s = _sessions[sid];
            // Released in time (releaseReplica): already paid its abandon cost.
            if (spared[i] || s.status == SessionStatus.Expired) continue;
            Worker storage w = _workers[s.worker];
            w.failures++;
            bool silent = s.status == SessionStatus.Assigned;
            cuts += _cutBond(s.worker, silent ? faultPenalty : (w.bond * slashBps) / BPS, sid);
            _rate(s.worker, 0, silent ? 4 : 2, silent ? RatingReason.Expired : RatingReason.Rejected);
            _undelivered(s.worker);
            _releaseWorker(sid, s);
            s.status = silent ? SessionStatus.Expired : SessionStatus.Rejected;
            s.finalizedAt = uint64(block.timestamp);
            if (silent) emit SessionExpired(sid, s.jobId, s.worker, false);
            else _recordReceipt(sid, s, j, SessionStatus.Rejected, 0, 0);
        }
    }

    // ================================================================ control tasks and traps

    /// @notice The control issuer bonds (or adds to its bond). It must hold issuerMinBond to open
    ///         a claim (a control answer, a hidden trap); a claim a panel refutes costs it
    ///         slashBps of the bond (_refuteIssuer).
    function bondIssuer() external payable onlyIssuer nonReentrant {
        require(msg.value > 0, ZeroValue());
        issuerBond += msg.value;
        totalBonds += msg.value;
        emit IssuerBonded(msg.value, issuerBond);
    }

    /// @notice The issuer stops claiming; its bond can be withdrawn unbondDelay later, once every
    ///         opened claim is decided.
    function requestIssuerExit() external onlyIssuer {
        require(issuerExitAt == 0, IssuerExiting());
        issuerExitAt = uint64(block.timestamp) + unbondDelay;
        emit IssuerExitRequested(issuerExitAt);
    }

    function withdrawIssuerBond() external onlyIssuer nonReentrant {
        require(issuerExitAt != 0, NotExiting());
        require(block.timestamp >= issuerExitAt, UnbondingNotOver(issuerExitAt));
        require(issuerClaims == 0, IssuerHasClaims(issuerClaims));
        uint256 amount = issuerBond;
        require(amount > 0, NothingToWithdraw());
        issuerBond = 0;
        issuerExitAt = 0;
        totalBonds -= amount;
        _pay(msg.sender, amount, bytes32(0));
    }

    /// @notice The issuer registers control seals controlSeal(jobId, answer, salt) for jobs its
    ///         client identities will post, mixed with dummies: a seal names no job, so nothing
    ///         here tells which later job (if any) is a control task.
    function registerSeals(bytes32[] calldata seals) external onlyIssuer {
        require(seals.length > 0 && seals.length <= MAX_SEALS, BadSpec());
        for (uint256 i = 0; i < seals.length; i++) if (sealRegisteredAt[seals[i]] == 0) sealRegisteredAt[seals[i]] = uint64(block.timestamp);
        emit SealsRegistered(seals.length);
    }

    /// @notice The client of a job opens it as a control task once the current session's votes
    ///         are committed (all, or the vote window closed): the seal controlSeal(jobId, answer,
    ///         salt) must have been registered by the issuer no later than the job was posted.
    ///         The job is control from now on, its client is reimbursed the price from the fund
    ///         (within controlBudget per controlPeriod), and the answer is the issuer's claim on
    ///         every session of the job: it decides a round only if no revealed vote disputes it
    ///         and the worker's result matches it; otherwise a fresh panel decides (_outcome).
    function openControl(bytes32 jobId, bytes32 answer, bytes32 salt) external nonReentrant {
        Job storage j = _job(jobId);
        require(msg.sender == j.client, NotClient());
        require(!j.control && salt != bytes32(0), SaltAlreadyOpened());
        require(j.mode == VerificationMode.Reexecution && j.status == JobStatus.Running, WrongJobStatus(j.status));
        Session storage s = _sessions[j.session];
        require(!s.trap, SaltAlreadyOpened());
        _requireVotesIn(j.session, s);
        bytes32 seal = controlSeal(jobId, answer, salt);
        uint64 at = sealRegisteredAt[seal];
        require(at != 0 && at <= j.postedAt, SealNotRegistered());
        _claim();
        if (block.timestamp >= controlPeriodStart + controlPeriod) {
            controlPeriodStart = uint64(block.timestamp);
            controlSpent = 0;
        }
        uint256 price = j.price;
        require(controlSpent + price <= controlBudget, ControlBudgetExceeded(controlBudget - controlSpent));
        require(price <= protocolFund, FundTooSmall(protocolFund));
        controlSpent += price;
        protocolFund -= price;
        j.control = true;
        j.sealedAnswer = seal;
        j.controlSalt = salt;
        emit ControlOpened(jobId, salt, answer, price);
        _pay(j.client, price, jobId);
    }

    /// @notice The issuer opens a hidden trap: a session that one of its ordinary worker identities
    ///         committed with a result the issuer knows is wrong and `seal = trapSeal(sessionId,
    ///         salt)`. Until now nothing told it apart from any session. Only once the round's
    ///         votes are committed (all, or the vote window closed) and before finalize. The claim
    ///         (reject) decides only if no revealed vote accepts; otherwise a fresh panel decides,
    ///         and if it accepts, the issuer's bond pays (_refuteIssuer).
    function openTrap(bytes32 sessionId, bytes32 salt) external onlyIssuer nonReentrant {
        Session storage s = _session(sessionId);
        _requireVotesIn(sessionId, s);
        require(!s.trap && !_jobs[s.jobId].control, SaltAlreadyOpened());
        require(s.result.seal == trapSeal(sessionId, salt), BadSeal());
        _claim();
        s.trap = true;
        emit TrapOpened(sessionId, s.jobId);
    }

    /// @notice keccak("povchain/trap/v1" ‖ 0x00 ‖ sessionId ‖ salt): a hidden trap's seal.
    function trapSeal(bytes32 sessionId, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encodePacked("povchain/trap/v1", uint8(0), sessionId, salt));
    }

    /// @notice keccak("povchain/control-answer/v2" ‖ 0x00 ‖ jobId ‖ answer ‖ salt): a control
    ///         task's seal (registerSeals); `answer` is the result hash the spec must give.
    function controlSeal(bytes32 jobId, bytes32 answer, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encodePacked("povchain/control-answer/v2", uint8(0), jobId, answer, salt));
    }

    /// The issuer opens a claim: bonded enough, not leaving; the bond stays until it is decided.
    function _claim() internal {
        require(issuerBond >= issuerMinBond, IssuerBondTooSmall(issuerBond, issuerMinBond));
        require(issuerExitAt == 0, IssuerExiting());
        issuerClaims++;
    }

    /// The round's verifiers are drawn and every vote is committed (or can no longer be).
    function _requireVotesIn(bytes32 sessionId, Session storage s) internal view {
        require(s.status == SessionStatus.Committed && s.verifiers.length > 0, VerificationNotOpen());
        require(block.timestamp > s.votesBy || _allCommitted(sessionId, s), VotingNotOver());
    }

    /// The issuer's claim on a session: reject for an opened trap; for an opened control task,
    /// accept iff the worker's result is the sealed answer; None when nothing was opened.
    function _claimOf(Session storage s, Job storage j) internal view returns (Verdict) {
        if (s.trap) return Verdict.Reject;
        if (!j.control) return Verdict.None;
        return controlSeal(s.jobId, s.result.resultHash, j.controlSalt) == j.sealedAnswer ? Verdict.Accept : Verdict.Reject;
    }

    /// A panel's strict majority refuted the issuer's claim: slashBps of its bond is cut; half
    /// goes to those its claim would have penalised (the verifiers who voted the outcome and,
    /// for a control task, the worker), the rest to the fund. Nobody else loses on its word.
    function _refuteIssuer(bytes32 sessionId, Session storage s, address[] memory rewarded, bool worker) internal {
        uint256 cut = (issuerBond * slashBps) / BPS;
        issuerBond -= cut;
        totalBonds -= cut;
        uint256 n = rewarded.length + (worker ? 1 : 0);
        uint256 each = n > 0 ? cut / 2 / n : 0;
        protocolFund += cut - each * n;
        emit IssuerRefuted(sessionId, s.jobId, cut);
        for (uint256 i = 0; i < rewarded.length; i++) _pay(rewarded[i], each, sessionId);
        if (worker) _pay(s.worker, each, sessionId);
    }

    // ================================================================ views

    function getJob(bytes32 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    function getSession(bytes32 sessionId) external view returns (Session memory) {
        return _sessions[sessionId];
    }

    /// @notice A verifier's vote in the session's current round.
    function getVote(bytes32 sessionId, address verifier) external view returns (Vote memory) {
        return _votes[sessionId][_sessions[sessionId].round][verifier];
    }

    /// @notice The work receipt of a finalised session (status None when there is none).
    function getReceipt(bytes32 sessionId) external view returns (WorkReceipt memory) {
        return _receipts[sessionId];
    }

    /// @notice Consensus check: is `sessionId` an accepted receipt of `worker`? With its value,
    ///         the protocol's share and the block it was recorded in.
    function isAcceptedReceipt(bytes32 sessionId, address worker) external view returns (bool accepted, uint256 value, uint256 protocolFee, uint64 blockNumber) {
        WorkReceipt storage r = _receipts[sessionId];
        accepted = r.status == SessionStatus.Accepted && r.worker == worker && worker != address(0);
        return (accepted, r.value, r.protocolFee, r.blockNumber);
    }

    function receiptCount(address worker) external view returns (uint256) {
        return _receiptsOf[worker].length;
    }

    /// @notice A page of a worker's receipts, oldest first.
    function receiptsOf(address worker, uint256 offset, uint256 limit) external view returns (WorkReceipt[] memory page) {
        bytes32[] storage ids = _receiptsOf[worker];
        uint256 end = offset + limit > ids.length ? ids.length : offset + limit;
        page = new WorkReceipt[](end > offset ? end - offset : 0);
        for (uint256 i = offset; i < end; i++) page[i - offset] = _receipts[ids[i]];
    }

    function jobsOf(address client) external view returns (bytes32[] memory) {
        return _clientJobs[client];
    }

    function sessionsOfJob(bytes32 jobId) external view returns (bytes32[] memory) {
        return _jobSessions[jobId];
    }

    function openJobs() external view returns (bytes32[] memory) {
        return _openJobs.values();
    }

    /// @notice What a node must do: sessions it works on (assigned or committed, not final)
    ///         and sessions it was drawn to verify (not final).
    function dutiesOf(address node) external view returns (bytes32[] memory working, bytes32[] memory verifying) {
        return (_workerSessions[node].values(), _verifierSessions[node].values());
    }

    /// @notice What a verifier loses for a revealed vote against the outcome (a known answer or
    ///         the majority): the job's price, at least faultPenalty (capped by its bond). The
    ///         stake is the price because re-execution costs scale with the work the price buys
    ///         (genesis/contracts/WorkMarket.md, "Verifiers").
    function wrongVotePenalty(uint256 price) public view returns (uint256) {
        return price > faultPenalty ? price : faultPenalty;
    }

    /// @notice The free bond a verifier needs to be drawn for a job of this price: its wrong vote's
    ///         penalty, and verifierBondRatio × price — so that a wrong vote on a known answer,
    ///         slashBps of the bond, costs at least slashBps × verifierBondRatio × price.
    function verifierStake(uint256 price) public view returns (uint256) {
        uint256 byRatio = price * verifierBondRatio;
        uint256 penalty = wrongVotePenalty(price);
        return byRatio > penalty ? byRatio : penalty;
    }

    /// @notice The seed of the segments a verifier re-executes (compute's sampleSegments input).
    function verifierSeed(bytes32 sessionId, address verifier) external view returns (bytes32) {
        return keccak256(abi.encode(_sessions[sessionId].randomness, verifier));
    }

    /// @notice The segments a verifier of `round` re-executes when it re-executes `samples` of them:
    ///         the first `samples` of its seeded order (compute's sampleSegments, v2): a partial
    ///         Fisher–Yates shuffle of 0 … m − 1, position i swapped with i + keccak(h ‖ uint32 i) mod
    ///         (m − i), h = keccak("povchain/segment-sample/v2" ‖ verifierSeed ‖ commitment). A larger
    ///         sample contains every smaller one, so declaring more than was re-executed only exposes more.
    function sampleOf(bytes32 sessionId, uint8 round, address verifier, uint32 samples) external view returns (uint256[] memory) {
        return _sampleOf(sessionId, round, verifier, samples);
    }

    function _sampleOf(bytes32 sessionId, uint8 round, address verifier, uint32 samples) internal view returns (uint256[] memory) {
        uint64 count = _sessions[sessionId].result.checkpointCount;
        return _sampleInto(sessionId, round, verifier, samples, new uint256[](count > 0 ? count - 1 : 0));
    }

    /// The sample, using `at` (m words, all zero; left all zero) for the shuffle's touched positions.
    function _sampleInto(bytes32 sessionId, uint8 round, address verifier, uint32 samples, uint256[] memory at) internal view returns (uint256[] memory out) {
        Session storage s = _sessions[sessionId];
        uint256 m = at.length;
        uint256 n = samples < m ? samples : m;
        bytes32 h = keccak256(abi.encodePacked("povchain/segment-sample/v2", keccak256(abi.encode(roundRandomness[sessionId][round], verifier)), s.result.commitment));
        // Positions touched so far hold value + 1 (0: untouched, i.e. still i).
        out = new uint256[](n);
        uint256[] memory touched = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            uint256 k = i + (uint256(keccak256(abi.encodePacked(h, uint32(i)))) % (m - i));
            uint256 vi = at[i] == 0 ? i : at[i] - 1;
            out[i] = at[k] == 0 ? k : at[k] - 1;
            at[k] = vi + 1;
            touched[i] = k;
        }
        for (uint256 i = 0; i < n; i++) at[touched[i]] = 0;
    }

    /// @notice The least sample that excuses a miss on m segments: the fewest s with which one
    ///         verifier catches ⌈m/4⌉ forged segments with probability ≥ 95 % (exact,
    ///         hypergeometric; compute's requiredSamples under DEFAULT_SAMPLING_POLICY).
    function sampleFloor(uint256 m) public pure returns (uint256) {
        if (m == 0) return 0;
        uint256 forged = (m * FLOOR_FAULT_BPS + BPS - 1) / BPS;
        uint256 miss = 1e18;
        for (uint256 i = 0; i < m; i++) {
            miss = m - forged > i ? (miss * (m - forged - i)) / (m - i) : 0;
            if (miss <= FLOOR_MISS_WAD) return i + 1;
        }
        return m;
    }

    /// @notice The per-session bound (WorkMarket.md, "The per-session bound"): the fewest segments s
    ///         each of k verifiers must re-execute so that a session of m segments with ⌈m/10⌉ or
    ///         more forged is accepted with probability ≤ 10⁻⁶ — miss(s)^k, miss(s) = C(m − F, s) /
    ///         C(m, s), the union of k independent samples. Computed in 18-decimal fixed point
    ///         rounded up (an over-estimate of miss, so s is never too small); compute's
    ///         boundSamples is the same arithmetic. m when only every segment does (small m).
    function boundSamples(uint256 m, uint256 k) public pure returns (uint256) {
        if (m == 0) return 0;
        if (k == 0) k = 1;
        uint256 forged = (m * BOUND_FORGED_BPS + BPS - 1) / BPS;
        uint256 miss = 1e18;
        for (uint256 i = 0; i < m; i++) {
            if (m - forged <= i) return i + 1;
            miss = _ceilDiv(miss * (m - forged - i), m - i);
            uint256 p = 1e18;
            for (uint256 r = 0; r < k; r++) p = _ceilDiv(p * miss, 1e18);
            if (p <= BOUND_ACCEPT_WAD) return i + 1;
        }
        return m;
    }

    /// @notice What every verifier of a round of `k` must re-execute and declare on m segments for
    ///         a missed forgery to be excused: the larger of sampleFloor(m) and boundSamples(m, k).
    function samplesDue(uint256 m, uint256 k) public pure returns (uint256) {
        uint256 floor = sampleFloor(m);
        uint256 bound = boundSamples(m, k);
        return bound > floor ? bound : floor;
    }

    /// @notice samplesDue for the session's current round: its segments and its drawn verifiers.
    function sessionSamplesDue(bytes32 sessionId) external view returns (uint256) {
        Session storage s = _sessions[sessionId];
        uint64 count = s.result.checkpointCount;
        return samplesDue(count > 0 ? count - 1 : 0, s.verifiers.length);
    }

    /// @notice The silent-verifier rule (WorkMarket.md, "The silent-verifier rule"): whether accepts
    ///         that declared these samples (segments each re-executed, independent draws) together
    ///         reach the per-session bound on m segments — Π miss(sᵢ) ≤ 10⁻⁶ at ⌈m/10⌉ forged, in
    ///         boundSamples' fixed point rounded up at every step, so k accepts of samplesDue(m, k)
    ///         each always do. A size above m − ⌈m/10⌉ always covers; 0 counts nothing. compute's boundCovered is
    ///         the same arithmetic.
    function boundCovered(uint256 m, uint256[] memory samples) public pure returns (bool) {
        return _boundCovered(m, samples, samples.length);
    }

    /// boundCovered over the first n samples (sorted in place).
    function _boundCovered(uint256 m, uint256[] memory samples, uint256 n) internal pure returns (bool) {
        if (m == 0) return true;
        // Ascending (at most 15: a panel and round 0), so one pass over the segments prices every sample.
        for (uint256 i = 1; i < n; i++) {
            uint256 x = samples[i];
            uint256 at = i;
            while (at > 0 && samples[at - 1] > x) {
                samples[at] = samples[at - 1];
                at--;
            }
            samples[at] = x;
        }
        uint256 forged = (m * BOUND_FORGED_BPS + BPS - 1) / BPS;
        uint256 miss = 1e18;
        uint256 p = 1e18;
        uint256 next;
        while (next < n && samples[next] == 0) next++;
        for (uint256 i = 0; next < n; i++) {
            // A sample of more than m − F segments always holds a forged one (and every sample left is that large).
            if (m - forged <= i) return true;
            miss = _ceilDiv(miss * (m - forged - i), m - i);
            while (next < n && samples[next] == i + 1) {
                p = _ceilDiv(p * miss, 1e18);
                next++;
            }
            if (p <= BOUND_ACCEPT_WAD) return true;
        }
        return p <= BOUND_ACCEPT_WAD;
    }

    /// Whether the current round's revealed accepts cover the bound (boundCovered): each counts
    /// its declared sample (every accept declares one: revealVote cannot accept); 0 and an
    /// impossible size count nothing.
    function _covered(bytes32 sessionId, Session storage s) internal view returns (bool) {
        uint256 m = s.result.checkpointCount - 1;
        address[] storage list = s.verifiers;
        uint256[] memory sizes = new uint256[](list.length);
        uint256 n;
        for (uint256 i = 0; i < list.length; i++) {
            Vote storage v = _votes[sessionId][s.round][list[i]];
            if (v.verdict != Verdict.Accept || v.samples == 0 || v.samples > m) continue;
            sizes[n++] = v.samples;
        }
        return _boundCovered(m, sizes, n);
    }

    function _ceilDiv(uint256 a, uint256 b) internal pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }

    /// @notice The segments round 0's rejects named (each once): what every round-1 panel member re-executes.
    function claimedSegments(bytes32 sessionId) external view returns (uint256[] memory out) {
        Session storage s = _sessions[sessionId];
        address[] storage list = s.round > 0 ? s.previous : s.verifiers;
        uint256[] memory seen = new uint256[](list.length);
        uint256 n;
        for (uint256 i = 0; i < list.length; i++) {
            uint32 named = _votes[sessionId][0][list[i]].named;
            bool dup = named == 0;
            for (uint256 k = 0; k < n && !dup; k++) dup = seen[k] == named - 1;
            if (!dup) seen[n++] = named - 1;
        }
        out = new uint256[](n);
        for (uint256 i = 0; i < n; i++) out[i] = seen[i];
    }

    /// @notice Average accepted price per compute unit (or the genesis default before any).
    function unitPrice() public view returns (uint256) {
        return unitPriceAverage == 0 ? defaultUnitPrice : unitPriceAverage;
    }

    function estimatePrice(uint64 units) external view returns (uint256) {
        uint256 p = unitPrice() * units;
        return p < minJobPrice ? minJobPrice : p;
    }

    function config() external view returns (Config memory) {
        return Config(minBond, minJobPrice, defaultUnitPrice, verifierFeeBps, protocolFeeBps, slashBps, maxAttempts, faultPenalty, trapReward, voteWindow, revealWindow, unbondDelay, ratingHalfLife, controlIssuer, controlBudget, controlPeriod, verifierBondRatio);
    }

    /// @notice compute's commitmentHash: keccak("povchain/session-commitment/v1" ‖ 0x00 ‖ specHash ‖ K ‖ T ‖ count ‖ root ‖ result ‖ metrics).
    function commitmentHash(bytes32 specHash, Commitment calldata c) public pure returns (bytes32) {
        return keccak256(abi.encodePacked("povchain/session-commitment/v1", uint8(0), specHash, c.checkpointInterval, c.totalSteps, c.checkpointCount, c.checkpointRoot, c.resultHash, c.metricsHash));
    }

    function voteHash(bytes32 sessionId, uint8 round, address verifier, bool accept, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(sessionId, round, verifier, accept, salt));
    }

    /// @notice What revealFinding opens: the vote, the segment a reject names (NO_SEGMENT: none)
    ///         and the declared sample size, bound before anyone's vote is seen.
    function findingHash(bytes32 sessionId, uint8 round, address verifier, bool accept, uint32 segment, uint32 samples, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode("povchain/finding/v1", sessionId, round, verifier, accept, segment, samples, salt));
    }

    /// @notice What revealFindings opens: the vote, every segment a reject found forged (ascending)
    ///         and the declared sample size.
    function findingsHash(bytes32 sessionId, uint8 round, address verifier, bool accept, uint32[] calldata segments, uint32 samples, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode("povchain/findings/v1", sessionId, round, verifier, accept, segments, samples, salt));
    }

    // ================================================================ internals

    function _job(bytes32 jobId) internal view returns (Job storage j) {
        j = _jobs[jobId];
        require(j.status != JobStatus.None, UnknownJob());
    }

    function _session(bytes32 sessionId) internal view returns (Session storage s) {
        s = _sessions[sessionId];
        require(s.status != SessionStatus.None, UnknownSession());
    }

    function _newJob(address client, bytes32 specHash, bytes32 workloadId, uint64 deadline, uint64 maxDuration, uint64 units, uint8 verifiers, uint256 price) internal returns (bytes32 jobId) {
        require(specHash != bytes32(0), BadSpec());
        require(deadline > block.timestamp, BadDeadline());
        require(maxDuration > 0 && block.timestamp + maxDuration <= deadline, BadDuration());
        require(verifiers >= 1 && verifiers <= MAX_VERIFIERS, BadVerifierCount());
        jobId = keccak256(abi.encode(block.chainid, client, specHash, jobNonce[client]++));
        Job storage j = _jobs[jobId];
        j.client = client;
        j.status = JobStatus.Open;
        j.verifiers = verifiers;
        j.deadline = deadline;
        j.maxDuration = maxDuration;
        j.units = units;
        j.postedAt = uint64(block.timestamp);
        j.price = price;
        j.specHash = specHash;
        j.workloadId = workloadId;
        totalEscrow += price;
        _clientJobs[client].push(jobId);
        _openJobs.add(jobId);
        emit JobPosted(jobId, client, specHash, workloadId, price, deadline, maxDuration, units, verifiers);
    }

    /// Schedules the worker draw of an open job DRAW_DELAY blocks ahead.
    function _scheduleAssign(bytes32 jobId, Job storage j) internal {
        j.drawBlock = _schedule(jobId, 0);
    }

    /// Schedules the verifier draw of a session's current round DRAW_DELAY blocks ahead.
    function _scheduleRound(bytes32 sessionId, Session storage s) internal {
        s.drawBlock = _schedule(sessionId, 1);
    }

    function _schedule(bytes32 id, uint8 kind) internal returns (uint64 due) {
        due = uint64(block.number) + DRAW_DELAY;
        _drawQueue[drawTail++] = Draw(id, due, kind);
        emit DrawScheduled(id, kind == 1, due);
    }

    /// onBlock: the worker draw of a job, if it is still open and this is its scheduled draw.
    function _drawWorker(bytes32 jobId, uint64 due) internal {
        Job storage j = _jobs[jobId];
        if (j.status != JobStatus.Open || j.drawBlock != due) return;
        j.drawBlock = 0;
        if (j.mode == VerificationMode.Reexecution) _tryAssign(jobId);
        else _drawReplicas(jobId, j, j.replicas);
    }

    /// onBlock: the verifier draw of a session's round, if it still waits for this draw.
    function _drawRound(bytes32 sessionId, uint64 due) internal {
        Session storage s = _sessions[sessionId];
        if (s.status != SessionStatus.Committed || s.verifiers.length != 0 || s.drawBlock != due) return;
        s.drawBlock = 0;
        Job storage j = _jobs[s.jobId];
        bytes32 r = keccak256(abi.encode(block.prevrandao, sessionId, s.round));
        address[] memory chosen = _drawVerifiers(s, j.client, _panelSize(j.verifiers, s.round), uint256(r));
        if (chosen.length == 0) {
            emit NoVerifierDrawn(sessionId, s.round);
            return;
        }
        s.randomness = r;
        roundRandomness[sessionId][s.round] = r;
        s.verifiers = chosen;
        s.selectedBlock = uint64(block.number);
        s.votesBy = uint64(block.timestamp) + voteWindow;
        s.revealBy = s.votesBy + revealWindow;
        votesInAt[sessionId] = 0;
        // Each vote holds what it can cost until it is judged: the next draw weighs the rest.
        uint256 held = wrongVotePenalty(j.price);
        for (uint256 i = 0; i < chosen.length; i++) {
            _workers[chosen[i]].pending++;
            _lock(chosen[i], held);
            _verifierSessions[chosen[i]].add(sessionId);
        }
        emit VerifiersSelected(sessionId, s.round, r, chosen, s.votesBy, s.revealBy);
    }

    /// Verifiers of a round: the job's count in round 0; after a tie an odd panel of 2k + 1 (at most 7).
    function _panelSize(uint8 k, uint8 round) internal pure returns (uint256) {
        if (round == 0) return k;
        uint256 n = 2 * uint256(k) + 1;
        return n > MAX_VERIFIERS - 1 ? MAX_VERIFIERS - 1 : n;
    }

    /// Workers the draw of `jobId` could pick now (not the client, not one that had it, free, bonded).
    function _workerCandidates(bytes32 jobId, Job storage j) internal view returns (uint256 n) {
        uint256 pay = _unitPay(j);
        for (uint256 i = 0; i < _workerList.length; i++) {
            address a = _workerList[i];
            if (a != j.client && !_tried[jobId][a] && _jobWeight(a, j.needs, j.image, pay) > 0) n++;
        }
    }

    /// Workers a verifier draw of `s` could pick now.
    function _verifierCandidates(Session storage s, address client) internal view returns (uint256 n) {
        uint256 stake = verifierStake(_jobs[s.jobId].price);
        for (uint256 i = 0; i < _workerList.length; i++) {
            address a = _workerList[i];
            if (_mayVerify(s, client, a) && _verifierWeight(a, stake) > 0) n++;
        }
    }

    /// Workers a next round's draw could pick: eligible and not on the current panel either.
    function _freshCandidates(Session storage s, address client) internal view returns (uint256 n) {
        uint256 stake = verifierStake(_jobs[s.jobId].price);
        for (uint256 i = 0; i < _workerList.length; i++) {
            address a = _workerList[i];
            if (_mayVerify(s, client, a) && !_isVerifier(s, a) && _verifierWeight(a, stake) > 0) n++;
        }
    }

    /// Never the worker, the client, or a verifier of an earlier round of the session.
    function _mayVerify(Session storage s, address client, address a) internal view returns (bool) {
        if (a == s.worker || a == client) return false;
        for (uint256 i = 0; i < s.previous.length; i++) if (s.previous[i] == a) return false;
        return true;
    }

    /// Draws a worker (not the client, not one that already had this job) and opens its session.
    /// Only onBlock calls it: the randomness is PREVRANDAO of the scheduled block.
    function _tryAssign(bytes32 jobId) internal returns (bool) {
        Job storage j = _jobs[jobId];
        if (block.timestamp + j.maxDuration > j.deadline) return false;
        uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, jobId, j.attempts)));
        uint256 n = _workerList.length;
        uint256[] memory weight = new uint256[](n);
        uint256 total;
        uint256 pay = _unitPay(j);
        for (uint256 i = 0; i < n; i++) {
            address a = _workerList[i];
            if (a == j.client || _tried[jobId][a]) continue;
            weight[i] = _jobWeight(a, j.needs, j.image, pay);
            total += weight[i];
        }
        if (total == 0) return false;
        address worker;
        uint256 pick = seed % total;
        for (uint256 i = 0; i < n; i++) {
            if (pick < weight[i]) {
                worker = _workerList[i];
                break;
            }
            pick -= weight[i];
        }
        // The newest block hash the EVM can read: the parent of the assigning block.
        bytes32 sessionId = keccak256(abi.encode(jobId, worker, blockhash(block.number - 1)));
        j.attempts++;
        j.status = JobStatus.Running;
        j.session = sessionId;
        _tried[jobId][worker] = true;
        _openJobs.remove(jobId);
        if (!j.control) openClientJobs--;
        Session storage s = _sessions[sessionId];
        s.jobId = jobId;
        s.worker = worker;
        s.status = SessionStatus.Assigned;
        s.assignedAt = uint64(block.timestamp);
        s.commitBy = uint64(block.timestamp) + j.maxDuration;
        Worker storage w = _workers[worker];
        w.running++;
        w.pending++;
        _workerSessions[worker].add(sessionId);
        _jobSessions[jobId].push(sessionId);
        emit JobAssigned(jobId, sessionId, worker, j.attempts, s.commitBy);
        return true;
    }

    /// Up to k distinct verifiers, weighted by free bond × rating among those whose free bond
    /// covers verifierStake(price), never the worker, the client or an earlier round's verifier.
    function _drawVerifiers(Session storage s, address client, uint256 k, uint256 seed) internal view returns (address[] memory chosen) {
        uint256 n = _workerList.length;
        uint256[] memory weight = new uint256[](n);
        uint256 total;
        uint256 candidates;
        uint256 stake = verifierStake(_jobs[s.jobId].price);
        for (uint256 i = 0; i < n; i++) {
            address a = _workerList[i];
            if (!_mayVerify(s, client, a)) continue;
            weight[i] = _verifierWeight(a, stake);
            total += weight[i];
            if (weight[i] > 0) candidates++;
        }
        if (k > candidates) k = candidates;
        chosen = new address[](k);
        for (uint256 c = 0; c < k; c++) {
            uint256 pick = uint256(keccak256(abi.encode(seed, c))) % total;
            for (uint256 i = 0; i < n; i++) {
                if (pick < weight[i]) {
                    chosen[c] = _workerList[i];
                    total -= weight[i];
                    weight[i] = 0;
                    break;
                }
                pick -= weight[i];
            }
        }
    }

    function _isVerifier(Session storage s, address a) internal view returns (bool) {
        for (uint256 i = 0; i < s.verifiers.length; i++) if (s.verifiers[i] == a) return true;
        return false;
    }

    function _allCommitted(bytes32 sessionId, Session storage s) internal view returns (bool) {
        for (uint256 i = 0; i < s.verifiers.length; i++) if (_votes[sessionId][s.round][s.verifiers[i]].hash == bytes32(0)) return false;
        return true;
    }

    function _allRevealed(bytes32 sessionId, Session storage s) internal view returns (bool) {
        for (uint256 i = 0; i < s.verifiers.length; i++) if (_votes[sessionId][s.round][s.verifiers[i]].verdict == Verdict.None) return false;
        return true;
    }

    function _tally(bytes32 sessionId, Session storage s) internal view returns (uint256 acc, uint256 rej) {
        for (uint256 i = 0; i < s.verifiers.length; i++) {
            Verdict v = _votes[sessionId][s.round][s.verifiers[i]].verdict;
            if (v == Verdict.Accept) acc++;
            else if (v == Verdict.Reject) rej++;
        }
    }

    /// Releases a round's verifiers and judges them: no vote → faultPenalty; a vote against the
    /// majority → wrongVotePenalty; against a known answer, or proven wrong by the fraud-proof
    /// rule (a claim the panel refuted, an accept whose sample held the proven segment) → the
    /// larger of that and slashBps of the bond (as the worker of a wrong result); an accept whose
    /// declared sample missed every segment the outcome named → excused (no cut, no pay); with no
    /// outcome (nobody voted) voters are neither paid nor cut. Returns those who voted the outcome.
    function _judgeVerifiers(bytes32 sessionId, uint8 round, address[] storage list, Verdict truth, bool known, Job storage j, Finding memory f) internal returns (address[] memory rewarded) {
        uint256 n = list.length;
        address[] memory out = new address[](n);
        uint256 count;
        uint256 wrongCut = wrongVotePenalty(j.price);
        // The excuse asks for the sample the bound needs with this round's verifier count.
        f.verifiers = n;
        f.due = 0;
        for (uint256 i = 0; i < n; i++) if (_judgeVerifier(sessionId, round, list[i], truth, known, wrongCut, f)) out[count++] = list[i];
        rewarded = new address[](count);
        for (uint256 i = 0; i < count; i++) rewarded[i] = out[i];
    }

    /// The vote as judged: once a known answer was opened, a committed vote left unrevealed is
    /// presumed wrong — otherwise a guesser that learnt the answer after committing would stay quiet.
    function _countedVote(Vote storage vote, Verdict truth, bool known) internal view returns (Verdict) {
        if (known && vote.verdict == Verdict.None && vote.hash != bytes32(0)) return truth == Verdict.Accept ? Verdict.Reject : Verdict.Accept;
        return vote.verdict;
    }

    function _judgeVerifier(bytes32 sessionId, uint8 round, address v, Verdict truth, bool known, uint256 wrongCut, Finding memory f) internal returns (bool correct) {
        Vote storage cast = _votes[sessionId][round][v];
        Verdict vote = _countedVote(cast, truth, known);
        Worker storage w = _workers[v];
        if (w.pending > 0) w.pending--;
        _unlock(v, wrongCut);
        _verifierSessions[v].remove(sessionId);
        bool silent = vote == Verdict.None;
        bool wrong = !silent && truth != Verdict.None && vote != truth;
        correct = !silent && vote == truth;
        if (silent) {
            w.verifierFaults++;
            protocolFund += _cutBond(v, faultPenalty, sessionId);
            _rate(v, 0, 4, RatingReason.VerifierFault);
        } else if (wrong) {
            // 0: excused (its sample missed what was proven); 1: against the majority; 2: proven wrong.
            uint8 grade = known ? 2 : _wrongGrade(sessionId, round, v, cast, truth, f);
            if (grade == 0) {
                emit VerifierExcused(sessionId, v, f.proven > 0 ? f.proven - 1 : NO_SEGMENT);
                emit VerifierJudged(sessionId, v, false, false);
                return false;
            }
            w.verifierFaults++;
            // Against a known answer (a trap, an opened control task) or proven wrong: what the
            // worker of a wrong result loses, slashBps of the bond, if that is more.
            uint256 cut = grade == 2 && (w.bond * slashBps) / BPS > wrongCut ? (w.bond * slashBps) / BPS : wrongCut;
            protocolFund += _cutBond(v, cut, sessionId);
            _rate(v, 0, grade == 2 ? 2 : 4, grade == 2 ? RatingReason.VerifierFault : RatingReason.MinorityVote);
        } else if (correct) {
            w.verifications++;
            _rate(v, RATING_MAX, 16, RatingReason.VerifiedCorrectly);
        }
        emit VerifierJudged(sessionId, v, correct, silent || wrong);
    }

    /// A revealed vote against the outcome, by the fraud-proof rule: 2 (proven wrong) for a round-0
    /// claim a panel refuted (every panel member re-executed the named segment and the panel
    /// accepted) or an accept whose declared sample held the segment the outcome proved forged
    /// (it re-executed a forged segment and accepted: lazy or colluding); 0 (excused) for an
    /// accept whose declared sample, at least samplesDue (the per-session bound's), held none of the segments the outcome's
    /// rejects named while one was proven; 1 otherwise.
    function _wrongGrade(bytes32 sessionId, uint8 round, address v, Vote storage cast, Verdict truth, Finding memory f) internal view returns (uint8) {
        if (truth == Verdict.Accept) return round == 0 && f.panel && cast.named != 0 ? 2 : 1;
        uint256 m = _sessions[sessionId].result.checkpointCount - 1;
        // After a short round 0 the panel's named set stands in for a proven one: an accepter whose
        // declared sample (≥ samplesDue) held none of the segments the panel found forged is excused.
        if ((f.proven == 0 && !(f.afterShort && f.named.length > 0)) || cast.samples > m || m > MAX_SAMPLED_SEGMENTS) return 1;
        if (f.scratch.length == 0) f.scratch = new uint256[](m);
        uint256[] memory sample = _sampleInto(sessionId, round, v, cast.samples, f.scratch);
        if (f.due == 0) f.due = samplesDue(m, f.verifiers);
        bool missed = cast.samples >= f.due;
        for (uint256 i = 0; i < sample.length; i++) {
            for (uint256 k = 0; k < f.provenSet.length; k++) if (sample[i] + 1 == f.provenSet[k]) return 2;
            for (uint256 k = 0; k < f.named.length; k++) if (sample[i] + 1 == f.named[k]) missed = false;
        }
        return missed ? 0 : 1;
    }

    /// The deciding round's finding: for a reject decided by a panel, the segments its rejects
    /// named and the one a strict majority of its revealed votes named (the proven segment).
    /// Round 0 proves nothing by itself (no panel re-checked its claims): its majority decides
    /// and minority votes pay wrongVotePenalty, as without the rule.
    function _finding(bytes32 sessionId, Session storage s, Verdict truth) internal view returns (Finding memory f) {
        f.panel = s.round > 0;
        if (truth != Verdict.Reject || !f.panel) return f;
        f.afterShort = sampleShort[sessionId];
        uint256 n = s.verifiers.length;
        // Every segment each panel reject named (revealFindings: all it found), with how many named it.
        uint32[] memory named = new uint32[](n * MAX_NAMED);
        uint256[] memory votesFor = new uint256[](n * MAX_NAMED);
        uint256 count;
        uint256 voted;
        for (uint256 i = 0; i < n; i++) {
            Vote storage v = _votes[sessionId][s.round][s.verifiers[i]];
            if (v.verdict != Verdict.None) voted++;
            if (v.verdict != Verdict.Reject || v.named == 0) continue;
            uint32[] storage all = _namedAll[sessionId][s.round][s.verifiers[i]];
            uint256 len = all.length > 0 ? all.length : 1;
            for (uint256 j = 0; j < len; j++) {
                uint32 seg = all.length > 0 ? all[j] : v.named;
                uint256 at = count;
                for (uint256 k = 0; k < count; k++) if (named[k] == seg) at = k;
                if (at == count) named[count++] = seg;
                votesFor[at]++;
            }
        }
        uint256 proven;
        for (uint256 i = 0; i < count; i++) if (votesFor[i] * 2 > voted) proven++;
        f.provenSet = new uint32[](proven);
        proven = 0;
        for (uint256 i = 0; i < count; i++) if (votesFor[i] * 2 > voted) f.provenSet[proven++] = named[i];
        if (proven > 0) f.proven = f.provenSet[0];
        f.named = new uint32[](count);
        for (uint256 i = 0; i < count; i++) f.named[i] = named[i];
    }

    function _noFinding() internal pure returns (Finding memory f) {}

    /// A tie in round 0: its panel waits (bonds locked, votes kept) for round 1's outcome, drawn
    /// afresh from everyone else — odd-sized, so one verifier cannot tie it again.
    function _escalate(bytes32 sessionId, Session storage s) internal {
        for (uint256 i = 0; i < s.verifiers.length; i++) {
            s.previous.push(s.verifiers[i]);
            _verifierSessions[s.verifiers[i]].remove(sessionId);
        }
        delete s.verifiers;
        s.round++;
        emit VerificationRestarted(sessionId, s.round);
        _scheduleRound(sessionId, s);
    }

    /// An earlier round's panel when the session ends without an outcome: released, silent ones faulted.
    function _releasePrevious(bytes32 sessionId, Session storage s) internal {
        if (s.previous.length > 0) _judgeVerifiers(sessionId, 0, s.previous, Verdict.None, false, _jobs[s.jobId], _noFinding());
    }

    function _concat(address[] memory a, address[] memory b) internal pure returns (address[] memory c) {
        c = new address[](a.length + b.length);
        for (uint256 i = 0; i < a.length; i++) c[i] = a[i];
        for (uint256 i = 0; i < b.length; i++) c[a.length + i] = b[i];
    }

    function _releaseWorker(bytes32 sessionId, Session storage s) internal {
        Worker storage w = _workers[s.worker];
        if (s.status == SessionStatus.Assigned && w.running > 0) w.running--;
        if (w.pending > 0) w.pending--;
        _workerSessions[s.worker].remove(sessionId);
    }

    function _accept(bytes32 sessionId, Session storage s, Job storage j, address[] memory verifiers) internal {
        _releaseWorker(sessionId, s);
        s.status = SessionStatus.Accepted;
        j.status = JobStatus.Accepted;
        uint256 price = j.price;
        totalEscrow -= price;
        uint256 verifierFee = (price * verifierFeeBps) / BPS;
        uint256 protocolFee = (price * protocolFeeBps) / BPS;
        uint256 each = verifiers.length > 0 ? verifierFee / verifiers.length : 0;
        protocolFund += protocolFee + (verifierFee - each * verifiers.length);
        uint256 toWorker = price - verifierFee - protocolFee;

        Worker storage w = _workers[s.worker];
        w.successes++;
        if (j.control) {
            w.controlsPassed++;
            issuerClaims--;
        }
        // Speed: a commitment in the first half of the allowed time moves the rating twice as far.
        bool fast = s.committedAt - s.assignedAt <= j.maxDuration / 2;
        _rate(s.worker, RATING_MAX, fast ? 4 : 8, RatingReason.Success);
        _delivered(s.worker, j.units, s.committedAt - s.assignedAt, j.maxDuration);
        if (!j.control && j.units > 0) {
            uint256 unit = price / j.units;
            unitPriceAverage = unitPriceAverage == 0 ? unit : (unitPriceAverage * 7 + unit) / 8;
        }
        _recordReceipt(sessionId, s, j, SessionStatus.Accepted, price, protocolFee);
        emit JobAccepted(s.jobId, sessionId, s.worker);
        _pay(s.worker, toWorker, sessionId);
        for (uint256 i = 0; i < verifiers.length; i++) _pay(verifiers[i], each, sessionId);
    }

    function _reject(bytes32 sessionId, Session storage s, Job storage j, address[] memory verifiers) internal {
        _releaseWorker(sessionId, s);
        s.status = SessionStatus.Rejected;
        Worker storage w = _workers[s.worker];
        w.failures++;
        if (j.control) w.controlsFailed++;
        uint256 cut = _cutBond(s.worker, (w.bond * slashBps) / BPS, sessionId);
        _undelivered(s.worker);
        _rate(s.worker, 0, j.control ? 1 : 2, j.control ? RatingReason.ControlFailed : RatingReason.Rejected);
        // Half of the cut rewards the verifiers that caught it; the rest goes to the fund.
        uint256 each = verifiers.length > 0 ? cut / 2 / verifiers.length : 0;
        protocolFund += cut - each * verifiers.length;
        _recordReceipt(sessionId, s, j, SessionStatus.Rejected, 0, 0);
        _reopenOrRefund(s.jobId, j);
        for (uint256 i = 0; i < verifiers.length; i++) _pay(verifiers[i], each, sessionId);
    }

    /// A rejected trap's end: the verifiers that rejected it earn trapReward from the fund; the
    /// job is a real one and goes to another worker, the trap's worker (the issuer's identity)
    /// released without a cut or pay.
    function _springTrap(bytes32 sessionId, Session storage s, Job storage j, address[] memory verifiers) internal {
        s.status = SessionStatus.Rejected;
        uint256 each = trapReward;
        if (each * verifiers.length > protocolFund) each = verifiers.length > 0 ? protocolFund / verifiers.length : 0;
        protocolFund -= each * verifiers.length;
        emit SessionFinalized(sessionId, s.jobId, s.worker, SessionStatus.Rejected, 0, 0);
        _releaseWorker(sessionId, s);
        _reopenOrRefund(s.jobId, j);
        for (uint256 i = 0; i < verifiers.length; i++) _pay(verifiers[i], each, sessionId);
    }

    function _expire(bytes32 sessionId, Session storage s, bool abandoned) internal {
        _releaseWorker(sessionId, s);
        s.status = SessionStatus.Expired;
        s.finalizedAt = uint64(block.timestamp);
        if (s.trap) issuerClaims--;
        emit SessionExpired(sessionId, s.jobId, s.worker, abandoned);
        _reopenOrRefund(s.jobId, _jobs[s.jobId]);
    }

    /// After a failed session: back to the draw while attempts and time remain, else refund.
    function _reopenOrRefund(bytes32 jobId, Job storage j) internal {
        if (j.attempts < maxAttempts && block.timestamp + j.maxDuration <= j.deadline) {
            j.status = JobStatus.Open;
            _openJobs.add(jobId);
            if (!j.control) openClientJobs++;
            emit JobReopened(jobId, j.attempts);
            _scheduleAssign(jobId, j);
        } else _refund(jobId, j);
    }

    function _refund(bytes32 jobId, Job storage j) internal {
        if (j.status == JobStatus.Open) {
            _openJobs.remove(jobId);
            if (!j.control) openClientJobs--;
            j.drawBlock = 0;
        }
        j.status = JobStatus.Refunded;
        uint256 amount = j.price;
        totalEscrow -= amount;
        emit JobRefunded(jobId, j.client, amount);
        // An opened control task's client was reimbursed by the fund: the escrow goes back to it.
        if (j.control) {
            protocolFund += amount;
            issuerClaims--;
        } else _pay(j.client, amount, jobId);
    }

    function _recordReceipt(bytes32 sessionId, Session storage s, Job storage j, SessionStatus status, uint256 value, uint256 protocolFee) internal {
        _receipts[sessionId] = WorkReceipt(s.jobId, sessionId, s.worker, j.client, value, protocolFee, j.workloadId, uint64(block.number), uint64(block.timestamp), status, j.control, j.mode);
        _receiptsOf[s.worker].push(sessionId);
        emit SessionFinalized(sessionId, s.jobId, s.worker, status, value, protocolFee);
        if (VALIDATOR_SET.code.length == 0) return;
        if (status == SessionStatus.Accepted) IValidatorSetReceipts(VALIDATOR_SET).onReceipt(s.worker, j.client, s.jobId, sessionId, value, protocolFee, uint8(j.mode));
        // A wrong result costs the weight earned before it: forging pays in weight only until caught.
        else if (status == SessionStatus.Rejected) IValidatorSetReceipts(VALIDATOR_SET).onRejected(s.worker, sessionId);
    }
}
