import t from 'tap'
import { lstatSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { containerConfig, DockerRuntime } from '../runtime/DockerRuntime.js'
import { DEFAULT_OUTPUT_QUOTA } from '../runtime/ContainerOutput.js'
import { ImageBuilder, withParentDirs } from '../runtime/ImageBuilder.js'
import { validateJobSpec } from '../workloads/WorkloadRegistry.js'
import { requireDocker } from './dockerSupport.js'
import { irisSpec, tmpDir } from './helpers.js'

// What a hostile image does, chosen by the spec's seed: the host must never read its own files
// through the job's output, nor let it fill the disk.
const EVIL = `
import { writeFileSync, symlinkSync, mkdirSync } from 'node:fs'
import { readFileSync } from 'node:fs'
const spec = JSON.parse(readFileSync('/job/in/spec.json', 'utf8'))
const out = '/job/out'
const manifest = (file, extra = {}) => writeFileSync(out + '/manifest.json', JSON.stringify({ format: 'povchain-result-manifest', version: 1, specHash: '0x' + '00'.repeat(32), totalSteps: 0, checkpoints: [], result: { file, hash: '0x' + '11'.repeat(32) }, metrics: {}, ...extra }))
if (spec.seed === 1) { symlinkSync('/etc/passwd', out + '/result'); manifest('result') }
if (spec.seed === 2) { symlinkSync('/etc', out + '/checkpoints'); manifest('result', { checkpoints: [{ index: 0, step: 0, hash: '0x' + '22'.repeat(32), file: 'checkpoints/passwd' }] }) }
if (spec.seed === 3) { const mb = new Uint8Array(1 << 20); for (let i = 0; i < 400; i++) writeFileSync(out + '/fill' + i, mb) ; manifest('fill0') }
if (spec.seed === 4) { writeFileSync(out + '/big', new Uint8Array(64 << 20)); manifest('big') }
if (spec.seed === 5) { symlinkSync('/etc/passwd', out + '/manifest.json') }
`

const probe = await requireDocker(t)
if (probe) {
  let image = ''
  t.before(async () => {
    const entries = withParentDirs([...ImageBuilder.nodeEntries(), { path: 'app/evil.mjs', data: new TextEncoder().encode(EVIL) }], ['job/in', 'job/out', 'tmp'])
    image = (await new ImageBuilder(probe.docker).buildFromEntries(entries, { entrypoint: ['/usr/local/bin/node', '/app/evil.mjs'] }, { repository: 'povchain-test/evil' })).id
  })
  const spec = (seed: number) => validateJobSpec({ ...irisSpec(), seed, runtime: { type: 'docker', image: 'sha256:' + '0'.repeat(64) } })
  const run = (seed: number, opts: ConstructorParameters<typeof DockerRuntime>[0] = {}) => {
    const rt = new DockerRuntime({ ...opts, ensureImage: async () => image })
    return rt.run({ spec: spec(seed), inputs: {} })
  }

  t.test('a result that is a symlink to a host file is refused, the host file never read', async (t) => {
    await t.rejects(run(1), { code: 'COMPUTE_CONTAINER_CONTRACT', message: /result is a symlink/ })
  })
  t.test('a checkpoint under a directory symlinked to /etc is refused', async (t) => {
    await t.rejects(run(2), { code: 'COMPUTE_CONTAINER_CONTRACT', message: /checkpoints is a symlink, not a directory/ })
  })
  t.test('a manifest that is a symlink is refused', async (t) => {
    await t.rejects(run(5), { code: 'COMPUTE_CONTAINER_CONTRACT', message: /manifest\.json is a symlink/ })
  })
  // The watchdog polls every 250 ms, so a fast disk can take the whole flood (400 MiB in under a
  // second on an idle machine) before it looks: the guarantee is the refusal, checked again after
  // the container exits; how far it overshot is a figure, not a pass condition (it was, and flaked).
  t.test('a container that floods /job/out with files is refused, killed while it writes when the watchdog sees it first', async (t) => {
    const work = tmpDir()
    const t0 = Date.now()
    await t.rejects(run(3, { outputQuota: { maxBytes: 16 << 20, maxFiles: 1000 }, workDir: work, keep: true }), {
      code: 'COMPUTE_OUTPUT_QUOTA',
      message: /wrote more than 16 MiB to \/job\/out/,
    })
    const [job] = await readdir(work)
    const files = await readdir(join(work, job!, 'out'))
    t.comment(`${files.includes('manifest.json') ? 'finished before the watchdog looked' : 'killed while writing'}: ${files.length} of the 400 MiB it meant to write, ${Date.now() - t0} ms`)
    const left = await probe.docker.listContainers({ all: true, filters: { label: ['povchain.compute=job'] } })
    for (const c of left) await probe.docker.getContainer(c.Id).remove({ force: true })
  })
  t.test('one file beyond the quota is cut by the per-file size limit (fsize)', async (t) => {
    const e = await run(4, { outputQuota: { maxBytes: 8 << 20, maxFiles: 1000 } }).then(() => undefined, (e: { code: string; message: string }) => e)
    // Either the kernel stopped the write (EFBIG: the program dies) or the watchdog saw 8 MiB first.
    t.ok(e && ['COMPUTE_CONTAINER_FAILED', 'COMPUTE_OUTPUT_QUOTA'].includes(e.code), `refused: ${e?.code}: ${e?.message.split('\n')[0]}`)
  })
}

t.test('the container config keeps every limit: no network, read-only root, caps dropped, cpu/memory/pids, fsize', async (t) => {
  const s = validateJobSpec({ ...irisSpec(), resources: { cpus: 0.5, memoryMb: 300, gpus: 0, timeoutSec: 10 } })
  const c = containerConfig(s, 'sha256:' + 'a'.repeat(64), { inDir: '/i', outDir: '/o', quota: DEFAULT_OUTPUT_QUOTA })
  t.equal(c.NetworkDisabled, true)
  t.match(c.HostConfig, {
    NetworkMode: 'none',
    ReadonlyRootfs: true,
    Memory: 300 << 20,
    MemorySwap: 300 << 20,
    NanoCpus: 5e8,
    PidsLimit: 256,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    Ulimits: [{ Name: 'fsize', Hard: DEFAULT_OUTPUT_QUOTA.maxBytes }],
    Binds: ['/i:/job/in:ro', '/o:/job/out:rw'],
  })
  t.notOk(c.HostConfig!.DeviceRequests, 'no GPU asked for a CPU job')
  t.ok(lstatSync('/etc/passwd').isFile())
})
