/** An in-memory Ethereum JSON-RPC for unit tests: blocks with logs, reorgs by replacing a suffix. */
import { decodeFunctionData, encodeAbiParameters, encodeEventTopics, encodeFunctionResult, keccak256, toHex, type Abi, type Address, type Hex } from 'viem'
import { EthereumRpc } from '../EthereumRpc.js'
import { JsonRpcError, type JsonRpcClient } from '../JsonRpcClient.js'
import { ERC20_ABI, LOCKED_EVENT, TRANSFER_EVENT } from '../SwapBridgeAbi.js'

interface FakeLog {
  address: Address
  topics: Hex[]
  data: Hex
}
interface FakeBlock {
  number: number
  hash: Hex
  parentHash: Hex
  logs: FakeLog[]
}

export class FakeChain {
  blocks: FakeBlock[] = []
  /** eth_getLogs refuses wider ranges (as providers do). */
  maxLogRange = Infinity
  calls: Record<string, number> = {}
  /** eth_call answers: balanceOf(address) and totalSupply() of the token. */
  balances = new Map<string, bigint>()
  totalSupply = 0n
  /** Addresses without code (every other address answers eth_getCode with code). */
  eoas = new Set<string>()
  private salt = 0

  constructor(length: number) {
    this.extend(length)
  }

  get head(): number {
    return this.blocks.length - 1
  }

  extend(n: number, logsAt: Record<number, FakeLog[]> = {}): void {
    for (let i = 0; i < n; i++) {
      const number = this.blocks.length
      const parentHash = number ? this.blocks[number - 1]!.hash : (`0x${'00'.repeat(32)}` as Hex)
      this.blocks.push({ number, parentHash, hash: keccak256(toHex(`${parentHash}:${number}:${this.salt}`)), logs: logsAt[number] ?? [] })
    }
  }

  /** Drops blocks from `from` on and grows a new branch to `length` blocks. */
  reorg(from: number, length: number, logsAt: Record<number, FakeLog[]> = {}): void {
    this.salt++
    this.blocks.length = from
    this.extend(length - from, logsAt)
  }

  addLog(block: number, log: FakeLog): void {
    this.blocks[block]!.logs.push(log)
  }

  rpc(): EthereumRpc {
    const client = { url: 'fake://chain', request: (m: string, p: unknown[]) => this.request(m, p) } as unknown as JsonRpcClient
    return new EthereumRpc(client)
  }

  private async request(method: string, params: unknown[]): Promise<unknown> {
    this.calls[method] = (this.calls[method] ?? 0) + 1
    const num = (t: unknown) => (t === 'latest' ? this.head : Number(t as string))
    switch (method) {
      case 'eth_chainId':
        return '0x1'
      case 'eth_blockNumber':
        return toHex(this.head)
      case 'eth_getBlockByNumber': {
        const b = this.blocks[num(params[0])]
        return b ? { number: toHex(b.number), hash: b.hash, parentHash: b.parentHash, timestamp: toHex(b.number) } : null
      }
      case 'eth_getCode':
        return this.eoas.has(String(params[0]).toLowerCase()) ? '0x' : '0x60'
      case 'eth_getLogs': {
        const f = params[0] as { address: Address; topics: Hex[]; fromBlock: Hex; toBlock: Hex }
        const from = Number(f.fromBlock)
        const to = Number(f.toBlock)
        if (to - from + 1 > this.maxLogRange) throw new JsonRpcError('eth_getLogs', -32005, 'query returned more than 10000 results')
        const out = []
        for (let n = from; n <= Math.min(to, this.head); n++)
          for (const [i, l] of this.blocks[n]!.logs.entries())
            if (l.address.toLowerCase() === f.address.toLowerCase() && l.topics[0] === f.topics[0])
              out.push({ ...l, blockNumber: toHex(n), blockHash: this.blocks[n]!.hash, transactionHash: keccak256(toHex(`${this.blocks[n]!.hash}${i}`)), logIndex: toHex(i), removed: false })
        return out
      }
      case 'eth_call': {
        const { data } = params[0] as { data: Hex }
        const call = decodeFunctionData({ abi: ERC20_ABI as Abi, data })
        if (call.functionName === 'balanceOf')
          return encodeFunctionResult({ abi: ERC20_ABI as Abi, functionName: 'balanceOf', result: this.balances.get((call.args![0] as string).toLowerCase()) ?? 0n })
        return encodeFunctionResult({ abi: ERC20_ABI as Abi, functionName: 'totalSupply', result: this.totalSupply })
      }
    }
    throw new JsonRpcError(method, -32601, 'method not found')
  }
}

export function transferLog(token: Address, from: Address, to: Address, value: bigint): FakeLog {
  return { address: token, topics: encodeEventTopics({ abi: [TRANSFER_EVENT], eventName: 'Transfer', args: { from, to } }) as Hex[], data: encodeAbiParameters([{ type: 'uint256' }], [value]) }
}

export function lockedLog(lock: Address, nonce: bigint, from: Address, recipient: Address, amount: bigint): FakeLog {
  return { address: lock, topics: encodeEventTopics({ abi: [LOCKED_EVENT], eventName: 'Locked', args: { nonce, from, recipient } }) as Hex[], data: encodeAbiParameters([{ type: 'uint256' }], [amount]) }
}
