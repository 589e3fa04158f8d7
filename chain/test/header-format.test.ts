/**
 * The header is a standard Ethereum Prague header: its hash is what @ethereumjs computes for
 * the same fields, its RLP decodes with @ethereumjs/block, and the Proof-of-Value fields ride
 * in extraData as RLP(PoV fields) ‖ seal. Malformed extraData is refused with a ChainError
 * that names the problem; an old-format datadir is refused with a re-init instruction.
 */
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBlockHeader, createBlockHeaderFromRLP } from '@ethereumjs/block'
import { decode, encode } from '@ethereumjs/rlp'
import { bigintToBytes, bytesToHex, concatBytes, equalBytes, u64ToBytes } from '../../common/bytes.js'
import { attestationToFields } from '../Attestation.js'
import { BlockStore } from '../BlockStore.js'
import { createChainCommon } from '../ChainCommon.js'
import { KeyPrefix, openChainDB, prefixed } from '../Database.js'
import { ChainError } from '../errors.js'
import {
  BlockHeader,
  decodeExtraData,
  EMPTY_OMMERS_HASH,
  EMPTY_REQUESTS_HASH,
  EMPTY_WITHDRAWALS_ROOT,
  MAX_EXTRA_DATA,
  PARENT_BEACON_BLOCK_ROOT,
} from '../Header.js'
import { keccak256 } from '../keccak.js'
import { sealHeader } from '../Seal.js'
import { privateKeyToAddress, recoverDigestSigner } from '../Signing.js'
import { headerArb } from './arbitraries.js'

const common = createChainCommon(31337n)
// Ethereum mainnet's beacon-chain rule "extraData ≤ 32 bytes after genesis" is a consensus
// check, not part of the format (BSC's and Polygon's headers break it too): skip it.
const ethjsOpts = { common, skipConsensusFormatValidation: true, setHardfork: false } as const

function ethjsHeaderOf(h: BlockHeader) {
  return createBlockHeader(
    {
      parentHash: h.parentHash,
      uncleHash: EMPTY_OMMERS_HASH,
      coinbase: h.coinbase,
      stateRoot: h.stateRoot,
      transactionsTrie: h.transactionsRoot,
      receiptTrie: h.receiptsRoot,
      logsBloom: h.logsBloom,
      difficulty: 0n,
      number: h.number,
      gasLimit: h.gasLimit,
      gasUsed: h.gasUsed,
      timestamp: h.timestamp,
      extraData: h.extraData,
      mixHash: h.mixHash,
      nonce: new Uint8Array(8),
      baseFeePerGas: h.baseFeePerGas,
      withdrawalsRoot: EMPTY_WITHDRAWALS_ROOT,
      blobGasUsed: 0n,
      excessBlobGas: 0n,
      parentBeaconBlockRoot: PARENT_BEACON_BLOCK_ROOT,
      requestsHash: EMPTY_REQUESTS_HASH,
    },
    ethjsOpts,
  )
}

