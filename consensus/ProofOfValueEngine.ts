import { bytesToHex, equalBytes } from '../common/bytes.js'
import type { BlockHeader } from '../chain/Header.js'
import type { BlockPlan, ConsensusEngine, EpochSet, Producer, SystemCall } from './ConsensusEngine.js'
import { ConsensusError } from './errors.js'
import { headerVrf, headerVrfViolation } from './HeaderVrf.js'
import type { PovContracts, WorkReceiptView } from './PovContracts.js'
import { epochSeed, nextMix, WeightedLeaderSchedule, type WeightedValidator } from './WeightedLeaderSchedule.js'

const hex = bytesToHex

export interface ProofOfValueParams {
  /** The chain id headers are sealed for (the seal digest binds it). */
  chainId: bigint
  genesisTimestamp: bigint
  slotSeconds: number
  slotsPerEpoch: number
  /** Seconds a backup of rank 1 waits for a silent leader (rank r waits r times this). */
  backupDelaySeconds: number
  /** Ranks past the leader that may produce. */
  maxBackups: number
  /** A header may name a receipt at most this many blocks old (genesis receipts excepted). */
  receiptWindowBlocks: bigint
  /** Blocks after which genesis receipts (block 0) stop entitling; 0 or absent: never. */
  genesisReceiptWindowBlocks?: bigint
  /** Seeds epochs 0 and 1 (the genesis hash). */
  genesisSeed: Uint8Array
  /**
   * Further system calls of every epoch's first block, after ValidatorSet.epochTransition, in
   * this order — e.g. AssetRegistry.distributeRewards() when genesis places the registry. Each
   * must be safe to repeat (the contract decides whether there is anything to do).
   */
  epochCalls?: readonly SystemCall[]
  /**
   * System calls at the start of every block, after the epoch calls — WorkMarket.onBlock(),
   * which makes the work market's draws due at that block with its PREVRANDAO. Each must be
   * cheap when there is nothing to do and must never revert for lack of work.
   */
  blockCalls?: readonly SystemCall[]
}

interface EpochContext {
  epoch: bigint
  /** Names the set: `epoch:anchor hash` (epochs 0 and 1: `epoch:genesis`). */
  key: string
  seed: Uint8Array
  schedule: WeightedLeaderSchedule
}

/**
 * Proof of Value (ARCHITECTURE.md, "Proof of Value" step 5 and "Blocks"):
 *
 * - The validators of epoch e and their weights are ValidatorSet.validatorsElectedFor(e) at
 *   the anchor's state (what the epoch transition at the start of e−1 stores from the state at
 *   the end of e−2, or the transition of e elects late when the branch skipped e−1). Its seed is
 *   keccak("povchain/epoch-seed" ‖ e ‖ mix at the end of e−2) (WeightedLeaderSchedule.ts).
 *   Both therefore depend only on the branch up to its last block before epoch e−1 (the
 *   "anchor"), which is what the caches below are keyed by.
 * - Slot s's leader and backups are drawn by weight from the seed; a backup of rank r may seal
 *   from r·backupDelay seconds into the slot; the timestamp must lie in the slot.
 * - The header proves its randomness with ECVRF over vrfInput(seed, slot) under the producer's
 *   own key (HeaderVrf.ts); mixHash = keccak(parent mix ‖ VRF output) is PREVRANDAO.
 * - jobId/sessionId/workloadId must name a WorkMarket receipt, read at the parent's state, that
 *   is accepted, owned by the producer, final (at least RECEIPT_DEPTH below the block) and younger than
 *   `receiptWindowBlocks` (genesis receipts, at block 0, bootstrap the network and do not age
 *   out here; their weight in ValidatorSet decays like any other).
 * - The first block of a new epoch starts with the system call ValidatorSet.epochTransition,
 *   then the genesis-configured `epochCalls` (AssetRegistry.distributeRewards: the reward of a
 *   period that ended is paid by the first epoch turn after it, on every node alike).
 * - Every block then starts with the genesis-configured `blockCalls` (WorkMarket.onBlock: the
 *   work market's draws scheduled for this block, made with this block's mix).
 */
