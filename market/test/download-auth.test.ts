/**
 * Signed blob requests (market/assets/DownloadAuth.ts): a request signed by the requester's key
 * proves its account for one blob on one chain at one server until its expiry; any tampering
 * with any field (the server and the challenge included) or the signature fails, as do other
 * chains, other blobs, other servers, expired requests and requests valid for too long. Seeded
 * fast-check properties; the JSON form round trips. Server challenges (BlobChallenges) are this
 * node's, fresh, read each chunk once and are bounded.
 */
import t from 'tap'
import fc from 'fast-check'
import { getAddress, keccak256, toHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { hexToBytes } from '../../common/bytes.js'
import {
  blobRequestFields,
  blobRequestFromJson,
  blobRequestToJson,
  MAX_BLOB_REQUEST_VALIDITY_SEC,
  serverOfUrl,
  signBlobRequest,
  signBlobRequestWith,
  verifyBlobRequest,
  type SignedBlobRequest,
} from '../assets/DownloadAuth.js'
import { BLOB_CHALLENGE_TTL_SEC, BlobChallenges, MAX_CHALLENGES_IN_USE } from '../assets/BlobChallenges.js'

const NOW = 1_800_000_000
const SERVER = 'https://assets.example:8545'
const key = (seed: number) => hexToBytes(keccak256(toHex(`download-auth-${seed}`)))
const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b))
const request = fc.record({
  seed: fc.nat(1000),
  chainId: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
  hash: hash32,
  validity: fc.integer({ min: 1, max: MAX_BLOB_REQUEST_VALIDITY_SEC }),
  jobId: fc.option(hash32, { nil: undefined }),
})
const params = { seed: 20261206, numRuns: 60 }

const refused = async (r: SignedBlobRequest, expect: { chainId: bigint; hash: Hex; servers?: string[] }) =>
  verifyBlobRequest(r, { servers: [SERVER], ...expect, nowSec: NOW }).then(
    () => false,
    (e: { code?: string }) => e.code === 'ASSET_DOWNLOAD_AUTH',
  )

t.test('a signed request proves its requester; every tampered field or signature byte fails', async (t) => {
  await fc.assert(
    fc.asyncProperty(request, fc.nat(), fc.nat(64), async (q, pick, sigByte) => {
      const signed = await signBlobRequest(key(q.seed), blobRequestFields(q.chainId, q.hash as Hex, SERVER, q.jobId as Hex | undefined, q.validity, NOW))
      const expect = { chainId: q.chainId, hash: q.hash as Hex }
      const who = await verifyBlobRequest(signed, { servers: [SERVER], ...expect, nowSec: NOW })
      if (who !== privateKeyToAccount(toHex(key(q.seed))).address) return false
      const other = q.hash === keccak256('0x01') ? keccak256('0x02') : keccak256('0x01')
      const tampered: SignedBlobRequest[] = [
        { ...signed, chainId: signed.chainId + 1n },
        { ...signed, hash: other },
        { ...signed, expiry: signed.expiry - 1 },
        { ...signed, jobId: signed.jobId ? undefined : keccak256('0x03') },
        { ...signed, requester: privateKeyToAccount(toHex(key(q.seed + 1))).address },
        // addressed to another server, checked where that server would check it
        { ...signed, server: 'p2p:12D3KooWOther' },
        { ...signed, nonce: signed.nonce ? undefined : keccak256('0x04') },
      ]
      const t1 = tampered[pick % tampered.length]!
      // a tampered field is checked against the same expectations, so only the signature can refuse it
      const expectFor = t1.chainId !== signed.chainId ? { ...expect, chainId: t1.chainId } : t1.hash !== signed.hash ? { ...expect, hash: t1.hash } : t1.server !== signed.server ? { ...expect, servers: [t1.server] } : expect
      if (!(await refused(t1, expectFor))) return false
      // one flipped byte of r ‖ s ‖ v
      const sig = hexToBytes(signed.signature)
      sig[sigByte % 65] ^= 1 << (pick % 8)
      return refused({ ...signed, signature: toHex(sig) }, expect)
    }),
    params,
  )
  t.pass(`${params.numRuns} random requests: verified as signed, refused when tampered`)
})

