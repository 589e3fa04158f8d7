import { explorer } from '../context'
import { decodeRevert } from './revert'
import { coins, dec, num } from '../format'
import { show } from '../decode'
import { AddressLink, BlockLink, Card, Fields, Show, Status, useLoad } from '../ui'
import type { RpcReceipt, RpcTx } from './types'

/** A transaction: fields, the decoded call and logs of the contracts the node knows, and why it reverted. */
export function TxPage({ hash }: { hash: string }) {
  const { rpc, decoder } = explorer()
  const l = useLoad(async () => {
    const [tx, receipt] = await rpc.batch<[RpcTx | null, RpcReceipt | null]>([
      { method: 'eth_getTransactionByHash', params: [hash] },
      { method: 'eth_getTransactionReceipt', params: [hash] },
    ])
    if (!tx) throw new Error(`no transaction ${hash} on this node`)
    const revert = receipt && receipt.status === '0x0' ? await decodeRevert(tx, receipt) : undefined
    return { tx, receipt, revert }
  }, [hash])
  return (
    <Show l={l}>
      {({ tx, receipt, revert }) => {
        const call = decoder.input(tx.to, tx.input)
        return (
          <>
            <h1>Transaction</h1>
            <Card>
              <Fields
                rows={[
                  ['hash', <span class="mono">{tx.hash}</span>],
                  ['status', <span id="tx-status">{receipt ? <Status s={receipt.status === '0x1'} /> : <Status s="pending" />}</span>],
                  ...(revert ? ([['revert reason', <span class="error" id="tx-revert">{revert}</span>]] as [string, preact.ComponentChildren][]) : []),
                  ['block', tx.blockNumber ? <BlockLink n={tx.blockNumber} /> : 'pending'],
                  ['from', <AddressLink a={tx.from} full />],
                  ['to', tx.to ? <AddressLink a={tx.to} full /> : receipt?.contractAddress ? <>created <AddressLink a={receipt.contractAddress} full /></> : '—'],
                  ['value', coins(tx.value)],
                  ['nonce', dec(tx.nonce)],
                  ['type', dec(tx.type)],
                  ['gas used / limit', `${receipt ? dec(receipt.gasUsed) : '?'} / ${dec(tx.gas)}`],
                  ['gas price', receipt ? `${dec(receipt.effectiveGasPrice)} wei` : tx.maxFeePerGas ? `max ${dec(tx.maxFeePerGas)} wei` : `${dec(tx.gasPrice)} wei`],
                  ['fee', receipt ? coins(num(receipt.gasUsed) * num(receipt.effectiveGasPrice)) : '—'],
                ]}
              />
            </Card>
            <Card title="Input">
              {call ? (
                <div id="tx-call">
                  <p>
                    <b>
                      {call.contract}.{call.name}
                    </b>
                  </p>
                  <Fields rows={call.args.map(([k, v]) => [k, <span class="mono">{show(v)}</span>])} />
                </div>
              ) : (
                <pre class="mono">{tx.input === '0x' ? 'none (a plain transfer)' : tx.input}</pre>
              )}
            </Card>
            <Card title={`Logs (${receipt?.logs.length ?? 0})`}>
              {(receipt?.logs ?? []).map((log) => {
                const d = decoder.log(log)
                return (
                  <div class="card" key={log.logIndex}>
                    <p>
                      #{dec(log.logIndex)} <AddressLink a={log.address} /> {d ? <b>{d.name}</b> : null}
                    </p>
                    {d ? <Fields rows={d.args.map(([k, v]) => [k, <span class="mono">{show(v)}</span>])} /> : <pre class="mono">{JSON.stringify({ topics: log.topics, data: log.data }, null, 1)}</pre>}
                  </div>
                )
              })}
            </Card>
          </>
        )
      }}
    </Show>
  )
}
