import { decodeFunctionResult, encodeFunctionData, type Hex } from 'viem'
import { explorer } from '../context'
import { coins, dec, hexQ, num } from '../format'
import { AddressLink, BlockLink, Card, Show, TxLink, useLoad } from '../ui'
import type { Decoded } from '../decode'
import { type Column, Table } from '../Table'
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
        const topic = decoder.eventTopic('ValidatorSet', 'Slashed')
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
      {(d) => (
        <>
          <h1>Validators</h1>
          <Card title={`Epoch ${dec(d.cur.epoch)}: ${d.cur.validators.length} validators`}>
            <Table
              id="validators"
              rows={d.cur.validators}
              rowKey={(v) => v.address}
              columns={[
                { head: 'validator', cell: (v) => <AddressLink a={v.address} full /> },
                { head: 'weight share', cell: (v) => share(v.weight, d.cur.totalWeight) },
                { head: 'bond', cell: (v) => (d.bonds.has(v.address.toLowerCase()) ? coins(d.bonds.get(v.address.toLowerCase())!) : '—') },
                { head: `blocks of the last ${d.sampled}`, cell: (v) => d.produced.get(v.address.toLowerCase()) ?? 0 },
              ]}
            />
            <p class="muted" id="empty-slots">
              Slots without a block between the last {d.sampled} blocks: {dec(d.emptySlots)} of {dec(d.spanSlots)} (missed by their leader and backups; a --dev chain seals only on demand).
            </p>
          </Card>
          {d.next ? (
            <Card title={`Next epoch ${dec(d.next.epoch)} (elected)`}>
              <Table rows={d.next.validators} rowKey={(v) => v.address} columns={[{ cell: (v) => <AddressLink a={v.address} full /> }, { cell: (v) => share(v.weight, d.next!.totalWeight) }]} />
            </Card>
          ) : null}
          <Card title="Leader schedule (the next slots: leader, then backups)">
            {d.schedule ? (
              <Table id="schedule" rows={d.schedule} rowKey={(s) => s.slot} columns={SCHEDULE_COLUMNS} />
            ) : (
              <p class="muted">{d.scheduleError}</p>
            )}
          </Card>
          <Card title={`Slashings (${d.slashings.length})`}>
            <Table
              rows={d.slashings.map((log) => ({ log, decoded: decoder.log(log) }))}
              rowKey={(s) => `${s.log.transactionHash}-${s.log.logIndex}`}
              columns={SLASHING_COLUMNS}
              empty={<>None in the last {dec(WINDOW)} blocks.</>}
            />
          </Card>
        </>
      )}
    </Show>
  )
}

/** A validator's share of its epoch's total weight, in per cent (a set without weight divides by 1, not 0). */
function share(weight: string, total: string): string {
  return `${((Number(num(weight)) / (Number(num(total)) || 1)) * 100).toFixed(2)} %`
}

/** The columns of the leader schedule: the slot, then its leader and backups in rank order. */
const SCHEDULE_COLUMNS: Column<{ slot: string; producers: string[] }>[] = [
  { cell: (s) => `slot ${dec(s.slot)}` },
  {
    cell: (s) =>
      s.producers.map((p, i) => (
        <span key={p}>
          {i ? ', ' : ''}
          <AddressLink a={p} />
        </span>
      )),
  },
]

/** The columns of the slashings (decoded Slashed logs): block, transaction, the event's arguments. */
const SLASHING_COLUMNS: Column<{ log: RpcLog; decoded: Decoded | undefined }>[] = [
  { cell: ({ log }) => <BlockLink n={log.blockNumber} /> },
  { cell: ({ log }) => <TxLink hash={log.transactionHash} /> },
  { cell: ({ decoded }) => (decoded ? decoded.args.map(([k, v]) => `${k}=${String(v)}`).join(' ') : '') },
]
