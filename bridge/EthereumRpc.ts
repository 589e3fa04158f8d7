import { decodeFunctionResult, encodeFunctionData, type Abi, type Address, type Hex } from 'viem'
import { BridgeError } from './BridgeError.js'
import { JsonRpcClient, JsonRpcError } from './JsonRpcClient.js'

export interface RpcBlock {
  number: bigint
  hash: Hex
  parentHash: Hex
  timestamp: bigint
  baseFeePerGas?: bigint
}

export interface RpcLog {
  address: Address
  topics: Hex[]
  data: Hex
  blockNumber: bigint
  blockHash: Hex
  transactionHash: Hex
  logIndex: number
  removed: boolean
}

export interface RpcReceipt {
  status: 'success' | 'reverted'
  transactionHash: Hex
  blockNumber: bigint
  blockHash: Hex
  gasUsed: bigint
  effectiveGasPrice: bigint
  /** The created contract, for a deployment. */
  contractAddress?: Address
  logs: RpcLog[]
}

type BlockTag = bigint | 'latest' | 'pending' | 'earliest' | 'safe' | 'finalized'
const tag = (b: BlockTag): string => (typeof b === 'bigint' ? `0x${b.toString(16)}` : b)
const hex = (n: bigint | number): Hex => `0x${n.toString(16)}`

interface RawLog {
  address: Address
  topics: Hex[]
  data: Hex
  blockNumber: Hex
  blockHash: Hex
  transactionHash: Hex
  logIndex: Hex
  removed?: boolean
}

function parseLog(l: RawLog): RpcLog {
  return {
    address: l.address,
    topics: l.topics,
    data: l.data,
    blockNumber: BigInt(l.blockNumber),
    blockHash: l.blockHash,
    transactionHash: l.transactionHash,
    logIndex: Number(l.logIndex),
    removed: Boolean(l.removed),
  }
}

/** The typed eth_* calls the bridge makes, on any Ethereum JSON-RPC endpoint. */
export class EthereumRpc {
  constructor(readonly client: JsonRpcClient) {}

  static at(url: string, retries?: number): EthereumRpc {
    return new EthereumRpc(new JsonRpcClient({ url, retries }))
  }

  async chainId(): Promise<bigint> {
    return BigInt(await this.client.request<Hex>('eth_chainId'))
  }

  async blockNumber(): Promise<bigint> {
    return BigInt(await this.client.request<Hex>('eth_blockNumber'))
  }

  async block(at: BlockTag): Promise<RpcBlock | undefined> {
    const b = await this.client.request<{ number: Hex; hash: Hex; parentHash: Hex; timestamp: Hex; baseFeePerGas?: Hex } | null>('eth_getBlockByNumber', [tag(at), false])
    if (!b) return undefined
    return {
      number: BigInt(b.number),
      hash: b.hash,
      parentHash: b.parentHash,
      timestamp: BigInt(b.timestamp),
      baseFeePerGas: b.baseFeePerGas === undefined ? undefined : BigInt(b.baseFeePerGas),
    }
  }

  async requireBlock(at: BlockTag): Promise<RpcBlock> {
    const b = await this.block(at)
    if (!b) throw new BridgeError('NO_BLOCK', `block ${String(at)} not found at ${this.client.url}`)
    return b
  }

  async getLogs(filter: { address: Address; topics: (Hex | null)[]; fromBlock: bigint; toBlock: bigint }): Promise<RpcLog[]> {
    const raw = await this.client.request<RawLog[]>('eth_getLogs', [
      { address: filter.address, topics: filter.topics, fromBlock: tag(filter.fromBlock), toBlock: tag(filter.toBlock) },
    ])
    return raw.map(parseLog)
  }

  async getCode(address: Address, at: BlockTag = 'latest'): Promise<Hex> {
    return this.client.request<Hex>('eth_getCode', [address, tag(at)])
  }

  async getBalance(address: Address, at: BlockTag = 'latest'): Promise<bigint> {
    return BigInt(await this.client.request<Hex>('eth_getBalance', [address, tag(at)]))
  }

  async nonce(address: Address, at: BlockTag = 'pending'): Promise<bigint> {
    return BigInt(await this.client.request<Hex>('eth_getTransactionCount', [address, tag(at)]))
  }

  async maxPriorityFeePerGas(): Promise<bigint> {
    return BigInt(await this.client.request<Hex>('eth_maxPriorityFeePerGas'))
  }

  async estimateGas(tx: { from: Address; to?: Address; data: Hex; value?: bigint }): Promise<bigint> {
    return BigInt(await this.client.request<Hex>('eth_estimateGas', [{ ...tx, value: tx.value === undefined ? undefined : hex(tx.value) }]))
  }

  async sendRawTransaction(raw: Hex): Promise<Hex> {
    return this.client.request<Hex>('eth_sendRawTransaction', [raw])
  }

  async receipt(hash: Hex): Promise<RpcReceipt | undefined> {
    const r = await this.client.request<{ status: Hex; transactionHash: Hex; blockNumber: Hex; blockHash: Hex; gasUsed: Hex; effectiveGasPrice: Hex; contractAddress?: Address | null; logs: RawLog[] } | null>(
      'eth_getTransactionReceipt',
      [hash],
    )
    if (!r) return undefined
    return {
      status: r.status === '0x1' ? 'success' : 'reverted',
      transactionHash: r.transactionHash,
      blockNumber: BigInt(r.blockNumber),
      blockHash: r.blockHash,
      gasUsed: BigInt(r.gasUsed),
      effectiveGasPrice: BigInt(r.effectiveGasPrice),
      contractAddress: r.contractAddress ?? undefined,
      logs: r.logs.map(parseLog),
    }
  }

  async waitForReceipt(hash: Hex, timeoutMs = 120_000, pollMs = 100): Promise<RpcReceipt> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const r = await this.receipt(hash)
      if (r) return r
      if (Date.now() > until) throw new BridgeError('TX_TIMEOUT', `transaction ${hash} not mined within ${timeoutMs} ms`)
      await new Promise((res) => setTimeout(res, pollMs))
    }
  }

  /** eth_call of one ABI function; reverts surface as a BridgeError carrying the node's reason. */
  async read<T>(to: Address, abi: Abi, functionName: string, args: readonly unknown[] = [], at: BlockTag = 'latest'): Promise<T> {
    const data = encodeFunctionData({ abi, functionName, args } as never)
    let out: Hex
    try {
      out = await this.client.request<Hex>('eth_call', [{ to, data }, tag(at)])
    } catch (e) {
      if (e instanceof JsonRpcError) throw new BridgeError('CALL_REVERTED', `${functionName} on ${to}: ${e.rpcMessage}`, { cause: e })
      throw e
    }
    if (out === '0x') throw new BridgeError('NO_CONTRACT', `${functionName} on ${to} returned nothing at block ${String(at)} (no contract there?)`)
    return decodeFunctionResult({ abi, functionName, data: out } as never) as T
  }
}
