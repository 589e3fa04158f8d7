/** fast-check generators of chain data shared by the chain tests. */
import fc from 'fast-check'
import type { HeaderData } from '../Header.js'

export const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
export const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
export const attestation = fc.record({ sourceHash: bytes(32), sourceHeight: u64, targetHash: bytes(32), targetHeight: u64, validator: bytes(20), signature: bytes(65) })

export const headerArb: fc.Arbitrary<HeaderData> = fc
  .record({
    parentHash: bytes(32),
    coinbase: bytes(20),
    stateRoot: bytes(32),
    transactionsRoot: bytes(32),
    receiptsRoot: bytes(32),
    logsBloom: bytes(256),
    number: u64,
    gasLimit: u64,
    gasUsedFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    timestamp: u64,
    vanity: fc.uint8Array({ maxLength: 32 }),
    mixHash: bytes(32),
    baseFeePerGas: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
    slot: u64,
    producer: bytes(20),
    jobId: bytes(32),
    sessionId: bytes(32),
    workloadId: bytes(32),
    vrfOutput: bytes(32),
    vrfProof: fc.uint8Array({ maxLength: 128 }),
    attestations: fc.array(attestation, { maxLength: 4 }),
    seal: fc.oneof(fc.constant(new Uint8Array(0)), bytes(65)),
  })
  .map(({ gasUsedFraction, ...h }) => ({ ...h, gasUsed: BigInt(Math.floor(Number(h.gasLimit) * gasUsedFraction)) > h.gasLimit ? h.gasLimit : BigInt(Math.floor(Number(h.gasLimit) * gasUsedFraction)) }))

