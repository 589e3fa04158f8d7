import { EVMError, type CustomPrecompile, type EVMOpts, type ExecResult, type PrecompileInput } from '@ethereumjs/evm'
import { decodeAttestation, type Attestation } from '../chain/Attestation.js'
import {
  canonicalHeaderHash,
  checkDoubleProduction,
  checkDoubleVote,
  checkSurroundVote,
  EVIDENCE_KIND,
  type EvidenceResult,
} from '../chain/Equivocation.js'
import { BlockHeader } from '../chain/Header.js'
import { keccak256 } from '../chain/keccak.js'
import { recoverSealer } from '../chain/Seal.js'
import { bigintToFixedBytes, bytesToBigint, concatBytes, equalBytes } from '../common/bytes.js'

/**
 * The slashing-evidence precompile: lets a system contract (ValidatorSet) ask the node's own
 * native checks (chain/Equivocation.ts) whether some bytes prove an offence, instead of
 * re-implementing RLP, header hashing and vote signatures in Solidity.
 *
 *   input  abi.encode(uint8 kind, bytes a, bytes b)
 *   output abi.encode(address offender, bytes32 evidenceId, uint64 height, bytes32 jobId, bytes32 sessionId)
 *
 *   kind 1  a, b: two RLP sealed headers, same slot and producer, different contents, both
 *           sealed by the producer for this chain id (the seal digest binds it).                             height = slot
 *   kind 2  a, b: two RLP attestations by one validator (signed for this chain), same target
 *           height, different target hash.                      height = target height
 *   kind 3  a, b: two RLP attestations by one validator where one link strictly surrounds
 *           the other (s1 < s2 < t2 < t1).                      height = outer target height
 *   kind 4  a: one RLP header sealed by its producer for this chain id, b empty.  height = number,
 *           jobId/sessionId = the header's (the contract then checks the named receipt).
 *
 * evidenceId: kinds 1–3 keccak256(u8 kind ‖ min(idA, idB) ‖ max(idA, idB)) over the items'
 * hashes, kind 4 keccak256(u8 4 ‖ header hash) — hashes taken with the signature in low-s
 * form, so re-signing published evidence does not mint a second id. jobId and sessionId are
 * zero for kinds 1–3.
 *
 * Evidence that proves nothing, and input that does not decode, return the same tuple with
 * every field zero: a success, so the calling contract reverts with its own error. Gas is
 * 50,000 + 16 per input byte (decoding and two signature recoveries are far below the base;
 * the per-byte part prices hashing large headers and matches calldata cost); a call with less
 * gas fails out of gas like any precompile.
 */
export const EVIDENCE_PRECOMPILE_ADDRESS = '0x0000000000000000000000000000000000000a0e'
export const EVIDENCE_BASE_GAS = 50_000n
export const EVIDENCE_GAS_PER_BYTE = 16n

export function evidenceGas(inputLength: number): bigint {
  return EVIDENCE_BASE_GAS + EVIDENCE_GAS_PER_BYTE * BigInt(inputLength)
}

export interface ProvenEvidence {
  offender: Uint8Array
  evidenceId: Uint8Array
  height: bigint
  jobId: Uint8Array
  sessionId: Uint8Array
}

export type EvidenceVerdict = { ok: true; evidence: ProvenEvidence } | { ok: false; reason: string }

export interface EvidenceInput {
  kind: number
  a: Uint8Array
  b: Uint8Array
}

const ZERO32 = new Uint8Array(32)
const WORD = 32n

/**
 * Decodes abi.encode(uint8, bytes, bytes) as Solidity's abi.decode would accept it (offsets
 * anywhere inside the input, a uint8 without dirty high bits); a string says why not.
 */
export function decodeEvidenceInput(data: Uint8Array): EvidenceInput | string {
  const len = BigInt(data.length)
  if (len < 3n * WORD) return `input is ${data.length} bytes, shorter than the 96-byte head`
  const word = (at: bigint) => bytesToBigint(data.subarray(Number(at), Number(at + WORD)))
  const kind = word(0n)
  if (kind > 0xffn) return 'kind is not a uint8'
  const bytesAt = (headSlot: bigint, name: string): Uint8Array | string => {
    const offset = word(headSlot * WORD)
    if (offset + WORD > len) return `${name}: offset ${offset} is outside the input`
    const n = word(offset)
    if (offset + WORD + n > len) return `${name}: ${n} bytes do not fit in the input`
    const start = Number(offset + WORD)
    return data.subarray(start, start + Number(n))
  }
  const a = bytesAt(1n, 'a')
  if (typeof a === 'string') return a
  const b = bytesAt(2n, 'b')
  if (typeof b === 'string') return b
  return { kind: Number(kind), a, b }
}

function decodeHeader(bytes: Uint8Array, what: string): BlockHeader | string {
  try {
    return BlockHeader.decode(bytes)
  } catch (e) {
    return `${what} is not a header: ${(e as Error).message}`
  }
}

