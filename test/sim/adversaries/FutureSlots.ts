import { equalBytes } from '../../../common/bytes.js'
import { forgeBlock } from '../Forge.js'
import type { Peer } from '../Peer.js'
import { me, publish, type Adversary, type AdversaryContext } from './Adversary.js'

/** Future-slot publisher: at slot s it publishes its block for a later slot s + k it leads (within the header clock allowance), so the chain's head jumps past s + 1 … s + k − 1. */
export class FutureSlots implements Adversary {
  readonly name = 'future-slots' as const
  readonly finding = 3
  readonly produces = true
  readonly attests = true
  readonly validator = true
  private pendingUntil = -1n

  async onSlot(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void> {
    if (slot <= this.pendingUntil) return
    const head = p.chain.head()
    const engine = p.sc.freshEngine()
    // Up to 7 slots ahead, whatever the honest nodes' clock allowance (the attacker's best try;
    // with the old 15 s allowance, 7 two-second slots were all accepted).
    const ahead = 7n
    for (let k = 2n; k <= ahead; k++) {
      const t = slot + k
      if (t <= head.slot) continue
      const ranking = await engine.ranking(head, t).catch(() => [])
      if (!ranking[0] || !equalBytes(ranking[0], me(p).address)) continue
      const b = await forgeBlock(p, { parent: head, slot: t, engine })
      await publish(p, ctx, b, `future block for slot ${t} published at slot ${slot}`, undefined, true)
      this.pendingUntil = t
      return
    }
  }
}
