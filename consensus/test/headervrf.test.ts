import t from 'tap'
import { BlockHeader, MAX_VRF_PROOF } from '../../chain/Header.js'
import { sealHeader } from '../../chain/Seal.js'
import { privateKeyToAddress } from '../../chain/Signing.js'
import { headerVrf, headerVrfViolation } from '../HeaderVrf.js'

const h32 = (n: number) => new Uint8Array(32).fill(n)
const KEY = new Uint8Array(32).fill(5)
const OTHER = new Uint8Array(32).fill(6)
const SEED = h32(0xaa)

function header(key: Uint8Array, slot: bigint, vrf: { vrfProof: Uint8Array; vrfOutput: Uint8Array }, producer = privateKeyToAddress(key)): BlockHeader {
  return sealHeader(new BlockHeader({
      parentHash: h32(9), coinbase: producer, stateRoot: h32(0), transactionsRoot: h32(0), receiptsRoot: h32(0),
      logsBloom: new Uint8Array(256), number: 5n, gasLimit: 30_000_000n, gasUsed: 0n, timestamp: 1000n,
      vanity: new Uint8Array(0), mixHash: h32(0), baseFeePerGas: 7n, slot, producer, jobId: h32(1), sessionId: h32(2),
      workloadId: h32(3), ...vrf, attestations: [], seal: new Uint8Array(0),
    }), 31337n,
    key,
  )
}

t.test('a header carries an ECVRF proof of its slot by its producer', async (t) => {
  const vrf = headerVrf(KEY, SEED, 12n)
  t.ok(vrf.vrfProof.length <= MAX_VRF_PROOF, 'the proof fits the header field')
  const h = header(KEY, 12n, vrf)
  t.equal(headerVrfViolation(h, SEED, 31337n), undefined)
  t.equal(BlockHeader.decode(h.encode()).vrfProof.length, 81, 'survives RLP')
  t.match(headerVrfViolation(h, h32(0xbb), 31337n), /does not verify/, 'another epoch seed')
  t.match(headerVrfViolation(header(KEY, 13n, vrf), SEED, 31337n), /does not verify/, 'another slot')
  t.match(headerVrfViolation(header(KEY, 12n, { ...vrf, vrfOutput: h32(1) }), SEED, 31337n), /not the proof/, 'forged output')
  t.match(headerVrfViolation(header(OTHER, 12n, headerVrf(OTHER, SEED, 12n), privateKeyToAddress(KEY)), SEED, 31337n), /not its producer/, 'sealed by someone else')
  t.match(headerVrfViolation(header(OTHER, 12n, vrf), SEED, 31337n), /does not verify/, 'someone else’s proof')
})
