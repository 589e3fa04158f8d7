import { explorer } from '../context'
import { ago, coins, dec, hexQ, num, when, ZERO32 } from '../format'
import { AddressLink, BlockLink, Card, Fields, JobLink, SessionLink, Show, Status, TxLink, useLoad } from '../ui'
import { type Column, Table } from '../Table'
import { jobsPosted, WINDOW } from './jobsData'
import type { Job, RpcLog, Session } from './types'

/** Jobs posted in one window of blocks, newest first; "older" moves the window back. */
export function JobsPage({ to }: { to?: string }) {
  const { rpc } = explorer()
  const l = useLoad(
    async () => {
      const upTo = to !== undefined ? BigInt(to) : num(await rpc.call<string>('eth_blockNumber'))
      const [page, open] = await Promise.all([jobsPosted(upTo), rpc.call<Job[]>('pov_listJobs', [])])
      return { page, open }
    },
    [to],
    to === undefined,
  )
  return (
    <>
      <h1>Jobs</h1>
      <Show l={l}>
        {({ page, open }) => (
          <>
            <Card title={`Open jobs (${open.length})`}>
              <Table rows={open} rowKey={(j) => j.jobId} columns={JOB_COLUMNS} empty="None waiting for a worker." />
            </Card>
            <Card title={`Posted in blocks ${dec(page.from)}–${dec(page.to)}`}>
              <Table id="jobs-list" rows={page.jobs} rowKey={(j) => j.jobId} columns={JOB_COLUMNS} empty="None." />
              <div class="pager">{page.from > 0n ? <a href={`#/jobs/${(page.from - 1n).toString()}`}>older (blocks before {dec(page.from)})</a> : <span>from genesis</span>}</div>
            </Card>
          </>
        )}
      </Show>
    </>
  )
}

/** The columns of a list of jobs (open ones, a window of posted ones). */
const JOB_COLUMNS: Column<Job>[] = [
  { head: 'job', cell: (j) => <JobLink id={j.jobId} /> },
  { head: 'status', cell: (j) => <Status s={j.status} /> },
  { head: 'client', class: 'hide-sm', cell: (j) => <AddressLink a={j.client} /> },
  { head: 'price', cell: (j) => coins(j.price) },
  { head: 'posted', class: 'hide-sm', cell: (j) => ago(j.postedAt) },
]

/** A job: its terms and state, and each session with its worker, verifiers and result. */
export function JobPage({ id }: { id: string }) {
  const { rpc } = explorer()
  const l = useLoad(
    async () => {
      const job = await rpc.call<Job | null>('pov_getJob', [id])
      if (!job) throw new Error(`no job ${id} in the WorkMarket (genesis receipts name jobs that were never posted)`)
      const sessions = await rpc.batch<Session[]>(job.sessions.map((s) => ({ method: 'pov_getSession', params: [s] })))
      return { job, sessions, events: await jobEvents(job) }
    },
    [id],
    true,
  )
  return (
    <Show l={l}>
      {({ job: j, sessions, events }) => (
        <>
          <h1>Job</h1>
          <Card>
            <Fields
              rows={[
                ['job id', <span class="mono">{j.jobId}</span>],
                ['status', <span id="job-status"><Status s={j.status} /></span>],
                ['client', <AddressLink a={j.client} full />],
                ['price (escrow)', coins(j.price)],
                ['mode', `${j.mode}${j.replicas > 1 ? `, ${j.replicas} replicas` : ''}, ${j.verifiers} verifier(s)`],
                ['units', dec(j.units)],
                ['posted', when(j.postedAt)],
                ['deadline', when(j.deadline)],
                ['attempts', String(j.attempts)],
                ['workload', <span class="mono">{j.workloadId}</span>],
                ['spec hash', <span class="mono">{j.specHash}</span>],
                ['control task', j.control ? 'yes' : 'no'],
              ]}
            />
          </Card>
          <Card title="History (WorkMarket events)">
            <Table
              id="job-events"
              rows={events}
              rowKey={(e) => `${e.log.transactionHash}-${e.log.logIndex}`}
              columns={[{ cell: (e) => <BlockLink n={e.log.blockNumber} /> }, { cell: (e) => e.name }, { cell: (e) => (e.sessionId ? <SessionLink id={e.sessionId} /> : null) }]}
            />
          </Card>
          {sessions.map((s) => (
            <SessionCard s={s} key={s.sessionId} current={s.sessionId === j.session} />
          ))}
        </>
      )}
    </Show>
  )
}

