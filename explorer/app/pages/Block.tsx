import type { ComponentChildren } from 'preact'
import { explorer } from '../context'
import type { Decoded } from '../decode'
import { ago, coins, dec, hexQ, isHash, num, ZERO32 } from '../format'
import { AddressLink, BlockLink, Card, Fields, JobLink, SessionLink, Show, Status, TxLink, useLoad } from '../ui'
import { type Column, Table } from '../Table'
import type { BlockWork, Finalized, RpcBlock, RpcLog, RpcTx } from './types'

/** A block: the Ethereum fields, and the Proof-of-Value ones — producer, slot, rank, the work receipt it names, VRF, attestations, finality. */
export function BlockPage({ id }: { id: string }) {
  const { rpc } = explorer()
  const l = useLoad(
    async () => {
      const byHash = isHash(id)
      const ref = byHash ? id : hexQ(BigInt(id))
      const market = explorer().decoder.addressOf('WorkMarket')
      // One round trip: every call names the block as the user did (hash or number).
      const rest = (at: string, hash: boolean) => [
        { method: 'pov_getBlockWork', params: [at] },
        { method: 'pov_getFinalized', params: [] },
        { method: 'eth_getLogs', params: [{ ...(hash ? { blockHash: at } : { fromBlock: at, toBlock: at }), ...(market ? { address: market } : {}) }] },
      ]
      const [got, ...others] = await rpc.batchSettled<unknown>([{ method: byHash ? 'eth_getBlockByHash' : 'eth_getBlockByNumber', params: [ref, true] }, ...rest(ref, byHash)])
      if (got!.error) throw got!.error
      const block = got!.result as RpcBlock | null
      if (!block) throw new Error(`no block ${id} on this node's chain`)
      let [work, fin, logs] = others
      // A reorg between the calls of the batch changed what the number means: ask again by hash.
      const moved = (work!.result as BlockWork | undefined)?.block.hash !== block.hash || ((logs!.result ?? []) as RpcLog[]).some((l) => l.blockHash !== block.hash)
      if (!byHash && num(block.number) > 0n && moved) [work, fin, logs] = await rpc.batchSettled<unknown>(rest(block.hash, true))
      return { block, work: work!.result as BlockWork | undefined, fin: fin!.result as Finalized, marketLogs: market ? ((logs!.result ?? []) as RpcLog[]) : [] }
    },
    [id],
    true,
  )
  return (
    <Show l={l}>
      {({ block: b, work, fin, marketLogs }) => {
        const n = num(b.number)
        const finality = work?.finalized ? 'final' : n <= num(fin.justified.number) ? 'justified (not final)' : 'not final'
        const rec = work?.work.receipt
        return (
          <>
            <h1>Block {dec(b.number)}</h1>
            <div class="pager">
              {n > 0n ? <a href={`#/block/${(n - 1n).toString()}`}>← {dec(n - 1n)}</a> : null}
              {n < num(fin.head.number) ? <a href={`#/block/${(n + 1n).toString()}`}>{dec(n + 1n)} →</a> : null}
            </div>
            <Card title="Block">
              <Fields
                rows={[
                  ['hash', <span class="mono">{b.hash}</span>],
                  ['parent', <BlockLink hash={b.parentHash} />],
                  ['time', `${new Date(Number(num(b.timestamp)) * 1000).toISOString()} (${ago(b.timestamp)})`],
                  ['finality', <span id="block-finality"><Status s={finality} /></span>],
                  ['transactions', String(b.transactions.length)],
                  ['gas used / limit', `${dec(b.gasUsed)} / ${dec(b.gasLimit)}`],
                  ['base fee', b.baseFeePerGas ? `${dec(b.baseFeePerGas)} wei` : '—'],
                  ['state root', <span class="mono">{b.stateRoot}</span>],
                  ['size', `${dec(b.size)} bytes`],
                ]}
              />
            </Card>
            <Card title="Proof of Value">
              <Fields
                rows={[
                  ['producer', <AddressLink a={b.producer ?? b.miner} full />],
                  ['slot / epoch', work ? `${dec(work.block.slot)} / ${dec(work.block.epoch)}` : b.slot ? dec(b.slot) : '—'],
                  ['rank', work ? (work.rank === 0 ? 'leader' : work.rank > 0 ? `backup #${work.rank}` : 'not ranked') : '—'],
                  ['producer weight', work ? `${(work.weight.share * 100).toFixed(2)} % of the epoch's set` : '—'],
                  ['job', b.jobId && b.jobId !== ZERO32 ? <span id="block-job"><JobLink id={b.jobId} full /></span> : '—'],
                  ['session', b.sessionId && b.sessionId !== ZERO32 ? <span id="block-session"><SessionLink id={b.sessionId} full /></span> : '—'],
                  ['work receipt', rec ? <span>{rec.accepted ? <Status s="accepted" /> : <Status s="not accepted" />} worker <AddressLink a={rec.worker} />, value {coins(rec.value)}{rec.genesis ? ' (a genesis receipt)' : <> recorded in block <BlockLink n={rec.recordedInBlock} /></>}</span> : '—'],
                  ['workload', <span class="mono">{b.workloadId ?? '—'}</span>],
                  ['VRF output', <span class="mono">{b.vrfOutput ?? b.mixHash}</span>],
                  ['VRF proof', <span class="mono">{b.vrfProof ?? '—'}</span>],
                  ['attestations', work ? `${work.attestations} votes for the parent` : String(b.attestations?.length ?? 0)],
                  ['priority fees', work ? coins(work.reward.priorityFees) : '—'],
                ]}
              />
            </Card>
            {marketLogs.length ? (
              <Card title="Work market events in this block">
                <Table id="block-market-events" rows={marketLogs.map((log) => ({ log, decoded: explorer().decoder.log(log) }))} rowKey={(e) => e.log.logIndex} columns={MARKET_EVENT_COLUMNS} />
              </Card>
            ) : null}
            <Card title="Transactions">
              <Table rows={b.transactions as RpcTx[]} rowKey={(t) => t.hash} columns={TX_COLUMNS} empty="None." />
            </Card>
          </>
        )
      }}
    </Show>
  )
}

