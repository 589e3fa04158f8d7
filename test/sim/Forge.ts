import { Block } from '../../chain/Block.js'
import { nextBaseFee } from '../../chain/FeeMarket.js'
import { BlockHeader } from '../../chain/Header.js'
import { sealHeader } from '../../chain/Seal.js'
import type { Attestation } from '../../chain/Attestation.js'
import { votersOf } from '../../consensus/HeaderVotes.js'
import type { ProofOfValueEngine } from '../../consensus/ProofOfValueEngine.js'
import type { WorkReceiptView } from '../../consensus/PovContracts.js'
import type { ExecutionEnv } from '../../vm/BlockExecutor.js'
import type { Peer } from './Peer.js'
import { simExecutor } from './SimExecutor.js'

export interface ForgeOptions {
  parent: BlockHeader
  slot: bigint
  /** Default: the earliest the producer may seal the slot (its rank's turn). */
  timestamp?: bigint
  /** Name this receipt instead of the one the engine picks (the receipt-namer). */
  receipt?: WorkReceiptView
  /** Makes a second block for the same slot differ (the equivocator). */
  extraData?: Uint8Array
  /** Votes to carry; default: those the node holds for the parent, as ChainService does. */
  attestations?: Attestation[]
  /** The rules used to plan it; default: a fresh engine (the pure rules of the parent's branch). */
  engine?: ProofOfValueEngine
}

/**
 * What a byzantine validator uses to make blocks where and when it likes: the construction of
 * ChainService.produceBlock (engine.plan, the header's votes for the parent, execution, seal),
 * but on any stored parent, for any slot and timestamp, with the receipt and extra data it
 * chooses. The result is sealed with the adversary's own key and is valid or not exactly as
 * the real rules decide; nothing here imports it anywhere.
 */
export async function forgeBlock(p: Peer, o: ForgeOptions): Promise<Block> {
  const key = p.key
  if (!key) throw new Error(`${p.id} has no validator key to seal with`)
  const engine = o.engine ?? p.sc.freshEngine()
  const { parent, slot } = o
  const timestamp = o.timestamp ?? (await engine.earliestTimestamp(key.address, parent, slot))
  if (timestamp === undefined) throw new Error(`${p.id} may not produce slot ${slot} on block ${parent.number}`)
  const fin = p.chain.finality.finalized.height
  const byDepth = parent.number + 1n - 2n
  const plan = await engine.plan(key, parent, slot, fin < byDepth ? fin : byDepth)
  const fields = { ...plan.fields }
  if (o.receipt) Object.assign(fields, { jobId: o.receipt.jobId, sessionId: o.receipt.sessionId, workloadId: o.receipt.workloadId })
  const attestations = o.attestations ?? p.chain.finality.headerVotes(parent, await votersOf(engine, parent))
  const baseFeePerGas = nextBaseFee(parent)
  const env: ExecutionEnv = {
    number: parent.number + 1n,
    timestamp,
    gasLimit: parent.gasLimit,
    baseFeePerGas,
    coinbase: key.address,
    mixHash: fields.mixHash,
    systemCalls: plan.systemCalls,
  }
  const { executed } = await simExecutor(p.sc.states, p.sc.genesis.vs).build(parent.stateRoot, env, p.sc.pool.best())
  const header = new BlockHeader({
    parentHash: parent.hash(),
    coinbase: key.address,
    stateRoot: executed.stateRoot,
    transactionsRoot: executed.transactionsRoot,
    receiptsRoot: executed.receiptsRoot,
    logsBloom: executed.logsBloom,
    number: env.number,
    gasLimit: env.gasLimit,
    gasUsed: executed.gasUsed,
    timestamp,
    vanity: o.extraData ?? new Uint8Array(0),
    ...fields,
    baseFeePerGas,
    slot,
    producer: key.address,
    attestations,
    seal: new Uint8Array(0),
  })
  return new Block(sealHeader(header, p.chain.chainId, key.key), executed.transactions)
}
