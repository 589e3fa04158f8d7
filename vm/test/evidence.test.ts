import t, { type Test } from 'tap'
import fc from 'fast-check'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAddressFromString, Address } from '@ethereumjs/util'
import { createVM, type VM } from '@ethereumjs/vm'
import { decodeErrorResult, decodeFunctionResult, encodeAbiParameters, encodeFunctionData, type Abi, type Hex } from 'viem'
import { encodeAttestation, signAttestation, type UnsignedAttestation } from '../../chain/Attestation.js'
import { createChainCommon } from '../../chain/ChainCommon.js'
import { openChainDB, type ChainDB } from '../../chain/Database.js'
import { BlockHeader } from '../../chain/Header.js'
import { keccak256 } from '../../chain/keccak.js'
import { sealHeader } from '../../chain/Seal.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { bytesToHex, concatBytes, equalBytes, hexToBytes } from '../../common/bytes.js'
import { compileSolidity } from '../../test/helpers/solidity.js'
import {
  EVIDENCE_PRECOMPILE_ADDRESS,
  evidenceGas,
  judgeEvidenceInput,
  povEvmOpts,
  type EvidenceVerdict,
} from '../EvidencePrecompile.js'
import { WorldState } from '../WorldState.js'

/**
 * The slashing-evidence precompile, judged directly (verdicts and reasons) and through the
 * node's own VM (WorldState on a real LevelDB): raw calls for output and gas, and a
 * solc-compiled contract that staticcalls it and decodes the tuple as ValidatorSet will.
 */
const CHAIN_ID = 4242n
const K1 = new Uint8Array(32).fill(1)
const K2 = new Uint8Array(32).fill(2)
const A1 = privateKeyToAddress(K1)
const A2 = privateKeyToAddress(K2)
const h32 = (n: number) => new Uint8Array(32).fill(n)

function header(o: { slot?: bigint; producer?: Uint8Array; extra?: number; number?: bigint } = {}): BlockHeader {
  const producer = o.producer ?? A1
  return new BlockHeader({
    parentHash: h32(9), coinbase: producer, stateRoot: h32(0), transactionsRoot: h32(0), receiptsRoot: h32(0),
    logsBloom: new Uint8Array(256), number: o.number ?? 12n, gasLimit: 30_000_000n, gasUsed: 0n, timestamp: 1000n,
    vanity: Uint8Array.of(o.extra ?? 0), mixHash: h32(0), baseFeePerGas: 7n, slot: o.slot ?? 40n, producer, jobId: h32(0x11), sessionId: h32(0x22),
    workloadId: h32(3), vrfOutput: h32(4), vrfProof: new Uint8Array(0), attestations: [], seal: new Uint8Array(0),
  })
}
const sealed = (o: Parameters<typeof header>[0] = {}, key = K1) => sealHeader(header(o), CHAIN_ID, key).encode()

function vote(o: Partial<UnsignedAttestation> = {}, key = K1, chainId = CHAIN_ID): Uint8Array {
  const unsigned = { sourceHash: h32(5), sourceHeight: 10n, targetHash: h32(6), targetHeight: 20n, validator: privateKeyToAddress(key), ...o }
  return encodeAttestation(signAttestation(unsigned, chainId, key))
}

function input(kind: number, a: Uint8Array, b: Uint8Array = new Uint8Array(0)): Uint8Array {
  return hexToBytes(encodeAbiParameters([{ type: 'uint8' }, { type: 'bytes' }, { type: 'bytes' }], [kind, bytesToHex(a), bytesToHex(b)]))
}

const CURVE_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
/** The (r, n − s, 1 − v) twin of a signature: the same signer, other bytes. */
function highS(sig: Uint8Array): Uint8Array {
  const s = BigInt(bytesToHex(sig.subarray(32, 64)))
  return concatBytes(sig.subarray(0, 32), hexToBytes('0x' + (CURVE_N - s).toString(16).padStart(64, '0')), Uint8Array.of(sig[64]! ^ 1))
}

const judge = (data: Uint8Array): EvidenceVerdict => judgeEvidenceInput(data, CHAIN_ID)

function provenBy(t: Test, v: EvidenceVerdict, offender: Uint8Array, height: bigint, what: string) {
  if (!v.ok) return t.fail(`${what}: ${v.reason}`)
  t.ok(equalBytes(v.evidence.offender, offender) && v.evidence.height === height, what)
}
function refused(t: Test, v: EvidenceVerdict, reason: RegExp, what: string) {
  t.match(v, { ok: false, reason }, what)
}

