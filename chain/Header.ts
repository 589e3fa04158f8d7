import { decode, encode } from '@ethereumjs/rlp'
import { sha256 } from '@noble/hashes/sha2.js'
import { bigintToBytes, concatBytes, u64ToBytes } from '../common/bytes.js'
import { attestationFromFields, attestationToFields, checkAttestationShape, type Attestation } from './Attestation.js'
import { ChainError } from './errors.js'
import { EMPTY_TRIE_ROOT, EMPTY_UNCLE_HASH, keccak256 } from './keccak.js'
import { expectBytes, expectList, expectUint } from './rlpFields.js'

/**
 * The fields of a povchain block header, typed. On the wire, in the database and under the
 * hash a header is a standard Ethereum Prague header (21 fields, see `BlockHeader.encode`);
 * the Proof-of-Value fields — slot, producer, the verified work receipt (job and session)
 * that entitled the producer, the VRF that feeds PREVRANDAO, attestations for the parent and
 * the producer's seal — travel inside its `extraData`, as Clique, Parlia and Bor carry theirs
 * (layout: `encodeExtraData`).
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
  /** The producer's free bytes (≤ 32, Clique's "vanity"); the genesis file's `extraData`. */
  vanity: Uint8Array
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

const DATA_KEYS: readonly (keyof HeaderData)[] = [
  'parentHash', 'coinbase', 'stateRoot', 'transactionsRoot', 'receiptsRoot', 'logsBloom', 'number', 'gasLimit', 'gasUsed',
  'timestamp', 'vanity', 'mixHash', 'baseFeePerGas', 'slot', 'producer', 'jobId', 'sessionId', 'workloadId', 'vrfOutput',
  'vrfProof', 'attestations', 'seal',
]

/** The vanity: free bytes at most as long as Ethereum's own extraData limit. */
export const MAX_VANITY = 32
export const MAX_VRF_PROOF = 128
export const MAX_ATTESTATIONS = 1024
export const SEAL_LENGTH = 65
/** Version of the Proof-of-Value layout inside extraData (its first RLP item). */
export const EXTRA_DATA_VERSION = 1n
/**
 * Upper bound of a whole extraData, checked before anything in it is decoded. The largest
 * header the field limits allow — 32-byte vanity, 128-byte VRF proof, MAX_ATTESTATIONS
 * attestations of 174 bytes each, the seal — has 178,575 bytes of extraData.
 */
export const MAX_EXTRA_DATA = 192 * 1024

/** The constant Prague fields of every povchain header (no ommers, PoW, withdrawals, blobs or requests). */
export const EMPTY_OMMERS_HASH = EMPTY_UNCLE_HASH
export const EMPTY_WITHDRAWALS_ROOT = EMPTY_TRIE_ROOT
/**
 * parentBeaconBlockRoot (EIP-4788): povchain has no beacon chain, so it is 32 zero bytes, as
 * BNB Smart Chain sets it; the field is present because Prague decoders require it.
 */
