import { explorer } from '../context'
import { coins, dec, when } from '../format'
import { AddressLink, Card, Fields, JobLink, Show, Status, useLoad } from '../ui'

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
              <table id="assets">
                <thead>
                  <tr>
                    <th>id</th>
                    <th>kind</th>
                    <th>access</th>
                    <th class="hide-sm">owner</th>
                    <th>verified uses</th>
                    <th class="hide-sm">rating</th>
                  </tr>
                </thead>
                <tbody>
                  {page.assets.map((a) => (
                    <tr key={a.id}>
                      <td>
                        <a href={`#/asset/${BigInt(a.id)}`}>#{dec(a.id)}</a>
                      </td>
                      <td>{a.kind}</td>
                      <td>{a.mode}</td>
                      <td class="hide-sm">
                        <AddressLink a={a.owner} />
                      </td>
                      <td>{dec(a.usage)}</td>
                      <td class="hide-sm">{a.averageStars !== null ? `${a.averageStars.toFixed(1)} ★ (${a.clientRatings})` : '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div class="pager">
                {from > 0 ? <a href={`#/assets/${Math.max(0, from - PAGE)}`}>newer</a> : null}
                {from + PAGE < page.total ? <a href={`#/assets/${from + PAGE}`}>older</a> : null}
              </div>
            </Card>
            <Card title={`Bounties (ids 1–${BOUNTY_PAGE})`}>
              {bounties.length === 0 ? <p class="muted">None posted.</p> : null}
              <table>
                <tbody>
                  {bounties.map((b) => (
                    <tr key={b.id}>
                      <td>
                        <a href={`#/bounty/${BigInt(b.id)}`}>#{dec(b.id)}</a>
                      </td>
                      <td>
                        <Status s={b.state} />
                      </td>
                      <td>{coins(b.prize)}</td>
                      <td>≥ {(b.thresholdAccuracy * 100).toFixed(1)} % on dataset #{dec(b.datasetId)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card>
          </>
        )}
      </Show>
    </>
  )
}

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
            <table>
              <tbody>
                {b.submissions.map((s) => (
                  <tr key={s.index}>
                    <td>#{s.index}</td>
                    <td>
                      <a href={`#/asset/${BigInt(s.modelId)}`}>model #{dec(s.modelId)}</a>
                    </td>
                    <td>
                      <AddressLink a={s.submitter} />
                    </td>
                    <td>{s.jobId ? <JobLink id={s.jobId} /> : '—'}</td>
                    <td>{s.evaluated ? `${((s.accuracy ?? 0) * 100).toFixed(2)} %` : <Status s={s.job?.status ?? 'not evaluated'} />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
        </>
      )}
    </Show>
  )
}