// Valid evidence of every kind (also the seeds of the mutation property).
const doubleProduction = input(1, sealed({ extra: 0 }), sealed({ extra: 1 }))
const doubleVote = input(2, vote(), vote({ targetHash: h32(7) }))
const surround = input(3, vote({ sourceHeight: 10n, targetHeight: 20n }), vote({ sourceHeight: 12n, targetHeight: 15n, sourceHash: h32(8), targetHash: h32(9) }))
const sealedHeader = input(4, sealed({ number: 77n }))
const VALID = [doubleProduction, doubleVote, surround, sealedHeader]

t.test('kind 1: two headers for one slot by one producer', async (t) => {
  provenBy(t, judge(doubleProduction), A1, 40n, 'proven, height = slot')
  refused(t, judge(input(1, sealed({ slot: 40n }), sealed({ slot: 41n, extra: 1 }))), /slots 40 and 41/, 'different slots')
  refused(t, judge(input(1, sealed(), sealed())), /same block/, 'the same header twice')
  refused(t, judge(input(1, sealed(), sealHeader(header({ extra: 1 }), CHAIN_ID, K2).encode())), /second header is not sealed by its producer/, 'bad seal')
  refused(t, judge(input(1, sealed(), header({ extra: 1 }).encode())), /second header is not sealed/, 'unsealed')
  refused(t, judge(input(1, sealed(), sealed({ producer: A2, extra: 1 }, K2))), /different producers/, 'different producers')
  refused(t, judge(input(1, sealed(), Uint8Array.of(0xc0))), /b is not a header/, 'garbage header')
  // Issue 11.8: a validator that also runs a testnet (same key, other chain id) must not be slashable here for it.
  const onTestnet = (o: Parameters<typeof header>[0]) => sealHeader(header(o), 7n, K1).encode()
  refused(t, judge(input(1, onTestnet({}), onTestnet({ extra: 1 }))), /not sealed by its producer/, 'two headers sealed for another chain')
  refused(t, judge(input(1, sealed(), onTestnet({ extra: 1 }))), /second header is not sealed by its producer/, 'one of them sealed for another chain')
  t.notOk(judgeEvidenceInput(doubleProduction, 1n).ok, 'judged on another chain')
  const honest = sealHeader(header(), CHAIN_ID, K1)
  const twin = honest.with({ seal: highS(honest.seal) })
  refused(t, judge(input(1, honest.encode(), twin.encode())), /same block|not sealed/, 'an honest header and its re-signed (high-s) twin frame nobody')
})

t.test('kind 2: two votes for different blocks at one height', async (t) => {
  provenBy(t, judge(doubleVote), A1, 20n, 'proven, height = target height')
  refused(t, judge(input(2, vote(), vote())), /same block/, 'the same vote twice')
  refused(t, judge(input(2, vote(), vote({ targetHash: h32(7), targetHeight: 21n }))), /heights 20 and 21/, 'different heights')
  refused(t, judge(input(2, vote(), vote({ targetHash: h32(7) }, K2))), /different validators/, 'different validators')
  refused(t, judge(input(2, vote(), vote({ targetHash: h32(7) }, K1, 1n))), /second vote is not signed by its validator/, 'signed for another chain')
  t.notOk(judgeEvidenceInput(doubleVote, 1n).ok, 'judged on another chain')
  refused(t, judge(input(2, vote(), sealed())), /b is not an attestation/, 'a header where a vote should be')
})

t.test('kind 3: surround votes', async (t) => {
  provenBy(t, judge(surround), A1, 20n, 'proven, height = the outer target')
  const outer = vote({ sourceHeight: 10n, targetHeight: 20n })
  provenBy(t, judge(input(3, vote({ sourceHeight: 12n, targetHeight: 15n, targetHash: h32(9) }), outer)), A1, 20n, 'either order')
  refused(t, judge(input(3, outer, vote({ sourceHeight: 12n, targetHeight: 25n }))), /does not surround/, 'overlapping, not surrounding')
  refused(t, judge(input(3, outer, vote({ sourceHeight: 10n, targetHeight: 15n }))), /does not surround/, 'a shared source is not a surround')
  refused(t, judge(input(3, outer, vote({ sourceHeight: 12n, targetHeight: 15n }, K2))), /different validators/, 'different validators')
  refused(t, judge(input(3, new Uint8Array(0), vote())), /a is not an attestation/, 'an empty vote')
})

