import { decodeFunctionResult, encodeFunctionData, formatUnits, type Hex } from 'viem'
import { explorer } from '../context'
import { coins, dec, num } from '../format'
import { Table } from '../Table'
import { AddressLink, BlockLink, Card, Fields, JobLink, SessionLink, Show, Status, TxLink, useLoad } from '../ui'
import type { Job, RpcTx } from './types'

/** Rows a page of the address's transactions or token transfers (the node caps it at 100). */
export const ADDRESS_PAGE = 25

interface IndexedTx {
  hash: string
  blockNumber: string
  transactionIndex: string
  roles: ('from' | 'to' | 'created')[]
}
interface IndexedTransfer {
  transactionHash: string
  blockNumber: string
  logIndex: string
  token: string
  from: string
  to: string
  kind: 'erc20' | 'erc721'
  value?: string
  tokenId?: string
}
interface IndexPage {
  next: string | null
  indexComplete: boolean
  indexPendingBelow?: string
}

interface Worker {
  registered: boolean
  bond: string
  capacity: string
  rating: number
  successes: number
  failures: number
  verifications: number
  endpoint: string
  running: number
}

/** Where the two paged lists stand: `#/address/A?txs=CURSOR&transfers=CURSOR` (absent: the newest page). */
export interface AddressCursors {
  txs?: string
  transfers?: string
}

const pageHref = (a: string, c: AddressCursors) => {
  const q = new URLSearchParams()
  if (c.txs) q.set('txs', c.txs)
  if (c.transfers) q.set('transfers', c.transfers)
  const s = q.toString()
  return `#/address/${a}${s ? `?${s}` : ''}`
}

