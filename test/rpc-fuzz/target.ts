/**
 * The node under fuzz: `povchain node --dev` in its own process (from source, with its
 * inspector on a free port for the heap figure), and the methods it serves with their arity,
 * read from the method table of an in-process dev node that is stopped at once.
 */
import { CHAIN_ID, DEV_KEYS, startInProcessNode, startNodeProcess, tempDir, type NodeProcess } from '../helpers/devnode.js'
import type { FuzzTarget } from './campaign.js'
import type { MethodArity } from './requests.js'

/** Methods whose generated calls would only measure our patience, not our parser. */
const SKIP = new Set(['debug_traceBlockByNumber', 'debug_traceBlockByHash'])

export async function servedMethods(): Promise<MethodArity[]> {
  const n = await startInProcessNode()
  try {
    const table = (n.node as unknown as { rpc: { dispatcher: { methods: Map<string, { min: number; max: number }> } } }).rpc.dispatcher.methods
    return [...table].filter(([name]) => !SKIP.has(name)).map(([name, s]) => ({ name, min: s.min, max: s.max })).sort((a, b) => a.name.localeCompare(b.name))
  } finally {
    await n.stop()
  }
}

export async function startFuzzTarget(): Promise<{ target: FuzzTarget; stop: () => Promise<void>; proc: NodeProcess }> {
  const tmp = tempDir('povchain-rpcfuzz-')
  // --log.level warn: the fuzz must not be measured by the speed of logging each request.
  const proc = await startNodeProcess({ datadir: tmp.dir, nodeArgs: ['--inspect=127.0.0.1:0'], timeoutMs: 120_000 })
  const target: FuzzTarget = {
    httpUrl: proc.httpUrl,
    wsUrl: proc.wsUrl,
    pid: proc.proc.pid!,
    chainId: CHAIN_ID,
    honestKey: DEV_KEYS[7]!,
    alive: () => proc.alive(),
    output: () => proc.output(),
  }
  return {
    target,
    proc,
    async stop() {
      await proc.stop()
      tmp.cleanup()
    },
  }
}
