import { bytesToHex } from '../../../common/bytes.js'
import { keccak256 } from '../../../chain/keccak.js'
import { BlockHeader } from '../../../chain/Header.js'
import { sealHeader } from '../../../chain/Seal.js'
import { privateKeyToAddress } from '../../../chain/Signing.js'
import { signAttestation, type Attestation } from '../../../chain/Attestation.js'
import type { Vote } from '../../../consensus/Finality.js'
import { checkDoubleProduction, checkDoubleVote, checkSurroundVote, type EvidenceResult } from '../../../consensus/SlashingEvidence.js'

/**
 * Slashing evidence in the simulator, judged by the real checks of consensus/SlashingEvidence.ts
 * on real signed objects: each sim block projects to a sealed chain/Header BlockHeader and each
 * vote to a signed chain/Attestation, with the author's secp256k1 key. Signatures are made
 * lazily, when evidence is checked, and memoised per object: RFC 6979 signatures are a pure
 * function of key and message, so this is the same bytes the author would have sent, without
 * paying a signature per message in runs where nobody equivocates.
 */
export const SIM_CHAIN_ID = 31_337n

/** The parts of a sim block a header carries (SimNode's SimBlock satisfies it). */
export interface HeaderView {
  hash: string
  parent: string
  height: bigint
  slot: bigint
  producer: string
  mix: Uint8Array
  jobId: string
  sessionId: string
}

export type SimEvidence =
  | { kind: 'double-production'; a: HeaderView; b: HeaderView }
  | { kind: 'double-vote'; a: Vote; b: Vote }
  | { kind: 'surround-vote'; a: Vote; b: Vote }

const utf8 = (s: string) => new TextEncoder().encode(s)
const id32 = (s: string) => keccak256(utf8(`povchain/sim-id/${s}`))
const zeros = (n: number) => new Uint8Array(n)

export class SimKeys {
  private readonly keys = new Map<string, Uint8Array>()
  private readonly addresses = new Map<string, Uint8Array>()
  private readonly byAddress = new Map<string, string>()
  private readonly headers = new WeakMap<HeaderView, BlockHeader>()
  private readonly votes = new WeakMap<Vote, Attestation>()

  constructor(ids: readonly string[], seed: number) {
    for (const id of ids) {
      const key = keccak256(utf8(`povchain/sim-key/${seed}/${id}`))
      const addr = privateKeyToAddress(key)
      this.keys.set(id, key)
      this.addresses.set(id, addr)
      this.byAddress.set(bytesToHex(addr), id)
    }
  }

  address(id: string): Uint8Array {
    return this.addresses.get(id)!
  }

  idOf(address: Uint8Array): string | undefined {
    return this.byAddress.get(bytesToHex(address))
  }

  /** The sealed header a sim block stands for; the sim hash rides in extraData so two blocks never share a header. */
  header(b: HeaderView): BlockHeader {
    const hit = this.headers.get(b)
    if (hit) return hit
    const producer = this.address(b.producer)
    const h = sealHeader(new BlockHeader({
        parentHash: id32(b.parent),
        coinbase: producer,
        stateRoot: zeros(32),
        transactionsRoot: zeros(32),
        receiptsRoot: zeros(32),
        logsBloom: zeros(256),
        number: b.height,
        gasLimit: 30_000_000n,
        gasUsed: 0n,
        timestamp: b.slot * 2n,
        vanity: id32(b.hash),
        mixHash: b.mix,
        baseFeePerGas: 0n,
        slot: b.slot,
        producer,
        jobId: id32(b.jobId),
        sessionId: id32(b.sessionId),
        workloadId: zeros(32),
        vrfOutput: keccak256(b.mix),
        vrfProof: new Uint8Array(),
        attestations: [],
        seal: new Uint8Array(),
      }), SIM_CHAIN_ID,
      this.keys.get(b.producer)!,
    )
    this.headers.set(b, h)
    return h
  }

  attestation(v: Vote): Attestation {
    const hit = this.votes.get(v)
    if (hit) return hit
    const a = signAttestation(
      { sourceHash: id32(v.source), sourceHeight: v.sourceHeight, targetHash: id32(v.target), targetHeight: v.targetHeight, validator: this.address(v.validator) },
      SIM_CHAIN_ID,
      this.keys.get(v.validator)!,
    )
    this.votes.set(v, a)
    return a
  }

  /** The offender (sim id) the evidence proves, or why it proves nothing — by the real checks. */
  judge(ev: SimEvidence): { ok: true; offender: string } | { ok: false; reason: string } {
    let r: EvidenceResult
    if (ev.kind === 'double-production') r = checkDoubleProduction(this.header(ev.a), this.header(ev.b), SIM_CHAIN_ID)
    else if (ev.kind === 'double-vote') r = checkDoubleVote(this.attestation(ev.a), this.attestation(ev.b), SIM_CHAIN_ID)
    else r = checkSurroundVote(this.attestation(ev.a), this.attestation(ev.b), SIM_CHAIN_ID)
    if (!r.ok) return r
    const offender = this.idOf(r.offender)
    return offender ? { ok: true, offender } : { ok: false, reason: `offender ${bytesToHex(r.offender)} is no validator` }
  }
}

/** Which rule two votes of one validator break, if any (what a node checks before building evidence). */
export function voteConflict(a: Vote, b: Vote): 'double-vote' | 'surround-vote' | undefined {
  if (a.validator !== b.validator) return undefined
  if (a.targetHeight === b.targetHeight && a.target !== b.target) return 'double-vote'
  const [o, i] = a.sourceHeight < b.sourceHeight ? [a, b] : [b, a]
  if (o.sourceHeight < i.sourceHeight && i.targetHeight < o.targetHeight) return 'surround-vote'
  return undefined
}
