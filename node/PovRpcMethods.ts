import type { BlockHeader } from '../chain/Header.js'
import type { BlockStore } from '../chain/BlockStore.js'
import { bytesToHex, hexToBytes, isHex } from '../common/bytes.js'
import type { ChainService } from '../consensus/ChainService.js'
import type { ConsensusEngine } from '../consensus/ConsensusEngine.js'
import { invalidParams } from '../rpc/RpcErrors.js'
import type { PovContractReader } from './PovContractReader.js'
import { withArity, type ExtraMethod } from '../rpc/RpcBackend.js'


const q = (n: bigint | number) => `0x${BigInt(n).toString(16)}`

function quantityParam(v: unknown, name: string): bigint | undefined {
  if (v === undefined || v === null || v === 'latest') return undefined
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v)
  if (typeof v === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(v)) return BigInt(v)
  throw invalidParams(`${name} must be a hex quantity or "latest"`)
}

function addressParam(v: unknown): Uint8Array {
  if (typeof v !== 'string' || !isHex(v) || v.length !== 42) throw invalidParams('address must be 0x followed by 40 hex digits')
  return hexToBytes(v)
}

/**
 * pov_ methods for Proof of Value: epochs, validators and weights, finality, and the trace
 * from the work receipt a block names to its producer's weight and reward.
 */
