/**
 * Images that travel: the digest depends on the files only (same bytes whatever the mtimes or
 * order), `docker load` gives the id we computed, a push to Debian's docker-registry keeps the
 * digest, a second engine pulls it by digest, and peers share the archive through blobs — a
 * wrong archive for a digest is refused before anything is loaded.
 */
import t from 'tap'
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import Docker from 'dockerode'
import { contentHash, type Hash32 } from '../ContentHash.js'
import { imageDigest, writeLayer } from '../runtime/ImageArchive.js'
import { ImageBuilder, withParentDirs } from '../runtime/ImageBuilder.js'
import { ImageStore } from '../runtime/ImageStore.js'
import { parseImageReference } from '../runtime/ImageReference.js'
import { tarChunks, type TarEntry } from '../runtime/TarArchive.js'
import { BlobStore } from '../worker/BlobStore.js'
import { requireDocker, startEngine, startRegistry } from './dockerSupport.js'
import { tmpDir } from './helpers.js'

// Probed first: the tests below keep the CPU busy, and a slow answer is not a missing engine.
const probe = await requireDocker(t)

async function tarHash(entries: TarEntry[]): Promise<string> {
  const h = createHash('sha256')
  for await (const c of tarChunks(entries)) h.update(c)
  return h.digest('hex')
}

t.test('the layer bytes depend on the files alone, not on their order', async (t) => {
  const entry = fc.record({ path: fc.stringMatching(/^[a-z]{1,8}(\/[a-z]{1,8}){0,2}$/), data: fc.uint8Array({ maxLength: 700 }), mode: fc.constantFrom(0o644, 0o755) })
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(entry, { selector: (e) => e.path, maxLength: 12 }), fc.integer(), async (entries, seed) => {
      const shuffled = [...entries].sort((a, b) => ((a.path.length * 31 + seed) % 7) - ((b.path.length * 31 + seed) % 7))
      return (await tarHash(entries)) === (await tarHash(shuffled))
    }),
    { numRuns: 50 },
  )
})

t.test('long paths, long link targets and hard links survive (PAX headers), as GNU tar reads them', async (t) => {
  const dir = tmpDir()
  const long = 'a'.repeat(120) + '/' + 'b'.repeat(120) + '/' + 'c'.repeat(110)
  await writeLayer([{ path: long, data: new TextEncoder().encode('hi') }, { path: 'lnk', symlink: '/' + 'x'.repeat(150) }, { path: 'hard', hardlink: long }], join(dir, 'l.tar'))
  const { execFileSync } = await import('node:child_process')
  const { mkdirSync, readFileSync, readlinkSync, statSync } = await import('node:fs')
  mkdirSync(join(dir, 'x'))
  execFileSync('tar', ['-xf', join(dir, 'l.tar'), '-C', join(dir, 'x')])
  t.equal(readFileSync(join(dir, 'x', long), 'utf8'), 'hi')
  t.equal(readlinkSync(join(dir, 'x', 'lnk')), '/' + 'x'.repeat(150))
  t.equal(statSync(join(dir, 'x', 'hard')).ino, statSync(join(dir, 'x', long)).ino, 'a hard link, not a copy')
})

t.test('the built-in image has one digest: two collections of its files give the same layer and digest', async (t) => {
  const dir = tmpDir()
  const b = new ImageBuilder(undefined as unknown as Docker)
  const one = await writeLayer(await b.collect(), join(dir, 'a.tar'))
  const two = await writeLayer(await b.collect(), join(dir, 'b.tar'))
  t.same(one, two)
})

t.test('image references: a registry is named by a host with a dot, a port or localhost', async (t) => {
  const d = 'sha256:' + 'ab'.repeat(32)
  t.match(parseImageReference(`127.0.0.1:5000/torch@${d}`), { registry: '127.0.0.1:5000', path: 'torch', digest: d })
  t.match(parseImageReference(`povchain/workloads@${d}`), { repository: 'povchain/workloads', registry: undefined })
  t.throws(() => parseImageReference('povchain/workloads:latest'), { code: 'COMPUTE_INVALID_SPEC' })
})

