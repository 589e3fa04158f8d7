import { decode, encode } from '@ethereumjs/rlp'
import { bigintToBytes } from '../common/bytes.js'
import { attestationFromFields, attestationToFields, checkAttestationShape, type Attestation } from './Attestation.js'
import { ChainError } from './errors.js'
import { keccak256 } from './keccak.js'
import { expectBytes, expectList, expectUint } from './rlpFields.js'

/**
 * The fields of a povchain block header. The first thirteen are the Ethereum fields that
 * wallets and the EVM read; the rest are Proof of Value: which slot, who produced it, the
 * verified work receipt (job and session) that entitled the producer, the VRF that feeds
 * PREVRANDAO, attestations for the parent, and the producer's seal.
 */
export interface HeaderData {
  parentHash: Uint8Array
  coinbase: Uint8Array
  stateRoot: Uint8Array
  transactionsRoot: Uint8Array
  receiptsRoot: Uint8Array
  logsBloom: Uint8Array
  number: bigint
  gasLimit: bigint
  gasUsed: bigint
  timestamp: bigint
  extraData: Uint8Array
  /** PREVRANDAO: the RANDAO-style mix of VRF outputs. */
  mixHash: Uint8Array
  baseFeePerGas: bigint
  slot: bigint
  producer: Uint8Array
  jobId: Uint8Array
  sessionId: Uint8Array
  workloadId: Uint8Array
  vrfOutput: Uint8Array
  vrfProof: Uint8Array
  attestations: Attestation[]
  /** 65 bytes r ‖ s ‖ v (v = recovery id 0/1) over `sealHash`; empty while unsealed. */
  seal: Uint8Array
}

export const MAX_EXTRA_DATA = 32
export const MAX_VRF_PROOF = 128
export const MAX_ATTESTATIONS = 1024
const FIELD_COUNT = 22

export class BlockHeader implements HeaderData {
  readonly parentHash!: Uint8Array
  readonly coinbase!: Uint8Array
  readonly stateRoot!: Uint8Array
  readonly transactionsRoot!: Uint8Array
  readonly receiptsRoot!: Uint8Array
  readonly logsBloom!: Uint8Array
  readonly number!: bigint
  readonly gasLimit!: bigint
  readonly gasUsed!: bigint
  readonly timestamp!: bigint
  readonly extraData!: Uint8Array
  readonly mixHash!: Uint8Array
  readonly baseFeePerGas!: bigint
  readonly slot!: bigint
  readonly producer!: Uint8Array
  readonly jobId!: Uint8Array
  readonly sessionId!: Uint8Array
  readonly workloadId!: Uint8Array
  readonly vrfOutput!: Uint8Array
  readonly vrfProof!: Uint8Array
  readonly attestations!: Attestation[]
  readonly seal!: Uint8Array

  private cachedHash?: Uint8Array
  private cachedEncoding?: Uint8Array

  constructor(data: HeaderData) {
    Object.assign(this, data)
    checkShape(this)
  }

  /** A copy with some fields replaced (for building and sealing). */
  with(changes: Partial<HeaderData>): BlockHeader {
    return new BlockHeader({ ...this.toData(), ...changes })
  }

  toData(): HeaderData {
    const { cachedHash: _h, cachedEncoding: _e, ...data } = this
    return data as HeaderData
  }

  private unsealedFields(): (Uint8Array | Uint8Array[][])[] {
    return [
      this.parentHash,
      this.coinbase,
      this.stateRoot,
      this.transactionsRoot,
      this.receiptsRoot,
      this.logsBloom,
      bigintToBytes(this.number),
      bigintToBytes(this.gasLimit),
      bigintToBytes(this.gasUsed),
      bigintToBytes(this.timestamp),
      this.extraData,
      this.mixHash,
      bigintToBytes(this.baseFeePerGas),
      bigintToBytes(this.slot),
      this.producer,
      this.jobId,
      this.sessionId,
      this.workloadId,
      this.vrfOutput,
      this.vrfProof,
      this.attestations.map(attestationToFields),
    ]
  }

  /** RLP of the whole header, seal included. */
  encode(): Uint8Array {
    return (this.cachedEncoding ??= encode([...this.unsealedFields(), this.seal]))
  }

  /** The block hash: keccak256 of the RLP of the header. */
  hash(): Uint8Array {
    return (this.cachedHash ??= keccak256(this.encode()))
  }

