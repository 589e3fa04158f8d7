/**
 * GPUs: the request DockerRuntime sends for a GPU job (what `docker run --gpus N` sends), the
 * worker's GPU report parsed from nvidia-smi, and which workers fit a job. A real CUDA run needs an
 * NVIDIA GPU and Docker's NVIDIA runtime; elsewhere it skips with the reason.
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { containerConfig } from '../runtime/DockerRuntime.js'
import { DEFAULT_OUTPUT_QUOTA } from '../runtime/ContainerOutput.js'
import { gpuDeviceRequests } from '../runtime/GpuRequest.js'
import { detectGpus, gpusFit, parseNvidiaSmi } from '../worker/GpuInventory.js'
import { validateJobSpec } from '../workloads/WorkloadRegistry.js'
import { requireDocker } from './dockerSupport.js'
import { irisSpec } from './helpers.js'

const gpuSpec = (gpus: number, gpuMemoryMb?: number) =>
  validateJobSpec({ ...irisSpec(), runtime: { type: 'docker', image: 'sha256:' + 'a'.repeat(64) }, resources: { cpus: 1, memoryMb: 512, gpus, ...(gpuMemoryMb ? { gpuMemoryMb } : {}), timeoutSec: 60 } })

t.test('a GPU job asks the engine for N NVIDIA devices with capability gpu', async (t) => {
  const spec = gpuSpec(2, 16000)
  const requests = gpuDeviceRequests(spec.resources)
  t.same(requests, [{ Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] }])
  const c = containerConfig(spec, 'sha256:' + 'a'.repeat(64), { inDir: '/i', outDir: '/o', quota: DEFAULT_OUTPUT_QUOTA, deviceRequests: requests })
  t.same(c.HostConfig!.DeviceRequests, requests, 'sent in HostConfig.DeviceRequests')
  t.equal(gpuDeviceRequests(gpuSpec(0).resources), undefined, 'a CPU job asks for none')
})

t.test('resources.gpuMemoryMb is validated and only with gpus', async (t) => {
  t.equal(gpuSpec(1, 8192).resources.gpuMemoryMb, 8192)
  t.throws(() => validateJobSpec({ ...irisSpec(), resources: { cpus: 1, memoryMb: 256, gpus: 0, gpuMemoryMb: 1000, timeoutSec: 5 } }), { code: 'COMPUTE_INVALID_SPEC', field: 'resources.gpuMemoryMb' })
})

t.test('nvidia-smi output → the worker\'s GPUs; which jobs they fit', async (t) => {
  const gpus = parseNvidiaSmi('NVIDIA A100-SXM4-40GB, 40960 MiB\nNVIDIA GeForce RTX 3090, 24576 MiB\n\ngarbage line\n')
  t.same(gpus, [
    { model: 'NVIDIA A100-SXM4-40GB', memoryMb: 40960 },
    { model: 'NVIDIA GeForce RTX 3090', memoryMb: 24576 },
  ])
  t.ok(gpusFit(gpuSpec(0).resources, []), 'CPU jobs fit anywhere')
  t.notOk(gpusFit(gpuSpec(1).resources, []), 'no GPU, no GPU job')
  t.ok(gpusFit(gpuSpec(2, 24000).resources, gpus))
  t.notOk(gpusFit(gpuSpec(2, 32000).resources, gpus), 'only one GPU has 32 GB')
  const here = await detectGpus()
  t.comment(`this host: ${here.length ? JSON.stringify(here) : 'no NVIDIA GPU (nvidia-smi absent or no driver)'}`)
})

t.test('a CUDA job on a real NVIDIA GPU', async (t) => {
  const docker = await requireDocker(t)
  if (!docker) return
  if (!existsSync('/dev/nvidiactl') || !(await docker.hasNvidiaGpu())) {
    t.comment('SKIP: no NVIDIA GPU with Docker\'s NVIDIA runtime on this host (no /dev/nvidiactl or no nvidia runtime)')
    t.test('CUDA job', { skip: 'needs an NVIDIA GPU and Docker\'s NVIDIA runtime' }, () => {})
    return
  }
  // With the NVIDIA runtime the engine mounts nvidia-smi into any container that gets a GPU.
  const { ImageBuilder, withParentDirs } = await import('../runtime/ImageBuilder.js')
  const img = await new ImageBuilder(docker.docker).buildFromEntries(withParentDirs([{ path: 'app/.keep', data: new Uint8Array() }], ['tmp']), { entrypoint: ['nvidia-smi', '-L'] }, { repository: 'povchain-test/gpu' })
  const c = await docker.docker.createContainer({ Image: img.id, HostConfig: { DeviceRequests: gpuDeviceRequests({ gpus: 1 }) } })
  await c.start()
  const r = (await c.wait()) as { StatusCode: number }
  const logs = (await c.logs({ stdout: true, stderr: true })).toString()
  await c.remove({ force: true })
  t.equal(r.StatusCode, 0, logs)
  t.match(logs, /GPU 0:/)
})
