/**
 * What the container-job market tests (workmarket-*-docker.test.ts) share: worker processes on
 * a chosen Docker engine, the client's `job submit` through the CLI, the market read over the
 * producer's RPC, and waiting for a job to settle with the replicas' state and the workers' last
 * log lines when it does not.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import type { Hex } from 'viem'
import { registerJobCommands } from '../../cli/jobCommands.js'
import { silentLogger } from '../../common/logger.js'
import type { JobSpec } from '../../compute/spec/JobSpec.js'
import { BlobStore } from '../../compute/worker/BlobStore.js'
import { WorkMarketReader } from '../../market/client/WorkMarketReader.js'
import { rpc, waitFor } from './devnode.js'
import { startMarketNode, type MarketNetPlan, type MarketNode } from './marketnet.js'

type Test = import('tap').Test

/** The WorkMarket read through a node's JSON-RPC. */
export function marketOver(url: string): WorkMarketReader {
  return new WorkMarketReader({ call: async (to, data) => rpc<Hex>(url, 'eth_call', [{ to, data }, 'latest']) })
}

export interface DockerWorkerOptions {
  /** The engine's socket (`--worker.docker-host`); default: the host's engine. */
  engine?: string
  /** Registries to announce and pull from (`--worker.pull-from`). */
  pullFrom?: string[]
  /** `--worker.test-cheat` (sets POVCHAIN_TEST_CHEATS=1). */
  cheat?: string
  /** More bootnodes than the producer (other members' multiaddrs). */
  bootnodes?: string[]
  args?: string[]
}

/** `povchain node --worker --worker.runtime docker …` for one member of the plan, bootstrapped to the producer. */
export function startDockerWorker(plan: MarketNetPlan, name: string, o: DockerWorkerOptions = {}): Promise<MarketNode> {
  const args = [
    '--worker.runtime', 'docker',
    ...(o.engine ? ['--worker.docker-host', `unix://${o.engine}`] : []),
    ...(o.pullFrom?.length ? ['--worker.pull-from', o.pullFrom.join(',')] : []),
    ...(o.cheat ? ['--worker.test-cheat', o.cheat] : []),
    ...(o.args ?? []),
  ]
  // Generous: a loaded 2-core box took over 2 minutes to start a worker that built its image.
  return startMarketNode(plan, name, { bootnodes: [plan.producer.multiaddr, ...(o.bootnodes ?? [])], worker: true, args, ...(o.cheat ? { env: { POVCHAIN_TEST_CHEATS: '1' } } : {}), timeoutMs: 180_000 })
}

/** The worker finds the built-in image on its engine under this id (as after its first start) instead of building it. */
export async function presetBuiltinImage(datadir: string, imageId: string): Promise<void> {
  await new BlobStore({ dir: join(datadir, 'compute') }).setRef('image-builtin', imageId)
}

export interface SubmitOutcome {
  ok: boolean
  error?: { code: string; message: string }
  jobId?: Hex
  price?: string
}

/** The client's CLI: `povchain job submit SPEC --rpc URL --key-file KEY --json …`, in-process. */
export function clientCli(dir: string, url: string, keyFile: string) {
  return async (spec: JobSpec, ...args: string[]): Promise<SubmitOutcome> => {
    const file = join(dir, `spec-${Math.random().toString(36).slice(2)}.json`)
    writeFileSync(file, JSON.stringify(spec))
    let out = ''
    const program = new Command().exitOverride()
    registerJobCommands(program, { logger: silentLogger, io: { out: (s) => (out += s), err: (s) => (out += s) } })
    const code = process.exitCode
    await program.parseAsync(['node', 'povchain', 'job', 'submit', file, '--rpc', url, '--key-file', keyFile, '--json', ...args])
    process.exitCode = code
    return JSON.parse(out.trim().split('\n').pop()!) as SubmitOutcome
  }
}

/**
 * Waits until the job is accepted or refunded; on a timeout it comments where the replicas stand
 * and each worker's last 40 log lines, so a hang says why.
 */
export async function jobSettled(t: Test, market: WorkMarketReader, jobId: Hex, workers: MarketNode[], what: string, ms: number) {
  return waitFor(async () => {
    const j = await market.job(jobId)
    return j && (j.status === 'accepted' || j.status === 'refunded') ? j : undefined
  }, what, ms, 250).catch(async (e: Error) => {
    const r = await market.replicas(jobId).catch(() => undefined)
    const states = r ? await Promise.all(r.sessions.map(async (id) => ({ id, ...(await market.session(id)) }))) : []
    t.comment(`replicas: ${JSON.stringify({ round: r?.round, sessions: states.map((x) => ({ worker: x.worker, status: x.status })) })}`)
    for (const n of workers) t.comment(`--- ${n.member.name} (last lines)\n${n.output().split('\n').slice(-40).join('\n')}`)
    throw e
  })
}

/** The time (ms since the epoch) of a worker's first JSON log line with this message, NaN if none. */
export function logTime(out: string, msg: string): number {
  const line = out.split('\n').find((l) => l.includes(`"msg":"${msg}"`))
  return line ? Date.parse((JSON.parse(line) as { time: string }).time) : NaN
}

/** The first JSON log line with this message, parsed. */
export function logLine<T = Record<string, unknown>>(out: string, msg: string): T | undefined {
  const line = out.split('\n').find((l) => l.includes(`"msg":"${msg}"`))
  return line ? (JSON.parse(line) as T) : undefined
}