function decodeVote(bytes: Uint8Array, what: string): Attestation | string {
  try {
    return decodeAttestation(bytes)
  } catch (e) {
    return `${what} is not an attestation: ${(e as Error).message}`
  }
}

function fromEquivocation(r: EvidenceResult): EvidenceVerdict {
  if (!r.ok) return r
  return { ok: true, evidence: { offender: r.offender, evidenceId: r.evidenceId, height: r.height, jobId: ZERO32, sessionId: ZERO32 } }
}

/** The verdict on decoded evidence for the chain `chainId`. Pure; never throws on any bytes. */
export function judgeEvidence(input: EvidenceInput, chainId: bigint): EvidenceVerdict {
  const { kind, a, b } = input
  switch (kind) {
    case EVIDENCE_KIND.doubleProduction: {
      const ha = decodeHeader(a, 'a')
      if (typeof ha === 'string') return { ok: false, reason: ha }
      const hb = decodeHeader(b, 'b')
      if (typeof hb === 'string') return { ok: false, reason: hb }
      return fromEquivocation(checkDoubleProduction(ha, hb, chainId))
    }
    case EVIDENCE_KIND.doubleVote:
    case EVIDENCE_KIND.surroundVote: {
      const va = decodeVote(a, 'a')
      if (typeof va === 'string') return { ok: false, reason: va }
      const vb = decodeVote(b, 'b')
      if (typeof vb === 'string') return { ok: false, reason: vb }
      const check = kind === EVIDENCE_KIND.doubleVote ? checkDoubleVote : checkSurroundVote
      return fromEquivocation(check(va, vb, chainId))
    }
    case EVIDENCE_KIND.sealedHeader: {
      if (b.length !== 0) return { ok: false, reason: 'b must be empty for a sealed header' }
      const h = decodeHeader(a, 'a')
      if (typeof h === 'string') return { ok: false, reason: h }
      let sealer: Uint8Array
      try {
        sealer = recoverSealer(h, chainId)
      } catch (e) {
        return { ok: false, reason: `the header's seal does not recover: ${(e as Error).message}` }
      }
      if (!equalBytes(sealer, h.producer)) return { ok: false, reason: 'the header is not sealed by its producer' }
      const evidenceId = keccak256(concatBytes(Uint8Array.of(EVIDENCE_KIND.sealedHeader), canonicalHeaderHash(h)))
      return { ok: true, evidence: { offender: h.producer, evidenceId, height: h.number, jobId: h.jobId, sessionId: h.sessionId } }
    }
    default:
      return { ok: false, reason: `unknown evidence kind ${kind}` }
  }
}

/** abi.encode(address, bytes32, uint64, bytes32, bytes32); all zero when nothing is proven. */
export function encodeEvidenceOutput(e: ProvenEvidence | undefined): Uint8Array {
  if (!e) return new Uint8Array(5 * 32)
  return concatBytes(
    new Uint8Array(12),
    e.offender,
    e.evidenceId,
    bigintToFixedBytes(e.height, 32),
    e.jobId,
    e.sessionId,
  )
}

/** Decodes and judges raw precompile input; the verdict carries the reason when nothing is proven. */
export function judgeEvidenceInput(data: Uint8Array, chainId: bigint): EvidenceVerdict {
  const input = decodeEvidenceInput(data)
  if (typeof input === 'string') return { ok: false, reason: `undecodable input: ${input}` }
  return judgeEvidence(input, chainId)
}

export function evidencePrecompile(opts: PrecompileInput): ExecResult {
  const gas = evidenceGas(opts.data.length)
  if (opts.gasLimit < gas)
    return { returnValue: new Uint8Array(0), executionGasUsed: opts.gasLimit, exceptionError: new EVMError(EVMError.errorMessages.OUT_OF_GAS) }
  let verdict: EvidenceVerdict
  try {
    verdict = judgeEvidenceInput(opts.data, opts.common.chainId())
  } catch (e) {
    // judgeEvidence is total by construction (tested); should a bug slip through, a block that
    // calls us must still execute identically everywhere rather than crash the node.
    verdict = { ok: false, reason: `internal error: ${(e as Error).message}` }
  }
  if (opts._debug) opts._debug(`evidence precompile: ${verdict.ok ? 'proven' : verdict.reason}`)
  return { executionGasUsed: gas, returnValue: encodeEvidenceOutput(verdict.ok ? verdict.evidence : undefined) }
}

/** For `evmOpts.customPrecompiles`: every VM of the node (and of tests) gets the precompile. */
export const EVIDENCE_PRECOMPILES: CustomPrecompile[] = [{ address: EVIDENCE_PRECOMPILE_ADDRESS, function: evidencePrecompile }]

/** EVM options with the node's precompiles, to pass as `createVM({ ..., evmOpts: povEvmOpts() })`. */
export function povEvmOpts(extra: EVMOpts = {}): EVMOpts {
  return { ...extra, customPrecompiles: [...EVIDENCE_PRECOMPILES, ...(extra.customPrecompiles ?? [])] }
}
