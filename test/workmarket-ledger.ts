/**
 * "Balances add up to the wei": replays a dev chain from JSON-RPC — every transaction's fee
 * and value, every payment the WorkMarket made (Payment and Withdrawal events), the producer's
 * tips — and compares each account's balance (and the market's) with what that replay says.
 * Also checks the market's own books: balance = escrow + bonds + fund + credits.
 */
import { getAddress, keccak256, toHex, type Address, type Hex } from 'viem'
import { WORK_MARKET_ADDRESS } from '../genesis/WorkMarketGenesis.js'
import { encodeMarketCall } from '../market/client/WorkMarketReader.js'
import { rpc } from './helpers/devnode.js'

const PAYMENT = keccak256(toHex('Payment(address,uint256,bool,bytes32)'))
const WITHDRAWAL = keccak256(toHex('Withdrawal(address,uint256)'))

interface RawTx {
  hash: Hex
  from: Address
  to: Address | null
  value: Hex
}
interface RawBlock {
  number: Hex
  miner: Address
  baseFeePerGas: Hex
  transactions: RawTx[]
}
interface RawReceipt {
  status: Hex
  gasUsed: Hex
  effectiveGasPrice: Hex
  logs: { address: Address; topics: Hex[]; data: Hex }[]
}

export interface LedgerReport {
  accounts: number
  transactions: number
  burned: bigint
  mismatches: string[]
}

export async function checkLedger(url: string): Promise<LedgerReport> {
  const market = getAddress(WORK_MARKET_ADDRESS)
  // Everything is read at one block: workers may be adding blocks meanwhile.
  const head = BigInt(await rpc<Hex>(url, 'eth_blockNumber'))
  const at = `0x${head.toString(16)}`
  const delta = new Map<Address, bigint>()
  const add = (a: Address, d: bigint) => {
    const k = getAddress(a)
    delta.set(k, (delta.get(k) ?? 0n) + d)
  }
  add(market, 0n)
  let burned = 0n
  let txs = 0
  for (let n = 1n; n <= head; n++) {
    const b = await rpc<RawBlock>(url, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, true])
    const baseFee = BigInt(b.baseFeePerGas)
    for (const tx of b.transactions) {
      txs++
      const r = await rpc<RawReceipt>(url, 'eth_getTransactionReceipt', [tx.hash])
      const gas = BigInt(r.gasUsed)
      const price = BigInt(r.effectiveGasPrice)
      add(tx.from, -gas * price)
      add(b.miner, gas * (price - baseFee))
      burned += gas * baseFee
      if (r.status !== '0x1') continue
      if (tx.to) {
        add(tx.from, -BigInt(tx.value))
        add(tx.to, BigInt(tx.value))
      }
      for (const l of r.logs) {
        if (getAddress(l.address) !== market || (l.topics[0] !== PAYMENT && l.topics[0] !== WITHDRAWAL)) continue
        const to = getAddress(`0x${l.topics[1]!.slice(26)}`)
        if (l.topics[0] === PAYMENT) {
          const amount = BigInt(`0x${l.data.slice(2, 66)}`)
          const credited = BigInt(`0x${l.data.slice(66, 130)}`) !== 0n
          if (!credited) {
            add(market, -amount)
            add(to, amount)
          }
        } else if (l.topics[0] === WITHDRAWAL) {
          const amount = BigInt(`0x${l.data.slice(2, 66)}`)
          add(market, -amount)
          add(to, amount)
        }
      }
    }
  }
  const mismatches: string[] = []
  for (const [a, d] of delta) {
    const [now, genesis] = await Promise.all([rpc<Hex>(url, 'eth_getBalance', [a, at]), rpc<Hex>(url, 'eth_getBalance', [a, '0x0'])])
    if (BigInt(now) !== BigInt(genesis) + d) mismatches.push(`${a}: balance ${BigInt(now)} != genesis ${BigInt(genesis)} + replayed ${d}`)
  }
  const books = await rpc<Hex>(url, 'eth_call', [{ to: market, data: encodeMarketCall('accounting') }, at])
  const words = books.slice(2).match(/.{64}/g)!.map((w) => BigInt(`0x${w}`))
  if (words[0]! + words[1]! + words[2]! + words[3]! !== words[4]!) mismatches.push(`market books: ${words.slice(0, 4).join(' + ')} != ${words[4]}`)
  const supply = async (tag: string) => BigInt((await rpc<{ totalSupply: Hex }>(url, 'pov_totalSupply', [tag])).totalSupply)
  const [s0, s1] = [await supply('0x0'), await supply(at)]
  if (s1 !== s0 - burned) mismatches.push(`supply ${s1} != genesis supply ${s0} - burned base fees ${burned}`)
  return { accounts: delta.size, transactions: txs, burned, mismatches }
}