t.test('the constant Prague fields have their standard values', async (t) => {
  t.equal(bytesToHex(EMPTY_OMMERS_HASH), '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347')
  t.equal(bytesToHex(EMPTY_WITHDRAWALS_ROOT), '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421')
  t.equal(bytesToHex(EMPTY_REQUESTS_HASH), '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  t.equal(bytesToHex(PARENT_BEACON_BLOCK_ROOT), '0x' + '00'.repeat(32))
})

t.test('property: round-trip, and hash() is keccak256 of @ethereumjs/block’s serialisation of the same header', async (t) => {
  let sealed = 0
  fc.assert(
    fc.property(headerArb, (data) => {
      const h = new BlockHeader(data)
      const enc = h.encode()
      const back = BlockHeader.decode(enc)
      if (!equalBytes(back.encode(), enc) || !equalBytes(back.hash(), h.hash())) return false
      t.same(back.toData(), h.toData())
      const ours = ethjsHeaderOf(h)
      if (!equalBytes(ours.serialize(), enc)) return false
      if (!equalBytes(keccak256(ours.serialize()), h.hash()) || !equalBytes(ours.hash(), h.hash())) return false
      const fromRlp = createBlockHeaderFromRLP(enc, ethjsOpts)
      if (!equalBytes(fromRlp.hash(), h.hash()) || fromRlp.number !== h.number || !equalBytes(fromRlp.extraData, h.extraData)) return false
      // The seal is the last 65 bytes of extraData; the seal hash is the hash of the header without it.
      if (h.seal.length) {
        sealed++
        if (!equalBytes(h.extraData.subarray(-65), h.seal)) return false
        if (!equalBytes(ethjsHeaderOf(h.with({ seal: new Uint8Array(0) })).hash(), h.unsealedHash())) return false
      } else if (!equalBytes(h.unsealedHash(), h.hash())) return false
      return true
    }),
    { numRuns: 200 },
  )
  t.ok(sealed > 50, `${sealed} sealed headers among them`)
})

t.test('a light client verifies a header from its RLP alone: hash, then the seal from extraData', async (t) => {
  const key = new Uint8Array(32).fill(7)
  const producer = privateKeyToAddress(key)
  const data = fc.sample(headerArb, { numRuns: 1, seed: 5 })[0]!
  const h = sealHeader(new BlockHeader({ ...data, producer, seal: new Uint8Array(0) }), 31337n, key)
  const raw = h.encode()
  // 1. the hash is keccak256 of the bytes
  t.same(keccak256(raw), h.hash())
  // 2. extraData = RLP(PoV fields) ‖ seal: strip the 65-byte seal, re-encode, hash, recover
  const fields = decode(raw) as Uint8Array[]
  const extra = fields[12]!
  const seal = extra.subarray(extra.length - 65)
  const unsealed = [...fields]
  unsealed[12] = extra.subarray(0, extra.length - 65)
  const u = keccak256(encode(unsealed))
  t.same(u, h.unsealedHash(), 'the unsealed hash')
  const digest = keccak256(concatBytes(new TextEncoder().encode('povchain/seal'), u64ToBytes(31337n), u))
  t.same(recoverDigestSigner(digest, seal), producer, 'the seal over ("povchain/seal" ‖ chain id ‖ unsealed hash) recovers to the producer')
  t.notSame(recoverDigestSigner(keccak256(concatBytes(new TextEncoder().encode('povchain/seal'), u64ToBytes(1n), u)), seal), producer, 'and not for another chain id')
  const pov = decode(unsealed[12]) as unknown as Uint8Array[]
  t.same(pov[3], producer, 'which is the producer the PoV fields name')
  t.same(decodeExtraData(h.extraData), { ...pick(h) }, 'decodeExtraData reads every PoV field back')
})

function pick(h: BlockHeader) {
  const { vanity, slot, producer, jobId, sessionId, workloadId, vrfOutput, vrfProof, attestations, seal } = h
  return { vanity, slot, producer, jobId, sessionId, workloadId, vrfOutput, vrfProof, attestations, seal }
}

const base = new BlockHeader({ ...fc.sample(headerArb, { numRuns: 1, seed: 21 })[0]!, seal: new Uint8Array(65).fill(3) })

/** The header RLP with item `i` replaced. */
function withItem(i: number, v: Uint8Array): Uint8Array {
  const f = base.rawFields()
  f[i] = v
  return encode(f)
}

function povItems(h: BlockHeader): (Uint8Array | Uint8Array[][])[] {
  return [
    bigintToBytes(1n), h.vanity, bigintToBytes(h.slot), h.producer, h.jobId, h.sessionId, h.workloadId, h.vrfOutput, h.vrfProof,
    h.attestations.map(attestationToFields),
  ]
}

function refused(t: Test, bytes: Uint8Array, re: RegExp, what: string, code = 'CHAIN_BAD_EXTRA_DATA') {
  try {
    BlockHeader.decode(bytes)
    t.fail(`${what}: decoded`)
  } catch (e) {
    t.ok(e instanceof ChainError, `${what}: a ChainError`)
    t.equal((e as ChainError).code, code, `${what}: ${code}`)
    t.match((e as Error).message, re, `${what}: ${(e as Error).message}`)
  }
}

t.test('the standard fields povchain fixes are checked on decode', async (t) => {
  const one = Uint8Array.of(1)
  refused(t, withItem(1, new Uint8Array(32)), /ommersHash/, 'ommers', 'CHAIN_BAD_HEADER')
  refused(t, withItem(7, one), /difficulty must be 0/, 'difficulty', 'CHAIN_BAD_HEADER')
  refused(t, withItem(14, Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1)), /nonce/, 'nonce', 'CHAIN_BAD_HEADER')
  refused(t, withItem(16, new Uint8Array(32)), /withdrawalsRoot/, 'withdrawals', 'CHAIN_BAD_HEADER')
  refused(t, withItem(17, one), /blobGasUsed/, 'blobGasUsed', 'CHAIN_BAD_HEADER')
  refused(t, withItem(18, one), /excessBlobGas/, 'excessBlobGas', 'CHAIN_BAD_HEADER')
  refused(t, withItem(19, new Uint8Array(32).fill(1)), /parentBeaconBlockRoot/, 'beacon root', 'CHAIN_BAD_HEADER')
  refused(t, withItem(20, new Uint8Array(32)), /requestsHash/, 'requests', 'CHAIN_BAD_HEADER')
  refused(t, encode(base.rawFields().slice(0, 20)), /expected 21 fields, got 20/, 'a Cancun header', 'CHAIN_BAD_ENCODING')
  refused(t, encode([...base.rawFields(), new Uint8Array(32)]), /expected 21 fields, got 22/, 'an Osaka+ header', 'CHAIN_BAD_ENCODING')
})

