import type { Block } from '../../../chain/Block.js'
import type { BlockHeader } from '../../../chain/Header.js'
import { equalBytes } from '../../../common/bytes.js'
import { forgeBlock } from '../Forge.js'
import type { Peer } from '../Peer.js'
import { me, type Adversary, type AdversaryContext } from './Adversary.js'

/** Withholder: as leader it extends a private branch and releases it a few slots later. */
export class Withholder implements Adversary {
  readonly name = 'withholder' as const
  readonly produces = false
  readonly attests = true
  readonly validator = true
  private tip?: BlockHeader
  private withheld: Block[] = []
  private releaseAt = 0n

  async onSlot(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void> {
    if (this.withheld.length > 0 && slot >= this.releaseAt) {
      for (const b of this.withheld) p.broadcast({ kind: 'block', bytes: b.encode() })
      this.withheld = []
      this.tip = undefined
    }
    const base = this.tip ?? p.chain.head()
    if (base.slot >= slot) return
    const engine = p.sc.freshEngine()
    const ranking = await engine.ranking(base, slot).catch(() => [])
    if (!ranking[0] || !equalBytes(ranking[0], me(p).address)) return
    const b = await forgeBlock(p, { parent: base, slot, engine })
    ctx.forged(p, b, `withheld, slot ${slot}`)
    await p.importOne(b, p.id)
    if (this.withheld.length === 0) this.releaseAt = slot + BigInt(ctx.rng.int(2, 6))
    this.withheld.push(b)
    this.tip = b.header
  }
}