t.test('kind 4: a header sealed by its producer', async (t) => {
  const v = judge(sealedHeader)
  provenBy(t, v, A1, 77n, 'proven, height = number')
  if (v.ok) {
    t.same(v.evidence.jobId, h32(0x11), 'jobId from the header')
    t.same(v.evidence.sessionId, h32(0x22), 'sessionId from the header')
    t.same(v.evidence.evidenceId, keccak256(concatBytes(Uint8Array.of(4), BlockHeader.decode(sealed({ number: 77n })).hash())), 'id = keccak(4 ‖ hash)')
  }
  const h = BlockHeader.decode(sealed({ number: 77n }))
  refused(t, judge(input(4, h.with({ seal: highS(h.seal) }).encode())), /low-s/, 'a re-signed (high-s) copy is not a valid seal')
  refused(t, judge(input(4, sealHeader(header(), CHAIN_ID, K2).encode())), /not sealed by its producer/, 'bad seal')
  refused(t, judge(input(4, header().encode())), /not sealed/, 'unsealed')
  // Issue 11.8: the same producer's header on another network (its own receipts, unknown here) proves nothing here.
  refused(t, judge(input(4, sealHeader(header(), 7n, K1).encode())), /not sealed by its producer/, 'a header sealed for another chain id')
  t.notOk(judgeEvidenceInput(sealedHeader, 1n).ok, 'judged on another chain')
  refused(t, judge(input(4, sealed(), Uint8Array.of(1))), /b must be empty/, 'b not empty')
})

t.test('undecodable input and unknown kinds', async (t) => {
  refused(t, judge(new Uint8Array(95)), /shorter than the 96-byte head/, 'a truncated head')
  refused(t, judge(doubleProduction.subarray(0, doubleProduction.length - 40)), /do not fit/, 'truncated bytes')
  const dirty = doubleVote.slice()
  dirty[0] = 1
  refused(t, judge(dirty), /not a uint8/, 'a kind with dirty high bits')
  const farOffset = doubleVote.slice()
  farOffset[63] = 0xff
  farOffset[62] = 0xff
  refused(t, judge(farOffset), /outside the input/, 'an offset past the end')
  refused(t, judge(input(9, sealed(), sealed())), /unknown evidence kind 9/, 'kind 9')
  refused(t, judge(input(0, sealed(), sealed())), /unknown evidence kind 0/, 'kind 0')
  refused(t, judge(new Uint8Array(1000).fill(0xab)), /undecodable/, 'garbage')
})

// ---------------------------------------------------------------- through the node's VM

