import { forgeBlock } from '../Forge.js'
import type { Peer } from '../Peer.js'
import { me, publish, type Adversary, type AdversaryContext } from './Adversary.js'

/**
 * Forker at epoch boundaries: at the start of epoch e it builds on B, the last block of its
 * canonical chain before epoch e − 1, a block in epoch e — a branch on which epoch e − 1 never
 * happened, so ValidatorSet.epochTransition(e − 1) never ran and validatorsAt(e) is still the
 * older snapshot, while B is also the anchor of epoch e on the canonical branch. It publishes
 * the block at the first instant its rank allows, to everyone.
 */
export class EpochForker implements Adversary {
  readonly name = 'epoch-forker' as const
  readonly finding = 2
  readonly produces = true
  readonly attests = true
  readonly validator = true

  async onSlot(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void> {
    const spe = ctx.slotsPerEpoch
    const e = slot / spe
    if (slot !== e * spe || e < 3n) return
    const anchor = await p.canonicalBefore((e - 1n) * spe)
    if (anchor.number === 0n) return
    const engine = p.sc.freshEngine()
    for (let t = slot; t < (e + 1n) * spe; t++) {
      const ts = await engine.earliestTimestamp(me(p).address, anchor, t).catch(() => undefined)
      if (ts === undefined) continue
      const b = await forgeBlock(p, { parent: anchor, slot: t, timestamp: ts, engine })
      ctx.at(Number(ts) * 1000, () => publish(p, ctx, b, `skips epoch ${e - 1n}: slot ${t} on block ${anchor.number} (slot ${anchor.slot})`))
      return
    }
  }
}