/** The columns of a block's WorkMarket events: the event, the job and session it names, its transaction. */
const MARKET_EVENT_COLUMNS: Column<{ log: RpcLog; decoded: Decoded | undefined }>[] = [
  { cell: ({ log, decoded }) => decoded?.name ?? log.topics[0] },
  { cell: ({ decoded }) => idArg(decoded, 'jobId', (id) => <JobLink id={id} />) },
  { cell: ({ decoded }) => idArg(decoded, 'sessionId', (id) => <SessionLink id={id} />) },
  { cell: ({ log }) => <TxLink hash={log.transactionHash} /> },
]

/** A link for the event's argument `name` when it has one (not every WorkMarket event names a job or a session). */
function idArg(decoded: Decoded | undefined, name: string, link: (id: string) => ComponentChildren) {
  const v = decoded?.args.find(([k]) => k === name)?.[1]
  return typeof v === 'string' ? link(v) : null
}

/** The columns of a block's transactions: hash, from → to, the decoded method, value. */
const TX_COLUMNS: Column<RpcTx>[] = [
  { cell: (t) => <TxLink hash={t.hash} /> },
  { cell: (t) => <><AddressLink a={t.from} /> → <AddressLink a={t.to} /></> },
  { cell: (t) => explorer().decoder.input(t.to, t.input)?.name ?? (t.input === '0x' ? 'transfer' : t.input.slice(0, 10)) },
  { cell: (t) => coins(t.value) },
]

/** Blocks, newest first, 25 a page by number (no scan: each page is one batch of 25 lookups). */
export function BlocksPage({ before }: { before: string }) {
  const { rpc } = explorer()
  const top = BigInt(before)
  const l = useLoad(async () => {
    const calls = []
    for (let i = top; i >= 0n && i > top - 25n; i--) calls.push({ method: 'eth_getBlockByNumber', params: [hexQ(i), false] })
    return (await rpc.batch<(RpcBlock | null)[]>(calls)).filter((b): b is RpcBlock => b !== null)
  }, [before])
  return (
    <>
      <h1>Blocks</h1>
      <Show l={l}>
        {(blocks) => (
          <Card>
            <Table rows={blocks} rowKey={(b) => b.hash} columns={blockColumns(undefined, true)} />
            <div class="pager">
              {top > 24n ? <a href={`#/blocks/${(top - 25n).toString()}`}>older</a> : null}
            </div>
          </Card>
        )}
      </Show>
    </>
  )
}

/** The columns of a list of blocks (home page, #/blocks): "final" badges up to `finalized`, the session column with `withSession`. */
export function blockColumns(finalized?: bigint, withSession = false): Column<RpcBlock>[] {
  return [
    { head: 'block', cell: (b) => <><BlockLink n={b.number} /> {finalized !== undefined && num(b.number) <= finalized ? <Status s="final" /> : null}</> },
    { head: 'producer', cell: (b) => <AddressLink a={b.producer ?? b.miner} /> },
    { head: 'slot', class: 'hide-sm', cell: (b) => (b.slot ? dec(b.slot) : '') },
    { head: 'txs', cell: (b) => b.transactions.length },
    ...(withSession ? [{ head: 'session', class: 'hide-sm', cell: (b: RpcBlock) => (b.sessionId && b.sessionId !== ZERO32 ? <SessionLink id={b.sessionId} /> : '') }] : []),
    { head: 'age', class: 'hide-sm', cell: (b) => ago(b.timestamp) },
  ]
}