export class ProofOfValueEngine implements ConsensusEngine {
  readonly kind = 'proof-of-value' as const
  readonly slotsPerEpoch: bigint
  private readonly slotSeconds: bigint
  /** Each epoch's set, seed and schedule by `epoch:anchor` (a function of the key: see context). */
  private readonly validatorCache = new Map<string, Promise<EpochContext>>()
  private readonly anchorCache = new Map<string, BlockHeader>()
  private readonly receipts = new Map<string, WorkReceiptView | undefined>()
  private readonly chosenReceipt = new Map<string, WorkReceiptView>()

  constructor(
    private readonly params: ProofOfValueParams,
    private readonly deps: { contracts: PovContracts; getHeader: (hash: Uint8Array) => Promise<BlockHeader | undefined> },
  ) {
    this.slotsPerEpoch = BigInt(params.slotsPerEpoch)
    this.slotSeconds = BigInt(params.slotSeconds)
  }

  epochOf(slot: bigint): bigint {
    return slot / this.slotsPerEpoch
  }

  slotAt(timestamp: bigint): bigint {
    const g = this.params.genesisTimestamp
    return timestamp <= g ? 0n : (timestamp - g) / this.slotSeconds
  }

  slotStart(slot: bigint): bigint {
    return this.params.genesisTimestamp + slot * this.slotSeconds
  }

  /** The last block of `parent`'s branch whose slot is below `boundarySlot`. */
  private async anchor(parent: BlockHeader, boundarySlot: bigint): Promise<BlockHeader> {
    const walked: string[] = []
    let h = parent
    let found: BlockHeader | undefined
    for (;;) {
      const key = `${boundarySlot}:${hex(h.hash())}`
      found = this.anchorCache.get(key)
      if (found) break
      walked.push(key)
      if (h.slot < boundarySlot || h.number === 0n) {
        found = h
        break
      }
      const p = await this.deps.getHeader(h.parentHash)
      if (!p) throw new ConsensusError('UNKNOWN_PARENT', `block ${h.number}: parent ${hex(h.parentHash)} is unknown`)
      h = p
    }
    for (const k of walked) this.anchorCache.set(k, found)
    if (this.anchorCache.size > 8192) this.anchorCache.clear()
    return found
  }

  /**
   * The epoch's set, seed and schedule on `parent`'s branch. The set of epoch e ≥ 2 is
   * ValidatorSet.validatorsElectedFor(e) asked of the anchor's state at block anchor + 1, not
   * the snapshot in the parent's state: a branch with no block in e − 1 never stored that
   * snapshot (the contract elects it late, from the same state), and reading it from the parent
   * would give two branches with one anchor two different sets. So the set is a function of the
   * anchor alone, which is what the cache key says.
   */
  private async context(parent: BlockHeader, slot: bigint): Promise<EpochContext> {
    const epoch = this.epochOf(slot)
    let anchor: BlockHeader | undefined
    let seed: Uint8Array
    if (epoch < 2n) seed = epochSeed(epoch, this.params.genesisSeed, () => new Uint8Array(32))
    else {
      const a = (anchor = await this.anchor(parent, (epoch - 1n) * this.slotsPerEpoch))
      seed = epochSeed(epoch, this.params.genesisSeed, () => a.mixHash)
    }
    const key = `${epoch}:${anchor ? hex(anchor.hash()) : 'genesis'}`
    let ctx = this.validatorCache.get(key)
    if (!ctx) {
      // Epochs 0 and 1 are governed by the genesis snapshot, stored in every state.
      const vs = anchor ? this.deps.contracts.electedFor(anchor, epoch) : this.deps.contracts.validatorsAt(parent.stateRoot, epoch)
      ctx = vs.then((validators) => {
        if (validators.length === 0) throw new ConsensusError('NO_VALIDATORS', `epoch ${epoch} has no validators (ValidatorSet elects nobody)`)
        return { epoch, key, seed, schedule: new WeightedLeaderSchedule({ validators, seed, maxBackups: this.params.maxBackups }) }
      })
      this.validatorCache.set(key, ctx)
      ctx.catch(() => this.validatorCache.delete(key))
      if (this.validatorCache.size > 256) this.validatorCache.delete(this.validatorCache.keys().next().value!)
    }
    return ctx
  }

  async ranking(parent: BlockHeader, slot: bigint): Promise<Uint8Array[]> {
    return (await this.context(parent, slot)).schedule.ranking(slot).slice(0, this.params.maxBackups + 1)
  }

