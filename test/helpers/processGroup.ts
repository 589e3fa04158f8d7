import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tempDir } from './devnode.js'

type Test = import('tap').Test

/** A spawned node process as the multi-process tests hold it (test/helpers/marketnet.ts's MarketNode). */
export interface GroupMember {
  member: { name: string }
  stop(): Promise<unknown>
  output(): string
}

/**
 * The teardown the multi-process tests share: a temp dir for the test and the list its node
 * processes go into. At teardown every process is stopped (all awaited); on failure each
 * one's output is written to `<tmpdir>/<prefix><pid>-<name>.log` and named on stderr, so CI
 * output can point to it; then the temp dir is removed.
 */
export function processGroup<N extends GroupMember>(t: Test, prefix: string): { dir: string; nodes: N[] } {
  const { dir, cleanup } = tempDir(prefix)
  const nodes: N[] = []
  t.teardown(async () => {
    await Promise.all(nodes.map((n) => n.stop()))
    if (!t.passing())
      for (const n of nodes) {
        const file = join(tmpdir(), `${prefix}${process.pid}-${n.member.name}.log`)
        writeFileSync(file, n.output())
        console.error(`# ${n.member.name}'s log: ${file}`)
      }
    cleanup()
  })
  return { dir, nodes }
}