  /** What the producer signs: keccak256 of the RLP of the header without the seal. */
  sealHash(): Uint8Array {
    return keccak256(encode(this.unsealedFields()))
  }

  static decode(bytes: Uint8Array): BlockHeader {
    let raw: unknown
    try {
      raw = decode(bytes)
    } catch (e) {
      throw new ChainError('BAD_ENCODING', `header: invalid RLP (${(e as Error).message})`)
    }
    return BlockHeader.fromFields(raw)
  }

  static fromFields(raw: unknown): BlockHeader {
    const f = expectList(raw, 'header', FIELD_COUNT)
    const attList = expectList(f[20], 'header.attestations')
    if (attList.length > MAX_ATTESTATIONS) throw new ChainError('BAD_ENCODING', 'header.attestations: too many')
    return new BlockHeader({
      parentHash: expectBytes(f[0], 'header.parentHash', 32),
      coinbase: expectBytes(f[1], 'header.coinbase', 20),
      stateRoot: expectBytes(f[2], 'header.stateRoot', 32),
      transactionsRoot: expectBytes(f[3], 'header.transactionsRoot', 32),
      receiptsRoot: expectBytes(f[4], 'header.receiptsRoot', 32),
      logsBloom: expectBytes(f[5], 'header.logsBloom', 256),
      number: expectUint(f[6], 'header.number', 8),
      gasLimit: expectUint(f[7], 'header.gasLimit', 8),
      gasUsed: expectUint(f[8], 'header.gasUsed', 8),
      timestamp: expectUint(f[9], 'header.timestamp', 8),
      extraData: expectBytes(f[10], 'header.extraData'),
      mixHash: expectBytes(f[11], 'header.mixHash', 32),
      baseFeePerGas: expectUint(f[12], 'header.baseFeePerGas', 32),
      slot: expectUint(f[13], 'header.slot', 8),
      producer: expectBytes(f[14], 'header.producer', 20),
      jobId: expectBytes(f[15], 'header.jobId', 32),
      sessionId: expectBytes(f[16], 'header.sessionId', 32),
      workloadId: expectBytes(f[17], 'header.workloadId', 32),
      vrfOutput: expectBytes(f[18], 'header.vrfOutput', 32),
      vrfProof: expectBytes(f[19], 'header.vrfProof'),
      attestations: attList.map(attestationFromFields),
      seal: expectBytes(f[21], 'header.seal'),
    })
  }
}

function checkShape(h: HeaderData): void {
  const fixed: [keyof HeaderData, number][] = [
    ['parentHash', 32],
    ['coinbase', 20],
    ['stateRoot', 32],
    ['transactionsRoot', 32],
    ['receiptsRoot', 32],
    ['logsBloom', 256],
    ['mixHash', 32],
    ['producer', 20],
    ['jobId', 32],
    ['sessionId', 32],
    ['workloadId', 32],
    ['vrfOutput', 32],
  ]
  for (const [k, len] of fixed) {
    const v = h[k] as Uint8Array
    if (!(v instanceof Uint8Array) || v.length !== len)
      throw new ChainError('BAD_HEADER', `header.${k} must be ${len} bytes`)
  }
  if (h.extraData.length > MAX_EXTRA_DATA) throw new ChainError('BAD_HEADER', `header.extraData longer than ${MAX_EXTRA_DATA} bytes`)
  if (h.vrfProof.length > MAX_VRF_PROOF) throw new ChainError('BAD_HEADER', `header.vrfProof longer than ${MAX_VRF_PROOF} bytes`)
  if (h.seal.length !== 0 && h.seal.length !== 65) throw new ChainError('BAD_HEADER', 'header.seal must be empty or 65 bytes')
  if (h.attestations.length > MAX_ATTESTATIONS) throw new ChainError('BAD_HEADER', `header.attestations: more than ${MAX_ATTESTATIONS}`)
  for (const a of h.attestations) checkAttestationShape(a)
  for (const k of ['number', 'gasLimit', 'gasUsed', 'timestamp', 'slot'] as const)
    if (h[k] < 0n || h[k] >= 1n << 64n) throw new ChainError('BAD_HEADER', `header.${k} out of range`)
  if (h.baseFeePerGas < 0n || h.baseFeePerGas >= 1n << 256n) throw new ChainError('BAD_HEADER', 'header.baseFeePerGas out of range')
  if (h.gasUsed > h.gasLimit) throw new ChainError('BAD_HEADER', 'header.gasUsed exceeds gasLimit')
}