/** An account: balance, nonce, code; its worker record, weight and validator bond; its transactions and token transfers (the node's address index, paged), receipts and jobs. */
export function AddressPage({ a, cursors }: { a: string; cursors: AddressCursors }) {
  const { rpc, decoder } = explorer()
  const l = useLoad(
    async () => {
      const vs = decoder.addressOf('ValidatorSet')
      const vsAbi = decoder.abiOf('ValidatorSet')
      const bondCall = vs && vsAbi ? { to: vs, data: encodeFunctionData({ abi: vsAbi, functionName: 'bondOf', args: [a] } as never) } : undefined
      const rs = await rpc.batchSettled<unknown>([
        { method: 'eth_getBalance', params: [a, 'latest'] },
        { method: 'eth_getTransactionCount', params: [a, 'latest'] },
        { method: 'eth_getCode', params: [a, 'latest'] },
        { method: 'pov_getWorker', params: [a] },
        { method: 'pov_getWeight', params: [a] },
        { method: 'pov_getReceipts', params: [a] },
        { method: 'pov_listJobs', params: [{ client: a }] },
        ...(bondCall ? [{ method: 'eth_call', params: [bondCall, 'latest'] }] : []),
      ])
      const [balance, nonce, code, worker, weight, receipts, jobs, bond] = rs.map((r) => r.result)
      let bondWei: bigint | undefined
      if (bond && vsAbi) bondWei = decodeFunctionResult({ abi: vsAbi, functionName: 'bondOf', data: bond as Hex } as never) as bigint
      return {
        balance: balance as string,
        nonce: nonce as string,
        code: code as string,
        worker: worker as Worker | null,
        weight: weight as { live: string; epochWeight: string } | undefined,
        receipts: (receipts ?? []) as { jobId: string; sessionId: string; value: string; block: string; status: string }[],
        jobs: (jobs ?? []) as Job[],
        bondWei,
      }
    },
    [a],
    // Not reloaded at every head (open the page again to refresh).
    false,
  )
  // One page of each list: one range read in the node's index, then the page's transactions in one batch.
  const txs = useLoad(
    async () => {
      const page = await rpc.call<IndexPage & { transactions: IndexedTx[] }>('pov_getAddressTransactions', [a, { limit: ADDRESS_PAGE, ...(cursors.txs ? { cursor: cursors.txs } : {}) }])
      const full = await rpc.batch<(RpcTx | null)[]>(page.transactions.map((t) => ({ method: 'eth_getTransactionByHash', params: [t.hash] })))
      return { page, rows: page.transactions.map((t, i) => ({ ...t, tx: full[i] ?? null })) }
    },
    [a, cursors.txs],
  )
  const transfers = useLoad(
    () => rpc.call<IndexPage & { transfers: IndexedTransfer[] }>('pov_getAddressTokenTransfers', [a, { limit: ADDRESS_PAGE, ...(cursors.transfers ? { cursor: cursors.transfers } : {}) }]),
    [a, cursors.transfers],
  )
  const tokens = useLoad(() => tokenBalances(a), [a])
  const me = a.toLowerCase()
  return (
    <Show l={l}>
      {(d) => (
        <>
          <h1>
            {decoder.contractName(a) ? `${decoder.contractName(a)} ` : 'Address '}
            <span class="mono">{a}</span>
          </h1>
          <Card>
            <Fields
              rows={[
                ['balance', <span id="addr-balance">{coins(d.balance)}</span>],
                ['nonce', dec(d.nonce)],
                ['code', d.code === '0x' ? 'none (an account)' : `${(d.code.length - 2) / 2} bytes`],
                ['validator bond', d.bondWei !== undefined ? coins(d.bondWei) : '—'],
                ['weight (live / this epoch)', d.weight ? `${coins(d.weight.live)} / ${coins(d.weight.epochWeight)}` : '—'],
              ]}
            />
          </Card>
          {d.worker ? (
            <Card title="Worker">
              <Fields
                rows={[
                  ['registered', d.worker.registered ? 'yes' : 'no (exited)'],
                  ['bond', coins(d.worker.bond)],
                  ['capacity', `${dec(d.worker.capacity)} units/s`],
                  ['rating', String(d.worker.rating)],
                  ['sessions accepted / failed', `${d.worker.successes} / ${d.worker.failures}`],
                  ['verifications', String(d.worker.verifications)],
                  ['running', String(d.worker.running)],
                  ['endpoint', d.worker.endpoint || '—'],
                ]}
              />
            </Card>
          ) : null}
          <Card title={cursors.txs ? 'Transactions (older)' : 'Transactions'}>
            <Show l={txs}>
              {({ page, rows }) => (
                <>
                  <Table
                    id="addr-txs"
                    rows={rows}
                    rowKey={(t) => t.hash}
                    empty="None."
                    columns={[
                      { head: 'transaction', cell: (t) => <TxLink hash={t.hash} /> },
                      { head: 'block', cell: (t) => <BlockLink n={t.blockNumber} /> },
                      { head: 'role', cell: (t) => (t.roles.includes('created') ? 'created' : t.roles.includes('from') ? (t.roles.includes('to') ? 'self' : 'out') : 'in') },
                      { head: 'from → to', class: 'hide-sm', cell: (t) => (t.tx ? <><AddressLink a={t.tx.from} /> → {t.tx.to ? <AddressLink a={t.tx.to} /> : 'create'}</> : '—') },
                      { head: 'value', cell: (t) => (t.tx ? coins(t.tx.value) : '—') },
                    ]}
                  />
                  <Pager id="addr-txs-pager" a={a} cursors={cursors} list="txs" page={page} />
                </>
              )}
            </Show>
          </Card>
          <Card title={`Token balances (tokens of its last ${TOKEN_SCAN} transfers)`}>
            <Show l={tokens}>
              {(rows) => (
                <Table
                  id="addr-tokens"
                  rows={rows}
                  rowKey={(r) => r.token}
                  empty="None."
                  columns={[
                    { head: 'token', cell: (r) => <>{r.symbol ? `${r.symbol} ` : ''}<AddressLink a={r.token} /></> },
                    { head: 'kind', class: 'hide-sm', cell: (r) => (r.kind === 'erc721' ? 'ERC-721' : 'ERC-20') },
                    { head: 'balance', class: 'mono', cell: (r) => (r.balance === undefined ? '—' : r.kind === 'erc721' ? `${r.balance} items` : `${formatUnits(r.balance, r.decimals ?? 0)}${r.symbol ? ` ${r.symbol}` : ''}`) },
                  ]}
                />
              )}
            </Show>
          </Card>
          <Card title={cursors.transfers ? 'Token transfers (older)' : 'Token transfers (Transfer logs)'}>
            <Show l={transfers}>
              {(page) => (
                <>
                  <Table
                    id="addr-transfers"
                    rows={page.transfers}
                    rowKey={(t) => `${t.blockNumber}-${t.logIndex}`}
                    empty="None."
                    columns={[
                      { head: 'transaction', cell: (t) => <TxLink hash={t.transactionHash} /> },
                      { head: 'block', class: 'hide-sm', cell: (t) => <BlockLink n={t.blockNumber} /> },
                      { head: 'token', cell: (t) => <AddressLink a={t.token} /> },
                      { head: 'from → to', class: 'mono', cell: (t) => <>{t.from.toLowerCase() === me ? 'this' : <AddressLink a={t.from} />} → {t.to.toLowerCase() === me ? 'this' : <AddressLink a={t.to} />}</> },
                      { head: 'amount', class: 'mono', cell: (t) => (t.kind === 'erc721' ? `id ${num(t.tokenId)}` : num(t.value).toString()) },
                    ]}
                  />
                  <Pager id="addr-transfers-pager" a={a} cursors={cursors} list="transfers" page={page} />
                </>
              )}
            </Show>
          </Card>
          {d.receipts.length ? (
            <Card title="Work receipts">
              <Table
                rows={d.receipts}
                rowKey={(r) => r.sessionId}
                columns={[
                  { cell: (r) => <JobLink id={r.jobId} /> },
                  { cell: (r) => <SessionLink id={r.sessionId} /> },
                  { cell: (r) => <Status s={r.status} /> },
                  { cell: (r) => coins(r.value) },
                ]}
              />
            </Card>
          ) : null}
          {d.jobs.length ? (
            <Card title="Jobs posted by this client">
              <Table rows={d.jobs} rowKey={(j) => j.jobId} columns={[{ cell: (j) => <JobLink id={j.jobId} /> }, { cell: (j) => <Status s={j.status} /> }, { cell: (j) => coins(j.price) }]} />
            </Card>
          ) : null}
        </>
      )}
    </Show>
  )
}

