import type { BlockHeader } from '../../../chain/Header.js'
import { bytesToHex, equalBytes } from '../../../common/bytes.js'
import type { WorkReceiptView } from '../../../consensus/PovContracts.js'
import { forgeBlock } from '../Forge.js'
import type { Peer } from '../Peer.js'
import { me, publish, type Adversary, type AdversaryContext } from './Adversary.js'

const hex = bytesToHex

/**
 * Receipt-namer across branches (needs a partition): its work orders reach side A only, so its
 * new receipts exist on A's branch and not on B's. It names such a receipt R first in a block
 * on A (A's nodes verify it and remember R), then in a block on B's tip, which it sends to
 * everyone (it bridges the partition and serves B's blocks to A's nodes that ask).
 */
export class ReceiptNamer implements Adversary {
  readonly name = 'receipt-namer' as const
  readonly finding = 1
  readonly produces = true
  readonly attests = true
  readonly validator = true
  private readonly namedOnA = new Set<string>()
  private readonly crossed = new Set<string>()

  workRecipients(p: Peer, ctx: AdversaryContext): string[] {
    return ctx.others(p.id).filter((id) => ctx.sideOf(id) === 'A')
  }

  /** Its ordinary blocks stay on side A while the partition lasts: the two branches must stay apart. */
  route(p: Peer, ctx: AdversaryContext): string[] | undefined {
    return ctx.partitionActive() ? this.workRecipients(p, ctx) : undefined
  }

  private async tipOf(p: Peer, ctx: AdversaryContext, side: 'A' | 'B'): Promise<BlockHeader | undefined> {
    let best: BlockHeader | undefined
    for (const h of ctx.honest()) {
      if (ctx.sideOf(h.id) !== side) continue
      const head = h.chain.head()
      // The adversary builds only on what it holds itself.
      const mine = await p.sc.store.getHeader(head.hash())
      if (mine && (!best || mine.number > best.number)) best = mine
    }
    return best
  }

  async onSlot(p: Peer, ctx: AdversaryContext, slot: bigint): Promise<void> {
    if (!ctx.partitionActive()) return
    const tipA = await this.tipOf(p, ctx, 'A')
    const tipB = await this.tipOf(p, ctx, 'B')
    if (!tipA || !tipB || equalBytes(tipA.hash(), tipB.hash())) return
    const onlyOnA: WorkReceiptView[] = []
    for (const r of await p.sc.contracts.recentReceipts(tipA.stateRoot, me(p).address, 32))
      if (r.blockNumber > 0n && !(await p.sc.contracts.receipt(tipB.stateRoot, r.sessionId))) onlyOnA.push(r)
    const engine = p.sc.freshEngine()
    for (const r of onlyOnA) {
      const sid = hex(r.sessionId)
      if (!this.namedOnA.has(sid)) {
        if (tipA.number + 1n < r.blockNumber + 2n) continue
        const ts = await engine.earliestTimestamp(me(p).address, tipA, slot).catch(() => undefined)
        if (ts === undefined || tipA.slot >= slot) return
        const b = await forgeBlock(p, { parent: tipA, slot, timestamp: ts, receipt: r, engine })
        this.namedOnA.add(sid)
        const sideA = ctx.others(p.id).filter((id) => ctx.sideOf(id) === 'A')
        ctx.at(Number(ts) * 1000, () => publish(p, ctx, b, `names its receipt ${sid.slice(0, 10)} (block ${r.blockNumber}, side A only) on side A`, sideA))
        return
      }
      if (this.crossed.has(sid)) continue
      if (tipB.number + 1n < r.blockNumber + 2n || tipB.number + 1n - r.blockNumber > ctx.receiptWindowBlocks) continue
      const ts = await engine.earliestTimestamp(me(p).address, tipB, slot).catch(() => undefined)
      if (ts === undefined || tipB.slot >= slot) return
      const b = await forgeBlock(p, { parent: tipB, slot, timestamp: ts, receipt: r, engine })
      this.crossed.add(sid)
      ctx.at(Number(ts) * 1000, () => publish(p, ctx, b, `names receipt ${sid.slice(0, 10)} of side A on side B`))
      return
    }
  }
}
