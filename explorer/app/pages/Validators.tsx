import { decodeFunctionResult, encodeEventTopics, encodeFunctionData, type Hex } from 'viem'
import { explorer } from '../context'
import { coins, dec, hexQ, num } from '../format'
import { AddressLink, BlockLink, Card, Show, TxLink, useLoad } from '../ui'
import { WINDOW } from './jobsData'
import type { RpcBlock, RpcLog, Validators } from './types'

const SHARE_BLOCKS = 256n
const SCHEDULE = 16

/** The validator set of this epoch and the next, bonds, weights, share of recent blocks, slashings and the public leader schedule. */
export function ValidatorsPage() {
  const { rpc, decoder } = explorer()
  const l = useLoad(
    async () => {
      const [cur, headHex] = await rpc.batch<[Validators, string]>([
        { method: 'pov_getValidators', params: [] },
        { method: 'eth_blockNumber', params: [] },
      ])
      const head = num(headHex)
      const [next] = await rpc.batchSettled<Validators>([{ method: 'pov_getValidators', params: [hexQ(num(cur.epoch) + 1n)] }])
      const [schedule] = await rpc.batchSettled<{ slot: string; producers: string[] }[]>([{ method: 'pov_getSchedule', params: [null, hexQ(SCHEDULE)] }])
      const vs = decoder.addressOf('ValidatorSet')
      const abi = decoder.abiOf('ValidatorSet')
      const addrs = [...new Set([...cur.validators, ...(next!.result?.validators ?? [])].map((v) => v.address.toLowerCase()))]
      const bonds = new Map<string, bigint>()
      if (vs && abi) {
        const rs = await rpc.batchSettled<string>(addrs.map((a) => ({ method: 'eth_call', params: [{ to: vs, data: encodeFunctionData({ abi, functionName: 'bondOf', args: [a] } as never) }, 'latest'] })))
        rs.forEach((r, i) => r.result && bonds.set(addrs[i]!, decodeFunctionResult({ abi, functionName: 'bondOf', data: r.result as Hex } as never) as bigint))
      }
      const calls = []
      for (let i = head; i >= 1n && i > head - SHARE_BLOCKS; i--) calls.push({ method: 'eth_getBlockByNumber', params: [hexQ(i), false] })
      const blocks = (await rpc.batch<(RpcBlock | null)[]>(calls)).filter((b): b is RpcBlock => b !== null)
      const produced = new Map<string, number>()
      for (const b of blocks) produced.set((b.producer ?? b.miner).toLowerCase(), (produced.get((b.producer ?? b.miner).toLowerCase()) ?? 0) + 1)
      // Slots between the sampled blocks that got no block (a silent leader and its backups; in --dev, idle time).
      let emptySlots = 0n
      for (let i = 0; i + 1 < blocks.length; i++) if (blocks[i]!.slot && blocks[i + 1]!.slot) emptySlots += num(blocks[i]!.slot) - num(blocks[i + 1]!.slot) - 1n
      const spanSlots = blocks.length > 1 && blocks[0]!.slot ? num(blocks[0]!.slot) - num(blocks[blocks.length - 1]!.slot) : 0n
      let slashings: RpcLog[] = []
      if (vs && abi) {
        const topic = encodeEventTopics({ abi, eventName: 'Slashed' } as never)[0]
        slashings = await rpc.call<RpcLog[]>('eth_getLogs', [{ address: vs, topics: [topic], fromBlock: hexQ(head >= WINDOW ? head - WINDOW + 1n : 0n), toBlock: hexQ(head) }])
      }
      return { emptySlots, spanSlots, cur, next: next!.result, schedule: schedule!.result, scheduleError: schedule!.error?.message, bonds, produced, sampled: blocks.length, slashings }
    },
    [],
    // Not reloaded at every head: it reads up to 256 blocks (open the page again to refresh).
    false,
  )
  return (
    <Show l={l}>
      {(d) => {
        const total = Number(num(d.cur.totalWeight)) || 1
        return (
          <>
            <h1>Validators</h1>
            <Card title={`Epoch ${dec(d.cur.epoch)}: ${d.cur.validators.length} validators`}>
              <table id="validators">
                <thead>
                  <tr>
                    <th>validator</th>
                    <th>weight share</th>
                    <th>bond</th>
                    <th>blocks of the last {d.sampled}</th>
                  </tr>
                </thead>
                <tbody>
                  {d.cur.validators.map((v) => (
                    <tr key={v.address}>
                      <td>
                        <AddressLink a={v.address} full />
                      </td>
                      <td>{((Number(num(v.weight)) / total) * 100).toFixed(2)} %</td>
                      <td>{d.bonds.has(v.address.toLowerCase()) ? coins(d.bonds.get(v.address.toLowerCase())!) : '—'}</td>
                      <td>{d.produced.get(v.address.toLowerCase()) ?? 0}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p class="muted" id="empty-slots">
                Slots without a block between the last {d.sampled} blocks: {dec(d.emptySlots)} of {dec(d.spanSlots)} (missed by their leader and backups; a --dev chain seals only on demand).
              </p>
            </Card>
            {d.next ? (
              <Card title={`Next epoch ${dec(d.next.epoch)} (elected)`}>
                <table>
                  <tbody>
                    {d.next.validators.map((v) => (
                      <tr key={v.address}>
                        <td>
                          <AddressLink a={v.address} full />
                        </td>
                        <td>{((Number(num(v.weight)) / (Number(num(d.next!.totalWeight)) || 1)) * 100).toFixed(2)} %</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </Card>
            ) : null}
            <Card title="Leader schedule (the next slots: leader, then backups)">
              {d.schedule ? (
                <table id="schedule">
                  <tbody>
                    {d.schedule.map((s) => (
                      <tr key={s.slot}>
                        <td>slot {dec(s.slot)}</td>
                        <td>
                          {s.producers.map((p, i) => (
                            <span key={p}>
                              {i ? ', ' : ''}
                              <AddressLink a={p} />
                            </span>
                          ))}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p class="muted">{d.scheduleError}</p>
              )}
            </Card>
            <Card title={`Slashings (${d.slashings.length})`}>
              {d.slashings.length === 0 ? <p class="muted">None in the last {dec(WINDOW)} blocks.</p> : null}
              <table>
                <tbody>
                  {d.slashings.map((s) => {
                    const e = decoder.log(s)
                    return (
                      <tr key={`${s.transactionHash}-${s.logIndex}`}>
                        <td>
                          <BlockLink n={s.blockNumber} />
                        </td>
                        <td>
                          <TxLink hash={s.transactionHash} />
                        </td>
                        <td>{e ? e.args.map(([k, v]) => `${k}=${String(v)}`).join(' ') : ''}</td>
                      </tr>
                    )
                  })}
                </tbody>
              </table>
            </Card>
          </>
        )
      }}
    </Show>
  )
}
