import { signAttestation } from '../../../chain/Attestation.js'
import { equalBytes } from '../../../common/bytes.js'
import { forgeBlock } from '../Forge.js'
import type { Peer } from '../Peer.js'
import { me, publish, type Adversary, type AdversaryContext } from './Adversary.js'

/** Equivocator: as leader it seals two blocks for its slot, each to one half of the network (one node gets both), and votes for both. */
export class Equivocator implements Adversary {
  readonly name = 'equivocator' as const
  readonly produces = false
  readonly attests = true
  readonly validator = true

  async onSlot(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void> {
    const head = p.chain.head()
    if (head.slot >= slot) return
    const engine = p.sc.freshEngine()
    const ranking = await engine.ranking(head, slot).catch(() => [])
    if (!ranking[0] || !equalBytes(ranking[0], me(p).address)) return
    const a = await forgeBlock(p, { parent: head, slot, extraData: new TextEncoder().encode('A'), engine })
    const b = await forgeBlock(p, { parent: head, slot, extraData: new TextEncoder().encode('B'), engine })
    const others = ctx.others(p.id)
    const both = others.length > 0 ? others[ctx.rng.int(0, others.length - 1)]! : undefined
    const sideA = others.filter((id) => id !== both && ctx.rng.chance(0.5))
    const sideB = others.filter((id) => id !== both && !sideA.includes(id))
    await publish(p, ctx, a, `equivocation A slot ${slot}`, both ? [...sideA, both] : sideA, true)
    await publish(p, ctx, b, `equivocation B slot ${slot}`, both ? [...sideB, both] : sideB)
    // Its Attester votes for A (its head); it signs a vote for B at the same height too.
    if (p.chain.finality.knows(a.hash())) {
      const v = p.chain.finality.voteFor(me(p).address, a.header)
      const vb = signAttestation({ ...v, targetHash: b.hash(), targetHeight: b.number }, p.sc.genesis.chainId, me(p).key)
      p.publishVote(vb, both ? [...sideB, both] : sideB)
    }
  }
}