if (probe) {
  const dir = tmpDir()
  const tiny = (text: string) =>
    withParentDirs([{ path: 'app/hello.txt', data: new TextEncoder().encode(text) }, { path: 'app/link', symlink: 'hello.txt' }], ['tmp'])
  const builder = new ImageBuilder(probe.docker)
  const built = await builder.buildFromEntries(tiny('hello'), { entrypoint: ['/app/none'] }, { repository: 'povchain-test/tiny' })
  const other = await builder.buildFromEntries(tiny('other'), { entrypoint: ['/app/none'] }, { repository: 'povchain-test/tiny' })

  t.test('docker load gives the image id we computed; a rebuild gives the same digest', async (t) => {
    t.match(built.digest, /^sha256:[0-9a-f]{64}$/)
    const info = await probe.docker.getImage(built.id).inspect()
    t.equal(info.Id, built.id)
    t.equal(info.Created, '1970-01-01T00:00:00Z', 'created at the epoch: no build time in the id')
    const again = await builder.buildFromEntries(tiny('hello'), { entrypoint: ['/app/none'] }, { repository: 'povchain-test/tiny' })
    t.equal(again.digest, built.digest)
    t.not(other.digest, built.digest)
  })

  t.test('peers: an archive shared as a blob is loaded on another store; a wrong archive is refused', async (t) => {
    const a = new ImageStore({ docker: probe.docker, blobs: new BlobStore({ dir: join(dir, 'a') }) })
    const shared = await a.share(built.id)
    t.equal(shared.digest, built.digest)
    const sharedOther = await a.share(other.id)
    const peerBlobs = new BlobStore({ dir: join(dir, 'a') })
    const b = new ImageStore({ docker: probe.docker, blobs: new BlobStore({ dir: join(dir, 'b') }), fetchBlob: (h: Hash32) => peerBlobs.get(h) })
    await probe.docker.getImage(built.id).remove({ force: true })
    await t.rejects(b.ensure(`povchain-test/tiny@${built.digest}`, { archive: sharedOther.archive! }), { code: 'COMPUTE_IMAGE_UNAVAILABLE', message: /holds image sha256:[0-9a-f]+, not sha256:/ })
    await t.rejects(probe.docker.getImage(built.id).inspect(), 'nothing loaded from the wrong archive')
    await t.rejects(b.ensure(`povchain-test/tiny@${built.digest}`), { code: 'COMPUTE_IMAGE_UNAVAILABLE', message: /names neither a registry/ })
    const id = await b.ensure(`povchain-test/tiny@${built.digest}`, { archive: shared.archive! })
    t.equal(id, built.id)
    t.same((await b.inventory()).map((r) => r.digest), [built.digest], 'inventory lists it')
    t.equal(contentHash(await peerBlobs.get(shared.archive!)), shared.archive)
  })

  t.test('a registry that serves other bytes than the digest names is refused before anything is loaded', async (t) => {
    const { createServer } = await import('node:http')
    const config = new TextEncoder().encode('{"rootfs":{"diff_ids":[],"type":"layers"}}')
    const configDigest = 'sha256:' + createHash('sha256').update(config).digest('hex')
    const manifest = JSON.stringify({ schemaVersion: 2, config: { digest: configDigest, size: config.length }, layers: [] })
    const honest = 'sha256:' + createHash('sha256').update(manifest).digest('hex')
    let served = ''
    // A hostile registry: answers the digest it is asked for with a manifest of its choosing.
    const server = createServer((req, res) => {
      served = req.url ?? ''
      if (req.url?.includes('/v2/good/manifests/')) res.end(manifest)
      else if (req.url?.includes('/manifests/')) res.end(manifest.replace('"layers":[]', '"layers":[] '))
      else if (req.url?.includes('/blobs/')) res.end('not the config')
      else res.end('{}')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    t.teardown(() => server.close())
    const port = (server.address() as { port: number }).port
    const store = new ImageStore({ docker: probe.docker, blobs: new BlobStore({ dir: join(dir, 'h') }) })
    await t.rejects(store.ensure(`127.0.0.1:${port}/evil@${honest}`), { code: 'COMPUTE_IMAGE_UNAVAILABLE', message: /does not hash to/ })
    t.match(served, /\/v2\/evil\/manifests\/sha256:/)
    // The right manifest, then a wrong config blob.
    await t.rejects(store.ensure(`127.0.0.1:${port}/good@${honest}`), { code: 'COMPUTE_IMAGE_UNAVAILABLE', message: /does not match its digest/ })
  })

  t.test('registry: push keeps the digest; a second engine pulls it by digest and gets the same id', async (t) => {
    const reg = await startRegistry(tmpDir())
    if ('missing' in reg) {
      if (process.env.POVCHAIN_REQUIRE_DOCKER === '1') t.fail(reg.missing)
      else t.comment(`SKIP registry test: ${reg.missing}`)
      return
    }
    t.teardown(() => reg.stop())
    const store = new ImageStore({ docker: probe.docker, blobs: new BlobStore({ dir: join(dir, 'c') }) })
    const pushed = await store.push(built.id, `${reg.address}/tiny`)
    t.equal(pushed.digest, built.digest, 'the registry stores it under the build digest')
    t.equal(pushed.reference, `${reg.address}/tiny@${built.digest}`)
    const again = await store.push(other.id, `${reg.address}/tiny`)
    t.equal(again.digest, other.digest)

    // The engine holds the image under its build name only; a store that never recorded it
    // (another data dir) is asked for the registry reference: found by digest, not pulled again.
    const said: string[] = []
    const log = (msg: unknown, m?: string) => said.push(typeof msg === 'string' ? msg : (m ?? ''))
    const logger = { trace: log, debug: log, info: log, warn: log, error: log, child: () => logger }
    const host = new ImageStore({ docker: probe.docker, blobs: new BlobStore({ dir: join(dir, 'host') }), logger })
    const t1 = performance.now()
    t.equal(await host.ensure(pushed.reference), built.id, 'the image the engine holds under another name')
    t.comment(`found by digest in ${(performance.now() - t1).toFixed(0)} ms`)
    t.ok(said.includes('image already on the engine under another name: not pulled'), 'said so')
    t.notOk(said.includes('pulling image'), 'and downloaded no layer')
    t.same((await host.inventory()).map((r) => r.digest), [built.digest], 'recorded by digest: the next ensure is at once')

    const engineDir = tmpDir('pvd-')
    const { rmSync } = await import('node:fs')
    const engine = await startEngine(engineDir)
    if ('missing' in engine) {
      t.comment(`second engine skipped (${engine.missing}); pulling on the same engine instead`)
      await probe.docker.getImage(built.id).remove({ force: true })
      t.equal(await new ImageStore({ docker: probe.docker, blobs: new BlobStore({ dir: join(dir, 'd') }) }).ensure(pushed.reference), built.id)
      return
    }
    t.teardown(async () => {
      await engine.stop()
      rmSync(engineDir, { recursive: true, force: true })
    })
    const docker2 = new Docker({ socketPath: engine.socket })
    const s2 = new ImageStore({ docker: docker2, blobs: new BlobStore({ dir: join(dir, 'e') }) })
    const t0 = performance.now()
    const id = await s2.ensure(pushed.reference)
    t.comment(`pulled ${pushed.reference} on a second engine in ${(performance.now() - t0).toFixed(0)} ms`)
    t.equal(id, built.id, 'same image id on the second engine')
    t.same((await s2.inventory()).map((r) => r.digest), [built.digest])
    await t.rejects(s2.ensure(`${reg.address}/tiny@sha256:${'0'.repeat(64)}`), { code: 'COMPUTE_IMAGE_UNAVAILABLE', message: /has no tiny@/ })
  })
}
