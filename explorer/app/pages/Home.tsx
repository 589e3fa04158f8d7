import { explorer } from '../context'
import { ago, coins, dec, hexQ, num, short } from '../format'
import { AddressLink, BlockLink, Card, JobLink, Show, Stat, Status, useLoad } from '../ui'
import { Table } from '../Table'
import { blockColumns } from './Block'
import { recentJobs } from './jobsData'
import type { Epoch, Finalized, RpcBlock, Validators } from './types'

const RECENT = 12
/** Blocks the home page searches for recent jobs (the jobs page goes back further, a window a page). */
const HOME_WINDOW = 2048n

/** Head, finality, slot clock, validator set, recent blocks and jobs; reloaded at every new head. */
export function Home() {
  const { rpc } = explorer()
  const l = useLoad(
    async () => {
      const [head, fin, epoch, vals] = await rpc.batch<[RpcBlock, Finalized, Epoch, Validators]>([
        { method: 'eth_getBlockByNumber', params: ['latest', false] },
        { method: 'pov_getFinalized', params: [] },
        { method: 'pov_getEpoch', params: [] },
        { method: 'pov_getValidators', params: [] },
      ])
      const n = num(head.number)
      const calls = []
      for (let i = n - 1n; i >= 0n && i > n - BigInt(RECENT); i--) calls.push({ method: 'eth_getBlockByNumber', params: [hexQ(i), false] })
      // The recent blocks and the job log query are independent: one round trip, not two.
      const [older, jobs] = await Promise.all([rpc.batch<RpcBlock[]>(calls), recentJobs(n, 8, HOME_WINDOW)])
      return { head, fin, epoch, vals, blocks: [head, ...older], jobs }
    },
    [],
    true,
  )
  return (
    <Show l={l}>
      {({ head, fin, epoch, vals, blocks, jobs }) => (
        <>
          <div class="stats" id="home-stats">
            <Stat k="head" v={<BlockLink n={head.number} />} />
            <Stat k="finalized" v={<BlockLink n={fin.finalized.number} />} />
            <Stat k="justified" v={<BlockLink n={fin.justified.number} />} />
            <Stat k="slot" v={dec(epoch.slot)} />
            <Stat k="epoch" v={`${dec(epoch.epoch)} (${dec(num(epoch.slot) - num(epoch.firstSlot) + 1n)}/${dec(epoch.slotsPerEpoch)})`} />
            <Stat k="validators" v={<a href="#/validators">{vals.validators.length}</a>} />
          </div>
          <div class="grid" style="margin-top:14px">
            <Card title="Recent blocks">
              <Table id="recent-blocks" rows={blocks} rowKey={(b) => b.hash} columns={blockColumns(num(fin.finalized.number))} />
              <div class="pager">
                <a href={`#/blocks/${num(head.number).toString()}`}>all blocks</a>
              </div>
            </Card>
            <Card title="Recent jobs">
              {jobs.jobs.length === 0 ? <p class="muted">No job posted in blocks {dec(jobs.from)}–{dec(jobs.to)}.</p> : null}
              <Table
                id="recent-jobs"
                rows={jobs.jobs}
                rowKey={(j) => j.jobId}
                columns={[{ cell: (j) => <JobLink id={j.jobId} /> }, { cell: (j) => <Status s={j.status} /> }, { cell: (j) => coins(j.price) }, { class: 'hide-sm', cell: (j) => ago(j.postedAt) }]}
              />
              <div class="pager">
                <a href="#/jobs">all jobs</a>
              </div>
            </Card>
          </div>
          <Card title={`Validator set, epoch ${dec(vals.epoch)}`}>
            <Table
              rows={vals.validators}
              rowKey={(v) => v.address}
              columns={[
                { cell: (v) => <AddressLink a={v.address} full /> },
                { cell: (v) => (num(vals.totalWeight) > 0n ? `${((Number(num(v.weight)) / Number(num(vals.totalWeight))) * 100).toFixed(1)} %` : '') },
              ]}
            />
            <p class="muted">head {short(head.hash)}</p>
          </Card>
        </>
      )}
    </Show>
  )
}
