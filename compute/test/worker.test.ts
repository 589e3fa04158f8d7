import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { ComputeError } from '../ComputeError.js'
import { executeJob } from '../execution/JobExecution.js'
import type { Runtime, RunRequest } from '../runtime/Runtime.js'
import { ReexecutionVerifier } from '../verify/ReexecutionVerifier.js'
import { runBenchmark } from '../worker/Benchmark.js'
import { BlobStore } from '../worker/BlobStore.js'
import { ComputeWorker, type AssignedJob, type JobOutcome, type JobSource } from '../worker/ComputeWorker.js'
import { IdleSwitch } from '../worker/IdleSwitch.js'
import { SessionStore } from '../worker/SessionStore.js'
import { irisBytes, irisSpec, tmpDir } from './helpers.js'

const inline: Runtime = { name: 'embedded', run: async (req: RunRequest) => executeJob(req.spec, req.inputs) }

function flaky(failures: number, code: ComputeError['code'] = 'COMPUTE_DEADLINE'): Runtime & { calls: number } {
  const rt = {
    name: 'embedded' as const,
    calls: 0,
    run: async (req: RunRequest) => {
      rt.calls++
      if (rt.calls <= failures) throw new ComputeError(code, `attempt ${rt.calls} failed`)
      return executeJob(req.spec, req.inputs)
    },
  }
  return rt
}

const job = (): AssignedJob => ({ jobId: 'job-1', spec: irisSpec(), inputs: { dataset: irisBytes } })

t.test('a failing job is retried once, then reported failed with its reason', async (t) => {
  const once = flaky(1)
  const ok = await new ComputeWorker({ runtimes: { embedded: once } }).execute(job())
  t.equal(ok.status, 'ok')
  t.equal(ok.attempts, 2)
  const twice = flaky(2)
  const failed = await new ComputeWorker({ runtimes: { embedded: twice } }).execute(job())
  t.same(failed, { jobId: 'job-1', status: 'failed', attempts: 2, code: 'COMPUTE_DEADLINE', reason: 'attempt 2 failed' })
  t.equal(twice.calls, 2, 'no third attempt')
  const bad = flaky(5, 'COMPUTE_INVALID_DATASET')
  const r = await new ComputeWorker({ runtimes: { embedded: bad } }).execute(job())
  t.equal(r.status, 'failed')
  t.equal(bad.calls, 1, 'deterministic input errors are not retried')
  const noDocker = await new ComputeWorker({ runtimes: { embedded: inline } }).execute({ ...job(), runtime: 'docker' })
  t.match(noDocker, { status: 'failed', code: 'COMPUTE_RUNTIME_UNAVAILABLE' })
})

t.test('sessions are kept in the blob store and verifiable from it', async (t) => {
  const store = new BlobStore({ dir: tmpDir() })
  const sessions = new SessionStore(store)
  const out = await new ComputeWorker({ runtimes: { embedded: inline }, sessions }).execute(job())
  t.equal(out.status, 'ok')
  const c = (out as Extract<JobOutcome, { status: 'ok' }>).commitment
  const rec = await sessions.load(c.commitment)
  const spec = await sessions.spec(rec)
  const rep = await new ReexecutionVerifier().verify({ spec, inputs: { dataset: irisBytes }, commitment: rec.commitment, randomness: 'seed', source: sessions.checkpointSource(rec) })
  t.equal(rep.verdict, 'accept')
  await t.rejects(sessions.load(('0x' + '1'.repeat(64)) as `0x${string}`), { code: 'COMPUTE_BLOB_NOT_FOUND' })
})

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))
  } catch {
    return false
  }
}

t.test('idle switch: runs the idle program only while no job runs', async (t) => {
  const idle = new IdleSwitch({ command: 'sleep 30 & wait', graceMs: 2000 })
  idle.resume()
  const pid1 = idle.pid!
  t.ok(pid1 && alive(pid1), 'started while idle')
  const child = Number(execFileSync('pgrep', ['-P', String(pid1)], { encoding: 'utf8' }).trim().split('\n')[0])
  const worker = new ComputeWorker({ runtimes: { embedded: { name: 'embedded', run: async (req) => {
    t.notOk(alive(pid1), 'stopped while the job runs')
    t.notOk(alive(child), "the program's children are stopped too")
    return executeJob(req.spec, req.inputs)
  } } }, idle })
  await worker.execute(job())
  t.ok(idle.running, 'resumed after the job')
  t.not(idle.pid, pid1)
  await idle.stop()
  t.notOk(idle.running)
})

t.test('idle switch: a program that ignores SIGTERM gets SIGKILL', async (t) => {
  const idle = new IdleSwitch({ command: "trap '' TERM; while :; do sleep 0.1; done", graceMs: 300 })
  idle.resume()
  await new Promise((r) => setTimeout(r, 200))
  const pid = idle.pid!
  const t0 = Date.now()
  await idle.pause()
  t.notOk(alive(pid))
  t.ok(Date.now() - t0 >= 250, 'waited for the grace period')
})

t.test('worker loop: takes jobs from the source and reports outcomes', async (t) => {
  const reports: JobOutcome[] = []
  let n = 0
  const source: JobSource = {
    next: async () => (n++ < 2 ? { ...job(), jobId: `j${n}` } : null),
    report: async (o) => {
      reports.push(o)
    },
  }
  const w = new ComputeWorker({ runtimes: { embedded: inline }, pollMs: 20 })
  w.start(source)
  while (reports.length < 2) await new Promise((r) => setTimeout(r, 20))
  await w.stop()
  t.same(reports.map((r) => [r.jobId, r.status]), [['j1', 'ok'], ['j2', 'ok']])
})

t.test('benchmark reports compute units per second and a reproducible answer', async (t) => {
  const a = runBenchmark({ epochs: 1 })
  const b = runBenchmark({ epochs: 1 })
  t.ok(a.computeUnitsPerSec > 0)
  t.ok(a.samplesPerSec > 0)
  t.equal(a.commitment, b.commitment, 'the test task has one right answer')
  t.comment(`benchmark: ${a.samplesPerSec.toFixed(0)} samples/s, ${a.computeUnitsPerSec.toFixed(1)} CU/s`)
})