export const PARENT_BEACON_BLOCK_ROOT = new Uint8Array(32)
/** EIP-7685 requestsHash of an empty request list: sha256(""). */
export const EMPTY_REQUESTS_HASH = sha256(new Uint8Array(0))
export const HEADER_NONCE = new Uint8Array(8)
/** The number of RLP items of a Prague header. */
export const HEADER_FIELD_COUNT = 21
const POV_FIELD_COUNT = 10
/** A header is the fixed fields (≈ 600 bytes) plus extraData. */
const MAX_HEADER_BYTES = MAX_EXTRA_DATA + 1024
const EMPTY = new Uint8Array(0)
const SEAL_TAG = new TextEncoder().encode('povchain/seal')

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
  readonly vanity!: Uint8Array
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

  // Derived encodings, computed once (a header is immutable). Non-enumerable: not data.
  declare private cachedPov?: Uint8Array
  declare private cachedExtra?: Uint8Array
  declare private cachedEncoding?: Uint8Array
  declare private cachedHash?: Uint8Array
  declare private cachedSealHash?: Uint8Array

  constructor(data: HeaderData) {
    for (const k of DATA_KEYS) (this as Record<string, unknown>)[k] = data[k]
    // The field limits keep extraData under MAX_EXTRA_DATA (at most 178,575 bytes).
    checkShape(this)
  }

  /** A copy with some fields replaced (for building and sealing). */
  with(changes: Partial<HeaderData>): BlockHeader {
    return new BlockHeader({ ...this.toData(), ...changes })
  }

  toData(): HeaderData {
    const out = {} as Record<string, unknown>
    for (const k of DATA_KEYS) out[k] = this[k]
    return out as unknown as HeaderData
  }

  /** RLP([version, vanity, slot, producer, jobId, sessionId, workloadId, vrfOutput, vrfProof, attestations]): extraData without the seal. */
  private povExtra(): Uint8Array {
    return (this.cachedPov ??= encode([
      bigintToBytes(EXTRA_DATA_VERSION),
      this.vanity,
      bigintToBytes(this.slot),
      this.producer,
      this.jobId,
      this.sessionId,
      this.workloadId,
      this.vrfOutput,
      this.vrfProof,
      this.attestations.map(attestationToFields),
    ]))
  }

  /**
   * The header's extraData as it is hashed: RLP(PoV fields) ‖ seal — the seal is the last 65
   * bytes when the header is sealed, absent while it is not (Clique's convention).
   */
  get extraData(): Uint8Array {
    return (this.cachedExtra ??= this.seal.length ? concatBytes(this.povExtra(), this.seal) : this.povExtra())
  }

  /** The 21 RLP items of the standard Prague header, with `extraData` as given. */
  private fields(extraData: Uint8Array): Uint8Array[] {
    return [
      this.parentHash,
      EMPTY_OMMERS_HASH,
      this.coinbase,
      this.stateRoot,
      this.transactionsRoot,
      this.receiptsRoot,
      this.logsBloom,
      EMPTY, // difficulty 0
      bigintToBytes(this.number),
      bigintToBytes(this.gasLimit),
      bigintToBytes(this.gasUsed),
      bigintToBytes(this.timestamp),
      extraData,
      this.mixHash,
      HEADER_NONCE,
      bigintToBytes(this.baseFeePerGas),
      EMPTY_WITHDRAWALS_ROOT,
      EMPTY, // blobGasUsed 0
      EMPTY, // excessBlobGas 0
      PARENT_BEACON_BLOCK_ROOT,
      EMPTY_REQUESTS_HASH,
    ]
  }

  /** The RLP items of the header (what a block's RLP embeds). */
  rawFields(): Uint8Array[] {
    return this.fields(this.extraData)
  }

  /** The standard Ethereum (Prague) header RLP, seal included: the wire, database and hash encoding. */
  encode(): Uint8Array {
    return (this.cachedEncoding ??= encode(this.rawFields()))
  }

  /** The block hash: keccak256 of the header RLP, as every Ethereum tool computes it. */
  hash(): Uint8Array {
    return (this.cachedHash ??= keccak256(this.encode()))
  }

  /** keccak256 of the header RLP with the seal left out of extraData: the same block, whoever sealed it. */
  unsealedHash(): Uint8Array {
    return (this.cachedSealHash ??= keccak256(encode(this.fields(this.povExtra()))))
  }

  /**
   * What the producer signs: keccak256("povchain/seal" ‖ u64 chainId ‖ unsealedHash). The chain
   * id keeps a header sealed for one network from being evidence on another that shares its
   * validator keys (slashing evidence kinds 1 and 4 are judged from the header alone), as
   * EIP-155 does for transactions and our votes do for attestations.
   */
  sealDigest(chainId: bigint): Uint8Array {
    return keccak256(concatBytes(SEAL_TAG, u64ToBytes(chainId), this.unsealedHash()))
  }

  static decode(bytes: Uint8Array): BlockHeader {
    if (bytes.length > MAX_HEADER_BYTES) throw new ChainError('BAD_ENCODING', `header: ${bytes.length} bytes, more than ${MAX_HEADER_BYTES}`)
    let raw: unknown
    try {
      raw = decode(bytes)
    } catch (e) {
      throw new ChainError('BAD_ENCODING', `header: invalid RLP (${(e as Error).message})`)
    }
    return BlockHeader.fromFields(raw)
  }

  /** The header from its decoded RLP items; refuses anything that is not a povchain Prague header. */
  static fromFields(raw: unknown): BlockHeader {
    const f = expectList(raw, 'header', HEADER_FIELD_COUNT)
    expectConstant(f[1], 'header.ommersHash', EMPTY_OMMERS_HASH, 'keccak256(rlp([])): povchain blocks have no ommers')
    expectConstant(f[7], 'header.difficulty', EMPTY, '0')
    expectConstant(f[14], 'header.nonce', HEADER_NONCE, '8 zero bytes')
    expectConstant(f[16], 'header.withdrawalsRoot', EMPTY_WITHDRAWALS_ROOT, 'the empty trie root: povchain has no withdrawals')
    expectConstant(f[17], 'header.blobGasUsed', EMPTY, '0: povchain carries no blobs')
    expectConstant(f[18], 'header.excessBlobGas', EMPTY, '0: povchain carries no blobs')
    expectConstant(f[19], 'header.parentBeaconBlockRoot', PARENT_BEACON_BLOCK_ROOT, '32 zero bytes: povchain has no beacon chain')
    expectConstant(f[20], 'header.requestsHash', EMPTY_REQUESTS_HASH, 'sha256(""): povchain blocks carry no EIP-7685 requests')
    const pov = decodeExtraData(expectBytes(f[12], 'header.extraData'))
    return new BlockHeader({
      parentHash: expectBytes(f[0], 'header.parentHash', 32),
      coinbase: expectBytes(f[2], 'header.coinbase', 20),
      stateRoot: expectBytes(f[3], 'header.stateRoot', 32),
      transactionsRoot: expectBytes(f[4], 'header.transactionsRoot', 32),
      receiptsRoot: expectBytes(f[5], 'header.receiptsRoot', 32),
      logsBloom: expectBytes(f[6], 'header.logsBloom', 256),
      number: expectUint(f[8], 'header.number', 8),
      gasLimit: expectUint(f[9], 'header.gasLimit', 8),
      gasUsed: expectUint(f[10], 'header.gasUsed', 8),
      timestamp: expectUint(f[11], 'header.timestamp', 8),
      mixHash: expectBytes(f[13], 'header.mixHash', 32),
      baseFeePerGas: expectUint(f[15], 'header.baseFeePerGas', 32),
      ...pov,
    })
  }
}

