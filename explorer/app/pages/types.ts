/** The shapes of the JSON-RPC answers the pages read (only the fields they use). */
export interface RpcBlock {
  number: string
  hash: string
  parentHash: string
  timestamp: string
  miner: string
  gasUsed: string
  gasLimit: string
  baseFeePerGas?: string
  stateRoot: string
  transactionsRoot: string
  receiptsRoot: string
  mixHash: string
  size: string
  extraData: string
  transactions: (string | RpcTx)[]
  slot?: string
  producer?: string
  jobId?: string
  sessionId?: string
  workloadId?: string
  vrfOutput?: string
  vrfProof?: string
  attestations?: unknown[]
}

export interface RpcTx {
  hash: string
  from: string
  to: string | null
  value: string
  input: string
  nonce: string
  gas: string
  gasPrice?: string
  maxFeePerGas?: string
  maxPriorityFeePerGas?: string
  type: string
  blockNumber: string | null
  blockHash: string | null
  transactionIndex: string | null
}

export interface RpcLog {
  address: string
  topics: string[]
  data: string
  blockNumber: string
  blockHash: string
  transactionHash: string
  logIndex: string
}

export interface RpcReceipt {
  status: string
  gasUsed: string
  effectiveGasPrice: string
  contractAddress: string | null
  logs: RpcLog[]
  blockNumber: string
}

export interface BlockWork {
  block: { number: string; hash: string; slot: string; epoch: string }
  producer: string
  leader?: string
  rank: number
  work: {
    jobId: string
    sessionId: string
    workloadId: string
    receipt: null | { worker: string; client: string; accepted: boolean; value: string; protocolFee: string; recordedInBlock: string; genesis: boolean }
  }
  weight: { epoch: string; epochTotal: string; share: number }
  reward: { priorityFees: string; note: string }
  attestations: number
  finalized: boolean
}

export interface Job {
  jobId: string
  client: string
  status: string
  control: boolean
  specHash: string
  workloadId: string
  price: string
  deadline: string
  units: string
  verifiers: number
  mode: string
  replicas: number
  attempts: number
  /** unix seconds */
  postedAt: string
  session: string
  sessions: string[]
}

export interface Session {
  sessionId: string
  jobId: string
  worker: string
  status: string
  value: string
  protocolFee?: string
  round: number
  /** unix seconds */
  assignedAt: string
  /** unix seconds */
  committedAt: string
  commitBlock: string
  finalizedAt: string
  commitment: null | { resultHash: string; checkpointRoot: string; checkpointCount: string; totalSteps: string; metricsHash: string; manifest: string }
  verifiers: string[]
  votesBy: string
}

export interface Validators {
  epoch: string
  totalWeight: string
  validators: { address: string; weight: string }[]
}

export interface Finalized {
  finalized: { number: string; hash: string }
  justified: { number: string; hash: string }
  head: { number: string; hash: string }
}

export interface Epoch {
  consensus: string
  epoch: string
  slot: string
  slotsPerEpoch: string
  firstSlot: string
}