const PROBE_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// Calls the evidence precompile exactly as ValidatorSet does.
contract EvidenceProbe {
    address constant EVIDENCE = address(0x0A0E);
    error NothingProven();
    error PrecompileFailed();

    function judge(uint8 kind, bytes calldata a, bytes calldata b)
        external view returns (address offender, bytes32 evidenceId, uint64 height, bytes32 jobId, bytes32 sessionId)
    {
        (bool ok, bytes memory out) = EVIDENCE.staticcall(abi.encode(kind, a, b));
        if (!ok) revert PrecompileFailed();
        (offender, evidenceId, height, jobId, sessionId) = abi.decode(out, (address, bytes32, uint64, bytes32, bytes32));
        if (offender == address(0)) revert NothingProven();
    }

    /// Whether the call succeeds when it may spend only \`gas\`.
    function judgeWithGas(uint8 kind, bytes calldata a, bytes calldata b, uint256 gas) external view returns (bool ok) {
        (ok, ) = EVIDENCE.staticcall{gas: gas}(abi.encode(kind, a, b));
    }
}
`

t.test('in the node VM: raw calls, gas, and a Solidity caller', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'povchain-evidence-'))
  let db: ChainDB | undefined
  t.teardown(async () => {
    await db?.close()
    rmSync(dir, { recursive: true, force: true })
  })
  db = await openChainDB(join(dir, 'db'))
  const state = new WorldState(db, createChainCommon(CHAIN_ID), { canonicalHash: async () => undefined })
  const vm: VM = await state.genesisVM()
  const precompile = createAddressFromString(EVIDENCE_PRECOMPILE_ADDRESS)
  const caller = new Address(new Uint8Array(20).fill(0xc0))
  const raw = (data: Uint8Array, gasLimit: bigint) => vm.evm.runCall({ to: precompile, caller, data, gasLimit })

  t.test('raw calls: output tuple and gas', async (t) => {
    const r = await raw(doubleVote, 1_000_000n)
    t.notOk(r.execResult.exceptionError, 'no exception')
    t.equal(r.execResult.executionGasUsed, 50_000n + 16n * BigInt(doubleVote.length), 'charged 50,000 + 16 per input byte')
    t.equal(evidenceGas(doubleVote.length), r.execResult.executionGasUsed)
    const out = r.execResult.returnValue
    t.equal(out.length, 160, 'five words')
    t.same(out.subarray(12, 32), A1, 'offender')
    t.equal(BigInt(bytesToHex(out.subarray(64, 96))), 20n, 'height')
    t.same(out.subarray(96, 160), new Uint8Array(64), 'no job or session for a double vote')

    const none = await raw(input(2, vote(), vote()), 1_000_000n)
    t.notOk(none.execResult.exceptionError, 'evidence that proves nothing is a success…')
    t.same(none.execResult.returnValue, new Uint8Array(160), '…with every field zero')
    const garbage = await raw(Uint8Array.of(1, 2, 3), 1_000_000n)
    t.same(garbage.execResult.returnValue, new Uint8Array(160), 'undecodable input likewise')
    t.equal(garbage.execResult.executionGasUsed, 50_048n)

    const exact = await raw(sealedHeader, evidenceGas(sealedHeader.length))
    t.notOk(exact.execResult.exceptionError, 'exactly enough gas')
    const short = await raw(sealedHeader, evidenceGas(sealedHeader.length) - 1n)
    t.equal(short.execResult.exceptionError?.error, 'out of gas', 'one gas short: out of gas')
    t.equal(short.execResult.executionGasUsed, evidenceGas(sealedHeader.length) - 1n, 'and all of it is spent')
    t.equal(short.execResult.returnValue.length, 0)

    const own = await createVM({ common: createChainCommon(CHAIN_ID), setHardfork: false, evmOpts: povEvmOpts() })
    const viaHelper = await own.evm.runCall({ to: precompile, caller, data: doubleVote, gasLimit: 1_000_000n })
    t.same(viaHelper.execResult.returnValue, out, 'a VM made with createVM({ evmOpts: povEvmOpts() }) has the same precompile')
    const plain = await createVM({ common: createChainCommon(CHAIN_ID), setHardfork: false })
    t.equal((await plain.evm.runCall({ to: precompile, caller, data: doubleVote, gasLimit: 1_000_000n })).execResult.returnValue.length, 0, 'and one without it has none')

    const wrongChain = await raw(input(2, vote({}, K1, 1n), vote({ targetHash: h32(7) }, K1, 1n)), 1_000_000n)
    t.same(wrongChain.execResult.returnValue, new Uint8Array(160), 'votes signed for chain 1 prove nothing on chain 4242 (chain id from the VM)')
  })

  t.test('a solc-compiled contract staticcalls and decodes', async (t) => {
    const probe = compileSolidity({ 'EvidenceProbe.sol': PROBE_SOURCE }).EvidenceProbe!
    const abi = probe.abi as Abi
    const created = await vm.evm.runCall({ caller, data: hexToBytes(probe.bytecode), gasLimit: 5_000_000n })
    t.notOk(created.execResult.exceptionError, 'deployed')
    const at = created.createdAddress!
    const call = async (functionName: string, args: unknown[]) => {
      const r = await vm.evm.runCall({ to: at, caller, data: hexToBytes(encodeFunctionData({ abi, functionName, args })), gasLimit: 2_000_000n })
      return { reverted: !!r.execResult.exceptionError, out: bytesToHex(r.execResult.returnValue) as Hex }
    }
    // The contract re-encodes (kind, a, b) itself: split our canonical input back into them.
    const args = (data: Uint8Array) => {
      const v = decodeEvidenceArgs(data)
      return [data[31]!, bytesToHex(v.a), bytesToHex(v.b)]
    }
    for (const [name, data, height] of [
      ['double production', doubleProduction, 40n],
      ['double vote', doubleVote, 20n],
      ['surround vote', surround, 20n],
      ['sealed header', sealedHeader, 77n],
    ] as const) {
      const r = await call('judge', args(data))
      t.notOk(r.reverted, `${name}: the call succeeds`)
      const [offender, evidenceId, h, jobId, sessionId] = decodeFunctionResult({ abi, functionName: 'judge', data: r.out }) as [Hex, Hex, bigint, Hex, Hex]
      t.equal(offender.toLowerCase(), bytesToHex(A1), `${name}: offender decoded in Solidity`)
      t.equal(h, height, `${name}: height`)
      const direct = judge(data)
      t.equal(evidenceId, direct.ok ? bytesToHex(direct.evidence.evidenceId) : '', `${name}: the same id as the native verdict`)
      if (name === 'sealed header') t.same([jobId, sessionId], [bytesToHex(h32(0x11)), bytesToHex(h32(0x22))], 'job and session from the header')
    }
    const nothing = await call('judge', [2, bytesToHex(vote()), bytesToHex(vote())])
    t.ok(nothing.reverted, 'evidence proving nothing: the contract reverts with its own error')
    t.equal(decodeErrorResult({ abi, data: nothing.out }).errorName, 'NothingProven')

    const need = evidenceGas(input(4, sealed({ number: 77n })).length)
    const withGas = async (gas: bigint) => {
      const r = await call('judgeWithGas', [...args(sealedHeader), gas])
      return decodeFunctionResult({ abi, functionName: 'judgeWithGas', data: r.out }) as boolean
    }
    t.equal(await withGas(need), true, 'enough gas through the contract')
    t.equal(await withGas(need - 1n), false, 'one short: the staticcall fails (out of gas)')
  })
})

/** (a, b) of a canonical abi.encode(uint8, bytes, bytes), for re-encoding as call arguments. */
function decodeEvidenceArgs(data: Uint8Array): { a: Uint8Array; b: Uint8Array } {
  const word = (at: number) => Number(BigInt(bytesToHex(data.subarray(at, at + 32))))
  const take = (head: number) => {
    const off = word(head)
    return data.subarray(off + 32, off + 32 + word(off))
  }
  return { a: take(32), b: take(64) }
}

// ---------------------------------------------------------------- robustness

t.test('random mutations of valid evidence never crash the precompile and never frame anyone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'povchain-evidence-prop-'))
  const db = await openChainDB(join(dir, 'db'))
  t.teardown(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const vm = await new WorldState(db, createChainCommon(CHAIN_ID), { canonicalHash: async () => undefined }).genesisVM()
  const to = createAddressFromString(EVIDENCE_PRECOMPILE_ADDRESS)
  const caller = new Address(new Uint8Array(20).fill(0xc0))
  let proven = 0
  let refusedCount = 0
  let oog = 0
  const mutation = fc.record({
    seed: fc.constantFrom(...VALID),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 0, maxLength: 4 }),
    cut: fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: fc.nat(), weight: 1 }),
    gasShort: fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary: fc.integer({ min: 1, max: 60_000 }), weight: 1 }),
  })
  await fc.assert(
    fc.asyncProperty(mutation, async ({ seed, flips, cut, gasShort }) => {
      let data = seed.slice()
      for (const [pos, x] of flips) data[pos % data.length] ^= x
      if (cut !== null) data = data.subarray(0, cut % (data.length + 1))
      const v = judgeEvidenceInput(data, CHAIN_ID) // must not throw
      // Only A1 signed anything: whatever is proven, it is against A1.
      if (v.ok && !equalBytes(v.evidence.offender, A1)) return false
      const need = evidenceGas(data.length)
      const gasLimit = gasShort === null ? need : need - BigInt(gasShort)
      const r = await vm.evm.runCall({ to, caller, data, gasLimit: gasLimit < 0n ? 0n : gasLimit })
      if (gasShort !== null) {
        oog++
        return r.execResult.exceptionError?.error === 'out of gas'
      }
      if (r.execResult.exceptionError) return false
      if (r.execResult.executionGasUsed !== need || r.execResult.returnValue.length !== 160) return false
      const zero = r.execResult.returnValue.every((x) => x === 0)
      if (v.ok) proven++
      else refusedCount++
      return zero === !v.ok
    }),
    { numRuns: 400 },
  )
  t.ok(refusedCount > 0, `${proven} mutated inputs still proven (no flip, padding, or still A1's evidence), ${refusedCount} refused, ${oog} out of gas`)
})