t.test('other chains, other blobs, expired and too-long requests are refused; the JSON form round trips', async (t) => {
  const k = key(1)
  const h = keccak256(toHex('blob'))
  const r = await signBlobRequest(k, blobRequestFields(31337n, h, SERVER, undefined, 60, NOW))
  t.equal(await verifyBlobRequest(r, { chainId: 31337n, hash: h, servers: [SERVER], nowSec: NOW }), privateKeyToAccount(toHex(k)).address)
  await t.rejects(verifyBlobRequest(r, { chainId: 1n, hash: h, servers: [SERVER], nowSec: NOW }), { code: 'ASSET_DOWNLOAD_AUTH', message: /signed for chain 31337/ })
  await t.rejects(verifyBlobRequest(r, { chainId: 31337n, hash: keccak256('0x'), servers: [SERVER], nowSec: NOW }), { message: /signed for blob/ })
  await t.rejects(verifyBlobRequest(r, { chainId: 31337n, hash: h, servers: [SERVER], nowSec: NOW + 61 }), { message: /expired/ })
  const long = await signBlobRequest(k, blobRequestFields(31337n, h, SERVER, undefined, MAX_BLOB_REQUEST_VALIDITY_SEC + 1, NOW))
  await t.rejects(verifyBlobRequest(long, { chainId: 31337n, hash: h, servers: [SERVER], nowSec: NOW }), { message: /more than 3600 s ahead/ })
  t.same(blobRequestFromJson(JSON.parse(JSON.stringify(blobRequestToJson(r)))), r, 'JSON round trip')
  // Issue 17: a request names the one server it is for; any other node refuses it.
  await t.rejects(verifyBlobRequest(r, { chainId: 31337n, hash: h, servers: ['http://127.0.0.1:8545', 'p2p:12D3KooWReal'], nowSec: NOW }), { code: 'ASSET_DOWNLOAD_AUTH', message: /addressed to https:\/\/assets\.example:8545, not to this node/ })
  t.equal(serverOfUrl('HTTPS://Assets.Example:443/rpc?x=1'), 'https://assets.example', 'an HTTP server is its origin (lowercase, default port dropped, no path)')
  t.throws(() => serverOfUrl('file:///etc/passwd'), { code: 'ASSET_DOWNLOAD_AUTH' })
  await t.rejects(signBlobRequest(k, { ...blobRequestFields(31337n, h, SERVER, undefined, 60, NOW), server: 'https://a.example\nexpires 9999999999' }), { message: /no valid server/ }, 'a server name with a line break cannot forge the lines after it')
  t.throws(() => blobRequestFromJson({ ...blobRequestToJson(r), server: 'https://a.example\nx' }), { code: 'ASSET_DOWNLOAD_AUTH' })
  for (const bad of [null, 'x', { ...blobRequestToJson(r), signature: '0x12' }, { ...blobRequestToJson(r), requester: '0x1' }, { ...blobRequestToJson(r), expiry: '1' }, { ...blobRequestToJson(r), jobId: '0xzz' }])
    t.throws(() => blobRequestFromJson(bad), { code: 'ASSET_DOWNLOAD_AUTH' }, `malformed: ${JSON.stringify(bad)?.slice(0, 40)}`)
  // a wallet / eth_sign path signs the same EIP-191 message
  const account = privateKeyToAccount(toHex(k))
  const viaWallet = await signBlobRequestWith(getAddress(account.address), (m) => account.signMessage({ message: m }), blobRequestFields(31337n, h, SERVER, undefined, 60, NOW))
  t.equal(viaWallet.signature, r.signature, 'a personal_sign of the same text is the same signature')
})

t.test('server challenges (pov_blobChallenge): issued here, fresh, each chunk read once, bounded', async (t) => {
  let now = NOW
  const book = new BlobChallenges(() => now)
  const { nonce, expires } = book.issue()
  t.equal(expires, NOW + BLOB_CHALLENGE_TTL_SEC, `valid ${BLOB_CHALLENGE_TTL_SEC} s`)
  book.check(nonce)
  book.consume(nonce, 0)
  t.throws(() => book.consume(nonce, 0), { code: 'ASSET_DOWNLOAD_AUTH', message: /already read offset 0/ }, 'a replayed chunk is refused')
  book.consume(nonce, 1 << 20)
  t.pass('the next chunk is read')
  t.throws(() => new BlobChallenges(() => now).check(nonce), { message: /not issued by this node/ }, "another node's (or a restarted node's) challenge is refused")
  const flipped = `${nonce.slice(0, 20)}${nonce[20] === '0' ? '1' : '0'}${nonce.slice(21)}` as Hex
  t.throws(() => book.check(flipped), { message: /not issued by this node/ }, 'a nonce with its issue time or randomness changed is refused')
  t.throws(() => book.check(undefined), { message: /must carry a challenge/ })
  now += BLOB_CHALLENGE_TTL_SEC + 1
  t.throws(() => book.check(nonce), { message: /expired/ }, 'an old challenge is refused')
  // Fail closed when full: the nonces in use are never forgotten while they could be replayed.
  now = NOW
  const full = new BlobChallenges(() => now)
  for (let i = 0; i < MAX_CHALLENGES_IN_USE; i++) full.consume(full.issue().nonce, 0)
  t.throws(() => full.consume(full.issue().nonce, 0), { message: /tracks 10000 downloads at once/ }, `${MAX_CHALLENGES_IN_USE} downloads in flight: a new one waits`)
  now += BLOB_CHALLENGE_TTL_SEC + 1
  full.consume(full.issue().nonce, 0)
  t.equal(full.size, 1, 'expired entries are swept when the book is full')
})
