/**
 * FileLock (the torch root layer's cache lock): holders in separate processes never overlap, and
 * a lock left by a dead process is taken over.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { withFileLock } from '../runtime/FileLock.js'
import { tmpDir } from './helpers.js'

const lockUrl = new URL('../runtime/FileLock.js', import.meta.url).href

t.test('two processes: the second waits until the first released the lock', async (t) => {
  const dir = tmpDir()
  const lock = join(dir, 'x.lock')
  const log = join(dir, 'log')
  writeFileSync(log, '')
  // Child processes load the TypeScript source through tsx, as tap does. Each holder appends "start" and, 300 ms later, "end": overlapping holders would interleave.
  const holder = (name: string) =>
    new Promise<number>((res) => {
      const code = `const { withFileLock } = await import(${JSON.stringify(lockUrl)}); const fs = await import('node:fs');
        await withFileLock(${JSON.stringify(lock)}, async () => { fs.appendFileSync(${JSON.stringify(log)}, '${name} start\\n'); await new Promise((r) => setTimeout(r, 300)); fs.appendFileSync(${JSON.stringify(log)}, '${name} end\\n') }, { pollMs: 20 })`
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: 'inherit' }).on('exit', (c) => res(c ?? 1))
    })
  t.same(await Promise.all([holder('a'), holder('b'), holder('c')]), [0, 0, 0])
  const lines = readFileSync(log, 'utf8').trim().split('\n')
  t.equal(lines.length, 6)
  for (let i = 0; i < 6; i += 2) t.equal(lines[i]!.split(' ')[0], lines[i + 1]!.split(' ')[0], `holder ${lines[i]!.split(' ')[0]} ran alone: ${lines.join(', ')}`)
})

t.test('a lock held by a dead process is taken over; a live holder is waited for', async (t) => {
  const dir = tmpDir()
  const lock = join(dir, 'y.lock')
  // A pid that is not running: a child that has exited.
  const dead = await new Promise<number>((res) => {
    const p = spawn(process.execPath, ['-e', ''])
    p.on('exit', () => res(p.pid!))
  })
  writeFileSync(lock, String(dead))
  t.equal(await withFileLock(lock, async () => 'ran', { timeoutMs: 5000, pollMs: 20 }), 'ran', 'the dead holder\'s lock was taken over')
  writeFileSync(lock, String(process.pid))
  await t.rejects(withFileLock(lock, async () => 'ran', { timeoutMs: 300, pollMs: 20 }), { code: 'COMPUTE_IMAGE_BUILD', message: /held by process/ }, 'a live holder is waited for, up to the timeout')
})
