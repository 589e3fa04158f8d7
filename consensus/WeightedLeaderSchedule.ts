import { bytesToBigint, bytesToHex, concatBytes, u64ToBytes } from '../common/bytes.js'
import { keccak256 } from '../chain/keccak.js'
import { ConsensusError } from './errors.js'

const utf8 = (s: string) => new TextEncoder().encode(s)
const SEED_TAG = utf8('povchain/epoch-seed')
const DRAW_TAG = utf8('povchain/leader-draw')
const VRF_TAG = utf8('povchain/vrf-input')

/**
 * Proof-of-Value leader schedule (issue 5), replacing the round-robin LeaderSchedule once wired:
 *
 * - Slots are grouped in epochs of `slotsPerEpoch`; `epochOf(slot) = slot / slotsPerEpoch`.
 * - The validator set and weights of an epoch are fixed for the whole epoch (read from the
 *   ValidatorSet contract at the boundary). The order of `validators` does not matter: they
 *   are sorted by address so every node draws identically.
 * - Rank r of slot s (rank 0 = leader, r ≥ 1 = r-th backup) is drawn by weight without
 *   replacement from the validators not yet ranked, with
 *     u_r = keccak256("povchain/leader-draw" ‖ seed ‖ u64(slot) ‖ u64(r)) mod (remaining weight)
 *   and the validator whose cumulative-weight interval (in address order) contains u_r.
 *   (Reducing a 256-bit hash mod a weight below 2^128 has bias < 2^-128; weights are capped.)
 *   The schedule is public: anyone with the seed and the set computes it.
 * - Seed lookahead: the seed of epoch e ≥ 2 is
 *     keccak256("povchain/epoch-seed" ‖ u64(e) ‖ mix at the end of epoch e−2)
 *   where the mix is the RANDAO-style accumulator mix' = keccak256(mix ‖ vrfOutput) over the
 *   blocks. Epochs 0 and 1 use the genesis seed. Because the seed of e+2 is fixed when epoch e
 *   ends — a whole epoch before it is used — and each VRF output is unique per (key, input)
 *   with an input the producer cannot choose (`vrfInput`: the epoch seed and slot), a producer's
 *   only lever on a future seed is withholding its own block (one bit per slot it leads).
 */
export interface WeightedValidator {
  address: Uint8Array
  weight: bigint
}

export interface WeightedScheduleOptions {
  validators: WeightedValidator[]
  seed: Uint8Array
  /** Ranks past the leader that may produce (backups); default 2. */
  maxBackups?: number
}

export function epochOf(slot: bigint, slotsPerEpoch: bigint): bigint {
  return slot / slotsPerEpoch
}

/** The seed of `epoch`: the genesis seed for epochs 0 and 1, else from the mix at the end of epoch − 2. */
export function epochSeed(epoch: bigint, genesisSeed: Uint8Array, mixAtEndOfEpoch: (e: bigint) => Uint8Array): Uint8Array {
  if (epoch < 2n) return keccak256(concatBytes(SEED_TAG, u64ToBytes(epoch), genesisSeed))
  return keccak256(concatBytes(SEED_TAG, u64ToBytes(epoch), mixAtEndOfEpoch(epoch - 2n)))
}

/** The RANDAO-style mix after a block with this VRF output (same formula the dev chain uses). */
export function nextMix(parentMix: Uint8Array, vrfOutput: Uint8Array): Uint8Array {
  return keccak256(concatBytes(parentMix, vrfOutput))
}

/** The VRF input (alpha) of a slot: fixed by the epoch seed, so a producer cannot grind it. */
export function vrfInput(seed: Uint8Array, slot: bigint): Uint8Array {
  return keccak256(concatBytes(VRF_TAG, seed, u64ToBytes(slot)))
}

export class WeightedLeaderSchedule {
  readonly validators: readonly WeightedValidator[]
  readonly seed: Uint8Array
  readonly maxBackups: number
  readonly totalWeight: bigint
  private readonly cache = new Map<bigint, Uint8Array[]>()

  constructor(opts: WeightedScheduleOptions) {
    const vs = opts.validators.filter((v) => v.weight > 0n)
    if (vs.length === 0) throw new ConsensusError('NO_VALIDATORS', 'the epoch has no validator with weight')
    const seen = new Set<string>()
    for (const v of vs) {
      const k = bytesToHex(v.address)
      if (seen.has(k)) throw new ConsensusError('DUPLICATE_VALIDATOR', `validator ${k} listed twice`)
      seen.add(k)
    }
    this.validators = [...vs].sort((a, b) => (bytesToHex(a.address) < bytesToHex(b.address) ? -1 : 1))
    this.seed = opts.seed
    this.maxBackups = opts.maxBackups ?? 2
    this.totalWeight = vs.reduce((s, v) => s + v.weight, 0n)
  }

  /** Every validator of the epoch in its rank order for `slot` (leader first). */
  ranking(slot: bigint): Uint8Array[] {
    const hit = this.cache.get(slot)
    if (hit) return hit
    const remaining = [...this.validators]
    let weight = this.totalWeight
    const out: Uint8Array[] = []
    for (let r = 0; remaining.length > 0; r++) {
      const u = bytesToBigint(keccak256(concatBytes(DRAW_TAG, this.seed, u64ToBytes(slot), u64ToBytes(r)))) % weight
      let acc = 0n
      let i = 0
      for (; i < remaining.length - 1; i++) {
        acc += remaining[i]!.weight
        if (u < acc) break
      }
      const [v] = remaining.splice(i, 1)
      out.push(v!.address)
      weight -= v!.weight
    }
    if (this.cache.size > 1024) this.cache.clear()
    this.cache.set(slot, out)
    return out
  }

  leader(slot: bigint): Uint8Array {
    return this.ranking(slot)[0]!
  }

  /** 0 for the leader, r for the r-th backup, undefined if not allowed to produce in `slot`. */
  rank(producer: Uint8Array, slot: bigint): number | undefined {
    const k = bytesToHex(producer)
    const r = this.ranking(slot).findIndex((a) => bytesToHex(a) === k)
    return r < 0 || r > this.maxBackups ? undefined : r
  }

  weightOf(address: Uint8Array): bigint {
    const k = bytesToHex(address)
    return this.validators.find((v) => bytesToHex(v.address) === k)?.weight ?? 0n
  }
}