function SessionCard({ s, current }: { s: Session; current: boolean }) {
  return (
    <Card
      title={
        <>
          Session <SessionLink id={s.sessionId} /> {current ? <span class="badge">current</span> : null}
        </>
      }
    >
      <Fields
        rows={[
          ['status', <span class="session-status"><Status s={s.status} /></span>],
          ['worker', <AddressLink a={s.worker} full />],
          ['verifiers', s.verifiers.length ? s.verifiers.map((v) => <div key={v}><AddressLink a={v} full /></div>) : '—'],
          ['assigned', when(s.assignedAt)],
          ['committed', num(s.commitBlock) ? <>{when(s.committedAt)} in block <BlockLink n={s.commitBlock} /></> : '—'],
          ['finalized', when(s.finalizedAt)],
          ['result hash', <span class="mono">{s.commitment?.resultHash ?? '—'}</span>],
          ['checkpoints', s.commitment ? `${dec(s.commitment.checkpointCount)} (root ${s.commitment.checkpointRoot})` : '—'],
          ['payment', s.status === 'accepted' ? `${coins(s.value)} (protocol fee ${coins(s.protocolFee ?? '0x0')})` : `${coins(s.value)} held`],
        ]}
      />
    </Card>
  )
}

/** A session: the job's session card plus the verifiers' votes (VoteRevealed logs since its assignment). */
export function SessionPage({ id }: { id: string }) {
  const { rpc, decoder } = explorer()
  const l = useLoad(
    async () => {
      const s = await rpc.call<Session | null>('pov_getSession', [id])
      if (!s) throw new Error(`no session ${id} in the WorkMarket`)
      const wm = decoder.addressOf('WorkMarket')
      const abi = decoder.abiOf('WorkMarket')
      let votes: RpcLog[] = []
      if (wm && abi) {
        const head = num(await rpc.call<string>('eth_blockNumber'))
        // Votes follow the commitment; before it there are none to find.
        const from = num(s.commitBlock) > 0n ? num(s.commitBlock) : head
        const to = from + WINDOW - 1n < head ? from + WINDOW - 1n : head
        const topic = decoder.eventTopic('WorkMarket', 'VoteRevealed')
        votes = await rpc.call<RpcLog[]>('eth_getLogs', [{ address: wm, topics: [topic, id], fromBlock: hexQ(from), toBlock: hexQ(to) }])
      }
      return { s, votes }
    },
    [id],
    true,
  )
  return (
    <Show l={l}>
      {({ s, votes }) => (
        <>
          <h1>Session</h1>
          <p>
            of job <JobLink id={s.jobId} full />
          </p>
          <SessionCard s={s} current={false} />
          <Card title={`Votes (${votes.length})`}>
            {votes.length === 0 ? <p class="muted">{s.jobId === ZERO32 ? '' : 'No vote revealed yet (or none needed in this mode).'}</p> : null}
            <Table id="session-votes" rows={votes.map((log) => ({ log, args: Object.fromEntries(decoder.log(log)?.args ?? []) }))} rowKey={(v) => `${v.log.transactionHash}-${v.log.logIndex}`} columns={VOTE_COLUMNS} />
          </Card>
        </>
      )}
    </Show>
  )
}

/** The columns of a session's revealed votes (decoded VoteRevealed logs): verifier, round, accept or reject, the transaction. */
const VOTE_COLUMNS: Column<{ log: RpcLog; args: Record<string, unknown> }>[] = [
  { cell: ({ args }) => <AddressLink a={String(args.verifier ?? '')} /> },
  { cell: ({ args }) => `round ${String(args.round ?? '?')}` },
  { cell: ({ args }) => <Status s={args.accept === true ? 'accept' : args.accept === false ? 'reject' : '?'} /> },
  { cell: ({ log }) => <TxLink hash={log.transactionHash} /> },
]

/**
 * A job's history: the WorkMarket events naming it (topic 1 = job id: posted, assigned,
 * accepted, reopened, refunded …; committed and finalized sessions) in the last window of blocks.
 */
async function jobEvents(job: Job): Promise<{ name: string; sessionId?: string; log: RpcLog }[]> {
  const { rpc, decoder } = explorer()
  const wm = decoder.addressOf('WorkMarket')
  if (!wm) return []
  const head = num(await rpc.call<string>('eth_blockNumber'))
  const from = head >= WINDOW ? head - WINDOW + 1n : 0n
  // Job events name the job first; session events (committed, finalized) name it second.
  const range = { address: wm, fromBlock: hexQ(from), toBlock: hexQ(head) }
  const [first, second] = await rpc.batch<[RpcLog[], RpcLog[]]>([
    { method: 'eth_getLogs', params: [{ ...range, topics: [null, job.jobId] }] },
    { method: 'eth_getLogs', params: [{ ...range, topics: [null, null, job.jobId] }] },
  ])
  const logs = [...first, ...second].sort((a, b) => Number(num(a.blockNumber) - num(b.blockNumber)) || Number(num(a.logIndex) - num(b.logIndex)))
  return logs.map((log) => {
    const d = decoder.log(log)
    const sessionId = d?.args.find(([k]) => k === 'sessionId')?.[1]
    return { name: d?.name ?? log.topics[0]!, sessionId: typeof sessionId === 'string' ? sessionId : undefined, log }
  })
}
