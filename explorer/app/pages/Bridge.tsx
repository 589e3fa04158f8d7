import { decodeEventLog, decodeFunctionResult, encodeFunctionData, type Abi, type Hex } from 'viem'
import { explorer } from '../context'
import { coins, dec, hexQ, num } from '../format'
import { AddressLink, BlockLink, Card, Fields, Show, Status, TxLink, useLoad } from '../ui'
import { type Column, Table } from '../Table'
import { WINDOW } from './jobsData'
import type { RpcLog } from './types'

/** SwapBridge's views the page shows, in the order of the batch. */
const VIEWS = ['merkleRoot', 'snapshotTotal', 'claimedTotal', 'lockReserve', 'releasedTotal', 'deadline', 'finalized', 'burned', 'threshold', 'attesters'] as const

interface Payment {
  kind: 'claim' | 'release'
  /** The snapshot holder (claims) or the lock's nonce on the source chain (releases). */
  from: string
  recipient: string
  amount: bigint
  log: RpcLog
}

/**
 * The ERC-20 swap (bridge/README.md), when the chain's genesis placed a SwapBridge: open or
 * closed, the deadline, how much of the snapshot was claimed and of the lock reserve released,
 * what it still holds, the attesters, and the claims and releases of the last WINDOW blocks.
 * Everything is read from the contract at the head (eth_call, eth_getLogs), live.
 */
export function BridgePage() {
  const { rpc, decoder } = explorer()
  const bridge = decoder.addressOf('SwapBridge')
  const abi = decoder.abiOf('SwapBridge')
  const l = useLoad(
    async () => {
      if (!bridge || !abi) return undefined
      const head = num(await rpc.call<string>('eth_blockNumber'))
      const tag = hexQ(head)
      const reads = await rpc.batch<string[]>([
        ...VIEWS.map((fn) => ({ method: 'eth_call', params: [{ to: bridge, data: encodeFunctionData({ abi, functionName: fn } as never) }, tag] })),
        { method: 'eth_getBalance', params: [bridge, tag] },
        { method: 'pov_totalSupply', params: [tag] },
      ])
      const view = (i: number) => decodeFunctionResult({ abi, functionName: VIEWS[i]!, data: reads[i] as Hex } as never) as unknown
      const s = {
        merkleRoot: view(0) as string,
        snapshotTotal: view(1) as bigint,
        claimedTotal: view(2) as bigint,
        lockReserve: view(3) as bigint,
        releasedTotal: view(4) as bigint,
        deadline: view(5) as bigint,
        finalized: view(6) as boolean,
        burned: view(7) as bigint,
        threshold: view(8) as bigint,
        attesters: view(9) as readonly string[],
        balance: num(reads[VIEWS.length]),
        totalSupply: num((reads[VIEWS.length + 1] as unknown as { totalSupply: string }).totalSupply),
      }
      const from = head >= WINDOW ? head - WINDOW + 1n : 0n
      const topics = (['Claimed', 'Released'] as const).map((e) => decoder.eventTopic('SwapBridge', e)!)
      const logs = await rpc.call<RpcLog[]>('eth_getLogs', [{ address: bridge, topics: [topics], fromBlock: hexQ(from), toBlock: tag }])
      const payments = logs.map((log) => payment(abi, log)).reverse()
      return { head, from, s, payments }
    },
    [],
    true,
  )
  if (!bridge || !abi) return <p class="muted">This chain has no swap bridge (its genesis places no SwapBridge contract).</p>
  return (
    <>
      <h1>Swap bridge</h1>
      <Show l={l}>
        {(d) => {
          if (!d) return null
          const { s, head } = d
          const state = s.finalized ? 'finalized' : head < s.deadline ? 'open' : 'closed'
          return (
            <>
              <Card title="State">
                <Fields
                  rows={[
                    ['contract', <AddressLink a={bridge} full />],
                    ['state', <span id="bridge-state"><Status s={state} /></span>],
                    [
                      'deadline',
                      <span id="bridge-deadline">
                        block <BlockLink n={s.deadline} />
                        {state === 'open' ? ` (${dec(s.deadline - head)} blocks from now)` : state === 'closed' ? ' (passed: finalize() burns what is left)' : ''}
                      </span>,
                    ],
                    ['snapshot claimed', <span id="bridge-claimed">{`${coins(s.claimedTotal)} of ${coins(s.snapshotTotal)} (${share(s.claimedTotal, s.snapshotTotal)})`}</span>],
                    ['locks released', <span id="bridge-released">{`${coins(s.releasedTotal)} of ${coins(s.lockReserve)} (${share(s.releasedTotal, s.lockReserve)})`}</span>],
                    ['held by the bridge', <span id="bridge-balance">{coins(s.balance)}</span>],
                    ['burned at finalize', coins(s.burned)],
                    ['snapshot Merkle root', <code>{s.merkleRoot}</code>],
                    ['total supply', <span id="bridge-supply">{coins(s.totalSupply)}</span>],
                  ]}
                />
              </Card>
              <Card title={`Attesters: ${dec(s.threshold)} of ${s.attesters.length} sign a release`}>
                <Table id="bridge-attesters" rows={s.attesters} rowKey={(a) => a} columns={[{ cell: (a) => <AddressLink a={a} full /> }]} empty="None: only snapshot claims." />
              </Card>
              <Card title={`Claims and releases in blocks ${dec(d.from)}–${dec(head)} (${d.payments.length})`}>
                <Table id="bridge-payments" rows={d.payments} rowKey={(p) => `${p.log.transactionHash}:${p.log.logIndex}`} columns={PAYMENT_COLUMNS} empty="None." />
              </Card>
            </>
          )
        }}
      </Show>
    </>
  )
}

function payment(abi: Abi, log: RpcLog): Payment {
  const e = decodeEventLog({ abi, topics: log.topics as [Hex, ...Hex[]], data: log.data as Hex }) as unknown as { eventName: string; args: Record<string, unknown> }
  return e.eventName === 'Claimed'
    ? { kind: 'claim', from: e.args.holder as string, recipient: e.args.recipient as string, amount: e.args.amount as bigint, log }
    : { kind: 'release', from: `lock #${(e.args.nonce as bigint).toString()}`, recipient: e.args.recipient as string, amount: e.args.amount as bigint, log }
}

const PAYMENT_COLUMNS: Column<Payment>[] = [
  { head: 'block', cell: (p) => <BlockLink n={num(p.log.blockNumber)} /> },
  { head: 'kind', cell: (p) => p.kind },
  { head: 'holder / lock', class: 'hide-sm', cell: (p) => (p.kind === 'claim' ? <AddressLink a={p.from} /> : p.from) },
  { head: 'recipient', cell: (p) => <AddressLink a={p.recipient} /> },
  { head: 'amount', cell: (p) => coins(p.amount) },
  { head: 'transaction', class: 'hide-sm', cell: (p) => <TxLink hash={p.log.transactionHash} /> },
]

function share(part: bigint, whole: bigint): string {
  if (whole === 0n) return '—'
  return `${(Number((part * 10_000n) / whole) / 100).toFixed(2)} %`
}
