import t from 'tap'
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { silentLogger } from '../../common/logger.js'
import { registerComputeCommands } from '../cli.js'
import { executeJob } from '../execution/JobExecution.js'
import { DockerRuntime } from '../runtime/DockerRuntime.js'
import { EmbeddedRuntime } from '../runtime/EmbeddedRuntime.js'
import { validateJobSpec } from '../workloads/WorkloadRegistry.js'
import { requireDocker } from './dockerSupport.js'
import { irisBytes, irisSpec, tmpDir, blobsSpec } from './helpers.js'

const example = (name: string) => validateJobSpec(JSON.parse(readFileSync(new URL(`../examples/${name}`, import.meta.url), 'utf8')))

const probe = await requireDocker(t)
if (probe) {
  const datadir = tmpDir()
  let digest = ''

  t.test('`compute image build` builds the workload image without a registry and prints its digest', async (t) => {
    const out: string[] = []
    const program = new Command('povchain').exitOverride()
    registerComputeCommands(program, { logger: silentLogger, io: { out: (s) => out.push(s), err: () => {}, isTTY: false } })
    await program.parseAsync(['node', 'povchain', 'compute', 'image', 'build', '--datadir', datadir, '--json'])
    const res = JSON.parse(out.join('')) as { ok: boolean; digest: string; id: string; reference: string; files: number }
    t.ok(res.ok, JSON.stringify(res).slice(0, 300))
    t.match(res.digest, /^sha256:[0-9a-f]{64}$/)
    t.equal(res.reference, `povchain/workloads@${res.digest}`, 'specs name it by its OCI manifest digest')
    // The engine-local id (sha256 of the config) is pinned too, and host-independent as well.
    digest = res.id
    const info = await probe.docker.getImage(digest).inspect()
    t.match(info.Config.Entrypoint, ['/usr/local/bin/node'])
  })

  t.test('the same job gives identical checkpoint hashes and result hash in embedded and docker', async (t) => {
    const docker = new DockerRuntime({ defaultImage: digest })
    const embedded = new EmbeddedRuntime()
    const model = executeJob(example('iris-train.json'), { dataset: irisBytes }).result
    const jobs = [
      { spec: example('iris-train.json'), inputs: { dataset: irisBytes } },
      { spec: example('iris-infer.json'), inputs: { dataset: irisBytes, model } },
      { spec: example('blobs-generate.json'), inputs: {} },
    ]
    for (const job of jobs) {
      const e = await embedded.run(job)
      const progress: number[] = []
      const d = await docker.run({ ...job, onProgress: (p) => progress.push(p.step) })
      const name = job.spec.workload.id
      t.same(d.checkpoints.map((c) => c.hash), e.checkpoints.map((c) => c.hash), `${name}: checkpoint hashes`)
      t.equal(d.resultHash, e.resultHash, `${name}: result hash`)
      t.equal(d.commitment.commitment, e.commitment.commitment, `${name}: commitment`)
      t.same(d.metrics, e.metrics)
      t.equal(progress[progress.length - 1], d.totalSteps, `${name}: progress reported through stdout`)
      t.comment(`${name}: embedded ${e.stats.stepsPerSec.toFixed(0)} steps/s in ${e.stats.wallMs.toFixed(0)} ms; docker ${d.stats.wallMs.toFixed(0)} ms wall incl. container start`)
    }
    // A spec that itself names the image (runtime docker) agrees with the embedded run on every hash but the spec's.
    const pinned = validateJobSpec({ ...JSON.parse(readFileSync(new URL('../examples/iris-train.json', import.meta.url), 'utf8')), runtime: { type: 'docker', image: digest } })
    const d = await new DockerRuntime().run({ spec: pinned, inputs: { dataset: irisBytes } })
    const e = executeJob(pinned, { dataset: irisBytes })
    t.equal(d.commitment.checkpointRoot, e.commitment.checkpointRoot)
    t.equal(d.commitment.commitment, e.commitment.commitment)
  })

  t.test('containers run with no network, read-only root, limits and read-only inputs', async (t) => {
    const docker = new DockerRuntime({ defaultImage: digest, keep: true })
    const spec = blobsSpec({ resources: { cpus: 0.5, memoryMb: 128, gpus: 0, timeoutSec: 60 } })
    await docker.run({ spec, inputs: {} })
    const list = await probe.docker.listContainers({ all: true, filters: { label: ['povchain.compute=job'] } })
    t.ok(list.length >= 1)
    for (const c of list) {
      const info = await probe.docker.getContainer(c.Id).inspect()
      const h = info.HostConfig
      t.equal(h.NetworkMode, 'none')
      t.equal(h.ReadonlyRootfs, true)
      t.equal(h.Memory, 128 * 1024 * 1024)
      t.equal(h.NanoCpus, 5e8)
      t.same(h.CapDrop, ['ALL'])
      t.ok(h.Binds!.some((b) => b.endsWith(':/job/in:ro')), 'inputs read-only')
      await probe.docker.getContainer(c.Id).remove({ force: true })
    }
  })

  t.test('a container past its deadline is killed and reported', async (t) => {
    const docker = new DockerRuntime({ defaultImage: digest })
    const long = irisSpec({ params: { epochs: 200000 }, resources: { cpus: 1, memoryMb: 256, gpus: 0, timeoutSec: 2 } })
    const t0 = Date.now()
    await t.rejects(docker.run({ spec: long, inputs: { dataset: irisBytes } }), { code: 'COMPUTE_DEADLINE' })
    t.ok(Date.now() - t0 < 15000, `killed after ${Date.now() - t0} ms`)
    const left = await probe.docker.listContainers({ all: true, filters: { label: ['povchain.compute=job'] } })
    t.equal(left.length, 0, 'container removed')
  })

  t.test('failures are reported with their reason', async (t) => {
    const docker = new DockerRuntime({ defaultImage: digest })
    await t.rejects(docker.run({ spec: irisSpec(), inputs: { dataset: new TextEncoder().encode('not a dataset') } }), { code: 'COMPUTE_INVALID_DATASET' })
    const missing = new DockerRuntime({ defaultImage: 'sha256:' + '0'.repeat(64) })
    await t.rejects(missing.run({ spec: irisSpec(), inputs: { dataset: irisBytes } }), { code: 'COMPUTE_RUNTIME_UNAVAILABLE', message: /not present/ })
    await t.rejects(new DockerRuntime().run({ spec: irisSpec(), inputs: { dataset: irisBytes } }), { code: 'COMPUTE_RUNTIME_UNAVAILABLE', message: /image build/ })
    if (!(await docker.hasNvidiaGpu())) {
      const gpu = irisSpec({ resources: { cpus: 1, memoryMb: 256, gpus: 1, timeoutSec: 30 } })
      await t.rejects(docker.run({ spec: gpu, inputs: { dataset: irisBytes } }), { code: 'COMPUTE_NO_GPU', message: /no usable NVIDIA GPU/ })
    }
  })

  t.test('`compute run --runtime docker` uses the built image and prints the embedded commitment', async (t) => {
    const outs: string[] = []
    const program = new Command('povchain').exitOverride()
    registerComputeCommands(program, { logger: silentLogger, io: { out: (s) => outs.push(s), err: () => {}, isTTY: false } })
    const spec = new URL('../examples/blobs-generate.json', import.meta.url).pathname
    await program.parseAsync(['node', 'povchain', 'compute', 'run', spec, '--runtime', 'docker', '--datadir', datadir, '--json'])
    await program.parseAsync(['node', 'povchain', 'compute', 'run', spec, '--runtime', 'embedded', '--datadir', datadir, '--json'])
    const [d, e] = outs.map((o) => JSON.parse(o) as { ok: boolean; commitment: { commitment: string }; runtime: string })
    t.equal(d!.runtime, 'docker')
    t.equal(d!.commitment.commitment, e!.commitment.commitment)
  })
}
