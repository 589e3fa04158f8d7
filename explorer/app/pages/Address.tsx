import { decodeFunctionResult, encodeFunctionData, pad, type Hex } from 'viem'
import { explorer } from '../context'
import { coins, dec, hexQ, num, short } from '../format'
import { AddressLink, BlockLink, Card, Fields, JobLink, SessionLink, Show, Status, TxLink, useLoad } from '../ui'
import { WINDOW } from './jobsData'
import type { Job, RpcBlock, RpcLog, RpcTx } from './types'

/** Blocks searched for an address's own transactions: the node has no address index (see explorer/README.md). */
export const TX_SCAN_BLOCKS = 256n
const TRANSFER = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'

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

/** An account: balance, nonce, code; its worker record, weight and validator bond; its recent transactions, token transfers, receipts and jobs. */
export function AddressPage({ a }: { a: string }) {
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
        { method: 'eth_blockNumber', params: [] },
        ...(bondCall ? [{ method: 'eth_call', params: [bondCall, 'latest'] }] : []),
      ])
      const [balance, nonce, code, worker, weight, receipts, jobs, head, bond] = rs.map((r) => r.result)
      const headN = num(head as string)
      // Recent transactions: the last TX_SCAN_BLOCKS blocks in one batch; token transfers from logs over the last window.
      const calls = []
      for (let i = headN; i >= 0n && i > headN - TX_SCAN_BLOCKS; i--) calls.push({ method: 'eth_getBlockByNumber', params: [hexQ(i), true] })
      const from = headN >= WINDOW ? headN - WINDOW + 1n : 0n
      const topic = pad(a as Hex).toLowerCase()
      const [blocks, logsFrom, logsTo] = await Promise.all([
        rpc.batch<(RpcBlock | null)[]>(calls),
        rpc.call<RpcLog[]>('eth_getLogs', [{ fromBlock: hexQ(from), toBlock: hexQ(headN), topics: [TRANSFER, topic] }]),
        rpc.call<RpcLog[]>('eth_getLogs', [{ fromBlock: hexQ(from), toBlock: hexQ(headN), topics: [TRANSFER, null, topic] }]),
      ])
      const me = a.toLowerCase()
      const txs = blocks.flatMap((b) => ((b?.transactions ?? []) as RpcTx[]).filter((t) => t.from.toLowerCase() === me || t.to?.toLowerCase() === me))
      const transfers = [...logsFrom, ...logsTo].sort((x, y) => Number(num(y.blockNumber) - num(x.blockNumber)))
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
        txs,
        transfers,
        scanned: { from: headN - TX_SCAN_BLOCKS + 1n > 0n ? headN - TX_SCAN_BLOCKS + 1n : 0n, to: headN },
        logWindow: { from, to: headN },
      }
    },
    [a],
    // Not reloaded at every head: it reads up to 256 blocks (open the page again to refresh).
    false,
  )
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
          <Card title={`Transactions in blocks ${dec(d.scanned.from)}–${dec(d.scanned.to)}`}>
            {d.txs.length === 0 ? <p class="muted">None in the last {dec(TX_SCAN_BLOCKS)} blocks (the node keeps no index by address).</p> : null}
            <table id="addr-txs">
              <tbody>
                {d.txs.map((t) => (
                  <tr key={t.hash}>
                    <td>
                      <TxLink hash={t.hash} />
                    </td>
                    <td>
                      <BlockLink n={t.blockNumber ?? undefined} />
                    </td>
                    <td>
                      <AddressLink a={t.from} /> → <AddressLink a={t.to} />
                    </td>
                    <td>{coins(t.value)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
          {d.transfers.length ? (
            <Card title="Token transfers (Transfer logs)">
              <table>
                <tbody>
                  {d.transfers.map((t) => (
                    <tr key={`${t.transactionHash}-${t.logIndex}`}>
                      <td>
                        <TxLink hash={t.transactionHash} />
                      </td>
                      <td>
                        <AddressLink a={t.address} />
                      </td>
                      <td class="mono">
                        {short(`0x${t.topics[1]!.slice(26)}`)} → {short(`0x${t.topics[2]!.slice(26)}`)}
                      </td>
                      <td class="mono">{t.topics.length === 4 ? `id ${num(t.topics[3]!)}` : num(t.data === '0x' ? 0 : t.data).toString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card>
          ) : null}
          {d.receipts.length ? (
            <Card title="Work receipts">
              <table>
                <tbody>
                  {d.receipts.map((r) => (
                    <tr key={r.sessionId}>
                      <td>
                        <JobLink id={r.jobId} />
                      </td>
                      <td>
                        <SessionLink id={r.sessionId} />
                      </td>
                      <td>
                        <Status s={r.status} />
                      </td>
                      <td>{coins(r.value)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card>
          ) : null}
          {d.jobs.length ? (
            <Card title="Jobs posted by this client">
              <table>
                <tbody>
                  {d.jobs.map((j) => (
                    <tr key={j.jobId}>
                      <td>
                        <JobLink id={j.jobId} />
                      </td>
                      <td>
                        <Status s={j.status} />
                      </td>
                      <td>{coins(j.price)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card>
          ) : null}
        </>
      )}
    </Show>
  )
}
