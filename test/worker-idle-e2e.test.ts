/**
 * The mining switch end to end: `povchain node --dev --worker --worker.idle-cmd CMD` with a real
 * idle program (a shell loop writing heartbeats and forking a child into its process group, as
 * a miner wrapper would). It runs while no job runs; when a client job is assigned, its whole
 * process group is gone before the job starts and stays gone until the job ends; then it resumes.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT, startNodeProcess, tempDir, waitFor } from './helpers/devnode.js'

const run = promisify(execFile)

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

const heartbeats = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.split(' ')[1]) / 1e6)
    : []

t.test('--worker.idle-cmd: the idle program runs only while no job runs, its process group dead during the job', async (t) => {
  const { dir, cleanup } = tempDir('povchain-idle-e2e-')
  t.teardown(cleanup)
  const hb = join(dir, 'heartbeat')
  const pids = join(dir, 'pgids')
  // `sleep 1000 &` is a second process in the group: the switch must stop it too.
  const idleCmd = `echo $$ >> ${pids}; sleep 1000 & while :; do echo "$$ $(date +%s%N)" >> ${hb}; sleep 0.05; done`
  const node = await startNodeProcess({
    datadir: join(dir, 'node'),
    args: ['--worker', '--worker.runtime', 'embedded', '--worker.capacity', '100', '--worker.idle-cmd', idleCmd, '--worker.idle-grace', '2000'],
    timeoutMs: 120_000,
  })
  let stopped = false
  t.teardown(async () => {
    if (!stopped) await node.stop()
    for (const p of readFileSync(pids, 'utf8').split('\n').filter(Boolean)) if (groupAlive(Number(p))) process.kill(-Number(p), 'SIGKILL')
  })

  await waitFor(() => heartbeats(hb).length >= 3, 'the idle program heartbeats while the worker is idle', 60_000)
  const firstPgid = Number(readFileSync(pids, 'utf8').trim().split('\n')[0])
  t.ok(groupAlive(firstPgid), `idle program running as process group ${firstPgid}`)

  // A job long enough to watch: Iris, 400 epochs.
  const spec = JSON.parse(readFileSync(join(ROOT, 'compute/examples/iris-train.json'), 'utf8')) as { params: { epochs: number } }
  spec.params.epochs = 400
  const specFile = join(dir, 'spec.json')
  writeFileSync(specFile, JSON.stringify(spec))
  const samples: { at: number; alive: boolean }[] = []
  const watch = setInterval(() => samples.push({ at: Date.now(), alive: groupAlive(firstPgid) }), 20)
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/cli.ts'), 'job', 'submit', specFile, '--rpc', node.httpUrl, '--wait', '--timeout', '240', '--json'], { cwd: ROOT, timeout: 300_000 })
  clearInterval(watch)
  const sub = JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; job: { status: string } }
  t.equal(sub.job.status, 'accepted', 'the job ran and was accepted')

  // The node's own log says when the group was gone and when the program resumed.
  const logs = node
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { time: string; msg: string; component?: string; pgid?: number })
    .map((l) => ({ ...l, at: Date.parse(l.time) }))
  const stop = logs.find((l) => l.msg === 'idle program stopped: its process group is gone' && l.pgid === firstPgid)
  const jobDone = logs.find((l) => l.msg === 'job done')
  t.ok(stop, 'logged: idle program stopped, process group gone')
  t.ok(jobDone, 'logged: job done')
  const resumed = await waitFor(
    () => node.output().split('\n').filter((l) => l.includes('"no job running: resuming the idle program"')).map((l) => Date.parse((JSON.parse(l) as { time: string }).time))[0],
    'the idle program resumes after the job',
    30_000,
  )
  t.ok(stop!.at <= jobDone!.at && jobDone!.at <= resumed, 'stopped before the job ended, resumed after')
  t.notOk(groupAlive(firstPgid), 'the first idle process group (shell and its sleep child) is dead')
  const beats = heartbeats(hb)
  t.ok(beats.some((ms) => ms < stop!.at), 'heartbeats before the job')
  const during = beats.filter((ms) => ms > stop!.at && ms < resumed)
  t.same(during, [], `no heartbeat in the ${resumed - stop!.at} ms from the stop to the resume`)
  t.ok(samples.some((s) => !s.alive), `the group was seen dead while the job was pending/running (${samples.filter((s) => !s.alive).length} of ${samples.length} samples)`)

  await waitFor(() => heartbeats(hb).some((ms) => ms > resumed), 'heartbeats again after the job', 20_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${node.output().split('\n').filter((l) => /idle/.test(l)).join('\n')}`)
  })
  const pgids = readFileSync(pids, 'utf8').trim().split('\n').map(Number)
  t.ok(pgids.length >= 2 && groupAlive(pgids[pgids.length - 1]!), 'a new idle process group runs after the job')

  await node.stop()
  stopped = true
  await waitFor(() => !pgids.some(groupAlive), 'no idle process left after the node stops', 10_000)
  t.pass('the node stopped the idle program on exit')
})
