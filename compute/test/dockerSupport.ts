import type { Test } from 'tap'
import { DockerRuntime } from '../runtime/DockerRuntime.js'

/**
 * Docker tests skip with a visible reason when no engine answers — unless
 * POVCHAIN_REQUIRE_DOCKER=1 (CI), where a missing engine is a failure.
 */
export async function requireDocker(t: Test): Promise<DockerRuntime | undefined> {
  const rt = new DockerRuntime()
  const probe = await rt.probe()
  if (probe.available) return rt
  if (process.env.POVCHAIN_REQUIRE_DOCKER === '1') {
    t.fail(`POVCHAIN_REQUIRE_DOCKER=1 but ${probe.reason}`)
    return undefined
  }
  t.comment(`SKIP docker tests: ${probe.reason} (set POVCHAIN_REQUIRE_DOCKER=1 to make this a failure)`)
  t.test('docker engine', { skip: `no Docker engine: ${probe.reason}` }, () => {})
  return undefined
}
