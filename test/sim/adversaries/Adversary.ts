import type { Block } from '../../../chain/Block.js'
import type { Producer } from '../../../consensus/ChainService.js'
import type { Peer } from '../Peer.js'
import type { Rng } from '../Rng.js'
import type { AdversaryName } from '../Adversaries.js'

export interface AdversaryContext {
  rng: Rng
  slotSeconds: number
  slotsPerEpoch: bigint
  maxFutureSeconds: number
  receiptWindowBlocks: bigint
  wallMs(): number
  slotStartMs(slot: bigint): number
  /** Runs `fn` at virtual wall time `ms` (at once if that is now). */
  at(ms: number, fn: () => Promise<void>): void
  others(id: string): string[]
  /** Honest nodes (validators and observers) online now, in id order. */
  honest(): Peer[]
  sideOf(id: string): 'A' | 'B'
  partitionActive(): boolean
  /** Registers a block this adversary made (for ancestry and attribution in the checks). */
  forged(p: Peer, b: Block, note: string): void
}

export interface Adversary {
  readonly name: AdversaryName
  /** The finding of issue 11 this strategy was written to exhibit (undefined: none expected). */
  readonly finding?: number
  /** Whether the node keeps the honest SlotProducer / Attester besides its attack. */
  readonly produces: boolean
  readonly attests: boolean
  /** Whether the node holds a validator key (genesis weight); the vote spammer does not. */
  readonly validator: boolean
  /** Where its own work orders go (default: everyone, through the network). */
  workRecipients?(p: Peer, ctx: AdversaryContext): string[] | undefined
  /** Where the blocks its honest SlotProducer makes go (default: everyone). */
  route?(p: Peer, ctx: AdversaryContext): string[] | undefined
  /** At every slot start, after the honest nodes' first tick. */
  onSlot?(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void>
}

export function me(p: Peer): Producer {
  return p.key!
}

export async function publish(p: Peer, ctx: AdversaryContext, b: Block, note: string, to?: string[], importLocally = false): Promise<void> {
  ctx.forged(p, b, note)
  if (importLocally) await p.importOne(b, p.id)
  p.broadcast({ kind: 'block', bytes: b.encode() }, to)
}