t.test('a malformed Proof-of-Value extraData is refused with a clear error', async (t) => {
  const pov = povItems(base)
  const ext = (items: unknown[], tail: Uint8Array = base.seal) => withItem(12, concatBytes(encode(items as never), tail))
  refused(t, withItem(12, new Uint8Array(0)), /must start with the RLP list/, 'empty extraData (a plain Ethereum header)')
  refused(t, withItem(12, new TextEncoder().encode('geth/v1.14')), /must start with the RLP list/, 'a vanity string only')
  refused(t, withItem(12, base.extraData.subarray(0, 40)), /invalid RLP/, 'truncated')
  refused(t, ext(pov, new Uint8Array(64)), /64 bytes follow/, 'a 64-byte seal')
  refused(t, ext(pov, new Uint8Array(66)), /66 bytes follow/, 'a 66-byte seal')
  refused(t, ext([bigintToBytes(2n), ...pov.slice(1)]), /version 2, this node reads version 1/, 'a future version')
  refused(t, ext([]), /empty Proof-of-Value list/, 'an empty list')
  refused(t, ext(pov.slice(0, 9)), /expected 10 Proof-of-Value items, got 9/, 'an item missing')
  refused(t, ext([...pov, new Uint8Array(0)]), /expected 10 Proof-of-Value items, got 11/, 'an item too many')
  refused(t, ext([pov[0], new Uint8Array(33), ...pov.slice(2)]), /vanity longer than 32/, 'a 33-byte vanity')
  refused(t, ext([...pov.slice(0, 3), new Uint8Array(19), ...pov.slice(4)]), /producer: expected 20 bytes, got 19/, 'a short producer')
  refused(t, ext([...pov.slice(0, 2), Uint8Array.of(0, 1), ...pov.slice(3)]), /slot: integer has leading zero/, 'a non-canonical slot')
  refused(t, ext([...pov.slice(0, 8), new Uint8Array(129), pov[9]]), /vrfProof longer than 128/, 'a long VRF proof')
  refused(t, ext([...pov.slice(0, 9), new Uint8Array(3)]), /attestations: expected an RLP list/, 'attestations not a list')
  refused(t, ext([...pov.slice(0, 9), [[new Uint8Array(31)]]]), /attestation: expected 6 fields/, 'a malformed attestation')
  refused(t, withItem(12, new Uint8Array(MAX_EXTRA_DATA + 1).fill(0xc0)), /more than 196608/, 'an oversized extraData')
  t.throws(() => new BlockHeader({ ...base.toData(), vanity: new Uint8Array(33) }), /vanity/, 'the constructor refuses a long vanity too')
})

t.test('property: mutated extraData never crashes the decoder', async (t) => {
  const extra = base.extraData
  let decoded = 0
  fc.assert(
    fc.property(
      fc.oneof(
        fc.record({ at: fc.nat(extra.length - 1), byte: fc.integer({ min: 0, max: 255 }) }).map(({ at, byte }) => {
          const c = extra.slice()
          c[at] = byte
          return c
        }),
        fc.nat(extra.length).map((n) => extra.subarray(0, n)),
        fc.uint8Array({ maxLength: 80 }).map((b) => concatBytes(extra, b)),
        fc.uint8Array({ maxLength: 400 }),
      ),
      (mutated) => {
        try {
          const h = BlockHeader.decode(withItem(12, mutated))
          decoded++
          return equalBytes(h.extraData, mutated)
        } catch (e) {
          return e instanceof ChainError && /^header\.extraData: /.test((e as Error).message)
        }
      },
    ),
    { numRuns: 1000 },
  )
  t.pass(`${decoded} of the mutations still decoded (to a header with exactly those bytes), the rest were refused with a ChainError`)
})

t.test('a datadir written with the old 22-field header is refused with a re-init instruction', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'povchain-oldfmt-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const db = await openChainDB(dir)
  t.teardown(() => db.close())
  // The pre-standard encoding: the 13 Ethereum fields, the PoV fields, then the seal.
  const h = base
  const old = encode([
    h.parentHash, h.coinbase, h.stateRoot, h.transactionsRoot, h.receiptsRoot, h.logsBloom, bigintToBytes(h.number),
    bigintToBytes(h.gasLimit), bigintToBytes(h.gasUsed), bigintToBytes(h.timestamp), h.vanity, h.mixHash,
    bigintToBytes(h.baseFeePerGas), bigintToBytes(h.slot), h.producer, h.jobId, h.sessionId, h.workloadId, h.vrfOutput,
    h.vrfProof, h.attestations.map(attestationToFields), h.seal,
  ] as never)
  const oldHash = keccak256(old)
  await db.batch([
    { type: 'put', key: prefixed(KeyPrefix.header, oldHash), value: old },
    { type: 'put', key: prefixed(KeyPrefix.meta, new TextEncoder().encode('head')), value: oldHash },
  ])
  const store = new BlockStore(db, common)
  await t.rejects(store.open(), { code: 'CHAIN_OLD_FORMAT', message: /older povchain.*povchain init --genesis/s })
})
