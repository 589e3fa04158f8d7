import { attestationSigner, type Attestation } from '../chain/Attestation.js'
import type { BlockHeader } from '../chain/Header.js'
import { bytesToHex, equalBytes } from '../common/bytes.js'
import type { ConsensusEngine, EpochSet } from './ConsensusEngine.js'
import { ConsensusError } from './errors.js'
import type { WeightedValidator } from './WeightedLeaderSchedule.js'

const hex = bytesToHex

/**
 * How far back a header's votes may reach: votes for its parent, and for the parent's ancestors
 * up to this many blocks back. A producer carries the votes that justified its highest
 * justified block as well as those for the parent, so a node that missed them at gossip (a
 * partition, a lost message) learns that justification from the chain and votes from the same
 * source as everyone else; without them the two groups vote from different sources and
 * finality never resumes (found by the simulator, test/sim: "J").
 */
export const VOTE_DEPTH = 64n

/**
 * The validator sets a block at `slot` on `parent`'s branch answers to for finality: its
 * epoch's, then the previous epoch's on the same branch (Finality.ts: a link must win both).
 */
export async function votingSets(engine: ConsensusEngine, parent: BlockHeader, slot: bigint): Promise<EpochSet[]> {
  const own = await engine.validatorSet(parent, slot)
  if (own.epoch === 0n) return [own]
  const prev = await engine.validatorSet(parent, (own.epoch - 1n) * engine.slotsPerEpoch)
  return prev.key === own.key ? [own] : [own, prev]
}

/** Who may vote for `target`: the members of its sets (empty for genesis). */
export async function votersOf(engine: ConsensusEngine, target: BlockHeader): Promise<WeightedValidator[]> {
  return target.number === 0n ? [] : (await votingSets(engine, target, target.slot)).flatMap((s) => s.validators)
}

/**
 * Throws ConsensusError unless every vote is for `target`, by a distinct member, correctly
 * signed for this chain.
 */
export function checkVotesFor(h: BlockHeader, target: BlockHeader, votes: readonly Attestation[], members: readonly WeightedValidator[], chainId: bigint): void {
  const allowed = new Set<string>(members.filter((v) => v.weight > 0n).map((v) => hex(v.address)))
  const seen = new Set<string>()
  for (const a of votes) {
    const who = hex(a.validator)
    if (!equalBytes(a.targetHash, target.hash()) || a.targetHeight !== target.number)
      throw new ConsensusError('BAD_ATTESTATION', `block ${h.number}: an attestation by ${who} is not for block ${target.number}`)
    if (a.sourceHeight >= a.targetHeight) throw new ConsensusError('BAD_ATTESTATION', `block ${h.number}: attestation by ${who} has source height ${a.sourceHeight} ≥ target height`)
    if (seen.has(who)) throw new ConsensusError('BAD_ATTESTATION', `block ${h.number}: two attestations by ${who} for block ${target.number}`)
    seen.add(who)
    if (!allowed.has(who)) throw new ConsensusError('BAD_ATTESTATION', `block ${h.number}: ${who} is not a validator of block ${target.number}'s sets`)
    let signer: Uint8Array
    try {
      signer = attestationSigner(a, chainId)
    } catch {
      throw new ConsensusError('BAD_ATTESTATION', `block ${h.number}: attestation by ${who} has a malformed signature`)
    }
    if (!equalBytes(signer, a.validator)) throw new ConsensusError('BAD_ATTESTATION', `block ${h.number}: attestation claims ${who} but is signed by ${hex(signer)}`)
  }
}

/**
 * The votes a header carries: each for its parent or an ancestor of the parent at most
 * VOTE_DEPTH blocks back, by a distinct member of that block's sets per block, correctly
 * signed. A function of the header and its ancestry only, so every node reaches the same
 * verdict.
 */
export async function checkHeaderVotes(
  h: BlockHeader,
  parent: BlockHeader,
  d: { engine: ConsensusEngine; chainId: bigint; getHeader: (hash: Uint8Array) => Promise<BlockHeader | undefined> },
): Promise<void> {
  if (h.attestations.length === 0) return
  if (parent.number === 0n) throw new ConsensusError('BAD_ATTESTATION', 'block 1 cannot carry attestations for genesis')
  const byTarget = new Map<string, Attestation[]>()
  for (const a of h.attestations) {
    const k = hex(a.targetHash)
    const list = byTarget.get(k)
    if (list) list.push(a)
    else byTarget.set(k, [a])
  }
  let x: BlockHeader | undefined = parent
  let found = 0
  while (x && x.number > 0n && parent.number - x.number <= VOTE_DEPTH && found < byTarget.size) {
    const votes = byTarget.get(hex(x.hash()))
    if (votes) {
      checkVotesFor(h, x, votes, await votersOf(d.engine, x), d.chainId)
      found++
    }
    x = await d.getHeader(x.parentHash)
  }
  if (found < byTarget.size)
    throw new ConsensusError('BAD_ATTESTATION', `block ${h.number}: it carries votes for a block that is not its parent or one of the parent's last ${VOTE_DEPTH} ancestors`)
}