export function povRpcMethods(d: { chain: ChainService; store: BlockStore; contracts: PovContractReader; engine: ConsensusEngine }): Record<string, ExtraMethod> {
  const { chain, store, contracts, engine } = d
  const pov = engine.kind === 'proof-of-value'
  const ref = (h: { hash: Uint8Array; height: bigint }) => ({ number: q(h.height), hash: bytesToHex(h.hash) })

  const validatorsJson = async (epoch: bigint, at: BlockHeader) => {
    // The engine's view is the consensus rule (the set elected at the epoch's anchor on this branch).
    const vs = await engine.validatorsFor(at, epoch * engine.slotsPerEpoch)
    const total = vs.reduce((s, v) => s + v.weight, 0n)
    return { epoch: q(epoch), totalWeight: q(total), validators: vs.map((v) => ({ address: bytesToHex(v.address), weight: q(v.weight) })) }
  }

  // Finality forgets blocks below the finalized one: those are final when canonical.
  const isFinal = async (h: BlockHeader): Promise<boolean> => {
    const f = chain.finality.finalized
    if (h.number > f.height) return false
    const c = await store.canonicalHeader(h.number)
    return c !== undefined && bytesToHex(c.hash()) === bytesToHex(h.hash())
  }

  const blockHeader = async (v: unknown): Promise<BlockHeader> => {
    let h: BlockHeader | undefined
    if (typeof v === 'string' && isHex(v) && v.length === 66) h = await store.getHeader(hexToBytes(v))
    else {
      const n = quantityParam(v, 'block')
      h = n === undefined ? chain.head() : await store.canonicalHeader(n)
    }
    if (!h) throw invalidParams('unknown block')
    return h
  }

  return withArity({
    pov_getEpoch: async () => {
      const head = chain.head()
      const epoch = engine.epochOf(head.slot)
      return {
        consensus: engine.kind,
        epoch: q(epoch),
        slot: q(head.slot),
        slotsPerEpoch: q(engine.slotsPerEpoch),
        firstSlot: q(epoch * engine.slotsPerEpoch),
        head: { number: q(head.number), hash: bytesToHex(head.hash()) },
      }
    },
    pov_getValidators: async (params) => {
      const head = chain.head()
      const headEpoch = engine.epochOf(head.slot)
      const epoch = quantityParam(params[0], 'epoch') ?? headEpoch
      if (epoch > headEpoch + 1n) throw invalidParams(`epoch ${epoch} is not decided yet: the set is known up to epoch ${headEpoch + 1n}`)
      return validatorsJson(epoch, head)
    },
    pov_getWeight: async (params) => {
      const who = addressParam(params[0])
      const head = chain.head()
      const epoch = engine.epochOf(head.slot)
      return {
        address: bytesToHex(who),
        live: pov ? q(await contracts.weightOf(head, who)) : q(0n),
        epoch: q(epoch),
        epochWeight: q(chain.finality.weightAt(head.hash(), who)),
      }
    },
    /** The public schedule: leader and backups of `count` slots from `fromSlot` (current and next epoch only). */
    pov_getSchedule: async (params) => {
      const head = chain.head()
      const from = quantityParam(params[0], 'fromSlot') ?? head.slot + 1n
      const count = Number(quantityParam(params[1], 'count') ?? 8n)
      if (count < 1 || count > 256) throw invalidParams('count must be 1..256')
      const last = (engine.epochOf(head.slot) + 2n) * engine.slotsPerEpoch
      if (from <= head.slot || from + BigInt(count) > last) throw invalidParams(`slots must lie after the head's slot ${head.slot} and before ${last} (the schedule is known one epoch ahead)`)
      const out = []
      for (let s = from; s < from + BigInt(count); s++) out.push({ slot: q(s), producers: (await engine.ranking(head, s)).map((a) => bytesToHex(a)) })
      return out
    },
    pov_getFinalized: async () => ({
      finalized: ref(chain.finality.finalized),
      justified: ref(chain.finality.justified),
      head: { number: q(chain.head().number), hash: bytesToHex(chain.head().hash()) },
    }),
    pov_getBlockWork: async (params) => {
      const h = await blockHeader(params[0])
      if (h.number === 0n) throw invalidParams('the genesis block names no work')
      const parent = (await store.getHeader(h.parentHash))!
      const epoch = engine.epochOf(h.slot)
      const receipt = pov ? await contracts.receipt(parent.stateRoot, h.sessionId) : undefined
      const receipts = (await store.getReceipts(h.hash())) ?? []
      let tips = 0n
      for (const r of receipts) tips += (r.effectiveGasPrice - h.baseFeePerGas) * r.gasUsed
      const validators = await engine.validatorsFor(parent, h.slot)
      const weight = validators.find((v) => bytesToHex(v.address) === bytesToHex(h.producer))?.weight ?? 0n
      const total = validators.reduce((s, v) => s + v.weight, 0n)
      const ranking = (await engine.ranking(parent, h.slot)).map((a) => bytesToHex(a))
      return {
        block: { number: q(h.number), hash: bytesToHex(h.hash()), slot: q(h.slot), epoch: q(epoch) },
        producer: bytesToHex(h.producer),
        leader: ranking[0],
        rank: ranking.indexOf(bytesToHex(h.producer)),
        work: {
          jobId: bytesToHex(h.jobId),
          sessionId: bytesToHex(h.sessionId),
          workloadId: bytesToHex(h.workloadId),
          receipt: receipt
            ? {
                worker: bytesToHex(receipt.worker),
                client: bytesToHex(receipt.client),
                accepted: receipt.accepted,
                value: q(receipt.value),
                protocolFee: q(receipt.protocolFee),
                recordedInBlock: q(receipt.blockNumber),
                genesis: receipt.blockNumber === 0n,
              }
            : null,
        },
        weight: { epoch: q(weight), epochTotal: q(total), share: total > 0n ? Number((weight * 1_000_000n) / total) / 1_000_000 : 0 },
        reward: { priorityFees: q(tips), note: 'epoch rewards are paid by ValidatorSet.epochTransition (withdrawable)' },
        attestations: h.attestations.length,
        finalized: await isFinal(h),
      }
    },
  }, { pov_getEpoch: [0, 0], pov_getValidators: [0, 1], pov_getWeight: [1, 1], pov_getSchedule: [0, 2], pov_getFinalized: [0, 0], pov_getBlockWork: [0, 1] })
}