/** "newest" and "older" of one list; newer pages are the browser's back button (a cursor only goes one way). */
function Pager({ id, a, cursors, list, page }: { id: string; a: string; cursors: AddressCursors; list: keyof AddressCursors; page: IndexPage }) {
  return (
    <div class="pager" id={id}>
      {cursors[list] ? <a href={pageHref(a, { ...cursors, [list]: undefined })}>newest</a> : null}
      {page.next ? (
        <a href={pageHref(a, { ...cursors, [list]: page.next })} class="older">
          older
        </a>
      ) : (
        <span>{page.indexComplete ? 'the first' : `older blocks (below ${dec(page.indexPendingBelow)}) are still being indexed`}</span>
      )}
    </div>
  )
}

/** Transfers read to find the tokens an address holds (one index page), and at most this many tokens shown. */
const TOKEN_SCAN = 100
const TOKEN_MAX = 20
// JSON, not viem's parseAbi: its human-readable parser would add 14 KiB to the page.
const TOKEN_ABI = [
  { type: 'function', name: 'balanceOf', stateMutability: 'view', inputs: [{ name: 'owner', type: 'address' }], outputs: [{ name: '', type: 'uint256' }] },
  { type: 'function', name: 'symbol', stateMutability: 'view', inputs: [], outputs: [{ name: '', type: 'string' }] },
  { type: 'function', name: 'decimals', stateMutability: 'view', inputs: [], outputs: [{ name: '', type: 'uint8' }] },
] as const

interface TokenBalance {
  token: string
  kind: 'erc20' | 'erc721'
  balance?: bigint
  symbol?: string
  decimals?: number
}

/**
 * Balances of the tokens named in the address's newest transfers (the node indexes Transfer logs,
 * not balances): `balanceOf`, `symbol` and `decimals` of each, in one batch. A token without
 * `symbol` or `decimals` (both optional in ERC-20) shows its raw amount.
 */
async function tokenBalances(a: string): Promise<TokenBalance[]> {
  const { rpc } = explorer()
  const page = await rpc.call<{ transfers: IndexedTransfer[] }>('pov_getAddressTokenTransfers', [a, { limit: TOKEN_SCAN }])
  const seen = new Map<string, TokenBalance>()
  for (const t of page.transfers) if (!seen.has(t.token.toLowerCase()) && seen.size < TOKEN_MAX) seen.set(t.token.toLowerCase(), { token: t.token, kind: t.kind })
  const tokens = [...seen.values()]
  const call = (to: string, data: Hex) => ({ method: 'eth_call', params: [{ to, data }, 'latest'] })
  const rs = await rpc.batchSettled<Hex>(
    tokens.flatMap((t) => [
      call(t.token, encodeFunctionData({ abi: TOKEN_ABI, functionName: 'balanceOf', args: [a as Hex] })),
      call(t.token, encodeFunctionData({ abi: TOKEN_ABI, functionName: 'symbol' })),
      call(t.token, encodeFunctionData({ abi: TOKEN_ABI, functionName: 'decimals' })),
    ]),
  )
  const decode = <T,>(fn: 'balanceOf' | 'symbol' | 'decimals', data: Hex | undefined): T | undefined => {
    if (!data || data === '0x') return undefined
    try {
      return decodeFunctionResult({ abi: TOKEN_ABI, functionName: fn, data }) as T
    } catch {
      return undefined
    }
  }
  tokens.forEach((t, i) => {
    t.balance = decode<bigint>('balanceOf', rs[3 * i]!.result)
    t.symbol = decode<string>('symbol', rs[3 * i + 1]!.result)?.slice(0, 32) // any contract's string: keep the table readable
    const d = decode<number>('decimals', rs[3 * i + 2]!.result)
    t.decimals = d === undefined ? undefined : Number(d)
  })
  return tokens
}