  async validatorsFor(parent: BlockHeader, slot: bigint): Promise<WeightedValidator[]> {
    return [...(await this.context(parent, slot)).schedule.validators]
  }

  async validatorSet(parent: BlockHeader, slot: bigint): Promise<EpochSet> {
    const ctx = await this.context(parent, slot)
    return { key: ctx.key, epoch: ctx.epoch, validators: [...ctx.schedule.validators] }
  }

  private systemCalls(parent: BlockHeader, slot: bigint): SystemCall[] {
    const epoch = this.epochOf(slot)
    const epochCalls = epoch > this.epochOf(parent.slot) ? [this.deps.contracts.epochTransition(epoch), ...(this.params.epochCalls ?? [])] : []
    return [...epochCalls, ...(this.params.blockCalls ?? [])]
  }

  private earliest(rank: number, slot: bigint): bigint | undefined {
    const t = this.slotStart(slot) + BigInt(rank) * BigInt(this.params.backupDelaySeconds)
    return t < this.slotStart(slot + 1n) ? t : undefined
  }

  async earliestTimestamp(producer: Uint8Array, parent: BlockHeader, slot: bigint): Promise<bigint | undefined> {
    const r = (await this.context(parent, slot)).schedule.rank(producer, slot)
    return r === undefined ? undefined : this.earliest(r, slot)
  }

  async rank(h: BlockHeader, parent: BlockHeader): Promise<number | undefined> {
    return (await this.context(parent, h.slot)).schedule.rank(h.producer, h.slot)
  }

  /** Why `r` cannot back a header by `producer` at `number`, or undefined if it can. */
  private receiptProblem(r: WorkReceiptView | undefined, producer: Uint8Array, number: bigint, finalized: bigint): string | undefined {
    return this.fakeReceipt(r, producer) ?? this.untimelyReceipt(r!, number, finalized)
  }

  /** A receipt the producer does not own as accepted work: slashable (evidence kind 4). */
  private fakeReceipt(r: WorkReceiptView | undefined, producer: Uint8Array): string | undefined {
    if (!r) return 'names no work receipt'
    if (!r.accepted) return `names session ${hex(r.sessionId)}, which was not accepted`
    if (!equalBytes(r.worker, producer)) return `names a receipt of ${hex(r.worker)}, not of its producer ${hex(producer)}`
    return undefined
  }

  /** A real receipt used too early or too late: the block is invalid, but nobody lied. */
  private untimelyReceipt(r: WorkReceiptView, number: bigint, finalized: bigint): string | undefined {
    const genesisWindow = this.params.genesisReceiptWindowBlocks ?? 0n
    if (r.blockNumber === 0n && genesisWindow > 0n && number > genesisWindow)
      return `names a genesis receipt after block ${genesisWindow} (config.genesisReceiptWindow): only earned work entitles now`
    if (r.blockNumber > 0n && r.blockNumber > finalized) return `names a receipt from block ${r.blockNumber}, not final yet (finalized: ${finalized})`
    if (r.blockNumber > 0n && number - r.blockNumber > this.params.receiptWindowBlocks)
      return `names a receipt from block ${r.blockNumber}, older than the ${this.params.receiptWindowBlocks}-block window`
    return undefined
  }

  /**
   * The receipt as the parent's state holds it. Cached by (state root, session): a receipt is
   * valid for a block only if it holds on that block's own branch, so a receipt seen on
   * another branch must never vouch for this one (issue 11, finding 1).
   */
  private async receiptAt(parent: BlockHeader, sessionId: Uint8Array): Promise<WorkReceiptView | undefined> {
    const key = `${hex(parent.stateRoot)}:${hex(sessionId)}`
    if (this.receipts.has(key)) return this.receipts.get(key)
    const r = await this.deps.contracts.receipt(parent.stateRoot, sessionId)
    this.receipts.set(key, r)
    if (this.receipts.size > 4096) this.receipts.delete(this.receipts.keys().next().value!)
    return r
  }