/** The Proof-of-Value fields a header's extraData carries. */
export type PovExtraData = Pick<
  HeaderData,
  'vanity' | 'slot' | 'producer' | 'jobId' | 'sessionId' | 'workloadId' | 'vrfOutput' | 'vrfProof' | 'attestations' | 'seal'
>

/**
 * Reads the Proof-of-Value fields out of a header's extraData:
 * `RLP([version, vanity, slot, producer, jobId, sessionId, workloadId, vrfOutput, vrfProof,
 * [attestation…]]) ‖ seal`, the seal being 65 bytes or absent. Throws ChainError
 * ('BAD_EXTRA_DATA') naming what is wrong; never anything else.
 */
export function decodeExtraData(extra: Uint8Array): PovExtraData {
  const bad = (msg: string) => new ChainError('BAD_EXTRA_DATA', `header.extraData: ${msg}`)
  if (extra.length > MAX_EXTRA_DATA) throw bad(`${extra.length} bytes, more than ${MAX_EXTRA_DATA}`)
  if (extra.length === 0 || extra[0]! < 0xc0)
    throw bad('not a povchain extraData (it must start with the RLP list of the Proof-of-Value fields)')
  let list: unknown
  let rest: Uint8Array
  try {
    const d = decode(extra, true)
    list = d.data
    rest = d.remainder
  } catch (e) {
    throw bad(`invalid RLP of the Proof-of-Value fields (${(e as Error).message})`)
  }
  if (rest.length !== 0 && rest.length !== SEAL_LENGTH)
    throw bad(`${rest.length} bytes follow the Proof-of-Value fields; only a ${SEAL_LENGTH}-byte seal may`)
  try {
    const f = expectList(list, 'header.extraData', undefined)
    if (f.length === 0) throw bad('empty Proof-of-Value list')
    const version = expectUint(f[0], 'header.extraData.version', 8)
    if (version !== EXTRA_DATA_VERSION)
      throw bad(`Proof-of-Value layout version ${version}, this node reads version ${EXTRA_DATA_VERSION} (a newer povchain wrote it?)`)
    if (f.length !== POV_FIELD_COUNT) throw bad(`expected ${POV_FIELD_COUNT} Proof-of-Value items, got ${f.length}`)
    const vanity = expectBytes(f[1], 'header.extraData.vanity')
    if (vanity.length > MAX_VANITY) throw bad(`vanity longer than ${MAX_VANITY} bytes`)
    const vrfProof = expectBytes(f[8], 'header.extraData.vrfProof')
    if (vrfProof.length > MAX_VRF_PROOF) throw bad(`vrfProof longer than ${MAX_VRF_PROOF} bytes`)
    const attList = expectList(f[9], 'header.extraData.attestations')
    if (attList.length > MAX_ATTESTATIONS) throw bad(`more than ${MAX_ATTESTATIONS} attestations`)
    return {
      vanity,
      slot: expectUint(f[2], 'header.extraData.slot', 8),
      producer: expectBytes(f[3], 'header.extraData.producer', 20),
      jobId: expectBytes(f[4], 'header.extraData.jobId', 32),
      sessionId: expectBytes(f[5], 'header.extraData.sessionId', 32),
      workloadId: expectBytes(f[6], 'header.extraData.workloadId', 32),
      vrfOutput: expectBytes(f[7], 'header.extraData.vrfOutput', 32),
      vrfProof,
      attestations: attList.map(attestationFromFields),
      seal: rest,
    }
  } catch (e) {
    if (e instanceof ChainError && e.code === 'CHAIN_BAD_ENCODING') throw bad(e.message.replace(/^header\.extraData\.?/, ''))
    throw e
  }
}

