/**
 * Jobs by the blocks they were posted in: the WorkMarket's JobPosted logs (eth_getLogs, which
 * the node answers from its blocks' log blooms) in windows of at most WINDOW blocks, newest
 * first, and each job's state from pov_getJob in the same batch. The node has no job index, so
 * a page is one log query over a window, never a walk over the chain in the browser.
 */
import { explorer } from '../context'
import { hexQ } from '../format'
import type { Job } from './types'

/** The node's --rpc.logs-max-range default; one eth_getLogs call covers at most this many blocks. */
export const WINDOW = 10_000n

export interface JobsPage {
  jobs: Job[]
  from: bigint
  to: bigint
}

/** Jobs posted in blocks [to - window + 1, to], newest first; the state of at most `count` of them. */
export async function jobsPosted(to: bigint, window = WINDOW, count = Infinity): Promise<JobsPage> {
  const { rpc, decoder } = explorer()
  const from = to >= window ? to - window + 1n : 0n
  const address = decoder.addressOf('WorkMarket')
  const topic = decoder.eventTopic('WorkMarket', 'JobPosted')
  if (!address || !topic) return { jobs: [], from, to }
  const logs = await rpc.call<{ topics: string[] }[]>('eth_getLogs', [{ fromBlock: hexQ(from), toBlock: hexQ(to), address, topics: [topic] }])
  const ids = logs.map((l) => l.topics[1]!).reverse().slice(0, count)
  const jobs = await rpc.batch<(Job | null)[]>(ids.map((id) => ({ method: 'pov_getJob', params: [id] })))
  return { jobs: jobs.filter((j): j is Job => j !== null), from, to }
}

/** The `count` newest jobs posted in the last `window` blocks up to `head`. */
export async function recentJobs(head: bigint, count: number, window = WINDOW): Promise<JobsPage> {
  return jobsPosted(head, window, count)
}