  private async receiptFor(producer: Uint8Array, parent: BlockHeader, number: bigint, finalized: bigint): Promise<WorkReceiptView> {
    const key = hex(producer)
    const chosen = this.chosenReceipt.get(key)
    if (chosen && !this.receiptProblem(chosen, producer, number, finalized)) {
      const again = await this.receiptAt(parent, chosen.sessionId)
      if (again && !this.receiptProblem(again, producer, number, finalized)) return again
    }
    const recent = await this.deps.contracts.recentReceipts(parent.stateRoot, producer, 32)
    const usable = recent.find((r) => !this.receiptProblem(r, producer, number, finalized))
    if (!usable) {
      const newest = recent[0]
      const why = newest ? ` (its newest, from block ${newest.blockNumber}: ${this.receiptProblem(newest, producer, number, finalized)})` : ''
      throw new ConsensusError(
        'NO_RECEIPT',
        `${hex(producer)} has no accepted, final work receipt younger than ${this.params.receiptWindowBlocks} blocks${why}: run jobs with --worker to earn one`,
      )
    }
    this.chosenReceipt.set(key, usable)
    return usable
  }

  async plan(producer: Producer, parent: BlockHeader, slot: bigint, finalized: bigint): Promise<BlockPlan> {
    const ctx = await this.context(parent, slot)
    if (ctx.schedule.rank(producer.address, slot) === undefined)
      throw new ConsensusError('NOT_ELIGIBLE', `${hex(producer.address)} may not produce slot ${slot} (epoch ${ctx.epoch} has ${ctx.schedule.validators.length} validators)`)
    const receipt = await this.receiptFor(producer.address, parent, parent.number + 1n, finalized)
    const { vrfProof, vrfOutput } = headerVrf(producer.key, ctx.seed, slot)
    return {
      fields: { mixHash: nextMix(parent.mixHash, vrfOutput), jobId: receipt.jobId, sessionId: receipt.sessionId, workloadId: receipt.workloadId, vrfOutput, vrfProof },
      systemCalls: this.systemCalls(parent, slot),
    }
  }

  async verify(h: BlockHeader, parent: BlockHeader, finalized: bigint): Promise<SystemCall[]> {
    const ctx = await this.context(parent, h.slot)
    const rank = ctx.schedule.rank(h.producer, h.slot)
    if (rank === undefined) throw new ConsensusError('NOT_PRODUCER', `block ${h.number}: ${hex(h.producer)} is not the leader or a backup of slot ${h.slot} (epoch ${ctx.epoch})`)
    if (this.slotAt(h.timestamp) !== h.slot) throw new ConsensusError('BAD_SLOT', `block ${h.number}: timestamp ${h.timestamp} is in slot ${this.slotAt(h.timestamp)}, not in its slot ${h.slot}`)
    const earliest = this.earliest(rank, h.slot)
    if (earliest === undefined || h.timestamp < earliest)
      throw new ConsensusError('BAD_SLOT', `block ${h.number}: backup #${rank} of slot ${h.slot} sealed at ${h.timestamp}, before its turn${earliest === undefined ? '' : ` at ${earliest}`}`)
    const vrf = headerVrfViolation(h, ctx.seed, this.params.chainId)
    if (vrf) throw new ConsensusError('BAD_VRF', `block ${h.number}: ${vrf}`)
    if (!equalBytes(h.mixHash, nextMix(parent.mixHash, h.vrfOutput)))
      throw new ConsensusError('BAD_MIX', `block ${h.number}: mixHash is not the parent's mix with this VRF output`)
    const r = await this.receiptAt(parent, h.sessionId)
    const fake = this.fakeReceipt(r, h.producer)
    if (fake) throw new ConsensusError('FAKE_RECEIPT', `block ${h.number}: ${fake}`)
    if (!equalBytes(r!.jobId, h.jobId)) throw new ConsensusError('FAKE_RECEIPT', `block ${h.number}: session ${hex(h.sessionId)} belongs to job ${hex(r!.jobId)}, not ${hex(h.jobId)}`)
    const untimely = this.untimelyReceipt(r!, h.number, finalized)
    if (untimely) throw new ConsensusError('BAD_WORK', `block ${h.number}: ${untimely}`)
    if (!equalBytes(r!.workloadId, h.workloadId))
      throw new ConsensusError('BAD_WORK', `block ${h.number}: the receipt's workload is ${hex(r!.workloadId)}, not ${hex(h.workloadId)}`)
    return this.systemCalls(parent, h.slot)
  }
}
