/** Runs the `povchain` CLI from source with `--json` and returns its last output line (throws on `ok: false`, with the CLI's error). */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from './devnode.js'

const run = promisify(execFile)

export async function cliJson(args: string[], timeoutMs = 120_000): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/cli.ts'), ...args, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs }).catch((e: { stdout?: string; message: string }) => {
    throw new Error(`povchain ${args.join(' ')} failed: ${e.stdout || e.message}`)
  })
  const out = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>
  if (!out.ok) throw new Error(`povchain ${args.join(' ')}: ${JSON.stringify(out.error)}`)
  return out
}