/**
 * True when `raw` is a header in the encoding povchain used before standard Ethereum headers
 * (its own 22-item list, PoV fields as top-level items): a datadir holding one must be
 * re-initialised.
 */
export function isPreStandardHeader(raw: Uint8Array): boolean {
  try {
    const l = decode(raw)
    return Array.isArray(l) && l.length === 22
  } catch {
    return false
  }
}

function expectConstant(raw: unknown, what: string, value: Uint8Array, meaning: string): void {
  const b = expectBytes(raw, what)
  if (b.length !== value.length || !b.every((x, i) => x === value[i])) throw new ChainError('BAD_HEADER', `${what} must be ${meaning}`)
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
  for (const k of ['vanity', 'vrfProof', 'seal'] as const)
    if (!(h[k] instanceof Uint8Array)) throw new ChainError('BAD_HEADER', `header.${k} must be bytes`)
  if (h.vanity.length > MAX_VANITY) throw new ChainError('BAD_HEADER', `header.vanity (extraData vanity) longer than ${MAX_VANITY} bytes`)
  if (h.vrfProof.length > MAX_VRF_PROOF) throw new ChainError('BAD_HEADER', `header.vrfProof longer than ${MAX_VRF_PROOF} bytes`)
  if (h.seal.length !== 0 && h.seal.length !== SEAL_LENGTH) throw new ChainError('BAD_HEADER', `header.seal must be empty or ${SEAL_LENGTH} bytes`)
  if (!Array.isArray(h.attestations)) throw new ChainError('BAD_HEADER', 'header.attestations must be a list')
  if (h.attestations.length > MAX_ATTESTATIONS) throw new ChainError('BAD_HEADER', `header.attestations: more than ${MAX_ATTESTATIONS}`)
  for (const a of h.attestations) checkAttestationShape(a)
  for (const k of ['number', 'gasLimit', 'gasUsed', 'timestamp', 'slot'] as const)
    if (typeof h[k] !== 'bigint' || h[k] < 0n || h[k] >= 1n << 64n) throw new ChainError('BAD_HEADER', `header.${k} out of range`)
  if (typeof h.baseFeePerGas !== 'bigint' || h.baseFeePerGas < 0n || h.baseFeePerGas >= 1n << 256n)
    throw new ChainError('BAD_HEADER', 'header.baseFeePerGas out of range')
  if (h.gasUsed > h.gasLimit) throw new ChainError('BAD_HEADER', 'header.gasUsed exceeds gasLimit')
}
