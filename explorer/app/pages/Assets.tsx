import { explorer } from '../context'
import { coins, dec, when } from '../format'
import { AddressLink, Card, Fields, JobLink, Show, Status, useLoad } from '../ui'
import { type Column, Table } from '../Table'

interface Asset {
  id: string
  owner: string
  kind: string
  mode: string
  contentHash: string
  uri: string
  size: string
  publishedAt: string
  usage: string
  clientRatings: number
  averageStars: number | null
  pricePerUse: string
  pricePerDownload: string
  score?: string
}

interface Bounty {
  id: string
  client: string
  datasetId: string
  thresholdAccuracy: number
  rule: string
  deadline: string
  prize: string
  state: string
  winner: number | null
  submissions: { index: number; modelId: string; submitter: string; evaluated: boolean; accuracy: number | null; passed: boolean | null; jobId: string | null; job: { status: string } | null }[]
}

const PAGE = 20
/** Bounty ids tried in one batch (the registry has no bounty count method). */
const BOUNTY_PAGE = 20

/** Models and datasets of the AssetRegistry, 20 a page (pov_listAssets pages by offset), and bounties by id. */
export function AssetsPage({ offset }: { offset: string }) {
  const { rpc } = explorer()
  const from = Number(offset) || 0
  const l = useLoad(async () => {
    const page = await rpc.call<{ total: number; assets: Asset[] }>('pov_listAssets', [{ offset: from, limit: PAGE, sort: 'new' }])
    const bounties = await rpc.batchSettled<Bounty | null>(Array.from({ length: BOUNTY_PAGE }, (_, i) => ({ method: 'pov_getBounty', params: [i + 1] })))
    return { page, bounties: bounties.map((b) => b.result).filter((b): b is Bounty => !!b) }
  }, [offset])
  return (
    <>
      <h1>Assets and bounties</h1>
      <Show l={l}>
        {({ page, bounties }) => (
          <>
            <Card title={`Models and datasets (${page.total})`}>
              {page.assets.length === 0 ? <p class="muted">None published.</p> : null}
              {/* The table stays (empty) with the note: #assets is the page's loaded mark. */}
              <Table id="assets" rows={page.assets} rowKey={(a) => a.id} columns={ASSET_COLUMNS} />
              <div class="pager">
                {from > 0 ? <a href={`#/assets/${Math.max(0, from - PAGE)}`}>newer</a> : null}
                {from + PAGE < page.total ? <a href={`#/assets/${from + PAGE}`}>older</a> : null}
              </div>
            </Card>
            <Card title={`Bounties (ids 1–${BOUNTY_PAGE})`}>
              <Table rows={bounties} rowKey={(b) => b.id} columns={BOUNTY_COLUMNS} empty="None posted." />
            </Card>
          </>
        )}
      </Show>
    </>
  )
}

/** The columns of a page of models and datasets. */
const ASSET_COLUMNS: Column<Asset>[] = [
  { head: 'id', cell: (a) => <a href={`#/asset/${BigInt(a.id)}`}>#{dec(a.id)}</a> },
  { head: 'kind', cell: (a) => a.kind },
  { head: 'access', cell: (a) => a.mode },
  { head: 'owner', class: 'hide-sm', cell: (a) => <AddressLink a={a.owner} /> },
  { head: 'verified uses', cell: (a) => dec(a.usage) },
  { head: 'rating', class: 'hide-sm', cell: (a) => (a.averageStars !== null ? `${a.averageStars.toFixed(1)} ★ (${a.clientRatings})` : '—') },
]

/** The columns of the bounties: id, state, prize, goal. */
const BOUNTY_COLUMNS: Column<Bounty>[] = [
  { cell: (b) => <a href={`#/bounty/${BigInt(b.id)}`}>#{dec(b.id)}</a> },
  { cell: (b) => <Status s={b.state} /> },
  { cell: (b) => coins(b.prize) },
  { cell: (b) => `≥ ${(b.thresholdAccuracy * 100).toFixed(1)} % on dataset #${dec(b.datasetId)}` },
]

/** The columns of a bounty's submissions: index, model, submitter, evaluation job, accuracy (or the job's state). */
const SUBMISSION_COLUMNS: Column<Bounty['submissions'][number]>[] = [
  { cell: (s) => `#${s.index}` },
  { cell: (s) => <a href={`#/asset/${BigInt(s.modelId)}`}>model #{dec(s.modelId)}</a> },
  { cell: (s) => <AddressLink a={s.submitter} /> },
  { cell: (s) => (s.jobId ? <JobLink id={s.jobId} /> : '—') },
  { cell: (s) => (s.evaluated ? `${((s.accuracy ?? 0) * 100).toFixed(2)} %` : <Status s={s.job?.status ?? 'not evaluated'} />) },
]

export function AssetPage({ id }: { id: string }) {
  const l = useLoad(async () => {
    const a = await explorer().rpc.call<Asset | null>('pov_getAsset', [id])
    if (!a) throw new Error(`no asset ${id}`)
    return a
  }, [id])
  return (
    <Show l={l}>
      {(a) => (
        <>
          <h1>
            Asset #{dec(a.id)} ({a.kind})
          </h1>
          <Card>
            <Fields
              rows={[
                ['owner', <AddressLink a={a.owner} full />],
                ['access', a.mode],
                ['content hash', <span class="mono">{a.contentHash}</span>],
                ['uri', a.uri || '—'],
                ['size', `${dec(a.size)} bytes`],
                ['published', when(a.publishedAt)],
                ['verified uses', dec(a.usage)],
                ['client ratings', a.averageStars !== null ? `${a.averageStars.toFixed(2)} ★ from ${a.clientRatings}` : 'none'],
                ['score', a.score ? dec(a.score) : '—'],
                ['price per use / download', `${coins(a.pricePerUse)} / ${coins(a.pricePerDownload)}`],
              ]}
            />
          </Card>
        </>
      )}
    </Show>
  )
}

export function BountyPage({ id }: { id: string }) {
  const l = useLoad(async () => {
    const b = await explorer().rpc.call<Bounty | null>('pov_getBounty', [id])
    if (!b) throw new Error(`no bounty ${id}`)
    return b
  }, [id])
  return (
    <Show l={l}>
      {(b) => (
        <>
          <h1>Bounty #{dec(b.id)}</h1>
          <Card>
            <Fields
              rows={[
                ['state', <Status s={b.state} />],
                ['client', <AddressLink a={b.client} full />],
                ['prize', coins(b.prize)],
                ['goal', `accuracy ≥ ${(b.thresholdAccuracy * 100).toFixed(2)} % on dataset #${dec(b.datasetId)} (${b.rule})`],
                ['deadline', when(b.deadline)],
                ['winner', b.winner !== null ? `submission ${b.winner}` : '—'],
              ]}
            />
          </Card>
          <Card title={`Submissions (${b.submissions.length})`}>
            <Table rows={b.submissions} rowKey={(s) => String(s.index)} columns={SUBMISSION_COLUMNS} />
          </Card>
        </>
      )}
    </Show>
  )
}
